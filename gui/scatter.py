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
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QWidget

from core.category_colours import CategoryColours
from gui.selection_geometry import points_in_polygon, points_in_rect

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
#: rows without a value: their legend name and colour
MISSING, MISSING_COLOR = "(missing)", QColor("#e3e3e3")
CONTINUOUS_BINS = 16


class PassiveScatterItem(pg.ScatterPlotItem):
    """A scatter layer that never takes a click: picking is the view box's job.

    pyqtgraph's own ``mouseClickEvent`` accepts any click on a drawn point (after a
    Python search of every point), so the view box never saw clicks on points.
    """

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph override
        ev.ignore()


class UniformScatterItem(PassiveScatterItem):
    """A scatter whose points all share one style (one colour group).

    pyqtgraph looks a style up in its symbol atlas with a Python loop over every
    point (~0.5 s per 100k points, on each colour change); when all points share
    one style a single lookup serves them all. Its ``setData`` also fills each
    point's record (five object fields) one by one, 0.7 s per 1M points: the
    view hands it ready records instead (:meth:`set_records`).
    """

    def blank_records(self, n: int) -> np.ndarray:
        """``n`` point records in the default style (None / -1: "the item's own"), at (0, 0)."""
        template = np.zeros(1, dtype=self.data.dtype)
        for field in ("symbol", "pen", "brush", "data", "item"):
            template[field] = None
        template["size"], template["visible"] = -1, True
        return np.repeat(template, n)

    def set_records(self, data: np.ndarray, brush: QBrush) -> None:
        """Draw these records (from :meth:`blank_records`, perhaps a slice shared with other items) in ``brush``.

        Only ``data`` is written to: the records this item drew before may be another item's now.
        """
        self.data = data
        self.setBrush(brush, update=False)  # also marks every record's symbol as stale
        self.prepareGeometryChange()
        self.informViewBoundsChanged()
        self.bounds = [None, None]
        self.updateSpots(data)
        self.sigPlotChanged.emit(self)

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


class DensityBinner:
    """Counts of points per cell of a view rectangle, for the density image.

    One pass of float32 arithmetic and ``np.bincount`` into buffers kept
    between calls (``np.histogram2d`` bins with a binary search per point:
    ~190 ms per 1M points, this ~12 ms). NaN coordinates fall outside every view.
    """

    def __init__(self, xy: np.ndarray) -> None:
        self.x = np.ascontiguousarray(xy[:, 0], dtype=np.float32)
        self.y = np.ascontiguousarray(xy[:, 1], dtype=np.float32)
        self._fx, self._fy = np.empty_like(self.x), np.empty_like(self.y)
        self._inside = np.empty(len(self.x), dtype=bool)
        self._scratch = np.empty(len(self.x), dtype=bool)
        self._cell, self._iy = np.empty(len(self.x), dtype=np.int32), np.empty(len(self.x), dtype=np.int32)

    def counts(self, x_range: tuple[float, float], y_range: tuple[float, float], shape: tuple[int, int]) -> np.ndarray:
        """(w, h) int64 counts: cell (i, j) holds points with x in the i-th of w equal steps, y in the j-th."""
        (x0, x1), (y0, y1), (w, h) = x_range, y_range, shape
        if len(self.x) == 0 or x1 <= x0 or y1 <= y0:
            return np.zeros(shape, dtype=np.int64)
        fx, fy, inside, scratch, cell, iy = self._fx, self._fy, self._inside, self._scratch, self._cell, self._iy
        np.multiply(np.subtract(self.x, np.float32(x0), out=fx), np.float32(w / (x1 - x0)), out=fx)
        np.multiply(np.subtract(self.y, np.float32(y0), out=fy), np.float32(h / (y1 - y0)), out=fy)
        np.greater_equal(fx, 0, out=inside)
        inside &= np.less(fx, w, out=scratch)
        inside &= np.greater_equal(fy, 0, out=scratch)
        inside &= np.less(fy, h, out=scratch)
        with np.errstate(invalid="ignore"):  # NaN and far-off points cast to garbage, masked out below
            np.copyto(cell, fx, casting="unsafe")
            np.copyto(iy, fy, casting="unsafe")
        cell *= h
        cell += iy
        return np.bincount(cell[inside], minlength=w * h).reshape(w, h)


@dataclass(frozen=True)
class ColorGroup:
    """Rows drawn in one colour; ``name`` goes in the legend, higher ``z`` on top."""

    name: str
    rows: np.ndarray
    color: QColor
    z: float = 0.0


def category_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values (as str) and each row's index into them.

    Same answer as ``np.unique(values.astype(str), return_inverse=True)``, but
    sorts one 32-bit hash per row instead of the strings (1M labels: ~0.06 s
    instead of 0.35 s); a hash collision, checked for, falls back to the sort.
    """
    v = np.ascontiguousarray(values if np.asarray(values).dtype.kind == "U" else np.asarray(values).astype(str))
    if v.size == 0 or v.dtype.itemsize == 0:
        return np.unique(v, return_inverse=True)
    chars = v.view(np.uint32).reshape(v.size, -1)
    weights = np.arange(1, chars.shape[1] + 1, dtype=np.uint32) * np.uint32(2654435761) | np.uint32(1)
    keys, inverse = np.unique(chars @ weights, return_inverse=True)  # uint32 arithmetic wraps: a hash
    first = np.empty(keys.size, dtype=np.intp)
    first[inverse[::-1]] = np.arange(v.size - 1, -1, -1)
    names = v[first]
    if not np.array_equal(names[inverse], v):
        return np.unique(v, return_inverse=True)
    order = np.argsort(names)
    rank = np.empty(keys.size, dtype=np.intp)
    rank[order] = np.arange(keys.size)
    return names[order], rank[inverse]


def rows_by_code(codes: np.ndarray, n_codes: int) -> list[np.ndarray]:
    """Ascending row numbers holding each code ``0 .. n_codes - 1``.

    One stable sort (a radix sort for codes that fit 16 bits), no pass per code.
    """
    small = np.uint8 if n_codes <= 256 else np.uint16 if n_codes <= 65536 else np.intp
    order = np.argsort(np.asarray(codes).astype(small, copy=False), kind="stable")
    return np.split(order, np.cumsum(np.bincount(codes, minlength=n_codes))[:-1])


def categorical_groups(values: np.ndarray, max_categories: int = len(PALETTE),
                       colours: CategoryColours | None = None, column: str = "") -> list[ColorGroup]:
    """One group per category, largest first; beyond ``max_categories`` one grey "other";
    empty values in a light grey "(missing)" group, drawn lowest.

    Colours come from ``colours`` (slots remembered per ``column``, so a value keeps its
    colour across runs); without it, by size. Smaller categories are drawn on top of
    larger ones so they stay visible.
    """
    names, codes = category_codes(values)
    counts = np.bincount(codes, minlength=names.size)
    missing = np.flatnonzero(names == "")
    present = np.setdiff1d(np.arange(names.size), missing)
    order = present[np.lexsort((names[present], -counts[present]))]
    shown = order[:max_categories]
    slots = (colours.slots(column, [str(names[c]) for c in shown], len(PALETTE)) if colours is not None
             else list(range(shown.size)))
    rank = np.full(names.size, max_categories, dtype=np.intp)  # category -> group; "other" last
    rank[shown] = np.arange(shown.size)
    rank[missing] = max_categories + 1
    per_group = rows_by_code(rank[codes], max_categories + 2)
    groups = [ColorGroup(str(names[code]), per_group[i], PALETTE[slot % len(PALETTE)], float(i))
              for i, (code, slot) in enumerate(zip(shown, slots))]
    if order.size > max_categories:
        groups.append(ColorGroup(f"other ({order.size - max_categories} categories)", per_group[max_categories],
                                 OTHER_COLOR, -1.0))
    if missing.size:
        groups.append(ColorGroup(MISSING, per_group[max_categories + 1], MISSING_COLOR, -2.0))
    return groups


@dataclass(frozen=True)
class ColourScale:
    """The range a measure's colours span, and what falls outside it (shown on the colour bar)."""

    lo: float
    hi: float
    vmin: float  # smallest and largest finite value
    vmax: float
    below: int  # rows drawn in the lowest colour though smaller than ``lo``
    above: int  # rows drawn in the highest colour though larger than ``hi``
    missing: int = 0  # NaN rows, drawn in ``MISSING_COLOR``

    @property
    def levels(self) -> tuple[float, float]:
        return self.lo, self.hi


def continuous_groups(values: np.ndarray, cmap: pg.ColorMap) -> tuple[list[ColorGroup], ColourScale]:
    """Bin values into ``CONTINUOUS_BINS`` colours between the 1st and 99th percentile
    (whole numbers for integer measures such as N_k).

    Returns the groups (NaN rows in a "(missing)" group) and the scale, which counts
    the rows clipped at either end so a colour bar can say so.
    """
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    if not finite.any():
        return [ColorGroup(MISSING, np.flatnonzero(~finite), MISSING_COLOR, -1.0)], ColourScale(0, 1, 0, 1, 0, 0, v.size)
    vmin, vmax = float(v[finite].min()), float(v[finite].max())
    lo, hi = (float(x) for x in np.percentile(v[finite], [1, 99]))
    if np.all(v[finite] == np.round(v[finite])):
        lo, hi = float(np.floor(lo)), float(np.ceil(hi))
    if hi <= lo:
        lo, hi = vmin, vmax
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    scaled = np.clip((np.where(finite, v, lo) - lo) / (hi - lo) * CONTINUOUS_BINS, 0, CONTINUOUS_BINS - 1)
    bins = np.where(finite, scaled.astype(np.intp), CONTINUOUS_BINS)  # the last code: missing
    per_bin = rows_by_code(bins, CONTINUOUS_BINS + 1)
    colors = cmap.map((np.arange(CONTINUOUS_BINS) + 0.5) / CONTINUOUS_BINS, mode="qcolor")
    groups = [ColorGroup(f"bin {b}", per_bin[b], colors[b], float(b))
              for b in range(CONTINUOUS_BINS) if per_bin[b].size]
    if per_bin[-1].size:
        groups.insert(0, ColorGroup(MISSING, per_bin[-1], MISSING_COLOR, -1.0))
    scale = ColourScale(lo, hi, vmin, vmax, int(np.sum(v[finite] < lo)), int(np.sum(v[finite] > hi)),
                        int(per_bin[-1].size))
    return groups, scale


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
        self._finite = np.ones(0, dtype=bool)
        self._binner = DensityBinner(self.xy)
        self._density_key: tuple | None = None  # (view range, image shape) the density image shows
        self._density_total = 0  # points in that view
        self._tree = None
        self._hover_row = -1
        self._groups: list[UniformScatterItem] = []
        self._records: np.ndarray | None = None  # every item's points, one slice each
        self._group_colors: list[QColor] = []
        self._brushes: dict[tuple[int, int, int, int], object] = {}
        self._no_pen = pg.mkPen(None)
        self.point_size = 5.0
        self.opacity = 0.8
        self.render_mode = "auto"
        self.density_active = False
        self.key: pg.GraphicsWidget | None = None  # legend or colour bar beside the plot
        self._density = pg.ImageItem()
        self._density.setLookupTable(_DENSITY_LUT.getLookupTable(nPts=256, alpha=True))
        self._links = pg.PlotCurveItem(pen=pg.mkPen("#444", width=1), connect="pairs")
        self._search = PassiveScatterItem(pxMode=True, brush=pg.mkBrush(None), pen=pg.mkPen("#ff7f0e", width=2))
        self._selected = PassiveScatterItem(pxMode=True, brush=pg.mkBrush("#111"), pen=pg.mkPen("w", width=1))
        self._hover = PassiveScatterItem(pxMode=True, size=14, brush=pg.mkBrush(None), pen=pg.mkPen("k", width=2))
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

    def close(self) -> None:
        """pyqtgraph's close deletes the items: no density refresh may run after it."""
        self._range_timer.stop()
        super().close()

    # ------------------------------------------------------------ data layers

    def set_coords(self, xy: np.ndarray, autorange: bool) -> None:
        """New layout; keeps the user's view unless ``autorange``."""
        self.xy = np.asarray(xy, dtype=np.float32)
        self._finite = np.isfinite(self.xy).all(axis=1)
        self._binner = DensityBinner(self.xy)
        self._density_key = None
        self._records = None
        self._tree = None
        self._range_timer.start()
        if autorange:
            self.vb.enableAutoRange()
        self._set_hover(-1, QPoint())

    def set_groups(self, groups: list[ColorGroup]) -> None:
        """One scatter item per group, in order (later groups drawn on top).

        The items' points are consecutive slices of one record array, reused
        while the coordinates stay: a recolour only rewrites x, y and styles.
        """
        while len(self._groups) > len(groups):
            self.plot_item.removeItem(self._groups.pop())
        while len(self._groups) < len(groups):
            item = UniformScatterItem(pxMode=True, pen=self._no_pen, symbol="o", size=self.point_size)
            self.plot_item.addItem(item)
            self._groups.append(item)
        self._group_colors = [g.color for g in groups]
        if not groups:
            return
        rows = [g.rows[self._finite[g.rows]] if len(self.xy) else g.rows[:0] for g in groups]
        order = np.concatenate(rows)
        if self._records is None or len(self._records) < order.size:
            self._records = self._groups[0].blank_records(max(order.size, len(self.xy)))
        self._records["x"][: order.size] = self._binner.x[order]
        self._records["y"][: order.size] = self._binner.y[order]
        bounds = np.cumsum([0] + [r.size for r in rows])
        for item, group, start, stop in zip(self._groups, groups, bounds[:-1], bounds[1:]):
            item.set_records(self._records[start:stop], self._brush(group.color))
            item.setZValue(group.z * 1e-3)
            item.setVisible(not self.density_active)

    def overlays(self) -> dict[str, tuple[QGraphicsItem, bool]]:
        """What a figure may leave out, each with whether it goes in unless unticked: the legend or
        colour bar does; the selection, search hits, neighbour lines and pointer ring only when asked."""
        items: dict[str, tuple[QGraphicsItem, bool]] = {} if self.key is None else {"Legend / colour bar": (self.key, True)}
        return {**items, "Selection": (self._selected, False), "Search hits": (self._search, False),
                "Neighbour lines": (self._links, False), "Pointer ring": (self._hover, False)}

    def set_key(self, key: pg.GraphicsWidget | None) -> None:
        """Put a legend or colour bar right of the plot (inside exported figures); None removes it."""
        layout = self.plot_item.layout
        if self.key is not None and self.key is not key:
            layout.removeItem(self.key)
            self.key.setParentItem(None)
            self.scene().removeItem(self.key)
        if key is not None and self.key is not key:
            layout.addItem(key, 2, 3)
            layout.setAlignment(key, Qt.AlignTop | Qt.AlignLeft)
        self.key = key

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
        if rows.size == 0 and len(item.data) == 0:
            return 0  # nothing before, nothing now: every map update would otherwise rebuild two empty items
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
        """Points inside the view rectangle."""
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return int(self._binner.counts((x0, x1), (y0, y1), (1, 1)).sum())

    def _update_density(self) -> None:
        """Show the density image when the mode asks for it; re-bin only when the view or data changed.

        Runs once, 80 ms after the view stops moving (``_range_timer``); mid-drag
        frames move the last image with the view.
        """
        active = False
        if self.render_mode != "points" and len(self.xy):
            (x0, x1), (y0, y1) = self.vb.viewRange()
            shape = (max(16, int(self.vb.width() / 2)), max(16, int(self.vb.height() / 2)))
            key = (x0, x1, y0, y1, shape)
            if key != self._density_key:
                counts = self._binner.counts((x0, x1), (y0, y1), shape)
                self._density_key, self._density_total = key, int(counts.sum())
                image = np.log1p(counts, dtype=np.float32)
                self._density.setImage(image, autoLevels=False, levels=(0.0, max(float(image.max()), 1e-6)))
                self._density.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            active = self.render_mode == "density" or self._density_total > DENSITY_THRESHOLD
        self.density_active = active
        for item in self._groups:
            item.setVisible(not active)
        self._density.setVisible(active)

    def _brush(self, color: QColor):
        key = (color.red(), color.green(), color.blue(), int(round(self.opacity * 255)))
        if key not in self._brushes:
            self._brushes[key] = pg.mkBrush(*key)
        return self._brushes[key]
