"""Languages: how much of the space encodes each document's language, and what removing it changes."""
from __future__ import annotations

from core.plugin_api import PluginSpec
from plugins.languages.analysis import LanguagesParams

SPEC = PluginSpec(
    id="languages",
    title="Languages",
    params_type=LanguagesParams,
    compute="plugins.languages.analysis:compute",
    panel="plugins.languages.panel:LanguagesPanel",
    placement="right",
)
