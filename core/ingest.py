"""Turn dropped files and folders into batches of documents, Qt-free.

Formats: .txt/.md, .csv/.tsv, .jsonl/.json, .parquet, each also gzip-compressed
(``notes.csv.gz``). Everything is streamed in batches of ``batch_size`` texts (and at
most ``MAX_BATCH_CHARS`` characters), so memory stays bounded however large the
file. Bad input never raises: each problem becomes an :class:`IngestIssue` in the
:class:`IngestReport`, naming the file (and line or row), and the good parts of a
mixed drop are still read.

Typical use::

    report = IngestReport()
    for batch in ingest_paths(["~/corpus"], IngestOptions(), report):
        handle(batch.source, batch.texts, batch.metas)
    print(report.summary())
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Callable, Iterable, Iterator

from core.ingest_json import read_json, read_jsonl
from core.ingest_tables import read_csv, read_parquet
from core.ingest_text import read_plain
from core.ingest_stream import Check, ReadDigest
from core.ingest_types import (
    MAX_BATCH_CHARS,
    MAX_DOCUMENT_CHARS,
    MAX_META_FIELDS,
    MORE_FIELDS,
    DocumentBatch,
    FileContext,
    IngestError,
    IngestIssue,
    IngestOptions,
    IngestReport,
    Record,
    Tally,
    shown_name,
)
from core.progress import Cancelled

__all__ = [
    "MAX_BATCH_CHARS",
    "SUPPORTED_SUFFIXES",
    "DocumentBatch",
    "IngestIssue",
    "IngestOptions",
    "IngestReport",
    "expand_paths",
    "ingest_paths",
    "read_documents",
]

_READERS: dict[str, Callable[[FileContext], Iterator[Record]]] = {
    ".txt": lambda ctx: read_plain(ctx, ctx.options.txt_mode),
    ".md": lambda ctx: read_plain(ctx, ctx.options.md_mode),
    ".markdown": lambda ctx: read_plain(ctx, ctx.options.md_mode),
    ".csv": read_csv,
    ".tsv": read_csv,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json,
    ".parquet": read_parquet,
}
#: File name endings that can be read (case-insensitive), e.g. for a file dialog filter.
SUPPORTED_SUFFIXES: tuple[str, ...] = (*_READERS, *(suffix + ".gz" for suffix in _READERS))
_SUPPORTED_LIST = ", ".join(_READERS)

_UNSUPPORTED_KINDS = {
    "PDF files are not supported yet; export the text first (for example save as .txt).": ".pdf",
    "word-processor documents are not supported yet; save them as plain text (.txt) first.":
        ".doc .docx .odt .rtf .pages",
    "spreadsheets are not supported yet; save the sheet as CSV first.": ".xls .xlsx .xlsm .ods .numbers",
    "archives are not opened; unpack them and drop the folder instead.": ".zip .tar .tgz .7z .rar .bz2 .xz .zst",
    "images are not supported; only text can be embedded.":
        ".png .jpg .jpeg .gif .bmp .tif .tiff .webp .heic .svg .ico",
    "audio and video files are not supported; only text can be embedded.":
        ".mp3 .wav .flac .ogg .m4a .mp4 .mov .avi .mkv .webm",
    "HTML and XML are not supported yet; save the text as .txt (or records as .csv/.jsonl) first.":
        ".html .htm .xhtml .xml",
}
_UNSUPPORTED = {suffix: reason for reason, suffixes in _UNSUPPORTED_KINDS.items() for suffix in suffixes.split()}


def _suffix(path: Path) -> tuple[str, bool]:
    """The format suffix (lower case, ``.gz`` removed) and whether the name ended in ``.gz``."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    return Path(name[:-3] if gz else name).suffix, gz


def unsupported_reason(path: Path) -> str | None:
    """Why ``path`` cannot be read, in words for the user; None when its format is supported."""
    suffix, gz = _suffix(path)
    if suffix in _READERS:
        return None
    if suffix in _UNSUPPORTED:
        return _UNSUPPORTED[suffix]
    if gz:
        return f"compressed files must show their format in the name, like data.csv.gz ({_SUPPORTED_LIST})."
    if not suffix:
        return f"the file has no extension, so its format is unknown; rename it with one of {_SUPPORTED_LIST}."
    return f"'{suffix}' files are not supported; use {_SUPPORTED_LIST} (optionally gzip-compressed, e.g. .csv.gz)."


def _issue(report: IngestReport, path: Path, message: str, skip: bool = True) -> None:
    report.add(IngestIssue(str(path), f"{shown_name(path)}: {message}"))
    if skip:
        report.skip(path)


def _bad_name(path: Path | str) -> bool:
    """True when the name holds bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_BAD_NAME = ("its name is not valid UTF-8 (shown with \\x escapes), so it was skipped; rename it (e.g. with "
             "convmv) to import it.")


def _take_file(path: Path, report: IngestReport, found: list[Path], seen: set[str],
               unsupported: dict[str, list[Path]] | None) -> None:
    reason = unsupported_reason(path)
    if reason is not None:
        if unsupported is None:
            _issue(report, path, reason)
        else:
            unsupported.setdefault(reason, []).append(path)
        return
    real = os.path.realpath(path)
    if real in seen:
        return
    seen.add(real)
    if not os.access(path, os.R_OK):
        _issue(report, path, "cannot be read: permission denied. Check the file's permissions.")
        return
    found.append(path)


_SPECIAL = "this is not a regular file (a pipe, socket or device), so it was skipped."


def _within(real: str, folder: str) -> bool:
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def _walk(root: Path, report: IngestReport, found: list[Path], seen: set[str]) -> None:
    """Depth-first, in name order; hidden entries skipped; reported and not followed: symlink loops and
    links that lead outside ``root``; reported and skipped: pipes, sockets, devices and names that are
    not UTF-8."""
    unsupported: dict[str, list[Path]] = {}
    visited: set[str] = set()
    stack: list[tuple[Iterator[os.DirEntry], str]] = []

    def enter(folder: Path) -> None:
        real = os.path.realpath(folder)
        if any(real == ancestor for _, ancestor in stack):
            _issue(report, folder, f"this folder link leads back to '{real}' (a symlink loop), so it was not "
                                   "followed.", skip=False)
            return
        if real in visited:
            return
        visited.add(real)
        try:
            with os.scandir(folder) as entries:
                ordered = sorted(entries, key=lambda entry: entry.name)
        except OSError as exc:
            _issue(report, folder, f"cannot open this folder ({exc.strerror or exc}).", skip=False)
            return
        stack.append((iter(ordered), real))

    enter(root)
    inside = os.path.realpath(root)
    while stack:
        entry = next(stack[-1][0], None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if _bad_name(entry.name):
            _issue(report, path, _BAD_NAME)
            continue
        if entry.is_symlink() and os.path.exists(path) and not _within(os.path.realpath(path), inside):
            target = shown_name(Path(os.path.realpath(path)), full=True)
            _issue(report, path, f"this link leads outside the dropped folder (to {target}), so it was not "
                                 "followed: a dropped folder only ever gives its own files.")
            continue
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            enter(path)
        elif is_file:
            _take_file(path, report, found, seen, unsupported)
        elif os.path.exists(path):
            _issue(report, path, _SPECIAL)
        else:
            _issue(report, path, "this link points to a file that does not exist.")
    for reason, paths in unsupported.items():
        names = ", ".join(shown_name(p) for p in paths[:3]) + (", …" if len(paths) > 3 else "")
        count = f"{len(paths):,} file{'s' if len(paths) > 1 else ''}"
        report.add(IngestIssue(str(root), f"{shown_name(root)}: skipped {count} ({names}): {reason}"))
        for path in paths:
            report.skip(path)


def expand_paths(paths: Iterable[str | Path], report: IngestReport) -> list[Path]:
    """The readable, supported files among ``paths``, folders expanded recursively.

    Order is deterministic (arguments in order, folder contents by name);
    hidden files and folders inside folders are skipped; each file appears
    once. A folder gives only its own files: links inside it that lead outside it
    are not followed. Missing paths, unreadable or unsupported files, special
    files (pipes, devices), names that are not UTF-8 and symlink loops are
    reported in ``report``; unsupported files found in one folder are reported
    together, one issue per kind.
    """
    found: list[Path] = []
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if _bad_name(path):
            _issue(report, path, _BAD_NAME)
            continue
        try:
            exists, is_dir = path.exists(), path.is_dir()
        except OSError as exc:
            _issue(report, path, f"cannot be opened ({exc.strerror or exc}).")
            continue
        if not exists:
            broken = path.is_symlink()
            _issue(report, path, "this link is broken (its target does not exist)." if broken
                   else "no such file or folder.")
        elif is_dir:
            _walk(path, report, found, seen)
        elif path.is_file():
            _take_file(path, report, found, seen, None)
        else:
            _issue(report, path, _SPECIAL)
    return found


def _batches(ctx: FileContext, records: Iterator[Record]) -> Iterator[DocumentBatch]:
    """Clean the texts (NULs removed, whitespace trimmed, empties dropped, overlong cut) and batch them.

    If the reader fails midway, the texts read so far are still yielded, then
    the error is re-raised.
    """
    size = ctx.options.batch_size
    chars = 0
    missing, not_text = Tally(ctx, "skipped", ""), Tally(ctx, "skipped", "")
    cut = Tally(ctx, "shortened", f"longer than {MAX_DOCUMENT_CHARS:,} characters, so cut to that length", "warning")
    wide = Tally(ctx, "kept", f"they have more than {MAX_META_FIELDS} metadata fields; the first "
                 f"{MAX_META_FIELDS - 1} are kept as fields, the rest together in the one JSON field '{MORE_FIELDS}'",
                 "warning")
    nul = 0
    texts: list[str] = []
    metas: list[dict] = []
    failure: Exception | None = None
    try:
        for position, text, meta in records:
            if not isinstance(text, str):
                (missing if text is None else not_text).add(position)
                continue
            if "\0" in text:
                nul += text.count("\0")
                text = text.replace("\0", "")
            text = text.strip()
            if not text:
                continue
            if len(text) > MAX_DOCUMENT_CHARS:
                text = text[:MAX_DOCUMENT_CHARS]
                cut.add(position)
            if len(meta) > MAX_META_FIELDS:
                meta = _folded(meta)
                wide.add(position)
            if position is not None:
                meta.setdefault(ctx.unit, position)
            texts.append(text)
            metas.append(meta)
            chars += len(text)
            if len(texts) >= size or chars >= MAX_BATCH_CHARS:
                yield DocumentBatch(str(ctx.path), texts, metas)
                texts, metas, chars = [], [], 0
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - reported by read_documents once the good part is out
        failure = exc
    if texts:
        yield DocumentBatch(str(ctx.path), texts, metas)
    missing.reason = f"the {ctx.text_label} is missing or null"
    not_text.reason = f"the {ctx.text_label} is not a string"
    for tally in (missing, not_text, cut, wide):
        tally.flush()
    if nul:
        ctx.issue(f"removed {nul:,} NUL character{'s' if nul > 1 else ''} from the texts.", severity="warning")
    if failure is not None:
        raise failure


def _folded(meta: dict) -> dict:
    """At most :data:`MAX_META_FIELDS` fields: the last one, :data:`MORE_FIELDS`, holds the others."""
    keys = list(meta)
    kept = {key: meta[key] for key in keys[: MAX_META_FIELDS - 1]}
    kept[MORE_FIELDS] = {key: meta[key] for key in keys[MAX_META_FIELDS - 1 :]}
    return kept


def _describe(exc: Exception) -> tuple[str, int | None]:
    """A user-facing sentence for why reading stopped."""
    if isinstance(exc, IngestError):
        return exc.message, exc.line
    if isinstance(exc, PermissionError):
        return "cannot be read: permission denied. Check the file's permissions.", None
    if isinstance(exc, FileNotFoundError):
        return "the file disappeared while it was being read.", None
    if isinstance(exc, gzip.BadGzipFile):
        return "this is not gzip data although the name ends in .gz; rename or re-compress it.", None
    if isinstance(exc, EOFError):
        return "the compressed data ends early (truncated .gz file); the documents before that point were kept.", None
    if isinstance(exc, zlib.error):
        return "the compressed data is corrupt; the documents before that point were kept.", None
    if isinstance(exc, MemoryError):
        return "the file is too large to read into memory.", None
    return f"could not be read ({type(exc).__name__}: {exc}).", None


def read_documents(
    path: Path, options: IngestOptions, report: IngestReport, check: Check | None = None,
    digest: ReadDigest | None = None,
) -> Iterator[DocumentBatch]:
    """Stream one file's documents in batches; problems go to ``report``, never raised.

    Metadata per text holds the table's other columns / the JSON object's other
    fields (at most :data:`MAX_META_FIELDS`), plus the position: ``{"line": n}``
    for text, CSV and JSON Lines, ``{"row": n}`` for Parquet, ``{"item": n}`` for
    JSON lists (1-based; a column of the same name wins). ``check`` is polled on
    every block read and may raise :class:`~core.progress.Cancelled`, the one
    exception that leaves; ``digest`` receives the bytes read.
    """
    path = Path(path)
    reason = unsupported_reason(path)
    if reason is not None:
        _issue(report, path, reason)
        return
    ctx = FileContext(path, options, report, digest=digest)
    if check is not None:
        ctx.check = check
    first_issue = len(report.issues)
    produced = 0
    try:
        for batch in _batches(ctx, _READERS[_suffix(path)[0]](ctx)):
            produced += len(batch.texts)
            report.count_documents(len(batch.texts))
            yield batch
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - bad input must never stop an import
        message, line = _describe(exc)
        ctx.issue(message, line, unit="line")
    report.finish_file(path, produced, first_issue)


def ingest_paths(
    paths: Iterable[str | Path], options: IngestOptions, report: IngestReport, check: Check | None = None
) -> Iterator[DocumentBatch]:
    """:func:`expand_paths`, then :func:`read_documents` on each file, in order."""
    for path in expand_paths(paths, report):
        yield from read_documents(path, options, report, check)
