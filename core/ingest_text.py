"""Decoded, line-bounded reading of text files for ingest.

Handles gzip, byte-order marks (UTF-8, UTF-16, UTF-32), binary files posing as
text, legacy Windows/Latin-1 text, and undecodable bytes: those are replaced with
U+FFFD and counted, and the count is reported as ONE warning per file. Memory stays
bounded: lines are read with a length limit, never the whole file.

The encoding: a byte-order mark wins; else UTF-8 when the first
:data:`SNIFF_BYTES` are valid UTF-8; else Windows-1252 (cp1252), the superset of
Latin-1 that Windows and the WHATWG encoding standard use for "latin1" text, said
in one warning. (Each Latin-1 letter such as ``é`` is one byte that is never valid
UTF-8 on its own, while real UTF-8 text almost never fails to decode.)
"""
from __future__ import annotations

import codecs
import io
import re
from pathlib import Path
from types import TracebackType
from typing import Iterator

from core.ingest_stream import Source
from core.ingest_types import MAX_DOCUMENT_CHARS, FileContext, IngestError, Record
from core.progress import Cancelled

HEAD_BYTES = 8192
#: How much of a file decides between UTF-8 and cp1252.
SNIFF_BYTES = 1 << 16
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


def first_invalid_utf8(sample: bytes) -> int | None:
    """Offset of the first byte that is not valid UTF-8 (a sequence cut by the sample's end is fine)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        return exc.start
    return None


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
        self.encoding = "utf-8"
        self._source: Source | None = None
        self._text: io.TextIOWrapper | None = None

    def __enter__(self) -> TextFile:
        self._source = Source(self.ctx.path, self.ctx.check, self.ctx.digest)
        raw = self._source.stream
        try:
            head = raw.read(SNIFF_BYTES)
            if not head:
                raise IngestError("the file is empty.")
            self.encoding = next((name for bom, name in _BOMS if head.startswith(bom)), "")
            if not self.encoding:
                if looks_binary(head[:HEAD_BYTES]):
                    raise IngestError(
                        "this looks like a binary file, not text (many NUL or undecodable bytes at its start), "
                        "so it was skipped. If it is UTF-16 text, save it as UTF-8 or with a byte-order mark."
                    )
                self.encoding = self._sniff(head)
            raw.seek(0)
            self._text = io.TextIOWrapper(raw, encoding=self.encoding, errors=_ESCAPE, newline=self.newline)
        except BaseException as exc:
            try:
                if isinstance(exc, IngestError):
                    self._source.finish()
            finally:
                self._source.close()
            raise
        return self

    def _sniff(self, head: bytes) -> str:
        """UTF-8, or cp1252 (said in a warning) when the sample holds bytes that are not UTF-8."""
        bad = first_invalid_utf8(head)
        if bad is None:
            return "utf-8"
        self.ctx.issue(
            f"decoded as Windows-1252 (cp1252, a superset of Latin-1): the file is not valid UTF-8 (byte "
            f"0x{head[bad]:02X} at offset {bad:,}). If characters look wrong, save the file as UTF-8.",
            severity="warning",
        )
        return "cp1252"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._source is not None
        try:
            if exc_type is None or (issubclass(exc_type, Exception) and not issubclass(exc_type, Cancelled)):
                self._source.finish()  # the digest covers the whole file, even where reading stopped early
        finally:
            if self._text is not None:
                self._text.close()
            self._source.close()
        if exc_type is None and self.replaced:
            what = "UTF-8 (nor UTF-16 with a byte-order mark)" if self.encoding != "cp1252" else "Windows-1252"
            self.ctx.issue(
                f"replaced {self.replaced:,} undecodable {'byte' if self.replaced == 1 else 'bytes'} with "
                f"'\ufffd': the file is not valid {what}. Save it as UTF-8 to keep those characters.",
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
