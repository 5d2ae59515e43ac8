"""A workspace too big to load: what the GUI does when it opens 10,000,000 x 384 vectors.

Above the session's sample limit (Settings.sample_limit) the app loads a
deterministic random sample of the embedded rows (the lowest ``priority``),
so memory and every view scale with the limit, not with the workspace. In a
fresh process, as :meth:`gui.session.Session._load` does: count the embedded
rows, load the sample's vectors, labels and hashes; peak RSS and seconds. The
kNN graph and the map (UMAP fitted on a sample, the rest transformed) of the
loaded sample are timed on a subset and extrapolated, labelled as such.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Figure, PeakMemory, Target, chunks, clustered_vectors, gib, peak_rss_bytes, run_isolated

QUICK_ROWS, FULL_ROWS = 300_000, 10_000_000
QUICK_LIMIT, FULL_LIMIT = 100_000, 1_000_000
#: rows timed through the kNN graph + map; a larger sample is extrapolated from here
QUICK_VIEW_ROWS, FULL_VIEW_ROWS = 10_000, 50_000
COLLECTIONS = 4
CATEGORIES = 10
WRITE_BATCH = 200_000
WRITE_MEMORY = "2GB"


def run(quick: bool) -> list[Figure]:
    n, limit = (QUICK_ROWS, QUICK_LIMIT) if quick else (FULL_ROWS, FULL_LIMIT)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        path = str(Path(tmp) / "scale.duckdb")
        written = run_isolated("bench.scale:write_workspace", timeout=4 * 3600, n=n, path=path)
        opened = run_isolated("bench.scale:open_sampled", timeout=3600, path=path, limit=limit)
        timed_views = run_isolated("bench.scale:views", timeout=3600, path=path, limit=limit,
                                   rows=QUICK_VIEW_ROWS if quick else FULL_VIEW_ROWS)
    return figures(n, limit, written, opened, timed_views)


def figures(n: int, limit: int, written: dict[str, Any], opened: dict[str, Any], views: dict[str, Any]) -> list[Figure]:
    """The results table rows of one run."""
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in opened["seconds"].items())
    measured = (f"measured on {views['rows']:,} rows: kNN graph ({views['knn_method']}) {views['knn_s']:.0f} s, "
                f"map ({views['map_method']}) {views['map_s']:.0f} s")
    if views["extrapolated"]:
        measured = (f"EXTRAPOLATED to {views['sample_rows']:,} rows, kNN x (n/m)^{views['knn_exponent']:g}, map x n/m "
                    f"(an upper bound: from {views['map_threshold']:,} rows the map fits on a sample and transforms); "
                    + measured)
    return [
        Figure("scale.open_sampled", "Open a big workspace: count + sampled load", "s", opened["total_s"],
               target=Target("ours", "<", 120.0), n=n,
               notes=f"{opened['rows']:,} of {opened['total_rows']:,} rows loaded (sample limit {limit:,}); {steps}",
               extra=opened),
        Figure("scale.open_sampled.memory", "Open a big workspace: peak RSS", "GiB", gib(opened["peak"]),
               target=Target("ours", "<", 4.0), n=n,
               notes=f"fresh process; the sample's vectors alone {opened['rows'] * 384 * 4 / 2**30:.2f} GiB, "
                     f"all vectors would be {n * 384 * 4 / 2**30:.1f} GiB"),
        Figure("scale.workspace_size", "Workspace file size", "GiB", written["bytes"] / 2**30, n=n,
               notes=f"{written['bytes'] / n:.0f} bytes a document (text, metadata, sha256, 384 float32); "
                     f"written in {written['seconds']:.0f} s ({n / written['seconds']:,.0f} docs/s)", extra=written),
        Figure("scale.sample_views", "kNN graph + map of the loaded sample", "s", views["total_s"],
               n=views["sample_rows"], notes=measured, extra=views),
    ]


def _write(path: Path, n: int) -> None:
    """``n`` documents in :data:`COLLECTIONS` collections with clustered 384-d vectors, in batches."""
    from core.store import Store, text_sha256

    store = Store.open(path)
    store._cur().execute(f"SET memory_limit = '{WRITE_MEMORY}'")  # DuckDB would cache the file up to 80 % of RAM
    try:
        model = store.ensure_model("bench-384", 384, True, 256)
        ids = [store.create_collection(f"part {c}") for c in range(COLLECTIONS)]
        for collection in ids:
            store.add_embedding_set(collection, model)
        for start, stop in chunks(n, WRITE_BATCH):
            texts = [f"document number {i}" for i in range(start, stop)]
            metas = [{"topic": f"topic {i % CATEGORIES}"} for i in range(start, stop)]
            store.add_documents(ids[start * COLLECTIONS // n], texts, metas)
            store.write_vectors(model, [text_sha256(t) for t in texts], clustered_vectors(stop - start, seed=start))
    finally:
        store.close()


def write_workspace(workdir: str, n: int, path: str) -> dict[str, Any]:
    start = time.perf_counter()
    _write(Path(path), n)
    return {"seconds": time.perf_counter() - start, "bytes": Path(path).stat().st_size}


def open_sampled(workdir: str, path: str, limit: int) -> dict[str, Any]:
    """What the session does on open, in a fresh process: count, sampled load, labels, hashes."""
    from core.store import Store

    seconds: dict[str, float] = {}
    with PeakMemory() as mem:
        t = time.perf_counter()
        store = Store.open(path, read_only=True)
        collections = [c.id for c in store.collections()]
        model = store.models()[0].id
        seconds["open"] = time.perf_counter() - t
        t = time.perf_counter()
        total = store.count_vectors(collections, model)
        seconds["count"] = time.perf_counter() - t
        t = time.perf_counter()
        doc_ids, _, vectors = store.load_vectors(collections, model, sample=limit if total > limit else None)
        seconds["sampled load"] = time.perf_counter() - t
        t = time.perf_counter()
        store.labels(doc_ids)
        store.hashes(doc_ids, raw=True)
        seconds["labels + hashes"] = time.perf_counter() - t
        store.close()
    return {"peak": mem.peak, "rows": int(len(doc_ids)), "total_rows": int(total), "dim": int(vectors.shape[1]),
            "seconds": seconds, "total_s": sum(seconds.values()), "peak_after_load_gib": gib(peak_rss_bytes())}


def views(workdir: str, path: str, limit: int, rows: int) -> dict[str, Any]:
    """The kNN graph (the method the app picks for the whole sample) and the map of ``rows`` of the
    loaded sample; above ``rows`` the total is extrapolated (``extrapolated``: True)."""
    from core.knn import EXACT_MAX_ROWS, build_knn
    from core.plugin_api import AnalysisData
    from core.progress import Progress
    from core.store import Store
    from core import umap_process
    from plugins.map.analysis import MapParams, compute

    store = Store.open(path, read_only=True)
    collections = [c.id for c in store.collections()]
    doc_ids, cols, vectors = store.load_vectors(collections, store.models()[0].id, sample=limit)
    store.close()
    n = len(doc_ids)
    pick = np.sort(np.random.default_rng(0).choice(n, size=min(rows, n), replace=False))
    x = np.ascontiguousarray(vectors[pick])
    del vectors
    method = "exact" if n <= EXACT_MAX_ROWS else "approximate"
    exponent = 2.0 if method == "exact" else 1.14  # NN-descent: ~n^1.14 (Dong, Charikar & Li, WWW 2011)
    params = MapParams()
    build_knn(x[:500], params.graph_k, method="exact")  # torch's first-call set-up, not the search
    umap_process.warm_up().result()  # numba compiles once per worker process (~20 s), untimed as in the app
    t = time.perf_counter()
    knn = build_knn(x, params.graph_k, method=method)
    knn_s = time.perf_counter() - t
    t = time.perf_counter()
    result = compute(AnalysisData(vectors=x, doc_ids=doc_ids[pick], collection_ids=cols[pick], knn=knn), params,
                     Progress())
    map_s = time.perf_counter() - t
    umap_process.shutdown()
    scale = n / len(x)
    return {"rows": len(x), "sample_rows": n, "extrapolated": scale > 1, "knn_method": method,
            "knn_exponent": exponent, "map_threshold": params.sample_fit_threshold, "knn_s": knn_s, "map_s": map_s, "map_method": result.method,
            "total_s": knn_s * scale ** exponent + map_s * scale}
