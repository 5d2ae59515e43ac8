"""The map: a 2-D UMAP layout of the embedding space (PCA preview first)."""
from __future__ import annotations

from core.plugin_api import PluginSpec
from plugins.map.analysis import MapParams

SPEC = PluginSpec(
    id="map",
    title="Map",
    params_type=MapParams,
    compute="plugins.map.analysis:compute",
    panel="plugins.map.panel:MapPanel",
    knn_k=14,
    placement="central",
    warm_up="core.umap_process:warm_up",
)
