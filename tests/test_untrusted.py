"""Untrusted content: document texts that look like HTML are shown literally in every
widget, remote model code stays off unless asked for, exports stay in their folder."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6 import QtGui
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QDialog, QLabel, QTableWidget

from core.encoder import SentenceTransformerEncoder, load_encoder
from core.export import safe_output_path
from core.registry import discover
from gui.main_window import MainWindow
from tests.gui_input import move, pixel_of, wait_drawn
from tests.test_main_window import close_quietly

HOSTILE = [
    "<b>bold</b><img src=x>",
    "<script>alert('owned')</script>",
    "<a href='file:///etc/passwd'>click me</a> and a < b > c",
    "<table><tr><td>cell</td></tr></table> &lt;not escaped&gt; &amp;",
    "<i>italic</i> Fish & chips",
]
FILLER = [f"an ordinary sentence number {i} about plain things" for i in range(15)]


def rendered(tip: str) -> str:
    """What a tooltip shows: Qt renders it as HTML when it looks like HTML, else as it is."""
    if not QtGui.Qt.mightBeRichText(tip):
        return tip
    document = QTextDocument()
    document.setHtml(tip)
    return document.toPlainText()


def shows_literally(tip: str, text: str) -> bool:
    return " ".join(rendered(tip).split()) == " ".join(text.split())


@pytest.fixture
def hostile_window(qtbot, tmp_path):
    """A window whose workspace holds the hostile texts, embedded, with every analysis done."""
    corpus = tmp_path / "hostile.csv"
    rows = HOSTILE + FILLER
    corpus.write_text("text,label\n" + "".join(f'"{t.replace(chr(34), 2 * chr(34))}",<b>x</b>\n' for t in rows),
                      encoding="utf-8")
    win = MainWindow(discover(), model_name="hashing-64", settings_file=tmp_path / "settings.json")
    win.show()
    try:
        assert win.workspace.open(tmp_path / "hostile.duckdb")
        win.import_paths([str(corpus)])
        qtbot.waitUntil(lambda: win.session.view is not None and win.session.view.data.n == len(rows), timeout=30_000)
        wanted = ("neighbours", "hubness")
        qtbot.waitUntil(lambda: all(win.host.slots[p].result is not None for p in wanted), timeout=60_000)
        qtbot.waitUntil(lambda: win.map_panel.n_rows == len(rows), timeout=60_000)  # the PCA preview at least
        yield win
    finally:
        close_quietly(win)


def _texts(win: MainWindow) -> list[str]:
    return win.session.texts(np.arange(win.session.view.data.n))


def _row_of(win: MainWindow, text: str) -> int:
    return _texts(win).index(text)


def test_hostile_texts_show_literally_in_every_view(hostile_window, qtbot):
    win = hostile_window
    hubness = win.host.slots["hubness"].panel
    neighbours = win.host.slots["neighbours"].panel
    for text in HOSTILE:
        row = _row_of(win, text)
        with qtbot.waitSignal(win.context.sig_selection_changed, timeout=5_000):
            win.context.select([row])
        # neighbours: the selected text, its neighbours' cells and their tooltips
        assert neighbours.source.textFormat() == Qt.PlainText and text in neighbours.source.text()
        assert shows_literally(neighbours.source.toolTip(), text)
        shown = [neighbours.neighbours.item(r, 2) for r in range(neighbours.neighbours.rowCount())]
        assert shown and all(item.text() in HOSTILE + FILLER for item in shown)
        assert all(shows_literally(item.toolTip(), item.text()) for item in shown)
        # map hover: the pointer moves onto the text's point; the document under it is shown as plain text
        view = win.map_panel.view
        wait_drawn(qtbot, view, [row])
        at = pixel_of(view, view.xy[row])
        move(qtbot, view.viewport(), at)
        label = win.map_panel._hover_label
        qtbot.waitUntil(label.isVisible, timeout=5_000)
        drawn = np.array([[p.x(), p.y()] for p in (pixel_of(view, xy) for xy in view.xy)])
        nearest = int(np.argmin(((drawn - [at.x(), at.y()]) ** 2).sum(axis=1)))  # the point the pointer is on
        assert label.textFormat() == Qt.PlainText
        assert label.text().splitlines()[0] == " ".join(_texts(win)[nearest].split())[:len(label.text().splitlines()[0])]
        assert "label: <b>x</b>" in label.text()
    # hubness: the hub and antihub lists name texts in plain item text; tooltips render them literally
    items = [lst.item(i) for lst in (hubness._hub_list, hubness._antihub_list) for i in range(lst.count())]
    hostile_items = [item for item in items if any(t in item.text() for t in HOSTILE)]
    assert len(hostile_items) >= len(HOSTILE)  # with 20 rows, every row is among the top hubs
    for item in hostile_items:
        text = next(t for t in HOSTILE if item.text().endswith(t))
        assert shows_literally(item.toolTip(), text)
    # every label anywhere in the window that shows a hostile text does so as plain text
    for label in win.findChildren(QLabel):
        if any(t[:12] in label.text() for t in HOSTILE):
            assert label.textFormat() == Qt.PlainText, label.text()


def test_selection_table_shows_texts_and_metadata_literally(hostile_window, qtbot):
    win = hostile_window
    rows = np.array([_row_of(win, t) for t in HOSTILE])
    win.selection_actions.show_table(rows)
    dialog = win.findChildren(QDialog)[-1]
    table = dialog.findChild(QTableWidget)
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    text_col, label_col = headers.index("text"), headers.index("label")
    assert [table.item(r, text_col).text() for r in range(table.rowCount())] == HOSTILE
    assert {table.item(r, label_col).text() for r in range(table.rowCount())} == {"<b>x</b>"}
    for row, text in enumerate(HOSTILE):
        tip = table.item(row, text_col).toolTip()
        assert not tip or shows_literally(tip, text)
    dialog.close()


def test_hubness_tooltip_of_a_text_without_tags_renders_literally(qtbot):
    from gui.panel_base import PanelContext
    from plugins.hubness.analysis import HubnessParams
    from plugins.hubness.panel import HubnessPanel

    texts = ["Fish & chips &amp; peas"] + FILLER
    panel = HubnessPanel(PanelContext(lambda rows: [texts[int(r)] for r in rows]), HubnessParams())
    qtbot.addWidget(panel)
    panel._fill_list(panel._hub_list, np.array([0]), np.array([3]))
    assert shows_literally(panel._hub_list.item(0).toolTip(), texts[0])


def test_collection_tooltip_shows_a_hostile_source_path_literally(qtbot, tmp_path):
    from core.store import Store
    from gui.collections_panel import CollectionsPanel

    store = Store.open(tmp_path / "names.duckdb")
    try:
        store.create_collection("notes", source="/data/<b>bold</b> notes.csv")
        sidebar = CollectionsPanel()
        qtbot.addWidget(sidebar)
        sidebar.set_store(store)
        item = sidebar._tree.topLevelItem(0)
        assert item.text(0) == "notes"
        assert shows_literally(item.toolTip(0), "notes\n/data/<b>bold</b> notes.csv")  # the name, then its source
    finally:
        sidebar.set_store(None)
        store.close()


# ---------------------------------------------------------------- remote code


def test_remote_code_stays_off_unless_asked(monkeypatch):
    """The default encoder, and load_encoder, never pass trust_remote_code=True to the library."""
    assert SentenceTransformerEncoder().trust_remote_code is False
    assert load_encoder("someone/model").trust_remote_code is False
    assert load_encoder("someone/model", trust_remote_code=True).trust_remote_code is True
    seen: list[dict] = []

    class FakeModel(list):
        max_seq_length = 128
        tokenizer = None

        def __init__(self, source, **kwargs):
            super().__init__()
            seen.append(kwargs)

        def get_embedding_dimension(self):
            return 8

    fakes = {
        "sentence_transformers": types.SimpleNamespace(SentenceTransformer=FakeModel),
        "transformers": types.SimpleNamespace(logging=types.SimpleNamespace(
            set_verbosity_error=lambda: None, disable_progress_bar=lambda: None)),
        "torch": types.SimpleNamespace(set_num_threads=lambda n: None),
    }
    for name, module in fakes.items():
        monkeypatch.setitem(sys.modules, name, module)
    SentenceTransformerEncoder("someone/model", device="cpu").load()
    SentenceTransformerEncoder("someone/model", device="cpu", trust_remote_code=True).load()
    assert [kw["trust_remote_code"] for kw in seen] == [False, True]


# ---------------------------------------------------------------- export paths


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "sub/../../x", "x\0y", "..", "", "./", "sub/.."])
def test_export_names_never_leave_the_folder(tmp_path, name):
    with pytest.raises(ValueError):
        safe_output_path(tmp_path, name)


def test_export_name_through_a_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="escapes the folder"):
        safe_output_path(folder, "link/map.png")
    assert safe_output_path(folder, "sub dir/“map” 'ü'.png") == folder.resolve() / "sub dir" / "“map” 'ü'.png"


@settings(max_examples=150, deadline=None)
@given(name=st.text(alphabet=st.sampled_from(list("ab./\\\0 ~:ü")), max_size=12))
def test_any_export_name_lands_inside_the_folder_or_is_refused(name):
    folder = Path("/tmp/embedding-explorer-export-fuzz").resolve()
    try:
        target = safe_output_path(folder, name)
    except ValueError:
        return
    assert target.is_relative_to(folder) and target != folder
    assert "\0" not in str(target)


def test_the_tooltip_qt_shows_over_a_hostile_cell_reads_literally(hostile_window, qtbot):
    """Hover a neighbours cell (a real tooltip event): the tooltip Qt then shows renders the text as it is."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    win = hostile_window
    neighbours = win.host.slots["neighbours"].panel
    text = HOSTILE[0]
    with qtbot.waitSignal(win.context.sig_selection_changed, timeout=5_000):
        win.context.select([_row_of(win, text)])
    table = neighbours.neighbours
    win.docks["neighbours"].raise_()
    row = next(r for r in range(table.rowCount()) if table.item(r, 2).text() in HOSTILE)
    shown_text = table.item(row, 2).text()
    pos = table.visualItemRect(table.item(row, 2)).center()
    QApplication.sendEvent(table.viewport(), QHelpEvent(QEvent.ToolTip, pos, table.viewport().mapToGlobal(pos)))
    qtbot.waitUntil(QToolTip.isVisible, timeout=5_000)
    tip = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QLabel) and w.isVisible()
               and w.inherits("QTipLabel"))
    assert shows_literally(tip.text(), shown_text)  # as Qt's label renders it: tags shown, never obeyed
    QToolTip.hideText()
