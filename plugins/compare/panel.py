"""Compare panel: two embedding spaces side by side (CKA, neighbour overlap, measures,
documents whose neighbours change most, Procrustes-aligned maps with linked
selection), and the collections in view against each other."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.anisotropy import SCORES
from core.hubness import MEASURES as HUBNESS_MEASURES
from gui.colour_keys import ColourBar
from gui.panel_base import PanelContext, PluginPanel
from plugins.compare.analysis import CompareParams, CompareResult, SpaceMeasures, SpacePair
from gui.plain_widgets import ElidedLabel, compact_combo, elide, fill_table, plain_label, read_only_table, table_item, text_item
from gui.plot_widgets import bars, themed_plot
from gui.scatter import ScatterView, categorical_groups, continuous_groups

CHANGED_SHOWN = 100
TIPS = {
    "cka": "Linear CKA of the two spaces on the documents in both: 1 = the same geometry up to rotation and "
    "scale, near 0 = unrelated (Kornblith et al., ICML 2019).",
    "overlap": "Jaccard overlap of a document's k nearest neighbours in the two spaces, averaged over documents: "
    "1 = the same neighbours (mutual kNN agreement, Huh et al., ICML 2024).",
    "disparity": "Residual after rotating, reflecting and scaling the second map onto the first: 0 = the same "
    "shape (orthogonal Procrustes, Schönemann 1966).",
    "layout": "The second map is a PCA projection (instant) or a UMAP layout (McInnes et al. 2018; up to "
    "20,000 documents), aligned onto the first by Procrustes.",
    "centroid": "Cosine similarity of the collections' mean unit vectors: how close the collections sit in "
    "this space (cosine as in Salton & McGill 1983).",
    "mixing": "Share of each collection's k nearest neighbours that belong to another collection, beside the "
    "share expected if neighbours were drawn at random (batch mixing, Haghverdi et al. 2018; kBET, Büttner et "
    "al. 2019).",
    "collection_measures": "Hubness and anisotropy of each collection on its own (its own kNN graph).",
}
OVERLAY_TITLES = {"overlap": "Colour: kNN overlap", "collection": "Colour: collection"}
LAYOUT_TITLES = {"auto": "Layout: auto", "pca": "Layout: PCA (fast)", "umap": "Layout: UMAP"}
_ANISOTROPY = {key: (label, f"{meaning}; {source}.") for key, label, _, meaning, source in SCORES}
#: rows of the measures tables: (key, label, tooltip, getter)
MEASURE_ROWS = [
    *[(key, label, tip, lambda m, key=key: getattr(m.hubness, key)) for key, (label, _, tip) in HUBNESS_MEASURES.items()],
    *[(key, *_ANISOTROPY[key], lambda m, key=key: getattr(m, key)) for key in ("mean_cosine", "isoscore", "effective_rank")],
]


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, (float, np.floating)) else value


def _measure_table(measures: list[SpaceMeasures | None]) -> list[list]:
    """One row per measure, one column per space ("—" where a space has too few documents)."""
    return [[table_item(label)] + [table_item(_number(get(m)) if m is not None else "—") for m in measures]
            for _, label, _, get in MEASURE_ROWS]


class _MapView(QWidget):
    """One titled map with a plain-text hover label."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = ElidedLabel("", tip=TIPS["layout"])
        self.scatter = ScatterView(self)
        self.scatter.setMinimumSize(160, 160)
        layout.addWidget(self.title)
        layout.addWidget(self.scatter, 1)
        self.hover = QLabel(self.scatter)
        self.hover.setTextFormat(Qt.PlainText)
        self.hover.setWordWrap(True)
        self.hover.setMaximumWidth(280)
        self.hover.setStyleSheet("background: rgba(255,255,255,235); border: 1px solid #999; padding: 3px;")
        self.hover.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.hover.hide()


class ComparePanel(PluginPanel):
    """The current space against another one, and collections against each other."""

    def __init__(self, context: PanelContext, params: CompareParams, parent: QWidget | None = None) -> None:
        super().__init__(context, params, parent)
        self.result: CompareResult | None = None
        self.pair: SpacePair | None = None
        self._changed = np.empty(0, dtype=np.int64)
        self._shown_row: int | None = None
        self.body.addLayout(self._build_controls())
        summary = QHBoxLayout()
        self.cka_label = plain_label("", TIPS["cka"])
        self.overlap_label = ElidedLabel("", max_lines=2, tip=TIPS["overlap"])
        summary.addWidget(self.cka_label)
        summary.addWidget(self.overlap_label, 1)
        self.body.addLayout(summary)
        self.note = ElidedLabel("", max_lines=3)
        self.body.addWidget(self.note)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_spaces_tab(), "Spaces")
        self.tabs.addTab(self._build_changed_tab(), "Changed neighbours")
        self.tabs.addTab(self._build_maps_tab(), "Maps")
        self.tabs.addTab(self._build_collections_tab(), "Collections")
        self.body.addWidget(self.tabs, 1)
        context.sig_selection_changed.connect(self._on_context_selection_changed)

    # ------------------------------------------------------------------ layout
    def _build_controls(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.other_box = compact_combo(QComboBox())
        self.other_box.setToolTip("The embedding space compared with the one in view (another model's vectors "
                                  "of the same documents)")
        self.other_box.currentIndexChanged.connect(self._on_other_changed)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 200)
        self.k_spin.setValue(self.params.k)
        self.k_spin.setPrefix("k = ")
        self.k_spin.setKeyboardTracking(False)
        self.k_spin.setToolTip("Neighbours per document for the overlap, hubness and mixing")
        self.k_spin.valueChanged.connect(self._on_k_changed)
        self.layout_box = compact_combo(QComboBox())
        for key, title in LAYOUT_TITLES.items():
            self.layout_box.addItem(title, key)
        self.layout_box.setCurrentIndex(self.layout_box.findData(self.params.layout))
        self.layout_box.setToolTip(TIPS["layout"])
        self.layout_box.currentIndexChanged.connect(self._on_layout_changed)
        bar.addWidget(plain_label("Compare with"))
        bar.addWidget(self.other_box, 1)
        bar.addWidget(self.k_spin)
        bar.addWidget(self.layout_box)
        return bar

    def _build_spaces_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 4, 2, 2)
        self.measures = read_only_table(["Measure", "Current", "Other"], ["", "", ""], text_column=0)
        layout.addWidget(self.measures, 3)
        self.histogram = themed_plot("Documents by neighbours kept", "neighbours shared by both spaces (of k)",
                                     "documents", integer_x=True)
        self.histogram.setMinimumHeight(150)
        plot = self.histogram.getPlotItem()
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        self.histogram.setToolTip(TIPS["overlap"])
        self._bars = bars("#4c72b0")
        plot.addItem(self._bars)
        layout.addWidget(self.histogram, 2)
        return page

    def _build_changed_tab(self) -> QWidget:
        page = QSplitter(Qt.Vertical)
        self.changed = read_only_table(["Overlap", "Text"], [TIPS["overlap"], "Document text"], text_column=1)
        self.changed.cellClicked.connect(self._on_changed_clicked)
        self.changed.cellDoubleClicked.connect(lambda r, _c: self._select_changed(r))
        lists = QSplitter(Qt.Horizontal)
        self.list_a = read_only_table(["#", "Text", "Shared"], ["Rank (1 = nearest)", "Document text",
                                                       "Also a neighbour in the other space"], text_column=1)
        self.list_b = read_only_table(["#", "Text", "Shared"], ["Rank (1 = nearest)", "Document text",
                                                       "Also a neighbour in the current space"], text_column=1)
        self.list_titles: list[QLabel] = []
        for table in (self.list_a, self.list_b):
            box = QWidget()
            box_layout = QVBoxLayout(box)
            box_layout.setContentsMargins(0, 0, 0, 0)
            title = ElidedLabel("")
            self.list_titles.append(title)
            box_layout.addWidget(title)
            box_layout.addWidget(table)
            table.cellDoubleClicked.connect(lambda r, _c, t=table: self._select_from(t, r))
            lists.addWidget(box)
        self.source = ElidedLabel("Click a document to see its neighbours in both spaces.", max_lines=3)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.source)
        bottom_layout.addWidget(lists, 1)
        page.addWidget(self.changed)
        page.addWidget(bottom)
        return page

    def _build_maps_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 4, 2, 2)
        bar = QHBoxLayout()
        self.overlay_box = compact_combo(QComboBox())
        for key, title in OVERLAY_TITLES.items():
            self.overlay_box.addItem(title, key)
        self.overlay_box.setCurrentIndex(self.overlay_box.findData(self.params.map_overlay))
        self.overlay_box.setToolTip("Colour both maps by each document's neighbour overlap (dark = neighbours "
                                    "changed, yellow = kept) or by collection")
        self.overlay_box.currentIndexChanged.connect(self._on_overlay_changed)
        self.colour_button = QPushButton("Colour main map by overlap")
        self.colour_button.setToolTip(TIPS["overlap"])
        self.colour_button.clicked.connect(self._on_colour_clicked)
        self.disparity = ElidedLabel("", tip=TIPS["disparity"])
        bar.addWidget(self.overlay_box)
        bar.addWidget(self.colour_button)
        bar.addWidget(self.disparity, 1)
        layout.addLayout(bar)
        split = QSplitter(Qt.Horizontal)
        self.maps = (_MapView(split), _MapView(split))
        for index, view in enumerate(self.maps):
            split.addWidget(view)
            view.scatter.sig_picked.connect(self._on_map_picked)
            view.scatter.sig_hovered.connect(lambda row, pos, i=index: self._on_map_hovered(i, row, pos))
        self.colour_bar = ColourBar(pg.colormap.get("viridis"))
        split.setSizes([1, 1])
        layout.addWidget(split, 1)
        return page

    def _build_collections_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 4, 2, 2)
        self.collections_note = plain_label("Check two or more collections to compare them in this space.")
        self.collections_note.setWordWrap(True)
        layout.addWidget(self.collections_note)
        layout.addWidget(plain_label("Centroid cosine", TIPS["centroid"]))
        self.centroids = read_only_table(["Collection"], [TIPS["centroid"]], text_column=0)
        layout.addWidget(self.centroids, 1)
        layout.addWidget(plain_label("Neighbour mixing", TIPS["mixing"]))
        self.mixing = read_only_table(["Collection", "Documents", "From other collections", "If random"],
                             ["", "Documents in view", TIPS["mixing"], TIPS["mixing"]], text_column=0)
        layout.addWidget(self.mixing, 1)
        layout.addWidget(plain_label("Each collection on its own", TIPS["collection_measures"]))
        self.collection_measures = read_only_table(["Measure"], [TIPS["collection_measures"]], text_column=0)
        layout.addWidget(self.collection_measures, 2)
        return page

    # ------------------------------------------------------------------ results
    def show_result(self, result: CompareResult) -> None:
        self.show_status("")
        self.result, self.pair = result, result.pair
        self.other_box.blockSignals(True)
        self.other_box.clear()
        self.other_box.addItems(list(result.available))
        if result.pair is not None:
            self.other_box.setCurrentText(result.pair.name_b)
        self.other_box.blockSignals(False)
        self.note.setText(result.note)
        self.note.setVisible(bool(result.note))
        self._show_pair(result.pair)
        self._show_collections(result)
        if result.pair is None and result.collections is not None and self.tabs.currentIndex() == 0:
            self.tabs.setCurrentIndex(3)  # nothing to compare between spaces: show the collections

    def _show_pair(self, pair: SpacePair | None) -> None:
        self.colour_button.setEnabled(pair is not None)
        self.cka_label.setVisible(pair is not None)
        self.overlap_label.setVisible(pair is not None)
        if pair is None:
            for table in (self.measures, self.changed, self.list_a, self.list_b):
                table.setRowCount(0)
            self._bars.setOpts(x=[], height=[])
            for view in self.maps:
                view.scatter.set_coords(np.empty((0, 2), np.float32), autorange=True)
                view.scatter.set_groups([])
            self._changed = np.empty(0, dtype=np.int64)
            return
        self.cka_label.setText(f"CKA {pair.cka:.3f}")
        self.overlap_label.setText(f"kNN overlap (Jaccard, k = {pair.k}) {pair.overlap_mean:.3f} · "
                                   f"{pair.n:,} of {pair.n_total:,} documents in both spaces")
        self.measures.setHorizontalHeaderLabels(["Measure", pair.name_a, pair.name_b])
        rows = _measure_table([pair.measures_a, pair.measures_b])
        fill_table(self.measures, rows)
        for i, (_, _, tip, _) in enumerate(MEASURE_ROWS):
            self.measures.item(i, 0).setToolTip(tip)
        self._changed = pair.most_changed(CHANGED_SHOWN)
        texts = self.context.texts(pair.rows[self._changed])
        fill_table(self.changed, [[table_item(float(pair.overlap[p]), int(pair.rows[p])), text_item(t)]
                             for p, t in zip(self._changed, texts)])
        for view, coords, name, layout in ((self.maps[0], pair.coords_a, pair.name_a, pair.layout_a),
                                           (self.maps[1], pair.coords_b, pair.name_b, pair.layout_b)):
            view.title.setText(f"{name} — {layout}")
            view.scatter.set_coords(coords, autorange=True)
        self.disparity.setText(f"Procrustes disparity {pair.disparity:.3f}")
        shared = np.rint(2 * pair.k * pair.overlap / (1 + pair.overlap)).astype(np.int64)  # J = s / (2k − s)
        self._bars.setOpts(x=np.arange(pair.k + 1), height=np.bincount(shared, minlength=pair.k + 1))
        self.histogram.getPlotItem().enableAutoRange()
        self._recolour()
        selection = self.context.selection
        self._highlight(selection)
        self._show_lists(int(selection[0]) if selection.size else None)

    def _show_collections(self, result: CompareResult) -> None:
        mix = result.collections
        self.collections_note.setVisible(mix is None)
        if mix is None:
            for table in (self.centroids, self.mixing, self.collection_measures):
                table.setRowCount(0)
            return
        names = list(mix.names)
        self.centroids.setColumnCount(1 + len(names))
        self.centroids.setHorizontalHeaderLabels(["Collection", *names])
        fill_table(self.centroids, [[table_item(name)] + [table_item(float(v)) for v in row]
                               for name, row in zip(names, mix.centroid_cosine)])
        fill_table(self.mixing, [[table_item(name), table_item(int(size)), table_item(float(m)), table_item(float(e))]
                            for name, size, m, e in zip(names, mix.sizes, mix.mixing, mix.expected_mixing)])
        self.collection_measures.setColumnCount(1 + len(names))
        self.collection_measures.setHorizontalHeaderLabels(["Measure", *names])
        fill_table(self.collection_measures, _measure_table(list(mix.measures)))
        for i, (_, _, tip, _) in enumerate(MEASURE_ROWS):
            self.collection_measures.item(i, 0).setToolTip(tip)

    def _recolour(self) -> None:
        pair = self.pair
        if pair is None:
            return
        labels = self.context.labels.get("collection")
        if self.params.map_overlay == "collection" and labels is not None and len(labels) == pair.n_total:
            groups = categorical_groups(np.asarray(labels)[pair.rows], colours=self.context.colours, column="collection")
            self.maps[1].scatter.set_key(None)
        else:
            groups, scale = continuous_groups(pair.overlap, self.colour_bar.bar.colorMap())
            self.colour_bar.show_scale(f"kNN overlap (k = {pair.k})", scale)
            self.maps[1].scatter.set_key(self.colour_bar)  # one scale for both maps, beside the right one
        for view in self.maps:
            view.scatter.set_groups(groups)

    def _positions(self, rows: np.ndarray) -> np.ndarray:
        """Positions in the pair's rows of view rows ``rows`` (rows missing from the pair dropped)."""
        if self.pair is None:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(np.isin(self.pair.rows, np.asarray(rows, dtype=np.int64)))

    def _highlight(self, rows: np.ndarray) -> None:
        positions = self._positions(rows)
        for view in self.maps:
            view.scatter.set_highlight("selection", positions)

    def _show_lists(self, row: int | None) -> None:
        pair = self.pair
        position = self._positions([row])[:1] if row is not None else np.empty(0, np.int64)
        if pair is None or position.size == 0:
            self._shown_row = None
            self.list_a.setRowCount(0)
            self.list_b.setRowCount(0)
            return
        p = int(position[0])
        self._shown_row = int(pair.rows[p])
        own, *texts = self.context.texts(np.concatenate(([pair.rows[p]], pair.knn_a[p], pair.knn_b[p])))
        self.source.setText(f"Overlap {pair.overlap[p]:.2f}  —  {own}")
        for table, title, name, mine, theirs, mine_texts in (
            (self.list_a, self.list_titles[0], pair.name_a, pair.knn_a[p], pair.knn_b[p], texts[: pair.k]),
            (self.list_b, self.list_titles[1], pair.name_b, pair.knn_b[p], pair.knn_a[p], texts[pair.k :]),
        ):
            title.setText(f"Neighbours in {name}")
            fill_table(table, [[table_item(i + 1, int(nbr)), text_item(text), table_item("✓" if nbr in theirs else "")]
                          for i, (nbr, text) in enumerate(zip(mine, mine_texts))])

    # ------------------------------------------------------------------ slots
    def _on_other_changed(self, _index: int) -> None:
        name = self.other_box.currentText()
        if name and name != self.params.other:
            self.set_params(replace(self.params, other=name))

    def _on_k_changed(self, value: int) -> None:
        if value != self.params.k:
            self.set_params(replace(self.params, k=int(value)))

    def _on_layout_changed(self, index: int) -> None:
        layout = self.layout_box.itemData(index)
        if layout != self.params.layout:
            self.set_params(replace(self.params, layout=layout))

    def _on_overlay_changed(self, index: int) -> None:
        overlay = self.overlay_box.itemData(index)
        if overlay != self.params.map_overlay:
            self.set_params(replace(self.params, map_overlay=overlay))
            self._recolour()

    def _on_colour_clicked(self) -> None:
        if self.pair is not None:
            self.context.color_by(f"kNN overlap with {self.pair.name_b}", self.pair.overlap_by_row())

    def _on_changed_clicked(self, table_row: int, _column: int) -> None:
        item = self.changed.item(table_row, 0)
        if item is not None:
            self._show_lists(int(item.data(Qt.UserRole)))

    def _select_changed(self, table_row: int) -> None:
        self._select_from(self.changed, table_row)

    def _select_from(self, table: QTableWidget, table_row: int) -> None:
        item = table.item(table_row, 0)
        if item is not None:
            self.context.select([int(item.data(Qt.UserRole))])

    def _on_map_picked(self, positions: np.ndarray) -> None:
        if self.pair is not None:
            self.context.select(self.pair.rows[np.asarray(positions, dtype=np.int64)])

    def _on_map_hovered(self, index: int, position: int, pos: QPoint) -> None:
        view, other = self.maps[index], self.maps[1 - index]
        other.scatter.set_highlight("search", np.array([position] if position >= 0 else [], dtype=np.int64))
        if position < 0 or self.pair is None:
            view.hover.hide()
            return
        text = self.context.texts([int(self.pair.rows[position])])[0]
        view.hover.setText(f"{elide(text, 240)}\noverlap {self.pair.overlap[position]:.2f}")
        view.hover.adjustSize()
        x = min(pos.x() + 14, max(0, view.scatter.width() - view.hover.width()))
        y = min(pos.y() + 14, max(0, view.scatter.height() - view.hover.height()))
        view.hover.move(x, y)
        view.hover.show()

    def _on_context_selection_changed(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self._highlight(rows)
        self._show_lists(int(rows[0]) if rows.size else None)

    # ------------------------------------------------------------------ export
    def figure_items(self) -> dict[str, pg.PlotItem]:
        if self.pair is None:
            return {}
        return {f"map of {self.pair.name_b} (aligned)": self.maps[1].scatter.plot_item,
                f"map of {self.pair.name_a}": self.maps[0].scatter.plot_item,
                "neighbours kept": self.histogram.getPlotItem()}

    def table_rows(self) -> list[dict[str, Any]]:
        """Every number shown, one per row: table, row label, column label, value."""
        out: list[dict[str, Any]] = []
        pair, result = self.pair, self.result
        if pair is not None:
            out += [{"table": "spaces", "row": "linear CKA", "column": "", "value": pair.cka},
                    {"table": "spaces", "row": f"kNN overlap (k={pair.k})", "column": "", "value": pair.overlap_mean},
                    {"table": "spaces", "row": "documents in both", "column": "", "value": pair.n},
                    {"table": "spaces", "row": "Procrustes disparity", "column": "", "value": pair.disparity}]
            out += [{"table": "measures", "row": label, "column": name, "value": _number(get(m))}
                    for _, label, _, get in MEASURE_ROWS
                    for name, m in ((pair.name_a, pair.measures_a), (pair.name_b, pair.measures_b))]
            out += [{"table": "changed neighbours", "row": int(pair.rows[p]), "column": "overlap",
                     "value": float(pair.overlap[p])} for p in self._changed]
        mix = result.collections if result is not None else None
        if mix is not None:
            for i, name in enumerate(mix.names):
                out += [{"table": "centroid cosine", "row": name, "column": other, "value": float(mix.centroid_cosine[i, j])}
                        for j, other in enumerate(mix.names)]
                out += [{"table": "mixing", "row": name, "column": "from other collections", "value": float(mix.mixing[i])},
                        {"table": "mixing", "row": name, "column": "if random", "value": float(mix.expected_mixing[i])}]
                if mix.measures[i] is not None:
                    out += [{"table": "collection measures", "row": label, "column": name,
                             "value": _number(get(mix.measures[i]))} for _, label, _, get in MEASURE_ROWS]
        return out

    @classmethod
    def preview(cls) -> "ComparePanel":
        """Two synthetic spaces: B is A rotated, with a tenth of the documents moved and a few missing."""
        from core.plugin_api import AnalysisData
        from core.progress import null_progress
        from plugins.compare.analysis import compute
        from core.projection import pca_project

        rng = np.random.default_rng(1)
        n, d = 400, 24
        topics = ["cats", "ships", "bread", "rain"]
        label = rng.integers(0, len(topics), n)
        a = (rng.normal(size=(len(topics), d))[label] * 2.5 + rng.normal(size=(n, d))).astype(np.float32)
        b = (a @ np.linalg.qr(rng.normal(size=(d, d)))[0]).astype(np.float32)
        moved = rng.choice(n, n // 10, replace=False)
        b[moved] = b[rng.permutation(moved)] + rng.normal(size=(moved.size, d)).astype(np.float32)
        b[-12:] = np.nan
        collection = (rng.random(n) < np.where(label >= 2, 0.85, 0.15)).astype(np.int64)
        texts = [f"Note {i} on {topics[t]}" for i, t in enumerate(label)]
        data = AnalysisData(a, np.arange(n), collection, coords=pca_project(a), extras={
            "spaces": {"static-64": b}, "model_name": "MiniLM", "collection_names": {0: "pets & sea", 1: "food & weather"}})
        context = PanelContext(lambda rows: [texts[int(r)] for r in rows])
        context.set_data(n, {"collection": np.where(collection == 0, "pets & sea", "food & weather")}, "Preview")
        params = CompareParams(layout="pca")
        panel = cls(context, params)
        panel.resize(760, 620)
        panel.show_result(compute(data, params, null_progress()))
        context.sig_selection_changed.emit(np.array([int(moved[0])], dtype=np.int64))
        return panel
