"""Distributed encoding on Ray: ``embed --engine ray`` (optional extra ``distributed``).

The texts of the chosen collections that have no vector yet go, one window at a
time, through Ray Data ``map_batches`` with an actor pool: one model per actor
(:class:`EmbedActor`), one GPU per actor when the cluster has GPUs. The driver
writes what comes back as Parquet shards (sha256, vector as a fixed-size float32
list, truncated; the model's facts in the schema metadata) into a work folder
beside the workspace, then loads each shard with ``Store.write_vectors``, the
call the local path (:func:`core.pipeline.embed_pending`) stores its batches with.

Resume, exactly once: a shard is written under a temporary name and renamed, loaded
in transactions, then moved to ``loaded/``. A rerun first loads the shards still in
``pending/`` (a crash came between writing and loading), then embeds only texts that
have no vector. Vectors are keyed by (model, sha256) and inserted with
``INSERT OR IGNORE``, so a shard loaded twice adds nothing. A worker that dies is
restarted by Ray and its block retried (Ray Data's actor pools default to
``max_restarts=-1`` and ``max_task_retries=-1``). Ray is imported only here, and
only when this engine runs.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pyarrow as pa

from core.encoder import AUTO_BATCH, CPU_BATCH_SIZE, GPU_BATCH_SIZE, Encoder, load_encoder
from core.pipeline import EmbedOutcome, encode_batch
from core.progress import Progress, null_progress
from core.store import Store

INSTALL_HINT = "pip install .[distributed]"
#: rows per Parquet shard (and per load into the workspace)
SHARD_ROWS = 4096
#: pending texts read from the workspace per Ray Data run: bounds the driver's memory
WINDOW_ROWS = 200_000
#: torch threads per actor when the cluster has no GPU and ``workers`` is not given
THREADS_PER_CPU_WORKER = 4
#: Parquet schema-metadata key of a shard's model facts
FACTS_KEY = b"embedding_explorer.model"


class RayEngineError(RuntimeError):
    """The Ray engine cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class RayEmbedOutcome(EmbedOutcome):
    """What a Ray run did: :class:`EmbedOutcome` plus where the time and the rows came from."""

    resumed: int = 0  # vectors loaded from shards an interrupted run had left
    shards: int = 0
    workers: int = 0
    gpus_per_worker: float = 0.0
    parquet_s: float = 0.0  # writing the shards and reading them back
    store_s: float = 0.0  # Store.write_vectors


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or :class:`RayEngineError` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the engine needs Ray Data, not only Ray core
    except ImportError as exc:
        raise RayEngineError(
            f"The Ray engine needs Ray Data, which is not installed ({exc}). Install the optional extra: "
            f"{INSTALL_HINT}"
        ) from exc
    return ray


def _fixed_size(vectors: np.ndarray) -> pa.FixedSizeListArray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1])


class EmbedActor:
    """Ray Data callable class: one encoder per actor, loaded once, then batch after batch.

    ``encoder_factory`` (picklable, called in the actor) makes the encoder; by
    default :func:`core.encoder.load_encoder` of the model name, so every model
    the app knows works here. The model's facts travel as two constant columns,
    which the driver moves into the shard's schema metadata.
    """

    def __init__(self, encoder_factory: Callable[[], Encoder], threads: int) -> None:
        self.encoder = encoder_factory()
        if hasattr(self.encoder, "load"):
            self.encoder.load()
        torch = sys.modules.get("torch")
        if torch is not None:  # the encoder sized torch for the whole machine; this actor owns `threads` CPUs
            torch.set_num_threads(threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        vectors, too_long = encode_batch(self.encoder, batch.column("text").to_pylist())
        n = len(too_long)
        return pa.table({
            "sha256": batch.column("sha256"),
            "vector": _fixed_size(vectors),
            "truncated": pa.array(too_long),
            "normalizes": pa.array(np.full(n, bool(self.encoder.normalizes))),
            "max_seq_length": pa.array(np.full(n, self.encoder.max_seq_length or 0, dtype=np.int64)),
        })


class ShardFolder:
    """The work folder of one workspace and model: ``pending/`` shards (written, not yet
    loaded) and ``loaded/`` ones; it also adds up the seconds spent on Parquet and on the store."""

    def __init__(self, workspace: Path, model_name: str) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name)[:60]
        digest = hashlib.sha1(model_name.encode()).hexdigest()[:8]
        self.top = workspace.with_name(f"{workspace.name}.ray")
        self.root = self.top / f"{slug}-{digest}"
        self.pending = self.root / "pending"
        self.loaded = self.root / "loaded"
        self.run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"  # never reuses a loaded shard's name
        self.count = 0
        self.parquet_s = self.store_s = 0.0

    def write(self, table: pa.Table) -> Path:
        """Write one batch of results as a shard (under a temporary name, then renamed)."""
        import pyarrow.parquet as pq

        start = time.perf_counter()
        max_len = int(table.column("max_seq_length")[0].as_py())
        facts = {"dim": table.schema.field("vector").type.list_size,
                 "normalizes": bool(table.column("normalizes")[0].as_py()), "max_seq_length": max_len or None}
        shard = table.select(["sha256", "vector", "truncated"]).replace_schema_metadata({FACTS_KEY: json.dumps(facts)})
        self.pending.mkdir(parents=True, exist_ok=True)
        self.count += 1
        path = self.pending / f"shard-{self.run_id}-{self.count:06d}.parquet"
        temporary = path.with_suffix(".tmp")
        pq.write_table(shard, temporary)
        os.replace(temporary, path)
        self.parquet_s += time.perf_counter() - start
        return path

    def load(self, store: Store, model_name: str, path: Path) -> tuple[int, int]:
        """Load one shard with ``Store.write_vectors`` (one transaction per row group), then
        move it to ``loaded/``; returns (rows, truncated)."""
        import pyarrow.parquet as pq

        start, in_store = time.perf_counter(), 0.0
        shard = pq.ParquetFile(path)
        facts = json.loads(shard.schema_arrow.metadata[FACTS_KEY])
        model_id = store.ensure_model(model_name, facts["dim"], facts["normalizes"], facts["max_seq_length"])
        rows = truncated = 0
        for batch in shard.iter_batches(batch_size=SHARD_ROWS):
            vectors = batch.column("vector").flatten().to_numpy().reshape(batch.num_rows, -1)
            too_long = batch.column("truncated").to_numpy(zero_copy_only=False)
            before = time.perf_counter()
            store.write_vectors(model_id, batch.column("sha256").to_pylist(), vectors, too_long.tolist())
            in_store += time.perf_counter() - before
            rows += batch.num_rows
            truncated += int(np.count_nonzero(too_long))
        self.store_s += in_store
        self.parquet_s += time.perf_counter() - start - in_store
        self.loaded.mkdir(parents=True, exist_ok=True)
        os.replace(path, self.loaded / path.name)
        return rows, truncated

    def load_leftovers(self, store: Store, model_name: str) -> tuple[int, int]:
        """Load the shards an interrupted run wrote but did not load; drop half-written ones."""
        rows = truncated = 0
        if self.pending.is_dir():
            for half in self.pending.glob("*.tmp"):
                half.unlink()
            for path in sorted(self.pending.glob("*.parquet")):
                n, t = self.load(store, model_name, path)
                rows, truncated = rows + n, truncated + t
        return rows, truncated

    def remove(self) -> None:
        """Delete this model's shards (after a complete run), and the work folder once empty."""
        shutil.rmtree(self.root, ignore_errors=True)
        if self.top.is_dir() and not any(self.top.iterdir()):
            self.top.rmdir()


@dataclass(frozen=True)
class _Pool:
    workers: int
    num_cpus: float
    num_gpus: float
    threads: int


def _pool(ray: Any, workers: int | None) -> _Pool:
    """One actor per GPU (or ``workers``, at most one per GPU); without GPUs, the CPUs shared out."""
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), float(resources.get("CPU", 1))
    if gpus:
        n = workers or gpus
        if n > gpus:
            raise RayEngineError(f"{n} workers need {n} GPUs (one model per GPU); the cluster has {gpus}.")
        return _Pool(n, 1.0, 1.0, 1)
    n = workers or max(1, int(cpus) // THREADS_PER_CPU_WORKER)
    if n > cpus:
        raise RayEngineError(f"{n} workers need at least {n} CPUs; the cluster has {cpus:g}. Use --workers {int(cpus)}.")
    return _Pool(n, cpus / n, 0.0, max(1, int(cpus // n)))


def _connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at ``address`` (or start a local one); True when this call started Ray."""
    if ray.is_initialized():
        return False
    runtime_env = None
    if address:  # ship this app's `core` so every node runs the driver's code (dependencies must be installed there)
        runtime_env = {"py_modules": [str(Path(__file__).resolve().parent)]}
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 runtime_env=runtime_env)
    except (ConnectionError, RuntimeError) as exc:
        raise RayEngineError(f"Cannot reach the Ray cluster at {address or 'this machine'}: {exc}") from exc
    return True


def _quiet(ray: Any) -> None:
    """No Ray Data progress bars, log lines or stack dumps: our progress line reports, and a
    failure becomes one :class:`RayEngineError` (Ray keeps full logs under /tmp/ray)."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)


def _results(ray: Any, window: list[tuple[str, str]], factory: Callable[[], Encoder], pool: _Pool,
             batch_size: int, shard_rows: int) -> Iterator[pa.Table]:
    """The vectors of one window of (sha256, text), ``shard_rows`` rows at a time.

    The window is sorted by length (cuts padding, as the local path does) and cut into
    blocks of eight batches, so every actor gets work and a retried block is small.
    ``from_blocks`` (a Ray DeveloperAPI; Ray is pinned) keeps those blocks and, unlike
    ``from_arrow``, needs no remote metadata task (3 s per window on a 2-core laptop).
    """
    window = sorted(window, key=lambda item: len(item[1]))
    step = batch_size * 8
    chunks = (window[i : i + step] for i in range(0, len(window), step))
    blocks = [pa.table({"sha256": [sha for sha, _ in c], "text": [text for _, text in c]}) for c in chunks]
    dataset = ray.data.from_blocks(blocks).map_batches(
        EmbedActor, fn_constructor_args=(factory, pool.threads), batch_size=batch_size, batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=pool.workers), num_cpus=pool.num_cpus, num_gpus=pool.num_gpus,
    )
    yield from dataset.iter_batches(batch_size=shard_rows, batch_format="pyarrow")


def embed_with_ray(
    store: Store,
    model: str,
    collection_ids: Sequence[int],
    progress: Progress | None = None,
    *,
    device: str = "auto",
    batch_size: int = AUTO_BATCH,
    workers: int | None = None,
    address: str | None = None,
    shard_rows: int = SHARD_ROWS,
    window_rows: int = WINDOW_ROWS,
    keep_shards: bool = False,
    encoder_factory: Callable[[], Encoder] | None = None,
) -> RayEmbedOutcome:
    """Embed every text of ``collection_ids`` that has no vector of ``model``, on Ray.

    Joins the Ray cluster at ``address`` (or the one already initialised in this
    process, or starts a local one, shut down afterwards). ``encoder_factory``, a
    picklable callable run in each actor, replaces ``load_encoder(model, device)``.
    After a complete run the shards are deleted unless ``keep_shards``.
    """
    ray = import_ray()
    progress = progress or null_progress()
    factory = encoder_factory or functools.partial(load_encoder, model, device=device)
    name = factory().name  # constructing an encoder does not load its model
    folder = ShardFolder(store.path, name)
    start = time.monotonic()
    model_id = store.ensure_model(name)
    resumed, truncated = folder.load_leftovers(store, name)
    for collection_id in collection_ids:
        store.add_embedding_set(collection_id, model_id)
    total = store.count_pending(collection_ids, model_id)
    done = 0
    started = _connect(ray, address)
    try:
        _quiet(ray)
        pool = _pool(ray, workers)
        kind = f"{pool.workers} GPU worker(s)" if pool.num_gpus else f"{pool.workers} CPU worker(s)"
        batch_size = batch_size or (GPU_BATCH_SIZE if pool.num_gpus else CPU_BATCH_SIZE)  # per actor
        progress(0, total, f"Embedding {total:,} texts with {name} on Ray, {kind}…")
        while window := store.pending_texts(collection_ids, model_id, window_rows):
            before = done
            with contextlib.closing(_results(ray, window, factory, pool, batch_size, shard_rows)) as tables:
                for table in tables:
                    rows, too_long = folder.load(store, name, folder.write(table))
                    done, truncated = done + rows, truncated + too_long
                    rate = done / max(time.monotonic() - start, 1e-9)
                    progress(done, total, f"Embedded {done:,}/{total:,} · {rate:.1f} texts/s · "
                                          f"{(total - done) / rate if rate else 0:.0f} s left · {kind}")
            if done == before:
                raise RayEngineError(f"Ray returned no vectors for {len(window):,} pending texts; see the Ray logs.")
    except ray.exceptions.RayError as exc:  # e.g. the model cannot load on a worker: say why in one line
        lines = [line for line in getattr(exc, "error_msg", str(exc)).splitlines() if line.strip()]
        raise RayEngineError(f"A Ray worker failed: {lines[-1] if lines else type(exc).__name__}") from exc
    finally:
        if started:
            ray.shutdown()
    if not keep_shards and store.count_pending(collection_ids, model_id) == 0:
        folder.remove()
    return RayEmbedOutcome(model_id, done, truncated, time.monotonic() - start, resumed, folder.count, pool.workers,
                           pool.num_gpus, folder.parquet_s, folder.store_s)
