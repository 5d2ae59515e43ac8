"""The encoder on a CUDA GPU: the app's pipeline against a bare script, fp16
agreement with the CPU, the multi-device pool and the out-of-memory fallback.

Runs only where torch sees a CUDA device; elsewhere the benchmark is listed as
skipped. The app encodes in fp16 on CUDA (``SentenceTransformerEncoder.load``);
the baseline is what a user's script does: ``SentenceTransformer(model,
device="cuda").encode(texts, batch_size=32)`` in fp32, same model files, same
process. Ours is the whole pipeline: CSV import, embedding at each batch size in
``BATCH_SIZES`` (texts per model call and per DuckDB transaction), every batch
stored.

``EE_BENCH_MODEL`` names another model (a sentence-transformers name or folder)
instead of the bundled MiniLM.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import BenchSkipped, Figure, Target, corpus, run_isolated, write_corpus

QUICK = {"n": 2_000, "n_mixed": 500, "n_cpu": 200, "n_oom": 512}
FULL = {"n": 50_000, "n_mixed": 5_000, "n_cpu": 1_000, "n_oom": 4_096}
BATCH_SIZES = (32, 128, 0)  # 0: the app's automatic size (512 on CUDA)
#: GPU memory the out-of-memory check leaves the process: too little for one call of
#: ``n_oom`` long texts at once, enough for a fraction of them.
OOM_LIMIT_BYTES = 1 << 30


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def run(quick: bool) -> list[Figure]:
    import torch

    if not torch.cuda.is_available():
        raise BenchSkipped("no CUDA device here")
    size = QUICK if quick else FULL
    res = run_isolated("bench.gpu:measure", timeout=1800, model=os.environ.get("EE_BENCH_MODEL", ""), **size)
    figures = []
    base = dict(ratio_means="ours / baseline throughput", target=Target("ratio", ">=", 0.95))
    for kind, title in (("short", "demo-length texts"), ("mixed", "mixed lengths")):
        r = res[kind]
        n = r["n"]
        best = max(r["ours_s"], key=lambda b: n / r["ours_s"][b])
        per_batch = ", ".join(f"{b}: {n / s:,.0f}/s (model {r['encode_s'][b]:.1f} s, truncation check "
                              f"{r['truncated_s'][b]:.1f} s)" for b, s in r["ours_s"].items())
        figures.append(Figure(
            f"gpu.{kind}", f"CUDA encoding throughput ({title}), batch {best}", "texts/s", n / r["ours_s"][best],
            n / r["baseline_s"], r["baseline_s"] / r["ours_s"][best], n=n, extra=r, **base,
            notes=f"{res['device']}; ours fp16 through import + embed_pending + DuckDB (parts of up to two "
                  f"batches, each stored on a writer thread while the next is encoded, so model and check times "
                  f"overlap), by batch size: {per_batch}; "
                  f"baseline fp32 bare encode, batch 32, {r['baseline_s']:.1f} s; bare fp16 batch 32 "
                  f"{n / r['bare_fp16_s']:,.0f}/s; min cosine ours vs baseline {r['min_cosine']:.5f}"))
    cpu = res["cpu"]
    figures.append(_agreement("gpu.fp16_agreement", "CUDA fp16 vectors vs CPU fp32 (min cosine)", cpu,
                              f"same texts (mixed lengths) through the app's CUDA encoder and the model on the CPU "
                              f"in fp32; median cosine {cpu['median_cosine']:.6f}"))
    pool = res["pool"]
    figures.append(Figure(
        "gpu.pool", "Multi-device pool (2 processes on one GPU) vs one process", "s", pool["pool_s"],
        pool["single_s"], pool["single_s"] / pool["pool_s"], "one process / pool time", n=pool["n"], extra=pool,
        notes=f"the `embed --devices` path on real CUDA: min cosine pool vs single {pool['min_cosine']:.6f} "
              f"(one GPU, so no speed-up is expected; this checks the path works)"))
    oom = res["oom"]
    figures.append(_agreement("gpu.oom_fallback", "Out-of-memory fallback: vectors after halving (min cosine)", oom,
                              f"{oom['n']} long texts in one call of batch {oom['n']} with the process held to "
                              f"{OOM_LIMIT_BYTES >> 20} MiB of GPU memory: {oom['ooms']} out-of-memory errors "
                              f"caught, batch halved until it fits, {oom['seconds']:.1f} s; compared with the same "
                              "texts encoded normally"))
    return figures


def _agreement(name: str, title: str, result: dict[str, Any], notes: str) -> Figure:
    """A figure whose value is the smallest cosine between two encodings of the same texts."""
    return Figure(name, title, "", result["min_cosine"], target=Target("ours", ">=", 0.999), n=result["n"],
                  extra=result, notes=notes)


def measure(workdir: str, model: str, n: int, n_mixed: int, n_cpu: int, n_oom: int, device: str = "cuda") -> dict[str, Any]:
    """Child process: every measurement on ``device``; the OOM check last (it caps the process's memory).

    ``device="cpu"`` runs the same steps, without the OOM check, to try the benchmark out on a machine
    without a GPU."""
    import torch
    from sentence_transformers import SentenceTransformer

    from core.encoder import DEFAULT_MODEL, SentenceTransformerEncoder

    name = model or DEFAULT_MODEL
    ours = SentenceTransformerEncoder(name, device=device)
    ours.load()
    source = ours._source()
    bare = SentenceTransformer(source, device=device)
    bare16 = SentenceTransformer(source, device=device).half()
    warm = [text for text, _ in corpus(256, "mixed", seed=99)]
    for side in (ours.encode, bare.encode, bare16.encode):
        side(warm, batch_size=64)
    on_gpu = device.startswith("cuda")
    out: dict[str, Any] = {"device": torch.cuda.get_device_name(0) if on_gpu else device, "torch": torch.__version__}
    work = Path(workdir)
    for kind, count in (("short", n), ("mixed", n_mixed)):
        items = corpus(count, kind, seed=1 if kind == "short" else 2)
        path = write_corpus(work / f"{kind}.csv", items)
        out[kind] = _compare(work, kind, path, [text for text, _ in items], ours, bare, bare16)
    mixed = [text for text, _ in corpus(n_mixed, "mixed", seed=2)]
    out["cpu"] = _against_cpu(ours, source, mixed[:n_cpu])
    out["pool"] = _pool(name, device, ours, [text for text, _ in corpus(n, "short", seed=1)])
    if on_gpu:
        out["oom"] = _oom(ours, mixed, n_oom)
    return out


def _timed(fn: Any) -> tuple[float, Any]:
    """Seconds of ``fn()`` (all queued GPU work finished on both ends) and its value."""
    import torch

    sync = torch.cuda.synchronize if torch.cuda.is_initialized() else (lambda: None)
    sync()
    start = time.perf_counter()
    value = fn()
    sync()
    return time.perf_counter() - start, value


def _compare(work: Path, kind: str, path: Path, texts: list[str], ours: Any, bare: Any, bare16: Any) -> dict[str, Any]:
    from bench.encoding import _TimedEncoder
    from core.encoder import batch_size_for
    from core.pipeline import embed_pending, import_paths
    from core.store import Store

    result: dict[str, Any] = {"n": len(texts), "ours_s": {}, "encode_s": {}, "truncated_s": {}, "min_cosine": 1.0}
    result["baseline_s"], expected = _timed(lambda: bare.encode(texts, batch_size=32, show_progress_bar=False))
    result["bare_fp16_s"], _ = _timed(lambda: bare16.encode(texts, batch_size=32, show_progress_bar=False))
    for batch in BATCH_SIZES:
        label = str(batch) if batch else f"auto ({batch_size_for(ours)})"
        store = Store.open(work / f"{kind}-{batch}.duckdb")
        timed = _TimedEncoder(ours)

        def pipeline() -> None:
            ids = import_paths(store, [path]).all_ids
            embed_pending(store, timed, ids, batch_size=batch)

        result["ours_s"][label], _ = _timed(pipeline)
        result["encode_s"][label] = timed.seconds["encode"]
        result["truncated_s"][label] = timed.seconds["truncated"]
        model_id = store.ensure_model(ours.name)
        _, _, stored = store.load_vectors([c.id for c in store.collections()], model_id)  # in document order
        store.close()
        result["min_cosine"] = min(result["min_cosine"], float(_cosines(stored, expected).min()))
    return result


def _against_cpu(ours: Any, source: str, texts: list[str]) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    cpu = SentenceTransformer(source, device="cpu").encode(texts, batch_size=32, show_progress_bar=False)
    cosine = _cosines(ours.encode(texts, batch_size=64), cpu)
    return {"n": len(texts), "min_cosine": float(cosine.min()), "median_cosine": float(np.median(cosine))}


def _pool(name: str, device: str, single: Any, texts: list[str]) -> dict[str, Any]:
    from core.encoder import SentenceTransformerEncoder

    target = "cuda:0" if device.startswith("cuda") else device
    pooled = SentenceTransformerEncoder(name, device=device, devices=(target, target))
    pooled.load()
    try:
        pooled.encode(texts[:256], batch_size=64)  # the workers load the model on their first chunk
        pool_s, vectors = _timed(lambda: pooled.encode(texts, batch_size=128))
    finally:
        pooled.close()
    single_s, expected = _timed(lambda: single.encode(texts, batch_size=128))
    return {"n": len(texts), "pool_s": pool_s, "single_s": single_s,
            "min_cosine": float(_cosines(vectors, expected).min())}


def _oom(ours: Any, texts: list[str], n_oom: int) -> dict[str, Any]:
    import torch

    long = sorted(texts, key=len)[-min(n_oom, len(texts)):]
    long = (long * (-(-n_oom // len(long))))[:n_oom]
    expected = ours.encode(long, batch_size=64)
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(OOM_LIMIT_BYTES / torch.cuda.get_device_properties(0).total_memory)
    before = torch.cuda.memory_stats().get("num_ooms", 0)
    seconds, vectors = _timed(lambda: ours.encode(long, batch_size=len(long)))
    return {"n": len(long), "seconds": seconds, "ooms": torch.cuda.memory_stats().get("num_ooms", 0) - before,
            "min_cosine": float(_cosines(vectors, expected).min())}
