"""Robustness view at scale: truncation ladder + int8/binary (with rescoring) agreement for 100k × 384."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.common import Figure, PeakMemory, Target, clustered_vectors, gib, run_isolated

QUICK_N, FULL_N = 5_000, 100_000


def run(quick: bool) -> list[Figure]:
    n = QUICK_N if quick else FULL_N
    res = run_isolated("bench.robustness_bench:measure", timeout=1800, n=n)
    return [Figure("robustness.all", "Robustness view: 4 truncations + int8/binary ± rescore", "s", res["seconds"],
                   target=Target("ours", "<", 60.0), n=n,
                   notes=f"default params (k=10, {res['evaluated']:,} documents evaluated against all rows); "
                         f"peak {res['peak_gib']:.2f} GiB; recall@10: " + ", ".join(f"{k} {v:.2f}" for k, v in res["recall"].items()))]


def measure(workdir: str, n: int) -> dict[str, Any]:
    from core.plugin_api import AnalysisData
    from core.progress import null_progress
    from plugins.robustness.analysis import RobustnessParams, compute

    vectors = clustered_vectors(n)
    with PeakMemory() as peak:
        start = time.perf_counter()
        result = compute(AnalysisData(vectors, np.arange(n)), RobustnessParams(), null_progress())
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "evaluated": int(result.rows.size), "peak_gib": gib(peak.peak),
            "recall": {v.name: v.recall for v in result.variants}}
