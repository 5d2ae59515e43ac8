"""Intrinsic-dimension estimators: TwoNN and Levina–Bickel MLE (Qt-free).

Distances are Euclidean on the vectors as stored (metrics.md: a cosine-distance
ratio is the square of the Euclidean one and would halve the estimate). Both
estimators run on a random sample of at most ``max_rows`` rows with exact
nearest neighbours. Exact duplicates (zero distances, where log-ratios are
undefined) are dropped from the sample and counted in ``n_duplicates``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.intrinsic_dim import neighbour_distances as _neighbour_distances
from core.intrinsic_dim import twonn_from_distances as _twonn

MAX_ROWS = 5000
MLE_K = 20


@dataclass(frozen=True)
class IntrinsicDimension:
    """TwoNN and MLE estimates with the sample they were computed on."""

    twonn: float
    mle: float
    n_used: int  # distinct sampled rows the estimates use
    n_duplicates: int  # sampled rows dropped as exact duplicates of another


def _mle(distances: np.ndarray) -> float:
    """Levina–Bickel over k neighbours, averaging inverses (MacKay & Ghahramani 2005)."""
    inverse = np.log(distances[:, -1:] / distances[:, :-1]).mean(axis=1)
    mean_inverse = float(inverse.mean())
    return 1.0 / mean_inverse if mean_inverse > 0 else float("nan")


def intrinsic_dimension(
    X: np.ndarray, k: int = MLE_K, max_rows: int = MAX_ROWS, random_state: int = 0
) -> IntrinsicDimension:
    """TwoNN and MLE from one kNN search on the same sample (see module docstring)."""
    distances, n_duplicates = _neighbour_distances(X, k, max_rows, random_state)
    return IntrinsicDimension(_twonn(distances), _mle(distances), distances.shape[0], n_duplicates)


def twonn(X: np.ndarray, max_rows: int = MAX_ROWS, random_state: int = 0) -> float:
    """TwoNN intrinsic dimension (Facco et al. 2017) from the ratio of the 2nd to 1st neighbour distance."""
    distances, _ = _neighbour_distances(X, 2, max_rows, random_state)
    return _twonn(distances)


def mle_intrinsic_dimension(
    X: np.ndarray, k: int = MLE_K, max_rows: int = MAX_ROWS, random_state: int = 0
) -> float:
    """Maximum-likelihood intrinsic dimension (Levina & Bickel 2005), MacKay–Ghahramani averaging.

    Per point m̂(x) = [1/(k−1) Σ_{j<k} log(T_k / T_j)]⁻¹; the estimate is the
    inverse of the mean of the per-point inverses.
    """
    distances, _ = _neighbour_distances(X, k, max_rows, random_state)
    return _mle(distances)
