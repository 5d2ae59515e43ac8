"""Readers for tables (CSV, TSV, Parquet) and the text-column detection shared with JSON.

The text column is the string column with the longest mean length (ties go to
names like ``text`` or ``body``); the other columns become metadata. CSV is read
twice, both times streamed: a first pass gathers column statistics (which columns
are entirely numeric, mean lengths), the second yields the records.
"""
from __future__ import annotations

import contextlib
import csv
import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Iterator

from core.ingest_stream import Source
from core.ingest_text import TextFile, is_gzip_name
from core.ingest_types import MAX_DOCUMENT_CHARS, PREFERRED_TEXT_NAMES, FileContext, IngestError, Record, Tally

_INT = re.compile(r"[+-]?(?:0|[1-9]\d{0,17})")
_FLOAT = re.compile(r"[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")
_DELIMITERS = ",\t;|"
_ONE_COLUMN = "\x1f"  # a delimiter that never occurs: the whole line is one field
_SNIFF_CHARS = 4096  # csv.Sniffer is quadratic on unbalanced quotes: keep its sample small
_PARQUET_SAMPLE_ROWS = 65536
#: Free space a decompressed ``.parquet.gz`` copy must leave in the temporary folder.
SPILL_RESERVE = 512 * 1024 * 1024


@dataclass
class _Column:
    index: int
    strings: int = 0  # non-empty string values
    chars: int = 0
    others: int = 0  # values that are neither null nor strings
    numeric: bool = True  # every non-empty string value is a number
    integer: bool = True


class ColumnStats:
    """Per-column counts over records (dicts) for picking the text column and numeric columns."""

    def __init__(self) -> None:
        self.records = 0
        self.columns: dict[str, _Column] = {}

    def add(self, record: dict) -> None:
        self.records += 1
        for key, value in record.items():
            self.observe(key, value)

    def observe(self, key: str, value: object) -> None:
        column = self.columns.get(key)
        if column is None:
            column = self.columns[key] = _Column(len(self.columns))
        if isinstance(value, str):
            if not value:
                return
            column.strings += 1
            column.chars += len(value)
            if column.numeric:
                stripped = value.strip()
                if len(stripped) > 40 or not _FLOAT.fullmatch(stripped):
                    column.numeric = False
                elif column.integer and not _INT.fullmatch(stripped):
                    column.integer = False
        elif value is not None:
            column.others += 1

    def is_text(self, key: str) -> bool:
        column = self.columns[key]
        return column.strings > 0 and column.others == 0 and not column.numeric

    def mean_length(self, key: str) -> float:
        return self.columns[key].chars / max(self.records, 1)


def choose_text_column(stats: ColumnStats, names: list[str], override: str | None, what: str = "column") -> str:
    """The text column: ``override`` if given (exact, then case-insensitive match), else the
    string column with the longest mean length, preferring names like ``text`` on ties."""
    listing = ", ".join(names) or "none"
    if override is not None:
        if override in names:
            return override
        folded = [name for name in names if name.casefold() == override.casefold()]
        if len(folded) == 1:
            return folded[0]
        raise IngestError(f"the text {what} '{override}' was not found ({what}s found: {listing}).")
    candidates = [name for name in names if name in stats.columns and stats.is_text(name)]
    if not candidates:
        raise IngestError(
            f"no {what} holds text ({what}s found: {listing}); their values are numbers, empty or missing. "
            f"Name the text {what} in the import options."
        )
    return max(
        candidates,
        key=lambda n: (stats.mean_length(n), n.casefold() in PREFERRED_TEXT_NAMES, -stats.columns[n].index),
    )


# ---------------------------------------------------------------- CSV / TSV


def _checked_lines(tf: TextFile) -> Iterator[str]:
    for number, line, complete in tf.lines():
        if not complete:
            raise IngestError(
                f"this line is longer than {MAX_DOCUMENT_CHARS:,} characters; reading stopped here.", number
            )
        yield line


def _delimiter(sample: list[str], default: str) -> str:
    """The delimiter: the only candidate in the header line; if several, the one giving every
    sample row the header's width (then more columns, then csv.Sniffer's pick, then the suffix's)."""
    header = next((line for line in sample if line.strip()), "")
    present = [d for d in _DELIMITERS if d in header]
    if len(present) < 2:
        return present[0] if present else _ONE_COLUMN
    try:
        sniffed = csv.Sniffer().sniff("".join(sample)[:_SNIFF_CHARS], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""

    def score(delimiter: str) -> tuple[bool, int, bool, bool]:
        rows = [row for row in csv.reader(sample, delimiter=delimiter) if row]
        rows = rows[:-1] if len(rows) > 2 else rows  # the last row may be cut off
        consistent = len({len(row) for row in rows}) == 1
        return consistent, len(rows[0]), delimiter == sniffed, delimiter == default

    return max(present, key=score)


def _header_names(row: list[str]) -> list[str]:
    """Unique column names: blanks become ``column_<n>``, repeats ``name_2``, ``name_3``…

    Linear in the number of columns (4,000 repeats of one name once took minutes).
    """
    names: list[str] = []
    taken: set[str] = set()
    last: dict[str, int] = {}  # per repeated name, the last suffix tried
    for index, raw in enumerate(row):
        base = raw.strip() or f"column_{index + 1}"
        name, n = base, last.get(base, 1)
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        last[base] = n
        taken.add(name)
        names.append(name)
    return names


def _csv_table(tf: TextFile, ctx: FileContext) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Header names and ``(line, {column: value})`` records; blank lines are skipped."""
    lines = _checked_lines(tf)
    sample: list[str] = []
    for line in lines:
        sample.append(line)
        if sum(map(len, sample)) > _SNIFF_CHARS or len(sample) >= 50:
            break
    default = "\t" if ".tsv" in ctx.path.name.lower() else ","
    reader = csv.reader(chain(sample, lines), delimiter=_delimiter(sample, default))

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for row in reader:
                if len(row) > 1 or (row and row[0].strip()):  # blank lines give [] or [""]
                    yield reader.line_num, row
        except csv.Error as exc:
            raise IngestError(f"this is not valid CSV ({exc}); reading stopped here.", reader.line_num) from exc

    body = rows()
    header = next(body, None)
    if header is None:
        raise IngestError("the file holds only blank lines.")
    names = _header_names(header[1])

    def records() -> Iterator[tuple[int, dict[str, str]]]:
        ragged = Tally(ctx, "kept", f"their number of fields differs from the header's ({len(names)}); missing "
                       "fields were left empty, extra ones dropped", "warning")
        try:
            for line, row in body:
                if len(row) != len(names):
                    ragged.add(line)
                    row = row[: len(names)] + [""] * (len(names) - len(row))
                yield line, dict(zip(names, row))
        finally:
            ragged.flush()

    return names, records()


def _number(value: str, kind: type) -> Any:
    value = value.strip()
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        return value


def read_csv(ctx: FileContext) -> Iterator[Record]:
    """Records of a CSV/TSV file: the text column's value, the other columns as metadata."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_DOCUMENT_CHARS + 1))
    stats = ColumnStats()
    scan = ctx.muted()
    with contextlib.suppress(Exception), TextFile(scan, newline="") as tf:  # errors resurface below
        for _, record in _csv_table(tf, scan)[1]:
            stats.add(record)
    with TextFile(ctx, newline="") as tf:
        names, records = _csv_table(tf, ctx)
        first = next(records, None)
        if first is None:
            raise IngestError(f"the table has a header ({', '.join(names)}) but no data rows.")
        text = choose_text_column(stats, names, ctx.options.text_column)
        ctx.text_label = f"column '{text}'"
        numeric = {
            name: int if column.integer else float
            for name, column in stats.columns.items()
            if name != text and column.numeric and column.strings
        }
        for line, record in chain([first], records):
            value = record.pop(text)
            meta = {k: _number(v, numeric[k]) if k in numeric else v for k, v in record.items()}
            yield line, value, meta


# ---------------------------------------------------------------- Parquet


@contextlib.contextmanager
def _parquet_source(ctx: FileContext) -> Iterator[Any]:
    """The path, or for ``.parquet.gz`` a temporary decompressed copy (Parquet needs seeking).

    The bytes are hashed into the context's digest as they are read (a plain Parquet file
    once, before it is parsed). The copy is written only while the temporary folder keeps
    :data:`SPILL_RESERVE` bytes free, checked against the size the gzip trailer announces first.
    """
    path = ctx.path
    with Source(path, ctx.check, ctx.digest) as source:
        if not is_gzip_name(path):
            source.finish()
            if path.stat().st_size == 0:
                raise IngestError("the file is empty.")
            yield str(path)
            return
        with tempfile.TemporaryFile() as tmp:
            room = shutil.disk_usage(tempfile.gettempdir()).free - SPILL_RESERVE
            _check_room(_announced_size(path), room)
            written = 0
            while block := source.stream.read(1 << 20):
                written += len(block)
                _check_room(written, room)
                tmp.write(block)
            source.finish()
            if written == 0:
                raise IngestError("the file is empty.")
            tmp.seek(0)
            yield tmp


def _announced_size(path: Path) -> int:
    """The decompressed size a gzip file's trailer announces (modulo 4 GiB; a hint only)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        if handle.tell() < 4:
            return 0
        handle.seek(-4, 2)
        return int.from_bytes(handle.read(4), "little")


def _check_room(size: int, room: int) -> None:
    if size > room:
        folder = tempfile.gettempdir()
        raise IngestError(
            f"decompressing it needs more than {max(room, 0) // 2**20:,} MiB, the free space left in the temporary "
            f"folder {folder} (keeping {SPILL_RESERVE // 2**20:,} MiB free); free some space or decompress it "
            "yourself."
        )


def _is_text_type(t: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return _is_text_type(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_binary_type(t: Any) -> bool:
    import pyarrow as pa

    kinds = (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary, pa.types.is_binary_view)
    return any(kind(t) for kind in kinds)


def _json_safe(value: Any) -> Any:
    """A JSON-serialisable form of an Arrow cell value (dates as ISO text, NaN as None)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _parquet_text_column(pf: Any, override: str | None) -> str:
    import pyarrow as pa

    fields = {field.name: field.type for field in pf.schema_arrow}
    listing = ", ".join(f"{name} ({t})" for name, t in fields.items())
    if override is not None:
        name = choose_text_column(ColumnStats(), list(fields), override)
        t = fields[name]
        if pa.types.is_nested(t):
            raise IngestError(f"column '{name}' holds nested values ({t}), not plain text; flatten it to text first.")
        if not _is_text_type(t):
            raise IngestError(f"column '{name}' holds {t} values, not text (columns found: {listing}).")
        return name
    candidates = [name for name, t in fields.items() if _is_text_type(t)]
    stats = ColumnStats()
    sample = next(pf.iter_batches(batch_size=_PARQUET_SAMPLE_ROWS, columns=candidates), None) if candidates else None
    if sample is not None:
        stats.records = sample.num_rows
        for name in candidates:
            for value in _pylist(sample.column(name)):
                stats.observe(name, value)
    try:
        return choose_text_column(stats, candidates, None)
    except IngestError:
        nested = any(pa.types.is_nested(t) for t in fields.values())
        hint = " Nested columns (lists, structs) are not read as text; flatten them first." if nested else ""
        raise IngestError(
            f"no column holds text (columns found: {listing}); the string columns are numbers, empty or "
            f"missing.{hint}"
        ) from None


def read_parquet(ctx: FileContext) -> Iterator[Record]:
    """Records of a Parquet file, read in batches of ``batch_size`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ctx.unit = "row"
    with _parquet_source(ctx) as source:
        try:
            pf = pq.ParquetFile(source)
        except (pa.ArrowException, OSError) as exc:
            raise IngestError(f"this is not a valid Parquet file ({exc}).") from exc
        with pf:
            yield from _parquet_records(ctx, pf)


def _parquet_records(ctx: FileContext, pf: Any) -> Iterator[Record]:
    import pyarrow as pa

    if pf.metadata.num_rows == 0:
        columns = ", ".join(pf.schema_arrow.names)
        raise IngestError(f"the table has columns ({columns}) but no rows.")
    text = _parquet_text_column(pf, ctx.options.text_column)
    ctx.text_label = f"column '{text}'"
    meta_fields = [f for f in pf.schema_arrow if f.name != text and not _is_binary_type(f.type)]
    plain = (pa.types.is_string, pa.types.is_integer, pa.types.is_boolean)
    position = 0
    columns = [text, *(f.name for f in meta_fields)]
    bad = Tally(ctx, "kept", "strings not valid UTF-8, the bad bytes replaced with '\ufffd'", "warning")
    try:
        for batch in pf.iter_batches(batch_size=ctx.options.batch_size, columns=columns):
            ctx.check()
            replaced: set[int] = set()
            meta_values = []
            for field in meta_fields:
                values = _pylist(batch.column(field.name), replaced)
                if not any(kind(field.type) for kind in plain):
                    values = [_json_safe(v) for v in values]
                meta_values.append((field.name, values))
            texts = _pylist(batch.column(text), replaced)
            for row in sorted(replaced):
                bad.add(position + row + 1)
            for i, value in enumerate(texts):
                position += 1
                yield position, value, {name: values[i] for name, values in meta_values}
    finally:
        bad.flush()


def _pylist(array: Any, replaced: set[int] | None = None) -> list:
    """The array's values; strings that are not valid UTF-8 (Arrow does not check on reading) are
    decoded with U+FFFD for the bad bytes, and their row numbers added to ``replaced``."""
    import pyarrow as pa

    try:
        return array.to_pylist()
    except UnicodeDecodeError:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        values = []
        for row, raw in enumerate(array.cast(pa.large_binary()).to_pylist()):
            if raw is None:
                values.append(None)
                continue
            try:
                values.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                values.append(raw.decode("utf-8", "replace"))
                if replaced is not None:
                    replaced.add(row)
        return values
