"""Collection interchange: one Parquet file carries a collection and its embedding sets
from one workspace to another, exactly; damaged files are refused with clear messages."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from commands.cli import main
from core.encoder import HashingEncoder
from core.interchange import (
    META_KEY,
    InterchangeError,
    export_collection,
    import_collection,
    truncated_column,
    vector_column,
)
from core.pipeline import embed_pending
from core.store import Store

TEXTS = ["Cats purr at night.", "Ships sail at dawn.", "Cats purr at night.", "Bread rises slowly — ça lève.",
         "word " * 300, "A text no model has seen yet."]
METAS = [{"topic": "cats", "rank": 1}, {}, {"topic": "cats", "note": None}, {"nested": {"a": [1, 2.5]}, "ü": "ß"},
         {"long": True}, {"topic": "new"}]
SOURCES = ["a.csv", "a.csv", "b.csv", None, "c.txt", "c.txt"]


def _rows(store: Store, collection_id: int) -> list[tuple]:
    """Every stored field of the collection's documents except the ids (raw metadata JSON included)."""
    return store._cur().execute(
        "SELECT position, text, meta::VARCHAR, sha256, source FROM documents WHERE collection_id = ? ORDER BY position",
        [collection_id]).fetchall()


@pytest.fixture
def source(tmp_path):
    """A collection with two embedding sets: hashing-64 (one long text truncated, the last text
    not embedded) and an 'imported' 5-d model with full-mantissa float32 vectors."""
    store = Store.open(tmp_path / "server.duckdb")
    collection_id = store.create_collection("papers", "/data/papers.csv", "f" * 64)
    store.add_documents(collection_id, TEXTS[:5], METAS[:5], SOURCES[:5])
    embed_pending(store, HashingEncoder(64), [collection_id])
    store.add_documents(collection_id, TEXTS[5:], METAS[5:], SOURCES[5:])
    rng = np.random.default_rng(3)
    vectors = (rng.normal(size=(5, 5)) * 10 ** rng.uniform(-3, 3, size=(5, 1))).astype(np.float32)
    mine = store.ensure_model("mine", 5, False, None, kind="imported")
    store.add_embedding_set(collection_id, mine)
    unique = list(dict.fromkeys(store.hashes(store.search_text([collection_id], ""))))
    store.write_vectors(mine, unique, vectors)
    yield store, collection_id
    store.close()


def test_round_trip_is_exact(source, tmp_path):
    store, collection_id = source
    done = export_collection(store, collection_id, tmp_path / "papers.parquet")
    assert done.rows == 6 and set(done.models) == {"hashing-64", "mine"}
    desk = Store.open(tmp_path / "desk.duckdb")
    try:
        got = import_collection(desk, tmp_path / "papers.parquet")
        # vectors computed elsewhere are kept apart from the workspace's own: an encoder's become "<name> (imported)"
        assert got.documents == 6 and dict(got.embedded) == {"hashing-64 (imported)": 5, "mine": 6}
        new = desk.collection(got.collection_id)
        assert (new.name, new.source, new.status) == ("papers", "/data/papers.csv", "ready")
        assert desk.find_collection_by_source("f" * 64) == (got.collection_id, "ready")  # a re-drop is recognised
        assert _rows(desk, got.collection_id) == _rows(store, collection_id)  # texts, metadata JSON, hashes, sources
        for name, imported in (("hashing-64", "hashing-64 (imported)"), ("mine", "mine")):
            before = next(m for m in store.models() if m.name == name)
            after = next(m for m in desk.models() if m.name == imported)
            assert (after.kind, after.dim, after.normalizes, after.max_seq_length) == \
                   ("imported", before.dim, before.normalizes, before.max_seq_length)
            _, _, old = store.load_vectors([collection_id], before.id)
            _, _, new_vectors = desk.load_vectors([got.collection_id], after.id)
            assert np.array_equal(new_vectors.view(np.uint32), old.view(np.uint32))  # bit for bit
            assert desk.truncated_count([got.collection_id], after.id) == store.truncated_count([collection_id], before.id)
        assert desk.truncated_count([got.collection_id], 1) == 1  # the 300-word text
        export_collection(desk, got.collection_id, tmp_path / "again.parquet")
    finally:
        desk.close()
    first, again = pq.read_table(tmp_path / "papers.parquet"), pq.read_table(tmp_path / "again.parquet")
    assert again.rename_columns([c.replace(" (imported)", "") for c in again.column_names]).equals(first)
    header = json.loads(again.schema.metadata[META_KEY])
    assert [(m["name"], m["kind"]) for m in header["models"]] == [("hashing-64 (imported)", "imported"),
                                                                 ("mine", "imported")]
    assert first.column(vector_column("hashing-64")).null_count == 1  # the text hashing-64 has not embedded


def test_cli_export_one_model_and_import_twice(source, tmp_path, capsys):
    store, collection_id = source
    store.close()
    out = tmp_path / "one.parquet"
    assert main(["export-collection", "--workspace", str(tmp_path / "server.duckdb"), "--collection", "papers",
                 "--model", "mine", "--out", str(out)]) == 0
    assert "6 documents with vectors of mine" in capsys.readouterr().out
    assert vector_column("hashing-64") not in pq.read_schema(out).names
    desk = str(tmp_path / "desk.duckdb")
    for _ in range(2):
        assert main(["import-collection", "--workspace", desk, str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Imported collection 'papers': 6 documents; 6 embedded with mine." in printed
    assert "Imported collection 'papers (2)'" in printed
    assert main(["export-collection", "--workspace", desk, "--collection", "papers", "--model", "nope",
                 "--out", str(tmp_path / "x.parquet")]) == 1
    assert "no vectors of model 'nope'" in capsys.readouterr().err


def _rewrite(path, change) -> None:
    table = pq.read_table(path)
    pq.write_table(change(table), path)


def _with_header(table: pa.Table, edit) -> pa.Table:
    header = json.loads(table.schema.metadata[META_KEY])
    edit(header)
    return table.replace_schema_metadata({META_KEY: json.dumps(header)})


def _swap_column(table: pa.Table, name: str, values) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


BAD_FILES = {
    "missing column": (lambda t: t.drop_columns(["sha256"]), "column 'sha256' is missing"),
    "missing vectors": (lambda t: t.drop_columns([vector_column("mine")]), "column 'vector:mine' for model 'mine' is missing"),
    "wrong dim": (lambda t: _with_header(t, lambda h: h["models"][1].update(dim=4)),
                  "model 'mine' has 4-d vectors by its info, but column 'vector:mine' holds 5-d vectors"),
    "no collection info": (lambda t: t.replace_schema_metadata({}), "not written by export-collection"),
    "newer format": (lambda t: _with_header(t, lambda h: h.update(version=99)), "Update Embedding Explorer"),
    "edited text": (lambda t: _swap_column(t, "text", pa.array(["Dogs bark."] + TEXTS[1:])),
                    "row 1: sha256 does not match its text"),
    "metadata not an object": (lambda t: _swap_column(t, "metadata", pa.array(["[1, 2]"] * 6)),
                               "row 1: metadata is not a JSON object"),
    "ragged vectors": (lambda t: _swap_column(t, vector_column("mine"), pa.array([[0.5] * 5] * 5 + [[0.5] * 4],
                                                                                  pa.list_(pa.float32()))),
                       "inconsistent dimension: row 6 of column 'vector:mine' holds 4 values, not 5"),
    "NaN vector": (lambda t: _swap_column(t, vector_column("mine"), pa.array([None] + [[0.5] * 5] * 4 + [[float("nan")] * 5],
                                                                              pa.list_(pa.float32(), 5))),
                   "row 6 of column 'vector:mine' has a NaN"),
    "truncated file": (lambda t: t.slice(0, 4), "4 rows, but its info says 6"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_refused_clearly_and_change_nothing(source, tmp_path, case):
    store, collection_id = source
    path = tmp_path / "bad.parquet"
    export_collection(store, collection_id, path)
    change, message = BAD_FILES[case]
    _rewrite(path, change)
    desk = Store.open(tmp_path / "desk.duckdb")
    try:
        with pytest.raises(InterchangeError, match=message.replace("(", r"\(").replace(")", r"\)")):
            import_collection(desk, path)
        assert desk.collections() == [] and desk.models() == []
    finally:
        desk.close()


def test_a_model_of_another_dimension_in_the_workspace_is_refused(source, tmp_path):
    store, collection_id = source
    export_collection(store, collection_id, tmp_path / "papers.parquet", ["mine"])
    desk = Store.open(tmp_path / "desk.duckdb")
    try:
        desk.ensure_model("mine", 16, False, None, kind="imported")
        with pytest.raises(InterchangeError, match="the workspace's model 'mine' has 16-d vectors; this file's has 5-d"):
            import_collection(desk, tmp_path / "papers.parquet")
        assert desk.collections() == []
    finally:
        desk.close()


def test_a_failed_import_leaves_no_collection(source, tmp_path, monkeypatch):
    store, collection_id = source
    export_collection(store, collection_id, tmp_path / "papers.parquet")
    desk = Store.open(tmp_path / "desk.duckdb")
    try:
        def full_disk(*args, **kwargs):
            raise OSError("No space left on device")

        monkeypatch.setattr(desk, "write_vectors", full_disk)
        with pytest.raises(OSError, match="No space left"):
            import_collection(desk, tmp_path / "papers.parquet")
        assert desk.collections() == []
    finally:
        desk.close()


def test_an_empty_or_unknown_collection_cannot_be_exported(store, tmp_path):
    empty = store.create_collection("empty")
    with pytest.raises(LookupError, match="'empty' has no documents"):
        export_collection(store, empty, tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()
    store.add_documents(empty, ["one text"])
    assert export_collection(store, empty, tmp_path / "x.parquet").models == ()  # documents only
    assert truncated_column("m") not in pq.read_schema(tmp_path / "x.parquet").names
