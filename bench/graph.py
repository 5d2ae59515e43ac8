"""The shared kNN graph and UMAP on it, against scikit-learn and plain umap-learn.

Every side runs in its own fresh process on the same synthetic data (50
Gaussian clusters in 384-d, unit rows), so peak memory is its own and both
UMAP sides pay numba's compilation equally (cold start, each side).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from bench.common import Figure, PeakMemory, Target, clustered_vectors, gib, run_isolated, timed

KNN_K = 10
QUICK_KNN, FULL_KNN = 5_000, 100_000
QUICK_UMAP, FULL_UMAP = 3_000, 100_000
PRESERVE_K = 10
WARM_ROWS = 5_000  # ≥ 4096, so plain UMAP compiles NN-descent too


def run_knn(quick: bool) -> list[Figure]:
    n = QUICK_KNN if quick else FULL_KNN
    rounds = 2 if quick else 1  # full: ~10 min a round on 2 cores
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "sklearn": []}
    for r in range(rounds):  # fresh processes, the side going first alternating
        for side in (("ours", "sklearn") if r % 2 == 0 else ("sklearn", "ours")):
            runs[side].append(run_isolated(f"bench.graph:knn_{side}", timeout=3600, n=n, save=r == 0))
    ours, base = (min(runs[side], key=lambda x: x["seconds"]) for side in ("ours", "sklearn"))
    recall = _recall(runs["ours"][0].pop("indices"), runs["sklearn"][0].pop("indices"))
    for side in runs.values():
        for one in side:
            one.pop("indices", None)
    return [
        Figure("knn.time", f"Exact kNN graph, k={KNN_K}, 384-d cosine", "s", ours["seconds"], base["seconds"],
               ours["seconds"] / base["seconds"], "ours / sklearn brute time", Target("ratio", "<=", 1.0), n=n,
               notes=f"baseline NearestNeighbors(metric='cosine', algorithm='brute'); best of {rounds}, fresh "
                     f"process each; neighbour agreement {recall:.4f}", extra={**runs, "agreement": recall}),
        Figure("knn.memory", "Exact kNN graph: peak memory", "GiB", gib(ours["peak"]), gib(base["peak"]),
               ours["peak"] / base["peak"], "ours / sklearn peak RSS", n=n,
               notes=f"growth during the call: ours {gib(ours['growth']):.2f} GiB, "
                     f"sklearn {gib(base['growth']):.2f} GiB (data alone {n * 384 * 4 / 2**30:.2f} GiB)"),
    ]


def _recall(a: Any, b: Any) -> float:
    """Mean share of the row-wise neighbour lists ``b`` also in ``a`` (same length k)."""
    a, b = np.asarray(a), np.asarray(b)
    both = np.sort(np.concatenate((a, b), axis=1), axis=1)
    return float((both[:, 1:] == both[:, :-1]).sum(axis=1).mean() / a.shape[1])


def knn_ours(workdir: str, n: int, save: bool = False) -> dict[str, Any]:
    """``core.knn.exact_knn`` timed, with its peak RSS."""
    from core.knn import exact_knn

    X = clustered_vectors(n)
    exact_knn(X[:500], KNN_K)  # torch's first-call set-up, not the search
    with PeakMemory() as mem:
        seconds, graph = timed(lambda: exact_knn(X, KNN_K))
    return {"seconds": seconds, "peak": mem.peak, "growth": mem.growth,
            "indices": graph.indices.tolist() if save else None}


def knn_sklearn(workdir: str, n: int, save: bool = False) -> dict[str, Any]:
    """scikit-learn's brute-force cosine search on the same rows, self excluded the same way."""
    from sklearn.neighbors import NearestNeighbors

    X = clustered_vectors(n)
    NearestNeighbors(n_neighbors=KNN_K, metric="cosine", algorithm="brute").fit(X[:500]).kneighbors()
    with PeakMemory() as mem:
        seconds, (_, indices) = timed(
            lambda: NearestNeighbors(n_neighbors=KNN_K, metric="cosine", algorithm="brute").fit(X).kneighbors())
    return {"seconds": seconds, "peak": mem.peak, "growth": mem.growth,
            "indices": indices.tolist() if save else None}


# --------------------------------------------------------------------- UMAP


def run_umap(quick: bool) -> list[Figure]:
    n = QUICK_UMAP if quick else FULL_UMAP
    warm = not quick
    ours = run_isolated("bench.graph:umap_ours", timeout=3600, n=n, warm=warm)
    base = run_isolated("bench.graph:umap_plain", timeout=3600, n=n, warm=warm)
    graph = np.asarray(ours.pop("graph"))
    for side in (ours, base):
        side["preserved"] = _preserved(graph, np.asarray(side.pop("coords")))
    with_graph = ours["graph_s"] + ours["seconds"]
    cold = (f"both warm: each process first fits {WARM_ROWS:,} rows the same way, untimed" if warm
            else "both cold: fresh processes, numba compiles inside the timing on each side")
    return [
        Figure("umap.shared_graph", "UMAP with the shared graph", "s", ours["seconds"], base["seconds"],
               ours["seconds"] / base["seconds"], "ours / umap.UMAP() time", Target("ratio", "<", 1.0), n=n,
               notes=f"{cold}; graph given; {PRESERVE_K}-NN kept in 2-D: ours {ours['preserved']:.3f}, "
                     f"plain {base['preserved']:.3f}", extra={"ours": ours, "plain": base}),
        Figure("umap.with_graph_build", "UMAP incl. building the shared graph", "s", with_graph, base["seconds"],
               with_graph / base["seconds"], "(graph + ours) / umap.UMAP() time", Target("ratio", "<", 1.0), n=n,
               notes=f"exact_knn k=14 took {ours['graph_s']:.1f} s (in the app it is shared with other views)"),
    ]


def _preserved(graph: np.ndarray, coords: np.ndarray, k: int = PRESERVE_K) -> float:
    """Share of each row's k nearest rows (high-d, exact) that are also its k nearest in 2-D."""
    from scipy.spatial import cKDTree

    return _recall(graph[:, :k], cKDTree(coords).query(coords, k + 1)[1][:, 1:])


def umap_ours(workdir: str, n: int, warm: bool) -> dict[str, Any]:
    """The map plugin's path: the shared exact graph (k = n_neighbors − 1) fed to
    UMAP in the map's worker process (spawned here; cold unless ``warm``)."""
    from core.knn import exact_knn
    from core import umap_process
    from core.projection import umap_knn
    from plugins.map.analysis import MapParams

    params = MapParams()
    X = clustered_vectors(n)

    def fit(rows: np.ndarray) -> tuple[float, float, np.ndarray, Any]:
        graph_s, graph = timed(lambda: exact_knn(rows, params.graph_k, metric=params.metric))
        indices, dists = umap_knn(graph, params.n_neighbors)
        seconds, coords = timed(lambda: umap_process.run_umap(rows, indices, dists, None, asdict(params)))
        return graph_s, seconds, coords, graph

    try:
        if warm:
            fit(clustered_vectors(WARM_ROWS, seed=1))
        graph_s, seconds, coords, graph = fit(X)
    finally:
        umap_process.shutdown()
    return {"seconds": seconds, "graph_s": graph_s, "params": asdict(params), "coords": coords.tolist(),
            "graph": graph.indices[:, :PRESERVE_K].tolist()}


def umap_plain(workdir: str, n: int, warm: bool) -> dict[str, Any]:
    """``umap.UMAP`` from scratch (its own NN-descent), same settings; import and
    compilation inside the timing as on our side unless ``warm``."""
    from plugins.map.analysis import MapParams

    params = MapParams()
    X = clustered_vectors(n)

    def fit(rows: np.ndarray) -> np.ndarray:
        import umap

        return umap.UMAP(n_components=2, n_neighbors=params.n_neighbors, min_dist=params.min_dist,
                         metric=params.metric, random_state=params.random_state).fit_transform(rows)

    if warm:
        fit(clustered_vectors(WARM_ROWS, seed=1))
    seconds, coords = timed(lambda: fit(X))
    return {"seconds": seconds, "coords": coords.tolist()}
