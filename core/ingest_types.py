"""Data types shared by the ingest readers: options, issues, batches, the report.

Kept apart from :mod:`core.ingest` so the format readers can use them without
an import cycle; import them from :mod:`core.ingest`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from core.ingest_stream import ReadDigest

#: Longest text kept per document (characters); longer ones are cut with a warning.
MAX_DOCUMENT_CHARS = 64 * 1024 * 1024

#: A batch ends once its texts reach this many characters (long documents: fewer per batch),
#: which bounds the memory of one batch and of the transaction that stores it.
MAX_BATCH_CHARS = 4 * 1024 * 1024

#: Metadata fields kept as their own fields per document; the rest go together into
#: :data:`MORE_FIELDS` (every field becomes a column when a view reads labels).
MAX_META_FIELDS = 256
MORE_FIELDS = "more_fields"

#: Column / field names preferred as the text when the mean lengths tie.
PREFERRED_TEXT_NAMES = ("text", "content", "body", "abstract", "sentence")

#: What readers yield: ``(position, text, metadata)``; text is None when missing,
#: and not a str when of the wrong type (both counted, then skipped).
Record = tuple["int | None", object, dict]


@dataclass(frozen=True)
class IngestOptions:
    """How files are split into documents.

    ``txt_mode`` / ``md_mode``: ``"lines"`` (one document per non-empty line) or
    ``"file"`` (one per file). ``text_column`` names the text column of tables
    and JSON instead of auto-detecting it. ``batch_size`` is the number of texts
    per :class:`DocumentBatch`.
    """

    txt_mode: str = "lines"
    md_mode: str = "file"
    text_column: str | None = None
    batch_size: int = 2048

    def __post_init__(self) -> None:
        for name in ("txt_mode", "md_mode"):
            if getattr(self, name) not in ("lines", "file"):
                raise ValueError(f"{name} must be 'lines' or 'file', not {getattr(self, name)!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}")


@dataclass(frozen=True)
class IngestIssue:
    """One problem met while reading input, phrased for the end user.

    ``severity`` is ``"error"`` when a file or record was skipped and
    ``"warning"`` when data was kept but changed (e.g. replaced bytes).
    """

    path: str
    message: str
    line: int | None = None
    severity: str = "error"


@dataclass
class DocumentBatch:
    """Up to ``batch_size`` texts (about :data:`MAX_BATCH_CHARS` characters) from one file, with
    JSON-serialisable metadata each."""

    source: str
    texts: list[str]
    metas: list[dict]


class IngestReport:
    """Issues and counts of one import; safe to read from another thread while one thread writes.

    ``files_read`` counts files that gave at least one document; ``files_skipped``
    lists the paths that gave none (unsupported, unreadable, broken, empty).
    """

    def __init__(self) -> None:
        self.issues: list[IngestIssue] = []
        self.files_read = 0
        self.documents = 0
        self.files_skipped: list[str] = []
        self._lock = threading.Lock()

    def add(self, issue: IngestIssue) -> None:
        with self._lock:
            self.issues.append(issue)

    def count_documents(self, n: int) -> None:
        with self._lock:
            self.documents += n

    def finish_file(self, path: Path, documents: int, first_issue: int) -> None:
        """Close the books on one file; ``first_issue`` is ``len(issues)`` before it was read."""
        if documents:
            with self._lock:
                self.files_read += 1
            return
        mine = [i for i in self.issues[first_issue:] if i.path == str(path) and i.severity == "error"]
        if not mine:
            self.add(IngestIssue(str(path), f"{shown_name(path)}: no text found in this file."))
        self.skip(path)

    def skip(self, path: Path | str) -> None:
        with self._lock:
            self.files_skipped.append(str(path))

    def summary(self) -> str:
        """One sentence, e.g. ``"812 documents from 3 files; 2 files skipped (a.pdf, b.csv); 2 issues"``."""
        with self._lock:
            docs, files, skipped, issues = self.documents, self.files_read, list(self.files_skipped), len(self.issues)
        parts = [f"{docs:,} {_plural(docs, 'document')} from {files:,} {_plural(files, 'file')}"]
        if skipped:
            names = ", ".join(shown_name(Path(p)) for p in skipped[:3]) + (", …" if len(skipped) > 3 else "")
            parts.append(f"{len(skipped):,} {_plural(len(skipped), 'file')} skipped ({names})")
        if issues:
            parts.append(f"{issues:,} {_plural(issues, 'issue')}")
        return "; ".join(parts)


def shown_name(path: Path, full: bool = False) -> str:
    """The file's name (``full``: its whole path) for people: bytes that are not UTF-8 as ``\\x`` escapes."""
    text = str(path) if full else (path.name or str(path))
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


class IngestError(Exception):
    """Stops reading one file; what was read before it is kept. ``line`` is 1-based or None."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class FileContext:
    """What a reader needs about the file it reads: options, where to report, how positions are named.

    ``unit`` names positions in messages and metadata (``"line"``, ``"row"``,
    ``"item"``); ``text_label`` names the text's source in messages, e.g.
    ``"column 'body'"``. ``check`` raises to cancel (polled on every block read);
    ``digest`` receives the bytes the final pass reads.
    """

    path: Path
    options: IngestOptions
    report: IngestReport
    unit: str = "line"
    text_label: str = "text"
    check: Callable[[], None] = lambda: None
    digest: ReadDigest | None = None

    def issue(self, message: str, line: int | None = None, severity: str = "error", unit: str = "") -> None:
        where = f" ({unit or self.unit} {line:,})" if line is not None else ""
        self.report.add(IngestIssue(str(self.path), f"{shown_name(self.path)}{where}: {message}", line, severity))

    def muted(self) -> FileContext:
        """A copy that reports into a throw-away report and hashes nothing (for a first, statistics-only pass)."""
        return replace(self, report=IngestReport(), digest=None)


class Tally:
    """Counts records skipped (or changed) for one reason and reports them as ONE issue."""

    shown = 5

    def __init__(self, ctx: FileContext, verb: str, reason: str, severity: str = "error") -> None:
        self.ctx, self.verb, self.reason, self.severity = ctx, verb, reason, severity
        self.count = 0
        self.positions: list[int] = []
        self.detail = ""

    def add(self, position: int | None, detail: str = "") -> None:
        self.count += 1
        if position is not None and len(self.positions) < self.shown:
            self.positions.append(position)
        if detail and not self.detail:
            self.detail = detail

    def flush(self) -> None:
        if not self.count:
            return
        unit = self.ctx.unit
        where = ""
        if self.positions:
            more = ", …" if self.count > len(self.positions) else ""
            where = f" ({_plural(len(self.positions), unit)} {', '.join(f'{p:,}' for p in self.positions)}{more})"
        detail = f"; first problem: {self.detail}" if self.detail else ""
        first = self.positions[0] if self.positions else None
        message = f"{self.verb} {self.count:,} {_plural(self.count, unit)}: {self.reason}{where}{detail}"
        self.ctx.report.add(IngestIssue(str(self.ctx.path), f"{shown_name(self.ctx.path)}: {message}", first,
                                        self.severity))
        self.count = 0
