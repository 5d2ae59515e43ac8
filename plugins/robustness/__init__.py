"""Robustness: how truncating (Matryoshka) or quantising (int8, binary) the vectors changes each document's neighbours."""
from __future__ import annotations

from core.plugin_api import PluginSpec
from plugins.robustness.analysis import RobustnessParams

SPEC = PluginSpec(
    id="robustness",
    title="Robustness",
    params_type=RobustnessParams,
    compute="plugins.robustness.analysis:compute",
    panel="plugins.robustness.panel:RobustnessPanel",
    knn_k=10,
    placement="right",
)
