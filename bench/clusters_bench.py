"""Clusters and their labels (issue #20): the clusters plugin's compute against
what a user would write in a notebook.

Ours: ``plugins.clusters`` compute (nested HDBSCAN levels with fast_hdbscan,
c-TF-IDF keywords of every level, representatives, per-cluster N_k, antihubs,
cosine, TwoNN and kNN preservation), graph given, texts read through the same
lookup the app hands it. Baseline, on the same 2-D points and texts: sklearn's
``HDBSCAN`` (one flat level, same min_cluster_size) and BERTopic-style c-TF-IDF
written plainly with ``CountVectorizer`` (uni- and bigrams, English stop
words). Both sides run warm in one fresh process: each first clusters 3,000
points the same way, untimed (numba compiles on first use).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from bench.common import Figure, PeakMemory, Target, clustered_coords, clustered_vectors, corpus, gib, run_isolated, timed

QUICK_N, FULL_N = 5_000, 100_000
LIMIT_S = 15.0


def run(quick: bool) -> list[Figure]:
    n = QUICK_N if quick else FULL_N
    res = run_isolated("bench.clusters_bench:measure", timeout=3600, n=n)
    return [Figure(
        "clusters.labels", "Clusters + labels (all levels, measures)", "s", res["ours"], res["baseline"],
        res["ours"] / res["baseline"], "ours / notebook baseline time", Target("ours", "<", LIMIT_S), n=n, extra=res,
        notes=f"{res['clusters']} clusters on {res['levels']} levels (baseline: {res['baseline_clusters']} flat); "
              f"ours also measures every cluster; peak RSS {gib(res['peak']):.2f} GiB; graph built apart "
              f"({res['graph_s']:.1f} s)")]


def notebook_baseline(coords: np.ndarray, texts: list[str], min_cluster_size: int, min_samples: int) -> int:
    """sklearn HDBSCAN + BERTopic's c-TF-IDF as one writes it in a notebook; returns the number of clusters."""
    import scipy.sparse as sp
    from sklearn.cluster import HDBSCAN
    from sklearn.feature_extraction.text import CountVectorizer

    labels = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True).fit_predict(coords)
    k = int(labels.max()) + 1
    docs_per_class = [" ".join(t for t, lab in zip(texts, labels) if lab == c) for c in range(-1, k)]
    vectorizer = CountVectorizer(ngram_range=(1, 2), stop_words="english")
    counts = vectorizer.fit_transform(docs_per_class)
    words = np.asarray(counts.sum(axis=1)).ravel()
    freq = np.asarray(counts.sum(axis=0)).ravel()
    tf = sp.diags(1.0 / np.maximum(words, 1)) @ counts
    weights = tf @ sp.diags(np.log(1 + words.mean() / freq))
    terms = vectorizer.get_feature_names_out()
    for row in range(1, k + 1):
        dense = weights[row].toarray().ravel()
        _ = terms[np.argsort(-dense)[:5]]
    return k


def measure(workdir: str, n: int) -> dict[str, Any]:
    from core.knn import exact_knn
    from core.plugin_api import AnalysisData
    from core.progress import null_progress
    from plugins.clusters.analysis import ClustersParams, compute

    coords = clustered_coords(n)
    vectors = clustered_vectors(n)
    texts = [text for text, _ in corpus(n)]
    params = ClustersParams()

    def data_for(rows: slice) -> AnalysisData:
        x, ids = vectors[rows], np.arange(len(vectors))[rows]
        return AnalysisData(x, ids, knn=exact_knn(x, params.k), coords=coords[rows],
                            extras={"texts": lambda wanted: [texts[int(i)] for i in wanted]})

    warm = slice(0, 3000)  # numba compiles on first use, for both sides
    compute(data_for(warm), params, null_progress())
    notebook_baseline(coords[warm], texts[:3000], params.cluster_size_for(3000), params.min_samples)
    graph_s, data = timed(lambda: data_for(slice(None)))
    with PeakMemory() as mem:
        ours, result = timed(lambda: compute(data, params, null_progress()))
    baseline, k = timed(lambda: notebook_baseline(coords, texts, params.cluster_size_for(n), params.min_samples))
    return {"ours": ours, "baseline": baseline, "graph_s": graph_s, "peak": mem.peak, "clusters": len(result.clusters),
            "levels": result.n_levels, "baseline_clusters": k}
