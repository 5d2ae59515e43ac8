"""A complete third-party plugin in three small files: vector norms as a histogram.

Registered by an entry point in the group ``embedding_explorer.plugins``:
``norms = tests.example_plugin`` (see README, "Writing a plugin").
"""
from core.plugin_api import PluginSpec
from tests.example_plugin.analysis import NormsParams

SPEC = PluginSpec(
    id="example.norms",
    title="Vector norms",
    params_type=NormsParams,
    compute="tests.example_plugin.analysis:compute",
    panel="tests.example_plugin.panel:NormsPanel",
    placement="bottom",
)
