"""Find and validate plugins: the built-ins and third-party ones alike.

Built-ins are the packages under ``plugins/``; third-party plugins register an
entry point in the group ``embedding_explorer.plugins`` pointing at a
``PluginSpec`` (or a module exposing ``SPEC``). Both go through the same
validator; a broken plugin is recorded with its error and never stops the app.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Iterable

from core.plugin_api import API_VERSION, PLACEMENTS, PluginSpec

ENTRY_POINT_GROUP = "embedding_explorer.plugins"
BUILTIN_ORDER = ("map", "neighbours", "hubness", "anisotropy")


@dataclass(frozen=True)
class BrokenPlugin:
    name: str
    error: str


@dataclass
class PluginRegistry:
    specs: list[PluginSpec] = field(default_factory=list)
    broken: list[BrokenPlugin] = field(default_factory=list)

    def get(self, plugin_id: str) -> PluginSpec:
        return next(s for s in self.specs if s.id == plugin_id)

    def ids(self) -> list[str]:
        return [s.id for s in self.specs]


def validate_spec(spec: Any) -> PluginSpec:
    """Return ``spec`` if it honours the contract, else raise ValueError saying why."""
    if not isinstance(spec, PluginSpec):
        raise ValueError(f"expected a PluginSpec, got {type(spec).__name__}")
    if spec.api_version != API_VERSION:
        raise ValueError(f"plugin API version {spec.api_version}, the app speaks {API_VERSION}")
    if not spec.id or not all(part.isidentifier() for part in spec.id.split(".")):
        raise ValueError(f"invalid plugin id {spec.id!r}")
    if spec.placement not in PLACEMENTS:
        raise ValueError(f"placement {spec.placement!r} is not one of {PLACEMENTS}")
    if not (dataclasses.is_dataclass(spec.params_type) and spec.params_type.__dataclass_params__.frozen):
        raise ValueError("params_type must be a frozen dataclass")
    try:
        spec.params_type()
    except TypeError as exc:
        raise ValueError(f"params_type needs a default for every field ({exc})") from exc
    for target in (spec.compute, spec.panel):
        module, _, attr = target.partition(":")
        if not module or not attr:
            raise ValueError(f"{target!r} is not 'module:attr'")
    return spec


def _spec_from(obj: Any) -> Any:
    return getattr(obj, "SPEC", obj) if isinstance(obj, ModuleType) else obj


def _builtin_candidates() -> Iterable[tuple[str, Any]]:
    import plugins

    names = [m.name for m in pkgutil.iter_modules(plugins.__path__) if m.ispkg]
    names.sort(key=lambda n: (BUILTIN_ORDER.index(n) if n in BUILTIN_ORDER else len(BUILTIN_ORDER), n))
    for name in names:
        yield f"plugins.{name}", lambda name=name: importlib.import_module(f"plugins.{name}")


def _entry_point_candidates() -> Iterable[tuple[str, Any]]:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        yield f"{ep.name} ({ep.value})", ep.load


def discover(extra: Iterable[tuple[str, Any]] = ()) -> PluginRegistry:
    """Load every plugin; ``extra`` adds (name, loader) pairs (used by tests)."""
    registry = PluginRegistry()
    seen: set[str] = set()
    for name, load in [*_builtin_candidates(), *_entry_point_candidates(), *extra]:
        try:
            spec = validate_spec(_spec_from(load()))
            if spec.id in seen:
                raise ValueError(f"plugin id {spec.id!r} is already taken")
        except Exception as exc:  # noqa: BLE001 - a broken plugin is listed, never fatal
            registry.broken.append(BrokenPlugin(name, f"{type(exc).__name__}: {exc}"))
            continue
        seen.add(spec.id)
        registry.specs.append(spec)
    return registry
