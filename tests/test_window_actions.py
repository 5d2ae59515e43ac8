"""The window's actions through the path a person takes: files dragged onto the window, right-click
menus, the dialogs those open (typed into, answered with Enter or a button), and the files and
collections that come out."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox

from core.registry import discover
from gui.main_window import MainWindow
from tests.gui_driver import (click_entry, drag_and_drop, file_mime, menu_entries, open_popup, right_click,
                              save_as, type_in_dialog, when_modal)
from tests.test_main_window import close_quietly


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(discover(), model_name="hashing-64", settings_file=tmp_path / "settings.json")
    win.show()
    assert win.workspace.open(tmp_path / "actions.duckdb")
    win.activateWindow()
    yield win
    close_quietly(win)


def write_corpus(tmp_path, name: str, lines: list[str]):
    path = tmp_path / f"{name}.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def drop_and_wait(window, qtbot, *paths, n: int | None = None) -> None:
    """Drag the files onto the middle of the window, drop them, wait until they are embedded."""
    target = window.childAt(window.rect().center()) or window
    with qtbot.waitSignal(window.service.sig_import_done, timeout=30_000):
        assert drag_and_drop(target, file_mime(*paths)) == (True, True)
    qtbot.waitUntil(lambda: not window.service.busy, timeout=30_000)
    if n is not None:
        qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == n, timeout=30_000)


def collection_names(window) -> list[str]:
    return [c.name for c in window.session.store.collections()]


# ---------------------------------------------------------------------- drag and drop


def test_files_dragged_onto_the_window_are_accepted_and_imported(window, qtbot, tmp_path):
    corpus = write_corpus(tmp_path, "dragged", [f"dragged line {i}" for i in range(12)])
    target = window.childAt(window.rect().center())
    assert target is not None and target is not window  # the drop lands on a child; Qt hands it up to the window
    drop_and_wait(window, qtbot, corpus, n=12)
    assert collection_names(window) == ["dragged"]


def test_a_drag_without_files_is_refused(window, qtbot):
    text_only = QMimeData()
    text_only.setText("just some text")
    target = window.childAt(window.rect().center()) or window
    assert drag_and_drop(target, text_only) == (False, False)
    assert drag_and_drop(window, text_only) == (False, False)
    QApplication.processEvents()
    assert window.session.store.collections() == [] and not window.service.busy


# ---------------------------------------------------------------------- the collections sidebar's menu


def sidebar_row(window, name: str):
    tree = window.collections._tree
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount()) if tree.topLevelItem(i).text(0) == name)
    return tree, tree.visualItemRect(item).center()


def right_click_collections(window, qtbot, *names: str):
    """Click the first name, Ctrl+click the others, right-click the last: the open menu."""
    for i, name in enumerate(names):
        tree, pos = sidebar_row(window, name)
        QTest.mouseClick(tree.viewport(), Qt.LeftButton, Qt.ControlModifier if i else Qt.NoModifier, pos)
    tree, pos = sidebar_row(window, names[-1])
    right_click(tree.viewport(), pos)
    return open_popup(qtbot)


def test_rename_merge_and_delete_through_the_sidebar_menu_and_their_dialogs(window, qtbot, tmp_path):
    drop_and_wait(window, qtbot, write_corpus(tmp_path, "red", [f"red line {i}" for i in range(10)]))
    drop_and_wait(window, qtbot, write_corpus(tmp_path, "blue", [f"blue line {i}" for i in range(8)]))
    store = window.session.store

    menu = right_click_collections(window, qtbot, "red")
    assert menu_entries(menu)["Rename…"] and not menu_entries(menu)["Merge into a new collection…"]
    answered = when_modal(type_in_dialog("crimson"), QInputDialog)
    click_entry(menu, "Rename…")
    qtbot.waitUntil(lambda: "crimson" in collection_names(window), timeout=5_000)
    assert len(answered) == 1 and sorted(collection_names(window)) == ["blue", "crimson"]

    menu = right_click_collections(window, qtbot, "crimson", "blue")
    assert not menu_entries(menu)["Rename…"]
    answered = when_modal(type_in_dialog("both"), QInputDialog)
    click_entry(menu, "Merge into a new collection…")
    qtbot.waitUntil(lambda: "both" in collection_names(window), timeout=5_000)
    merged = next(c for c in store.collections() if c.name == "both")
    assert merged.n_docs == 18 and len(answered) == 1
    qtbot.waitUntil(lambda: not window.service.busy, timeout=30_000)

    menu = right_click_collections(window, qtbot, "blue")
    asked = when_modal(lambda box: QTest.mouseClick(box.button(QMessageBox.Yes), Qt.LeftButton), QMessageBox)
    with qtbot.waitSignal(window.collection_actions.sig_compacted, timeout=60_000):
        click_entry(menu, "Delete…")
    assert len(asked) == 1 and "Delete blue" in asked[0]
    qtbot.waitUntil(lambda: window.session is not None, timeout=10_000)
    assert sorted(collection_names(window)) == ["both", "crimson"]


def test_delete_answered_no_keeps_the_collection(window, qtbot, tmp_path):
    drop_and_wait(window, qtbot, write_corpus(tmp_path, "kept", [f"kept line {i}" for i in range(5)]))
    menu = right_click_collections(window, qtbot, "kept")
    asked = when_modal(lambda box: QTest.mouseClick(box.button(QMessageBox.No), Qt.LeftButton), QMessageBox)
    click_entry(menu, "Delete…")
    assert len(asked) == 1 and collection_names(window) == ["kept"]


# ---------------------------------------------------------------------- the map's menu: selection actions


def select_all_and_open_map_menu(window, qtbot):
    window.activateWindow()  # back from a dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    window.collections.setFocus()
    QTest.keySequence(window, QKeySequence("Ctrl+A"))
    view = window.map_panel.view
    corner = view.viewport().rect().topLeft() + view.viewport().rect().center() / 8  # clear of the points
    right_click(view.viewport(), corner)
    return open_popup(qtbot)


def test_export_selection_and_new_collection_from_the_map_menu(window, qtbot, tmp_path):
    lines = [f"animal {i} is a {'cat' if i % 2 else 'dog'}" for i in range(20)]
    drop_and_wait(window, qtbot, write_corpus(tmp_path, "pets", lines), n=20)
    qtbot.waitUntil(lambda: window.session.view.data.coords is not None, timeout=180_000)  # the map's layout

    menu = select_all_and_open_map_menu(window, qtbot)
    assert window.session.selection.size == 20
    assert all(menu_entries(menu)[t] for t in ("Export selection…", "New collection from selection"))
    out = tmp_path / "picked.csv"
    answered = when_modal(save_as(out), QFileDialog)
    click_entry(menu, "Export selection…")
    assert len(answered) == 1
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["text"] for r in rows) == sorted(lines)
    session = window.session  # each document with the place the map shows it at
    where = dict(zip(session.texts(np.arange(20)), session.view.data.coords.tolist()))
    for row in rows:
        np.testing.assert_allclose([float(row["x"]), float(row["y"])], where[row["text"]], rtol=1e-6)

    menu = select_all_and_open_map_menu(window, qtbot)
    answered = when_modal(type_in_dialog("chosen"), QInputDialog)
    click_entry(menu, "New collection from selection")
    assert len(answered) == 1
    store = window.session.store
    chosen = next(c for c in store.collections() if c.name == "chosen")
    texts = store.document_table(store.search_text([chosen.id], ""))["text"]
    assert chosen.n_docs == 20 and sorted(texts) == sorted(lines)
    qtbot.waitUntil(lambda: not window.service.busy, timeout=30_000)
    model_id = store.ensure_model("hashing-64")
    assert store.count_pending([chosen.id], model_id) == 0  # and it is embedded with the window's model


# ---------------------------------------------------------------------- a view's controls


def test_changing_k_in_the_hubness_panel_recomputes_the_view(window, qtbot, tmp_path):
    lines = [f"note {i} about subject {i % 9} and {i % 4}" for i in range(60)]
    drop_and_wait(window, qtbot, write_corpus(tmp_path, "notes", lines), n=60)
    slot = window.host.slots["hubness"]
    qtbot.waitUntil(lambda: slot.result is not None and slot.result.k == slot.params.k, timeout=60_000)
    panel = slot.panel
    combo = panel._k_combo
    before = slot.result.k
    window.docks["hubness"].raise_()
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key_Down)  # the next k in the list, by the keyboard
    chosen = int(combo.currentText())
    assert chosen > before
    qtbot.waitUntil(lambda: slot.result is not None and slot.result.k == chosen, timeout=60_000)
    # every point lists k neighbours, so the k-occurrences add up to n * k (computed here, not by the view)
    assert slot.result.occurrence.sum() == 60 * chosen
    assert slot.params.k == chosen and panel.params.k == chosen  # the new k is the view's params now


# ---------------------------------------------------------------------- exporting a figure


def open_menu_path(window, qtbot, *texts: str) -> None:
    """Click through the menu bar: the top menu, then each entry (a submenu opens under the cursor)."""
    bar = window.menuBar()
    top = next(a for a in bar.actions() if a.text().replace("&", "") == texts[0])
    QTest.mouseClick(bar, Qt.LeftButton, Qt.NoModifier, bar.actionGeometry(top).center())
    for text in texts[1:]:
        click_entry(open_popup(qtbot, text), text)


def figure_dialog_answer(qtbot, fmt_key, width: str, dpi: str, path):
    """Pick the format by a key (Home: the first, PNG; a letter: the next format starting with it), choose
    "Custom width" (End in the size box), type the width in inches and the DPI, press Save, name the file."""
    from PySide6.QtWidgets import QDialogButtonBox

    def handle(dialog) -> None:
        dialog.format_box.setFocus()
        QTest.keyClick(dialog.format_box, fmt_key)
        dialog.size_box.setFocus()
        QTest.keyClick(dialog.size_box, Qt.Key_End)
        for box, text in ((dialog.width_box, width), (dialog.dpi_box, dpi)):
            box.setFocus()
            QTest.keyClick(box, Qt.Key_A, Qt.ControlModifier)
            QTest.keyClicks(box, text)
        handle.file = when_modal(save_as(path), QFileDialog)
        QTest.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Save), Qt.LeftButton)

    return handle


def test_export_view_writes_the_figure_with_the_chosen_format_width_and_dpi(window, qtbot, tmp_path):
    import json
    import shutil
    import subprocess

    from PySide6.QtGui import QImage

    from gui.figure_export import FigureExportDialog

    drop_and_wait(window, qtbot, write_corpus(tmp_path, "figs", [f"figure text {i} on {i % 5}" for i in range(40)]), n=40)
    qtbot.waitUntil(lambda: window.host.slots["hubness"].result is not None, timeout=60_000)

    (tmp_path / "figures").mkdir()  # the folder the user picks exists
    png = figure_dialog_answer(qtbot, Qt.Key_Home, "6", "150", tmp_path / "figures" / "hubs")  # no suffix typed
    answered = when_modal(png, FigureExportDialog)
    open_menu_path(window, qtbot, "File", "Export view", "Hubness")
    assert len(answered) == 1 and len(png.file) == 1
    image = QImage(str(tmp_path / "figures" / "hubs.png"))
    assert image.width() == 900 and round(image.dotsPerMeterX() * 0.0254) == 150
    assert len({image.pixel(x, y) for x in range(0, 900, 7) for y in range(0, image.height(), 7)}) > 3  # not blank
    manifest = json.loads((tmp_path / "figures" / "hubs.png.manifest.json").read_text(encoding="utf-8"))
    assert (manifest["dpi"], manifest["width_in"], manifest["view"]) == (150, 6, "hubness")
    assert (tmp_path / "figures" / "hubs.png.csv").stat().st_size > 0

    svg = figure_dialog_answer(qtbot, Qt.Key_S, "8", "300", tmp_path / "figures" / "hubs-vector")
    answered = when_modal(svg, FigureExportDialog)
    open_menu_path(window, qtbot, "File", "Export view", "Hubness")
    assert len(answered) == 1 and (tmp_path / "figures" / "hubs-vector.svg").exists()
    if shutil.which("rsvg-convert"):  # read back by another renderer than the one that wrote it
        out = tmp_path / "rendered.png"
        subprocess.run(["rsvg-convert", "-o", str(out), str(tmp_path / "figures" / "hubs-vector.svg")], check=True,
                       timeout=60)
        rendered = QImage(str(out))
        assert rendered.width() > 100 and len({rendered.pixel(x, y) for x in range(0, rendered.width(), 5)
                                               for y in range(0, rendered.height(), 5)}) > 3
    else:
        import xml.etree.ElementTree as ET

        assert ET.parse(tmp_path / "figures" / "hubs-vector.svg").getroot().tag.endswith("svg")

    pdf = figure_dialog_answer(qtbot, Qt.Key_P, "6", "100", tmp_path / "figures" / "hubs-print")  # P: PNG -> PDF
    answered = when_modal(pdf, FigureExportDialog)
    open_menu_path(window, qtbot, "File", "Export view", "Hubness")
    assert len(answered) == 1 and (tmp_path / "figures" / "hubs-print.pdf").exists()
    if shutil.which("pdftoppm"):  # poppler renders the page: 6 inches wide at 100 dpi are 600 pixels
        subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(tmp_path / "figures" / "hubs-print.pdf"),
                        str(tmp_path / "page")], check=True, timeout=60)
        page = QImage(str(tmp_path / "page.png"))
        assert abs(page.width() - 600) <= 2
        assert len({page.pixel(x, y) for x in range(0, page.width(), 5) for y in range(0, page.height(), 5)}) > 3
