"""Robustness panel: neighbour agreement against bytes per vector, and the documents that lose most."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QTableWidgetItem

from gui.panel_base import PanelContext, PluginPanel
from gui.plain_widgets import fill_table, read_only_table, table_item, text_item
from plugins.robustness.analysis import RobustnessParams, RobustnessResult

WORST_ROWS = 50
FAMILY_COLORS = ("#0072B2", "#E69F00", "#D55E00", "#009E73", "#CC79A7")  # Okabe & Ito: colour-blind safe
VARIANT_HEADERS = ("Variant", "Bytes / vector", "Jaccard", "Recall@k", "ms / query")
VARIANT_TIPS = (
    "float32 is the reference; 'N dims' keeps the first N dimensions (renormalised); int8 and binary "
    "quantise every dimension; '+ rescore' re-ranks the quantised search's 4k best by float32 cosine.",
    "Storage of one vector in this form.",
    "Mean over documents of |A ∩ B| / |A ∪ B| for the k-NN lists in this form (A) and in float32 (B).",
    "Mean share of the float32 k nearest neighbours this form still finds.",
    "Time to find one document's neighbours among all rows in this form (this implementation, this machine).",
)


def _search_time(ms: float) -> QTableWidgetItem:
    """The time per query; the float32 lists come from the shared graph when the view has one (no search timed)."""
    return table_item(ms) if np.isfinite(ms) else table_item("shared graph")


class RobustnessPanel(PluginPanel):
    """Curves of k-NN agreement vs bytes per vector; colour the map by one variant's agreement."""

    def __init__(self, context: PanelContext, params: RobustnessParams, parent=None) -> None:
        super().__init__(context, params, parent)
        self._result: RobustnessResult | None = None
        controls = QHBoxLayout()
        self.k_box = QSpinBox(minimum=1, maximum=100, value=params.k, prefix="k = ")
        self.k_box.setToolTip("Length of the compared neighbour lists")
        self.k_box.editingFinished.connect(self._on_k_changed)
        self.variant_box = QComboBox()
        self.variant_box.setToolTip("The variant shown in the table below and on the map")
        self.variant_box.currentIndexChanged.connect(self._fill_worst)
        self.map_button = QPushButton("Colour map by agreement")
        self.map_button.setToolTip("Colour every evaluated document by the Jaccard of its neighbours in this variant")
        self.map_button.clicked.connect(self._on_map_clicked)
        controls.addWidget(self.k_box)
        controls.addWidget(self.variant_box, 1)
        controls.addWidget(self.map_button)
        self.body.addLayout(controls)
        self.plot = pg.PlotWidget()
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "bytes per vector")
        self.plot.setLabel("left", "recall@k (float32 neighbours kept)")
        self.plot.setYRange(0, 1.05)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMinimumHeight(200)
        self.body.addWidget(self.plot, 2)
        self.key = QLabel("")  # the legend, outside the plot so it never hides a point
        self.key.setTextFormat(Qt.RichText)
        self.key.setWordWrap(True)
        self.body.addWidget(self.key)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.body.addWidget(self.summary)
        self.variants = read_only_table(VARIANT_HEADERS, VARIANT_TIPS, text_column=0)
        self.body.addWidget(self.variants, 1)
        self.body.addWidget(QLabel("Documents whose neighbours change most in this variant (click to select):"))
        self.worst = read_only_table(("Row", "Jaccard", "Text"), ("", "Jaccard of its k-NN lists", ""), text_column=2)
        self.worst.itemClicked.connect(self._on_worst_clicked)
        self.body.addWidget(self.worst, 2)

    def show_result(self, result: RobustnessResult) -> None:
        self._result = result
        names = [v.name for v in result.variants[1:]]
        chosen = self.variant_box.currentText()
        self.variant_box.blockSignals(True)
        self.variant_box.clear()
        self.variant_box.addItems(names)
        self.variant_box.setCurrentIndex(names.index(chosen) if chosen in names else 0)
        self.variant_box.blockSignals(False)
        self.summary.setText(f"k = {result.k}; {result.rows.size:,} of {result.per_row.shape[1]:,} documents evaluated"
                             + (" (a seeded sample)" if result.rows.size < result.per_row.shape[1] else ""))
        fill_table(self.variants, [[table_item(v.name), table_item(f"{v.bytes_per_vector:g}"), table_item(v.jaccard),
                                    table_item(v.recall), _search_time(v.search_ms)] for v in result.variants])
        self._draw()
        self._fill_worst()

    def _draw(self) -> None:
        result = self._result
        self.plot.clear()
        families = {"truncated": [v for v in result.variants if v.name.endswith("dims") or v.name == "float32"]}
        for kind in ("int8", "binary"):
            families[kind] = [v for v in result.variants if v.name == kind]
            families[f"{kind} + rescore"] = [v for v in result.variants if v.name == f"{kind} + rescore"]
        keys = []
        for (family, members), color in zip(families.items(), FAMILY_COLORS):
            if not members:
                continue
            members = sorted(members, key=lambda v: v.bytes_per_vector)
            self.plot.plot([v.bytes_per_vector for v in members], [v.recall for v in members], pen=pg.mkPen(color, width=2),
                           symbol="o", symbolBrush=color, symbolPen=None, symbolSize=9)
            keys.append(f'<span style="color:{color}">●</span>&nbsp;{family}')
        self.key.setText("&nbsp;&nbsp; ".join(keys))
        sizes = sorted({v.bytes_per_vector for v in result.variants})
        self.plot.getAxis("bottom").setTicks([[(np.log10(b), f"{b:g}") for b in sizes], []])

    def _fill_worst(self) -> None:
        result = self._result
        if result is None or self.variant_box.currentIndex() < 0:
            return
        values = result.per_row[result.variant(self.variant_box.currentText())]
        rows = result.rows[np.argsort(values[result.rows], kind="stable")[:WORST_ROWS]]
        fill_table(self.worst, [[table_item(int(r), int(r)), table_item(float(values[r])), text_item(text)]
                                for r, text in zip(rows, self.context.texts(rows))])

    def _on_worst_clicked(self, item: QTableWidgetItem) -> None:
        row = self.worst.item(item.row(), 0).data(Qt.UserRole)
        self.context.select(np.array([row]))

    def _on_map_clicked(self) -> None:
        if self._result is not None and self.variant_box.currentIndex() >= 0:
            name = self.variant_box.currentText()
            self.context.color_by(f"neighbour agreement ({name})", self._result.per_row[self._result.variant(name)])

    def _on_k_changed(self) -> None:
        if self.k_box.value() != self.params.k:
            self.set_params(replace(self.params, k=self.k_box.value()))

    def figure_items(self) -> dict[str, pg.PlotItem]:
        return {"agreement_vs_bytes": self.plot.getPlotItem()}

    def table_rows(self) -> list[dict]:
        return [vars(v) for v in self._result.variants] if self._result is not None else []

    @classmethod
    def preview(cls) -> RobustnessPanel:
        """The panel on 1,500 clustered, normalised points in 384-D."""
        from core.plugin_api import AnalysisData
        from core.progress import null_progress
        from plugins.robustness.analysis import compute

        rng = np.random.default_rng(0)
        centres = rng.normal(size=(12, 384))
        x = (centres[rng.integers(0, 12, 1_500)] + 0.8 * rng.normal(size=(1_500, 384))).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        context = PanelContext(text_lookup=lambda rows: [f"document {r}" for r in rows])
        context.set_data(len(x), {})
        params = RobustnessParams()
        panel = cls(context, params)
        panel.show_result(compute(AnalysisData(x, np.arange(len(x))), params, null_progress()))
        return panel
