"""Compare: two embedding spaces of the same documents (CKA, neighbour overlap, aligned maps),
and the collections in view against each other."""
from __future__ import annotations

from core.plugin_api import PluginSpec
from plugins.compare.analysis import CompareParams

SPEC = PluginSpec(
    id="compare",
    title="Compare",
    params_type=CompareParams,
    compute="plugins.compare.analysis:compute",
    panel="plugins.compare.panel:ComparePanel",
    knn_k=10,
    uses_coords=True,
    placement="right",
)
