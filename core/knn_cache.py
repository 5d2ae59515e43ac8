"""One kNN graph per (embedding set rows, metric), shared by every plugin.

The graph is computed once with the largest k anybody asked for, kept in memory
and in the workspace's analysis cache, and sliced for smaller k. The cache key
includes a fingerprint of the rows, so any change to the set invalidates it.
"""
from __future__ import annotations

import threading

import numpy as np

from core.plugin_api import KnnGraph
from core.progress import Progress
from core.store import Store

PLUGIN_KEY = "knn"


class KnnCache:
    """Thread-safe get-or-build of the shared graph."""

    def __init__(self, store: Store | None) -> None:
        self._store = store
        self._memory: dict[tuple[str, str], KnnGraph] = {}
        self._lock = threading.Lock()
        self._building: dict[tuple[str, str], threading.Lock] = {}

    def get(
        self,
        key: str,
        vectors: np.ndarray,
        k: int,
        metric: str = "cosine",
        progress: Progress | None = None,
    ) -> KnnGraph:
        """The graph of ``vectors`` with at least ``k`` columns (more if cached with more)."""
        k = max(1, min(int(k), len(vectors) - 1))
        slot = (key, metric)
        with self._lock:
            build_lock = self._building.setdefault(slot, threading.Lock())
        with build_lock:
            graph = self._memory.get(slot) or self._load(slot)
            if graph is None or graph.k < k:
                from core.knn import build_knn

                graph = build_knn(vectors, k, metric=metric, progress=progress)
                self._save(slot, graph)
            self._memory[slot] = graph
            return graph

    def _load(self, slot: tuple[str, str]) -> KnnGraph | None:
        if self._store is None:
            return None
        arrays = self._store.cache_get(PLUGIN_KEY, slot[0], slot[1])
        if arrays is None:
            return None
        return KnnGraph(arrays["indices"], arrays["distances"], slot[1])

    def _save(self, slot: tuple[str, str], graph: KnnGraph) -> None:
        if self._store is None or self._store.read_only:
            return
        self._store.cache_put(PLUGIN_KEY, slot[0], slot[1], {"indices": graph.indices, "distances": graph.distances})

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()
