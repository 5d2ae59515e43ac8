"""Anisotropy plugin: random-pair cosine, PC spectrum, isotropy scores, rogue dimensions, corrections."""
from __future__ import annotations

from core.plugin_api import PluginSpec
from plugins.anisotropy.analysis import AnisotropyParams

SPEC = PluginSpec(
    id="anisotropy",
    title="Anisotropy",
    params_type=AnisotropyParams,
    compute="plugins.anisotropy.analysis:compute",
    panel="plugins.anisotropy.panel:AnisotropyPanel",
    knn_k=None,
    placement="right",
)
