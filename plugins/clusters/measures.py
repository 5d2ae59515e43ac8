"""Per-cluster geometry that only this app measures (Qt-free).

For the rows of each cluster: mean k-occurrence N_k and share of antihubs
(N_k = 0; Radovanović et al., JMLR 2010), mean cosine between members, TwoNN
local intrinsic dimension (Facco et al. 2017) and how well the map keeps their
neighbourhoods (mean Jaccard of the k nearest in the space and in the map).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.hubness import k_occurrence
from core.intrinsic_dim import twonn
from core.knn import exact_knn, overlap_counts
from core.plugin_api import KnnGraph

#: rows sampled per cluster for its intrinsic dimension
LID_ROWS = 500
MEASURE_NAMES = ("mean_nk", "antihub_share", "mean_cosine", "lid", "preservation")


@dataclass(frozen=True)
class PointMeasures:
    """Per-row inputs of the cluster measures (NaN where unknown)."""

    occurrence: np.ndarray  # (n,) N_k
    preservation: np.ndarray  # (n,) Jaccard of kNN in space and map
    unit: np.ndarray  # (n, d) float32 unit vectors


def point_measures(vectors: np.ndarray, graph: KnnGraph | None, coords: np.ndarray, k: int) -> PointMeasures:
    """N_k from the first k columns of ``graph`` and per-row kNN preservation in ``coords``."""
    n = len(vectors)
    norms = np.linalg.norm(vectors, axis=1)
    unit = (vectors / np.where(norms == 0, 1.0, norms)[:, None]).astype(np.float32)
    if graph is None or graph.k < 1:
        nan = np.full(n, np.nan, dtype=np.float32)
        return PointMeasures(nan, nan, unit)
    k = min(k, graph.k)
    occurrence = k_occurrence(graph, k).astype(np.float32)
    preservation = np.full(n, np.nan, dtype=np.float32)
    placed = np.flatnonzero(np.isfinite(coords).all(axis=1))
    if placed.size == n and n > k:
        low = exact_knn(np.asarray(coords, dtype=np.float32), k, metric="euclidean")
        shared = overlap_counts(graph.indices[:, :k], low.indices).astype(np.float32)
        preservation = shared / (2 * k - shared)
    return PointMeasures(occurrence, preservation, unit)


def cluster_measures(points: PointMeasures, vectors: np.ndarray, rows: np.ndarray, random_state: int = 0) -> dict[str, float]:
    """The five ``MEASURE_NAMES`` of the cluster made of ``rows``."""
    m = rows.size
    occ = points.occurrence[rows]
    total = points.unit[rows].sum(axis=0, dtype=np.float64)
    mean_cos = float((total @ total - m) / (m * (m - 1))) if m > 1 else float("nan")
    return {
        "mean_nk": float(occ.mean()),
        "antihub_share": float(np.mean(occ == 0)) if np.isfinite(occ).all() else float("nan"),
        "mean_cosine": mean_cos,
        "lid": twonn(vectors[rows], max_rows=LID_ROWS, random_state=random_state),
        "preservation": float(np.nanmean(points.preservation[rows])) if np.isfinite(points.preservation[rows]).any() else float("nan"),
    }
