"""Import files into a workspace and embed what is not yet embedded.

Both the GUI's encoder service and the headless CLI run these two functions,
so the product has one ingest path and one embedding path. Every part of the
embedding is its own transaction: a crash or cancel loses at most the parts in
flight (one; on an accelerator one being stored and one being encoded), and a
rerun resumes (documents of an interrupted import are redone; texts already
embedded are never embedded again).
"""
from __future__ import annotations

import hashlib
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from core.encoder import AUTO_BATCH, Encoder, batch_size_for, device_of
from core.ingest import (
    MAX_BATCH_CHARS,
    DocumentBatch,
    IngestIssue,
    IngestOptions,
    IngestReport,
    expand_paths,
    read_documents,
)
from core.ingest_stream import ReadDigest
from core.progress import Progress, null_progress
from core.store import Store


@dataclass
class ImportOutcome:
    """What an import did: new collections, reused ones (same content dropped again), the report."""

    collection_ids: list[int] = field(default_factory=list)
    reused_ids: list[int] = field(default_factory=list)
    documents: int = 0
    report: IngestReport = field(default_factory=IngestReport)

    @property
    def all_ids(self) -> list[int]:
        return self.collection_ids + self.reused_ids


@dataclass(frozen=True)
class EmbedOutcome:
    model_id: int
    embedded: int
    truncated: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


#: Texts longer than this many characters per token of the model's window are cut before
#: encoding (see :func:`model_texts`); never below ``_MIN_CUT`` characters.
_CUT_CHARS_PER_TOKEN = 64
_MIN_CUT = 100_000
_LAST_SPACE = re.compile(r"\s\S*\Z")


def content_hash(path: Path, files: Sequence[Path], options: IngestOptions, progress: Progress | None = None) -> str:
    """Hash of the files' bytes and the import options: equal hash, equal collection.

    A file that cannot be read counts by its name (reading it reports why); ``progress``
    is checked between blocks, so a huge drop can be cancelled while it is hashed. The
    import itself hashes what it reads the same way (:class:`~core.ingest_stream.ReadDigest`).
    """
    progress = progress or null_progress()
    digest = ReadDigest(repr(options))
    for file in files:
        digest.begin(_name_in(path, file))
        try:
            with open(file, "rb") as handle:
                digest.opened = True
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    progress.check()
        except OSError:
            digest.opened = False
        digest.end()
    return digest.hexdigest()


def _name_in(top: Path, file: Path) -> str:
    """How a file of a drop is named in its hash: relative to a dropped folder, else its name."""
    return str(file.relative_to(top) if top.is_dir() else file.name)


def model_texts(encoder: Encoder, texts: list[str]) -> list[str]:
    """The texts as the model gets them: very long ones cut at a space far beyond its window.

    The model reads only its first ``max_seq_length`` tokens, but tokenizing a whole
    30 MB line first took 100 s and 4.5 GB with MiniLM. A cut is kept only where the
    encoder still finds the cut text too long, so the tokens read (and the vector) stay
    the same; otherwise (e.g. megabytes of spaces) the whole text is used.
    """
    limit = encoder.max_seq_length
    cut_at = max(_MIN_CUT, _CUT_CHARS_PER_TOKEN * (limit or 0))
    long = [i for i, text in enumerate(texts) if len(text) > cut_at]
    if not limit or not long:
        return texts
    cuts = []
    for i in long:
        space = _LAST_SPACE.search(texts[i], cut_at // 2, cut_at)
        cuts.append(texts[i][: space.start() if space else cut_at])
    out = list(texts)
    for i, cut, too_long in zip(long, cuts, encoder.truncated(cuts)):
        if too_long:
            out[i] = cut
    return out


def encode_batch(encoder: Encoder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Vectors and too-long mask of one batch (every engine encodes through this)."""
    texts = model_texts(encoder, texts)
    return encoder.encode(texts, batch_size=len(texts)), np.asarray(encoder.truncated(texts), dtype=bool)


class _BatchWriter:
    """Checks and stores each encoded batch; on an accelerator, on a thread of its own
    while the next batch is encoded.

    On a GPU the model call is short, and the truncation check plus the DuckDB commit
    took as long as a third of it (bench/results/gpu). On a CPU the model already uses
    every core, and a writer beside it slowed encoding by ~15 % (bench/results), so
    there each batch is stored in turn. One batch is stored at a time;
    ``on_stored(texts, truncated)`` runs on the caller's thread, so progress and
    cancelling stay where they were.
    """

    def __init__(self, store: Store, encoder: Encoder, model_id: int, on_stored: Callable[[int, int], None]) -> None:
        self._store, self._encoder, self._model_id, self._on_stored = store, encoder, model_id, on_stored
        on_accelerator = device_of(encoder).startswith(("cuda", "mps"))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer") if on_accelerator else None
        self._pending: Future | None = None

    @property
    def in_background(self) -> bool:
        return self._pool is not None

    def submit(self, shas: list[str], texts: list[str], vectors: np.ndarray) -> None:
        """Store this batch (on an accelerator: once the previous one is stored, in the background)."""
        self.drain()
        if self._pool is None:
            self._on_stored(*self._write(shas, texts, vectors))
        else:
            self._pending = self._pool.submit(self._write, shas, texts, vectors)

    def _write(self, shas: list[str], texts: list[str], vectors: np.ndarray) -> tuple[int, int]:
        too_long = np.asarray(self._encoder.truncated(texts), dtype=bool)
        self._store.write_vectors(self._model_id, shas, vectors, too_long.tolist())
        return len(shas), int(np.count_nonzero(too_long))

    def drain(self) -> None:
        """Wait for the batch being stored (its error is raised here), then report it."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._on_stored(*pending.result())

    def close(self) -> None:
        """Wait for a batch still being stored (after an error elsewhere: its own is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _store_batches(
    store: Store,
    collection_id: int,
    batches: Iterable[DocumentBatch],
    batch_size: int,
    on_stored: Callable[[int, str], None],
) -> int:
    """Store one collection's batches, joined into transactions of about ``batch_size`` texts.

    A folder of 3,000 one-line files then takes two transactions instead of 3,000
    (44 s -> under 2 s). ``on_stored(total so far, last source)`` runs after each one.
    """
    added = chars = 0
    texts: list[str] = []
    metas: list[dict] = []
    sources: list[str] = []
    for batch in batches:
        texts += batch.texts
        metas += batch.metas
        sources += [batch.source] * len(batch.texts)
        chars += sum(map(len, batch.texts))
        if len(texts) >= batch_size or chars >= MAX_BATCH_CHARS:
            added += store.add_documents(collection_id, texts, metas, sources)
            on_stored(added, batch.source)
            texts, metas, sources, chars = [], [], [], 0
    if texts:
        added += store.add_documents(collection_id, texts, metas, sources)
        on_stored(added, sources[-1])
    return added


def _read_all(top: Path, files: Sequence[Path], options: IngestOptions, report: IngestReport,
              progress: Progress, read: ReadDigest) -> Iterator[DocumentBatch]:
    """The batches of every file, in order; their bytes go into ``read`` as they are read."""
    for file in files:
        read.begin(_name_in(top, file))
        yield from read_documents(file, options, report, progress.check, read)
        read.end()


def import_paths(
    store: Store,
    paths: Sequence[str | Path],
    options: IngestOptions | None = None,
    progress: Progress | None = None,
    collection_name: str | None = None,
) -> ImportOutcome:
    """Import each dropped file or folder as one collection.

    Content dropped before (same bytes, same options) is not imported again: its
    collection is reused. An import interrupted earlier is redone into the same
    collection. A collection is keyed by the bytes its import read (a file that grew
    while it was read is keyed by what was read, not by its earlier content).
    """
    options = options or IngestOptions()
    progress = progress or null_progress()
    outcome = ImportOutcome()
    report = outcome.report
    for raw in paths:
        top = Path(raw).expanduser()
        files = expand_paths([top], report)
        if not files:
            continue
        progress(outcome.documents, 0, f"Checking {top.name}…")
        digest = content_hash(top, files, options, progress)
        found = store.find_collection_by_source(digest)
        if found and found[1] == "ready":
            outcome.reused_ids.append(found[0])
            continue
        if found:
            collection_id = found[0]
            store.clear_documents(collection_id)
        else:
            name = collection_name or (top.name if top.is_dir() else top.name.split(".")[0]) or "collection"
            collection_id = store.create_collection(name, str(top), digest, status="importing")
        read = ReadDigest(repr(options))
        batches = _read_all(top, files, options, report, progress, read)
        added = _store_batches(
            store, collection_id, batches, options.batch_size,
            lambda n, source: progress(outcome.documents + n, 0, f"Reading {Path(source).name}: {n:,} documents"),
        )
        if added == 0:
            store.delete_collection(collection_id)
            continue
        store.set_collection_status(collection_id, "ready", source_sha256=read.hexdigest())
        outcome.collection_ids.append(collection_id)
        outcome.documents += added
    return outcome


def resume_imports(
    store: Store, options: IngestOptions | None = None, progress: Progress | None = None
) -> ImportOutcome:
    """Redo the imports a crash or quit interrupted (collections still marked 'importing').

    Each is read again from its source into the same collection when the source
    still holds the same content; otherwise it is left as it is and named in the
    report. Call it when a workspace is opened, before resuming the embedding.
    """
    options = options or IngestOptions()
    progress = progress or null_progress()
    resumable: list[str] = []
    problems: list[IngestIssue] = []
    for collection in store.collections():
        if collection.status != "importing":
            continue
        top = Path(collection.source or "")
        files = expand_paths([top], IngestReport()) if collection.source and top.exists() else []
        if files and store.find_collection_by_source(content_hash(top, files, options, progress)) == (
            collection.id, "importing"):
            resumable.append(str(top))
        else:
            problems.append(IngestIssue(str(top), f"{collection.name}: its import was interrupted and cannot be "
                                        f"redone: {top} is gone or has changed. Drop it again, or delete the "
                                        "collection."))
    outcome = import_paths(store, resumable, options, progress)
    for issue in problems:
        outcome.report.add(issue)
    return outcome


def embed_pending(
    store: Store,
    encoder: Encoder,
    collection_ids: Sequence[int],
    progress: Progress | None = None,
    batch_size: int = AUTO_BATCH,
    window_batches: int = 32,
    on_batch: Callable[[int, int], None] | None = None,
) -> EmbedOutcome:
    """Embed every text of ``collection_ids`` not yet embedded with ``encoder``.

    Texts come in random-sample order (so early maps are representative), a
    window of ``batch_size * window_batches`` at a time, sorted by length (parts
    of similar length pad little), in parts: each part is one model call (batches
    of ``batch_size``: per device; 0 = auto, see :func:`~core.encoder.batch_size_for`)
    and one transaction. The first part is one batch (the first map comes
    quickly), then parts double, up to the whole window on a CPU (a call and a
    commit per batch, and batches sorted only within 256 texts, cost ~10 % on 2
    cores) and up to two batches on an accelerator, where each part is stored
    while the next is encoded. ``on_batch(done, total)`` runs after each commit.
    """
    progress = progress or null_progress()
    if hasattr(encoder, "load"):
        progress(0, 0, f"Loading model {encoder.name}…")
        encoder.load()
    batch_size = batch_size_for(encoder, batch_size)
    model_id = store.ensure_model(encoder.name, encoder.dim, encoder.normalizes, encoder.max_seq_length)
    for collection_id in collection_ids:
        store.add_embedding_set(collection_id, model_id)
    total = store.count_pending(collection_ids, model_id)
    done = truncated = 0
    start = time.monotonic()
    progress(0, total, f"Embedding {total:,} texts with {encoder.name}")

    def stored(texts: int, too_long: int) -> None:
        nonlocal done, truncated
        done += texts
        truncated += too_long
        elapsed = time.monotonic() - start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        if on_batch is not None:
            on_batch(done, total)
        progress(done, total, f"Embedded {done:,}/{total:,} · {rate:.1f} texts/s · {eta:.0f} s left")

    writer = _BatchWriter(store, encoder, model_id, stored)
    part, largest = batch_size, batch_size * (2 if writer.in_background else window_batches)
    try:
        while window := store.pending_texts(collection_ids, model_id, batch_size * window_batches):
            window.sort(key=lambda item: len(item[1]))
            begin = 0
            while begin < len(window):
                chunk = window[begin : begin + part]
                begin, part = begin + len(chunk), min(2 * part, largest)
                texts = model_texts(encoder, [text for _, text in chunk])
                writer.submit([sha for sha, _ in chunk], texts, encoder.encode(texts, batch_size=batch_size))
            writer.drain()  # the next window is read from what is stored
    finally:
        writer.close()
    return EmbedOutcome(model_id, done, truncated, time.monotonic() - start)
