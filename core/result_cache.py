"""Persist plugin results that round-trip through plain arrays (no pickle).

A result class opts in by implementing ``to_arrays`` / ``from_arrays``
(:class:`core.plugin_api.CacheableResult`); its "module:Class" path is stored
beside the arrays so the right class rebuilds it.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from core.plugin_api import compute_fields, resolve
from core.store import Store

_TYPE_KEY = "__result_type__"


def params_key(params: Any) -> str:
    """Canonical JSON of a params dataclass's compute fields: the cache key part that names the params."""
    return json.dumps(compute_fields(params), sort_keys=True, default=str)


def is_cacheable(result: Any) -> bool:
    return callable(getattr(result, "to_arrays", None)) and callable(getattr(type(result), "from_arrays", None))


def save_result(store: Store, plugin_id: str, data_key: str, params: Any, result: Any) -> bool:
    """Store ``result`` if it is cacheable and the workspace writable; True when stored."""
    if store.read_only or not is_cacheable(result):
        return False
    arrays = dict(result.to_arrays())
    cls = type(result)
    arrays[_TYPE_KEY] = np.array(f"{cls.__module__}:{cls.__qualname__}")
    store.cache_put(plugin_id, data_key, params_key(params), arrays)
    return True


def load_result(store: Store, plugin_id: str, data_key: str, params: Any) -> Any | None:
    """The cached result for these rows and params, or None."""
    arrays = store.cache_get(plugin_id, data_key, params_key(params))
    if arrays is None or _TYPE_KEY not in arrays:
        return None
    cls = resolve(str(arrays.pop(_TYPE_KEY)))
    return cls.from_arrays(arrays)


class Shelf:
    """Named arrays kept in a workspace (a row of ``analysis_cache`` per name): user choices
    such as cluster names, which belong with the data rather than with the app's settings."""

    PLUGIN = "shelf"

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, name: str) -> dict[str, np.ndarray] | None:
        return self.store.cache_get(self.PLUGIN, name, "")

    def put(self, name: str, arrays: dict[str, np.ndarray]) -> bool:
        """Keep ``arrays`` under ``name``; False when the workspace is read-only."""
        if self.store.read_only:
            return False
        self.store.cache_put(self.PLUGIN, name, "", arrays)
        return True
