"""Neighbours plugin: each point's k nearest (raw or hubness-reduced), who points back,
near-duplicates and how faithful the map is."""
from __future__ import annotations

from core.plugin_api import PluginSpec
from plugins.neighbours.analysis import NeighboursParams

SPEC = PluginSpec(
    id="neighbours",
    title="Neighbours",
    params_type=NeighboursParams,
    compute="plugins.neighbours.analysis:compute",
    panel="plugins.neighbours.panel:NeighboursPanel",
    knn_k=10,
    uses_selection=True,
    uses_coords=True,
    placement="right",
)
