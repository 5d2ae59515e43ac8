"""Hubness reduction by re-ranking kNN candidate lists with secondary distances.

Every method turns the primary distance d(x, y) into a secondary distance that
discounts points which are close to everybody (hubs), then keeps the k best of
each point's candidate list (Feldbauer & Flexer, "A comprehensive empirical
comparison of hubness reduction in high-dimensional spaces", KAIS 2019).
Memory stays O(n · candidates): no n × n matrix is ever built.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from core.plugin_api import KnnGraph

METHODS = ("mutual_proximity", "mutual_proximity_gaussian", "local_scaling", "nicdm", "csls")
METHOD_TITLES = {
    "mutual_proximity": "Mutual proximity (empirical)",
    "mutual_proximity_gaussian": "Mutual proximity (Gaussian)",
    "local_scaling": "Local scaling",
    "nicdm": "NICDM",
    "csls": "CSLS",
}
_COSINE_ONLY = ("mutual_proximity", "mutual_proximity_gaussian", "csls")
_EPS = 1e-12
_BLOCK = 8192

ProgressFn = Callable[[int, int, str], None]


def reduce_knn_graph(
    vectors: np.ndarray,
    graph: KnnGraph,
    method: str,
    k: int,
    progress: ProgressFn | None = None,
    *,
    mp_sample: int = 512,
    seed: int = 0,
) -> KnnGraph:
    """Re-rank each point's candidate neighbours by a hubness-reducing distance.

    Parameters
    ----------
    vectors : ndarray (n, d)
        The embeddings the graph was built from (used by mutual proximity only).
    graph : KnnGraph
        Candidate lists, ``graph.k >= k`` columns; more columns let the
        reduction pull in neighbours that were not among the primary k.
    method : str
        One of ``METHODS``:

        - ``"mutual_proximity"`` (Schnitzer et al., JMLR 2012), empirical:
          1 − share of points j with d(x, j) > d(x, y) and d(y, j) > d(x, y).
          The share is *estimated* on a seeded random sample of ``mp_sample``
          points (distances of every point to the sample), not on all n.
        - ``"mutual_proximity_gaussian"``: 1 − (1 − F_x(d))(1 − F_y(d)) with
          F_x the normal CDF fitted to x's distances to all other points; for
          cosine these moments are exact in O(n d²) (see ``cosine_moments``).
        - ``"local_scaling"`` (Zelnik-Manor & Perona 2004):
          1 − exp(−d² / (σ_x σ_y)), σ = distance to the k-th neighbour.
        - ``"nicdm"`` (Jegou et al. 2010): d / sqrt(μ_x μ_y), μ = mean distance
          to the k nearest neighbours.
        - ``"csls"`` (Conneau et al. 2018): 1 − CSLS(x, y)/2 with
          CSLS = 2 cos(x, y) − r(x) − r(y), r = mean cosine to the k nearest;
          i.e. the cosine distance plus (r(x) + r(y)) / 2.
    k : int
        Neighbours kept per point (also the k of σ, μ and r).
    progress : callable, optional
        ``progress(done, total, message)``, called between blocks.
    mp_sample, seed : int
        Sample size and seed of the empirical mutual proximity.

    Returns
    -------
    KnnGraph
        k columns sorted by secondary distance (ties keep the primary order,
        itself ties-by-row), self excluded; ``distances`` hold the secondary
        distances as float32 and ``metric`` names the method.
    """
    if method not in METHODS:
        raise ValueError(f"unknown reduction {method!r}; expected one of {METHODS}")
    if not 1 <= k <= graph.k:
        raise ValueError(f"k={k} needs a graph with at least k columns (graph has {graph.k})")
    if method in _COSINE_ONLY and graph.metric != "cosine":
        raise ValueError(f"{method} needs a cosine kNN graph, got metric {graph.metric!r}")
    dist = graph.distances.astype(np.float64)
    nbr = graph.indices
    if method == "local_scaling":
        sigma = dist[:, k - 1]
        secondary = 1.0 - np.exp(-(dist**2) / np.maximum(sigma[:, None] * sigma[nbr], _EPS))
    elif method == "nicdm":
        mu = dist[:, :k].mean(axis=1)
        secondary = dist / np.sqrt(np.maximum(mu[:, None] * mu[nbr], _EPS))
    elif method == "csls":
        r = 1.0 - dist[:, :k].mean(axis=1)
        secondary = dist + 0.5 * (r[:, None] + r[nbr])
    elif method == "mutual_proximity_gaussian":
        secondary = _gaussian_mp(vectors, dist, nbr, progress)
    else:
        secondary = _empirical_mp(vectors, graph, mp_sample, seed, progress)
    order = np.argsort(secondary, axis=1, kind="stable")[:, :k]
    return KnnGraph(
        indices=np.take_along_axis(nbr, order, axis=1).astype(np.int64),
        distances=np.take_along_axis(secondary, order, axis=1).astype(np.float32),
        metric=method,
    )


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(_EPS))


def cosine_moments(vectors: np.ndarray, progress: ProgressFn | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and std of each point's cosine distance to all *other* points.

    With unit rows u_i, s = Σ u_i and G = Σ u_i u_iᵀ: Σ_j cos(x, j) = u·s and
    Σ_j cos²(x, j) = uᵀ G u; removing the self term gives the moments over
    j ≠ x in O(n d²) instead of O(n² d). The std of 1 − cos is that of cos.
    """
    units = unit_rows(vectors)
    n = units.shape[0]
    total = units.sum(axis=0, dtype=np.float64)
    gram = np.zeros((units.shape[1], units.shape[1]))
    for start in range(0, n, _BLOCK):
        block = units[start : start + _BLOCK].astype(np.float64)
        gram += block.T @ block
    mean = np.empty(n)
    std = np.empty(n)
    for start in range(0, n, _BLOCK):
        block = units[start : start + _BLOCK].astype(np.float64)
        self_sq = np.einsum("ij,ij->i", block, block)
        m1 = (block @ total - self_sq) / max(n - 1, 1)
        m2 = (np.einsum("ij,ij->i", block @ gram, block) - self_sq**2) / max(n - 1, 1)
        mean[start : start + _BLOCK] = 1.0 - m1
        std[start : start + _BLOCK] = np.sqrt(np.maximum(m2 - m1**2, 0.0))
        if progress is not None:
            progress(min(start + _BLOCK, n), n, "mutual proximity: moments")
    return mean, std


def _gaussian_mp(
    vectors: np.ndarray, dist: np.ndarray, nbr: np.ndarray, progress: ProgressFn | None
) -> np.ndarray:
    """1 − MP = a + b − ab with a = F_x(d), b = F_y(d): precise where MP ≈ 1."""
    from scipy.special import ndtr

    mean, std = cosine_moments(vectors, progress)
    std = np.maximum(std, _EPS)
    a = ndtr((dist - mean[:, None]) / std[:, None])
    b = ndtr((dist - mean[nbr]) / std[nbr])
    return a + b - a * b


def _empirical_mp(
    vectors: np.ndarray, graph: KnnGraph, sample_size: int, seed: int, progress: ProgressFn | None
) -> np.ndarray:
    """1 − share of sampled j farther from both x and y than d(x, y)."""
    units = unit_rows(vectors)
    n = units.shape[0]
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(sample_size, n), replace=False))
    to_sample = np.empty((n, sample.size), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        to_sample[start : start + _BLOCK] = 1.0 - units[start : start + _BLOCK] @ units[sample].T
    nbr = graph.indices
    dist = graph.distances.astype(np.float32)
    secondary = np.empty(nbr.shape)
    step = max(1, 2**21 // (graph.k * sample.size))
    for start in range(0, n, step):
        rows = slice(start, start + step)
        thresh = dist[rows][:, :, None]
        farther = (to_sample[rows][:, None, :] > thresh) & (to_sample[nbr[rows]] > thresh)
        secondary[rows] = 1.0 - farther.sum(axis=2) / sample.size
        if progress is not None:
            progress(min(start + step, n), n, "mutual proximity: sampled counts")
    return secondary
