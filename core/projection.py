"""2-D projections shared by the views: the PCA preview and UMAP's input (Qt-free).

UMAP itself runs in a worker process (:mod:`core.umap_process`); the map view
and the compare view both feed it the shared kNN graph through :func:`umap_knn`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from core.plugin_api import KnnGraph
from core.sampling import seeded_rows

#: UMAP settings (names as in umap-learn) of a layout nobody tuned: the map's defaults
UMAP_DEFAULTS: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.1, "metric": "cosine", "random_state": 42}


def pca_project(X: np.ndarray, fit_rows: int = 20_000) -> np.ndarray:
    """First two principal components of ``X`` as (n, 2) float32.

    The axes come from the d×d covariance of at most ``fit_rows`` rows (a fixed
    random sample: a preview needs no more, and 100k×384 then takes ~0.2 s);
    every row is projected. Signs are fixed (largest loading positive) so
    reruns give the same picture.
    """
    X = np.asarray(X, dtype=np.float32)
    n = X.shape[0]
    out = np.zeros((n, 2), dtype=np.float32)
    if n < 2 or X.ndim != 2 or X.shape[1] == 0:
        return out
    mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
    fit = X if n <= fit_rows else X[seeded_rows(n, fit_rows)]
    centred = fit - mean
    _, eigvecs = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    top = eigvecs[:, ::-1][:, :2]
    signs = np.sign(top[np.abs(top).argmax(axis=0), np.arange(top.shape[1])])
    top = (top * np.where(signs == 0, 1.0, signs)).astype(np.float32)
    out[:, : top.shape[1]] = X @ top - mean @ top
    return out


def umap_knn(knn: KnnGraph, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
    """UMAP's precomputed-kNN arrays: the shared graph excludes self, UMAP
    expects each row's own index first with distance 0."""
    k = n_neighbors - 1
    n = knn.n
    indices = np.empty((n, n_neighbors), dtype=np.int64)
    dists = np.empty((n, n_neighbors), dtype=np.float32)
    indices[:, 0] = np.arange(n)
    dists[:, 0] = 0.0
    indices[:, 1:] = knn.indices[:, :k]
    dists[:, 1:] = np.maximum(knn.distances[:, :k], 0.0)
    return indices, dists
