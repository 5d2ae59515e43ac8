"""The document card: the focused document (the one clicked last) to read.

Its title (from a column the user picks), the full text (wrapped, scrollable,
selectable), every metadata field, and its neighbours and reverse neighbours
listed by title; a click on one moves the card there. Back/forward (Alt+Left,
Alt+Right) walk the documents visited. The card follows the session's focus
signal; the lists come from the neighbours view's result, handed over by the
window (so they follow its raw / hubness-reduced switch and the duplicate
policy: copies are listed once with their count).
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QPlainTextEdit, QSplitter, QTableWidget, QToolButton,
                               QVBoxLayout, QWidget)

from core.doc_fields import guess_title_column, split_fields
from core.plugin_api import KnnGraph
from gui.plain_widgets import elide, fill_table, plain_label, read_only_table, table_item
from gui.selection_history import SelectionHistory, rows_of
from gui.session import Session

TITLE_PREFERENCE = "title_column"
TEXT_AS_TITLE = "(start of the text)"
_HINT = "Click a point on the map, a search result, a hub or a neighbour to read it here."


class NeighbourLists(Protocol):
    """What the card needs of the neighbours view's result."""

    graph: KnnGraph
    similarity: np.ndarray
    reverse: Callable[[int], tuple[np.ndarray, np.ndarray]]

    def copies(self, rows: np.ndarray) -> np.ndarray: ...


class DocumentCard(QWidget):
    """The focused document with its metadata and neighbours; ``sig_open(row)`` asks to focus ``row``."""

    sig_open = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.neighbours: NeighbourLists | None = None
        self.row: int | None = None
        self.visited = SelectionHistory()
        self._walking = False
        self.title_column: str | None = None

        self.back = self._nav_button(Qt.LeftArrow, "Back to the document read before (Alt+Left)", self.go_back)
        self.forward = self._nav_button(Qt.RightArrow, "Forward again (Alt+Right)", self.go_forward)
        self.title_box = QComboBox()
        self.title_box.setToolTip("The column that names a document in the card and its lists "
                                  "(remembered with the workspace)")
        self.title_box.activated.connect(self._on_title_box_activated)
        bar = QHBoxLayout()
        bar.addWidget(self.back)
        bar.addWidget(self.forward)
        bar.addStretch(1)
        bar.addWidget(plain_label("Title column", self.title_box.toolTip()))
        bar.addWidget(self.title_box)

        self.heading = plain_label(_HINT)
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.heading.setStyleSheet("font-weight: bold; font-size: 11pt;")
        self.note = plain_label("")
        self.note.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.WidgetWidth)
        self.fields = read_only_table(["Field", "Value"], ["Column of the input", "Its value"], text_column=1)
        self.nbr_table = read_only_table(["Neighbour", "Cosine", "Copies"],
                                         ["Nearest documents, by title; click one to read it",
                                          "Cosine similarity", "Documents with this exact text"], text_column=0)
        self.rev_title = plain_label("Who has it as a neighbour")
        self.rev_table = read_only_table(["Has it as a neighbour", "Their rank", "Copies"],
                                         ["Documents listing this one among their k nearest; click one to read it",
                                          "Where this document sits in their list", "Documents with this exact text"],
                                         text_column=0)
        for table in (self.nbr_table, self.rev_table):
            table.cellClicked.connect(lambda r, _c, t=table: self._on_list_clicked(t, r))

        lists = QWidget()
        lists_layout = QVBoxLayout(lists)
        lists_layout.setContentsMargins(0, 0, 0, 0)
        lists_layout.addWidget(self.nbr_table, 3)
        lists_layout.addWidget(self.rev_title)
        lists_layout.addWidget(self.rev_table, 2)
        split = QSplitter(Qt.Vertical)
        for widget in (self.text, self.fields, lists):
            split.addWidget(widget)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(2, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.heading)
        layout.addWidget(self.note)
        layout.addWidget(split, 1)
        #: Back and Forward, with their keys, for the window's menu (they work wherever the keyboard focus is)
        self.shortcuts = [self._shortcut("&Back to the document read before", "Alt+Left", self.go_back),
                          self._shortcut("&Forward to the next document read", "Alt+Right", self.go_forward)]
        self._show(None)

    def _nav_button(self, arrow: Qt.ArrowType, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setArrowType(arrow)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _shortcut(self, text: str, keys: str, slot: Callable[[], None]) -> QAction:
        """A window-wide shortcut (it works while the map has the keyboard focus)."""
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # ------------------------------------------------------------------ inputs
    def attach(self, session: Session | None) -> None:
        """Follow ``session``'s focus (a new workspace starts a new history)."""
        self.session = session
        self.neighbours = None
        self.visited.clear()
        if session is not None:
            session.sig_focus_changed.connect(self._on_session_focus_changed)
            session.sig_selection_changed.connect(self._on_session_selection_changed)
        self.refresh_view()

    def refresh_view(self) -> None:
        """New rows in view: offer their columns as titles and show the focus again (its lists
        once the neighbours view has answered for these rows)."""
        self.neighbours = None
        view = self.session.view if self.session is not None else None
        labels = view.labels if view is not None else {}
        choices = list(labels)
        saved = self.session.store.preference(TITLE_PREFERENCE) if self.session is not None else None
        self.title_column = saved if saved in choices else guess_title_column(labels)
        self.title_box.clear()
        self.title_box.addItem(TEXT_AS_TITLE, None)
        for key in choices:
            self.title_box.addItem(key, key)
        self.title_box.setCurrentIndex(max(0, self.title_box.findData(self.title_column)))
        self._show(self.session.focus if self.session is not None else None)

    def set_neighbours(self, result: NeighbourLists | None) -> None:
        """The neighbours view's latest result (its lists are shown for the focused row)."""
        self.neighbours = result
        self._show(self.row)

    # ------------------------------------------------------------------ navigation
    def go_back(self) -> None:
        if self._can_go_back():
            self._walk(self.visited.undo())

    def _can_go_back(self) -> bool:
        """True when a document was read before this one (the history starts with "nothing")."""
        if not self.visited.can_undo:
            return False
        previous = self.visited.undo()
        self.visited.redo()
        return previous is not None and previous.size > 0

    def go_forward(self) -> None:
        self._walk(self.visited.redo())

    def _walk(self, doc_ids: np.ndarray | None) -> None:
        view = self.session.view if self.session is not None else None
        if doc_ids is None or view is None:
            return
        rows = rows_of(doc_ids, view.data.doc_ids)
        if rows.size:
            self._walking = True
            try:
                self.sig_open.emit(int(rows[0]))
            finally:
                self._walking = False
        self._update_nav()

    def _update_nav(self) -> None:
        self.back.setEnabled(self._can_go_back())
        self.forward.setEnabled(self.visited.can_redo)

    # ------------------------------------------------------------------ showing
    def titles(self, rows: np.ndarray) -> list[str]:
        """What names ``rows`` in the card: the title column's value, else the start of the text."""
        view = self.session.view if self.session is not None else None
        rows = np.asarray(rows, dtype=np.int64)
        if view is None or rows.size == 0:
            return []
        texts = self.session.texts(rows)
        values = view.labels.get(self.title_column) if self.title_column else None
        names = [_plain(values[r].item()) if values is not None else "" for r in rows]
        return [elide(name if name.strip() else text, 120) for name, text in zip(names, texts)]

    def _show(self, row: int | None) -> None:
        view = self.session.view if self.session is not None else None
        if view is None or row is None or not 0 <= row < view.data.n:
            self.row = None
            self.heading.setText(_HINT)
            self.note.setText(self._selection_note())
            self.text.setPlainText("")
            for table in (self.fields, self.nbr_table, self.rev_table):
                table.setRowCount(0)
            self._update_nav()
            return
        self.row = row
        doc_id = int(view.data.doc_ids[row])
        if not self._walking:
            self.visited.record(np.array([doc_id]))
        columns = self.session.store.document_table(np.array([doc_id]))
        (id_key, collection_key, text_key), keys = split_fields(columns)
        self.heading.setText(self.titles(np.array([row]))[0])
        self.text.setPlainText(columns[text_key][0] if columns[text_key] else "")
        fill_table(self.fields, [[table_item(key), table_item(_plain(columns[key][0]))]
                                 for key in (*keys, collection_key, id_key)])
        self.note.setText(self._selection_note())
        self._show_lists(row)
        self._update_nav()

    def _selection_note(self) -> str:
        session = self.session
        if session is None or session.view is None:
            return ""
        chosen = int(session.selection.size)
        parts = []
        if chosen > 1:
            parts.append(f"{chosen:,} selected — " + ("showing the one clicked last" if self.row is not None
                                                       else "click one to read it"))
        lists = self._lists()
        if self.row is not None and lists is not None:
            copies = int(lists.copies(np.array([self.row]))[0])
            if copies > 1:
                parts.append(f"this exact text appears {copies} times (listed once)")
        return " · ".join(parts)

    def _lists(self) -> NeighbourLists | None:
        """The neighbours view's result when it covers the rows in view (a new view waits for its own)."""
        view = self.session.view if self.session is not None else None
        result = self.neighbours
        return result if result is not None and view is not None and result.graph.n == view.data.n else None

    def _show_lists(self, row: int) -> None:
        result = self._lists()
        if result is None:
            self.nbr_table.setRowCount(0)
            self.rev_table.setRowCount(0)
            self.rev_title.setText("Who has it as a neighbour (computing…)")
            return
        nbrs = result.graph.indices[row]
        back, ranks = result.reverse(row)
        names = self.titles(np.concatenate([nbrs, back]))
        copies = result.copies(np.concatenate([nbrs, back]))
        fill_table(self.nbr_table, [[table_item(name, int(r)), table_item(float(sim)), _copies_item(int(c))]
                                    for name, r, sim, c in zip(names, nbrs, result.similarity[row], copies)])
        fill_table(self.rev_table, [[table_item(name, int(r)), table_item(int(rank) + 1), _copies_item(int(c))]
                                    for name, r, rank, c in zip(names[nbrs.size:], back, ranks, copies[nbrs.size:])])
        self.rev_title.setText(f"Who has it as a neighbour: N_{result.graph.k} = {back.size}")

    # ------------------------------------------------------------------ slots
    def _on_session_focus_changed(self, row: int | None) -> None:
        self._show(row)

    def _on_session_selection_changed(self, _rows: np.ndarray) -> None:
        self.note.setText(self._selection_note())

    def _on_list_clicked(self, table: QTableWidget, table_row: int) -> None:
        item = table.item(table_row, 0)
        if item is not None:
            self.sig_open.emit(int(item.data(Qt.UserRole)))

    def _on_title_box_activated(self, index: int) -> None:
        self.title_column = self.title_box.itemData(index)
        if self.session is not None:
            self.session.store.set_preference(TITLE_PREFERENCE, self.title_column or "")
        self._show(self.row)


def _plain(value: Any) -> str:
    """A metadata value as the user wrote it (numbers without trailing zeros)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else str(int(value)) if value.is_integer() else f"{value:g}"
    return str(value)


def _copies_item(copies: int):
    """"×3" for a text held by three documents; empty for a text of its own."""
    return table_item(f"×{copies}" if copies > 1 else "")
