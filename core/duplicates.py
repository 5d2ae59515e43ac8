"""The one duplicate policy every view follows.

A corpus often holds exact copies of a text (the same abstract under two ids).
Left in, copies are each other's nearest neighbours at distance 0: neighbour
lists fill with copies, identical texts get different N_k from tie-breaking,
and intrinsic dimension cannot use them at all (log 0). The policy
``"fold"`` (the default) computes every measure on *distinct texts* and hands
the answer back to every row, so copies share their neighbours and their N_k,
and a list shows each text once with its number of copies. ``"keep"`` treats
every row as its own point (the textbook definitions over all n rows).

:class:`DistinctRows` is the whole mechanism: which row holds each distinct
text (``first``), which distinct text each row holds (``group``), and how many
copies each has (``counts``); views restrict their inputs with it, compute,
and expand their per-row outputs. Texts are told apart by content hash
(``AnalysisData.extras["hashes"]``), never by vector.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from core.plugin_api import AnalysisData, KnnGraph

POLICIES = ("fold", "keep")
DEFAULT_POLICY = "fold"
#: ``AnalysisData.extras`` keys: the policy in force and the content hash per row
POLICY_KEY = "duplicates"
HASHES_KEY = "hashes"
#: ``AnalysisData.extras`` key of a precomputed :class:`DistinctRows` (the loader's)
DISTINCT_KEY = "distinct"


@dataclass(frozen=True)
class DistinctRows:
    """Rows grouped by identical text.

    ``first`` (m,): ascending row of each distinct text's first copy;
    ``group`` (n,): index into ``first`` of the text each row holds;
    ``counts`` (m,): copies of each distinct text. Under policy "keep", or
    without copies, every row is its own point (:attr:`trivial`).
    """

    first: np.ndarray
    group: np.ndarray
    counts: np.ndarray

    @classmethod
    def identity(cls, n: int) -> DistinctRows:
        """Every row its own text (policy "keep", or nothing to fold)."""
        rows = np.arange(n, dtype=np.int64)
        return cls(rows, rows, np.ones(n, dtype=np.int64))

    @classmethod
    def of_keys(cls, keys: np.ndarray | None, n: int, policy: str = DEFAULT_POLICY) -> DistinctRows:
        """Group ``n`` rows by ``keys`` (one hash per row) under ``policy``."""
        if policy not in POLICIES:
            raise ValueError(f"unknown duplicate policy {policy!r}; expected one of {POLICIES}")
        if policy == "keep" or keys is None or n == 0:
            return cls.identity(n)
        keys = np.asarray(keys)
        if len(keys) != n:
            raise ValueError(f"{len(keys)} hashes for {n} rows")
        _, first, group, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
        order = np.argsort(first, kind="stable")  # distinct texts in row order
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        if order.size == n:
            return cls.identity(n)
        return cls(first[order].astype(np.int64), rank[group.ravel()].astype(np.int64), counts[order].astype(np.int64))

    @property
    def n(self) -> int:
        """Rows."""
        return int(self.group.size)

    @property
    def m(self) -> int:
        """Points the measures run on: distinct texts when folded, else rows."""
        return int(self.first.size)

    @property
    def trivial(self) -> bool:
        """True when nothing is folded (every row is its own point)."""
        return self.m == self.n

    def copies(self, rows: np.ndarray | int) -> np.ndarray:
        """Copies of the text each of ``rows`` holds (itself included; 1 when nothing is folded)."""
        return self.counts[self.group[np.asarray(rows, dtype=np.int64)]]

    def restrict(self, values: np.ndarray) -> np.ndarray:
        """Per-row ``values`` (n, …) reduced to one per point (m, …)."""
        return values if self.trivial else np.asarray(values)[self.first]

    def expand(self, values: np.ndarray) -> np.ndarray:
        """Per-point ``values`` (m, …) handed to every row (n, …): copies get the same value."""
        return values if self.trivial else np.asarray(values)[self.group]

    def expand_graph(self, graph: KnnGraph) -> KnnGraph:
        """A graph over the m points as a graph over the n rows: each row gets its text's list,
        neighbours named by their first row, so no list holds a copy of its own text."""
        if self.trivial:
            return graph
        return KnnGraph(self.first[graph.indices[self.group]], graph.distances[self.group], graph.metric)

    def restrict_graph(self, graph: KnnGraph) -> KnnGraph:
        """The inverse of :meth:`expand_graph`: one list per point, neighbours as point indices."""
        if self.trivial:
            return graph
        return KnnGraph(self.group[graph.indices[self.first]], graph.distances[self.first], graph.metric)

    def restrict_data(self, data: AnalysisData) -> AnalysisData:
        """``data`` with one row per point (vectors, ids, coords, graph), for computes that run on points."""
        if self.trivial:
            return data
        pick = self.first

        def cut(values: Any) -> Any:
            return None if values is None else np.asarray(values)[pick]

        return AnalysisData(
            vectors=data.vectors[pick],
            doc_ids=data.doc_ids[pick],
            collection_ids=cut(data.collection_ids),
            knn=None if data.knn is None else self.restrict_graph(data.knn),
            coords=cut(data.coords),
            selection=None if data.selection is None else np.unique(self.group[data.selection]),
            extras=self._restrict_extras(data.extras),
        )

    def _restrict_extras(self, extras: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in extras.items() if k != DISTINCT_KEY}
        if out.get(HASHES_KEY) is not None:
            out[HASHES_KEY] = np.asarray(out[HASHES_KEY])[self.first]
        out[POLICY_KEY] = "keep"  # already one row per point
        return out

    def cache_key(self, key: str) -> str:
        """A data key that tells folded and unfolded results of the same rows apart."""
        return key if self.trivial else f"{key}:distinct"


def distinct_rows(data: AnalysisData) -> DistinctRows:
    """The rows of ``data`` grouped under the policy in ``data.extras`` (default "fold").

    A loader that grouped the rows once (under the same ``extras`` policy) puts the
    answer in ``extras["distinct"]``; it is used when it covers these rows.
    """
    known = data.extras.get(DISTINCT_KEY)
    if isinstance(known, DistinctRows) and known.n == data.n:
        return known
    return DistinctRows.of_keys(data.extras.get(HASHES_KEY), data.n, data.extras.get(POLICY_KEY, DEFAULT_POLICY))


def shared_graph(data: AnalysisData, key: str, k: int, build: Callable[..., KnnGraph], **kwargs: Any) -> KnnGraph:
    """The shared kNN graph of ``data`` under its duplicate policy, one list per row.

    ``build(key, vectors, k, **kwargs)`` (a ``KnnCache.get``) makes the graph of the
    points (the distinct texts when folded; ``key`` from :meth:`DistinctRows.cache_key`);
    every row then gets its text's list. ``k`` is capped at the points less one.
    """
    distinct = distinct_rows(data)
    graph = build(key, distinct.restrict(data.vectors), min(k, distinct.m - 1), **kwargs)
    return distinct.expand_graph(graph)
