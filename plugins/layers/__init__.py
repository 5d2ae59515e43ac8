"""Layers: the geometry of every transformer layer's embedding of the documents in view."""
from __future__ import annotations

from core.plugin_api import PluginSpec
from plugins.layers.analysis import LayersParams

SPEC = PluginSpec(
    id="layers",
    title="Layers",
    params_type=LayersParams,
    compute="plugins.layers.analysis:compute",
    panel="plugins.layers.panel:LayersPanel",
    placement="right",
)
