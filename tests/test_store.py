"""The workspace store: round trips, content-hash dedup, migrations, locking, cache."""
from __future__ import annotations

import subprocess
import sys

import duckdb
import numpy as np
import pytest

from core.schema import SCHEMA_VERSION
from core.store import Store, data_key
from core.workspace_file import WorkspaceError, WorkspaceLockedError, WorkspaceTooNewError


def test_documents_and_vectors_round_trip(store):
    cid = store.create_collection("demo", source="x.csv")
    assert store.add_documents(cid, ["alpha", "beta", "alpha"], [{"topic": "a", "n": 1}, {"topic": "b", "n": 2}, {}]) == 3
    model = store.ensure_model("m", dim=3, normalizes=False)
    store.add_embedding_set(cid, model)
    pending = store.pending_texts([cid], model, 10)
    assert sorted(t for _, t in pending) == ["alpha", "beta"]  # the duplicate text is embedded once
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    store.write_vectors(model, [s for s, _ in pending], vectors)
    ids, cols, matrix = store.load_vectors([cid], model)
    assert ids.tolist() == [1, 2, 3] and cols.tolist() == [cid] * 3
    by_text = {t: vectors[i] for i, (_, t) in enumerate(pending)}
    for row, text in zip(matrix, store.texts(ids)):
        np.testing.assert_array_equal(row, by_text[text])
    assert store.count_pending([cid], model) == 0
    (info,) = store.embedding_sets()
    assert (info.n_docs, info.n_embedded, info.complete) == (3, 3, True)


def test_labels_split_numbers_and_categories(store):
    cid = store.create_collection("c")
    store.add_documents(cid, ["a", "b", "c"], [{"topic": "x", "year": 2020}, {"topic": "y", "year": 2021}, {"topic": "x"}])
    labels = store.labels(np.array([1, 2, 3]))
    assert labels["topic"].tolist() == ["x", "y", "x"]
    assert labels["year"][:2].tolist() == [2020.0, 2021.0] and np.isnan(labels["year"][2])
    assert labels["collection"].tolist() == ["c"] * 3


def test_collection_names_are_unique_and_delete_removes_documents(store):
    a = store.create_collection("same")
    b = store.create_collection("same")
    assert [c.name for c in store.collections()] == ["same", "same (2)"]
    store.add_documents(b, ["t"])
    store.delete_collection(b)
    assert [c.id for c in store.collections()] == [a]
    assert store.texts([1]) == [""]


def test_search_text_is_case_insensitive(store):
    cid = store.create_collection("c")
    store.add_documents(cid, ["Hello World", "other", "hello again"])
    assert store.search_text([cid], "HELLO").tolist() == [1, 3]


def test_analysis_cache_round_trip_without_pickle(store):
    arrays = {"a": np.arange(5), "s": np.array("text")}
    store.cache_put("p", "key", "{}", arrays)
    back = store.cache_get("p", "key", "{}")
    np.testing.assert_array_equal(back["a"], arrays["a"])
    assert str(back["s"]) == "text"
    assert store.cache_get("p", "other", "{}") is None


def test_data_key_changes_with_rows():
    assert data_key(1, np.array([1, 2])) != data_key(1, np.array([1, 2, 3]))
    assert data_key(1, np.array([1, 2])) != data_key(2, np.array([1, 2]))


def test_empty_file_gets_the_current_schema(tmp_path):
    store = Store.open(tmp_path / "fresh.duckdb")
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


def test_older_schema_is_migrated_after_a_backup(tmp_path, monkeypatch):
    import core.workspace_file as workspace_file
    from core.schema import MIGRATIONS

    path = tmp_path / "old.duckdb"
    old = Store.open(path)
    cid = old.create_collection("kept")
    old.add_documents(cid, ["survives the upgrade"])
    old.close()
    upgraded = [*MIGRATIONS, ["ALTER TABLE collections ADD COLUMN colour VARCHAR DEFAULT 'blue'"]]
    monkeypatch.setattr(workspace_file, "MIGRATIONS", upgraded)
    monkeypatch.setattr(workspace_file, "SCHEMA_VERSION", len(upgraded))
    store = Store.open(path)
    try:
        assert store.schema_version() == len(upgraded)
        assert store.texts([1]) == ["survives the upgrade"]
        assert store._cur().execute("SELECT colour FROM collections").fetchall() == [("blue",)]
    finally:
        store.close()
    backup = tmp_path / f"old.duckdb.v{SCHEMA_VERSION}.bak"
    assert backup.exists()
    con = duckdb.connect(str(backup), read_only=True)  # the backup is the untouched old version
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [(str(SCHEMA_VERSION),)]
    finally:
        con.close()


def test_newer_schema_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "new.duckdb"
    Store.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    with pytest.raises(WorkspaceTooNewError, match="Update Embedding Explorer"):
        Store.open(path)


def test_corrupt_file_gives_a_clear_message(tmp_path):
    path = tmp_path / "broken.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(WorkspaceError, match="not a readable workspace"):
        Store.open(path)


def test_workspace_held_by_another_process_is_reported(tmp_path):
    path = tmp_path / "held.duckdb"
    store = Store.open(path)
    try:
        code = (
            "import sys; from core.store import Store; from core.workspace_file import WorkspaceLockedError\n"
            f"try:\n    Store.open({str(path)!r})\nexcept WorkspaceLockedError as e:\n    print(e); sys.exit(3)\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert result.returncode == 3, result.stderr
        assert "open in another" in result.stdout
    finally:
        store.close()


def test_read_only_workspace_refuses_writes(tmp_path):
    path = tmp_path / "ro.duckdb"
    Store.open(path).close()
    store = Store.open(path, read_only=True)
    try:
        with pytest.raises(WorkspaceError, match="read-only"):
            store.create_collection("x")
    finally:
        store.close()
