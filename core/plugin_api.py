"""The plugin contract: a plugin is data plus lazily imported callables.

A plugin package exposes ``SPEC: PluginSpec`` from its ``__init__``. ``compute``
and ``panel`` are ``"module:attr"`` strings resolved only when first needed, so
listing plugins never imports heavy code. ``compute(data, params, progress)``
is Qt-free and returns a frozen result; panels only show results and emit new
params (see ``gui.plugin_host``).
"""
from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Union

import numpy as np

API_VERSION = 1
PLACEMENTS = ("central", "right", "bottom", "left")
#: ``field(metadata=DISPLAY_ONLY)`` marks a params field that only changes how a result is drawn
DISPLAY_ONLY = {"display_only": True}


class NotApplicable(LookupError):
    """Raised by a ``compute`` when its view does not apply to the data in view (no language
    column, a model without layers): the panel shows the message as a note, not as an error."""


@dataclass(frozen=True)
class KnnGraph:
    """k nearest neighbours of every row, self excluded.

    ``indices[i]`` are row numbers (not document ids) of the k nearest rows of
    row ``i`` in ascending distance; ties are broken by the lower row number.
    """

    indices: np.ndarray  # (n, k) int64
    distances: np.ndarray  # (n, k) float32
    metric: str = "cosine"

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])

    @property
    def n(self) -> int:
        return int(self.indices.shape[0])


@dataclass(frozen=True)
class AnalysisData:
    """Read-only inputs handed to every ``compute``.

    ``vectors`` rows align with ``doc_ids``, ``collection_ids``, ``coords`` and
    the rows of ``knn``. ``selection`` holds row numbers.
    """

    vectors: np.ndarray  # (n, d) float32
    doc_ids: np.ndarray  # (n,) int64
    collection_ids: np.ndarray | None = None  # (n,) int64
    knn: KnnGraph | None = None
    coords: np.ndarray | None = None  # (n, 2) float32
    selection: np.ndarray | None = None  # row numbers
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.vectors.shape[0])


@dataclass(frozen=True)
class PluginSpec:
    """Declarative description of a plugin.

    Attributes
    ----------
    id : str
        Unique, dotted-lowercase identifier (``"hubness"``).
    title : str
        Human-readable name shown on the dock.
    params_type : type
        A frozen dataclass with defaults for every field.
    compute : str
        ``"module:function"`` taking ``(AnalysisData, params, Progress)``.
    panel : str
        ``"module:Class"`` of the Qt panel.
    knn_k : int or None
        k of the shared kNN graph the compute needs (None: no graph).
    uses_selection : bool
        Recompute when the selection changes.
    uses_coords : bool
        Recompute when the map's layout changes (``AnalysisData.coords``).
    placement : str
        One of ``PLACEMENTS``.
    warm_up : str or None
        ``"module:function"`` the app calls once at start-up to pay a first-use
        cost early (UMAP's compilation); it must return at once.
    """

    id: str
    title: str
    params_type: type
    compute: str
    panel: str
    knn_k: int | None = None
    uses_selection: bool = False
    uses_coords: bool = False
    placement: str = "right"
    api_version: int = API_VERSION
    warm_up: str | None = None

    def resolve_compute(self) -> Callable[..., Any]:
        return resolve(self.compute)

    def resolve_panel(self) -> type:
        return resolve(self.panel)


def resolve(target: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"expected 'module:attr', got {target!r}")
    return getattr(importlib.import_module(module_name), attr)


def graph_k_for(spec: PluginSpec, params: Any) -> int | None:
    """Columns of the shared kNN graph a compute needs.

    ``params.graph_k`` (a field or property) wins over ``spec.knn_k``; the host
    may hand over a graph with *more* columns, so computes slice ``[:, :k]``.
    """
    wanted = getattr(params, "graph_k", None)
    return int(wanted) if wanted is not None else spec.knn_k


def compute_fields(params: Any) -> dict[str, Any]:
    """The params that change a result: all fields but the display-only ones.

    The host recomputes only when these change, and caches results under them,
    so ticking a display option (a log axis, a colouring) costs no computation.
    """
    display = {f.name for f in dataclasses.fields(params) if f.metadata.get("display_only")}
    return {name: value for name, value in dataclasses.asdict(params).items() if name not in display}


def params_from_fields(params_type: type, values: dict[str, Any]) -> tuple[Any, list[str]]:
    """``params_type`` built from ``values`` (e.g. saved as JSON), and a problem per value left out.

    A value is kept only if it fits its field's annotation (``int``, ``float``,
    ``str``, ``bool``, ``Literal[...]``, ``X | None``) and the dataclass accepts it
    on its own (its ``__post_init__`` checks); unknown names are dropped silently,
    every other field keeps its default.
    """
    try:
        hints = typing.get_type_hints(params_type)
    except (NameError, TypeError):  # an annotation that cannot be resolved: judged by the dataclass alone
        hints = {}
    names = {f.name for f in dataclasses.fields(params_type)}
    kept: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in values.items():
        if name not in names:
            continue
        if not _fits(value, hints.get(name, Any)):
            problems.append(f"{params_type.__name__}.{name}={value!r} is not a {_spelled(hints.get(name, Any))}")
            continue
        try:
            params_type(**{name: value})
        except (TypeError, ValueError) as exc:
            problems.append(f"{params_type.__name__}.{name}={value!r}: {exc}")
            continue
        kept[name] = value
    try:
        return params_type(**kept), problems
    except (TypeError, ValueError) as exc:  # fields that are valid alone but not together
        return params_type(), problems + [f"{params_type.__name__}: {exc}"]


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a type annotation (an annotation it cannot judge accepts it)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if origin is Literal:
        return any(value == arg and type(value) is type(arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (tuple, list):
        return isinstance(value, (tuple, list))
    return True


def _spelled(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(hint)))
    return getattr(hint, "__name__", None) or str(hint)


class CacheableResult:
    """Mixin protocol: results that round-trip through plain arrays are cached
    in the workspace (``analysis_cache``) by the host and reload instantly.

    Implement ``to_arrays() -> dict[str, np.ndarray]`` and the classmethod
    ``from_arrays(arrays) -> Result``; scalars go in 0-d arrays, strings in
    ``np.str_`` arrays. No pickle is ever used.
    """

    def to_arrays(self) -> dict[str, np.ndarray]:  # pragma: no cover - protocol
        raise NotImplementedError

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Any:  # pragma: no cover - protocol
        raise NotImplementedError
