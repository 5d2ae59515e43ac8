"""The map's search: a query box, a *By meaning* switch and the ranked result list.

Text search runs as the user pauses typing; *By meaning* a little later (it
encodes the query, through the window's encoder service) or at once on Enter.
Answers of either kind go to the :class:`gui.search_results.SearchResults`
list beside the map; a click there picks the document.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLineEdit, QToolButton

from gui.panel_base import PanelContext
from gui.search_results import SearchResults

MEANING_TIP = "Search by meaning: encode the query and list the most similar documents (runs as you pause typing)"
#: pause in typing before a search runs (ms): text search, and by meaning (which encodes the query)
TEXT_DEBOUNCE_MS, MEANING_DEBOUNCE_MS = 250, 600
#: why "By meaning" is off for sets without an encoder to embed the query (by models.kind)
NO_ENCODER = {"imported": "this set was imported, so no model here can embed the query",
              "derived": "this set was derived (e.g. corrected) and the query cannot be transformed the same way"}


class MapSearch(QObject):
    """Runs the searches the query box asks for and shows their answers in ``results``."""

    sig_matches_changed = Signal(object)  # rows that match now (empty: no search)
    sig_row_picked = Signal(int)  # a result was clicked

    def __init__(self, edit: QLineEdit, meaning: QToolButton, results: SearchResults, context: PanelContext,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.edit, self.meaning, self.results, self.context = edit, meaning, results, context
        self.rows = np.empty(0, dtype=np.int64)
        self._timer = QTimer(self, singleShot=True, interval=TEXT_DEBOUNCE_MS, timeout=self.run)
        edit.textChanged.connect(self._on_edit_text_changed)
        edit.returnPressed.connect(self._on_edit_return_pressed)
        meaning.toggled.connect(lambda _: self._on_edit_text_changed(edit.text()))
        context.sig_search_results.connect(lambda rows, scores: self.show_matches(rows, scores, "meaning"))
        context.sig_data_changed.connect(self._update_meaning_button)
        results.sig_row_picked.connect(self.sig_row_picked)

    def run(self) -> None:
        """Search for the query now."""
        query = self.edit.text().strip()
        if not query:
            return
        if self.meaning.isChecked():
            self.results.count_label.setText(f"Searching by meaning for “{query}”…")
            self.context.sig_request_semantic_search.emit(query)
        else:
            rows, counts = self.context.find_text(query)
            self.show_matches(rows, counts, "text")

    def show_matches(self, rows: np.ndarray, scores: np.ndarray, kind: str) -> None:
        """List ``rows`` (best first) with their ``scores``; ``kind`` is "text" or "meaning"."""
        rows = np.asarray(rows, dtype=np.int64)
        keep = (rows >= 0) & (rows < self.context.n_rows)
        self.rows = rows[keep]
        query = self.edit.text().strip()
        if query:
            titles = self.context.labels.get("title")
            titles = titles if titles is not None and len(titles) == self.context.n_rows else None
            self.results.show_matches(query, self.rows, np.asarray(scores)[keep], kind, self.context.texts, titles)
        else:
            self.results.clear()
        self.results.setVisible(bool(query))
        self.sig_matches_changed.emit(self.rows)

    def _on_edit_text_changed(self, text: str) -> None:
        if not text.strip():
            self._timer.stop()
            self.show_matches(np.empty(0, np.int64), np.empty(0), "text")
            return
        self._timer.setInterval(MEANING_DEBOUNCE_MS if self.meaning.isChecked() else TEXT_DEBOUNCE_MS)
        self._timer.start()

    def _on_edit_return_pressed(self) -> None:
        self._timer.stop()
        self.run()

    def _update_meaning_button(self) -> None:
        """Search by meaning needs the set's own encoder: off, saying why, for imported and derived sets."""
        kind = self.context.provenance.get("model_kind", "encoder")
        self.meaning.setChecked(self.meaning.isChecked() and kind == "encoder")
        self.meaning.setEnabled(kind == "encoder")
        reason = NO_ENCODER.get(kind, f"a {kind} set has no model to embed the query")
        self.meaning.setToolTip(MEANING_TIP if kind == "encoder" else f"Search by meaning is off: {reason}. "
                                "Pick an encoder's set in the Model box, or search the text.")
