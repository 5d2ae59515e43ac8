"""Plugin discovery: built-ins, an entry-point plugin, and broken plugins that never stop the app."""
from __future__ import annotations

from dataclasses import dataclass

from pathlib import Path

import numpy as np
import pytest

import core.registry
from core.plugin_api import AnalysisData, PluginSpec
from core.progress import null_progress
from core.registry import BUILTIN_ORDER, _checkout_entry_points, discover, validate_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def entry_point_plugin(tmp_path, monkeypatch):
    """Install the example plugin's entry point the way pip would (a dist-info on sys.path)."""
    dist = tmp_path / "example_norms-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: example-norms\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[embedding_explorer.plugins]\nnorms = tests.example_plugin\nbroken = tests.no_such_module\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))


def test_builtins_load_in_order():
    registry = discover()
    assert registry.ids()[: len(BUILTIN_ORDER)] == list(BUILTIN_ORDER)
    assert not registry.broken


def test_every_builtin_is_listed_in_the_entry_point_table():
    packages = {f"plugins.{p.name}" for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists()}
    assert {ep.value for ep in _checkout_entry_points()} == packages


def test_installed_metadata_lists_the_builtins_outside_a_checkout(tmp_path, monkeypatch):
    """An installed app (no pyproject.toml beside it) takes the built-ins from its entry points."""
    dist = tmp_path / "embedding_explorer-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: embedding-explorer\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[embedding_explorer.plugins]\nhubness = plugins.hubness\nmap = plugins.map\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(core.registry, "_CHECKOUT_PYPROJECT", tmp_path / "pyproject.toml")
    assert discover().ids() == ["map", "hubness"]


def test_entry_point_plugin_loads_and_broken_one_is_listed(entry_point_plugin):
    registry = discover()
    assert "example.norms" in registry.ids()
    (broken,) = [b for b in registry.broken if b.name.startswith("broken")]
    assert "ModuleNotFoundError" in broken.error
    spec = registry.get("example.norms")
    vectors = np.array([[3.0, 4.0], [0.0, 1.0]], dtype=np.float32)
    result = spec.resolve_compute()(AnalysisData(vectors, np.arange(2)), spec.params_type(), null_progress())
    assert result.norms.tolist() == [5.0, 1.0]


@dataclass
class MutableParams:
    k: int = 1


@dataclass(frozen=True)
class FrozenParams:
    k: int = 1


@dataclass(frozen=True)
class NoDefaults:
    k: int


@pytest.mark.parametrize(
    "spec, message",
    [
        ("not a spec", "expected a PluginSpec"),
        (PluginSpec("x", "X", MutableParams, "a:b", "c:d"), "frozen dataclass"),
        (PluginSpec("x", "X", NoDefaults, "a:b", "c:d"), "default for every field"),
        (PluginSpec("bad id!", "X", NoDefaults, "a:b", "c:d"), "invalid plugin id"),
        (PluginSpec("x", "X", MutableParams, "a:b", "c:d", placement="top"), "placement"),
        (PluginSpec("x", "X", MutableParams, "a:b", "c:d", api_version=99), "API version"),
        (PluginSpec("x", "X", FrozenParams, "a:b", "c:d", warm_up="no_colon"), "not 'module:attr'"),
    ],
)
def test_validator_names_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        validate_spec(spec)


def test_a_plugin_whose_import_fails_is_listed_not_fatal():
    def explode():
        raise RuntimeError("boom")

    registry = discover(extra=[("exploding", explode)])
    assert any(b.name == "exploding" and "boom" in b.error for b in registry.broken)
    assert "map" in registry.ids()
