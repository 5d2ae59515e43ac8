"""Input columns keep their own names everywhere: colour list, tables, export-set, neighbors --json, analyze."""
from __future__ import annotations

import json

import pyarrow.parquet as pq

from commands.headless import analyze_workspace, neighbours_of_query
from core.encoder import HashingEncoder
from core.pipeline import embed_pending, import_paths
from core.store import Store
from core.vector_io import export_set

ROWS = [(9001, "cats", "a cat sleeps on the warm windowsill all afternoon"),
        (9002, "ships", "a ship crosses the cold northern sea at night"),
        (9003, "bread", "bread rises slowly in a warm oven before dawn"),
        (9004, "cats", "a cat sleeps on the warm windowsill all afternoon"),  # an exact copy of 9001's text
        (9005, "rain", "heavy rain floods the old town streets in spring"),
        (9006, "stars", "stars and planets shine over the quiet desert"),
        (9007, "goals", "the striker scores two late goals in the final")]


def workspace(tmp_path) -> str:
    """A workspace holding a CSV with its own ``id`` and ``collection`` columns, embedded by the hashing model."""
    corpus = tmp_path / "papers.csv"
    lines = ["id,collection,abstract"] + [f"{i},{c},{t}" for i, c, t in ROWS]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = str(tmp_path / "w.duckdb")
    store = Store.open(path)
    try:
        outcome = import_paths(store, [corpus])
        embed_pending(store, HashingEncoder(64), outcome.all_ids)
    finally:
        store.close()
    return path


def test_id_and_collection_columns_survive_next_to_the_apps_fields(tmp_path):
    store = Store.open(workspace(tmp_path))
    try:
        doc_ids = store.search_text([1], "")
        labels = store.labels(doc_ids)
        assert [int(v) for v in labels["id"]] == [row[0] for row in ROWS]
        assert labels["collection"][:3].tolist() == ["cats", "ships", "bread"]  # the user's own column…
        assert set(labels["_collection"]) == {"papers"}  # …beside the app's, which steps aside
        table = store.document_table(doc_ids[:2])
        assert list(table)[:3] == ["_doc_id", "_collection", "text"]
        assert table["id"] == [9001, 9002] and table["_doc_id"] == doc_ids[:2].tolist()
        out = tmp_path / "set.parquet"
        export_set(store, [1], store.ensure_model("hashing-64"), out)
        exported = pq.read_table(out).to_pylist()
        assert json.loads(exported[0]["metadata"])["id"] == 9001 and exported[0]["id"] == doc_ids[0]
    finally:
        store.close()


def test_neighbors_json_nests_the_input_columns_and_analyze_counts_distinct_texts(tmp_path):
    path = workspace(tmp_path)
    hits = neighbours_of_query(path, "a cat sleeps on the warm windowsill", model="hashing-64", k=3)
    assert hits[0]["metadata"]["id"] in (9001, 9004) and hits[0]["metadata"]["collection"] == "cats"
    assert set(hits[0]) == {"rank", "similarity", "_doc_id", "collection", "text", "metadata"}
    report = analyze_workspace(path, None, "hashing-64", k=2)
    assert report["n"] == 7 and report["n_distinct_texts"] == 6  # one text is there twice
