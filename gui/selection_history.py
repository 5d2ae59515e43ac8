"""Undo and redo for selections.

States are document ids, not rows: rows shift whenever the view reloads (a
collection is added, a growing one gains documents), ids never do, so an undo
after a reload selects the same documents again.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from gui.session import Session


class SelectionHistory:
    """A bounded list of selections with a cursor; recording after an undo drops the redo branch."""

    def __init__(self, limit: int = 100) -> None:
        if limit < 2:
            raise ValueError("a history needs room for at least two states")
        self.limit = limit
        self.clear()

    def clear(self) -> None:
        """Forget everything; the current state is the empty selection."""
        self._states: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
        self._cursor = 0

    @property
    def current(self) -> np.ndarray:
        return self._states[self._cursor]

    @property
    def can_undo(self) -> bool:
        return self._cursor > 0

    @property
    def can_redo(self) -> bool:
        return self._cursor < len(self._states) - 1

    def record(self, doc_ids: np.ndarray) -> bool:
        """Make ``doc_ids`` the current state; False when it already is."""
        ids = np.unique(np.asarray(doc_ids, dtype=np.int64))
        if np.array_equal(ids, self.current):
            return False
        del self._states[self._cursor + 1 :]
        self._states.append(ids)
        if len(self._states) > self.limit:
            del self._states[0]
        self._cursor = len(self._states) - 1
        return True

    def undo(self) -> np.ndarray | None:
        """The previous selection (None at the start of the history)."""
        if not self.can_undo:
            return None
        self._cursor -= 1
        return self.current

    def redo(self) -> np.ndarray | None:
        """The selection undone last (None when nothing was undone)."""
        if not self.can_redo:
            return None
        self._cursor += 1
        return self.current


def rows_of(doc_ids: np.ndarray, view_doc_ids: np.ndarray) -> np.ndarray:
    """Rows of ``doc_ids`` in a view whose ``view_doc_ids`` are sorted; ids not in view are skipped."""
    view_doc_ids = np.asarray(view_doc_ids, dtype=np.int64)
    if view_doc_ids.size == 0:
        return np.empty(0, dtype=np.int64)
    where = np.clip(np.searchsorted(view_doc_ids, doc_ids), 0, view_doc_ids.size - 1)
    return where[view_doc_ids[where] == doc_ids].astype(np.int64)


class SelectionCommands(QObject):
    """The Edit menu's selection commands on the open session: undo, redo, all, none, invert.

    ``actions`` holds the QActions (with their shortcuts) for the window's menu.
    """

    def __init__(self, parent: QWidget, limit: int = 100) -> None:
        super().__init__(parent)
        self.history = SelectionHistory(limit)
        self.session: Session | None = None
        self._restoring = False
        self.actions: dict[str, QAction] = {}
        for name, text, keys, slot in (
            ("undo", "&Undo selection", ["Ctrl+Z"], self.undo),
            ("redo", "&Redo selection", ["Ctrl+Shift+Z", "Ctrl+Y"], self.redo),
            ("select_all", "Select &all", ["Ctrl+A"], self.select_all),
            ("select_none", "Select &none", ["Esc"], self.select_none),
            ("invert", "&Invert selection", ["Ctrl+I"], self.invert),
        ):
            action = QAction(text, parent)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(slot)
            self.actions[name] = action
        self._update_actions()

    def claim_keys(self, widgets: list[QWidget]) -> None:
        """Disable the widgets' own shortcuts for these keys: two live shortcuts for one key are ambiguous
        in Qt and then neither fires."""
        owned = {key.toString() for action in self.actions.values() for key in action.shortcuts()}
        for widget in widgets:
            for shortcut in widget.findChildren(QShortcut):
                if shortcut.key().toString() in owned:
                    shortcut.setEnabled(False)

    def attach(self, session: Session | None) -> None:
        """Follow ``session``'s selection (a new workspace starts a new history)."""
        self.session = session
        self.history.clear()
        if session is not None:
            session.sig_selection_changed.connect(self._on_session_selection_changed)
        self._update_actions()

    def _view(self):
        return self.session.view if self.session is not None else None

    def select_all(self) -> None:
        if self._view() is not None:
            self.session.select(np.arange(self._view().data.n))

    def select_none(self) -> None:
        if self._view() is not None:
            self.session.select(np.empty(0, dtype=np.int64))

    def invert(self) -> None:
        if self._view() is not None:
            self.session.select(np.setdiff1d(np.arange(self._view().data.n), self.session.selection))

    def undo(self) -> None:
        self._restore(self.history.undo())

    def redo(self) -> None:
        self._restore(self.history.redo())

    def _restore(self, doc_ids: np.ndarray | None) -> None:
        if doc_ids is not None and self._view() is not None:
            self._restoring = True
            try:
                self.session.select(rows_of(doc_ids, self._view().data.doc_ids))
            finally:
                self._restoring = False
        self._update_actions()

    def _on_session_selection_changed(self, rows: np.ndarray) -> None:
        if not self._restoring and self._view() is not None:
            self.history.record(self._view().data.doc_ids[np.asarray(rows, dtype=np.int64)])
            self._update_actions()

    def _update_actions(self) -> None:
        self.actions["undo"].setEnabled(self.history.can_undo)
        self.actions["redo"].setEnabled(self.history.can_redo)
