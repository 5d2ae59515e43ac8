"""Interactive look-ups: the neighbours of a clicked point, and a semantic query.

Both measure the path the app runs, in a fresh process each:

* **click**: ``Session.select`` → ``PanelContext`` → ``NeighboursPanel`` fills its
  k nearest (rank, cosine, text, collection) and who-has-me lists, texts read
  from a real DuckDB workspace. The graph is a synthetic but valid
  ``KnnGraph`` with skewed k-occurrence (log-normal popularity, a hubby space),
  and the panel's result comes from the real ``neighbours`` compute.
* **query**: the bundled all-MiniLM-L6-v2 (already loaded, as the app keeps it)
  encodes the text on one torch thread, then the view's ``core.knn.QueryIndex``
  (prepared at the view's first query, timed apart) takes the top 20 of the
  stored vectors — the steps of ``EncoderService._serve_queries``.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import BenchError, Figure, Target, chunks, clustered_vectors, demo_rows, run_isolated, timed

QUICK_POINTS, FULL_POINTS = 20_000, 1_000_000
QUICK_DOCS, FULL_DOCS = 5_000, 100_000
CLICKS, QUERIES = 200, 30
GRAPH_K = 10
SEARCH_K = 20  # what the GUI's semantic search asks for
COLLECTIONS = ("news", "forum")
WRITE_BATCH = 50_000
CLICK_LIMIT_MS, QUERY_LIMIT_MS = 50.0, 200.0


def run(quick: bool) -> list[Figure]:
    return run_click(quick) + run_query(quick)


def _stats(ms: list[float]) -> tuple[float, float]:
    """(median, 95th percentile) of ``ms``."""
    return statistics.median(ms), float(np.percentile(ms, 95))


# --------------------------------------------------------------------- click


def run_click(quick: bool) -> list[Figure]:
    n = QUICK_POINTS if quick else FULL_POINTS
    res = run_isolated("bench.lookup:click", timeout=1800, n=n, clicks=CLICKS)
    median, p95 = _stats(res["painted_ms"])
    lookup, lookup_p95 = _stats(res["select_ms"])
    return [Figure(
        "lookup.neighbours", "Click → neighbours panel and document card painted, graph cached", "ms", median,
        target=Target("ours", "<", CLICK_LIMIT_MS), n=n, extra={k: v for k, v in res.items() if not k.endswith("_ms")},
        notes=f"median of {CLICKS} random rows after one warm-up, p95 {p95:.1f} ms, from Session.select until the "
              f"NeighboursPanel and the DocumentCard are repainted (k={GRAPH_K} nearest with rank, cosine, text, collection + the reverse "
              f"list; texts by id from DuckDB, {res['docs']:,} documents; the map's own highlight not included); "
              f"the look-up alone (until select returns) median {lookup:.1f}, p95 {lookup_p95:.1f} ms; reverse lists of the clicked rows: median "
              f"{res['nk_median']:.0f}, max {res['nk_max']}; the biggest hub (N_k={res['hub_nk']}) "
              f"{res['hub_ms']:.1f} ms; neighbours compute incl. the reverse index (once per graph) "
              f"{res['compute_s']:.1f} s")]


def _write_docs(path: Path, n: int) -> dict[int, str]:
    """A workspace of ``n`` short demo texts (numbered, so distinct) in two collections;
    returns {collection id: name}. No vectors: the graph is synthesised."""
    from core.store import Store

    rows = [r["text"] for r in demo_rows()]
    pick = np.random.default_rng(0).integers(len(rows), size=n)
    store = Store.open(path)
    try:
        names = {store.create_collection(name): name for name in COLLECTIONS}
        half = n // 2
        for cid, (lo, hi) in zip(names, ((0, half), (half, n))):
            for start, stop in chunks(hi - lo, WRITE_BATCH):
                store.add_documents(cid, [f"({lo + i + 1}) {rows[pick[lo + i]]}" for i in range(start, stop)])
    finally:
        store.close()
    return names


def synthetic_graph(n: int, k: int, seed: int = 0) -> Any:
    """A valid cosine ``KnnGraph`` of ``n`` rows: k distinct neighbours per row, never
    itself, distances ascending; neighbours drawn by a log-normal popularity, so
    the k-occurrence is skewed like a real text space's (hubs and antihubs)."""
    from core.plugin_api import KnnGraph

    rng = np.random.default_rng(seed)
    popularity = np.cumsum(rng.lognormal(0.0, 1.0, n))
    popularity /= popularity[-1]
    indices = np.empty((n, k), dtype=np.int64)
    for start, stop in chunks(n, 131_072):
        cand = np.minimum(np.searchsorted(popularity, rng.random((stop - start, k + 6))), n - 1)
        order = np.argsort(cand, axis=1, kind="stable")
        ordered = np.take_along_axis(cand, order, 1)
        repeat = np.zeros_like(ordered, dtype=bool)
        repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        bad = np.empty_like(repeat)
        np.put_along_axis(bad, order, repeat, 1)
        bad |= cand == np.arange(start, stop)[:, None]
        keep = np.argsort(bad, axis=1, kind="stable")[:, :k]
        if np.take_along_axis(bad, keep, 1).any():
            raise BenchError("synthetic graph: a row ran out of distinct candidates")
        indices[start:stop] = np.take_along_axis(cand, keep, 1)
    distances = np.sort(rng.uniform(0.05, 0.6, (n, k)).astype(np.float32), axis=1)
    return KnnGraph(indices, distances, "cosine")


def click(workdir: str, n: int, clicks: int) -> dict[str, Any]:
    """Per click: ms until ``Session.select([row])`` returns (the panel's tables filled) and
    until the events it queued (layout, paint) are processed."""
    from core.plugin_api import AnalysisData
    from core.store import Store, data_key
    from gui.app import make_app
    from gui.document_card import DocumentCard
    from gui.panel_base import PanelContext
    from gui.session import LoadedView, Session
    from plugins.neighbours.analysis import NeighboursParams, compute
    from plugins.neighbours.panel import NeighboursPanel

    app = make_app()
    path = Path(workdir) / "clicks.duckdb"
    write_s, names = timed(lambda: _write_docs(path, n))
    store = Store.open(path)
    session = Session(store)
    try:
        doc_ids = np.arange(1, n + 1, dtype=np.int64)  # as add_documents numbers them; _check verifies
        cols = np.repeat(np.fromiter(names, np.int64), (n // 2, n - n // 2))
        graph = synthetic_graph(n, GRAPH_K)
        # vectors are not needed: the graph is given and hashes stand in for exact duplicates
        data = AnalysisData(vectors=np.zeros((n, 0), np.float32), doc_ids=doc_ids, collection_ids=cols, knn=graph,
                            extras={"hashes": store.hashes(doc_ids), "collection_names": names,
                                    "duplicates": "keep"})  # the synthetic graph joins rows, not texts
        view = session.adopt((0, LoadedView(data, data_key(0, doc_ids), {}, tuple(names), 0)))
        if view is None:
            raise BenchError("the session refused the view")
        context = PanelContext()  # wired as MainWindow wires it
        context.set_text_lookup(session.texts)
        session.sig_selection_changed.connect(context.sig_selection_changed)
        session.sig_focus_changed.connect(context.sig_focus_changed)
        params = NeighboursParams(k=GRAPH_K)
        compute_s, result = timed(lambda: compute(data, params))
        panel = NeighboursPanel(context, params)
        panel.resize(520, 760)
        panel.show()
        panel.show_result(result)
        card = DocumentCard()  # wired as MainWindow wires it: it follows the session's focus
        card.attach(session)
        card.set_neighbours(result)
        card.resize(520, 760)
        card.show()
        app.processEvents()

        def one(row: int) -> tuple[float, float]:
            start = time.perf_counter()
            session.select(np.array([row]))
            selected = time.perf_counter() - start
            app.processEvents()  # layout and paint of the filled tables
            return 1000 * selected, 1000 * (time.perf_counter() - start)

        n_k = result.k_occurrence
        rows = np.random.default_rng(7).choice(n, size=clicks + 1, replace=False)
        one(int(rows[0]))
        times = [one(int(row)) for row in rows[1:]]
        _check(panel, result, int(rows[-1]))
        if f"({int(rows[-1]) + 1}) " not in card.text.toPlainText():
            raise BenchError(f"the document card does not show row {int(rows[-1])}")
        hub = int(np.argmax(n_k))
        hub_ms = one(hub)[1]
        _check(panel, result, hub)
        panel.close()
        card.close()
        return {"select_ms": [t[0] for t in times], "painted_ms": [t[1] for t in times], "docs": len(doc_ids),
                "write_s": write_s, "compute_s": compute_s, "hub_nk": int(n_k[hub]), "hub_ms": hub_ms,
                "nk_median": float(np.median(n_k[rows[1:]])), "nk_max": int(n_k[rows[1:]].max())}
    finally:
        session.close()
        store.close()


def _check(panel: Any, result: Any, row: int) -> None:
    """The panel shows ``row``'s own text (numbered by document id = row + 1), its k
    neighbours with their collection and its whole reverse list."""
    want = (GRAPH_K, int(result.k_occurrence[row]))
    got = (panel.neighbours.rowCount(), panel.reverse.rowCount())
    own = panel.source.text()
    if got != want or f"({row + 1}) " not in own or panel.neighbours.item(0, 3).text() not in COLLECTIONS:
        raise BenchError(f"row {row}: panel shows {got} rows (expected {want}), text {own[:60]!r}")


# --------------------------------------------------------------------- semantic query


def run_query(quick: bool) -> list[Figure]:
    n = QUICK_DOCS if quick else FULL_DOCS
    res = run_isolated("bench.lookup:query", timeout=1800, n=n, queries=QUERIES)
    median, p95 = _stats(res["total_ms"])
    encode, encode_p95 = _stats(res["encode_ms"])
    search, search_p95 = _stats(res["search_ms"])
    return [Figure(
        "lookup.semantic_query", "Semantic query, bundled model loaded", "ms", median,
        target=Target("ours", "<", QUERY_LIMIT_MS), n=n, extra=res,
        notes=f"median of {QUERIES} different queries after a warm-up, p95 {p95:.1f} ms; encode (all-MiniLM-L6-v2, "
              f"{res['threads']} torch threads) median {encode:.1f} / p95 {encode_p95:.1f} ms, top-{SEARCH_K} "
              f"search over {n:,} × 384 median {search:.1f} / p95 {search_p95:.1f} ms; the view's first query "
              f"also prepares its index once: {res['prepare_ms']:.0f} ms")]


def query_texts(count: int) -> list[str]:
    """``count`` distinct short queries: the first words of demo texts."""
    texts = list(dict.fromkeys(" ".join(r["text"].split()[:6]) for r in demo_rows()))
    if len(texts) < count + 1:
        raise BenchError(f"only {len(texts)} distinct demo queries")
    return texts[: count + 1]


def query(workdir: str, n: int, queries: int) -> dict[str, Any]:
    """Encode + top-k per query, timed separately, model loaded and warmed first."""
    from core.encoder import DEFAULT_MODEL, load_encoder, torch_threads
    from core.knn import QueryIndex

    vectors = clustered_vectors(n)
    encoder = load_encoder(DEFAULT_MODEL)
    encoder.load()
    texts = query_texts(queries)
    k = min(SEARCH_K, n)
    prepare_s, index = timed(lambda: QueryIndex(vectors))  # once per view, at its first query
    with torch_threads(1):
        index.search(encoder.encode([texts[0]])[:1], k)  # warm-up: first forward pass and search
    encode_ms, search_ms = [], []
    for text in texts[1:]:
        with torch_threads(1):
            encode_s, vector = timed(lambda: encoder.encode([text])[0])
        search_s, (rows, dist) = timed(lambda: index.search(np.asarray(vector, np.float32)[None, :], k))
        if rows.shape != (1, k) or not np.all(np.diff(dist[0]) >= 0):
            raise BenchError(f"QueryIndex.search returned {rows.shape} rows, distances not ascending")
        encode_ms.append(1000 * encode_s)
        search_ms.append(1000 * search_s)
    return {"encode_ms": encode_ms, "search_ms": search_ms, "prepare_ms": 1000 * prepare_s,
            "total_ms": [a + b for a, b in zip(encode_ms, search_ms)], "threads": 1}
