"""Hostile files, foreign databases and interrupted commands (issue #17, items 2, 8, 11-15):
imported vectors never pose as a model's output, an interrupted import leaves nothing and
reruns whole, a database that is not a workspace is left alone, workers die with the app,
and every bad input gets a message instead of a traceback.

Every adversarial input is generated here, in ``tmp_path``.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from commands.cli import main
from core.encoder import HashingEncoder
from core.interchange import META_KEY, InterchangeError, export_collection, import_collection
from core.pipeline import embed_pending, import_paths
from core.store import Store
from core.vector_io import VectorFileError, import_vectors
from core.workspace_file import WorkspaceCorruptError, WorkspaceError, WorkspaceForeignError

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
TEXTS = [f"document {i} about topic {i % 7}" for i in range(40)]


def _embedded_workspace(path: Path, texts: list[str] = TEXTS, name: str = "papers") -> int:
    """A workspace at ``path`` with one collection of ``texts`` embedded by hashing-64; its id."""
    store = Store.open(path)
    try:
        collection_id = store.create_collection(name, f"/data/{name}.csv", "f" * 64)
        store.add_documents(collection_id, texts)
        embed_pending(store, HashingEncoder(64), [collection_id])
        return collection_id
    finally:
        store.close()


def _gone(pid: int, timeout: float = 30.0) -> bool:
    """Wait until process ``pid`` has exited (a pidfd wakes on the exit itself)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


# ---------------------------------------------------------------- 2: imported vectors are never a model's output

def test_02_imported_vectors_are_never_served_as_the_models_output(tmp_path):
    secret = "the user's own private sentence"
    server = Store.open(tmp_path / "server.duckdb")
    try:  # a forged file: it claims hashing-64 vectors, all of them one constant vector
        collection_id = server.create_collection("bait")
        server.add_documents(collection_id, [secret, "filler text"])
        model_id = server.ensure_model("hashing-64", 64, True, 256)
        server.add_embedding_set(collection_id, model_id)
        server.write_vectors(model_id, server.hashes(server.search_text([collection_id], "")).tolist(),
                             np.full((2, 64), 0.125, np.float32))
        export_collection(server, collection_id, tmp_path / "forged.parquet")
    finally:
        server.close()
    desk = Store.open(tmp_path / "desk.duckdb")
    try:
        import_collection(desk, tmp_path / "forged.parquet")
        assert {(m.name, m.kind) for m in desk.models()} == {("hashing-64 (imported)", "imported")}
        corpus = tmp_path / "mine.txt"
        corpus.write_text(secret + "\n", encoding="utf-8")
        mine = import_paths(desk, [corpus]).all_ids
        done = embed_pending(desk, HashingEncoder(64), mine)
        assert done.embedded == 1  # computed here, not taken from the file
        _, _, vectors = desk.load_vectors(mine, done.model_id)
        assert np.array_equal(vectors, HashingEncoder(64).encode([secret]))
        # vectors imported under a model's name never stand in for running that model
        (tmp_path / "named.txt").write_text("another sentence\n", encoding="utf-8")
        np.save(tmp_path / "named.npy", np.full((1, 32), 0.5, np.float32))
        import_vectors(desk, tmp_path / "named.npy", "hashing-32")
        with pytest.raises(WorkspaceError, match="'hashing-32' is taken in this workspace by imported vectors"):
            embed_pending(desk, HashingEncoder(32), mine)
    finally:
        desk.close()


def test_02_a_second_file_cannot_bring_other_vectors_for_texts_an_earlier_file_brought(tmp_path):
    for name, value in (("honest", 0.25), ("forged", 0.5)):
        server = Store.open(tmp_path / f"{name}.duckdb")
        try:
            collection_id = server.create_collection(name)
            server.add_documents(collection_id, ["a shared text", f"a text only {name} has"])
            model_id = server.ensure_model("hashing-64", 64, True, 256)
            server.add_embedding_set(collection_id, model_id)
            server.write_vectors(model_id, server.hashes(server.search_text([collection_id], "")).tolist(),
                                 np.full((2, 64), value, np.float32))
            export_collection(server, collection_id, tmp_path / f"{name}.parquet")
        finally:
            server.close()
    desk = Store.open(tmp_path / "desk.duckdb")
    try:
        import_collection(desk, tmp_path / "honest.parquet")
        with pytest.raises(InterchangeError, match="'hashing-64 \\(imported\\)' already holds a different vector"):
            import_collection(desk, tmp_path / "forged.parquet")
        assert [c.name for c in desk.collections()] == ["honest"]
    finally:
        desk.close()


# ---------------------------------------------------------------- 8: interrupted imports

KILLED_IMPORT = textwrap.dedent(
    """
    import sys
    from commands.cli import main
    from core.store import Store

    add = Store.add_documents

    def add_then_wait(self, *args, **kwargs):
        added = add(self, *args, **kwargs)
        print("added", added, flush=True)
        sys.stdin.readline()  # the test kills this process here, in the middle of the import
        return added

    Store.add_documents = add_then_wait
    sys.exit(main(sys.argv[1:]))
    """
)


def _kill_mid_import(args: list[str]) -> None:
    with subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, *args], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT) as worker:
        try:
            assert worker.stdout.readline().startswith("added")
        finally:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL


@pytest.mark.parametrize("command", ["import-collection", "import-vectors"])
def test_08_an_import_killed_midway_leaves_nothing_and_reruns_whole(tmp_path, command, capsys):
    server = tmp_path / "server.duckdb"
    collection_id = _embedded_workspace(server)
    store = Store.open(server)
    try:
        export_collection(store, collection_id, tmp_path / "papers.parquet")
    finally:
        store.close()
    desk = tmp_path / "desk.duckdb"
    extra = ["--model", "mine"] if command == "import-vectors" else []
    args = [command, str(tmp_path / "papers.parquet"), "--workspace", str(desk), *extra]
    if command == "import-vectors":  # an export-set style file: text and vector columns
        table = pq.read_table(tmp_path / "papers.parquet")
        pq.write_table(pa.table({"text": table["text"], "vector": table["vector:hashing-64"]}),
                       tmp_path / "papers.parquet")
    _kill_mid_import(args)
    store = Store.open(desk)
    try:
        assert store.collections() == []  # no half collection for embed or analyze to pick up
    finally:
        store.close()
    assert main(args) == 0
    assert "'papers'" in capsys.readouterr().out
    store = Store.open(desk)
    try:
        (only,) = store.collections()
        assert (only.name, only.n_docs, only.status) == ("papers", len(TEXTS), "ready")
        (embedded,) = store.embedding_sets()
        assert embedded.n_embedded == len(TEXTS)
        assert store._cur().execute("SELECT count(*) FROM vectors").fetchall()[0][0] == len(TEXTS)
    finally:
        store.close()
    assert main(["analyze", "--workspace", str(desk)]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == len(TEXTS)


def test_08_embed_and_analyze_leave_out_a_collection_whose_import_did_not_finish(tmp_path, capsys):
    path = tmp_path / "w.duckdb"
    _embedded_workspace(path)
    store = Store.open(path)
    try:  # what an ingest killed midway leaves: a collection still marked "importing"
        half = store.create_collection("half", status="importing")
        store.add_documents(half, ["a half imported text", "another half imported text"])
    finally:
        store.close()
    assert main(["embed", "--workspace", str(path), "--model", "hashing-64", "--device", "cpu"]) == 0
    assert "'half' was not completely imported" in capsys.readouterr().err
    assert main(["analyze", "--workspace", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == len(TEXTS)
    store = Store.open(path)
    try:
        assert store.count_pending([half], 1) == 2  # not embedded either
    finally:
        store.close()


# ---------------------------------------------------------------- 11: a DuckDB file that is not a workspace

def test_11_a_foreign_duckdb_file_is_refused_unless_adopted(tmp_path, capsys):
    path = tmp_path / "sales.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales AS SELECT range AS id, range * 2.5 AS amount FROM range(100)")
    con.close()
    before = path.read_bytes()
    with pytest.raises(WorkspaceForeignError, match="sales.duckdb is a DuckDB database but not an Embedding "
                                                    r"Explorer workspace \(it holds: sales\)"):
        Store.open(path)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("one line\nanother line\n", encoding="utf-8")
    ingest = ["ingest", str(corpus), "--workspace", str(path), "--model", "hashing-64"]
    assert main(ingest) == 1
    assert "--adopt-database" in capsys.readouterr().err
    assert path.read_bytes() == before and not list(tmp_path.glob("*.bak"))  # nothing was added
    assert main([*ingest, "--adopt-database"]) == 0
    assert (tmp_path / "sales.duckdb.v0.bak").read_bytes() == before
    con = duckdb.connect(str(path))
    try:
        assert con.execute("SELECT count(*), sum(amount) FROM sales").fetchall() == [(100, 12375.0)]
        assert con.execute("SELECT count(*) FROM documents").fetchall() == [(2,)]
    finally:
        con.close()


# ---------------------------------------------------------------- 12: workers die with the app

UMAP_PARENT = textwrap.dedent(
    """
    import sys
    from multiprocessing import resource_tracker
    from core import umap_process

    umap_process.warm_up()
    worker = next(iter(umap_process._pool._processes))
    print(worker, resource_tracker._resource_tracker._pid, flush=True)
    sys.stdin.readline()
    """
)


def test_12_sigkill_of_the_app_takes_the_umap_worker_and_its_resource_tracker_along(tmp_path):
    with subprocess.Popen([sys.executable, "-c", UMAP_PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, env=ENV, cwd=ROOT) as app:
        try:
            worker, tracker = map(int, app.stdout.readline().split())
        finally:
            app.kill()
    assert _gone(worker), "the UMAP worker outlived the app"
    assert _gone(tracker), "the resource tracker outlived the app"


def _children(pid: int) -> dict[int, str]:
    """pid -> command line of the processes whose parent is ``pid``."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # it exited meanwhile
    return found


def test_12_sigterm_closes_the_app_cleanly_and_stops_its_workers(tmp_path):
    home = tmp_path / "home"
    env = {**ENV, "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config")}
    with subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--workspace", str(tmp_path / "w.duckdb"),
                           "--no-demo", "--model", "hashing-64"], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as app:
        deadline = time.monotonic() + 120
        workers: dict[int, str] = {}
        while not (any("resource_tracker" in c for c in workers.values()) and
                   any("spawn_main" in c for c in workers.values())) and time.monotonic() < deadline:
            assert app.poll() is None, app.stdout.read()
            workers = _children(app.pid)
            time.sleep(0.05)  # the app starts its UMAP worker while it opens: look again
        assert any("spawn_main" in c for c in workers.values()), workers
        app.send_signal(signal.SIGTERM)
        output = app.communicate(timeout=120)[0]
    assert app.returncode == 0, output
    for pid in workers:
        assert _gone(pid), f"{workers[pid]} outlived the app"


# ---------------------------------------------------------------- 13: option values are never files

def test_13_a_file_to_open_and_an_existing_workspace_start_the_app(tmp_path):
    corpus, workspace = tmp_path / "corpus.csv", tmp_path / "existing.duckdb"
    corpus.write_text("text\nhello\n", encoding="utf-8")
    Store.open(workspace).close()
    seen = []
    handlers = {"gui": lambda args: seen.append((args.files, args.workspace)) or 0}
    assert main([str(corpus), "--workspace", str(workspace)], handlers) == 0
    assert main(["--workspace", str(workspace), str(corpus)], handlers) == 0
    assert seen == [([str(corpus)], str(workspace))] * 2


# ---------------------------------------------------------------- 14: clear messages

def _small_disk_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


FILL_DISK = textwrap.dedent(
    """
    import sys
    from commands.cli import main
    sys.exit(main(["ingest", sys.argv[2], "--workspace", sys.argv[1] + "/w.duckdb", "--no-embed"]))
    """
)


@pytest.mark.skipif(not _small_disk_available(), reason="needs unshare to mount a small tmpfs")
def test_14_a_full_disk_gets_a_message_not_a_transaction_exception(tmp_path):
    disk = tmp_path / "small"
    disk.mkdir()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"line {i} with some words to fill a small disk quickly\n" for i in range(60_000)))
    script = f'mount -t tmpfs -o size=1m none "$1" && exec "{sys.executable}" -c "$2" "$1" "$3"'
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(disk), FILL_DISK, str(corpus)],
                            capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "error: The disk holding w.duckdb is full" in result.stderr
    assert "Traceback" not in result.stderr and "TransactionException" not in result.stderr


def test_14_a_workspace_path_under_a_file_gets_a_message(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    path = tmp_path / "notes.txt" / "deeper" / "w.duckdb"
    with pytest.raises(WorkspaceError, match=r"notes.txt is a file, not a folder"):
        Store.open(path)
    assert main(["embed", "--workspace", str(path), "--model", "hashing-64", "--device", "cpu"]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err


TAMPERED = {
    "rows not a number": (lambda h: h.update(rows="abc"), "rows is 'abc', not a whole number"),
    "normalizes not a bool": (lambda h: h["models"][0].update(normalizes="maybe"),
                              "normalizes is 'maybe', not true, false or null"),
    "empty collection name": (lambda h: h["collection"].update(name="  "), "the collection name is '  '"),
    "huge dimension": (lambda h: h["models"][0].update(dim=20_000_000), "dim is 20000000, not a whole number"),
    "no models list": (lambda h: h.pop("models"), "field 'models' is missing"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_14_tampered_collection_info_is_refused_with_a_message(tmp_path, case):
    path = tmp_path / "w.duckdb"
    collection_id = _embedded_workspace(path)
    store = Store.open(path)
    try:
        export_collection(store, collection_id, tmp_path / "papers.parquet")
    finally:
        store.close()
    table = pq.read_table(tmp_path / "papers.parquet")
    header = json.loads(table.schema.metadata[META_KEY])
    edit, message = TAMPERED[case]
    edit(header)
    pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(header)}), tmp_path / "papers.parquet")
    desk = Store.open(tmp_path / "desk.duckdb")
    try:
        with pytest.raises(InterchangeError, match="papers.parquet: its collection info is damaged") as caught:
            import_collection(desk, tmp_path / "papers.parquet")
        assert message in str(caught.value)
        assert desk.collections() == [] and desk.models() == []
    finally:
        desk.close()


def _npy_claiming(path: Path, shape: tuple[int, ...], data: bytes = b"") -> None:
    """An .npy file whose header claims ``shape`` (float32), followed by ``data`` only."""
    from numpy.lib import format as npy_format

    with open(path, "wb") as handle:
        npy_format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False, "shape": shape})
        handle.write(data)


def test_14_an_npy_header_claiming_1e15_values_is_refused_before_allocating(tmp_path, store):
    (tmp_path / "corpus.txt").write_text("one\ntwo\n", encoding="utf-8")
    _npy_claiming(tmp_path / "corpus.npy", (1_000_000_000_000, 1000), b"\0" * 64)
    with pytest.raises(VectorFileError, match=r"corpus.npy: its header claims a 1000000000000 x 1000 array "
                                              r"\(4,000,000,000,000,000 bytes\) but the file holds 64 bytes"):
        import_vectors(store, tmp_path / "corpus.npy", "mine")
    assert store.collections() == []


def test_14_twenty_million_dimensional_vectors_are_refused_with_the_cap(tmp_path, store, capsys):
    (tmp_path / "wide.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    np.lib.format.open_memmap(tmp_path / "wide.npy", mode="w+", dtype=np.float32, shape=(3, 20_000_000)).flush()
    with pytest.raises(VectorFileError, match="the vectors have 20,000,000 dimensions; at most 65,536 are supported"):
        import_vectors(store, tmp_path / "wide.npy", "wide")
    wide = pa.array([[0.5] * 70_000], pa.list_(pa.float32()))
    pq.write_table(pa.table({"text": ["one"], "vector": wide}), tmp_path / "wide.parquet")
    with pytest.raises(VectorFileError, match="70,000 dimensions; at most 65,536"):
        import_vectors(store, tmp_path / "wide.parquet", "wide")
    assert store.collections() == []


@pytest.mark.parametrize("command", ["analyze", "neighbors", "compare"])
@pytest.mark.parametrize("k", ["0", "-3"])
def test_14_k_below_one_is_an_argument_error(tmp_path, capsys, command, k):
    extra = {"neighbors": ["--query", "x"], "compare": ["--b", "m"]}.get(command, [])
    with pytest.raises(SystemExit) as caught:
        main([command, "--workspace", str(tmp_path / "w.duckdb"), "-k", k, *extra])
    assert caught.value.code == 2
    assert f"argument -k: {k} is too small; it must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "w.duckdb").exists()


def test_14_analyze_with_too_few_documents_for_k_and_a_zero_dimensional_model_get_messages(tmp_path, capsys):
    path = tmp_path / "w.duckdb"
    _embedded_workspace(path, TEXTS[:5])
    assert main(["analyze", "--workspace", str(path), "-k", "5"]) == 1
    assert "only 5 documents are embedded there, and k = 5 neighbours need more than k; use -k 4 or less" \
           in capsys.readouterr().err
    assert main(["embed", "--workspace", str(path), "--model", "hashing-0", "--device", "cpu"]) == 1
    assert "hashing-0: the hashing encoder takes 1 to 65,536 dimensions" in capsys.readouterr().err


def _damage(path: Path, *statements: str) -> None:
    _embedded_workspace(path, TEXTS[:5])
    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


DAMAGED = {
    "version not a number": (("UPDATE meta SET value = 'one' WHERE key = 'schema_version'",),
                             "its format number (schema_version) is 'one', not a number"),
    "table missing": (("DROP TABLE vectors",), "its table 'vectors' is missing"),
    "column of another type": (("DROP TABLE embedding_sets",
                                "CREATE TABLE embedding_sets (collection_id VARCHAR, model_id VARCHAR, created VARCHAR)"),
                               "column embedding_sets.collection_id holds VARCHAR, not INTEGER"),
}


def test_14_damaged_workspaces_get_a_clear_message_in_the_cli_and_the_window(tmp_path, qtbot, monkeypatch, capsys):
    import gui.open_errors
    from gui.main_window import MainWindow
    from core.registry import discover
    from tests.test_main_window import close_quietly

    shown: list[str] = []
    monkeypatch.setattr(gui.open_errors, "explain_and_offer", lambda parent, path, error: shown.append(str(error))
                        or "cancel")
    win = MainWindow(discover(), model_name="hashing-64", settings_file=tmp_path / "settings.json")
    try:
        for case, (statements, message) in DAMAGED.items():
            path = tmp_path / f"{case}.duckdb"
            _damage(path, *statements)
            with pytest.raises(WorkspaceCorruptError) as caught:
                Store.open(path)
            assert str(caught.value).startswith(f"{case}.duckdb is damaged: {message}. Restore it from a backup")
            assert main(["analyze", "--workspace", str(path)]) == 1
            assert message in capsys.readouterr().err
            assert win.workspace.open(path) is False
            assert message in shown[-1] and "transaction is aborted" not in shown[-1]
    finally:
        close_quietly(win)


def test_14_a_bad_map_parameter_in_the_settings_falls_back_and_is_not_saved_back(tmp_path):
    from gui.settings_dialog import WindowSettings
    from plugins.map.analysis import MapParams

    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 3, "plugin_params": {"map": {
        "metric": "nope", "random_state": 7, "n_neighbors": "many", "sample_size": 1234}}}), encoding="utf-8")
    prefs = WindowSettings(path)
    slot = SimpleNamespace(spec=SimpleNamespace(params_type=MapParams), params=None)
    prefs.restore_params({"map": slot})
    assert slot.params == MapParams(random_state=7, sample_size=1234)  # the bad values took their defaults
    prefs.update(prefs.value)  # any later save
    saved = json.loads(path.read_text(encoding="utf-8"))["plugin_params"]["map"]
    assert saved == {"random_state": 7, "sample_size": 1234}


# ---------------------------------------------------------------- 15: the README's example plugin

def test_15_the_example_plugin_histograms_unit_length_vectors():
    from core.plugin_api import AnalysisData
    from core.progress import null_progress
    from tests.example_plugin.analysis import NormsParams, compute

    vectors = np.random.default_rng(0).normal(size=(500, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    result = compute(AnalysisData(vectors, np.arange(500)), NormsParams(), null_progress())
    assert result.counts.sum() == 500 and len(result.edges) == 31
    assert result.edges[0] <= result.norms.min() and result.norms.max() <= result.edges[-1]


@pytest.mark.parametrize("name, content, message", [
    ("latin.txt", "caf\xe9 au lait\n".encode("latin-1"), "latin.txt: a text file is not UTF-8"),
    ("deep.jsonl", b'{"text": "t", "vector": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
     "deep.jsonl: a JSON value is nested too deeply"),
    ("bad.parquet", b"PAR1 not really parquet PAR1", "bad.parquet could not be read"),
])
def test_14_unreadable_vector_files_get_a_message(tmp_path, store, name, content, message):
    (tmp_path / name).write_bytes(content)
    if name.endswith(".txt"):
        np.save(tmp_path / "latin.npy", np.ones((1, 4), np.float32))
    with pytest.raises(VectorFileError, match=message):
        import_vectors(store, tmp_path / name, "mine")
    assert store.collections() == []
