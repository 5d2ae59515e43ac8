"""The encoder service: one long-lived QThread that owns the models and is the
workspace's single writer.

Jobs (imports, embedding runs, query encodings) wait in a queue and run in
order; queries jump ahead between batches so search stays quick during a long
embedding run. Progress is throttled at the source; cancel is a thread-safe
flag polled between batches.
"""
from __future__ import annotations

import itertools
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal

from core.encoder import AUTO_BATCH, Encoder, EncoderError, load_encoder, torch_threads
from core.knn import QueryIndex
from core.ingest import IngestOptions
from core.pipeline import embed_pending, import_paths, resume_imports
from core.priority import lower_thread_priority
from core.progress import Cancelled, Progress
from core.store import Store
from core.workspace_file import WorkspaceError


@dataclass(frozen=True)
class ImportJob:
    """Import paths as collections, then embed them with ``model``."""

    paths: tuple[str, ...]
    model: str
    options: IngestOptions = field(default_factory=IngestOptions)

    def run(self, service: EncoderService) -> None:
        outcome = import_paths(service.store, self.paths, self.options, service.progress())
        service.sig_import_done.emit(outcome)
        if outcome.all_ids:
            service.embed(tuple(outcome.all_ids), self.model)


@dataclass(frozen=True)
class ResumeJob:
    """Redo imports a crash or quit interrupted, then embed them with ``model``."""

    model: str

    def run(self, service: EncoderService) -> None:
        outcome = resume_imports(service.store, progress=service.progress())
        service.sig_import_done.emit(outcome)
        if outcome.all_ids:
            service.embed(tuple(outcome.all_ids), self.model)


@dataclass(frozen=True)
class EmbedJob:
    """Embed what ``collection_ids`` still lack with ``model``."""

    collection_ids: tuple[int, ...]
    model: str

    def run(self, service: EncoderService) -> None:
        service.embed(self.collection_ids, self.model)


@dataclass(frozen=True)
class DeriveJob:
    """Store ``transform(vectors)`` of an embedding set as a new, derived set (raw vectors untouched)."""

    collection_ids: tuple[int, ...]
    model_id: int
    name: str
    transform: Callable[[np.ndarray], np.ndarray]

    def run(self, service: EncoderService) -> None:
        progress = service.progress()
        progress(0, 2, f"Computing {self.name}…")
        doc_ids, _, vectors = service.store.load_vectors(self.collection_ids, self.model_id)
        derived = np.asarray(self.transform(vectors), dtype=np.float32)
        shas, first = np.unique(service.store.hashes(doc_ids).astype(str), return_index=True)
        model_id = service.store.ensure_model(self.name, dim=int(derived.shape[1]), kind="derived")
        progress(1, 2, f"Storing {self.name}…")
        for start in range(0, len(shas), 4096):
            rows = first[start : start + 4096]
            service.store.write_vectors(model_id, shas[start : start + 4096].tolist(), derived[rows])
        for collection_id in self.collection_ids:
            service.store.add_embedding_set(collection_id, model_id)
        progress(2, 2, f"Stored {self.name}")
        service.sig_derived_done.emit(self.name)


@dataclass(frozen=True)
class StoreJob:
    """Run ``work(store, progress)`` on the writer lane (vector import and export).

    Answered by ``sig_store_job_done(job, result)``; an exception of a type in
    ``expected`` (a bad input file) comes back as the result, for the caller to
    explain, instead of as ``sig_error``.
    """

    work: Callable[[Store, Progress], object]
    expected: tuple[type[Exception], ...] = ()

    def run(self, service: EncoderService) -> None:
        try:
            result = self.work(service.store, service.progress())
        except self.expected as exc:
            result = exc
        service.sig_store_job_done.emit(self, result)


@dataclass(frozen=True)
class QueryJob:
    """Semantic search: encode ``text`` and find its ``k`` nearest ``vectors`` rows.

    Answered by ``sig_query_done(token, rows, similarities)``. Both steps run here,
    off the GUI thread; ``key`` names the rows so their prepared index is reused.
    """

    text: str
    model: str
    token: int
    vectors: np.ndarray = field(repr=False)
    key: str
    k: int = 20


@dataclass(frozen=True)
class _Preload:
    model: str


_STOP = object()


class EncoderService(QThread):
    """Runs :class:`ImportJob`, :class:`EmbedJob`, :class:`DeriveJob`, :class:`StoreJob` and
    :class:`QueryJob` in sequence. A job carries its own ``run(service)``."""

    sig_progress = Signal(int, int, str)  # done, total (0 = unknown), message
    sig_import_done = Signal(object)  # ImportOutcome
    sig_batch_committed = Signal(object, int, int)  # collection ids, done, total
    sig_embed_done = Signal(object, object)  # collection ids, EmbedOutcome
    sig_query_done = Signal(int, object, object)  # token, rows, cosine similarities
    sig_derived_done = Signal(str)  # name of the derived model
    sig_store_job_done = Signal(object, object)  # StoreJob, its result (or its expected exception)
    sig_preloaded = Signal(str)  # model name, loaded (or failed: it reports when really used)
    sig_error = Signal(str)
    sig_cancelled = Signal()
    sig_busy_changed = Signal(bool)

    def __init__(
        self,
        store: Store,
        encoder_factory: Callable[[str], Encoder] = load_encoder,
        batch_size: int = AUTO_BATCH,
    ) -> None:
        super().__init__()
        self.setObjectName("EncoderService")
        self._store = store
        self._factory = encoder_factory
        self._batch_size = batch_size
        self._jobs: queue.Queue = queue.Queue()
        self._queries: queue.Queue = queue.Queue()
        self._cancel = threading.Event()
        self._encoders: dict[str, Encoder] = {}
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._tokens = itertools.count(1)
        self._index: tuple[str, QueryIndex] | None = None

    # ------------------------------------------------------------------ GUI-thread API
    def submit(self, job: ImportJob | ResumeJob | EmbedJob | DeriveJob | StoreJob) -> None:
        with self._pending_lock:
            self._pending += 1
        self._jobs.put(job)

    def preload(self, model: str) -> None:
        """Load ``model`` (torch, transformers, weights) before the first drop needs it.

        Runs as a query does, ahead of queued jobs; a model that cannot load says
        so later, when it is used, with the usual message.
        """
        self._queries.put(_Preload(model))
        self._jobs.put(None)

    def search(self, text: str, model: str, vectors: np.ndarray, key: str, k: int = 20) -> int:
        """Queue a semantic search over ``vectors`` (rows named by ``key``); returns its answer's token."""
        token = next(self._tokens)
        self._queries.put(QueryJob(text, model, token, vectors, key, k))
        self._jobs.put(None)  # wake the loop if idle
        return token

    @property
    def busy(self) -> bool:
        with self._pending_lock:
            return self._pending > 0

    def cancel(self) -> None:
        """Stop the job in flight at its next batch and drop the queued ones."""
        self._cancel.set()

    def stop(self, timeout_ms: int = 10_000) -> bool:
        """Cancel, finish the loop and join the thread; True when it ended in time."""
        self._cancel.set()
        self._jobs.put(_STOP)
        return self.wait(timeout_ms)

    # ------------------------------------------------------------------ worker thread
    def run(self) -> None:  # noqa: D401 - QThread entry point
        lower_thread_priority()  # before torch starts its worker threads: they inherit it
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            self._serve_queries()
            if job is None:
                continue
            if self._cancel.is_set():  # dropped by a cancel before it started
                self._finish_job()
                if self._jobs.empty():
                    self._cancel.clear()
                continue
            self.sig_busy_changed.emit(True)
            try:
                job.run(self)
            except Cancelled:
                self.sig_cancelled.emit()
            except (EncoderError, WorkspaceError, OSError, ValueError) as exc:
                self.sig_error.emit(str(exc))
            except Exception as exc:  # noqa: BLE001 - a worker must never die silently
                self.sig_error.emit(f"Unexpected error: {exc}\n{traceback.format_exc(limit=4)}")
            self._finish_job()
            if self._jobs.empty():
                self._cancel.clear()

    def _finish_job(self) -> None:
        with self._pending_lock:
            self._pending -= 1
            idle = self._pending == 0
        if idle:
            self.sig_busy_changed.emit(False)

    @property
    def store(self) -> Store:
        """The workspace this lane writes to (jobs use it on this thread only)."""
        return self._store

    def progress(self) -> Progress:
        """A progress for the running job: reports as ``sig_progress``, cancelled by :meth:`cancel`."""
        return Progress(lambda d, t, m: self.sig_progress.emit(d, t, m), self._cancel)

    def _encoder(self, name: str) -> Encoder:
        if name not in self._encoders:
            self._encoders[name] = self._factory(name)
        return self._encoders[name]

    def embed(self, collection_ids: tuple[int, ...], model: str) -> None:
        """Embed what ``collection_ids`` lack with ``model`` (a job's step; this thread only)."""
        encoder = self._encoder(model)

        def committed(done: int, total: int) -> None:
            self.sig_batch_committed.emit(collection_ids, done, total)
            self._serve_queries()

        started = time.monotonic()
        outcome = embed_pending(
            self._store, encoder, collection_ids, self.progress(), self._batch_size, on_batch=committed
        )
        self.sig_progress.emit(
            outcome.embedded, outcome.embedded, f"Embedded {outcome.embedded:,} texts in {time.monotonic() - started:.1f} s"
        )
        self.sig_embed_done.emit(collection_ids, outcome)

    def _serve_queries(self) -> None:
        while True:
            try:
                query = self._queries.get_nowait()
            except queue.Empty:
                return
            if isinstance(query, _Preload):
                try:
                    encoder = self._encoder(query.model)
                    if hasattr(encoder, "load"):
                        encoder.load()
                except Exception:  # noqa: BLE001 - reported when the model is really used
                    self._encoders.pop(query.model, None)
                self.sig_preloaded.emit(query.model)
                continue
            try:
                with torch_threads(1):  # one short text: extra threads only add sync waits on a busy machine
                    vector = self._encoder(query.model).encode([query.text])[0]
                rows, distances = self._query_index(query).search(np.asarray(vector, dtype=np.float32)[None, :],
                                                                  min(query.k, len(query.vectors)))
            except Exception as exc:  # noqa: BLE001 - reported, the service keeps going
                self.sig_error.emit(f"Could not search by meaning: {exc}")
                continue
            self.sig_query_done.emit(query.token, rows[0], 1.0 - distances[0])

    def _query_index(self, query: QueryJob) -> QueryIndex:
        """The prepared rows of ``query.key``, kept for the next query on the same view."""
        if self._index is None or self._index[0] != query.key:
            self._index = (query.key, QueryIndex(query.vectors))
        return self._index[1]
