"""The desktop behaviour of the window: shortcuts, selection undo/redo, collection
management, welcome overlay, persisted plugin params, error reporting, themes and
the previews of every dialog."""
from __future__ import annotations

import dataclasses
import logging
import sys
import threading

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from core.pipeline import embed_pending
from core.registry import discover
from gui.collection_actions import collection_doc_ids, compact_workspace, merge_collections
from gui.collections_panel import CollectionsPanel
from gui.error_dialog import ErrorDialog, ErrorReporter
from gui.help import about_dialog, guide_html, menu_actions, shortcut_rows, shortcuts_dialog, user_guide_dialog
from gui.logging_setup import install_excepthooks, setup_logging
from gui.main_window import MainWindow
from gui.selection_history import SelectionHistory, rows_of
from gui.settings_dialog import SettingsDialog
from gui.theme import PLOT_COLORS, apply_theme
from tests.gui_driver import click_entry, type_in_dialog, when_modal
from tests.test_main_window import close_quietly
from tests.test_window_actions import right_click_collections, sidebar_row


def make_window(tmp_path, settings_name: str = "settings.json") -> MainWindow:
    win = MainWindow(discover(), model_name="hashing-64", settings_file=tmp_path / settings_name)
    win.show()
    assert win.workspace.open(tmp_path / "desk.duckdb")
    return win


@pytest.fixture
def window(qtbot, tmp_path):
    win = make_window(tmp_path)
    yield win
    close_quietly(win)


def add_corpus(window: MainWindow, qtbot, tmp_path, name: str, n: int) -> int:
    """Import ``n`` lines as a collection and wait until they are embedded; returns its id."""
    path = tmp_path / f"{name}.txt"
    path.write_text("\n".join(f"{name} line {i} about topic {i % 4}" for i in range(n)), encoding="utf-8")
    with qtbot.waitSignal(window.service.sig_import_done, timeout=30_000) as blocker:
        window.import_paths([str(path)])
    qtbot.waitUntil(lambda: not window.service.busy, timeout=30_000)
    return blocker.args[0].all_ids[0]


def show_only(window: MainWindow, qtbot, collection_ids: tuple[int, ...], n: int) -> None:
    window.collections.check(collection_ids, exclusive=True)
    # the view of exactly these collections: a stale view of another collection of the same size must not pass
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == n
                    and set(window.session.view.collection_ids) == set(collection_ids), timeout=30_000)


def selected_ids(window: MainWindow) -> list[int]:
    return window.session.view.data.doc_ids[window.session.selection].tolist()


def consistency(store) -> dict[str, int]:
    """Counts that must be zero in a consistent workspace."""
    cur = store._cur()
    one = lambda sql: cur.execute(sql).fetchall()[0][0]  # noqa: E731
    return {
        "orphan_documents": one("SELECT count(*) FROM documents WHERE collection_id NOT IN (SELECT id FROM collections)"),
        "orphan_sets": one("SELECT count(*) FROM embedding_sets WHERE collection_id NOT IN (SELECT id FROM collections)"),
        "orphan_vectors": one("SELECT count(*) FROM vectors WHERE sha256 NOT IN (SELECT sha256 FROM documents)"),
    }


# ---------------------------------------------------------------------- selection history


def test_history_is_bounded_and_drops_the_redo_branch():
    history = SelectionHistory(limit=3)
    for ids in ([1], [1, 2], [1, 2, 3], [4]):
        assert history.record(np.array(ids))
    assert not history.record(np.array([4]))  # unchanged: no new state
    assert history.undo().tolist() == [1, 2, 3] and history.undo().tolist() == [1, 2]
    assert history.undo() is None  # the oldest state fell off the bounded list
    history.record(np.array([9]))
    assert history.redo() is None and history.current.tolist() == [9]
    assert rows_of(np.array([5, 7, 8]), np.array([2, 5, 8, 9])).tolist() == [1, 2]


def test_undo_redo_of_selections_survives_a_reload(window, qtbot, tmp_path):
    first = add_corpus(window, qtbot, tmp_path, "bees", 20)  # ids 1..20
    second = add_corpus(window, qtbot, tmp_path, "ants", 20)  # ids 21..40
    show_only(window, qtbot, (second,), 20)
    window.context.select(np.array([0, 5]))
    window.context.select(np.array([1]))
    assert selected_ids(window) == [22]
    show_only(window, qtbot, (first, second), 40)  # the ants move from rows 0.. to rows 20..
    assert selected_ids(window) == [22]
    window.selection.actions["undo"].trigger()
    assert selected_ids(window) == [21, 26] and window.session.selection.tolist() == [20, 25]
    window.selection.actions["redo"].trigger()
    assert selected_ids(window) == [22]
    assert not window.selection.actions["redo"].isEnabled() and window.selection.actions["undo"].isEnabled()


# ---------------------------------------------------------------------- keyboard


def test_shortcuts_trigger_their_actions(window, qtbot, tmp_path):
    add_corpus(window, qtbot, tmp_path, "keys", 12)
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == 12, timeout=30_000)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    window.collections.setFocus()

    def press(keys: str) -> None:
        QTest.keySequence(window, QKeySequence(keys))

    press("Ctrl+A")
    assert window.session.selection.size == 12
    window.context.select(np.array([0, 1, 2]))
    press("Ctrl+I")
    assert window.session.selection.tolist() == list(range(3, 12))
    press("Esc")
    assert window.session.selection.size == 0
    press("Ctrl+Z")
    assert window.session.selection.tolist() == list(range(3, 12))
    press("Ctrl+Shift+Z")
    assert window.session.selection.size == 0
    press("Ctrl+F")
    assert window.map_panel.search_edit.hasFocus()
    dock = window.docks["collections"]
    press("Alt+1")
    assert not dock.isVisible()
    press("Alt+1")
    assert dock.isVisible()
    # every menu shortcut is unique, and the list shown in Help is made from the real actions
    rows = shortcut_rows(menu_actions(window.menuBar()))
    keys = [k for _, joined in rows for k in joined.split(", ")]
    assert len(keys) == len(set(keys))
    assert ("Edit: Find", QKeySequence("Ctrl+F").toString(QKeySequence.NativeText)) in rows
    assert {"Ctrl+O", "Ctrl+Shift+O", "Ctrl+Alt+O", "Ctrl+E", "Ctrl+,"} <= set(keys)
    # the Help menu's entries open their windows
    press("Ctrl+/")
    window.named_actions["guide"].trigger()
    for title in ("Keyboard shortcuts", "User guide"):
        qtbot.waitUntil(lambda title=title: any(w.isVisible() and w.windowTitle() == title
                                                for w in QApplication.topLevelWidgets()), timeout=5_000)


# ---------------------------------------------------------------------- collections


def test_merge_reuses_vectors_and_keeps_the_originals(store, hashing):
    a = store.create_collection("a")
    store.add_documents(a, ["one", "two", "shared"], [{"lang": "en"}] * 3)
    b = store.create_collection("b")
    store.add_documents(b, ["three", "shared"])
    embed_pending(store, hashing, [a, b])
    merged = merge_collections(store, [a, b], "a + b")
    info = {c.id: c for c in store.collections()}
    assert info[merged].n_docs == 5 and info[a].n_docs == 3 and info[merged].status == "ready"
    (merged_set,) = store.embedding_sets(merged)
    assert merged_set.complete  # same texts, same model: nothing to embed again
    columns = store.document_table(collection_doc_ids(store, merged))
    assert columns["from_collection"] == ["a", "a", "a", "b", "b"] and columns["lang"][:3] == ["en"] * 3
    assert all(v == 0 for v in consistency(store).values())


def test_delete_compacts_and_reopens_a_consistent_workspace(window, qtbot, tmp_path):
    keep = add_corpus(window, qtbot, tmp_path, "keep", 30)
    gone = add_corpus(window, qtbot, tmp_path, "gone", 200)
    tree, pos = sidebar_row(window, "gone")
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=pos)
    asked = when_modal(lambda box: qtbot.keyClick(box, Qt.Key_Y), QMessageBox)  # "Yes" by its key
    with qtbot.waitSignal(window.collection_actions.sig_compacted, timeout=60_000):
        qtbot.keyClick(tree, Qt.Key_Delete)  # the sidebar's Delete key
    assert len(asked) == 1
    assert window.session is not None  # reopened
    store = window.session.store
    assert [c.id for c in store.collections()] == [keep]
    assert [s.collection_id for s in store.embedding_sets()] == [keep]
    assert all(v == 0 for v in consistency(store).values())
    assert len(store.load_vectors((keep,), store.embedding_sets()[0].model_id)[0]) == 30


def test_rename_merge_and_reembed_from_the_window(window, qtbot, tmp_path):
    from PySide6.QtWidgets import QInputDialog

    first = add_corpus(window, qtbot, tmp_path, "red", 10)
    second = add_corpus(window, qtbot, tmp_path, "blue", 10)
    tree, pos = sidebar_row(window, "red")
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=pos)
    answered = when_modal(type_in_dialog("crimson"), QInputDialog)
    qtbot.keyClick(tree, Qt.Key_F2)  # the sidebar's rename key opens the real dialog
    store = window.session.store
    assert len(answered) == 1 and store.collection(first).name == "crimson"
    menu = right_click_collections(window, qtbot, "crimson", "blue")
    when_modal(type_in_dialog("both"), QInputDialog)
    click_entry(menu, "Merge into a new collection…")
    (merged,) = [c.id for c in store.collections() if c.name == "both"]
    assert store.collection(merged).n_docs == 20 and len(store.collections()) == 3
    assert {first, second} < {c.id for c in store.collections()}
    window.embedding_sets.embed_now((first,), "hashing-32")
    # a condition, not waitSignal: two embed jobs answer in a row, and a queued second answer must not
    # reach a finished signal blocker
    qtbot.waitUntil(lambda: {(s.model_name, s.complete) for s in store.embedding_sets(first)}
                    == {("hashing-64", True), ("hashing-32", True)}, timeout=30_000)
    window.collections.refresh()
    window.collections.check((first,), exclusive=True)
    window.collections.select_model("hashing-32")  # both sets switchable in the Model box
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.vectors.shape == (10, 32),
                    timeout=30_000)
    assert all(v == 0 for v in consistency(store).values())


def test_compacting_shrinks_a_file_with_deleted_rows(store):
    from core.store import text_sha256

    big = store.create_collection("big")
    texts = [f"text number {i} " * 20 for i in range(4000)]
    store.add_documents(big, texts)
    model = store.ensure_model("random-64", dim=64)
    store.write_vectors(model, [text_sha256(t) for t in texts], np.random.default_rng(0).random((4000, 64)))
    store.add_embedding_set(big, model)
    store.delete_collection(big)
    path = store.path
    store.close()
    before, after = compact_workspace(path)
    assert after < 0.6 * before
    from core.store import Store

    reopened = Store.open(path)
    try:
        assert reopened.collections() == [] and reopened.models()[0].name == "random-64"
        assert all(v == 0 for v in consistency(reopened).values())
    finally:
        reopened.close()


# ---------------------------------------------------------------------- first start and settings


def test_welcome_overlay_hides_once_a_collection_exists(qtbot, tmp_path):
    win = make_window(tmp_path)
    try:
        assert win.welcome.isVisible()
        add_corpus(win, qtbot, tmp_path, "first", 5)
        assert not win.welcome.isVisible() and win.settings.welcome_dismissed
    finally:
        close_quietly(win)
    again = MainWindow(discover(), model_name="hashing-64", settings_file=tmp_path / "settings.json")
    try:
        again.show()
        assert not again.welcome.isVisible()  # not shown again, even before a workspace opens
    finally:
        close_quietly(again)


def test_plugin_params_and_settings_persist_across_a_restart(qtbot, tmp_path):
    win = make_window(tmp_path)
    try:
        panel = win.host.slots["hubness"].panel
        panel.set_params(dataclasses.replace(panel.params, k=20, log_scale=True))
        win.prefs.update(dataclasses.replace(win.settings, knn_k=7))  # as the Settings dialog does
        assert win.host.slots["neighbours"].params.k == 7  # applied at once
    finally:
        close_quietly(win)
    again = make_window(tmp_path)
    try:
        assert again.host.slots["hubness"].params.k == 20 and again.host.slots["hubness"].params.log_scale
        assert again.host.slots["hubness"].panel.params.k == 20
        assert again.host.slots["neighbours"].params.k == 7
        assert again.workspace.recent()[0].endswith("desk.duckdb")
    finally:
        close_quietly(again)


# ---------------------------------------------------------------------- errors, logs, theme


def test_uncaught_exceptions_are_logged_and_shown_with_copyable_details(qtbot, tmp_path):
    log_path = setup_logging(tmp_path / "logs")
    reporter = ErrorReporter(log_path=log_path)
    uninstall = install_excepthooks(reporter.report)
    try:
        try:
            raise ValueError("boom in a slot")
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible(), timeout=5_000)
        worker = threading.Thread(target=lambda: 1 / 0, name="worker-x")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: "ZeroDivisionError" in reporter.dialog.details.toPlainText(), timeout=5_000)
        reporter.dialog.copy_details()
        copied = QGuiApplication.clipboard().text()
        assert "boom in a slot" in copied and "ZeroDivisionError" in copied and "duckdb" in copied
    finally:
        uninstall()
        for handler in list(logging.getLogger().handlers):
            if handler.get_name() in ("ee-file", "ee-console"):
                logging.getLogger().removeHandler(handler)
                handler.close()
        reporter.dialog.close()
    text = log_path.read_text(encoding="utf-8")
    assert "boom in a slot" in text and "thread worker-x" in text


def test_dark_and_light_themes_restyle_the_app_and_its_plots(qtbot):
    app = QApplication.instance()
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    try:
        assert apply_theme(app, "dark") == "dark"
        assert app.palette().color(QPalette.Window).lightness() < 80
        assert plot.backgroundBrush().color().name() == PLOT_COLORS["dark"][0]
        assert apply_theme(app, "light") == "light"
        assert app.palette().color(QPalette.Window).lightness() > 200
        assert plot.backgroundBrush().color().name() == PLOT_COLORS["light"][0]
        assert apply_theme(app, "system") in ("light", "dark")
    finally:
        apply_theme(app, "light")
        pg.setConfigOptions(background="k", foreground="d")  # pyqtgraph's defaults for the other tests


def test_every_dialog_preview_builds_offscreen(qtbot, window):
    dialogs = {
        "settings": SettingsDialog.preview(),
        "guide": user_guide_dialog(),
        "shortcuts": shortcuts_dialog(shortcut_rows(menu_actions(window.menuBar()))),
        "about": about_dialog("hashing-64"),
        "error": ErrorDialog.preview(),
    }
    for name, dialog in dialogs.items():
        qtbot.addWidget(dialog)
        image = dialog.grab().toImage()
        assert image.width() > 300 and image.height() > 200, name
    assert "Qt " in dialogs["about"].findChildren(QLabel)[1].text()
    assert "&lt;" not in guide_html() and "<h3>Map</h3>" in guide_html()
    edited = dialogs["settings"]
    edited.theme.setCurrentText("dark")
    edited.knn_k.setValue(25)
    assert (edited.settings().theme, edited.settings().knn_k) == ("dark", 25)
    assert Qt.PlainText == dialogs["error"].summary.textFormat()
