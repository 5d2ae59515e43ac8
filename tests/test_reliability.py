"""Reliability: bad input, big input, damaged workspaces, failing models and a busy
service never lose data, and each problem gets a clear message with a way forward."""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.encoder import EncoderError, HashingEncoder, SentenceTransformerEncoder
from core.ingest import IngestOptions
from core.pipeline import import_paths
from core.schema import SCHEMA_VERSION
from core.store import Store
from core.workspace_file import (
    WorkspaceCorruptError,
    WorkspaceError,
    WorkspaceLockedError,
    WorkspaceReadOnlyError,
    WorkspaceTooNewError,
    read_only_copy,
)
from tests.fixtures_ingest import parquet_bytes
from tests.test_main_window import GatedEncoder

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def consistent(store: Store) -> dict[str, int]:
    """Check the workspace's invariants; returns the document count per collection name."""
    cur = store._cur()
    assert cur.execute("SELECT count(*) FROM documents d ANTI JOIN collections c ON c.id = d.collection_id"
                       ).fetchall() == [(0,)], "documents without a collection"
    positions = cur.execute("""SELECT collection_id, count(*), count(DISTINCT position), min(position), max(position)
                               FROM documents GROUP BY collection_id""").fetchall()
    for _, n, distinct, low, high in positions:
        assert n == distinct and low == 0 and high == n - 1, "positions must be 0..n-1, each once"
    return {c.name: c.n_docs for c in store.collections()}


# ---------------------------------------------------------------- bad files, one by one

def _csv_bytes(rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8", newline: str = "\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return out.getvalue().encode(encoding)


BAD = [  # name, content, words the message must contain, documents kept
    ("photo.txt", bytes(range(256)) * 40, ["looks like a binary file"], 0),
    ("empty.csv", b"", ["empty"], 0),
    ("header only.csv", b"id,text\n", ["header (id, text) but no data rows"], 0),
    ("numbers.tsv", b"id\tscore\n1\t0.5\n2\t0.7\n", ["no column holds text", "id, score"], 0),
    ("excel export.csv", _csv_bytes([["Titel", "Text"], ["Café", "Crème brûlée für 3 €"]], ";", "cp1252", "\r\n"),
     ["decoded as Windows-1252", "not valid UTF-8"], 1),
    ("unicode text.txt", "Zeile eins\tmit Tab\r\nGrüße\r\n".encode("utf-16"), [], 2),
    ("utf16 no bom.txt", "hello world\n".encode("utf-16-le") * 30, ["binary", "UTF-16"], 0),
    ("broken.jsonl", b'{"text": "good"}\n{oops\n{"text": "also good"}\n[1]\n', ["line 2", "not valid JSON"], 2),
    ("shape.json", b'{"a": 1, "b": "x"}', ["expected a list of objects or strings", "without any list"], 0),
    ("nested.parquet", parquet_bytes({"text": [["a", "b"]], "n": [1]}), ["no column holds text", "flatten"], 0),
    ("nulls.parquet", parquet_bytes({"text": [None, "kept"], "n": [1, 2]}), ["row 1", "missing or null"], 1),
    ("nul bytes.txt", b"he\x00llo\nwor\x00ld\n" + b"padding text " * 20, ["removed 2 NUL characters"], 3),
    ("report.pdf", b"%PDF-1.4\n", ["PDF files are not supported"], 0),
    ("letter.docx", b"PK\x03\x04", ["word-processor documents are not supported"], 0),
    ("archive.zip", b"PK\x03\x04", ["unpack them"], 0),
    ("cut.json", b'[{"text": "first"}, {"text": "second"}, {"text": ', ["line 1", "not valid JSON"], 2),
    ("“quoted” 'name' ü.csv", "text\nquoted name works\n".encode(), [], 1),
]


@pytest.mark.parametrize("name, content, words, kept", BAD, ids=[b[0] for b in BAD])
def test_each_bad_file_gets_a_clear_message_and_keeps_what_is_good(store, tmp_path, name, content, words, kept):
    path = tmp_path / name
    path.write_bytes(content)
    outcome = import_paths(store, [path])
    messages = [issue.message for issue in outcome.report.issues]
    assert all(m.startswith(name) for m in messages), messages
    for word in words:
        assert any(word in m for m in messages), (word, messages)
    assert outcome.documents == kept == sum(consistent(store).values())
    if kept == 0:
        assert store.collections() == [] and messages
    else:
        assert [c.status for c in store.collections()] == ["ready"]


def test_mixed_drop_ingests_every_good_part(store, tmp_path, monkeypatch):
    drop = tmp_path / "drop"
    (drop / "sub folder").mkdir(parents=True)
    for name, content, _, _ in BAD:
        (drop / name).write_bytes(content)
    (drop / "sub folder" / "locked.txt").write_text("secret\n", encoding="utf-8")
    (drop / "sub folder" / "loop").symlink_to(drop)
    (drop / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    if os.geteuid() == 0:  # root reads anything: make the permission check fail for that one file
        real_access = os.access
        monkeypatch.setattr("core.ingest.os.access", lambda p, m: "locked" not in str(p) and real_access(p, m))
    else:
        (drop / "sub folder" / "locked.txt").chmod(0)
    single = tmp_path / "alone.md"
    single.write_text("# A note\n\nkept whole", encoding="utf-8")
    outcome = import_paths(store, [drop, single, tmp_path / "missing.csv"])
    text = "\n".join(i.message for i in outcome.report.issues)
    for expected in ("locked.txt: cannot be read: permission denied", "symlink loop", "dangling.txt: this link points",
                     "missing.csv: no such file or folder", "photo.txt: this looks like a binary file"):
        assert expected in text, expected
    counts = consistent(store)
    assert counts == {"drop": sum(kept for *_, kept in BAD), "alone": 1}
    assert outcome.documents == sum(counts.values())


def test_three_thousand_tiny_files_are_one_quick_collection(store, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(3000):
        (folder / f"note {i:04d} ü.txt").write_text(f"tiny note number {i}\n", encoding="utf-8")
    transactions: list[int] = []
    add_documents = store.add_documents
    store.add_documents = lambda cid, texts, *rest: transactions.append(len(texts)) or add_documents(cid, texts, *rest)
    outcome = import_paths(store, [folder])
    del store.add_documents
    assert outcome.documents == 3000 and outcome.report.files_read == 3000 and outcome.report.issues == []
    assert consistent(store) == {"notes": 3000}
    # batched across files: a few transactions, not one per file (3,000 of them took 44 s); speed is in bench/
    assert sum(transactions) == 3000 and len(transactions) <= 10, transactions
    texts = store.texts(np.arange(1, 3001))
    assert texts[0] == "tiny note number 0" and texts[-1] == "tiny note number 2999"


def test_a_file_vanishing_mid_import_is_reported_and_the_rest_kept(store, tmp_path, monkeypatch):
    import core.pipeline as pipeline

    folder = tmp_path / "moving"
    folder.mkdir()
    (folder / "stays.txt").write_text("still here\n", encoding="utf-8")
    real_expand = pipeline.expand_paths
    monkeypatch.setattr(pipeline, "expand_paths", lambda paths, report: [*real_expand(paths, report), folder / "gone.txt"])
    outcome = import_paths(store, [folder])
    assert outcome.documents == 1 and consistent(store) == {"moving": 1}
    assert any(i.message.startswith("gone.txt: ") and "disappeared" in i.message for i in outcome.report.issues)


# ---------------------------------------------------------------- fuzz: every format, valid and broken

SUFFIXES = [".txt", ".md", ".csv", ".tsv", ".jsonl", ".json", ".parquet"]
WORDS = st.text(alphabet=st.sampled_from(list("abcxyz éü日🌍,;\"'<>&{}[]\\")), max_size=14)
TEXTS = st.lists(WORDS.map(lambda w: f"t{w}z"), min_size=1, max_size=12)


def _valid_bytes(suffix: str, texts: list[str]) -> bytes:
    if suffix in (".txt", ".md"):
        return "\n".join(texts).encode()
    if suffix in (".csv", ".tsv"):
        return _csv_bytes([["id", "text"], *([str(i), t] for i, t in enumerate(texts))], "," if suffix == ".csv" else "\t")
    if suffix == ".jsonl":
        return "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)).encode()
    if suffix == ".json":
        return json.dumps({"version": 1, "records": [{"text": t, "id": i} for i, t in enumerate(texts)]}).encode()
    return parquet_bytes({"id": list(range(len(texts))), "text": texts})


@st.composite
def corpus_file(draw: st.DrawFn) -> tuple[str, bytes, list[str] | None]:
    """(suffix, bytes, expected texts or None when the file was damaged)."""
    suffix, texts = draw(st.sampled_from(SUFFIXES)), draw(TEXTS)
    data = _valid_bytes(suffix, texts)
    damage = draw(st.sampled_from(["none", "none", "cut", "flip", "insert", "random"]))
    if damage == "cut":
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
    elif damage == "flip":
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        data = bytes(data)
    elif damage == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=40)) + data[at:]
    elif damage == "random":
        data = draw(st.binary(max_size=400))
    expected = texts if damage == "none" else None
    if suffix == ".md" and expected is not None:
        expected = ["\n".join(texts)]
    if draw(st.booleans()):
        suffix, data = suffix + ".gz", gzip.compress(data) if draw(st.integers(0, 5)) else data  # 1 in 6: fake gz
        if not data.startswith(b"\x1f\x8b"):
            expected = None
    return suffix, data, expected


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files=st.lists(corpus_file(), min_size=1, max_size=4))
def test_fuzzed_drops_never_raise_and_keep_the_workspace_consistent(files):
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, (suffix, data, _) in enumerate(files):
            paths.append(Path(folder) / f"file {i} “ü”{suffix}")
            paths[-1].write_bytes(data)
        store = Store.open(Path(folder) / "fuzz.duckdb")
        try:
            outcome = import_paths(store, paths, IngestOptions(batch_size=5))
            report = outcome.report
            counts = consistent(store)
            assert all(c.status == "ready" and c.n_docs > 0 for c in store.collections())
            assert sum(counts.values()) == outcome.documents == report.documents
            assert report.files_read + len(set(report.files_skipped)) == len(files)
            names = [p.name for p in paths]
            assert all(any(i.message.startswith(n) for n in names) for i in report.issues)
            by_source = {c.source: c for c in store.collections()}
            for path, (_, _, expected) in zip(paths, files):
                if expected is not None:
                    collection = by_source[str(path)]
                    rows = store._cur().execute("SELECT text FROM documents WHERE collection_id = ? ORDER BY position",
                                                [collection.id]).fetchall()
                    assert [r[0] for r in rows] == expected
        finally:
            store.close()


# ---------------------------------------------------------------- a big file: bounded memory, cancel

BIG_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from core.pipeline import import_paths
    from core.progress import Cancelled, Progress
    from core.store import Store

    def mib(key):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith(key)) / 1024

    big = Path(sys.argv[2])
    store = Store.open(Path(sys.argv[1]) / "full.duckdb")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak to the current RSS
    except OSError:
        pass
    base = mib("VmRSS")
    start = time.perf_counter()
    outcome = import_paths(store, [big])
    out = {"docs": outcome.documents, "seconds": time.perf_counter() - start, "growth": mib("VmHWM") - base,
           "status": store.collections()[0].status}
    store.close()
    store = Store.open(Path(sys.argv[1]) / "cancelled.duckdb")
    asked = []
    def cancel_after_some(done, total, message):
        if done >= 20_000 and not asked:
            asked.append(done)
            progress.cancel()
    progress = Progress(cancel_after_some, max_rate=0)
    try:
        import_paths(store, [big], progress=progress)
    except Cancelled:
        out["cancelled_at"] = asked[0]
    (c,) = store.collections()
    out["cancelled"] = {"docs": c.n_docs, "status": c.status}
    print(json.dumps(out))
    """
)


def test_a_300_mb_text_file_ingests_in_bounded_memory_and_cancels(tmp_path):
    big = tmp_path / "big corpus.txt"
    rng = random.Random(3)
    vocabulary = " ".join(f"word{rng.randrange(50_000)}" for _ in range(200_000))
    with open(big, "w", encoding="utf-8", buffering=1 << 20) as handle:
        written = i = 0
        while written < 300_000_000:
            start = (i * 7919) % (len(vocabulary) - 1000)
            line = f"{i} {vocabulary[start:start + 860]}\n"
            handle.write(line)
            written += len(line)
            i += 1
    result = subprocess.run([sys.executable, "-c", BIG_SCRIPT, str(tmp_path), str(big)], capture_output=True,
                            text=True, env=ENV, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["docs"] == i and out["status"] == "ready"
    assert out["growth"] < 400, f"peak RSS grew {out['growth']:.0f} MiB importing 300 MB"
    assert 20_000 <= out["cancelled"]["docs"] < i and out["cancelled"]["status"] == "importing"
    # the cancel is honoured at the next transaction: what was stored when it was asked, plus at most the
    # transaction under way (a bound in documents, not in seconds: speed belongs in bench/)
    from core.ingest import IngestOptions

    assert out["cancelled_at"] <= out["cancelled"]["docs"] <= out["cancelled_at"] + IngestOptions().batch_size
    print(f"300 MB: {out['docs']:,} documents in {out['seconds']:.1f} s, peak RSS +{out['growth']:.0f} MiB")


# ---------------------------------------------------------------- damaged, newer, read-only and busy workspaces

def _real_workspace(path: Path, tmp_path: Path, n: int = 3000) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"document {i} about topic {i % 17}" for i in range(n)), encoding="utf-8")
    store = Store.open(path)
    try:
        from core.pipeline import embed_pending

        embed_pending(store, HashingEncoder(64), import_paths(store, [corpus]).all_ids, batch_size=256)
    finally:
        store.close()


def test_truncated_workspace_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "whole.duckdb"
    _real_workspace(path, tmp_path)
    data = path.read_bytes()
    for fraction in (0.5, 0.2):
        cut = tmp_path / f"cut {fraction}.duckdb"
        cut.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(WorkspaceCorruptError, match=rf"cut {fraction}\.duckdb is truncated") as caught:
            Store.open(cut)
        assert "choose another file or create a new workspace" in str(caught.value)
    store = Store.open(path, read_only=True)  # the original is untouched and complete
    try:
        assert store.collections()[0].n_docs == 3000 and store.count_pending([1], 1) == 0
    finally:
        store.close()


@pytest.mark.parametrize("content", [b"", b"garbage " * 5000, b"DUCK" * 4096], ids=["empty-ro", "garbage", "fake-magic"])
def test_corrupt_workspace_is_refused(tmp_path, content):
    path = tmp_path / "broken.duckdb"
    path.write_bytes(content)
    with pytest.raises(WorkspaceError, match="broken.duckdb") as caught:
        Store.open(path, read_only=not content)
    assert isinstance(caught.value, WorkspaceCorruptError) or not content


def test_newer_workspace_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "future.duckdb"
    _real_workspace(path, tmp_path, n=50)
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 3)])
    con.close()
    before = path.read_bytes()
    with pytest.raises(WorkspaceTooNewError, match="Update Embedding Explorer"):
        Store.open(path)
    assert path.read_bytes() == before and not list(tmp_path.glob("future.duckdb.v*.bak"))


def test_read_only_workspace_file(tmp_path):
    path = tmp_path / "ro.duckdb"
    _real_workspace(path, tmp_path, n=100)
    path.chmod(0o444)
    try:
        # root writes through chmod 0444, so as root take DuckDB's real "permission denied" from /sys
        denied = Path("/sys/ro.duckdb") if os.geteuid() == 0 else path
        with pytest.raises(WorkspaceReadOnlyError, match="ro.duckdb cannot be written here") as caught:
            Store.open(denied)
        assert "read-only copy" in str(caught.value)
        store = Store.open(path, read_only=True)
        try:
            assert store.collections()[0].n_docs == 100
            for write in (lambda: store.create_collection("x"), lambda: store.add_documents(1, ["y"]),
                          lambda: store.cache_put("p", "k", "{}", {"a": np.arange(3)})):
                with pytest.raises(WorkspaceError, match="read-only"):
                    write()
            assert store.collections()[0].n_docs == 100
        finally:
            store.close()
    finally:
        path.chmod(0o644)


HOLDER = textwrap.dedent(
    """
    import sys
    from core.store import Store
    store = Store.open(sys.argv[1])
    cid = store.create_collection("written by the holder")
    store.add_documents(cid, ["committed but not checkpointed"])
    print("holding", flush=True)
    sys.stdin.readline()
    store.close()
    """
)


def test_workspace_open_elsewhere_offers_a_read_only_copy(tmp_path):
    path = tmp_path / "busy ü.duckdb"
    _real_workspace(path, tmp_path, n=200)
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, env=ENV, cwd=ROOT) as holder:
        try:
            assert holder.stdout.readline().strip() == "holding"
            with pytest.raises(WorkspaceLockedError, match="open in another") as caught:
                Store.open(path)
            assert "read-only copy" in str(caught.value)
            copy = read_only_copy(path)
            assert copy.parent != path.parent and copy.name == path.name
            store = Store.open(copy, read_only=True)
            try:
                assert {c.name: c.n_docs for c in store.collections()} == {"corpus": 200, "written by the holder": 1}
                with pytest.raises(WorkspaceError, match="read-only"):
                    store.create_collection("nope")
            finally:
                store.close()
        finally:
            holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    store = Store.open(path)  # the original is fine and now free
    try:
        assert len(store.collections()) == 2
    finally:
        store.close()


def test_second_open_in_the_same_process_is_refused_as_busy(tmp_path):
    path = tmp_path / "twice.duckdb"
    first = Store.open(path)
    try:
        with pytest.raises(WorkspaceLockedError):
            Store.open(path)
    finally:
        first.close()
    Store.open(path).close()  # free again once closed


def _answer(label: str) -> list[str]:
    """Click the button labelled ``label`` on the next modal box; returns the texts it showed."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, click)
            return
        seen.extend([box.text(), str(box.textFormat()), *(b.text() for b in box.buttons())])
        next(b for b in box.buttons() if b.text() == label).click()

    QTimer.singleShot(0, click)
    return seen


@pytest.mark.parametrize("error, label, choice", [
    (WorkspaceLockedError("The workspace <b>x</b>.duckdb is open in another window."), "Open a read-only copy", "copy"),
    (WorkspaceReadOnlyError("x.duckdb cannot be written here."), "Choose another…", "choose"),
    (WorkspaceCorruptError("x.duckdb is truncated."), "Create new workspace…", "new"),
    (WorkspaceTooNewError("x.duckdb uses workspace format 9."), "Choose another…", "choose"),
    (WorkspaceCorruptError("x.duckdb is not a readable workspace."), "Cancel", "cancel"),
])
def test_open_errors_explain_and_offer_a_way_forward(qtbot, tmp_path, error, label, choice):
    from PySide6.QtCore import Qt

    from gui.open_errors import explain_and_offer

    seen = _answer(label)
    assert explain_and_offer(None, tmp_path / "<i>x</i>.duckdb", error) == choice
    text, text_format, *buttons = seen
    assert str(error) in text and "<i>x</i>.duckdb" in text and text_format == str(Qt.PlainText)
    copy_offered = "Open a read-only copy" in buttons
    assert copy_offered == isinstance(error, (WorkspaceLockedError, WorkspaceReadOnlyError))
    assert ("Create new workspace…" in buttons) != copy_offered and "Cancel" in buttons


# ---------------------------------------------------------------- models that fail

class FakeModel:
    """Stands in for a loaded SentenceTransformer; ``fail(batch_size)`` names the RuntimeError to raise."""

    def __init__(self, fail):
        self.fail = fail
        self.calls: list[int] = []

    def encode(self, texts, batch_size, **kwargs):
        self.calls.append(batch_size)
        if error := self.fail(batch_size):
            raise RuntimeError(error)
        return np.stack([np.full(4, len(t), np.float32) for t in texts])


def gpu_encoder(fail) -> SentenceTransformerEncoder:
    encoder = SentenceTransformerEncoder("gpu-model", device="cpu")
    encoder._model = FakeModel(fail)
    encoder.dim = 4
    return encoder


def test_out_of_memory_mid_batch_retries_smaller_and_embeds_everything_once(store, tmp_path):
    from core.pipeline import embed_pending

    encoder = gpu_encoder(lambda size: "CUDA out of memory. Tried to allocate 2.00 GiB" if size > 8 else None)
    corpus = tmp_path / "lengths.txt"
    corpus.write_text("\n".join("x" * (i + 1) for i in range(100)), encoding="utf-8")
    ids = import_paths(store, [corpus]).all_ids
    outcome = embed_pending(store, encoder, ids, batch_size=32)
    # each part of the window (32, 64 and 4 texts: one call each) is halved until its batches fit
    assert outcome.embedded == 100 and encoder._model.calls == [32, 16, 8] * 3
    model = next(m for m in store.models() if m.name == "gpu-model")
    doc_ids, _, vectors = store.load_vectors(ids, model.id)
    assert vectors[:, 0].tolist() == [len(t) for t in store.texts(doc_ids)]


def test_memory_and_cuda_errors_become_clear_messages():
    encoder = gpu_encoder(lambda size: "CUDA out of memory")
    with pytest.raises(EncoderError, match="Encoding failed with model 'gpu-model': CUDA out of memory"):
        encoder.encode(["a", "b"], batch_size=4)
    assert encoder._model.calls == [4, 2, 1]  # down to one text before giving up
    encoder = gpu_encoder(lambda size: "CUDA error: an illegal memory access was encountered")
    with pytest.raises(EncoderError, match="CUDA error: an illegal memory access"):
        encoder.encode(["a"])
    assert encoder._model.calls == [32]  # only memory errors are retried


def test_very_long_texts_reach_the_model_cut_but_with_the_same_vector(store, tmp_path):
    from core.encoder import DEFAULT_MODEL, load_encoder
    from core.pipeline import embed_pending, model_texts

    minilm = load_encoder(DEFAULT_MODEL)
    minilm.load()
    rng = random.Random(5)
    words = ["alpha", "über", "naïve", "日本語", "tokenization", "supercalifragilistic", "a", "42"]
    long_text = " ".join(rng.choice(words) for _ in range(25_000))
    (cut,) = model_texts(minilm, [long_text])
    assert 50_000 <= len(cut) <= 100_000 < len(long_text) and long_text.startswith(cut)
    np.testing.assert_allclose(minilm.encode([cut]), minilm.encode([long_text]), atol=1e-6)
    spaced = "start " + " " * 200_000 + "end of it"
    assert model_texts(minilm, [spaced]) == [spaced]  # a cut the model would read differently is not made
    line = tmp_path / "one line of 30 MB.txt"
    line.write_text(" ".join([long_text] * 160) + "\nshort\n", encoding="utf-8")
    ids = import_paths(store, [line]).all_ids
    seen: list[int] = []  # lengths of the texts the model is handed (a whole 30 MB line took 3 min and 4.5 GB)
    encode = minilm.encode
    minilm.encode = lambda texts, *a, **k: seen.extend(map(len, texts)) or encode(texts, *a, **k)
    outcome = embed_pending(store, minilm, ids)
    del minilm.encode
    assert outcome.embedded == 2 and outcome.truncated == 1
    assert len(seen) == 2 and min(seen) == len("short") and max(seen) <= 100_000  # the long line reaches the model cut


# ---------------------------------------------------------------- the encoder service under load

def test_service_reports_model_failures_and_runs_the_next_job(qtbot, store, tmp_path):
    from core.encoder import load_encoder
    from gui.encoder_service import EmbedJob, EncoderService

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"sentence {i}" for i in range(100)), encoding="utf-8")
    ids = tuple(import_paths(store, [corpus]).all_ids)
    folder = tmp_path / "not a model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\0" * 16)
    broken = gpu_encoder(lambda size: "CUDA error: device-side assert triggered")
    service = EncoderService(store, lambda name: broken if name == "cuda-broken" else load_encoder(name))
    service.start()
    try:
        with qtbot.waitSignal(service.sig_error, timeout=10_000) as first:
            service.submit(EmbedJob(ids, str(folder)))
        with qtbot.waitSignal(service.sig_error, timeout=10_000) as second:
            service.submit(EmbedJob(ids, "cuda-broken"))
        with qtbot.waitSignal(service.sig_embed_done, timeout=30_000) as done:
            service.submit(EmbedJob(ids, "hashing-64"))
        qtbot.waitUntil(lambda: not service.busy, timeout=10_000)
    finally:
        assert service.stop()
    assert "is not a sentence-transformers model" in first.args[0]
    assert "CUDA error: device-side assert triggered" in second.args[0]
    assert done.args[1].embedded == 100


def test_ten_imports_queued_while_one_encodes_run_in_order(qtbot, store, tmp_path):
    from gui.encoder_service import EncoderService, ImportJob

    files = [tmp_path / "first.txt"] + [tmp_path / f"queued {i}.txt" for i in range(10)]
    files[0].write_text("\n".join(f"first file line {i}" for i in range(400)), encoding="utf-8")
    for i, path in enumerate(files[1:]):
        path.write_text("\n".join(f"queued file {i} line {j}" for j in range(30)), encoding="utf-8")
    encoder = GatedEncoder(64, free=1)  # the first file's second part waits until every import is queued
    service = EncoderService(store, lambda name: encoder, batch_size=16)
    events: list[tuple[str, tuple[int, ...]]] = []
    service.sig_import_done.connect(lambda outcome: events.append(("imported", tuple(outcome.collection_ids))))
    service.sig_embed_done.connect(lambda ids, outcome: events.append(("embedded", tuple(ids))))
    service.start()
    try:
        with qtbot.waitSignal(service.sig_batch_committed, timeout=10_000):
            service.submit(ImportJob((str(files[0]),), "hashing-64"))
        for path in files[1:]:
            service.submit(ImportJob((str(path),), "hashing-64"))
        encoder.gate.set()
        qtbot.waitUntil(lambda: sum(kind == "embedded" for kind, _ in events) == 11, timeout=60_000)
    finally:
        encoder.gate.set()
        assert service.stop()
    assert [kind for kind, _ in events] == ["imported", "embedded"] * 11  # one job at a time
    imported = [ids for kind, ids in events if kind == "imported"]
    assert [store.collection(cid).name for (cid,) in imported] == [p.stem for p in files]
    assert consistent(store) == {p.stem: 400 if i == 0 else 30 for i, p in enumerate(files)}
    assert all(s.complete for s in store.embedding_sets())


def test_closing_the_window_while_encoding_asks_then_stops_and_keeps_every_batch(qtbot, tmp_path, monkeypatch):
    from core.registry import discover
    from gui.main_window import MainWindow
    from gui.workspace import WorkspaceController
    from tests.test_main_window import close_quietly

    asked: list[bool] = []
    encoder = GatedEncoder(64, free=3)  # the fourth part waits at the gate until the user answers
    monkeypatch.setattr(WorkspaceController, "confirm_quit_while_busy",
                        lambda self: asked.append(True) or encoder.gate.set() or True)
    path = tmp_path / "closing.duckdb"
    corpus = tmp_path / "long.txt"
    corpus.write_text("\n".join(f"text number {i}" for i in range(3000)), encoding="utf-8")
    win = MainWindow(discover(), model_name="hashing-64", encoder_factory=lambda name: encoder,
                     settings_file=tmp_path / "settings.json")
    win.show()
    try:
        assert win.workspace.open(path)
        committed: list[int] = []
        win.service.sig_batch_committed.connect(lambda ids, done, total: committed.append(done))
        win.import_paths([str(corpus)])
        qtbot.waitUntil(lambda: len(committed) >= 3, timeout=30_000)
        assert win.close()
    finally:
        encoder.gate.set()
        close_quietly(win)
    assert asked == [True], f"asked {len(asked)} times"
    store = Store.open(path)
    try:
        assert consistent(store) == {"long": 3000}
        embedded = 3000 - store.count_pending([1], store.ensure_model("hashing-64"))
        assert encoder.calls == 4 and committed[-1] <= embedded < 3000  # no part started after the close
    finally:
        store.close()
