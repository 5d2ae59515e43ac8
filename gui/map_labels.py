"""A layer of text labels on a map view: no overlaps, level following the zoom.

Views publish :class:`core.map_annotations.MapLabels` through the panel
context (``PanelContext.annotate``); a :class:`MapLabelLayer` attached to the
map's ViewBox draws them. On every view change (throttled) it picks the finest
level whose labels are, typically, at least ``SPACING_PX`` apart on screen (and
that the zoom allows: zoomed out, only the coarsest), then places that level's labels greedily, highest priority first, skipping any
whose screen rectangle would overlap one already placed. Labels shown before
are placed first, so panning or a growing map does not make them jump.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QTimer
from PySide6.QtGui import QFont

from core.map_annotations import MapLabels
from gui.panel_base import PanelContext

#: a level is shown when its labels' median nearest-neighbour distance on screen is at least this
SPACING_PX = 110.0
#: ... and when the view is zoomed in at least ZOOM_STEP ** level times (relative to the labels' extent)
ZOOM_STEP = 1.6
PAD_PX = 3.0
LABEL_Z = 30


def greedy_place(rects: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Indices of ``rects`` (m, 4: x0, y0, x1, y1) kept, visiting them in ``order``; a rectangle is
    kept when it overlaps none kept before it. Touching edges do not count as overlap."""
    kept: list[int] = []
    boxes = np.empty((0, 4))
    for i in order:
        r = rects[i]
        if boxes.size and np.any((boxes[:, 0] < r[2]) & (r[0] < boxes[:, 2]) & (boxes[:, 1] < r[3]) & (r[1] < boxes[:, 3])):
            continue
        kept.append(int(i))
        boxes = np.vstack([boxes, r])
    return np.array(kept, dtype=np.int64)


def level_for_zoom(screen_xy: np.ndarray, labels: MapLabels, spacing_px: float, zoom: float) -> int:
    """The finest level allowed at ``zoom`` (ZOOM_STEP ** level ≤ zoom) whose labels' median
    nearest-neighbour distance on screen is ≥ ``spacing_px`` pixels; 0 if none."""
    best = 0
    for lv in range(1, labels.n_levels):
        if zoom < ZOOM_STEP**lv:
            break
        pts = screen_xy[labels.shown_at(lv)]
        if len(pts) < 2:
            continue
        d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2))
        np.fill_diagonal(d, np.inf)
        if np.median(d.min(axis=1)) >= spacing_px:
            best = lv
    return best


class MapLabelLayer(QObject):
    """Draws the context's map annotations on ``view_box`` (see module docstring)."""

    def __init__(self, view_box: pg.ViewBox, context: PanelContext, point_size: float = 9.0) -> None:
        super().__init__(view_box)
        self.vb = view_box
        self.context = context
        self.font = QFont()
        self.font.setPointSizeF(point_size)
        self.font.setBold(True)
        self._probe = self._new_item()
        self._sizes: dict[str, tuple[float, float]] = {}
        self._labels: MapLabels | None = None
        self._items: dict[str, pg.TextItem] = {}
        #: keys of the labels on screen now, and the level they belong to
        self.shown: list[str] = []
        self.level = 0
        self._timer = QTimer(self, singleShot=True, interval=40, timeout=self.relayout)
        view_box.sigRangeChanged.connect(lambda *_: self._timer.start())
        view_box.sigResized.connect(lambda *_: self._timer.start())
        context.sig_annotations_changed.connect(self._on_context_annotations_changed)
        self._on_context_annotations_changed()

    def _on_context_annotations_changed(self) -> None:
        """Merge every source's labels, levels kept per source."""
        parts = [a for a in self.context.annotations.values() if a is not None and len(a)]
        self._labels = None if not parts else MapLabels(
            np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
            tuple(t for p in parts for t in p.texts), np.concatenate([p.level for p in parts]),
            np.concatenate([p.priority for p in parts]), tuple(k for p in parts for k in p.keys),
            np.concatenate([p.until for p in parts]))
        self.relayout()

    def relayout(self) -> None:
        """Choose the level for the current zoom and place its labels without overlaps."""
        labels = self._labels
        if labels is None or not len(labels) or self.vb.width() <= 0:
            self._show({})
            return
        (x0, x1), (y0, y1) = self.vb.viewRange()
        w, h = self.vb.width(), self.vb.height()
        sx = (labels.x - x0) / max(x1 - x0, 1e-12) * w
        sy = (y1 - labels.y) / max(y1 - y0, 1e-12) * h
        extent = max(np.ptp(labels.x), np.ptp(labels.y), 1e-12)
        zoom = extent / max(x1 - x0, y1 - y0, 1e-12)
        self.level = level_for_zoom(np.column_stack([sx, sy]), labels, SPACING_PX, zoom)
        inside = np.flatnonzero(labels.shown_at(self.level) & (sx >= 0) & (sx <= w) & (sy >= 0) & (sy <= h))
        sizes = np.array([self._size(labels.texts[i]) for i in inside]).reshape(-1, 2)
        rects = np.column_stack([sx[inside] - sizes[:, 0] / 2 - PAD_PX, sy[inside] - sizes[:, 1] / 2 - PAD_PX,
                                 sx[inside] + sizes[:, 0] / 2 + PAD_PX, sy[inside] + sizes[:, 1] / 2 + PAD_PX])
        whole = (rects[:, 0] >= 0) & (rects[:, 1] >= 0) & (rects[:, 2] <= w) & (rects[:, 3] <= h)
        inside, rects = inside[whole], rects[whole]  # a label cut by the edge is not drawn
        was = np.array([labels.keys[i] in self.shown for i in inside], dtype=bool)
        order = np.lexsort((inside, -labels.priority[inside], ~was))  # shown before first, then priority
        kept = inside[greedy_place(rects, order)]
        self._show({labels.keys[i]: (labels.texts[i], labels.x[i], labels.y[i]) for i in kept})

    def _size(self, text: str) -> tuple[float, float]:
        """Pixel size of ``text`` drawn as a label: measured on a TextItem like the ones drawn."""
        if text not in self._sizes:
            self._probe.setText(text)
            rect = self._probe.boundingRect()
            self._sizes[text] = (rect.width(), rect.height())
        return self._sizes[text]

    def _show(self, wanted: dict[str, tuple[str, float, float]]) -> None:
        for key in [k for k in self._items if k not in wanted]:
            self.vb.removeItem(self._items.pop(key))
        for key, (text, x, y) in wanted.items():
            item = self._items.get(key)
            if item is None:
                item = self._new_item()
                self.vb.addItem(item, ignoreBounds=True)
                self._items[key] = item
            if item.toPlainText() != text:
                item.setText(text)
            item.setPos(QPointF(x, y))
        self.shown = list(wanted)

    def _new_item(self) -> pg.TextItem:
        item = pg.TextItem(anchor=(0.5, 0.5), color="#111", fill=pg.mkBrush(255, 255, 255, 190))
        item.setFont(self.font)
        item.setZValue(LABEL_Z)
        return item

    def items(self) -> list[pg.TextItem]:
        """The label items on the map now (an exported figure may leave them out)."""
        return list(self._items.values())

    def screen_rects(self) -> list[tuple[str, float, float, float, float]]:
        """(text, x0, y0, x1, y1) in the view widget's pixels of every label on screen (for tests)."""
        out = []
        for item in self._items.values():
            rect = item.mapRectToScene(item.boundingRect())
            out.append((item.toPlainText(), rect.left(), rect.top(), rect.right(), rect.bottom()))
        return out
