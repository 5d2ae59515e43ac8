"""Hubness (graph given, every reduction) and anisotropy (every correction) at scale.

Each compute runs in its own fresh process; its peak RSS is the process's
peak over the call (the data already in memory included).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from bench.common import Figure, PeakMemory, Target, clustered_vectors, gib, run_isolated, timed

QUICK_N, FULL_N = 5_000, 100_000
LIMITS_S = {"hubness": 60.0, "anisotropy": 30.0}


def run(quick: bool) -> list[Figure]:
    n = QUICK_N if quick else FULL_N
    figures = []
    for name in ("hubness", "anisotropy"):
        res = run_isolated(f"bench.measures:{name}", timeout=3600, n=n)
        figures.append(Figure(
            f"measures.{name}", f"{name.capitalize()} compute, 384-d", "s", res["seconds"],
            target=Target("ours", "<", LIMITS_S[name]), n=n, notes=res["notes"], extra=res))
        figures.append(Figure(
            f"measures.{name}.memory", f"{name.capitalize()} compute: peak memory", "GiB", gib(res["peak"]), n=n,
            notes=f"growth during the call {gib(res['growth']):.2f} GiB (data {n * 384 * 4 / 2**30:.2f} GiB)"))
    return figures


def hubness(workdir: str, n: int) -> dict[str, Any]:
    """``plugins.hubness.analysis.compute`` with the shared graph given (built untimed)."""
    from core.knn import exact_knn
    from core.plugin_api import AnalysisData
    from core.progress import null_progress
    from plugins.hubness.analysis import HubnessParams, compute
    from core.hubness_reduction import METHODS

    params = HubnessParams()
    X = clustered_vectors(n)
    graph_s, graph = timed(lambda: exact_knn(X, params.graph_k))
    data = AnalysisData(vectors=X, doc_ids=np.arange(n), knn=graph)
    with PeakMemory() as mem:
        seconds, result = timed(lambda: compute(data, params, null_progress()))
    return {"seconds": seconds, "peak": mem.peak, "growth": mem.growth, "graph_s": graph_s,
            "k_skewness": result.measures.k_skewness,
            "notes": f"k={params.k}, graph k={params.graph_k} given (built in {graph_s:.1f} s, untimed); "
                     f"{len(METHODS)} reductions; S_Nk={result.measures.k_skewness:.2f}"}


def anisotropy(workdir: str, n: int) -> dict[str, Any]:
    """``plugins.anisotropy.analysis.compute``: raw vectors and every correction."""
    from core.plugin_api import AnalysisData
    from core.progress import null_progress
    from plugins.anisotropy.analysis import AnisotropyParams, compute
    from plugins.anisotropy.corrections import CORRECTIONS

    X = clustered_vectors(n)
    data = AnalysisData(vectors=X, doc_ids=np.arange(n))
    with PeakMemory() as mem:
        seconds, result = timed(lambda: compute(data, AnisotropyParams(), null_progress()))
    raw = result.reports["none"]
    return {"seconds": seconds, "peak": mem.peak, "growth": mem.growth, "mean_cosine": raw.mean_cosine,
            "notes": f"{len(CORRECTIONS)} corrections incl. none; mean cosine {raw.mean_cosine:.3f}, "
                     f"TwoNN {raw.twonn:.1f}"}
