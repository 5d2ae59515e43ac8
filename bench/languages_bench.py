"""Languages view at scale: 100k × 384 vectors in three 'languages' sharing topics, with translation pairs."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.common import Figure, Target, clustered_vectors, run_isolated

QUICK_N, FULL_N = 5_000, 100_000


def run(quick: bool) -> list[Figure]:
    n = QUICK_N if quick else FULL_N
    res = run_isolated("bench.languages_bench:measure", timeout=1800, n=n)
    return [Figure("languages.all", "Languages view: measures before and after removing language", "s", res["seconds"],
                   target=Target("ours", "<", 30.0), n=n,
                   notes=f"3 languages, pairs of translations; probe {res['probe_before']:.2f} -> {res['probe_after']:.2f}, "
                         f"translation P@1 {res['p1_before']:.2f} -> {res['p1_after']:.2f}")]


def measure(workdir: str, n: int) -> dict[str, Any]:
    from core.plugin_api import AnalysisData
    from core.progress import null_progress
    from plugins.languages.analysis import LanguagesParams, compute

    rng = np.random.default_rng(0)
    meaning = clustered_vectors(n // 3 + 1)
    language = np.arange(n) % 3
    pair = np.arange(n) // 3
    offsets = 0.05 * rng.standard_normal((3, meaning.shape[1])).astype(np.float32)
    vectors = meaning[pair] + offsets[language] + 0.01 * rng.standard_normal((n, meaning.shape[1])).astype(np.float32)
    labels = {"language": np.array(["en", "de", "fr"])[language], "pair": pair.astype(str)}
    data = AnalysisData(vectors, np.arange(n), extras={"labels": labels})
    start = time.perf_counter()
    result = compute(data, LanguagesParams(pair_column="pair"), null_progress())
    return {"seconds": time.perf_counter() - start, "probe_before": result.before.probe_accuracy,
            "probe_after": result.after.probe_accuracy, "p1_before": result.before.translation_p_at_1,
            "p1_after": result.after.translation_p_at_1}
