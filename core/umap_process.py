"""Run UMAP in one persistent worker process (Qt-free).

numba's layout optimisation holds the GIL for seconds at a time, so UMAP in a
worker *thread* freezes the GUI; a separate process does not. The process is
spawned lazily, reused (numba compiles once per process, ~20 s), and shut
down with :func:`shutdown` (also registered with ``atexit``). ``warm_up``
fits a tiny UMAP there so the compilation happens while the user is busy.
The worker exits by itself when the app that started it is gone (killed with
SIGKILL, it had no chance to stop it): a thread there watches the parent's pid
(a fit that holds the GIL finishes first).

Callers may abandon a job (cancel): UMAP's fit cannot be interrupted, so the
worker finishes it and the answer is dropped.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from core.priority import BACKGROUND_NICE, lower_process_priority
from core.progress import Cancelled, Progress

COMPILING_MESSAGE = "Compiling UMAP (first run only)…"
_POLL_SECONDS = 0.2
#: How often the worker checks that the app that started it is still there.
_PARENT_POLL_SECONDS = 0.5

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_warm = threading.Event()
_jobs: set[Future] = set()
_atexit_registered = False


def _get_pool() -> ProcessPoolExecutor:
    global _pool, _atexit_registered
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker, initargs=(os.getpid(),))
            _warm.clear()
            if not _atexit_registered:
                atexit.register(shutdown)
                _atexit_registered = True
        return _pool


def _submit(fn: Any, *args: Any) -> Future:
    """Submit to the worker, replacing a pool whose process died."""
    global _pool
    try:
        future = _get_pool().submit(fn, *args)
    except BrokenProcessPool:
        with _lock:
            _pool = None
        future = _get_pool().submit(fn, *args)
    _jobs.add(future)
    future.add_done_callback(_on_job_done)
    return future


def _on_job_done(future: Future) -> None:
    _jobs.discard(future)
    if not future.cancelled() and future.exception() is None:
        _warm.set()


def is_warm() -> bool:
    """True once the worker has finished a UMAP fit (numba is compiled)."""
    return _warm.is_set()


def warm_up(random_state: int | None = 42) -> Future:
    """Fit a ~300-point UMAP in the worker so numba compiles ahead of time.

    ``random_state`` picks numba's serial (seeded) or parallel layout code,
    which compile separately: pass the value the real runs will use.
    """
    return _submit(_warm_up_job, random_state)


def submit_umap(
    vectors: np.ndarray,
    knn_indices: np.ndarray | None,
    knn_dists: np.ndarray | None,
    init: np.ndarray | None,
    params: dict[str, Any],
    sample: np.ndarray | None = None,
) -> Future:
    """Queue a UMAP fit in the worker; the future resolves to (n, 2) float32."""
    return _submit(_fit_job, vectors, knn_indices, knn_dists, init, dict(params), sample)


def run_umap(
    vectors: np.ndarray,
    knn_indices: np.ndarray | None,
    knn_dists: np.ndarray | None,
    init: np.ndarray | None,
    params: dict[str, Any],
    *,
    sample: np.ndarray | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Fit UMAP in the worker process and wait for the (n, 2) layout.

    Parameters
    ----------
    knn_indices, knn_dists : (n, n_neighbors) arrays, self first, or None
        UMAP's ``precomputed_knn``; None lets UMAP run NNDescent.
    init : (n, 2) array or None
        Starting layout (None: spectral).
    params : dict
        UMAP settings (n_neighbors, min_dist, metric, random_state; see ``core.projection.UMAP_DEFAULTS``).
    sample : row numbers or None
        Fit on these rows only and ``transform`` the others (knn ignored).
    progress : Progress, optional
        Polled while waiting; on cancel the job is abandoned and ``Cancelled``
        propagates.
    """
    future = submit_umap(vectors, knn_indices, knn_dists, init, params, sample)
    start = time.monotonic()
    while True:
        try:
            return future.result(timeout=_POLL_SECONDS)
        except FutureTimeout:
            pass
        except BrokenProcessPool as exc:
            raise RuntimeError("the UMAP worker process died (out of memory?)") from exc
        if progress is None:
            continue
        message = COMPILING_MESSAGE if not is_warm() else (
            f"UMAP layout of {len(vectors):,} points… {time.monotonic() - start:.0f} s")
        try:
            progress(2, 3, message)
        except Cancelled:
            future.cancel()
            raise


def shutdown() -> None:
    """Stop the worker now (a running fit is killed, not awaited)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    _warm.clear()
    if pool is None:
        return
    # ProcessPoolExecutor has no public kill before Python 3.14; without it,
    # interpreter exit would wait for a running fit. An idle worker exits
    # cleanly (killing it leaks the semaphores its libraries registered).
    if any(not future.done() for future in list(_jobs)):
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------- worker side


def _start_worker(parent_pid: int) -> None:
    """In the worker: run :data:`BACKGROUND_NICE` below the app's main thread, and die with
    the app (see :func:`_exit_with_parent`).

    The worker inherits the nice value of the thread that spawned it, an analysis thread
    that is already lowered or the GUI thread, so it is set relative to the app, not to itself.
    """
    try:
        target = min(19, os.getpriority(os.PRIO_PROCESS, parent_pid) + BACKGROUND_NICE)
        lower_process_priority(max(0, target - os.nice(0)))
    except (AttributeError, OSError):  # no per-process priorities here, or the app is already gone
        lower_process_priority()
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="watch-parent", daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    """Exit as soon as the process that started this one is gone (this one was re-parented);
    the app's resource tracker then sees its last pipe close and exits too."""
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_SECONDS)
    os._exit(0)


def _fit_job(
    vectors: np.ndarray,
    knn_indices: np.ndarray | None,
    knn_dists: np.ndarray | None,
    init: np.ndarray | None,
    params: dict[str, Any],
    sample: np.ndarray | None,
) -> np.ndarray:
    import umap

    random_state = params.get("random_state")
    options: dict[str, Any] = dict(
        n_neighbors=int(params.get("n_neighbors", 15)),
        min_dist=float(params.get("min_dist", 0.1)),
        metric=str(params.get("metric", "cosine")),
        random_state=random_state,
        n_jobs=1 if random_state is not None else -1,
        n_epochs=params.get("n_epochs"),
    )
    fit_rows = vectors if sample is None else vectors[sample]
    if init is not None:
        options["init"] = np.asarray(init if sample is None else init[sample], dtype=np.float32)
    if sample is None and knn_indices is not None:
        options["precomputed_knn"] = (knn_indices, knn_dists, None)
    with warnings.catch_warnings():
        # expected with a precomputed graph: no search index, so no transform
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
        reducer = umap.UMAP(n_components=2, **options)
        fitted = reducer.fit_transform(fit_rows).astype(np.float32)
    if sample is None:
        return fitted
    coords = np.empty((len(vectors), 2), dtype=np.float32)
    coords[sample] = fitted
    rest = np.setdiff1d(np.arange(len(vectors)), sample)
    if rest.size:
        coords[rest] = reducer.transform(vectors[rest]).astype(np.float32)
    return coords


def _warm_up_job(random_state: int | None) -> bool:
    """A tiny fit on three blobs with an exact precomputed graph."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 4
    X = (centres[rng.integers(0, 3, 300)] + rng.normal(size=(300, 16))).astype(np.float32)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    dist = 1.0 - unit @ unit.T
    np.fill_diagonal(dist, -1.0)
    indices = np.argsort(dist, axis=1, kind="stable")[:, :15]
    dists = np.take_along_axis(dist, indices, axis=1)
    dists[:, 0] = 0.0
    _fit_job(X, indices, dists.astype(np.float32), None, {"n_epochs": 30, "random_state": random_state}, None)
    return True
