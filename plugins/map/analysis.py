"""2-D map of the embedding space: a PCA preview at once, then UMAP.

UMAP (McInnes, Healy & Melville 2018, arXiv:1802.03426) is fed the shared kNN
graph so it skips NNDescent, and runs in a worker *process*
(:mod:`core.umap_process`): numba's layout optimisation holds the GIL
and would freeze the GUI even from a thread.

A layout depends on its documents and params only, never on history, with one
exception: while the *same* documents grow (the previous layout places some
rows and not others), the previous layout is honoured: placed rows start where
they were, new rows at their nearest placed neighbour, and the result is mapped
back onto the old frame, so a growing map does not jump. ``ProjectionResult.init``
says in words how a layout began, for figure manifests.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from core.knn import exact_knn, usable_graph
from core.plugin_api import AnalysisData, CacheableResult
from core.progress import Progress
from core.projection import UMAP_DEFAULTS, pca_project, umap_knn

#: ``ProjectionResult.method`` values; "seeded" = previous layout with new rows
#: placed at their nearest placed neighbour (the preview of a growing map).
METHODS = ("pca", "seeded", "umap", "umap-sample+transform")


@dataclass(frozen=True)
class MapParams:
    """UMAP settings (names as in umap-learn).

    ``random_state`` makes runs reproducible but single-threaded; ``None``
    allows numba's parallel layout. At ``sample_fit_threshold`` rows or more,
    UMAP is fitted on ``sample_size`` random rows and the rest transformed.
    """

    n_neighbors: int = UMAP_DEFAULTS["n_neighbors"]
    min_dist: float = UMAP_DEFAULTS["min_dist"]
    metric: Literal["cosine", "euclidean"] = UMAP_DEFAULTS["metric"]  # core.knn.METRICS
    random_state: int | None = UMAP_DEFAULTS["random_state"]
    sample_fit_threshold: int = 200_000
    sample_size: int = 50_000

    @property
    def graph_k(self) -> int:
        """Columns of the shared kNN graph: UMAP counts the point itself."""
        return self.n_neighbors - 1


@dataclass(frozen=True)
class ProjectionResult(CacheableResult):
    """A 2-D layout: ``coords`` (n, 2) float32 aligned with the input rows.

    ``keeps_frame`` says the coords continue the previous layout's frame
    (seeded, or aligned onto it), so a view may keep its zoom.
    """

    coords: np.ndarray
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0
    status: str = ""
    partial: bool = False
    keeps_frame: bool = False
    #: how the layout was initialised ("fresh …, random_state 42", "warm-started from …"), for manifests
    init: str = ""

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "coords": np.asarray(self.coords, dtype=np.float32),
            "method": np.str_(self.method),
            "params": np.str_(json.dumps(self.params, sort_keys=True)),
            "elapsed": np.asarray(self.elapsed, dtype=np.float64),
            "status": np.str_(self.status),
            "partial": np.asarray(self.partial),
            "keeps_frame": np.asarray(self.keeps_frame),
            "init": np.str_(self.init),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ProjectionResult:
        return cls(
            coords=np.asarray(arrays["coords"], dtype=np.float32),
            method=str(arrays["method"]),
            params=json.loads(str(arrays["params"])),
            elapsed=float(arrays["elapsed"]),
            status=str(arrays["status"]),
            partial=bool(arrays["partial"]),
            keeps_frame=bool(arrays.get("keeps_frame", False)),  # absent in caches from before it existed
            init=str(arrays.get("init", "")),
        )


def seed_layout(
    previous: np.ndarray, knn_indices: np.ndarray | None, seed: int | None = 0
) -> np.ndarray:
    """Fill the NaN rows of a previous layout so UMAP can start from it.

    A new row takes the position of its nearest already-placed neighbour
    (placement spreads through the graph, so chains of new rows work too);
    rows with no placed neighbour go to the centroid. A tiny jitter keeps
    coincident starts apart.
    """
    coords = np.array(previous, dtype=np.float32, copy=True)
    placed = np.isfinite(coords).all(axis=1)
    if placed.all():
        return coords
    if not placed.any():
        raise ValueError("previous layout has no placed rows")
    new_rows = np.flatnonzero(~placed)
    if knn_indices is not None:
        while new_rows.size:
            neigh = knn_indices[new_rows]
            ok = placed[neigh]
            has = ok.any(axis=1)
            if not has.any():
                break
            first = neigh[has, ok[has].argmax(axis=1)]
            coords[new_rows[has]] = coords[first]
            placed[new_rows[has]] = True
            new_rows = new_rows[~has]
    coords[new_rows] = coords[placed].mean(axis=0)
    span = float(np.ptp(coords[placed], axis=0).max()) or 1.0
    rng = np.random.default_rng(seed)
    moved = ~np.isfinite(np.asarray(previous, dtype=np.float32)).all(axis=1)
    coords[moved] += rng.normal(scale=1e-3 * span, size=(int(moved.sum()), 2)).astype(np.float32)
    return coords


def align_to(coords: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Affine map of ``coords`` onto ``reference``, least squares on its finite rows.

    Used only between two UMAP layouts of a growing map (a PCA preview never
    seeds one, see ``PluginHost``): UMAP rescales the initial layout to [0, 10]
    per axis, and an affine fit undoes that (cluster centres move ~1% of the
    span instead of ~7–10% with a per-axis or similarity fit).
    """
    ok = np.isfinite(reference).all(axis=1)
    if ok.sum() < 3:
        return coords
    design = np.c_[coords.astype(np.float64), np.ones(len(coords))]
    transform, *_ = np.linalg.lstsq(design[ok], reference[ok].astype(np.float64), rcond=None)
    return (design @ transform).astype(np.float32)


def compute(data: AnalysisData, params: MapParams, progress: Progress) -> ProjectionResult:
    """PCA preview (handed over through ``progress.partial``), then UMAP.

    Warm-starts from ``data.coords`` only when it places some rows and not
    others (the same documents grew); otherwise the layout is fresh. Returns
    the UMAP layout, or the PCA layout with a status when there are too few
    points for UMAP (n < 4 or n <= n_neighbors).
    """
    from core import umap_process  # lazy: the worker-process machinery

    start = time.perf_counter()
    info = asdict(params)
    n = data.n
    progress(0, 3, "PCA preview…")
    previous = _growing_layout(data.coords, n)
    if n < 4 or n <= params.n_neighbors:
        return ProjectionResult(
            pca_project(data.vectors), "pca", info, time.perf_counter() - start,
            status=f"Only {n} points: UMAP needs more than {max(3, params.n_neighbors)}; showing PCA.",
            init="PCA (first two principal components; deterministic)",
        )
    sampled = n >= params.sample_fit_threshold
    knn = None if sampled else usable_graph(data.knn, params.graph_k, params.metric)
    if previous is None and not _placed_everywhere(data.coords, n):  # a full old picture stays until UMAP ends
        progress.partial(ProjectionResult(pca_project(data.vectors), "pca", info, time.perf_counter() - start,
                                          status="PCA preview; UMAP is running…", partial=True))
    elif previous is not None:
        seeded = seed_layout(previous, None if knn is None else knn.indices, params.random_state)
        progress.partial(ProjectionResult(seeded, "seeded", info, time.perf_counter() - start,
                                          status="New points placed near their neighbours; UMAP is running…",
                                          partial=True, keeps_frame=True))
    if knn is None and not sampled:
        progress(1, 3, f"Nearest neighbours of {n:,} points…")
        knn = exact_knn(data.vectors, params.graph_k, metric=params.metric)
    init = None if previous is None else seed_layout(
        previous, None if knn is None else knn.indices, params.random_state)
    indices, dists = (None, None) if knn is None else umap_knn(knn, params.n_neighbors)
    sample = None
    if sampled:
        rng = np.random.default_rng(params.random_state)
        sample = np.sort(rng.choice(n, size=min(params.sample_size, n), replace=False))
    coords = umap_process.run_umap(
        data.vectors, indices, dists, init, info, sample=sample, progress=progress
    )
    if previous is not None:
        coords = align_to(coords, previous)
    progress(3, 3, "UMAP done")
    method = "umap-sample+transform" if sampled else "umap"
    return ProjectionResult(coords.astype(np.float32), method, info, time.perf_counter() - start,
                            keeps_frame=previous is not None, init=describe_init(n, params, previous, sample))


def describe_init(n: int, params: MapParams, previous: np.ndarray | None, sample: np.ndarray | None) -> str:
    """How a UMAP layout began, in words a figure's reader can reproduce it from."""
    seed = f"random_state {params.random_state}" if params.random_state is not None else "no random_state (not reproducible)"
    if previous is None:
        text = f"fresh layout (UMAP's spectral initialisation, {seed})"
    else:
        placed = int(np.isfinite(previous).all(axis=1).sum())
        text = (f"warm-started from the previous layout of {placed:,} of these {n:,} documents (the others placed "
                f"at their nearest placed neighbour), {seed}, then aligned (affine) onto it")
    if sample is not None:
        text += f"; fitted on a random sample of {sample.size:,} of {n:,} rows ({seed}), the other rows transformed"
    return text


def _growing_layout(coords: np.ndarray | None, n: int) -> np.ndarray | None:
    """The previous layout if it is one of these rows that places some rows and not others."""
    if coords is None:
        return None
    coords = np.asarray(coords, dtype=np.float32)
    if coords.shape != (n, 2):
        return None
    placed = np.isfinite(coords).all(axis=1)
    return coords if placed.any() and not placed.all() else None


def _placed_everywhere(coords: np.ndarray | None, n: int) -> bool:
    return coords is not None and np.shape(coords) == (n, 2) and bool(np.isfinite(coords).all())

