"""Qt panel of the example plugin."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from core.progress import null_progress
from gui.panel_base import PanelContext, PluginPanel
from tests.example_plugin.analysis import NormsParams, NormsResult


class NormsPanel(PluginPanel):
    def __init__(self, context: PanelContext, params: NormsParams, parent=None) -> None:
        super().__init__(context, params, parent)
        self.plot = pg.PlotWidget(background="w")
        self.body.addWidget(self.plot)
        self.result: NormsResult | None = None

    def show_result(self, result: NormsResult) -> None:
        self.result = result
        self.plot.clear()
        self.plot.addItem(pg.BarGraphItem(x0=result.edges[:-1], x1=result.edges[1:], height=result.counts, brush="#4c72b0"))

    def figure_items(self) -> dict:
        return {"norms": self.plot.getPlotItem()}

    def table_rows(self) -> list[dict]:
        return [] if self.result is None else [{"norm": float(v)} for v in self.result.norms]

    @classmethod
    def preview(cls) -> "NormsPanel":
        from core.plugin_api import AnalysisData
        from tests.example_plugin.analysis import compute

        panel = cls(PanelContext(), NormsParams())
        vectors = np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32)
        panel.show_result(compute(AnalysisData(vectors, np.arange(200)), NormsParams(), null_progress()))
        return panel
