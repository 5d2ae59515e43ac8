"""The window a person sees: Alt+N brings panel N forward, the guide names the real keys,
long messages never widen the window, exports start in a sensible folder, and the CLI's
"open elsewhere" message says what to do there."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings, QStandardPaths, Qt
from PySide6.QtWidgets import QApplication, QDialog, QDockWidget, QFileDialog, QMessageBox, QTextBrowser

from commands import cli
from core.store import Store
from gui.collections_panel import CollectionsPanel
from gui.figure_export import LAST_FOLDER_KEY, FigureExportDialog
from tests.test_desktop import make_window
from tests.test_main_window import close_quietly
from tests.test_reliability import ENV, HOLDER, ROOT


@pytest.fixture
def window(qtbot, tmp_path):
    win = make_window(tmp_path)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5_000)
    yield win
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, (QDialog, QMessageBox)) and widget.isVisible():
            widget.close()
    close_quietly(win)


def in_front(dock: QDockWidget) -> bool:
    """Shown and not behind another tab (Qt keeps a dock behind a tab "visible", moved off-screen)."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def test_alt_number_shows_that_panel_even_behind_a_tab(window, qtbot):
    titles = [dock.windowTitle() for dock in window.docks.values()]
    number = list(window.docks).index("hubness") + 1
    hubness, neighbours = window.docks["hubness"], window.docks["neighbours"]
    window.tabifyDockWidget(neighbours, hubness)
    neighbours.raise_()
    qtbot.waitUntil(lambda: not in_front(hubness), timeout=5_000)  # open, but behind the Neighbours tab
    qtbot.keyClick(window, Qt.Key_0 + number, Qt.AltModifier)
    assert in_front(hubness) and not in_front(neighbours), f"Alt+{number} should bring Hubness to the front"
    qtbot.keyClick(window, Qt.Key_0 + number, Qt.AltModifier)  # in front: the key hides it
    assert not hubness.isVisible() and not window.named_actions["toggle_hubness"].isChecked()
    qtbot.keyClick(window, Qt.Key_0 + number, Qt.AltModifier)
    assert in_front(hubness) and window.named_actions["toggle_hubness"].isChecked()
    # the guide, opened with its key, lists exactly these panels' keys
    qtbot.keyClick(window, Qt.Key_F1)
    qtbot.waitUntil(lambda: any(isinstance(w, QDialog) and w.isVisible() and w.windowTitle() == "User guide"
                                for w in QApplication.topLevelWidgets()), timeout=5_000)
    guide = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.windowTitle() == "User guide")
    text = guide.findChild(QTextBrowser).toPlainText()
    for number, title in enumerate(titles, start=1):
        assert (f"Alt+{number} {title}" in text) == (number <= 9)  # keys exist for the first nine panels
    assert f"Alt+{min(len(titles), 9) + 1} " not in text  # and no key for a panel that has none


def test_long_messages_never_widen_the_window(window, qtbot, tmp_path):
    window.layout().activate()
    width = window.width()

    def unchanged() -> bool:
        window.layout().activate()
        return window.width() == width and window.minimumSizeHint().width() <= width

    # a bad file with a long name: the import problems go to the status line and a box of their own
    bad = tmp_path / ("a-very-long-file-name-" * 9 + ".pdf")
    bad.write_bytes(b"%PDF-1.4 not text")
    with qtbot.waitSignal(window.service.sig_import_done, timeout=30_000):
        window.import_paths([str(bad)])
    assert unchanged()
    compare = window.host.slots["compare"].panel
    window.docks["compare"].raise_()
    for label in (compare.overlap_label, compare.note, compare.source):
        label.setVisible(True)
        label.setText(" ".join(["kNN overlap (Jaccard, k = 10)"] * 80))
        assert unchanged(), label
    window.show_message("x" * 2000)
    assert unchanged()
    metrics = window._message.fontMetrics()
    assert all(metrics.horizontalAdvance(line) <= window._message.width() for line in window._message._shown)


def test_figure_export_opens_in_documents_then_in_the_last_folder(qtbot, tmp_path, monkeypatch):
    QSettings().remove(LAST_FOLDER_KEY)
    documents = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
    asked: list[str] = []
    target = tmp_path / "figures" / "chosen.png"
    target.parent.mkdir()

    def choose(parent, caption, directory, file_filter):
        asked.append(directory)
        return str(target), file_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    monkeypatch.setattr(FigureExportDialog, "exec", lambda self: QDialog.Accepted)
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.plot([0, 1, 2], [1, 3, 2])
    for _ in range(2):
        dialog = FigureExportDialog("A figure")
        qtbot.addWidget(dialog)
        assert dialog.run(plot.getPlotItem(), "nk_histogram") == target and target.exists()
    first, second = (Path(p) for p in asked)
    assert first.name == second.name == "nk_histogram.png"
    assert first.is_absolute() and str(first.parent) in (documents, str(Path.home()))
    assert second.parent == target.parent


def test_cli_says_how_to_read_a_workspace_open_elsewhere(tmp_path, capsys):
    path = tmp_path / "busy.duckdb"
    Store.open(path).close()
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, env=ENV, cwd=ROOT) as holder:
        try:
            assert holder.stdout.readline().strip() == "holding"
            assert cli.main(["analyze", "--workspace", str(path)]) == 1
        finally:
            holder.stdin.write("\n")
            holder.stdin.flush()
    err = capsys.readouterr().err
    assert "open in another" in err and f"copy {path}" in err and "pass the copy to --workspace" in err


def test_collection_names_and_status_fit_the_sidebar_at_its_default_width(qtbot, store):
    first = store.create_collection("demo_corpus", source="/data/demo_corpus.csv")
    store.add_documents(first, ["one text", "another text"])
    long_name = "conference abstracts 2019-2024, cleaned and deduplicated"
    store.create_collection(long_name)
    panel = CollectionsPanel()
    qtbot.addWidget(panel)
    panel.set_store(store)
    panel.resize(panel.minimumWidth(), 300)
    panel.show()
    qtbot.waitExposed(panel)
    tree = panel._tree
    header, metrics = tree.header(), tree.fontMetrics()
    item = tree.topLevelItem(0)
    assert tree.horizontalScrollBar().maximum() == 0  # nothing hidden to the right
    # the short name and the status are whole; a long name is elided with its full text in the tooltip
    indicator = tree.style().pixelMetric(tree.style().PixelMetric.PM_IndicatorWidth)
    assert header.sectionSize(0) >= metrics.horizontalAdvance(item.text(0)) + indicator
    assert header.sectionSize(2) >= metrics.horizontalAdvance(item.text(2))
    assert "demo_corpus" in item.toolTip(0) and "/data/demo_corpus.csv" in item.toolTip(0)
    assert long_name in tree.topLevelItem(1).toolTip(0)


def test_the_window_with_every_view_fits_a_1280_pixel_screen(window):
    """Ten side views and the map: panels scroll inside their docks instead of widening the window."""
    assert len(window.docks) >= 10
    assert window.minimumSizeHint().width() <= 1280
