"""Nested cluster levels of a 2-D layout from one HDBSCAN hierarchy (Qt-free).

HDBSCAN (Campello, Moulavi & Sander 2013; McInnes & Healy 2017) builds one
single-linkage tree of the points under mutual reachability distance. The
tree is condensed with growing minimum cluster sizes and each condensed tree's
leaves form one level, as in Toponymy / DataMapPlot (``build_raw_cluster_layers``):
the next size is a quantile of the current level's cluster sizes. Leaves of a
tree condensed with a larger minimum size contain whole leaves of the smaller
one (or those points are noise there), so the levels nest: every fine cluster
has at most one parent. Implementation: ``fast_hdbscan`` (numba; see README).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: quantile of the cluster sizes of a level that becomes the next level's minimum size
NEXT_SIZE_QUANTILE = 0.8


@dataclass(frozen=True)
class ClusterLevels:
    """Labels of every point at each level, coarsest first (−1: noise at that level)."""

    labels: tuple[np.ndarray, ...]  # per level, (n,) int64, 0..k-1 or -1
    min_sizes: tuple[int, ...]  # the minimum cluster size that made each level


def single_linkage_tree(coords: np.ndarray, min_samples: int) -> np.ndarray:
    """HDBSCAN's single-linkage tree (scipy linkage format, ``(n − 1, 4)``) of finite 2-D points."""
    import fast_hdbscan
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # one thread: no races between Borůvka's workers, so the same tree every time
    try:  # (reproducible=True is deterministic on many threads too, but 10x slower here: see README)
        out = fast_hdbscan.fast_hdbscan(np.ascontiguousarray(coords, dtype=np.float32), min_samples=int(min_samples),
                                        min_cluster_size=2, return_trees=True)
    finally:
        numba.set_num_threads(threads)
    return np.asarray(out[2], dtype=np.float64)


def leaf_labels(tree: np.ndarray, min_size: int, n: int) -> np.ndarray:
    """Labels of the leaves of ``tree`` condensed with ``min_size`` (−1: noise)."""
    from fast_hdbscan.cluster_trees import condense_tree, extract_leaves, get_cluster_label_vector

    condensed = condense_tree(tree, int(min_size))
    leaves = extract_leaves(condensed)
    if len(leaves) == 0:
        return np.full(n, -1, dtype=np.int64)
    return np.asarray(get_cluster_label_vector(condensed, leaves, 0.0, n), dtype=np.int64)


def cluster_levels(coords: np.ndarray, min_cluster_size: int, min_samples: int = 10, max_levels: int = 4,
                   min_clusters: int = 2) -> ClusterLevels:
    """Up to ``max_levels`` nested levels, finest made with ``min_cluster_size``.

    A level with fewer than ``min_clusters`` clusters ends the ascent. Rows
    with non-finite coordinates are noise everywhere.
    """
    coords = np.asarray(coords, dtype=np.float64)
    n = len(coords)
    placed = np.flatnonzero(np.isfinite(coords).all(axis=1))
    if placed.size <= max(min_cluster_size, min_samples):
        return ClusterLevels((), ())
    tree = single_linkage_tree(coords[placed], min(min_samples, placed.size - 1))
    levels: list[np.ndarray] = []
    sizes: list[int] = []
    size = int(min_cluster_size)
    while len(levels) < max_levels:
        local = leaf_labels(tree, size, placed.size)
        if local.max(initial=-1) + 1 < min_clusters:
            break
        if not levels or local.max() < levels[-1].max():  # a level as fine as the last adds nothing
            labels = np.full(n, -1, dtype=np.int64)
            labels[placed] = local
            levels.append(labels)
            sizes.append(size)
        next_size = int(np.quantile(np.bincount(local[local >= 0]), NEXT_SIZE_QUANTILE))
        if next_size <= size + 1:
            break
        size = next_size
    return ClusterLevels(tuple(reversed(levels)), tuple(reversed(sizes)))


def parents(fine: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """For each fine cluster, the coarse cluster most of its points are in (−1: noise there)."""
    n_fine = int(fine.max(initial=-1)) + 1
    out = np.full(n_fine, -1, dtype=np.int64)
    both = (fine >= 0) & (coarse >= 0)
    if not both.any():
        return out
    n_coarse = int(coarse.max()) + 1
    votes = np.bincount(fine[both] * n_coarse + coarse[both], minlength=n_fine * n_coarse).reshape(n_fine, n_coarse)
    has = votes.sum(axis=1) > 0
    out[has] = votes[has].argmax(axis=1)
    return out
