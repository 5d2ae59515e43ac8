"""The answer to a search: how many documents match, and a ranked list of them
(score, title or snippet) where a click picks the document."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.plain_widgets import TextsOnDemand, read_only_view

#: rows listed at most (the count above the list always says how many matched)
LIST_LIMIT = 1_000
TextLookup = Callable[[Sequence[int]], list[str]]


class SearchResults(QWidget):
    """A count line over a ranked, clickable list of matches."""

    sig_row_picked = Signal(int)  # the view row of the clicked result

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count_label = QLabel("")
        self.count_label.setTextFormat(Qt.PlainText)
        self.count_label.setWordWrap(True)  # never clipped
        self.list = read_only_view(["#", "Score", "Document"], [
            "Rank", "Text search: times the words occur · By meaning: cosine similarity to the query",
            "Title (when the documents have one) or the start of the text; hover for more"])
        self.list.clicked.connect(self._on_list_clicked)
        self.list.activated.connect(self._on_list_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.count_label)
        layout.addWidget(self.list, 1)
        self.rows = np.empty(0, dtype=np.int64)

    def show_matches(self, query: str, rows: np.ndarray, scores: np.ndarray, kind: str, texts: TextLookup,
                     titles: np.ndarray | None = None) -> None:
        """List ``rows`` (best first) with their ``scores``; ``kind`` is "text" or "meaning"."""
        self.rows = np.asarray(rows, dtype=np.int64)
        scores = np.asarray(scores)
        listed = self.rows[:LIST_LIMIT]
        what = "documents most similar to" if kind == "meaning" else "documents contain"
        count = f"{self.rows.size:,} {what} “{query}”"
        if self.rows.size > listed.size:
            count += f" · the best {listed.size:,} listed"
        self.count_label.setText(count if self.rows.size else f"No document contains “{query}”")
        shown = TextsOnDemand(texts, listed) if titles is None else None
        self.list.model().set_rows(listed.size, lambda i, column: (
            i + 1 if column == 0 else
            (float(scores[i]) if kind == "meaning" else int(scores[i])) if column == 1 else
            (str(titles[listed[i]]) if titles is not None else shown[i])), key=lambda i: int(listed[i]))
        self.list.scrollToTop()

    def clear(self) -> None:
        self.rows = np.empty(0, dtype=np.int64)
        self.count_label.setText("")
        self.list.model().set_rows(0, lambda i, column: "")

    def _on_list_clicked(self, index: QModelIndex) -> None:
        row = self.list.model().data(index, Qt.UserRole)
        if row is not None:
            self.sig_row_picked.emit(int(row))
