"""Hard kills (SIGKILL) at seeded random moments during ingest, embedding and
projection-cache saves: every committed batch survives, nothing is duplicated or
half written, and a rerun finishes the job with each text embedded once.

The worker is this module run as a script: ``python -m tests.test_crash WORKSPACE CORPUS``.
It prints one line per committed transaction, which the test uses both to pick
kill moments and to know what must have survived.
"""
from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from core.encoder import HashingEncoder
from core.ingest import IngestOptions
from core.pipeline import embed_pending, import_paths, resume_imports
from core.store import Store

ROOT = Path(__file__).resolve().parents[1]
CACHE_ENTRIES = 6
BATCH = 16
SEED = 20_241_125


# ---------------------------------------------------------------- the worker (a separate process)

def cache_arrays(key: int) -> dict[str, np.ndarray]:
    """A projection-sized entry whose content proves it is whole: a checksum over its coordinates."""
    coords = np.random.default_rng(key).standard_normal((300_000, 2)).astype(np.float32)
    return {"coords": coords, "checksum": np.array(float(coords.sum(dtype=np.float64))), "key": np.array(key)}


class SlowHashing(HashingEncoder):
    def encode(self, texts, batch_size=32):
        print(f"encode {len(texts)}", flush=True)
        time.sleep(0.01)
        return super().encode(texts, batch_size)


def worker(workspace: str, corpus: str) -> None:
    """Import every path in ``corpus`` as a collection, embed, save the projection caches."""
    store = Store.open(workspace)
    add, write, put = store.add_documents, store.write_vectors, store.cache_put

    def add_documents(collection_id, texts, metas=None, source=None):
        n = add(collection_id, texts, metas, source)
        print(f"docs {collection_id} {n}", flush=True)
        return n

    def write_vectors(model_id, shas, vectors, truncated=None):
        write(model_id, shas, vectors, truncated)
        print("vectors " + " ".join(shas), flush=True)

    def cache_put(plugin, data_key, params, arrays):
        print(f"caching {data_key}", flush=True)
        put(plugin, data_key, params, arrays)
        print(f"cached {data_key}", flush=True)

    store.add_documents, store.write_vectors, store.cache_put = add_documents, write_vectors, cache_put
    print("ready", flush=True)
    outcome = import_paths(store, sorted(Path(corpus).iterdir()), IngestOptions(batch_size=100))
    embed_pending(store, SlowHashing(64), outcome.all_ids, batch_size=BATCH, window_batches=1)  # BATCH per commit
    for key in range(CACHE_ENTRIES):
        if store.cache_get("projection", str(key), "{}") is None:
            store.cache_put("projection", str(key), "{}", cache_arrays(key))
    store.close()
    print("finished", flush=True)


# ---------------------------------------------------------------- the test side

def write_corpus(folder: Path) -> Path:
    """Three files and a folder of 40 small files; some texts repeat across them (embedded once)."""
    folder.mkdir(parents=True)
    line = lambda kind, i: f"shared sentence {i}" if i % 10 == 0 else f"{kind} sentence number {i} about {i % 13}"
    (folder / "a.txt").write_text("\n".join(line("plain", i) for i in range(800)), encoding="utf-8")
    (folder / "b.csv").write_text("text,n\n" + "\n".join(f"{line('table', i)},{i}" for i in range(800)), encoding="utf-8")
    (folder / "c.jsonl").write_text("\n".join(f'{{"text": "{line("json", i)}"}}' for i in range(800)), encoding="utf-8")
    (folder / "d").mkdir()
    for f in range(40):
        (folder / "d" / f"part {f:02d}.txt").write_text("\n".join(line(f"part{f}", i) for i in range(20)), encoding="utf-8")
    return folder


def run_worker(workspace: Path, corpus: Path, kill_at: tuple[str, int, float] | None = None) -> tuple[list[str], bool]:
    """Run the worker; with ``kill_at=(event, nth, delay)`` SIGKILL it ``delay`` s after the nth such line.

    Returns the lines it printed and whether it was killed.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    lines: list[str] = []
    killed = False
    with subprocess.Popen([sys.executable, "-m", "tests.test_crash", str(workspace), str(corpus)], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        seen = 0
        for line in proc.stdout:
            lines.append(line.strip())
            if kill_at is not None and line.startswith(kill_at[0] + " "):
                seen += 1
                if seen == kill_at[1]:
                    time.sleep(kill_at[2])
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
        lines += [line.strip() for line in proc.stdout] if killed else []
        stderr = proc.stderr.read()
        proc.wait(timeout=60)
    assert killed or proc.returncode == 0, stderr[-3000:]
    assert proc.returncode == (-signal.SIGKILL if killed else 0)
    return lines, killed


def check(workspace: Path, reference: dict[str, list[str]], committed_docs: Counter, committed_vectors: set[str],
          committed_cache: set[str]) -> dict[str, int]:
    """Every invariant that must hold after any kill; returns a few counts."""
    store = Store.open(workspace)
    try:
        cur = store._cur()
        collections = store.collections()
        assert len({c.name for c in collections}) == len(collections) <= len(reference), "duplicate collections"
        for c in collections:
            shas = [r[0] for r in cur.execute(
                "SELECT sha256 FROM documents WHERE collection_id = ? ORDER BY position", [c.id]).fetchall()]
            positions = cur.execute("SELECT count(DISTINCT position), coalesce(max(position), -1) FROM documents "
                                    "WHERE collection_id = ?", [c.id]).fetchall()[0]
            assert positions == (len(shas), len(shas) - 1), f"{c.name}: positions have gaps or repeats"
            if c.status == "ready":
                assert shas == reference[c.name], f"{c.name} is ready but differs from a clean import"
            else:
                assert c.status == "importing" and len(shas) >= committed_docs[c.id], f"{c.name} lost a batch"
                assert shas == reference[c.name][: len(shas)], f"{c.name}: an interrupted import is a prefix"
        stored = {r[0] for r in cur.execute("SELECT sha256 FROM vectors").fetchall()}
        assert committed_vectors <= stored, "a committed vector batch was lost"
        texts = dict(cur.execute("SELECT sha256, any_value(text) FROM documents SEMI JOIN vectors USING (sha256) "
                                 "GROUP BY sha256").fetchall())
        if texts:
            shas = sorted(texts)
            np.testing.assert_allclose(vectors_of(cur, shas), HashingEncoder(64).encode([texts[s] for s in shas]),
                                       atol=1e-6)
        cached = {}
        for data_key, payload in cur.execute("SELECT data_key, payload FROM analysis_cache WHERE plugin = 'projection'"
                                             ).fetchall():
            with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            assert int(arrays["key"]) == int(data_key)
            assert float(arrays["coords"].sum(dtype=np.float64)) == float(arrays["checksum"]), "half-written cache"
            cached[data_key] = arrays
        assert committed_cache <= set(cached), "a saved cache entry was lost"
        return {"collections": len(collections), "ready": sum(c.status == "ready" for c in collections),
                "documents": sum(c.n_docs for c in collections), "vectors": len(stored), "cache": len(cached)}
    finally:
        store.close()


def vectors_of(cur, shas: list[str]) -> np.ndarray:
    rows = dict(cur.execute("SELECT sha256, vector FROM vectors WHERE list_contains(?, sha256)", [shas]).fetchall())
    return np.array([rows[s] for s in shas], dtype=np.float32)


def reference_documents(path: Path) -> dict[str, list[str]]:
    store = Store.open(path, read_only=True)
    try:
        return {c.name: [r[0] for r in store._cur().execute(
            "SELECT sha256 FROM documents WHERE collection_id = ? ORDER BY position", [c.id]).fetchall()]
            for c in store.collections()}
    finally:
        store.close()


def test_kills_at_random_moments_lose_nothing_and_a_rerun_finishes(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    clean = tmp_path / "clean.duckdb"
    lines, _ = run_worker(clean, corpus)
    assert lines[-1] == "finished"
    reference = reference_documents(clean)
    distinct = len({sha for shas in reference.values() for sha in shas})
    assert sorted(reference) == ["a", "b", "c", "d"] and distinct < sum(map(len, reference.values()))

    rng = random.Random(SEED)
    plan = ([("docs", rng.randint(1, 6), rng.uniform(0, 0.02)) for _ in range(3)]
            + [("vectors", rng.randint(1, 40), rng.uniform(0, 0.02)) for _ in range(4)]
            + [("caching", rng.randint(1, 2), rng.uniform(0, 0.05)) for _ in range(3)])
    workspace = tmp_path / "killed.duckdb"
    committed_vectors: set[str] = set()
    committed_cache: set[str] = set()
    encoded = kills = 0
    phases: Counter = Counter()
    for kill_at in plan:
        lines, killed = run_worker(workspace, corpus, kill_at)
        committed_docs: Counter = Counter()
        for line in lines:
            kind, _, rest = line.partition(" ")
            if kind == "docs":
                collection_id, n = map(int, rest.split())
                committed_docs[collection_id] += n
            elif kind == "vectors":
                committed_vectors.update(rest.split())
            elif kind == "cached":
                committed_cache.add(rest)
            elif kind == "encode":
                encoded += int(rest)
        kills += killed
        phases[kill_at[0]] += killed
        check(workspace, reference, committed_docs, committed_vectors, committed_cache)
    assert kills >= 8 and phases["docs"] and phases["vectors"] and phases["caching"], phases

    lines, killed = run_worker(workspace, corpus)
    assert not killed and lines[-1] == "finished"
    final_encodes = sum(int(line.split()[1]) for line in lines if line.startswith("encode "))
    encoded += final_encodes
    counts = check(workspace, reference, Counter(), committed_vectors, committed_cache | {str(k) for k in range(CACHE_ENTRIES)})
    store = Store.open(workspace)
    try:
        assert {c.name: c.status for c in store.collections()} == dict.fromkeys(reference, "ready")
        model_id = next(m.id for m in store.models() if m.name == "hashing-64")
        assert store.count_pending([c.id for c in store.collections()], model_id) == 0
        in_use = store._cur().execute("SELECT count(*) FROM vectors SEMI JOIN documents USING (sha256)").fetchall()[0][0]
    finally:
        store.close()
    assert counts["documents"] == sum(map(len, reference.values())) and in_use == distinct
    # each text was encoded once, plus at most the batch in flight at each kill during embedding
    assert distinct <= encoded <= distinct + BATCH * phases["vectors"]
    print(f"{kills} kills ({dict(phases)}), {counts['documents']:,} documents, {distinct:,} distinct texts, "
          f"{encoded:,} encoded in all, {counts['cache']} cache entries: nothing lost")


def test_opening_after_a_kill_mid_import_redoes_it_in_place(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    clean = tmp_path / "clean.duckdb"
    store = Store.open(clean)
    import_paths(store, sorted(corpus.iterdir()), IngestOptions(batch_size=100))
    store.close()
    reference = reference_documents(clean)
    workspace = tmp_path / "killed.duckdb"
    _, killed = run_worker(workspace, corpus, ("docs", 9, 0.005))
    assert killed
    store = Store.open(workspace)
    try:
        before = {c.name: (c.id, c.status) for c in store.collections()}
        assert "importing" in {status for _, status in before.values()}
        outcome = resume_imports(store, IngestOptions(batch_size=100))
        after = {c.name: (c.id, c.status) for c in store.collections()}
        interrupted = [name for name, (_, status) in before.items() if status == "importing"]
        assert outcome.collection_ids == [before[name][0] for name in interrupted] and outcome.report.issues == []
        assert all(after[name] == (before[name][0], "ready") for name in before)  # same collections, now complete
    finally:
        store.close()
    done = reference_documents(workspace)
    assert all(done[name] == reference[name] for name in done)


def test_an_interrupted_import_whose_source_changed_is_reported_not_guessed(store, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_text("one\ntwo\n", encoding="utf-8")
    changed = store.create_collection("notes", str(source), "hash of what was there before", status="importing")
    store.add_documents(changed, ["one"])
    gone = store.create_collection("lost", str(tmp_path / "deleted.txt"), "whatever", status="importing")
    outcome = resume_imports(store)
    assert outcome.collection_ids == [] and [c.status for c in store.collections()] == ["importing", "importing"]
    messages = [issue.message for issue in outcome.report.issues]
    assert messages[0].startswith("notes: its import was interrupted and cannot be redone") and "Drop it again" in messages[0]
    assert messages[1].startswith("lost: ") and store.collection(gone).n_docs == 0 and store.collection(changed).n_docs == 1


if __name__ == "__main__":
    worker(*sys.argv[1:3])
