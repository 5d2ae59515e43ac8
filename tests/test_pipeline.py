"""Import and embedding pipeline: collections, reuse of dropped-again content,
random-sample order, and resume after a hard kill."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from core.encoder import CPU_BATCH_SIZE, GPU_BATCH_SIZE, HashingEncoder, batch_size_for
from core.pipeline import embed_pending, import_paths
from core.progress import Cancelled, Progress
from core.store import Store

ROOT = Path(__file__).resolve().parents[1]


def write_corpus(folder: Path, n: int = 200) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text("\n".join(f"line {i} about cats and dogs" for i in range(n)), encoding="utf-8")
    (folder / "b.csv").write_text("text,label\n" + "\n".join(f"row {i} on stars,{i % 3}" for i in range(n)), encoding="utf-8")
    return folder


def test_folder_becomes_one_collection_and_redrop_reuses_it(store, tmp_path):
    folder = write_corpus(tmp_path / "corpus")
    first = import_paths(store, [folder])
    assert len(first.collection_ids) == 1 and first.documents == 400
    again = import_paths(store, [folder])
    assert again.collection_ids == [] and again.reused_ids == first.collection_ids
    assert [c.n_docs for c in store.collections()] == [400]


def test_embed_pending_embeds_each_text_once_and_resumes(store, tmp_path):
    folder = write_corpus(tmp_path / "corpus", n=100)
    ids = import_paths(store, [folder]).all_ids
    encoder = HashingEncoder(16)
    seen: list[int] = []

    def stop_after_two_batches(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise Cancelled()

    try:
        embed_pending(store, encoder, ids, batch_size=10, on_batch=stop_after_two_batches)
    except Cancelled:
        pass
    model_id = store.ensure_model(encoder.name)
    assert 0 < seen[-1] < 200 and store.count_pending(ids, model_id) == 200 - seen[-1]  # committed, then cancelled
    outcome = embed_pending(store, encoder, ids, batch_size=10)
    assert outcome.embedded == 200 - seen[-1]
    doc_ids, _, vectors = store.load_vectors(ids, model_id)
    assert len(doc_ids) == 200
    np.testing.assert_allclose(vectors, encoder.encode(store.texts(doc_ids)), atol=1e-6)


def test_random_sample_comes_first(store, tmp_path):
    path = tmp_path / "ordered.txt"
    path.write_text("\n".join(f"document number {i}" for i in range(1000)), encoding="utf-8")
    ids = import_paths(store, [path]).all_ids
    model_id = store.ensure_model("m")
    first = [int(t.split()[-1]) for _, t in store.pending_texts(ids, model_id, 100)]
    # a random sample spreads over the whole file; file order would give 0..99
    assert max(first) > 800 and min(first) < 200 and np.std(first) > 200


def test_cancel_after_a_committed_batch_keeps_exactly_the_committed_batches(store, tmp_path):
    folder = write_corpus(tmp_path / "corpus", n=100)
    ids = import_paths(store, [folder]).all_ids
    encoder = HashingEncoder(16)
    progress = Progress(max_rate=0)
    committed: list[int] = []

    def cancel_after_three(done: int, total: int) -> None:
        committed.append(done)
        if len(committed) == 3:
            progress.cancel()  # as the Cancel button does, from the outside: the pipeline notices it itself

    try:
        embed_pending(store, encoder, ids, progress=progress, batch_size=10, window_batches=1, on_batch=cancel_after_three)
        raise AssertionError("cancel was ignored")
    except Cancelled:
        pass
    model_id = store.ensure_model(encoder.name)
    assert committed == [10, 20, 30]  # parts of one batch each (a window of one batch); no fourth batch ran
    assert store.count_pending(ids, model_id) == 200 - 30  # the three committed batches are kept, nothing more
    outcome = embed_pending(store, encoder, ids, batch_size=10)  # a rerun resumes where the cancel stopped
    assert outcome.embedded == 170 and store.count_pending(ids, model_id) == 0
    doc_ids, _, vectors = store.load_vectors(ids, model_id)
    np.testing.assert_allclose(vectors, encoder.encode(store.texts(doc_ids)), atol=1e-6)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from core.encoder import HashingEncoder
    from core.pipeline import embed_pending, import_paths
    from core.store import Store

    class GatedEncoder(HashingEncoder):
        # encodes a batch only when the test writes a line (at the end of input: at once)

        def encode(self, texts, batch_size=32):
            sys.stdin.readline()
            return super().encode(texts, batch_size)

    store = Store.open(sys.argv[1])
    ids = import_paths(store, [sys.argv[2]]).all_ids
    embed_pending(store, GatedEncoder(16), ids, batch_size=8, window_batches=1,
                  on_batch=lambda done, total: print("batch", done, flush=True))
    print("finished", flush=True)
    """
)


class _DeviceHashing(HashingEncoder):
    """A hashing encoder that says it runs on ``device`` (and ``devices``) and records its call sizes."""

    def __init__(self, device: str, devices: tuple[str, ...] = ()) -> None:
        super().__init__(16)
        self.device, self.devices, self.calls = device, devices, []

    def encode(self, texts, batch_size=32):
        self.calls.append((len(texts), batch_size))
        return super().encode(texts, batch_size)


def test_automatic_batch_size_follows_the_device(store, tmp_path):
    assert batch_size_for(_DeviceHashing("cpu")) == CPU_BATCH_SIZE
    assert batch_size_for(_DeviceHashing("cuda")) == GPU_BATCH_SIZE
    assert batch_size_for(_DeviceHashing("cuda:1", ("cuda:0", "cuda:1"))) == 2 * GPU_BATCH_SIZE
    assert batch_size_for(_DeviceHashing("cuda"), 10) == 10  # a size the user chose wins
    assert batch_size_for(HashingEncoder(8)) == CPU_BATCH_SIZE  # no device attribute: a CPU encoder
    ids = import_paths(store, [write_corpus(tmp_path / "corpus", n=400)]).all_ids  # 800 texts
    for device, expected in (("cuda", GPU_BATCH_SIZE), ("cpu", CPU_BATCH_SIZE)):
        encoder = _DeviceHashing(device)
        encoder.name = f"hashing-16-{device}"  # a model of its own: everything is pending again
        assert embed_pending(store, encoder, ids).embedded == 800
        assert {size for _, size in encoder.calls} == {expected} and sum(n for n, _ in encoder.calls) == 800


def test_on_a_gpu_each_batch_is_stored_while_the_next_is_encoded(store, tmp_path):
    import threading
    import time

    class Timed(HashingEncoder):
        """Says it runs on ``device``; records (thread, start, end) of every call; each call takes 30 ms."""

        def __init__(self, device: str) -> None:
            super().__init__(16)
            self.device = device
            self.name = f"hashing-16-{device}"  # a model of its own per device: everything pending again
            self.log: dict[str, list[tuple[int, float, float]]] = {"encode": [], "truncated": []}

        def _timed(self, kind, fn, texts):
            start = time.perf_counter()
            time.sleep(0.03)
            out = fn(texts)
            self.log[kind].append((threading.get_ident(), start, time.perf_counter()))
            return out

        def encode(self, texts, batch_size=32):
            return self._timed("encode", super().encode, texts)

        def truncated(self, texts):
            return self._timed("truncated", super().truncated, texts)

    ids = import_paths(store, [write_corpus(tmp_path / "corpus", n=100)]).all_ids
    caller = threading.get_ident()
    for device, overlapping in (("cuda", True), ("cpu", False)):
        encoder = Timed(device)
        assert embed_pending(store, encoder, ids, batch_size=10).embedded == 200
        assert {t for t, _, _ in encoder.log["encode"]} == {caller}
        writers = {t for t, _, _ in encoder.log["truncated"]} - {caller}  # checked and stored on the writer thread
        overlaps = sum(1 for _, s1, e1 in encoder.log["truncated"] for _, s2, e2 in encoder.log["encode"]
                       if s1 < e2 and s2 < e1)
        # windows of 80, 80, 40 texts: on a GPU in parts of 20, each stored while the next encodes; on a CPU never
        assert (bool(writers), overlaps >= 5) == (overlapping, overlapping) and (overlapping or overlaps == 0)
        model_id = store.ensure_model(encoder.name)
        doc_ids, _, vectors = store.load_vectors(ids, model_id)
        np.testing.assert_allclose(vectors, HashingEncoder(16).encode(store.texts(doc_ids)), atol=1e-6)


def test_hard_kill_during_embedding_loses_nothing(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", n=150)
    workspace = tmp_path / "killed.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed_batches = 0
    for kill_after in (3, 9):
        with subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(workspace), str(corpus)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) as proc:
            proc.stdin.write("go\n")  # the encoder waits for a line per batch: the kill lands mid-run on any machine
            proc.stdin.flush()
            batches = 0
            for line in proc.stdout:
                batches += line.startswith("batch")
                if batches >= kill_after:
                    proc.send_signal(signal.SIGKILL)
                    break
                proc.stdin.write("go\n")
                proc.stdin.flush()
            proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        killed_batches += kill_after
        store = Store.open(workspace)
        try:
            (collection,) = store.collections()
            assert collection.n_docs == 300 and collection.status == "ready"
            model_id = store.ensure_model("hashing-16")
            embedded = 300 - store.count_pending([collection.id], model_id)
            assert embedded == 8 * killed_batches  # every committed batch survived; a rerun resumed after them
        finally:
            store.close()
    done = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(workspace), str(corpus)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert "finished" in done.stdout, done.stderr
    store = Store.open(workspace)
    try:
        (collection,) = store.collections()
        doc_ids, _, vectors = store.load_vectors([collection.id], store.ensure_model("hashing-16"))
        assert len(doc_ids) == 300 == len(np.unique(doc_ids))
        np.testing.assert_allclose(vectors, HashingEncoder(16).encode(store.texts(doc_ids)), atol=1e-6)
    finally:
        store.close()
