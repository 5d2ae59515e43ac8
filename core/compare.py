"""Comparing embedding spaces of the same documents (Qt-free): linear CKA, kNN
overlap, Procrustes alignment of 2-D maps, and how collections mix in one space.

Shared by the compare plugin and the ``compare`` command. Nothing here builds an
n × n matrix: CKA works in feature space (d × d), neighbour overlap on kNN lists.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from core.knn_cache import KnnCache
from core.plugin_api import KnnGraph
from core.progress import Progress
from core.store import Store

T = TypeVar("T")
_BLOCK_ROWS = 8192


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton, ICML 2019).

    With X and Y column-centred, CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F): 1 when Y
    is X up to an orthogonal transform and isotropic scaling, near 0 for
    unrelated spaces. The feature-space form costs O(n (d₁ + d₂)²) and never an
    n × n Gram matrix; sums run in float64 over row blocks.
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"CKA needs two matrices with the same rows, got {x.shape} and {y.shape}")
    if len(x) < 2:
        raise ValueError("CKA needs at least 2 rows")
    d1 = x.shape[1]
    mean = np.concatenate((x.mean(axis=0, dtype=np.float64), y.mean(axis=0, dtype=np.float64)))
    gram = np.zeros((d1 + y.shape[1],) * 2)
    for start in range(0, len(x), _BLOCK_ROWS):
        block = np.hstack((x[start : start + _BLOCK_ROWS], y[start : start + _BLOCK_ROWS])).astype(np.float64)
        block -= mean
        gram += block.T @ block
    xx, yy, yx = gram[:d1, :d1], gram[d1:, d1:], gram[d1:, :d1]
    denominator = np.linalg.norm(xx) * np.linalg.norm(yy)
    return float(np.linalg.norm(yx) ** 2 / denominator) if denominator > 0 else 0.0


def knn_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row Jaccard overlap |A_i ∩ B_i| / |A_i ∪ B_i| of two kNN index lists.

    Mutual-nearest-neighbour agreement between two representations (Huh et al.,
    "The Platonic Representation Hypothesis", ICML 2024, who divide by k; Jaccard
    here, as ``metrics.md`` defines it). Both lists are cut to the same k.
    float32 in [0, 1]; 1 = the same neighbours.
    """
    k = min(a.shape[1], b.shape[1])
    if len(a) != len(b):
        raise ValueError(f"{len(a)} and {len(b)} rows")
    if k == 0:
        return np.ones(len(a), dtype=np.float32)
    from core.knn import overlap_counts

    shared = overlap_counts(a[:, :k], b[:, :k]).astype(np.float32)
    return shared / (2 * k - shared)


def procrustes_align(moving: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, float]:
    """Rotate, reflect, scale and shift ``moving`` onto ``reference`` (least squares).

    Orthogonal Procrustes with isotropic scaling (Schönemann 1966; Gower 1975):
    R = UVᵀ from the SVD of MᵀB of the centred point sets, s = trace(Σ) / ‖M‖².
    Fitted on rows finite in both; every row is transformed. Returns the moved
    coordinates (float32) and the disparity, the residual ‖sMR − B‖² / ‖B‖²
    (0 = same shape).
    """
    moving = np.asarray(moving, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if moving.shape != reference.shape:
        raise ValueError(f"shapes differ: {moving.shape} and {reference.shape}")
    ok = np.isfinite(moving).all(axis=1) & np.isfinite(reference).all(axis=1)
    if ok.sum() < 2:
        return moving.astype(np.float32), float("nan")
    mu_m, mu_r = moving[ok].mean(axis=0), reference[ok].mean(axis=0)
    m, r = moving[ok] - mu_m, reference[ok] - mu_r
    u, sigma, vt = np.linalg.svd(m.T @ r)
    rotation = u @ vt
    size = float((m * m).sum())
    scale = float(sigma.sum() / size) if size > 0 else 1.0
    ref_size = float((r * r).sum())
    disparity = float(((scale * m @ rotation - r) ** 2).sum() / ref_size) if ref_size > 0 else 0.0
    return ((moving - mu_m) @ rotation * scale + mu_r).astype(np.float32), disparity


def collection_codes(collection_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct collection ids ascending, code of every row into them)."""
    ids, codes = np.unique(np.asarray(collection_ids), return_inverse=True)
    return ids.astype(np.int64), codes.ravel()


def centroid_cosines(vectors: np.ndarray, collection_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity between the collections' centroids.

    A centroid is the mean of the collection's unit-length rows, the direction
    the app's cosine geometry sees (zero rows add nothing). Returns (collection
    ids, c × c matrix).
    """
    ids, codes = collection_codes(collection_ids)
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms == 0, 1.0, norms)
    sums = np.zeros((ids.size, x.shape[1]))
    np.add.at(sums, codes, unit)
    lengths = np.linalg.norm(sums, axis=1, keepdims=True)
    centroids = sums / np.where(lengths == 0, 1.0, lengths)
    return ids, np.clip(centroids @ centroids.T, -1.0, 1.0)


def neighbour_shares(indices: np.ndarray, collection_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of collection i's kNN entries that lie in collection j.

    Row i sums to 1; 1 − share[i, i] is how much collection i mixes with the
    others (cf. the batch-mixing entropy of Haghverdi et al., Nat. Biotech. 2018,
    and kBET, Büttner et al. 2019). Returns (collection ids, c × c matrix).
    """
    ids, codes = collection_codes(collection_ids)
    c = ids.size
    pairs = codes[:, None] * c + codes[np.asarray(indices)]
    counts = np.bincount(pairs.ravel(), minlength=c * c).reshape(c, c).astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return ids, counts / np.where(totals == 0, 1.0, totals)


def random_mixing(collection_ids: np.ndarray) -> np.ndarray:
    """Expected share of neighbours from other collections if neighbours were
    drawn at random: (n − n_c) / (n − 1), per collection (ascending ids)."""
    _, counts = np.unique(np.asarray(collection_ids), return_counts=True)
    n = counts.sum()
    return (n - counts) / max(n - 1, 1)


def aligned_vectors(doc_ids: np.ndarray, other_ids: np.ndarray, other_vectors: np.ndarray) -> np.ndarray:
    """``other_vectors`` (rows ``other_ids``, ascending) placed on the rows of
    ``doc_ids`` (ascending); rows without a vector are NaN. float32 (n, d)."""
    out = np.full((len(doc_ids), other_vectors.shape[1] if other_vectors.ndim == 2 else 0), np.nan, dtype=np.float32)
    if len(other_ids) and out.shape[1]:
        where = np.clip(np.searchsorted(other_ids, doc_ids), 0, len(other_ids) - 1)
        found = other_ids[where] == doc_ids
        out[found] = other_vectors[where[found]]
    return out


def other_spaces(
    store: Store, collection_ids: Sequence[int], model_id: int, doc_ids: np.ndarray, sample: int | None = None
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Every other model's vectors of these rows: ({name: float32 (n, d), NaN where
    missing}, {name: model id}).

    Only models with at least one vector for these collections are loaded; each
    costs n × d × 4 bytes of memory (100k × 384: 154 MB). A sampled view passes its
    ``sample`` size so the other models load the same lowest-priority rows, not all.
    """
    wanted = set(int(c) for c in collection_ids)
    present = {s.model_id: s.model_name for s in store.embedding_sets()
               if s.collection_id in wanted and s.n_embedded > 0 and s.model_id != model_id}
    spaces: dict[str, np.ndarray] = {}
    for other_id, name in sorted(present.items()):
        ids, _, vectors = store.load_vectors(list(wanted), other_id, sample=sample)
        spaces[name] = aligned_vectors(doc_ids, ids, vectors)
    return spaces, {name: other_id for other_id, name in present.items()}


class SpaceCache:
    """Per-view cache for comparisons: kNN graphs through :class:`KnnCache`
    (kept in the workspace, shared with the host's graphs) and an in-memory memo
    of finished pieces, so a new layout or overlay does not redo them."""

    def __init__(self, store: Store | None) -> None:
        self._knn = KnnCache(store)
        self._memo: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def graph(self, key: str, vectors: np.ndarray, k: int, progress: Progress | None = None) -> KnnGraph:
        """The cosine kNN graph of ``vectors`` (fingerprint ``key``) with ≥ k columns."""
        return self._knn.get(key, vectors, k, progress=progress)

    def memo(self, key: Any, make: Callable[[], T]) -> T:
        """``make()`` once per ``key`` (two racing callers may both run it; one wins)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = make()
        with self._lock:
            return self._memo.setdefault(key, value)
