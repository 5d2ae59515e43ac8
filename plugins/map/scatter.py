"""The map's drawing surface: grouped scatter layers, highlights, density.

pyqtgraph fast paths only: one ``ScatterPlotItem`` per colour group with one
shared brush (a per-point brush list is pyqtgraph's slow path: 5.7 s for 1M
points), pxMode symbols, no outlines. Picking (hover, click, lasso, box) works
on the full coordinate array, never on what happens to be drawn.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsRectItem, QWidget

from plugins.map.selection import points_in_polygon, points_in_rect

#: visible points above which "auto" render mode draws a density image
DENSITY_THRESHOLD = 200_000
#: most selected/matched points drawn individually (the selection itself is never capped)
HIGHLIGHT_CAP = 200_000
_Z = {"density": -10, "links": 5, "search": 8, "selection": 10, "hover": 12, "tool": 20}
_DENSITY_LUT = pg.ColorMap([0.0, 0.15, 1.0], [(255, 255, 255, 0), (158, 202, 225, 255), (8, 48, 107, 255)])


#: categorical palette (Tableau 20 order: saturated first), then grey for "other"
PALETTE = [QColor(c) for c in (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
    "#dbdb8d", "#9edae5")]
OTHER_COLOR = QColor("#bdbdbd")
CONTINUOUS_BINS = 16


class UniformScatterItem(pg.ScatterPlotItem):
    """A scatter whose points all share one style (one colour group).

    pyqtgraph looks a style up in its symbol atlas with a Python loop over every
    point (~0.5 s per 100k points, on each colour change); when all points share
    one style a single lookup serves them all.
    """

    def updateSpots(self, dataSet=None) -> None:  # noqa: N802, N803 - pyqtgraph override
        data = self.data if dataSet is None else dataSet
        if not (self.opts["pxMode"] and self.opts["useCache"]) or len(data) == 0:
            super().updateSpots(dataSet)
            return
        stale = data["sourceRect"]["w"] == 0
        if np.any(stale):
            first = int(np.flatnonzero(stale)[0])
            style = next(zip(*self._style(["symbol", "size", "pen", "brush"], data=data, idx=slice(first, first + 1))))
            data["sourceRect"][stale] = self.fragmentAtlas[[style]][0]
            self._maybeRebuildAtlas()
            self.invalidate()
        self._updateMaxSpotSizes(data=data)


@dataclass(frozen=True)
class ColorGroup:
    """Rows drawn in one colour; ``name`` goes in the legend, higher ``z`` on top."""

    name: str
    rows: np.ndarray
    color: QColor
    z: float = 0.0


def categorical_groups(values: np.ndarray, max_categories: int = len(PALETTE)) -> list[ColorGroup]:
    """One group per category, largest first; beyond ``max_categories`` one grey "other".

    Smaller categories are drawn on top of larger ones so they stay visible.
    """
    names, inverse, counts = np.unique(np.asarray(values).astype(str), return_inverse=True, return_counts=True)
    per_code = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    order = np.argsort(-counts, kind="stable")
    groups = [ColorGroup(str(names[code]), per_code[code], PALETTE[rank % len(PALETTE)], float(rank))
              for rank, code in enumerate(order[:max_categories])]
    rest = order[max_categories:]
    if rest.size:
        rows = np.sort(np.concatenate([per_code[code] for code in rest]))
        groups.append(ColorGroup(f"other ({rest.size} categories)", rows, OTHER_COLOR, -1.0))
    return groups


def continuous_groups(values: np.ndarray, cmap: pg.ColorMap) -> tuple[list[ColorGroup], tuple[float, float]]:
    """Bin values into ``CONTINUOUS_BINS`` colours between the 1st and 99th percentile.

    Returns the groups (NaN rows in a grey "missing" group) and the colour range.
    """
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    if not finite.any():
        return [ColorGroup("missing", np.flatnonzero(~finite), OTHER_COLOR, -1.0)], (0.0, 1.0)
    lo, hi = np.percentile(v[finite], [1, 99])
    if hi <= lo:
        lo, hi = float(v[finite].min()), float(v[finite].max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    scaled = np.clip((np.where(finite, v, lo) - lo) / (hi - lo) * CONTINUOUS_BINS, 0, CONTINUOUS_BINS - 1)
    bins = scaled.astype(np.int64)
    colors = cmap.map((np.arange(CONTINUOUS_BINS) + 0.5) / CONTINUOUS_BINS, mode="qcolor")
    groups = [ColorGroup(f"bin {b}", np.flatnonzero(finite & (bins == b)), colors[b], float(b))
              for b in range(CONTINUOUS_BINS)]
    groups = [g for g in groups if g.rows.size]
    if not finite.all():
        groups.insert(0, ColorGroup("missing", np.flatnonzero(~finite), OTHER_COLOR, -1.0))
    return groups, (float(lo), float(hi))


class MapViewBox(pg.ViewBox):
    """ViewBox with lasso (Shift+drag) and box (Ctrl+drag) picking.

    ``tool`` ("pan", "lasso", "box") picks the plain-drag behaviour.
    """

    sig_lasso_finished = Signal(object)  # (m, 2) polygon, data coords
    sig_box_finished = Signal(object, object)  # two corners, data coords
    sig_clicked = Signal(object)  # QPointF, data coords
    sig_menu_requested = Signal(object)  # QPoint, screen coords

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.tool = "pan"
        self._path: list[tuple[float, float]] = []
        self._lasso = pg.PlotCurveItem(pen=pg.mkPen("#d62728", width=1.5, style=Qt.DashLine))
        self._box = QGraphicsRectItem()
        self._box.setPen(pg.mkPen("#d62728", width=1.5, style=Qt.DashLine, cosmetic=True))
        self._box.setBrush(pg.mkBrush(214, 39, 40, 30))
        for item in (self._lasso, self._box):
            item.setZValue(_Z["tool"])
            item.setVisible(False)
            self.addItem(item, ignoreBounds=True)

    def drag_mode(self, modifiers: Qt.KeyboardModifier) -> str:
        if modifiers & Qt.ShiftModifier:
            return "lasso"
        if modifiers & Qt.ControlModifier:
            return "box"
        return self.tool

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - Qt override
        mode = self.drag_mode(ev.modifiers())
        if ev.button() != Qt.LeftButton or mode == "pan":
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start = self.mapSceneToView(ev.buttonDownScenePos())
        here = self.mapSceneToView(ev.scenePos())
        if mode == "lasso":
            if ev.isStart():
                self._path = [(start.x(), start.y())]
            self._path.append((here.x(), here.y()))
            path = np.asarray(self._path + self._path[:1])
            self._lasso.setData(path[:, 0], path[:, 1])
            self._lasso.setVisible(not ev.isFinish())
            if ev.isFinish():
                self.sig_lasso_finished.emit(np.asarray(self._path))
        else:
            self._box.setRect(QRectF(start, here).normalized())
            self._box.setVisible(not ev.isFinish())
            if ev.isFinish():
                self.sig_box_finished.emit((start.x(), start.y()), (here.x(), here.y()))

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - Qt override
        if ev.button() == Qt.LeftButton:
            ev.accept()
            self.sig_clicked.emit(self.mapSceneToView(ev.scenePos()))
        elif ev.button() == Qt.RightButton:
            ev.accept()
            self.sig_menu_requested.emit(ev.screenPos().toPoint())


class ScatterView(pg.GraphicsLayoutWidget):
    """Scatter of (n, 2) coordinates in colour groups, with overlay layers.

    Signals carry row numbers of the full coordinate array.
    """

    sig_picked = Signal(object)  # rows chosen by click, lasso or box
    sig_hovered = Signal(int, object)  # row (-1: none), QPointF widget position
    sig_menu_requested = Signal(object)  # QPoint, screen coords

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.vb = MapViewBox()
        self.plot_item: pg.PlotItem = self.addPlot(viewBox=self.vb)
        self.plot_item.setAspectLocked(True)
        self.plot_item.hideButtons()
        for name in ("left", "bottom"):
            self.plot_item.hideAxis(name)  # map coordinates carry no units
        self.xy = np.empty((0, 2), dtype=np.float32)
        self._tree = None
        self._hover_row = -1
        self._groups: list[pg.ScatterPlotItem] = []
        self._group_colors: list[QColor] = []
        self._brushes: dict[tuple[int, int, int, int], object] = {}
        self._no_pen = pg.mkPen(None)
        self.point_size = 5.0
        self.opacity = 0.8
        self.render_mode = "auto"
        self.density_active = False
        self._density = pg.ImageItem()
        self._density.setLookupTable(_DENSITY_LUT.getLookupTable(nPts=256, alpha=True))
        self._links = pg.PlotCurveItem(pen=pg.mkPen("#444", width=1), connect="pairs")
        self._search = pg.ScatterPlotItem(pxMode=True, brush=pg.mkBrush(None), pen=pg.mkPen("#ff7f0e", width=2))
        self._selected = pg.ScatterPlotItem(pxMode=True, brush=pg.mkBrush("#111"), pen=pg.mkPen("w", width=1))
        self._hover = pg.ScatterPlotItem(pxMode=True, size=14, brush=pg.mkBrush(None), pen=pg.mkPen("k", width=2))
        for name, item in (("density", self._density), ("links", self._links), ("search", self._search),
                           ("selection", self._selected), ("hover", self._hover)):
            item.setZValue(_Z[name])
            self.plot_item.addItem(item, ignoreBounds=True)
        self._range_timer = QTimer(self, singleShot=True, interval=80, timeout=self._update_density)
        self.vb.sigRangeChanged.connect(lambda *_: self._range_timer.start())
        self.vb.sig_lasso_finished.connect(lambda poly: self.sig_picked.emit(points_in_polygon(self.xy, poly)))
        self.vb.sig_box_finished.connect(lambda a, b: self.sig_picked.emit(points_in_rect(self.xy, a, b)))
        self.vb.sig_clicked.connect(self._on_view_clicked)
        self.vb.sig_menu_requested.connect(self.sig_menu_requested)
        self._hover_proxy = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=30, slot=self._on_scene_moved)

    # ------------------------------------------------------------ data layers

    def set_coords(self, xy: np.ndarray, autorange: bool) -> None:
        """New layout; keeps the user's view unless ``autorange``."""
        self.xy = np.asarray(xy, dtype=np.float32)
        self._tree = None
        if autorange:
            self.vb.enableAutoRange()
        self._set_hover(-1, QPoint())

    def set_groups(self, groups: list[ColorGroup]) -> None:
        """One scatter item per group, in order (later groups drawn on top)."""
        while len(self._groups) > len(groups):
            self.plot_item.removeItem(self._groups.pop())
        while len(self._groups) < len(groups):
            item = UniformScatterItem(pxMode=True, pen=self._no_pen, symbol="o")
            self.plot_item.addItem(item)
            self._groups.append(item)
        self._group_colors = [g.color for g in groups]
        for item, group in zip(self._groups, groups):
            rows = group.rows[np.isfinite(self.xy[group.rows]).all(axis=1)] if len(self.xy) else group.rows[:0]
            item.setData(x=self.xy[rows, 0], y=self.xy[rows, 1], size=self.point_size,
                         pen=self._no_pen, brush=self._brush(group.color))
            item.setZValue(group.z * 1e-3)
            item.setVisible(not self.density_active)
        self._range_timer.start()

    @property
    def group_items(self) -> list[pg.ScatterPlotItem]:
        return list(self._groups)

    def set_point_style(self, size: float, opacity: float) -> None:
        """Point size (px) and opacity (0–1) of every group."""
        self.point_size, self.opacity = float(size), float(opacity)
        for item, color in zip(self._groups, self._group_colors):
            item.setSize(self.point_size)
            item.setBrush(self._brush(color))
        self._selected.setSize(self.point_size + 3)
        self._search.setSize(self.point_size + 6)

    def set_highlight(self, layer: str, rows: np.ndarray) -> int:
        """Draw ``rows`` in the "selection" or "search" layer; returns rows drawn."""
        item = self._selected if layer == "selection" else self._search
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[(rows >= 0) & (rows < len(self.xy))]
        if rows.size > HIGHLIGHT_CAP:
            rows = np.sort(np.random.default_rng(0).choice(rows, HIGHLIGHT_CAP, replace=False))
        item.setData(x=self.xy[rows, 0], y=self.xy[rows, 1],
                     size=self.point_size + (3 if layer == "selection" else 6))
        return int(rows.size)

    def set_links(self, source: int, targets: np.ndarray) -> None:
        """Line segments from ``source`` to each target (empty: none)."""
        targets = np.asarray(targets, dtype=np.int64)
        targets = targets[(targets >= 0) & (targets < len(self.xy))]
        if source < 0 or source >= len(self.xy) or targets.size == 0:
            self._links.setData([], [])
            return
        pairs = np.empty((2 * targets.size, 2), dtype=np.float32)
        pairs[0::2] = self.xy[source]
        pairs[1::2] = self.xy[targets]
        self._links.setData(pairs[:, 0], pairs[:, 1], connect="pairs")

    def set_render_mode(self, mode: str) -> None:
        """"auto" (density above ``DENSITY_THRESHOLD`` visible points), "points" or "density"."""
        self.render_mode = mode
        self._update_density()

    def reset_view(self) -> None:
        self.vb.enableAutoRange()
        self.vb.autoRange(items=self._groups or None)

    # ---------------------------------------------------------------- picking

    def nearest(self, pos: QPointF, max_px: float = 8.0) -> int:
        """Row nearest to ``pos`` (data coords) within ``max_px`` screen pixels, or -1."""
        if len(self.xy) == 0:
            return -1
        if self._tree is None:
            from scipy.spatial import cKDTree

            finite = np.isfinite(self.xy).all(axis=1)
            self._tree = (cKDTree(self.xy[finite]), np.flatnonzero(finite))
        tree, rows = self._tree
        if not rows.size:
            return -1
        pixel = self.vb.viewPixelSize()
        dist, index = tree.query([pos.x(), pos.y()], distance_upper_bound=max_px * max(pixel))
        return int(rows[index]) if np.isfinite(dist) else -1

    def _on_view_clicked(self, pos: QPointF) -> None:
        row = self.nearest(pos)
        self.sig_picked.emit(np.array([row] if row >= 0 else [], dtype=np.int64))

    def _on_scene_moved(self, event) -> None:
        scene_pos = event[0]
        row = -1
        if self.plot_item.sceneBoundingRect().contains(scene_pos):
            row = self.nearest(self.vb.mapSceneToView(scene_pos))
        self._set_hover(row, self.mapFromScene(scene_pos))

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._set_hover(-1, QPoint())
        super().leaveEvent(event)

    def _set_hover(self, row: int, pos: QPoint) -> None:
        """Ring the hovered point; announce only changes (texts may come from disk)."""
        if row == self._hover_row:
            return
        self._hover_row = row
        if row >= 0:
            self._hover.setData(x=self.xy[row : row + 1, 0], y=self.xy[row : row + 1, 1])
        else:
            self._hover.setData([], [])
        self.sig_hovered.emit(row, pos)

    # ---------------------------------------------------------------- density

    def visible_count(self) -> int:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return int(points_in_rect(self.xy, (x0, y0), (x1, y1)).size) if len(self.xy) else 0

    def _update_density(self) -> None:
        if self.render_mode == "auto":
            active = self.visible_count() > DENSITY_THRESHOLD
        else:
            active = self.render_mode == "density"
        self.density_active = active and len(self.xy) > 0
        for item in self._groups:
            item.setVisible(not self.density_active)
        self._density.setVisible(self.density_active)
        if not self.density_active:
            return
        (x0, x1), (y0, y1) = self.vb.viewRange()
        bins = (max(16, int(self.vb.width() / 2)), max(16, int(self.vb.height() / 2)))
        finite = self.xy[np.isfinite(self.xy).all(axis=1)]
        counts, _, _ = np.histogram2d(finite[:, 0], finite[:, 1], bins=bins, range=[[x0, x1], [y0, y1]])
        self._density.setImage(np.log1p(counts), autoLevels=True)
        self._density.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))

    def _brush(self, color: QColor):
        key = (color.red(), color.green(), color.blue(), int(round(self.opacity * 255)))
        if key not in self._brushes:
            self._brushes[key] = pg.mkBrush(*key)
        return self._brushes[key]
