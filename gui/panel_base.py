"""Base class and shared context for plugin panels.

Panels never start threads and never call ``compute``: they emit new params
(``sig_params_changed``) and the plugin host answers with ``show_result`` on the
GUI thread. Cross-panel actions (select rows, colour the map by a measure, draw
neighbour lines) go through the shared :class:`PanelContext`.
"""
from __future__ import annotations

import html
from typing import Any, Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.category_colours import CategoryColours
from gui.shown_text import TOOLTIP_CHARS, capped

TextLookup = Callable[[np.ndarray], Sequence[str]]


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` literally: escaped, and wrapped in a tag so Qt
    decodes the escapes (an escaped text without any tag would show "&amp;"); capped
    to :data:`~gui.shown_text.TOOLTIP_CHARS` characters."""
    return "<p>" + html.escape(capped(text, TOOLTIP_CHARS)).replace("\n", "<br>") + "</p>"


class PanelContext(QObject):
    """What a panel may know of, and ask of, the rest of the app.

    Rows are positions in the current ``AnalysisData`` (not document ids).
    """

    sig_selection_changed = Signal(object)  # np.ndarray of rows
    sig_focus_changed = Signal(object)  # the focused row (the document clicked last) or None
    sig_request_selection = Signal(object)  # np.ndarray of rows
    sig_request_color = Signal(str, object)  # measure name, per-row float array
    sig_request_links = Signal(int, object)  # source row, target rows (drawn on the map)
    sig_data_changed = Signal()  # rows, labels or texts changed (new data in view)
    sig_request_semantic_search = Signal(str)  # query text; host encodes it off the GUI thread
    sig_search_results = Signal(object, object)  # rows, cosine similarities (best first)
    sig_request_action = Signal(str, object)  # action name ("new_collection", "export_selection", "show_table"), rows
    sig_request_derived_set = Signal(str, object)  # label, Qt-free transform(vectors) -> vectors
    sig_annotations_changed = Signal()  # ``annotations`` changed (map labels)

    def __init__(self, text_lookup: TextLookup | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text_lookup = text_lookup
        self.selection: np.ndarray = np.empty(0, dtype=np.int64)
        #: the focused row: the document clicked last (None: none, e.g. after a lasso)
        self.focus: int | None = None
        #: per-row metadata for colouring: name -> array (strings = categorical, numbers = continuous)
        self.labels: dict[str, np.ndarray] = {}
        self.n_rows = 0
        #: display name of the space in view, for figure titles and manifests
        self.title: str = ""
        #: facts about the data behind the view (model, workspace, collections…) for export manifests
        self.provenance: dict[str, Any] = {}
        #: colours of category values, remembered per column (in the workspace when the window sets one)
        self.colours = CategoryColours()
        #: map labels published by views: source -> core.map_annotations.MapLabels
        self.annotations: dict[str, Any] = {}
        #: named arrays kept in the workspace file (core.result_cache.Shelf); None without a workspace
        self.shelf: Any = None
        self.sig_selection_changed.connect(self._remember_selection)
        self.sig_focus_changed.connect(self._remember_focus)

    def set_text_lookup(self, lookup: TextLookup | None) -> None:
        self._text_lookup = lookup

    def texts(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """Document texts for ``rows`` ("" where unknown)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._text_lookup is None or rows.size == 0:
            return [""] * int(rows.size)
        return list(self._text_lookup(rows))

    def find_text(self, needle: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose text contains ``needle`` (case-insensitive), most occurrences first (ties:
        row order), and each one's number of occurrences."""
        needle = needle.casefold()
        if not needle or self._text_lookup is None:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        texts = self._text_lookup(np.arange(self.n_rows, dtype=np.int64))
        counts = np.fromiter((t.casefold().count(needle) for t in texts), dtype=np.int64, count=len(texts))
        rows = np.flatnonzero(counts)
        order = np.lexsort((rows, -counts[rows]))
        return rows[order].astype(np.int64), counts[rows[order]]

    def set_data(
        self,
        n_rows: int,
        labels: dict[str, np.ndarray],
        title: str = "",
        provenance: dict[str, Any] | None = None,
    ) -> None:
        """Host-side: announce new rows in view."""
        self.n_rows = int(n_rows)
        self.labels = dict(labels)
        self.title = title
        self.provenance = dict(provenance or {})
        self.sig_data_changed.emit()

    def select(self, rows: Sequence[int] | np.ndarray) -> None:
        self.sig_request_selection.emit(np.asarray(rows, dtype=np.int64))

    def color_by(self, name: str, values: np.ndarray) -> None:
        values = np.asarray(values)  # strings colour by category, numbers on a colour scale
        self.sig_request_color.emit(name, values if values.dtype.kind in "OUS" else values.astype(np.float32))

    def annotate(self, source: str, labels: Any) -> None:
        """Publish ``labels`` (``MapLabels``, or None to withdraw) for the map to draw."""
        self.annotations[source] = labels
        self.sig_annotations_changed.emit()

    def derive_set(self, label: str, transform: Callable[[np.ndarray], np.ndarray]) -> None:
        """Ask the host to store ``transform(vectors)`` as a derived embedding set and show it."""
        self.sig_request_derived_set.emit(label, transform)

    def show_links(self, source: int, targets: Sequence[int] | np.ndarray) -> None:
        self.sig_request_links.emit(int(source), np.asarray(targets, dtype=np.int64))

    def _remember_selection(self, rows: np.ndarray) -> None:
        self.selection = np.asarray(rows, dtype=np.int64)

    def _remember_focus(self, row: int | None) -> None:
        self.focus = None if row is None else int(row)


class PluginPanel(QWidget):
    """A dockable view of one plugin's results."""

    sig_params_changed = Signal(object)  # a new frozen params instance
    sig_recompute_requested = Signal()  # compute again from scratch (no cache, no previous result to start from)

    def __init__(self, context: PanelContext, params: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.params = params
        self._status = QLabel("")
        self._status.setTextFormat(Qt.PlainText)
        self._status.setWordWrap(True)
        self._status.setVisible(False)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.addWidget(self._status)

    @property
    def body(self) -> QVBoxLayout:
        """Layout that subclasses add their widgets to (below the status line)."""
        return self._layout

    def set_params(self, params: Any) -> None:
        """Adopt new params and ask the host to recompute."""
        self.params = params
        self.sig_params_changed.emit(params)

    def show_result(self, result: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def show_status(self, text: str) -> None:
        """Show a one-line status ("computing…", "no data") above the view."""
        self._status.setStyleSheet("")
        self._status.setText(text)
        self._status.setVisible(bool(text))

    def show_error(self, text: str) -> None:
        self._status.setStyleSheet("color: #b00020;")
        self._status.setText(text)
        self._status.setVisible(True)

    @classmethod
    def preview(cls) -> "PluginPanel":  # pragma: no cover - abstract
        """Build the panel on synthetic data (used by tests and docs)."""
        raise NotImplementedError
