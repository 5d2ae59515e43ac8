"""Neighbour analyses: reverse neighbours, map faithfulness and near-duplicates.

All functions are Qt-free and work on the shared kNN graph (``core.knn``), so a
100k-row corpus never needs an n × n matrix.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from core.duplicates import DistinctRows, distinct_rows
from core.hubness import k_occurrence
from core.hubness_reduction import METHODS, reduce_knn_graph
from core.knn import build_knn, exact_knn, graph_for, overlap_counts, query_knn
from core.plugin_api import AnalysisData, KnnGraph
from core.progress import Progress, null_progress

REDUCTIONS = ("none", *METHODS)
TRUST_SAMPLE = 2000  # rows sampled for the panel's trustworthiness
_BLOCK_BYTES = 128 * 2**20
_ROW_CHUNK = 1024


def reverse_neighbours(graph: KnnGraph, row: int) -> np.ndarray:
    """Rows that have ``row`` among their k nearest neighbours (ascending).

    A scan of all n·k entries (28 ms at 1M × 10); for repeated look-ups build a
    :class:`ReverseIndex` once.
    """
    return np.flatnonzero((graph.indices == row).any(axis=1))


@dataclass(frozen=True)
class ReverseIndex:
    """The kNN graph transposed: who has each row among their k nearest.

    Compressed sparse columns of the graph's n·k entries: ``sources[starts[r]:
    starts[r + 1]]`` are the rows listing ``r`` (ascending) and ``ranks`` the
    0-based position of ``r`` in each of their lists. Built once per graph
    (O(n·k), 0.6 s at 1M × 10), it answers a click in O(N_k(r)) instead of a
    scan of the whole graph. The list sizes are the k-occurrence N_k
    (Radovanović et al., JMLR 2010).
    """

    starts: np.ndarray  # (n + 1,) int32 or int64
    sources: np.ndarray  # (n·k,) int32 or int64
    ranks: np.ndarray  # (n·k,) int16

    @classmethod
    def of(cls, graph: KnnGraph) -> "ReverseIndex":
        """The index of ``graph`` (any k, n ≥ 0)."""
        from scipy.sparse import csr_matrix

        n, k = graph.indices.shape
        ranks = np.tile(np.arange(k, dtype=np.int16), n)
        forward = csr_matrix((ranks, graph.indices.ravel(), np.arange(n + 1) * k), shape=(n, n))
        backward = forward.tocsc()  # linear-time transpose; keeps rank 0 (explicit zeros) and row order
        return cls(backward.indptr, backward.indices, backward.data)

    def __call__(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows having ``row`` among their k nearest, ascending; ``row``'s 0-based rank in each list), int64."""
        lo, hi = self.starts[row], self.starts[row + 1]
        return self.sources[lo:hi].astype(np.int64), self.ranks[lo:hi].astype(np.int64)


def pair_cosine(vectors: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Cosine similarity of row i with each row ``indices[i, j]`` (zero rows: 0), float32."""
    x = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1)
    unit = x / np.where(norms == 0, 1.0, norms).astype(np.float32)[:, None]
    out = np.empty(indices.shape, dtype=np.float32)
    for start in range(0, len(indices), _ROW_CHUNK):
        rows = slice(start, start + _ROW_CHUNK)
        out[rows] = np.einsum("id,ijd->ij", unit[rows], unit[indices[rows]])
    return out


def trustworthiness(
    X: np.ndarray,
    Y: np.ndarray,
    k: int,
    metric: str = "cosine",
    sample: int | None = 20_000,
    random_state: int = 0,
) -> float:
    """Trustworthiness T(k) of an embedding ``Y`` of ``X`` (Venna & Kaski, ICANN 2001).

    Exactly scikit-learn's ``sklearn.manifold.trustworthiness``:
    T(k) = 1 − 2 / (n k (2n − 3k − 1)) Σ_i Σ_{j ∈ N_k^Y(i)} max(0, r(i, j) − k),
    with r(i, j) the rank of j among i's neighbours in ``X`` and N_k^Y(i) the k
    nearest in ``Y`` (euclidean). Memory is O(block × n), never n × n. When
    n > ``sample`` the outer sum runs over ``sample`` random rows (seeded) and is
    rescaled by n / sample: an unbiased estimate; ``sample=None`` is always exact.
    """
    import torch

    x = np.asarray(X)
    n = len(x)
    if not 1 <= k < n / 2:
        raise ValueError(f"k ({k}) should be at least 1 and less than n / 2 ({n / 2})")
    rows = np.arange(n)
    if sample is not None and n > sample:
        rows = np.sort(np.random.default_rng(random_state).choice(n, size=sample, replace=False))
    emb_idx, _ = query_knn(Y, np.asarray(Y)[rows], k, "euclidean", exclude=rows)
    dtype = torch.float64 if x.dtype == np.float64 else torch.float32
    data = torch.from_numpy(np.ascontiguousarray(x)).to(dtype)
    if metric == "cosine":
        data = data / data.norm(dim=1, keepdim=True).clamp_min(torch.finfo(dtype).tiny)
        extra = torch.zeros(n, dtype=dtype)
    elif metric == "euclidean":
        extra = (data * data).sum(dim=1)
    else:
        raise ValueError(f"unknown metric {metric!r}; expected 'cosine' or 'euclidean'")
    step = max(1, _BLOCK_BYTES // (data.element_size() * n))
    penalty = 0
    for start in range(0, rows.size, step):
        block = torch.from_numpy(rows[start : start + step])
        # distance up to a per-row constant: 1 − cos ~ −u·v, ‖x − y‖² ~ ‖y‖² − 2 x·y
        dist = torch.mm(data[block], data.T).mul_(-2.0 if metric == "euclidean" else -1.0).add_(extra)
        dist[torch.arange(block.numel()), block] = float("inf")
        picked = dist.gather(1, torch.from_numpy(emb_idx[start : start + step]))
        for j in range(k):
            rank = (dist < picked[:, j : j + 1]).sum(dim=1) + 1
            penalty += int((rank - k).clamp_min(0).sum())
    return float(1.0 - penalty * 2.0 / (rows.size * k * (2.0 * n - 3.0 * k - 1.0)))


def neighbourhood_preservation(graph_high: KnnGraph, coords_2d: np.ndarray, k: int) -> np.ndarray:
    """Per-point Jaccard of the k nearest neighbours in the original space and in the map.

    1 = the map keeps the point's neighbourhood, 0 = none kept (cf. Venna et al.,
    JMLR 2010, on neighbourhood retrieval in visualisations). float32, (n,).
    """
    low = exact_knn(coords_2d, k, metric="euclidean")
    shared = overlap_counts(graph_high.indices[:, :k], low.indices).astype(np.float32)
    return shared / (2 * k - shared)


@dataclass(frozen=True)
class DuplicateGroups:
    """Groups of rows, each an ascending int64 array; largest group first.

    ``near``: connected components of pairs with cosine ≥ ``threshold`` (groups
    made only of exact duplicates are left to ``exact``); ``exact``: rows that
    share a content hash.
    """

    near: tuple[np.ndarray, ...]
    exact: tuple[np.ndarray, ...]
    threshold: float


def _sorted_groups(labels: np.ndarray) -> list[np.ndarray]:
    """Rows per label for labels held by two rows or more, largest first, then by first row."""
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    groups = [g for g in np.split(order, bounds) if g.size > 1]
    return sorted(groups, key=lambda g: (-g.size, int(g[0])))


def near_duplicates(
    vectors: np.ndarray,
    threshold: float = 0.95,
    graph: KnnGraph | None = None,
    hashes: Sequence[str] | None = None,
) -> DuplicateGroups:
    """Near-duplicate groups among kNN candidates, and exact duplicates by hash.

    Pairs (i, j) with j in i's kNN list and cosine ≥ ``threshold`` are linked and
    grouped into connected components, so a group may be larger than k + 1.
    Without ``hashes``, rows with identical vectors count as exact duplicates.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    if n < 2:
        return DuplicateGroups((), (), float(threshold))
    if graph is None:
        graph = build_knn(x, min(10, n - 1), "cosine")
    if graph.metric == "cosine":
        sim = 1.0 - graph.distances
    else:
        sim = pair_cosine(x, graph.indices)
    src, dst = np.nonzero(sim >= threshold)
    dst = graph.indices[src, dst]
    links = coo_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n, n))
    _, component = connected_components(links, directed=False)
    if hashes is None:
        keys = np.ascontiguousarray(x).view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()
    else:
        keys = np.asarray(hashes)
    _, hash_label = np.unique(keys, return_inverse=True)
    hash_label = hash_label.ravel()
    exact = _sorted_groups(hash_label)
    near = [g for g in _sorted_groups(component) if np.unique(hash_label[g]).size > 1]
    return DuplicateGroups(tuple(near), tuple(exact), float(threshold))


@dataclass(frozen=True)
class NeighboursParams:
    """k neighbours shown, optional hubness reduction, near-duplicate threshold."""

    k: int = 10
    reduced: str = "none"
    dup_threshold: float = 0.95

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        if self.reduced not in REDUCTIONS:
            raise ValueError(f"unknown reduction {self.reduced!r}; expected one of {REDUCTIONS}")
        if not 0.0 < self.dup_threshold <= 1.0:
            raise ValueError(f"dup_threshold must be in (0, 1], got {self.dup_threshold}")

    @property
    def graph_k(self) -> int:
        """Columns of the shared graph: a reduction re-ranks 2k candidates."""
        return self.k if self.reduced == "none" else 2 * self.k


@dataclass(frozen=True)
class NeighboursResult:
    """What the neighbours panel shows.

    ``graph`` holds the k neighbours shown (hubness-reduced when ``reduced`` is
    not "none", its distances then secondary); ``similarity`` their cosine
    similarity; ``k_occurrence`` N_k of ``graph`` and ``reverse`` who lists
    whom in it. ``preservation`` and ``trust`` exist when the map coordinates
    do (``trust_rows``: rows averaged).
    """

    graph: KnnGraph
    similarity: np.ndarray
    k_occurrence: np.ndarray
    duplicates: DuplicateGroups
    reverse: ReverseIndex | FoldedReverse
    reduced: str = "none"
    preservation: np.ndarray | None = None
    trust: float | None = None
    trust_rows: int = 0
    collection_ids: np.ndarray | None = None
    collection_names: dict[int, str] | None = None
    #: rows grouped by identical text under the duplicate policy (None: every row its own)
    distinct: DistinctRows | None = None

    def copies(self, rows: np.ndarray) -> np.ndarray:
        """Rows holding the same text as each of ``rows`` (1 = no copy), for "×n" in lists."""
        rows = np.asarray(rows, dtype=np.int64)
        return np.ones(rows.size, np.int64) if self.distinct is None else self.distinct.copies(rows)


@dataclass(frozen=True)
class FoldedReverse:
    """A :class:`ReverseIndex` over distinct texts answered in rows (duplicate policy "fold"):
    who lists ``row``'s text, each listing text once, named by its first row."""

    index: ReverseIndex
    distinct: DistinctRows

    def __call__(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        sources, ranks = self.index(int(self.distinct.group[row]))
        return self.distinct.first[sources], ranks


def compute(data: AnalysisData, params: NeighboursParams, progress: Progress | None = None) -> NeighboursResult:
    """Neighbours (raw or hubness-reduced), map faithfulness and duplicate groups.

    Lists, N_k and map faithfulness follow the duplicate policy (``core.duplicates``):
    folded, they run on distinct texts and every copy gets its text's answer, so no
    list holds a copy of its own text. Expects ``data.extras["hashes"]`` (content
    hash per row) and ``data.extras["collection_names"]`` ({collection id: name}).
    """
    progress = progress or null_progress()
    extras: dict[str, Any] = data.extras
    distinct = distinct_rows(data)
    points = distinct.restrict_data(data)
    if points.n < 2:
        nothing = KnnGraph(np.zeros((data.n, 0), np.int64), np.zeros((data.n, 0), np.float32))
        empty = DuplicateGroups((), (), params.dup_threshold)
        return NeighboursResult(nothing, np.zeros((data.n, 0), np.float32), np.zeros(data.n, np.int64), empty,
                                ReverseIndex.of(nothing))
    k = min(params.k, points.n - 1)
    graph_k = min(params.graph_k, points.n - 1)
    graph = graph_for(points.vectors, graph_k, points.knn, progress=progress)
    candidates = KnnGraph(graph.indices[:, :graph_k], graph.distances[:, :graph_k], graph.metric)
    raw = KnnGraph(candidates.indices[:, :k], candidates.distances[:, :k], candidates.metric)
    progress(1, 4, "neighbours")
    if params.reduced == "none":
        shown, similarity = raw, 1.0 - raw.distances
    else:
        shown = reduce_knn_graph(points.vectors, candidates, params.reduced, k)
        similarity = pair_cosine(points.vectors, shown.indices)
    progress(2, 4, "near-duplicates")
    duplicates = near_duplicates(data.vectors, params.dup_threshold, distinct.expand_graph(raw), extras.get("hashes"))
    preservation, trust, trust_rows = None, None, 0
    # a growing map has NaN rows for documents not placed yet: judge it once complete
    if points.coords is not None and np.isfinite(points.coords).all():
        progress(3, 4, "map faithfulness")
        preservation = distinct.expand(neighbourhood_preservation(raw, points.coords, k))
        if k < points.n / 2:
            trust = trustworthiness(points.vectors, points.coords, k, "cosine", sample=TRUST_SAMPLE)
            trust_rows = min(points.n, TRUST_SAMPLE)
    progress(4, 4, "done")
    reverse = ReverseIndex.of(shown)
    return NeighboursResult(
        graph=distinct.expand_graph(shown),
        similarity=distinct.expand(np.asarray(similarity, dtype=np.float32)),
        k_occurrence=distinct.expand(k_occurrence(shown)),
        duplicates=duplicates,
        reverse=reverse if distinct.trivial else FoldedReverse(reverse, distinct),
        reduced=params.reduced,
        preservation=preservation,
        trust=trust,
        trust_rows=trust_rows,
        collection_ids=data.collection_ids,
        collection_names=extras.get("collection_names"),
        distinct=distinct,
    )
