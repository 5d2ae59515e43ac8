"""Bring-your-own vectors: import from Parquet, JSONL and .npy + .txt, clear errors for
bad files, and an exact round trip through ``export_set``."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.vector_io import VectorFileError, export_set, import_vectors, read_vector_file

TOPICS = ("cats", "ships", "bread")


def _corpus(n: int = 40, d: int = 8, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    texts = [f"Text {i} about {TOPICS[i % 3]}" for i in range(n)]
    # float32 values with full mantissas (not round decimals): an exact round trip is meaningful
    return texts, (rng.normal(size=(n, d)) * 10 ** rng.uniform(-3, 3, size=(n, 1))).astype(np.float32)


def _parquet(path, texts, vectors, **extra) -> None:
    offsets = pa.array(np.arange(0, vectors.size + 1, vectors.shape[1], dtype=np.int32))
    columns = {"text": texts, "embedding": pa.ListArray.from_arrays(offsets, pa.array(vectors.ravel())), **extra}
    pq.write_table(pa.table(columns), path)


def _exported(path) -> tuple[list[str], np.ndarray, list[dict]]:
    table = pq.read_table(path)
    vectors = table["vector"].combine_chunks().flatten().to_numpy().reshape(table.num_rows, -1)
    return table["text"].to_pylist(), vectors, [json.loads(m) for m in table["metadata"].to_pylist()]


def test_parquet_vectors_round_trip_exactly(store, tmp_path):
    texts, vectors = _corpus()
    _parquet(tmp_path / "mine.parquet", texts, vectors, topic=[TOPICS[i % 3] for i in range(40)], rank=list(range(40)))
    done = import_vectors(store, tmp_path / "mine.parquet", "my-model")
    assert (done.rows, done.dim, done.added, done.matched) == (40, 8, 40, 0)
    model = next(m for m in store.models() if m.name == "my-model")
    assert model.kind == "imported" and model.dim == 8
    assert store.collection(done.collection_id).name == "mine"
    assert store.embedding_sets(done.collection_id)[0].complete
    assert export_set(store, [done.collection_id], model.id, tmp_path / "out.parquet") == 40
    out_texts, out_vectors, metas = _exported(tmp_path / "out.parquet")
    assert out_texts == texts and out_vectors.dtype == np.float32
    assert np.array_equal(out_vectors.view(np.uint32), vectors.view(np.uint32))  # bit for bit
    assert metas[4] == {"topic": "ships", "rank": 4}
    # the exported file imports again (its metadata JSON unpacked) and exports identically
    again = import_vectors(store, tmp_path / "out.parquet", "my-model-2", collection_name="again")
    export_set(store, [again.collection_id], again.model_id, tmp_path / "out2.parquet")
    texts_2, vectors_2, metas_2 = _exported(tmp_path / "out2.parquet")
    assert texts_2 == texts and metas_2 == metas and np.array_equal(vectors_2.view(np.uint32), vectors.view(np.uint32))


def test_npy_beside_text_and_jsonl_import(store, tmp_path):
    texts, vectors = _corpus(12, 5)
    (tmp_path / "corpus.txt").write_text("\n".join(texts) + "\n\n", encoding="utf-8")
    np.save(tmp_path / "corpus.npy", vectors)
    done = import_vectors(store, tmp_path / "corpus.npy", "npy-model")
    export_set(store, [done.collection_id], done.model_id, tmp_path / "npy.parquet")
    assert np.array_equal(_exported(tmp_path / "npy.parquet")[1], vectors)
    with open(tmp_path / "v.jsonl", "w", encoding="utf-8") as handle:
        for text, vector in zip(texts, vectors):
            handle.write(json.dumps({"text": text, "vector": vector.tolist(), "lang": "en"}) + "\n")
    found = read_vector_file(tmp_path / "v.jsonl")
    assert np.array_equal(found.vectors, vectors) and found.metas[0] == {"lang": "en"}


def test_vectors_for_an_existing_collection_are_matched_by_text(store, tmp_path, hashing):
    from core.pipeline import embed_pending

    texts, vectors = _corpus(10, 4)
    cid = store.create_collection("notes")
    store.add_documents(cid, texts)
    embed_pending(store, hashing, [cid])
    _parquet(tmp_path / "v.parquet", texts[::-1], vectors[::-1])  # any order: matched by text
    done = import_vectors(store, tmp_path / "v.parquet", "mine", collection_name="notes")
    assert (done.collection_id, done.added, done.matched) == (cid, 0, 10)
    assert len(store.collections()) == 1 and {s.model_name for s in store.embedding_sets(cid)} == {"hashing-64", "mine"}
    ids, _, stored = store.load_vectors([cid], done.model_id)
    assert np.array_equal(stored, vectors)  # documents in id order = the original order
    _parquet(tmp_path / "extra.parquet", [*texts, "not in the collection"], np.vstack([vectors, vectors[:1]]))
    with pytest.raises(VectorFileError, match=r"1 of 11 rows .* not in collection 'notes' \(first: row 11\)"):
        import_vectors(store, tmp_path / "extra.parquet", "mine-2", collection_name="notes")
    with pytest.raises(VectorFileError, match=r"'hashing-64' is already a model of this workspace \(kind: encoder\)"):
        import_vectors(store, tmp_path / "v.parquet", "hashing-64")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda v: v.__setitem__((6, 2), np.nan), r"row 7 of column 'embedding' has a NaN or infinite value \(dimension 3\)"),
        (lambda v: v.__setitem__((3, 0), np.inf), r"row 4 of column 'embedding' has a NaN or infinite value"),
    ],
)
def test_non_finite_values_name_the_row(tmp_path, make, message):
    texts, vectors = _corpus(10, 4)
    make(vectors)
    _parquet(tmp_path / "bad.parquet", texts, vectors)
    with pytest.raises(VectorFileError, match=message):
        read_vector_file(tmp_path / "bad.parquet")


@pytest.mark.parametrize(
    "row_three, message",
    [
        ("0.5, 0.5", "row 3 of column 'vector' is not a list of numbers"),
        (["a", "b"], "row 3 of column 'vector' is not a list of numbers"),
        (None, "row 3 of column 'vector' has no vector"),
        ([0.5, None], "a vector in column 'vector' holds a missing value"),
    ],
)
def test_rows_that_are_not_vectors_are_named(tmp_path, row_three, message):
    """The same checks and words for JSONL rows and for a Parquet list column."""
    rows = [[0.1, 0.2], [0.3, 0.4], row_three, [0.5, 0.6]]
    texts = [f"text {i}" for i in range(4)]
    (tmp_path / "v.jsonl").write_text("\n".join(json.dumps({"text": t, "vector": r}) for t, r in zip(texts, rows)))
    with pytest.raises(VectorFileError, match=message):
        read_vector_file(tmp_path / "v.jsonl")
    if isinstance(row_three, list) and all(isinstance(v, float) or v is None for v in row_three):
        pq.write_table(pa.table({"text": texts, "vector": pa.array(rows, pa.list_(pa.float32()))}), tmp_path / "v.parquet")
        with pytest.raises(VectorFileError, match=message):
            read_vector_file(tmp_path / "v.parquet")


def test_bad_files_get_clear_messages(store, tmp_path):
    texts, vectors = _corpus(6, 3)
    rows = [list(map(float, v)) for v in vectors]
    rows[4] = rows[4][:2]
    pq.write_table(pa.table({"text": texts, "vector": rows}), tmp_path / "ragged.parquet")
    with pytest.raises(VectorFileError, match="inconsistent dimension: row 5 of column 'vector' holds 2 values, not 3"):
        read_vector_file(tmp_path / "ragged.parquet")
    with open(tmp_path / "ragged.jsonl", "w") as handle:
        handle.writelines(json.dumps({"text": t, "embedding": r}) + "\n" for t, r in zip(texts, rows))
    with pytest.raises(VectorFileError, match="inconsistent dimension: row 5 of column 'embedding' holds 2 values, not 3"):
        read_vector_file(tmp_path / "ragged.jsonl")
    (tmp_path / "c.txt").write_text("\n".join(texts[:5]), encoding="utf-8")
    np.save(tmp_path / "c.npy", vectors)
    with pytest.raises(VectorFileError, match="c.txt has 5 documents .* but c.npy has 6 rows"):
        import_vectors(store, tmp_path / "c.txt", "m")
    pq.write_table(pa.table({"text": texts}), tmp_path / "novec.parquet")
    with pytest.raises(VectorFileError, match="no vector column found .*columns: text"):
        read_vector_file(tmp_path / "novec.parquet")
    _parquet(tmp_path / "dup.parquet", [texts[0], texts[1], texts[0]], vectors[:3])
    with pytest.raises(VectorFileError, match="rows 1 and 3 have the same text but different vectors"):
        import_vectors(store, tmp_path / "dup.parquet", "m")
    assert store.collections() == []  # nothing half-imported


def test_cli_import_and_export(tmp_path, capsys):
    from commands.cli import main

    texts, vectors = _corpus(20, 6)
    _parquet(tmp_path / "in.parquet", texts, vectors)
    ws = str(tmp_path / "w.duckdb")
    assert main(["import-vectors", str(tmp_path / "in.parquet"), "--workspace", ws, "--model", "byo",
                 "--collection", "mine"]) == 0
    assert "Imported 20 vectors (6-d) as model 'byo' into collection 'mine'" in capsys.readouterr().out
    assert main(["export-set", "--workspace", ws, "--model", "byo", "--collection", "mine",
                 "--out", str(tmp_path / "out.parquet")]) == 0
    assert np.array_equal(_exported(tmp_path / "out.parquet")[1], vectors)
    assert main(["export-set", "--workspace", ws, "--model", "nope", "--out", str(tmp_path / "x.parquet")]) == 1
    assert "no model named 'nope'" in capsys.readouterr().err
    (tmp_path / "bad.jsonl").write_text('{"text": "a", "vector": [1, 2]}\nnot json\n', encoding="utf-8")
    assert main(["import-vectors", str(tmp_path / "bad.jsonl"), "--workspace", ws, "--model", "x"]) == 1
    assert "line 2 is not valid JSON" in capsys.readouterr().err
