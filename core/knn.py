"""The shared k-nearest-neighbour graph: exact (blocked torch) and approximate (NN-descent).

One graph per (embedding set, k, metric) serves the map, the neighbours, hubness and
projection trust. Rows never see themselves; ties are broken by the lower row index.

How the exact search stays exact and fast. Cosine is treated as half the squared
euclidean distance of unit rows, so both metrics share one path:

1. float32 ``torch.mm`` scores select ``k + margin`` candidates per row (``topk``);
2. the candidates' distances are recomputed "canonically", pair by pair in float64
   from the float32 rows, then rounded to float32 and sorted by (distance, index):
   the same pair always gets the same distance whatever the block, and identical
   rows get exactly equal distances (exact duplicates are also merged first and
   expanded afterwards, so large duplicate groups cost nothing);
3. a row whose k-th and last candidate lie within the float32 error bound is
   redone with float64 scores, and if still within the (tiny) float64 bound,
   with every column inside that bound. No neighbour is lost to rounding.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.plugin_api import KnnGraph
from core.progress import Progress
from core.sampling import seeded_rows

METRICS = ("cosine", "euclidean")
EXACT_MAX_ROWS = 200_000
_MAX_BLOCK_BYTES = 256 * 2**20  # one block's float32 score matrix
_PAIR_CHUNK = 8192
_KDTREE_MAX_DIM = 3  # below this, a k-d tree beats matrix products
_EPS32 = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class _Space:
    """Rows prepared for one metric.

    ``exact`` holds unit rows (cosine) or the rows as given (euclidean) and
    defines the distances; ``fast`` feeds the float32 products: the same unit
    rows, or centred rows (translation-invariant, fewer rounding errors).
    """

    metric: str
    exact: np.ndarray  # (n, d) float32, C-contiguous
    fast: np.ndarray  # (n, d) float32, C-contiguous
    zero: np.ndarray  # (n,) bool: zero rows, at cosine distance 1 from everything
    centre: np.ndarray  # (d,) float32 subtracted from euclidean rows in ``fast``
    #: the float32 database side, built once and reused by every search (a QueryIndex: ~70 ms a query saved)
    sides: dict = field(default_factory=dict, repr=False, compare=False)

    def side(self, dtype) -> tuple["torch.Tensor", "torch.Tensor", float]:
        """(rows as a tensor, squared norms with zero rows at 1, largest norm) in ``dtype``.

        float32 shares the ``fast`` rows and is kept; float64 (a copy of ``exact``,
        needed only for near-ties) is rebuilt when asked, so it is never held for long.
        """
        import torch

        if dtype in self.sides:
            return self.sides[dtype]
        rows = self.fast if dtype == torch.float32 else self.exact
        db = torch.from_numpy(rows).to(dtype)
        sq = torch.from_numpy(np.einsum("ij,ij->i", rows, rows, dtype=np.float64)).to(dtype)
        sq[torch.from_numpy(self.zero)] = 1.0  # a zero row scores ‖q‖² + 1 = 2: cosine distance 1
        side = (db, sq, float(sq.max()) ** 0.5 if len(rows) else 0.0)
        if dtype == torch.float32:
            self.sides[dtype] = side
        return side

    def take(self, rows: np.ndarray) -> "_Space":
        exact = self.exact[rows]
        fast = exact if self.fast is self.exact else self.fast[rows]
        return _Space(self.metric, exact, fast, self.zero[rows], self.centre)

    def queries(self, x: np.ndarray) -> "_Space":
        """Query vectors prepared the same way (same centre)."""
        return _prepare(x, self.metric, self.centre)


def _prepare(vectors: np.ndarray, metric: str, centre: np.ndarray | None = None) -> _Space:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("vectors contain NaN or infinite values")
    if metric == "cosine":
        norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))
        zero = norms == 0
        unit = x / np.where(zero, 1.0, norms).astype(np.float32)[:, None]
        return _Space(metric, unit, unit, zero, np.zeros(x.shape[1], np.float32))
    if centre is None:
        centre = x.mean(axis=0, dtype=np.float64).astype(np.float32) if len(x) else np.zeros(x.shape[1], np.float32)
    return _Space(metric, x, x - centre, np.zeros(len(x), dtype=bool), centre)


def _canonical(q: _Space, rows: np.ndarray, db: _Space, cand: np.ndarray) -> np.ndarray:
    """Float32 distances of query ``rows[i]`` to database rows ``cand[i, j]``.

    ‖x − y‖² summed in float64 per pair from the ``exact`` rows (independent of
    batching); cosine is ½‖u − v‖² of unit rows (= 1 − cos, no cancellation near 0).
    """
    pair_row = np.repeat(rows, cand.shape[1])
    pair_col = cand.ravel()
    out = np.empty(pair_col.size, dtype=np.float64)
    for start in range(0, out.size, _PAIR_CHUNK):
        chunk = slice(start, start + _PAIR_CHUNK)
        diff = q.exact[pair_row[chunk]].astype(np.float64) - db.exact[pair_col[chunk]]
        out[chunk] = np.einsum("ij,ij->i", diff, diff)
    out = out.reshape(cand.shape)
    if db.metric == "cosine":
        out *= 0.5
        out[q.zero[rows][:, None] | db.zero[cand]] = 1.0
    else:
        np.sqrt(out, out=out)
    return out.astype(np.float32)


def _first_k(idx: np.ndarray, dist: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest (distance, index) pairs of each row, in that order."""
    order = np.lexsort((idx, dist), axis=-1)[..., :k]
    return np.take_along_axis(idx, order, -1), np.take_along_axis(dist, order, -1)


class _Scorer:
    """Squared distances minus ‖q‖² by one matrix product in one precision
    (float32 on the ``fast`` rows, float64 on the ``exact`` rows)."""

    def __init__(self, q_rows: np.ndarray, db: _Space, dtype) -> None:
        import torch

        self.dtype = dtype
        self.eps = float(torch.finfo(dtype).eps)
        self.q_rows = q_rows
        self.db, self.sq, radius = db.side(dtype)
        self.qsq = np.einsum("ij,ij->i", q_rows, q_rows, dtype=np.float64)
        # twice the rounding bound of a squared distance, γ_d (‖q‖ + max‖x‖)² (Higham, ch. 3)
        self.scale = 2.0 * self.eps * (self.db.shape[1] + 2) * (np.sqrt(self.qsq) + radius) ** 2

    def __call__(self, rows: np.ndarray) -> "torch.Tensor":
        import torch

        return torch.mm(torch.from_numpy(self.q_rows[rows]).to(self.dtype), self.db.T).mul_(-2.0).add_(self.sq)


class _Search:
    """Exact k nearest database rows of query rows, one block of queries at a time."""

    def __init__(self, q: _Space, db: _Space, k: int, exclude: np.ndarray | None) -> None:
        import torch

        self.q, self.db, self.k, self.exclude = q, db, k, exclude
        self.available = len(db.exact) - (0 if exclude is None else 1)
        if not 1 <= k <= self.available:
            raise ValueError(f"k={k} must be between 1 and {self.available}")
        self.wide = min(self.available, k + max(8, k // 2))  # candidates before re-ranking
        self.fast = _Scorer(q.fast, db, torch.float32)
        self.precise: _Scorer | None = None  # float64 on the exact rows, built on first need

    def run(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        idx, dist, unsure, _, _ = self._pick(rows, self.fast)
        if unsure.any():
            if self.precise is None:
                self.precise = _Scorer(self.q.exact, self.db, torch.float64)
            sub = rows[unsure]
            sub_idx, sub_dist, still, scores, limit = self._pick(sub, self.precise)
            for r in np.flatnonzero(still):  # genuine near-ties: every column within the bound
                near = torch.nonzero(scores[r] <= limit[r]).squeeze(1).numpy()
                dists = _canonical(self.q, sub[r : r + 1], self.db, near[None, :])[0]
                sub_idx[r], sub_dist[r] = _first_k(near, dists, self.k)
            idx[unsure], dist[unsure] = sub_idx, sub_dist
        return idx, dist

    def _pick(self, rows: np.ndarray, scorer: _Scorer):
        """Re-rank the ``wide`` best-scoring columns canonically; flag rows whose
        k-th and last candidates are closer than the rounding bound."""
        import torch

        scores = scorer(rows)
        scores[torch.from_numpy(np.flatnonzero(self.q.zero[rows]))] = 2.0  # zero query: all at distance 1
        if self.exclude is not None:
            own = self.exclude[rows]
            hit = np.flatnonzero(own >= 0)
            scores[torch.from_numpy(hit), torch.from_numpy(own[hit])] = float("inf")
        vals, cand = torch.topk(scores, self.wide, dim=1, largest=False, sorted=True)
        vals, cand = vals.double().numpy(), cand.numpy()
        idx, dist = _first_k(cand, _canonical(self.q, rows, self.db, cand), self.k)
        kth = vals[:, self.k - 1]
        # rounding of the scores plus a few float32 ulps of the final distances
        tol = scorer.scale[rows] + 8.0 * _EPS32 * np.abs(kth + scorer.qsq[rows])
        if self.wide == self.available:
            unsure = np.zeros(rows.size, dtype=bool)
        else:
            unsure = vals[:, self.wide - 1] - kth <= tol
        return idx, dist, unsure, scores, kth + tol


def _blocked_knn(
    q: _Space,
    db: _Space,
    k: int,
    exclude: np.ndarray | None,
    block_size: int,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest database rows of every query row; ``exclude[i]`` (≥ 0) is skipped."""
    if db.metric == "euclidean" and db.exact.shape[1] <= _KDTREE_MAX_DIM:
        return _kdtree_knn(q, db, k, exclude, progress)
    search = _Search(q, db, k, exclude)
    n_q = len(q.exact)
    step = max(1, min(int(block_size), _MAX_BLOCK_BYTES // (4 * max(len(db.exact), 1))))
    out_idx = np.empty((n_q, k), dtype=np.int64)
    out_dist = np.empty((n_q, k), dtype=np.float32)
    for start in range(0, n_q, step):
        rows = np.arange(start, min(start + step, n_q))
        out_idx[rows], out_dist[rows] = search.run(rows)
        if progress is not None:
            progress(int(rows[-1]) + 1, n_q, "nearest neighbours")
    return out_idx, out_dist


def _kdtree_knn(
    q: _Space, db: _Space, k: int, exclude: np.ndarray | None, progress: Progress | None
) -> tuple[np.ndarray, np.ndarray]:
    """Low-dimensional euclidean search (map coordinates) with a k-d tree, same
    canonical distances and tie rule as the blocked search."""
    from scipy.spatial import cKDTree

    n_db = len(db.exact)
    available = n_db - (0 if exclude is None else 1)
    if not 1 <= k <= available:
        raise ValueError(f"k={k} must be between 1 and {available}")
    wide = min(n_db, k + max(8, k // 2) + (0 if exclude is None else 1))
    tree = cKDTree(db.exact.astype(np.float64))
    n_q = len(q.exact)
    out_idx = np.empty((n_q, k), dtype=np.int64)
    out_dist = np.empty((n_q, k), dtype=np.float32)
    step = 65536
    for start in range(0, n_q, step):
        rows = np.arange(start, min(start + step, n_q))
        points = q.exact[rows].astype(np.float64)
        tree_dist, cand = tree.query(points, k=wide)
        tree_dist, cand = tree_dist.reshape(rows.size, wide), cand.reshape(rows.size, wide)
        dist = _canonical(q, rows, db, cand)
        if exclude is not None:
            own = cand == exclude[rows][:, None]
            dist[own], tree_dist[own] = np.inf, np.inf
        out_idx[rows], out_dist[rows] = _first_k(cand, dist, k)
        kth = np.sort(tree_dist, axis=1)[:, k - 1]
        limit = kth * (1.0 + 8.0 * _EPS32) + 1e-300
        unsure = np.zeros(rows.size, dtype=bool) if wide == n_db else tree_dist.max(axis=1) <= limit
        for r in np.flatnonzero(unsure):
            near = np.asarray(tree.query_ball_point(points[r], limit[r]), dtype=np.int64)
            if exclude is not None:
                near = near[near != exclude[rows[r]]]
            near_dist = _canonical(q, rows[r : r + 1], db, near[None, :])[0]
            out_idx[rows[r]], out_dist[rows[r]] = _first_k(near, near_dist, k)
        if progress is not None:
            progress(int(rows[-1]) + 1, n_q, "nearest neighbours")
    return out_idx, out_dist


def _unique_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)``: first row of each distinct row, ordered by that row number,
    and the group number of every row."""
    contiguous = np.ascontiguousarray(x)
    keys = contiguous.view(np.dtype((np.void, contiguous.dtype.itemsize * contiguous.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order], rank[inverse.ravel()]


def _expand(
    inverse: np.ndarray, g_idx: np.ndarray, g_dist: np.ndarray, own_dist: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of every row from neighbours of the distinct rows.

    For a group, the candidates are the first k members of each neighbour group
    plus its own first k + 1 members (at ``own_dist``); its k + 1 best cover every
    member's k best once the member itself is removed.
    """
    n, m = inverse.size, own_dist.size
    members = np.argsort(inverse, kind="stable")  # rows grouped, ascending within a group
    counts = np.bincount(inverse, minlength=m)
    starts = np.cumsum(counts) - counts
    # ragged lists: (group, neighbour group, distance) repeated min(count, cap) times
    src_group = np.concatenate((np.repeat(np.arange(m), g_idx.shape[1]), np.arange(m)))
    nbr_group = np.concatenate((g_idx.ravel(), np.arange(m)))
    nbr_dist = np.concatenate((g_dist.ravel(), own_dist))
    cap = np.minimum(counts[nbr_group], np.where(src_group == nbr_group, k + 1, k))
    entry = np.repeat(np.arange(cap.size), cap)
    offset = np.arange(entry.size) - np.repeat(np.cumsum(cap) - cap, cap)
    cand = members[starts[nbr_group[entry]] + offset]
    dist = nbr_dist[entry]
    group = src_group[entry]
    order = np.lexsort((cand, dist, group))
    group, cand, dist = group[order], cand[order], dist[order]
    per_group = np.bincount(group, minlength=m)
    rank = np.arange(group.size) - (np.cumsum(per_group) - per_group)[group]
    keep = rank <= k
    best_idx = np.full((m, k + 1), -1, dtype=np.int64)
    best_dist = np.full((m, k + 1), np.inf, dtype=np.float32)
    best_idx[group[keep], rank[keep]] = cand[keep]
    best_dist[group[keep], rank[keep]] = dist[keep]
    row_idx, row_dist = best_idx[inverse], best_dist[inverse]
    drop_self = np.argsort(row_idx == np.arange(n)[:, None], axis=1, kind="stable")[:, :k]
    return np.take_along_axis(row_idx, drop_self, 1), np.take_along_axis(row_dist, drop_self, 1)


def exact_knn(
    vectors: np.ndarray,
    k: int,
    metric: str = "cosine",
    block_size: int = 2048,
    progress: Progress | None = None,
) -> KnnGraph:
    """Exact kNN graph by blocked matrix products (torch ``mm`` + ``topk``).

    Memory stays O(block_size × n): blocks are further capped so one block's
    score matrix stays under 256 MiB. Cosine distance is 1 − cos (zero rows are
    at distance 1 from everything); euclidean is the L2 distance. A row is never
    its own neighbour, even when an identical row exists elsewhere (that one is
    at distance 0). Results do not depend on ``block_size``.

    Returns
    -------
    KnnGraph
        int64 indices and float32 distances, ascending, ties by lower row index.
    """
    space = _prepare(vectors, metric)
    n = len(space.exact)
    if not 1 <= k <= n - 1:
        raise ValueError(f"k={k} must be between 1 and n - 1 = {n - 1}")
    first, inverse = _unique_rows(space.exact)
    if first.size == n:
        idx, dist = _blocked_knn(space, space, k, np.arange(n), block_size, progress)
        return KnnGraph(idx, dist, metric)
    distinct = space.take(first)
    m = first.size
    if m > 1:
        g_idx, g_dist = _blocked_knn(distinct, distinct, min(k, m - 1), np.arange(m), block_size, progress)
    else:
        g_idx, g_dist = np.empty((1, 0), np.int64), np.empty((1, 0), np.float32)
    own = np.where(distinct.zero, 1.0, 0.0).astype(np.float32)
    idx, dist = _expand(inverse, g_idx, g_dist, own, k)
    return KnnGraph(idx, dist, metric)


def query_knn(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: str = "cosine",
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of ``vectors`` for each query vector (see :meth:`QueryIndex.search`)."""
    return QueryIndex(vectors, metric).search(queries, k, exclude)


class QueryIndex:
    """Rows prepared once for repeated exact queries (semantic search).

    Preparing (unit rows, checks) is most of a single query's cost: ~300 ms for
    100k × 384 here, then ~10 ms a query.
    """

    def __init__(self, vectors: np.ndarray, metric: str = "cosine") -> None:
        self._db = _prepare(vectors, metric)

    @property
    def n(self) -> int:
        return int(self._db.exact.shape[0])

    def search(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact k nearest rows for each query vector.

        ``exclude[i]`` is a row never returned for query i (its own row; −1 for none).
        Returns ``(indices, distances)``, both (q, k): int64 rows and float32
        distances (1 − cos for cosine), ascending, ties by lower row index.
        """
        q = self._db.queries(np.atleast_2d(queries))
        skip = None if exclude is None else np.asarray(exclude, dtype=np.int64).reshape(len(q.exact))
        return _blocked_knn(q, self._db, k, skip, 2048, None)


def approximate_knn(
    vectors: np.ndarray,
    k: int,
    metric: str = "cosine",
    random_state: int = 0,
    progress: Progress | None = None,
) -> KnnGraph:
    """Approximate kNN graph by NN-descent (Dong et al., WWW 2011; ``pynndescent``).

    Self is removed by index (not by distance), rows are then sorted by
    (distance, index). Check quality with :func:`estimate_recall`.
    """
    from pynndescent import NNDescent

    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    n = x.shape[0]
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    if not 1 <= k <= n - 1:
        raise ValueError(f"k={k} must be between 1 and n - 1 = {n - 1}")
    if progress is not None:
        progress(0, 1, "approximate nearest neighbours")
    index = NNDescent(x, n_neighbors=min(k + 1, n), metric=metric, random_state=random_state)
    idx, dist = index.neighbor_graph
    idx, dist = np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=np.float32)
    dist = np.where(idx < 0, np.inf, dist).astype(np.float32)
    drop = (idx == np.arange(n)[:, None]) | (idx < 0)
    keep = np.argsort(drop, axis=1, kind="stable")[:, :k]
    idx, dist = _first_k(np.take_along_axis(idx, keep, 1), np.take_along_axis(dist, keep, 1), k)
    if progress is not None:
        progress(1, 1, "approximate nearest neighbours")
    return KnnGraph(idx, dist, metric)


def build_knn(
    vectors: np.ndarray,
    k: int,
    metric: str = "cosine",
    method: str = "auto",
    progress: Progress | None = None,
) -> KnnGraph:
    """The shared kNN graph: ``"exact"``, ``"approximate"`` or ``"auto"``
    (exact up to ``EXACT_MAX_ROWS`` rows, NN-descent above)."""
    if method == "auto":
        method = "exact" if len(vectors) <= EXACT_MAX_ROWS else "approximate"
    if method == "exact":
        return exact_knn(vectors, k, metric, progress=progress)
    if method == "approximate":
        return approximate_knn(vectors, k, metric, progress=progress)
    raise ValueError(f"unknown method {method!r}; expected 'auto', 'exact' or 'approximate'")


def usable_graph(shared: KnnGraph | None, k: int, metric: str = "cosine") -> KnnGraph | None:
    """``shared`` if it has at least ``k`` columns of ``metric``, else None.

    The one rule for reusing the shared graph; a longer graph is fine (callers
    slice ``[:, :k]``).
    """
    if shared is None or shared.k < k or shared.metric != metric:
        return None
    return shared


def graph_for(
    vectors: np.ndarray,
    k: int,
    shared: KnnGraph | None = None,
    metric: str = "cosine",
    method: str = "auto",
    progress: Progress | None = None,
) -> KnnGraph:
    """The shared graph if it fits (:func:`usable_graph`), else one built from ``vectors`` (:func:`build_knn`)."""
    graph = usable_graph(shared, k, metric)
    return graph if graph is not None else build_knn(vectors, k, metric, method, progress)


def overlap_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a_i ∩ b_i| per row for two index lists without repeats within a row."""
    both = np.sort(np.concatenate((a, b), axis=1), axis=1)
    return (both[:, 1:] == both[:, :-1]).sum(axis=1)


def knn_recall(approx: KnnGraph, exact: KnnGraph) -> float:
    """Mean over rows of |approx_i ∩ exact_i| / k (k = the smaller of the two graphs)."""
    k = min(approx.k, exact.k)
    return float(overlap_counts(approx.indices[:, :k], exact.indices[:, :k]).mean() / k)


def estimate_recall(
    vectors: np.ndarray, approx: KnnGraph, sample: int = 1000, random_state: int = 0
) -> float:
    """Recall of ``approx`` against exact neighbours computed for a random row sample only."""
    n = approx.n
    rows = seeded_rows(n, sample, random_state)
    exact_idx, _ = query_knn(vectors, np.asarray(vectors)[rows], approx.k, approx.metric, exclude=rows)
    return float(overlap_counts(approx.indices[rows], exact_idx).mean() / approx.k)
