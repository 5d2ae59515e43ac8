"""TwoNN intrinsic dimension, shared by the anisotropy and clusters views (Qt-free).

Distances are Euclidean on the vectors as stored (metrics.md: a cosine-distance
ratio is the square of the Euclidean one and would halve the estimate). The
estimate runs on a random sample of at most ``max_rows`` rows with exact
nearest neighbours; exact duplicates (zero distances, where log-ratios are
undefined) are dropped from the sample and counted.
"""
from __future__ import annotations

import numpy as np

from core.knn import exact_knn

#: share of the largest ratios μ = r2 / r1 left out of the fit (Facco et al. 2017)
TWONN_DISCARD = 0.10
#: samples up to this many rows get their distances from one dense matrix
DENSE_ROWS = 1024


def neighbour_distances(X: np.ndarray, k: int, max_rows: int, random_state: int = 0) -> tuple[np.ndarray, int]:
    """Euclidean distances ``(m, k)``, ascending, from each distinct sampled row to its k nearest.

    Returns the distances and how many sampled rows were dropped as exact
    duplicates. Distances are float64 from float32 rows (one dense matrix for
    small samples, :func:`core.knn.exact_knn` beyond), so distinct rows never
    read as distance zero.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"expected an (n, d) matrix, got shape {X.shape}")
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(X.shape[0], size=min(X.shape[0], max_rows), replace=False))
    sample = np.ascontiguousarray(X[rows], dtype=np.float32)
    as_bytes = sample.view(np.dtype((np.void, sample.dtype.itemsize * sample.shape[1]))).ravel()
    sample = sample[np.sort(np.unique(as_bytes, return_index=True)[1])]  # distinct rows (memcmp, not per column)
    k = min(k, sample.shape[0] - 1)
    if k < 2:
        raise ValueError("intrinsic dimension needs at least 3 distinct vectors")
    if len(sample) <= DENSE_ROWS:  # a small sample: all pairwise distances at once beat the blocked search
        x = sample.astype(np.float64)
        sq = (x * x).sum(axis=1)
        dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0))
        np.fill_diagonal(dist, np.inf)
        return np.sort(np.partition(dist, k - 1, axis=1)[:, :k], axis=1), rows.size - sample.shape[0]
    graph = exact_knn(sample, k, metric="euclidean")
    return graph.distances.astype(np.float64), rows.size - sample.shape[0]


def twonn_from_distances(distances: np.ndarray) -> float:
    """TwoNN (Facco, d'Errico, Rodriguez & Laio, Sci. Rep. 2017): fit
    −log(1 − F(μ)) = ID · log μ through the origin, μ = r2 / r1, top 10% discarded."""
    mu = np.sort(distances[:, 1] / distances[:, 0])
    m = mu.size
    keep = int(np.floor((1 - TWONN_DISCARD) * m))
    x = np.log(mu[:keep])
    y = -np.log(1 - np.arange(1, keep + 1) / m)
    denom = float(x @ x)
    return float(x @ y) / denom if denom > 0 else float("nan")


def twonn(X: np.ndarray, max_rows: int = 5000, random_state: int = 0) -> float:
    """TwoNN intrinsic dimension of the rows of ``X`` (NaN when fewer than 3 distinct rows)."""
    try:
        distances, _ = neighbour_distances(X, 2, max_rows, random_state)
    except ValueError:
        return float("nan")
    return twonn_from_distances(distances)
