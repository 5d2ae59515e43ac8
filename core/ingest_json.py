"""Readers for JSON Lines and JSON, streamed with bounded memory.

JSON Lines: one object or string per line; broken lines are skipped and
counted in one issue. JSON: a list of objects or strings, or an object with a
list-valued key (the longest list is read if there are several). A ``.json``
file is pulled apart item by item (:class:`_Scanner`), never loaded whole.
The text field is chosen like a table's text column.
"""
from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from typing import Callable, Iterator

from core.ingest_tables import ColumnStats, choose_text_column
from core.ingest_text import TextFile
from core.ingest_types import MAX_DOCUMENT_CHARS, FileContext, IngestError, Record, Tally

#: ``(list key or None, position, value)``
Item = tuple["str | None", int, object]

_DECODER = json.JSONDecoder(strict=False, parse_constant=lambda name: None)  # NaN / Infinity -> null
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_CHUNK = 1 << 16
_TOO_DEEP = "nested too deeply to read (lists or objects about 1,000 levels deep)"
_SHAPE = "expected a list of objects or strings, or an object holding such a list"


def _kind(value: object) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return kinds.get(type(value), "a number")


def _scrub_value(value: object, tf: TextFile) -> object:
    """Replace lone surrogates from ``\\uD800``-style escapes (they cannot be stored as UTF-8)."""
    if isinstance(value, str):
        return tf.scrub(value)
    if isinstance(value, list):
        return [_scrub_value(v, tf) for v in value]
    if isinstance(value, dict):
        return {tf.scrub(k): _scrub_value(v, tf) for k, v in value.items()}
    return value


def _jsonl_items(tf: TextFile, ctx: FileContext) -> Iterator[Item]:
    broken = Tally(ctx, "skipped", "not valid JSON")
    try:
        for number, line, complete in tf.lines():
            if not complete:
                broken.add(number, f"longer than {MAX_DOCUMENT_CHARS:,} characters")
                continue
            line = line.strip()
            if not line:
                continue
            try:
                value = _DECODER.decode(line)
            except (ValueError, RecursionError) as exc:
                broken.add(number, getattr(exc, "msg", _TOO_DEEP))
                continue
            if _SURROGATE_ESCAPE.search(line):
                value = _scrub_value(value, tf)
            yield None, number, value
    finally:
        broken.flush()


class _Scanner:
    """Pull-parser over text chunks: whitespace, single characters and whole JSON values."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self.buf = ""
        self.pos = 0
        self.line = 1  # line number of buf[0]
        self.eof = False

    def _fill(self, need: int) -> None:
        """Drop the consumed text, then read until ``need`` characters are buffered or the file ends."""
        if self.pos:
            self.line += self.buf.count("\n", 0, self.pos)
            self.buf = self.buf[self.pos :]
            self.pos = 0
        parts, size = [self.buf], len(self.buf)
        while size < need:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.eof = True
                break
            parts.append(chunk)
            size += len(chunk)
        self.buf = "".join(parts)

    def line_at(self, index: int | None = None) -> int:
        return self.line + self.buf.count("\n", 0, self.pos if index is None else index)

    def peek(self) -> str | None:
        """The next non-blank character (not consumed), or None at the end."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return None
            self._fill(_CHUNK)

    def take(self, expected: str, what: str) -> None:
        found = self.peek()
        if found != expected:
            seen = f"'{found}'" if found is not None else "the end of the file"
            raise IngestError(f"this is not valid JSON: expected {what} but found {seen}; reading stopped here.",
                              self.line_at())
        self.pos += 1

    def value(self) -> tuple[object, int, int]:
        """Decode the value at the cursor; returns it with its span in ``buf``."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buf) - 16
                if self.eof or not cut:
                    raise IngestError(f"this is not valid JSON ({exc.msg}); reading stopped here.",
                                      self.line_at(exc.pos)) from None
            except RecursionError:
                raise IngestError(f"this JSON is {_TOO_DEEP}.", self.line_at()) from None
            else:
                if end < len(self.buf) or self.eof:  # a number at the buffer's end may go on
                    start, self.pos = self.pos, end
                    return value, start, end
            pending = len(self.buf) - self.pos
            if pending > MAX_DOCUMENT_CHARS:
                raise IngestError(f"one JSON value is longer than {MAX_DOCUMENT_CHARS:,} characters; "
                                  "reading stopped here.", self.line_at())
            self._fill(2 * pending + _CHUNK)


def _array(scanner: _Scanner, tf: TextFile, key: str | None) -> Iterator[Item]:
    scanner.take("[", "'['")
    index = 0
    while scanner.peek() != "]":
        value, start, end = scanner.value()
        if _SURROGATE_ESCAPE.search(scanner.buf, start, end):
            value = _scrub_value(value, tf)
        index += 1
        yield key, index, value
        if scanner.peek() != ",":
            break
        scanner.take(",", "','")
    scanner.take("]", "',' or ']'")


def _json_items(tf: TextFile, ctx: FileContext) -> Iterator[Item]:
    scanner = _Scanner(tf.chunks())
    first = scanner.peek()
    if first is None:
        raise IngestError("the file holds only whitespace, no JSON.")
    if first == "[":
        yield from _array(scanner, tf, None)
    elif first == "{":
        scanner.take("{", "'{'")
        lists = 0
        while scanner.peek() != "}":
            if scanner.peek() != '"':
                scanner.take('"', "a quoted key")
            key = str(scanner.value()[0])
            scanner.take(":", "':'")
            if scanner.peek() == "[":
                lists += 1
                yield from _array(scanner, tf, key)
            else:
                scanner.value()
            if scanner.peek() != ",":
                break
            scanner.take(",", "','")
        scanner.take("}", "',' or '}'")
        if not lists and scanner.peek() is None:
            raise IngestError(f"{_SHAPE}; found an object without any list.")
    else:
        raise IngestError(f"{_SHAPE}; found {_kind(scanner.value()[0])}.")
    if scanner.peek() is not None:
        raise IngestError("more JSON follows the first value; if the file holds one JSON value per line, "
                          "rename it to .jsonl.", scanner.line_at())


def _read(ctx: FileContext, items_of: Callable[[TextFile, FileContext], Iterator[Item]]) -> Iterator[Record]:
    """Two streamed passes: statistics (list sizes, fields) first, then the records."""
    stats: dict[str | None, ColumnStats] = {}
    sizes: Counter[str | None] = Counter()
    scan = ctx.muted()
    with contextlib.suppress(Exception), TextFile(scan) as tf:  # errors resurface in the second pass
        for key, _, value in items_of(tf, scan):
            sizes[key] += 1
            if isinstance(value, dict):
                stats.setdefault(key, ColumnStats()).add(value)
    with TextFile(ctx) as tf:
        items = items_of(tf, ctx)
        key = max(sizes, key=lambda k: sizes[k]) if sizes else None
        if len(sizes) > 1:
            listing = ", ".join(f"'{k}' ({n:,} items)" for k, n in sizes.items())
            ctx.issue(f"the object holds several lists ({listing}); read '{key}', the longest.", severity="warning")
        field = None
        if key in stats:
            field = choose_text_column(stats[key], list(stats[key].columns), ctx.options.text_column, "field")
            ctx.text_label = f"field '{field}'"
        wrong = Tally(ctx, "skipped", "not a JSON object or string")
        try:
            for item_key, position, value in items:
                if item_key != key:
                    continue
                if isinstance(value, str):
                    yield position, value, {}
                elif isinstance(value, dict):
                    meta = dict(value)
                    yield position, meta.pop(field, None) if field else None, meta
                else:
                    wrong.add(position, f"found {_kind(value)}")
        finally:
            wrong.flush()


def read_jsonl(ctx: FileContext) -> Iterator[Record]:
    """Records of a JSON Lines file (one object or string per line)."""
    return _read(ctx, _jsonl_items)


def read_json(ctx: FileContext) -> Iterator[Record]:
    """Records of a JSON file (a list, or an object holding a list)."""
    ctx.unit = "item"
    return _read(ctx, _json_items)
