"""Clusters: named regions of the map at every zoom, and the geometry of each."""
from __future__ import annotations

from core.plugin_api import PluginSpec
from plugins.clusters.analysis import ClustersParams

SPEC = PluginSpec(
    id="clusters",
    title="Clusters",
    params_type=ClustersParams,
    compute="plugins.clusters.analysis:compute",
    panel="plugins.clusters.panel:ClustersPanel",
    knn_k=10,
    uses_coords=True,
    placement="right",
)
