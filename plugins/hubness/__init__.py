"""Hubness: how unevenly points occur in each other's kNN lists, and its reduction."""
from __future__ import annotations

from core.plugin_api import PluginSpec
from plugins.hubness.analysis import HubnessParams

SPEC = PluginSpec(
    id="hubness",
    title="Hubness",
    params_type=HubnessParams,
    compute="plugins.hubness.analysis:compute",
    panel="plugins.hubness.panel:HubnessPanel",
    knn_k=50,
    placement="right",
)
