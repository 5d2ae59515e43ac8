"""Headless access to a workspace: the rows of a collection, the geometry report,
the comparison of two models and a semantic query — what the CLI prints and scripts call."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.compare import SpaceCache, aligned_vectors
from core.doc_fields import DOC_ID, metadata_rows, split_fields
from core.duplicates import HASHES_KEY, distinct_rows, shared_graph
from core.knn_cache import KnnCache
from core.plugin_api import AnalysisData
from core.progress import null_progress
from core.result_cache import load_result, save_result
from core.store import Store, data_key
from plugins.compare.analysis import CompareParams, compare_pair


@dataclass(frozen=True)
class WorkspaceView:
    """The embedded rows of some collections under one model."""

    store: Store
    data: AnalysisData
    key: str
    collection_names: list[str]
    model_name: str
    labels: dict[str, np.ndarray]


def load_view(workspace: str, collection: str | None = None, model: str | None = None) -> WorkspaceView:
    """Open ``workspace`` and load the vectors of ``collection`` (all when None) under ``model``.

    ``model`` defaults to the first model that has vectors for the collections.
    Raises LookupError naming what exists when a name is unknown.
    """
    store = Store.open(workspace)
    collections = [c for c in store.collections() if c.status == "ready"]  # never a half-imported one
    if collection is not None:
        collections = [c for c in collections if c.name == collection]
        if not collections:
            names = ", ".join(c.name for c in store.collections()) or "none"
            store.close()
            raise LookupError(f"no collection named {collection!r} (collections: {names})")
    ids = [c.id for c in collections]
    sets = [s for s in store.embedding_sets() if s.collection_id in ids and s.n_embedded > 0]
    if model is not None:
        sets = [s for s in sets if s.model_name == model]
    if not sets:
        store.close()
        raise LookupError("nothing is embedded there yet" + (f" with model {model!r}" if model else ""))
    model_id, model_name = sets[0].model_id, sets[0].model_name
    doc_ids, cols, vectors = store.load_vectors(ids, model_id)
    # content hashes: the views fold exact duplicate texts as the window does (core.duplicates)
    data = AnalysisData(vectors=vectors, doc_ids=doc_ids, collection_ids=cols,
                        extras={HASHES_KEY: store.hashes(doc_ids, raw=True)})
    key = distinct_rows(data).cache_key(data_key(model_id, doc_ids))
    return WorkspaceView(store, data, key, [c.name for c in collections], model_name, store.labels(doc_ids))


def with_graph(view: WorkspaceView, k: int) -> AnalysisData:
    """The view's data with the shared kNN graph (cached in the workspace)."""
    graph = shared_graph(view.data, view.key, k, KnnCache(view.store).get)
    return AnalysisData(view.data.vectors, view.data.doc_ids, view.data.collection_ids, knn=graph,
                        extras=view.data.extras)


def map_result(view: WorkspaceView, params: Any) -> Any:
    """The saved projection of the view under ``params`` (a MapParams), else one computed and saved now."""
    from plugins.map.analysis import compute

    result = load_result(view.store, "map", view.key, params)
    if result is None:
        result = compute(with_graph(view, params.graph_k), params, null_progress())
        save_result(view.store, "map", view.key, params, result)
    return result


def export_html(view: WorkspaceView, out: str | Path, color_by: str = "collection", title: str | None = None) -> Path:
    """Write the view's map as one self-contained interactive HTML page (``export-html``).

    Hover shows the ``title`` column when the documents have one, else the text's start.
    """
    from core.html_map import HtmlMap, write_html_map
    from plugins.map.analysis import MapParams

    try:
        if color_by not in view.labels:
            raise LookupError(f"cannot colour by {color_by!r}; choose one of: {', '.join(view.labels)}")
        result = map_result(view, MapParams())
        texts = view.store.texts(view.data.doc_ids)
        titles = [str(t) for t in view.labels["title"]] if "title" in view.labels else texts
        spec = HtmlMap(
            xy=result.coords, titles=titles, snippets=texts, color_name=color_by, color_values=view.labels[color_by],
            title=title or ", ".join(view.collection_names),
            manifest={"workspace": str(view.store.path), "collections": view.collection_names, "model": view.model_name,
                      "projection": result.method, "projection_params": result.params, "n_points": view.data.n},
        )
        return write_html_map(spec, out)
    finally:
        view.store.close()


def analyze_workspace(workspace: str, collection: str | None, model: str | None, k: int = 10) -> dict[str, Any]:
    """Every hubness, anisotropy and intrinsic-dimension measure as one JSON-able dict."""
    from plugins.anisotropy.analysis import AnisotropyParams
    from plugins.anisotropy.analysis import compute as anisotropy
    from plugins.hubness.analysis import HubnessParams
    from plugins.hubness.analysis import compute as hubness

    view = load_view(workspace, collection, model)
    try:
        if view.data.n <= k:
            raise LookupError(f"only {view.data.n:,} documents are embedded there, and k = {k} neighbours need "
                              f"more than k; use -k {max(1, view.data.n - 1)} or less, or embed more documents")
        params = HubnessParams(k=k)
        data = with_graph(view, params.graph_k)
        hub = hubness(data, params, null_progress())
        out: dict[str, Any] = {"n": data.n, "n_distinct_texts": int(hub.points.size), "duplicates": "fold",
                               "dim": int(data.vectors.shape[1]), "model": view.model_name}
        out["hubness"] = {**hub.measures.as_dict(), "reduced": {m: v.as_dict() for m, v in hub.method_measures.items()}}
        out.update(anisotropy(data, AnisotropyParams(), null_progress()).as_dict())
        return out
    finally:
        view.store.close()


def view_report(workspace: str, collection: str | None, model: str | None,
                measure: Callable[[WorkspaceView], dict[str, Any]]) -> dict[str, Any]:
    """``measure`` of the view of ``collection`` under ``model`` as JSON, with the model, n and dimension."""
    view = load_view(workspace, collection, model)
    try:
        return {"model": view.model_name, "n": view.data.n, "dim": int(view.data.vectors.shape[1]), **measure(view)}
    finally:
        view.store.close()


def clusters_report(workspace: str, collection: str | None, model: str | None) -> dict[str, Any]:
    """Clusters of the map (the app's saved layout, else one computed and saved now) with keywords,
    representative documents and per-cluster measures, as JSON; names users gave them in the app included."""
    from core.result_cache import Shelf
    from plugins.clusters.analysis import ClustersParams
    from plugins.clusters.analysis import compute as clusters
    from plugins.clusters.names import SHELF_NAME, names_from_arrays
    from plugins.map.analysis import MapParams

    def measure(view: WorkspaceView) -> dict[str, Any]:
        params = ClustersParams()
        layout = map_result(view, MapParams())
        base = with_graph(view, params.graph_k)
        data = AnalysisData(base.vectors, base.doc_ids, base.collection_ids, knn=base.knn, coords=layout.coords,
                            extras={"texts": view.store.texts})
        result = clusters(data, params, null_progress())
        renamed = names_from_arrays(result, Shelf(view.store).get(SHELF_NAME))
        return {"levels": result.n_levels, "status": result.status, "clusters": result.table(renamed)}

    return view_report(workspace, collection, model, measure)


def robustness_report(workspace: str, collection: str | None, model: str | None, k: int,
                      dims: tuple[int, ...], quantisations: tuple[str, ...], sample: int) -> dict[str, Any]:
    """k-NN agreement of truncated and quantised forms of the set with its float32 space, as JSON."""
    from plugins.robustness.analysis import RobustnessParams
    from plugins.robustness.analysis import compute as robustness

    params = RobustnessParams(k=k, dims=dims, quantisations=quantisations, sample=sample)
    return view_report(workspace, collection, model, lambda view: robustness(view.data, params, null_progress()).as_dict())


def languages_report(workspace: str, collection: str | None, model: str | None, column: str,
                     pair_column: str, correction: str) -> dict[str, Any]:
    """How much of the space encodes language, before and after removing it, as JSON."""
    from plugins.languages.analysis import LanguagesParams
    from plugins.languages.analysis import compute as languages

    params = LanguagesParams(column=column, pair_column=pair_column, correction=correction)

    def measure(view: WorkspaceView) -> dict[str, Any]:
        data = AnalysisData(view.data.vectors, view.data.doc_ids, view.data.collection_ids, extras={"labels": view.labels})
        return languages(data, params, null_progress()).as_dict()

    return view_report(workspace, collection, model, measure)


def layers_report(workspace: str, collection: str | None, model: str | None, sample: int, k: int) -> dict[str, Any]:
    """The geometry of every layer of the set's model over a seeded sample of its documents, as JSON."""
    from plugins.layers.analysis import LayersParams
    from plugins.layers.analysis import compute as layers

    params = LayersParams(sample=sample, k=k, run=True)

    def measure(view: WorkspaceView) -> dict[str, Any]:
        extras = {"model_name": view.model_name, "texts": view.store.texts}
        data = AnalysisData(view.data.vectors, view.data.doc_ids, view.data.collection_ids, extras=extras)
        return layers(data, params, null_progress()).as_dict()

    return view_report(workspace, collection, model, measure)


def neighbours_of_query(
    workspace: str, query: str, collection: str | None = None, model: str | None = None, k: int = 10
) -> list[dict[str, Any]]:
    """The ``k`` documents nearest to ``query``, encoded with the set's own model.

    Each hit: rank, similarity, ``_doc_id`` (the workspace's id), collection, text, and
    ``metadata``: the input columns under their own names (an input ``id`` among them).
    """
    from core.encoder import load_encoder
    from core.knn import query_knn

    view = load_view(workspace, collection, model)
    try:
        vector = load_encoder(view.model_name).encode([query])
        rows, distances = query_knn(view.data.vectors, vector, min(k, view.data.n))
        doc_ids = view.data.doc_ids[rows[0]]
        table = view.store.document_table(doc_ids)
        (_, collection, text), _ = split_fields(table)
        return [
            {"rank": r + 1, "similarity": float(1.0 - distances[0][r]), DOC_ID: int(doc_ids[r]),
             "collection": table[collection][r], "text": table[text][r], "metadata": meta}
            for r, meta in enumerate(metadata_rows(table))
        ]
    finally:
        view.store.close()


def compare_workspace(
    workspace: str, model_a: str | None, model_b: str, k: int = 10, collection: str | None = None
) -> dict[str, Any]:
    """``compare`` command: CKA, kNN overlap and per-space measures as a JSON-able dict.

    ``model_a`` defaults to the first other model with vectors for the
    collections. Graphs are cached in the workspace: a second run skips the kNN
    search.
    """
    view = load_view(workspace, collection, model_a)
    try:
        store = view.store
        models = {m.name: m.id for m in store.models()}
        if model_b not in models:
            raise LookupError(f"no model named {model_b!r} (models: {', '.join(models)})")
        ids = [c.id for c in store.collections() if c.name in view.collection_names]
        name_a, (doc_ids, cols, vectors) = view.model_name, (view.data.doc_ids, view.data.collection_ids, view.data.vectors)
        if model_a is None and name_a == model_b:
            others = [s.model_name for s in store.embedding_sets()
                      if s.collection_id in ids and s.n_embedded > 0 and s.model_name != model_b]
            if not others:
                raise LookupError(f"only {model_b!r} has vectors for these collections: nothing to compare it with")
            name_a = others[0]
            doc_ids, cols, vectors = store.load_vectors(ids, models[name_a])
        other_ids, _, other = store.load_vectors(ids, models[model_b])
        aligned = aligned_vectors(doc_ids, other_ids, other)
        both = int(np.isfinite(aligned).all(axis=1).sum())
        if both < 3:
            raise LookupError(f"only {both} documents have vectors under both {name_a!r} and {model_b!r}")
        data = AnalysisData(vectors, doc_ids, cols, extras={
            "spaces": {model_b: aligned}, "model_name": name_a, "space_cache": SpaceCache(store),
            "space_model_ids": {name_a: models[name_a], model_b: models[model_b]}})
        pair = compare_pair(data, model_b, CompareParams(k=k, layout="pca"), null_progress())
        return {
            "models": {"a": name_a, "b": model_b}, "collections": view.collection_names,
            "n": pair.n, "k": pair.k, "cka": pair.cka, "knn_overlap_mean": pair.overlap_mean,
            "a": pair.measures_a.as_dict(), "b": pair.measures_b.as_dict(),
        }
    finally:
        view.store.close()
