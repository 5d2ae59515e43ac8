"""Layers panel: one measure across the layers as a curve, every measure in a table, and any layer
opened in every view (as a derived embedding set)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox

from core.layers import MEASURES, layer_embeddings_of_model_layer
from gui.panel_base import PanelContext, PluginPanel
from gui.plain_widgets import fill_table, read_only_table, table_item
from plugins.layers.analysis import LayersParams, LayersResult

TITLES = {
    "mean_cosine": ("Mean cosine", "Mean cosine of all pairs: near 1, every vector points the same way (Ethayarajh 2019)."),
    "isoscore": ("IsoScore", "1 = variance spread evenly over all directions, 0 = one direction (Rudman et al. 2022)."),
    "effective_rank": ("Effective rank", "exp of the entropy of the PCA spectrum (Roy & Vetterli 2007)."),
    "twonn": ("TwoNN dimension", "Intrinsic dimension from the ratio of 2nd to 1st neighbour distances (Facco et al. 2017)."),
    "k_skewness": ("k-skewness", "Skewness of the k-occurrence: above ~1.2 a few points are everybody's neighbour."),
    "cka_last": ("CKA with last layer", "Linear CKA with the model's output layer (Kornblith et al. 2019)."),
    "cka_previous": ("CKA with previous", "Linear CKA with the layer before: how much this layer changes the space."),
}


class LayersPanel(PluginPanel):
    """The layer profile of the view's model; *Open layer in every view* maps the chosen layer."""

    def __init__(self, context: PanelContext, params: LayersParams, parent=None) -> None:
        super().__init__(context, params, parent)
        self._result: LayersResult | None = None
        controls = QHBoxLayout()
        self.measure_box = QComboBox()
        for name in MEASURES:
            self.measure_box.addItem(TITLES[name][0], name)
            self.measure_box.setItemData(self.measure_box.count() - 1, TITLES[name][1], Qt.ToolTipRole)
        self.measure_box.currentIndexChanged.connect(self._draw)
        self.sample_box = QSpinBox(minimum=50, maximum=100_000, singleStep=500, value=params.sample, prefix="sample ")
        self.sample_box.setToolTip("Documents embedded from every layer (a seeded sample of the view)")
        self.sample_box.editingFinished.connect(self._on_sample_changed)
        self.run_button = QPushButton("Profile the layers")
        self.run_button.setToolTip("Embed the sample from every layer of the model and measure each layer")
        self.run_button.clicked.connect(lambda: self.set_params(replace(self.params, run=True,
                                                                        sample=self.sample_box.value())))
        controls.addWidget(self.measure_box, 1)
        controls.addWidget(self.sample_box)
        controls.addWidget(self.run_button)
        self.body.addLayout(controls)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "layer (0 = token embeddings)")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # values as they are, not "(x0.001)"
        self.plot.setMinimumHeight(180)
        self.points = pg.ScatterPlotItem(size=10, hoverable=True, hoverSize=14,
                                         tip=lambda x, y, data: f"layer {int(x)}: {y:.4g}")
        self.points.sigClicked.connect(self._on_point_clicked)
        self.curve = pg.PlotCurveItem(pen=pg.mkPen("#0072B2", width=2))
        self.plot.addItem(self.curve)
        self.plot.addItem(self.points)
        self.body.addWidget(self.plot, 2)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.body.addWidget(self.summary)
        self.table = read_only_table(["Layer", *(TITLES[m][0] for m in MEASURES)], ["", *(TITLES[m][1] for m in MEASURES)],
                                     text_column=0)
        self.body.addWidget(self.table, 2)
        self.open_button = QPushButton("Open layer in every view")
        self.open_button.setToolTip("Embed every document in view from the chosen layer (a derived embedding set "
                                    "named after the model and the layer) and show it in the map and the other views")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.body.addWidget(self.open_button)

    def show_result(self, result: LayersResult) -> None:
        self._result = result
        profile = result.profile
        self.summary.setText(f"{result.model}: {len(profile.values) - 1} layers, {result.rows.size:,} documents, "
                             f"k = {profile.k}. Hover a point for its value; click one (or a row) to choose a layer.")
        fill_table(self.table, [[table_item(layer), *(table_item(float(v)) for v in row)]
                                for layer, row in enumerate(profile.values)])
        self.table.selectRow(len(profile.values) - 1)
        self._draw()

    def _draw(self) -> None:
        if self._result is None:
            return
        name = self.measure_box.currentData()
        values = self._result.profile.column(name)
        layers = np.arange(len(values), dtype=float)
        shown = np.isfinite(values)
        self.curve.setData(layers[shown], values[shown])
        self.points.setData(layers[shown], values[shown], brush=pg.mkBrush("#0072B2"))
        self.plot.setLabel("left", TITLES[name][0])
        self.plot.getAxis("bottom").setTicks([[(float(i), str(i)) for i in range(len(values))]])

    def chosen_layer(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else self.table.rowCount() - 1

    def _on_point_clicked(self, _item: pg.ScatterPlotItem, points, _event=None) -> None:
        if len(points):
            self.table.selectRow(int(round(points[0].pos().x())))

    def _on_sample_changed(self) -> None:
        if self.sample_box.value() != self.params.sample:
            self.set_params(replace(self.params, sample=self.sample_box.value()))

    def _on_open_clicked(self) -> None:
        if self._result is None:
            return
        layer, model = self.chosen_layer(), self._result.model
        texts = self.context.texts(np.arange(self.context.n_rows))
        self.context.derive_set(f"layer {layer}", lambda _vectors: layer_embeddings_of_model_layer(model, texts, layer))

    def figure_items(self) -> dict[str, pg.PlotItem]:
        return {"layer_profile": self.plot.getPlotItem()}

    def table_rows(self) -> list[dict]:
        return self._result.profile.as_rows() if self._result is not None else []

    @classmethod
    def preview(cls) -> LayersPanel:
        """A made-up profile of a six-layer model (no model is loaded)."""
        from core.layers import LayerProfile

        rng = np.random.default_rng(0)
        layers = np.arange(7)
        values = np.column_stack([0.3 + 0.3 * np.sin(layers / 2), 0.02 + 0.01 * layers, 230 - 8 * layers,
                                  37 - 2 * layers, 1.5 - 0.05 * layers, 0.8 + 0.03 * layers,
                                  np.r_[np.nan, 0.98 - 0.01 * rng.random(6)]])
        context = PanelContext(text_lookup=lambda rows: [f"document {r}" for r in rows])
        context.set_data(300, {})
        panel = cls(context, LayersParams())
        panel.show_result(LayersResult("preview-model", LayerProfile(values, 10), np.arange(300)))
        return panel
