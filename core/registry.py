"""Find and validate plugins: the built-ins and third-party ones alike.

Every plugin registers an entry point in the group ``embedding_explorer.plugins``
pointing at a ``PluginSpec`` (or a module exposing ``SPEC``); the built-ins are
listed in this project's ``pyproject.toml`` like any other. All go through the
same validator; a broken plugin is recorded with its error and never stops the app.

Run from a checkout (installed or not), the built-ins are read from the
checkout's ``pyproject.toml`` itself, the same table: an uninstalled checkout
has no metadata and an editable install's goes stale when the table changes.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

from core.plugin_api import API_VERSION, PLACEMENTS, PluginSpec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "embedding_explorer.plugins"
DISTRIBUTION = "embedding-explorer"
#: the built-ins' dock order (pip writes entry points sorted by name); others follow by name
BUILTIN_ORDER = ("map", "neighbours", "hubness", "anisotropy", "clusters")
_CHECKOUT_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@dataclass(frozen=True)
class BrokenPlugin:
    name: str
    error: str


@dataclass
class PluginRegistry:
    specs: list[PluginSpec] = field(default_factory=list)
    broken: list[BrokenPlugin] = field(default_factory=list)

    def get(self, plugin_id: str) -> PluginSpec:
        """The spec of ``plugin_id``; LookupError names the views there are."""
        for spec in self.specs:
            if spec.id == plugin_id:
                return spec
        raise LookupError(f"no view called {plugin_id!r}; the views are: {', '.join(self.ids())}")

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
    for target in (spec.compute, spec.panel, *([spec.warm_up] if spec.warm_up is not None else [])):
        module, _, attr = target.partition(":")
        if not module or not attr:
            raise ValueError(f"{target!r} is not 'module:attr'")
    return spec


def _spec_from(obj: Any) -> Any:
    return getattr(obj, "SPEC", obj) if isinstance(obj, ModuleType) else obj


def _checkout_entry_points() -> list[EntryPoint]:
    """The built-ins as the checkout's ``pyproject.toml`` lists them (``name = "module"`` lines)."""
    try:
        text = _CHECKOUT_PYPROJECT.read_text(encoding="utf-8")
    except OSError:
        return []
    table = text.partition(f'[project.entry-points."{ENTRY_POINT_GROUP}"]')[2].split("\n[", 1)[0]
    lines = [line.split("#", 1)[0] for line in table.splitlines()]
    pairs = [line.split("=", 1) for line in lines if "=" in line]
    return [EntryPoint(name.strip(), value.strip().strip('"'), ENTRY_POINT_GROUP) for name, value in pairs]


def _entry_point_candidates() -> Iterable[tuple[str, Any]]:
    """The built-ins first (in ``BUILTIN_ORDER``, then by name), then the installed third-party plugins.

    A checkout's ``pyproject.toml`` wins over the installed metadata for the
    built-ins: an editable install's metadata goes stale whenever that table changes.
    """
    installed = list(entry_points(group=ENTRY_POINT_GROUP))
    others = [ep for ep in installed if ep.dist is None or ep.dist.name != DISTRIBUTION]
    own = _checkout_entry_points() or [ep for ep in installed if ep not in others]
    own.sort(key=lambda ep: (BUILTIN_ORDER.index(ep.name) if ep.name in BUILTIN_ORDER else len(BUILTIN_ORDER), ep.name))
    for ep in [*own, *others]:
        yield f"{ep.name} ({ep.value})", ep.load


def _failure(exc: BaseException) -> str:
    """Why a plugin failed to load, in words (a ``sys.exit()`` while importing is named as such)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: the plugin called sys.exit({exc.code!r}) while loading"
    return f"{type(exc).__name__}: {exc}"


def discover(extra: Iterable[tuple[str, Any]] = ()) -> PluginRegistry:
    """Load every plugin; ``extra`` adds (name, loader) pairs (used by tests).

    A plugin that raises, or calls ``sys.exit()``, while it loads is logged and listed in
    ``broken``; only KeyboardInterrupt (the user's Ctrl+C) goes through.
    """
    registry = PluginRegistry()
    seen: set[str] = set()
    for name, load in [*_entry_point_candidates(), *extra]:
        try:
            spec = validate_spec(_spec_from(load()))
            if spec.id in seen:
                raise ValueError(f"plugin id {spec.id!r} is already taken")
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken plugin is listed, never fatal
            registry.broken.append(BrokenPlugin(name, _failure(exc)))
            log.warning("plugin %s is broken and was not loaded: %s", name, registry.broken[-1].error)
            continue
        seen.add(spec.id)
        registry.specs.append(spec)
    return registry
