"""``embed --engine ray``: the same vectors as the local path, every text embedded exactly once
through a killed worker and an interrupted run, and a clear message without Ray.

One local Ray instance (2 CPUs) serves the module; tests that need it skip when the
optional extra is not installed.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from commands.cli import main
from core.encoder import DEFAULT_MODEL, EncoderError, HashingEncoder, load_encoder
from core.pipeline import embed_pending
from core.ray_engine import FACTS_KEY, RayEngineError, ShardFolder, embed_with_ray
from core.store import Store, text_sha256

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ("cats", "ships", "bread", "rivers")

# Ray Data's DataContext warns about its own deprecated fields when it is first built
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install .[distributed]")
    pytest.importorskip("ray.data", reason="Ray Data is an optional extra: pip install .[distributed]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


def _texts(n: int, tag: str = "") -> list[str]:
    return [f"{tag}text {i} about {TOPICS[i % 4]} and {TOPICS[(i * 7) % 4]} " + "word " * (i % 13) for i in range(n)]


def _workspace(path: Path, texts: list[str], collections: int = 1) -> tuple[Store, list[int]]:
    store = Store.open(path)
    ids = [store.create_collection(f"c{k}") for k in range(collections)]
    for k, collection_id in enumerate(ids):
        store.add_documents(collection_id, texts[k::collections] + texts[:3])  # duplicates within and across
    return store, ids


def _vectors_by_text(store: Store, collection_ids: list[int], model: str) -> dict[str, np.ndarray]:
    model_id = next(m.id for m in store.models() if m.name == model)
    doc_ids, _, vectors = store.load_vectors(collection_ids, model_id)
    return dict(zip(store.texts(doc_ids), vectors))


def _shard_hashes(store: Store, model: str) -> list[str]:
    folder = ShardFolder(store.path, model)
    return [sha for path in sorted(folder.loaded.glob("*.parquet")) for sha in pq.read_table(path)["sha256"].to_pylist()]


class CrashOnce:
    """Picklable encoder factory: a hashing encoder whose process dies on its second batch,
    once per marker file (the restarted actor finds the marker and carries on)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __call__(self) -> HashingEncoder:
        encoder = HashingEncoder(64)
        plain, calls = encoder.encode, []

        def encode(texts, batch_size=32):
            calls.append(len(texts))
            if len(calls) == 2 and not os.path.exists(self.marker):
                Path(self.marker).touch()
                os._exit(1)  # a worker killed mid-run
            return plain(texts, batch_size)

        encoder.encode = encode
        return encoder


def test_cli_on_a_running_cluster_matches_the_local_path(ray_cluster, tmp_path):
    texts = _texts(400)
    local, local_ids = _workspace(tmp_path / "local.duckdb", texts, collections=2)
    embed_pending(local, HashingEncoder(64), local_ids)
    remote, _ = _workspace(tmp_path / "ray.duckdb", texts, collections=2)
    remote.close()
    address = ray_cluster.get_runtime_context().gcs_address
    run = subprocess.run(
        [sys.executable, "main.py", "embed", "--workspace", str(tmp_path / "ray.duckdb"), "--engine", "ray",
         "--address", address, "--model", "hashing-64", "--workers", "2", "--batch-size", "16"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Embedded 400 texts" in run.stdout and "Ray: 2 worker(s), 0 GPU each" in run.stdout
    remote = Store.open(tmp_path / "ray.duckdb")
    try:
        assert all(s.complete for s in remote.embedding_sets())
        ours, theirs = _vectors_by_text(remote, [1, 2], "hashing-64"), _vectors_by_text(local, local_ids, "hashing-64")
        assert ours.keys() == theirs.keys() and len(ours) == 400
        assert max(float(np.abs(ours[t] - theirs[t]).max()) for t in ours) <= 1e-5
        assert not (tmp_path / "ray.duckdb.ray").exists()  # a complete run removes its shards
    finally:
        remote.close()
        local.close()


def test_the_bundled_model_gives_the_local_vectors(ray_cluster, tmp_path):
    texts = _texts(24, "real ")
    store, ids = _workspace(tmp_path / "ray.duckdb", texts)
    local, local_ids = _workspace(tmp_path / "local.duckdb", texts)
    try:
        done = embed_with_ray(store, DEFAULT_MODEL, ids, workers=1)
        embed_pending(local, load_encoder(DEFAULT_MODEL), local_ids)
        ours, theirs = _vectors_by_text(store, ids, DEFAULT_MODEL), _vectors_by_text(local, local_ids, DEFAULT_MODEL)
        assert done.embedded == 24 and ours.keys() == theirs.keys()
        assert max(float(np.abs(ours[t] - theirs[t]).max()) for t in ours) <= 1e-5
        model = next(m for m in store.models() if m.name == DEFAULT_MODEL)
        assert (model.dim, model.normalizes, model.max_seq_length) == (384, True, 256)
    finally:
        store.close()
        local.close()


def test_a_killed_worker_still_embeds_every_text_exactly_once(ray_cluster, tmp_path):
    texts = _texts(600)
    store, ids = _workspace(tmp_path / "ws.duckdb", texts)
    marker = tmp_path / "crashed"
    try:
        done = embed_with_ray(store, "hashing-64", ids, workers=2, batch_size=25, shard_rows=200, keep_shards=True,
                              encoder_factory=CrashOnce(marker))
        assert marker.exists()  # a worker did die mid-run
        assert done.embedded == 600 and store.count_pending(ids, done.model_id) == 0
        shards = _shard_hashes(store, "hashing-64")
        assert sorted(shards) == sorted(text_sha256(t) for t in texts)  # every text once: no loss, no duplicate
        schema = pq.read_schema(next(ShardFolder(store.path, "hashing-64").loaded.glob("*.parquet")))
        assert schema.names == ["sha256", "vector", "truncated"]
        assert schema.field("vector").type == pa.list_(pa.float32(), 64)
        assert b'"normalizes": true' in schema.metadata[FACTS_KEY]
        ours = _vectors_by_text(store, ids, "hashing-64")
        assert np.array_equal(np.stack([ours[t] for t in texts]), HashingEncoder(64).encode(texts))
    finally:
        store.close()


def test_an_interrupted_run_resumes_without_duplicates(ray_cluster, tmp_path, monkeypatch):
    texts = _texts(700)
    store, ids = _workspace(tmp_path / "ws.duckdb", texts)
    stored = store.write_vectors
    calls = []

    def fails_on_third_shard(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("No space left on device")
        return stored(*args, **kwargs)

    try:
        monkeypatch.setattr(store, "write_vectors", fails_on_third_shard)
        with pytest.raises(OSError, match="No space left"):
            embed_with_ray(store, "hashing-64", ids, workers=2, batch_size=25, shard_rows=100)
        monkeypatch.undo()
        folder = ShardFolder(store.path, "hashing-64")
        assert len(list(folder.loaded.glob("*.parquet"))) == 2 and len(list(folder.pending.glob("*.parquet"))) == 1
        model_id = next(m.id for m in store.models() if m.name == "hashing-64")
        assert store.count_pending(ids, model_id) == 500
        again = embed_with_ray(store, "hashing-64", ids, workers=2, batch_size=25, shard_rows=100, keep_shards=True)
        assert (again.resumed, again.embedded) == (100, 400)  # the written shard is loaded, not embedded again
        shards = _shard_hashes(store, "hashing-64")
        assert sorted(shards) == sorted(text_sha256(t) for t in texts)
        ours = _vectors_by_text(store, ids, "hashing-64")
        assert np.array_equal(np.stack([ours[t] for t in texts]), HashingEncoder(64).encode(texts))
    finally:
        store.close()


class Unloadable:
    """Picklable encoder factory whose model cannot load (as a missing model folder on a worker)."""

    def __call__(self) -> HashingEncoder:
        encoder = HashingEncoder(64)

        def load():
            raise EncoderError("Cannot load model 'hashing-64': not on this node")

        encoder.load = load
        return encoder


def test_a_model_that_cannot_load_on_a_worker_is_one_clear_error(ray_cluster, store):
    collection_id = store.create_collection("c")
    store.add_documents(collection_id, ["one", "two"])
    with pytest.raises(RayEngineError, match="A Ray worker failed: .*Cannot load model 'hashing-64': not on this node"):
        embed_with_ray(store, "hashing-64", [collection_id], workers=1, encoder_factory=Unloadable())
    assert store.count_pending([collection_id], 1) == 2


def test_more_workers_than_cpus_is_a_clear_error(ray_cluster, store):
    collection_id = store.create_collection("c")
    store.add_documents(collection_id, ["one", "two"])
    with pytest.raises(RayEngineError, match="5 workers need at least 5 CPUs; the cluster has 2"):
        embed_with_ray(store, "hashing-64", [collection_id], workers=5)


def test_without_ray_the_cli_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    store = Store.open(tmp_path / "ws.duckdb")
    store.add_documents(store.create_collection("c"), ["one"])
    store.close()
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    assert main(["embed", "--workspace", str(tmp_path / "ws.duckdb"), "--engine", "ray", "--model", "hashing-64"]) == 1
    assert "pip install .[distributed]" in capsys.readouterr().err


def test_ray_flags_need_the_ray_engine(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["embed", "--workspace", str(tmp_path / "ws.duckdb"), "--workers", "2"])
    assert "--address and --workers need --engine ray" in capsys.readouterr().err


def test_the_app_does_not_import_ray_unless_the_engine_runs():
    code = ("import sys\nimport commands.cli, core.ray_engine, core.interchange\n"
            "sys.exit(1 if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) else 0)\n")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0

