"""Decoded, line-bounded reading of text files for ingest.

Handles gzip, byte-order marks (UTF-8, UTF-16, UTF-32), binary files posing as
text, and undecodable bytes: those are replaced with U+FFFD and counted, and the
count is reported as ONE warning per file. Memory stays bounded: lines are read
with a length limit, never the whole file.
"""
from __future__ import annotations

import codecs
import gzip
import io
import re
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Iterator

from core.ingest_types import MAX_DOCUMENT_CHARS, FileContext, IngestError, Record

HEAD_BYTES = 8192
_ESCAPE = "embedding-explorer-escape"
#: Lone surrogates: only our error handler produces them when decoding, so each marks one bad byte.
SURROGATES = re.compile("[\ud800-\udfff]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL_BYTES = bytes(range(1, 9)) + bytes(range(14, 32))
_NEWLINES = ("\n", "\r")


def _escape_undecodable(exc: UnicodeError) -> tuple[str, int]:
    """Decode each bad byte to a lone surrogate (like ``surrogateescape``, but for every byte and codec)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(_ESCAPE, _escape_undecodable)


def is_gzip_name(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when its name ends in ``.gz``."""
    return gzip.open(path, "rb") if is_gzip_name(path) else open(path, "rb")  # noqa: SIM115


def looks_binary(head: bytes) -> bool:
    """True when the first bytes have many NULs, control bytes or invalid UTF-8 (not text)."""
    size = max(len(head), 64)
    nul = head.count(0)
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    decoded = codecs.getincrementaldecoder("utf-8")(_ESCAPE).decode(head, final=False)
    bad = len(SURROGATES.findall(decoded))
    return nul > 0.1 * size or nul + controls + bad > 0.3 * size


class TextFile:
    """Context manager giving the decoded text of one file, with bad characters counted.

    Raises :class:`IngestError` on entry for an empty or binary file. On a clean
    exit it reports how many characters were replaced, as one warning.

    Parameters
    ----------
    ctx : FileContext
        The file and where to report.
    newline : str or None
        Passed to :class:`io.TextIOWrapper`; ``""`` keeps line endings for the csv module.
    """

    def __init__(self, ctx: FileContext, newline: str | None = None) -> None:
        self.ctx = ctx
        self.newline = newline
        self.replaced = 0
        self._text: io.TextIOWrapper | None = None

    def __enter__(self) -> TextFile:
        raw = open_binary(self.ctx.path)
        try:
            head = raw.read(HEAD_BYTES)
            if not head:
                raise IngestError("the file is empty.")
            encoding = next((name for bom, name in _BOMS if head.startswith(bom)), None)
            if encoding is None:
                if looks_binary(head):
                    raise IngestError(
                        "this looks like a binary file, not text (many NUL or undecodable bytes at its start), "
                        "so it was skipped. If it is UTF-16 text, save it as UTF-8 or with a byte-order mark."
                    )
                encoding = "utf-8"
            raw.seek(0)
            self._text = io.TextIOWrapper(raw, encoding=encoding, errors=_ESCAPE, newline=self.newline)
        except BaseException:
            raw.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._text is not None:
            self._text.close()
        if exc_type is None and self.replaced:
            self.ctx.issue(
                f"replaced {self.replaced:,} undecodable {'byte' if self.replaced == 1 else 'bytes'} with "
                "'\ufffd': the file is not valid UTF-8 (nor UTF-16 with a byte-order mark). "
                "Save it as UTF-8 to keep those characters.",
                severity="warning",
            )

    def scrub(self, text: str) -> str:
        """Replace lone surrogates (bad bytes, or bad ``\\u`` escapes in JSON) with U+FFFD, counting them."""
        if text.isascii() or SURROGATES.search(text) is None:
            return text
        text, n = SURROGATES.subn("\ufffd", text)
        self.replaced += n
        return text

    def lines(self, limit: int = MAX_DOCUMENT_CHARS + 1) -> Iterator[tuple[int, str, bool]]:
        """Yield ``(line_number, line, complete)``; a line longer than ``limit`` is cut
        (``complete`` False) and the rest of it skipped, so memory stays bounded."""
        assert self._text is not None
        readline = self._text.readline
        number = 0
        while line := readline(limit):
            number += 1
            complete = len(line) < limit or line.endswith(_NEWLINES)
            if not complete:
                while (rest := readline(limit)) and not rest.endswith(_NEWLINES):
                    pass
            yield number, self.scrub(line), complete

    def read(self, limit: int = MAX_DOCUMENT_CHARS + 1) -> str:
        """At most ``limit`` characters from the start."""
        assert self._text is not None
        return self.scrub(self._text.read(limit))

    def chunks(self, size: int = 1 << 16) -> Iterator[str]:
        """The whole text in pieces of about ``size`` characters."""
        assert self._text is not None
        while chunk := self._text.read(size):
            yield self.scrub(chunk)


def read_plain(ctx: FileContext, mode: str) -> Iterator[Record]:
    """Records of a .txt/.md file: one per line (``mode="lines"``) or the whole file (``"file"``)."""
    with TextFile(ctx) as tf:
        if mode == "file":
            ctx.unit = "file"
            yield None, tf.read(), {}
        else:
            for number, line, _ in tf.lines():
                yield number, line, {}
