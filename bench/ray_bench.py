"""The Ray engine against the in-process encoder on one machine, and its Parquet round trip.

Ours: :func:`core.ray_engine.embed_with_ray` on a local Ray instance with 2 CPU
workers (one model and one torch thread each). Baseline:
:func:`core.pipeline.embed_pending` in-process (torch on both cores). Both embed
the same numbered demo texts with the bundled MiniLM into their own workspace,
slice by slice, the side going first alternating, so load from other processes
hits both alike. Model loads are inside the timings (Ray's actors load it once per
slice, the in-process encoder once); ``ray.init`` is timed apart (a cluster is
started once, not per run). The point of the engine is the same code path on a
cluster, not speed on one machine. The Parquet round trip is the time spent
writing the shards and reading them back, as seconds and as a share of the Ray run.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Figure, Target, corpus, run_isolated

QUICK = {"n": 500, "slices": 2}
FULL = {"n": 20_000, "slices": 2}
WORKERS = 2


def run(quick: bool) -> list[Figure]:
    size = QUICK if quick else FULL
    res = run_isolated("bench.ray_bench:measure", timeout=3600, **size)
    n = size["n"]
    how = (f"{WORKERS} Ray CPU workers (1 torch thread each) vs in-process embed_pending (torch threads "
           f"{res['threads']}); {size['slices']} slices, sides alternating first; Ray starts its actors and loads "
           f"the model once per slice, the in-process side once; ray.init {res['ray_init_s']:.1f} s not included; "
           f"max |Δ| ray vs local vectors {res['max_abs_diff']:.2g}; load average per slice {res['load']}")
    return [
        Figure("ray.throughput", "Ray engine vs in-process encoder", "texts/s", n / res["ray_s"], n / res["local_s"],
               res["local_s"] / res["ray_s"], "Ray / in-process throughput", Target("ratio", ">=", 0.8), n=n,
               notes=how, extra=res),
        Figure("ray.parquet", "Parquet shard round trip in the Ray run", "s", res["parquet_s"], res["ray_s"],
               res["parquet_s"] / res["ray_s"], "share of the Ray run's wall time", Target("ratio", "<=", 0.05), n=n,
               notes=f"{res['shards']} shard(s) written and read back; Store.write_vectors {res['store_s']:.2f} s "
                     "(the in-process side pays that too)", extra=res),
    ]


def measure(workdir: str, n: int, slices: int) -> dict[str, Any]:
    """Child process: slice by slice, the in-process side and Ray on the same texts, alternating first."""
    import os

    import ray
    import torch

    from core.encoder import DEFAULT_MODEL, load_encoder
    from core.pipeline import embed_pending
    from core.ray_engine import embed_with_ray
    from core.store import Store

    texts = [text for text, _ in corpus(n, "short", seed=5)]
    bounds = np.linspace(0, n, slices + 1).astype(int)
    stores = {side: Store.open(Path(workdir) / f"{side}.duckdb") for side in ("local", "ray")}
    ids = {side: [store.create_collection("bench")] for side, store in stores.items()}
    encoder = load_encoder(DEFAULT_MODEL, device="cpu")
    start = time.perf_counter()
    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    ray_init_s = time.perf_counter() - start
    seconds = {"local": 0.0, "ray": 0.0}
    parquet_s = store_s = 0.0
    shards, load = 0, []
    try:
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            load.append(round(os.getloadavg()[0], 1))
            for side in ("local", "ray") if i % 2 == 0 else ("ray", "local"):
                stores[side].add_documents(ids[side][0], texts[a:b])
                start = time.perf_counter()
                if side == "local":
                    out = embed_pending(stores[side], encoder, ids[side])
                else:
                    out = embed_with_ray(stores[side], DEFAULT_MODEL, ids[side], device="cpu", workers=WORKERS)
                    parquet_s, store_s, shards = parquet_s + out.parquet_s, store_s + out.store_s, shards + out.shards
                seconds[side] += time.perf_counter() - start
    finally:
        ray.shutdown()
    vectors = {}
    for side, store in stores.items():
        model_id = next(m.id for m in store.models() if m.name == DEFAULT_MODEL)
        vectors[side] = store.load_vectors(ids[side], model_id)[2]
        store.close()
    return {"local_s": seconds["local"], "ray_s": seconds["ray"], "ray_init_s": ray_init_s,
            "threads": torch.get_num_threads(), "parquet_s": parquet_s, "store_s": store_s, "shards": shards,
            "load": load, "max_abs_diff": float(np.abs(vectors["ray"] - vectors["local"]).max())}
