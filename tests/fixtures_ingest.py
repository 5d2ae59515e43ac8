"""Helpers for the ingest tests: write sample files, read them back in one call."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

from core.ingest import DocumentBatch, IngestOptions, IngestReport, read_documents


def write(path: Path, content: str | bytes, gz: bool = False, encoding: str = "utf-8") -> Path:
    """Write ``content`` (text encoded with ``encoding``) to ``path``, gzipped (name + ``.gz``) if asked."""
    data = content.encode(encoding) if isinstance(content, str) else content
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def parquet_bytes(columns: dict, row_group_size: int | None = None) -> bytes:
    """A Parquet file holding ``columns`` (name -> list or pyarrow array)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, row_group_size=row_group_size)
    return sink.getvalue()


def read(path: Path, **options: object) -> tuple[list[str], list[dict], IngestReport, list[DocumentBatch]]:
    """Everything ``read_documents`` yields for ``path``: texts, metas, the report, the batches."""
    report = IngestReport()
    batches = list(read_documents(path, IngestOptions(**options), report))
    texts = [t for b in batches for t in b.texts]
    metas = [m for b in batches for m in b.metas]
    return texts, metas, report, batches


def messages(report: IngestReport, severity: str | None = None) -> list[str]:
    return [i.message for i in report.issues if severity is None or i.severity == severity]
