"""Move a whole collection, with its embedding sets, between workspaces as one Parquet file.

A run on a GPU server ends in a workspace there; ``export_collection`` writes one
of its collections to a single Parquet file and ``import_collection`` adds it to
the workspace on the desktop. One row per document, in position order:

- ``position`` (int64), ``text``, ``metadata`` (the document's JSON object or null),
  ``sha256`` (of the text, checked on import), ``source`` (file it came from);
- per model ``vector:<model>`` (fixed-size list of float32, null where the document
  has no vector yet) and ``truncated:<model>`` (bool).

The schema metadata key ``embedding_explorer`` holds the format version, the
collection (name, source, source hash) and each model's name, kind, dimension,
``normalizes`` and maximum sequence length. Import validates everything before it
writes anything and round-trips exactly: texts, metadata and vectors bit for bit.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pyarrow as pa

from core.store import ModelInfo, Store, text_sha256
from core.vector_io import MAX_DIM, VectorFileError, disagrees, list_matrix, stored_vectors

FORMAT = "embedding-explorer/collection"
VERSION = 1
META_KEY = b"embedding_explorer"
IMPORTED_SUFFIX = " (imported)"
DOCUMENT_COLUMNS = {"position": pa.int64(), "text": pa.string(), "metadata": pa.string(),
                    "sha256": pa.string(), "source": pa.string()}
BATCH_ROWS = 50_000


class InterchangeError(VectorFileError):
    """A collection file cannot be imported; the message says what is wrong with it."""


@dataclass(frozen=True)
class CollectionExport:
    rows: int
    models: tuple[str, ...]


@dataclass(frozen=True)
class CollectionImport:
    collection_id: int
    documents: int
    embedded: tuple[tuple[str, int], ...]  # (model, documents of the collection with a vector of it)


def vector_column(model: str) -> str:
    return f"vector:{model}"


def truncated_column(model: str) -> str:
    return f"truncated:{model}"


# ---------------------------------------------------------------------- export
def _exported_models(store: Store, collection_id: int, names: Sequence[str] | None) -> list[ModelInfo]:
    sets = [s for s in store.embedding_sets(collection_id) if s.n_embedded > 0]
    have = {s.model_name: store.model(s.model_id) for s in sets}
    missing = [name for name in names or [] if name not in have]
    if missing:
        raise LookupError(f"collection has no vectors of model {missing[0]!r} (it has: {', '.join(have) or 'none'})")
    return [have[name] for name in (names or have)]


def _rows(store: Store, collection_id: int, models: list[ModelInfo]) -> Iterator[pa.RecordBatch]:
    """The collection's documents joined with each model's vectors, in position order, streamed.

    This and :func:`_source_sha256` read the store's tables directly: positions, raw
    metadata JSON, sources and the source hash have no public reader yet; they belong
    in ``Store`` as a bulk reader.
    """
    joins = "".join(f" LEFT JOIN vectors v{i} ON v{i}.sha256 = d.sha256 AND v{i}.model_id = {int(m.id)}"
                    for i, m in enumerate(models))
    picks = "".join(f", v{i}.vector::FLOAT[{int(m.dim)}], v{i}.truncated" for i, m in enumerate(models))
    query = (f"SELECT d.position, d.text, d.meta::VARCHAR, d.sha256, d.source{picks} FROM documents d{joins} "
             f"WHERE d.collection_id = {int(collection_id)} ORDER BY d.position")
    yield from store._cur().sql(query).to_arrow_reader(BATCH_ROWS)


def _source_sha256(store: Store, collection_id: int) -> str | None:
    rows = store._cur().execute("SELECT source_sha256 FROM collections WHERE id = ?", [collection_id]).fetchall()
    return rows[0][0] if rows else None


def export_collection(
    store: Store, collection_id: int, path: str | Path, models: Sequence[str] | None = None
) -> CollectionExport:
    """Write collection ``collection_id`` and the vectors of ``models`` (default: every
    model with vectors for it) to the Parquet file ``path``; written under a temporary
    name and renamed, so a failed export leaves no partial file."""
    import pyarrow.parquet as pq

    info = store.collection(collection_id)
    if info.n_docs == 0:
        raise LookupError(f"collection {info.name!r} has no documents to export")
    chosen = _exported_models(store, collection_id, models)
    for model in chosen:
        if not model.dim:
            raise LookupError(f"model {model.name!r} has no known dimension; embed with it again first")
    fields = [pa.field(name, kind) for name, kind in DOCUMENT_COLUMNS.items()]
    for model in chosen:
        fields += [pa.field(vector_column(model.name), pa.list_(pa.float32(), model.dim)),
                   pa.field(truncated_column(model.name), pa.bool_())]
    header = {
        "format": FORMAT, "version": VERSION, "rows": info.n_docs,
        "collection": {"name": info.name, "source": info.source, "source_sha256": _source_sha256(store, collection_id)},
        "models": [{"name": m.name, "kind": m.kind, "dim": m.dim, "normalizes": m.normalizes,
                    "max_seq_length": m.max_seq_length} for m in chosen],
    }
    schema = pa.schema(fields, metadata={META_KEY: json.dumps(header, ensure_ascii=False)})
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    rows = 0
    try:
        with pq.ParquetWriter(temporary, schema) as writer:
            for batch in _rows(store, collection_id, chosen):
                writer.write_batch(pa.RecordBatch.from_arrays([c.cast(f.type) for c, f in zip(batch.columns, fields)],
                                                              schema=schema))
                rows += batch.num_rows
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return CollectionExport(rows, tuple(m.name for m in chosen))


# ---------------------------------------------------------------------- reading and checking
def read_header(path: str | Path) -> dict[str, Any]:
    """The collection and model info of a collection file, its columns checked
    (raises :class:`InterchangeError` naming what is missing or wrong)."""
    import pyarrow.parquet as pq

    path = Path(path).expanduser()
    if not path.exists():
        raise InterchangeError(f"{path} does not exist.")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise InterchangeError(f"{path.name} is not a readable Parquet file ({exc}).") from exc
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise InterchangeError(f"{path.name} has no collection info: it was not written by export-collection. "
                               "For a file of texts and vectors use import-vectors.")
    try:
        header = _clean_header(json.loads(raw))
    except KeyError as exc:
        raise InterchangeError(f"{path.name}: its collection info is damaged (field {exc} is missing).") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise InterchangeError(f"{path.name}: its collection info is damaged ({exc}).") from exc
    if header["version"] > VERSION:
        raise InterchangeError(f"{path.name} uses collection format {header['version']}; this app reads up to "
                               f"{VERSION}. Update Embedding Explorer to import it.")
    models = [(m["name"], m["dim"]) for m in header["models"]]
    names = set(schema.names)
    for name, kind in DOCUMENT_COLUMNS.items():
        if name not in names:
            raise InterchangeError(f"{path.name}: column {name!r} is missing (columns: {', '.join(schema.names)}).")
        found = schema.field(name).type
        if not (found.equals(kind) or kind == pa.string() and pa.types.is_large_string(found)):
            raise InterchangeError(f"{path.name}: column {name!r} holds {found}, not {kind}.")
    for model, dim in models:
        for column in (vector_column(model), truncated_column(model)):
            if column not in names:
                raise InterchangeError(f"{path.name}: column {column!r} for model {model!r} is missing.")
        kind = schema.field(vector_column(model)).type
        if pa.types.is_fixed_size_list(kind) and kind.list_size != dim:
            raise InterchangeError(f"{path.name}: model {model!r} has {dim}-d vectors by its info, but column "
                                   f"{vector_column(model)!r} holds {kind.list_size}-d vectors.")
    return header


def _number(value: Any, what: str, low: int, high: int | None = None) -> int:
    """``value`` if it is a whole number in [low, high] (a JSON number, not a string or a bool)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        limit = f"from {low:,} to {high:,}" if high is not None else f"of at least {low:,}"
        raise ValueError(f"{what} is {value!r}, not a whole number {limit}")
    return value


def _text(value: Any, what: str, optional: bool = False) -> str | None:
    """``value`` if it is a non-empty string (or None, when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is {value!r}, not a non-empty text")
    return value


def _clean_header(raw: Any) -> dict[str, Any]:
    """The collection info, every field of the right type, or ValueError naming the first one that is not."""
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"format {raw.get('format') if isinstance(raw, dict) else raw!r}")
    about = raw["collection"]
    if not isinstance(about, dict) or not isinstance(raw["models"], list):
        raise ValueError("'collection' must be an object and 'models' a list")
    models = []
    for m in raw["models"]:
        name = _text(m["name"], "a model name")
        normalizes = m.get("normalizes")
        if normalizes is not None and not isinstance(normalizes, bool):
            raise ValueError(f"model {name!r}: normalizes is {normalizes!r}, not true, false or null")
        max_length = m.get("max_seq_length")
        models.append({"name": name, "kind": _text(m.get("kind", "encoder"), f"model {name!r}: kind"),
                       "dim": _number(m["dim"], f"model {name!r}: dim", 1, MAX_DIM), "normalizes": normalizes,
                       "max_seq_length": None if max_length is None else _number(max_length, f"model {name!r}: max_seq_length", 1)})
    if len({m["name"] for m in models}) != len(models):
        raise ValueError("a model is listed twice")
    return {"format": FORMAT, "version": _number(raw["version"], "version", 1), "rows": _number(raw["rows"], "rows", 1),
            "collection": {"name": _text(about["name"], "the collection name").strip(),
                           "source": _text(about.get("source"), "the source", optional=True),
                           "source_sha256": _text(about.get("source_sha256"), "the source hash", optional=True)},
            "models": models}


def imported_model_name(model: dict[str, Any]) -> str:
    """The name a file's model gets here: vectors computed elsewhere are kept apart from this
    workspace's own (an encoder's ``"X"`` becomes ``"X (imported)"``, of kind ``"imported"``),
    so they are never served as the output of running ``X`` here."""
    name = model["name"]
    return name if model["kind"] == "imported" or name.endswith(IMPORTED_SUFFIX) else name + IMPORTED_SUFFIX


def _check_rows(batch: pa.RecordBatch, first_row: int, where: str) -> tuple[list[str], list[str]]:
    """Texts and hashes of one batch: every text present, every hash its text's."""
    texts, shas = batch.column("text").to_pylist(), batch.column("sha256").to_pylist()
    for i, (text, sha) in enumerate(zip(texts, shas)):
        if text is None:
            raise InterchangeError(f"{where}: row {first_row + i + 1} has no text.")
        if sha != text_sha256(text):
            raise InterchangeError(f"{where}: row {first_row + i + 1}: sha256 does not match its text "
                                   "(the file was changed after export).")
    return texts, shas


def _metas(batch: pa.RecordBatch, first_row: int, where: str) -> list[dict[str, Any]]:
    metas = []
    for i, packed in enumerate(batch.column("metadata").to_pylist()):
        try:
            meta = json.loads(packed) if packed else {}
        except json.JSONDecodeError as exc:
            raise InterchangeError(f"{where}: row {first_row + i + 1}: metadata is not valid JSON ({exc.msg}).") from exc
        if not isinstance(meta, dict):
            raise InterchangeError(f"{where}: row {first_row + i + 1}: metadata is not a JSON object.")
        metas.append(meta)
    return metas


def _model_vectors(batch: pa.RecordBatch, first_row: int, model: dict[str, Any], where: str):
    """(hashes, float32 vectors, truncated) of the rows with a vector, one row per distinct text."""
    name, dim = model["name"], model["dim"]
    column = batch.column(vector_column(name))
    present = np.flatnonzero(column.is_valid().to_numpy(zero_copy_only=False))
    vectors = list_matrix(column.take(present), where, f"column {vector_column(name)!r}", dim=dim,
                          row_numbers=first_row + present + 1, error=InterchangeError)
    shas = np.array(batch.column("sha256").to_pylist(), dtype=object)[present]
    unique, first, inverse = np.unique(shas, return_index=True, return_inverse=True)
    if (vectors != vectors[first][inverse]).any():
        raise InterchangeError(f"{where}: the same text has two different vectors of model {name!r}.")
    flags = batch.column(truncated_column(name)).to_numpy(zero_copy_only=False)[present][first]
    return unique.tolist(), vectors[first], [bool(f) for f in flags]


def _batches(path: Path, columns: list[str] | None = None) -> Iterator[tuple[int, pa.RecordBatch]]:
    import pyarrow.parquet as pq

    first = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns):
        yield first, batch
        first += batch.num_rows


def _check_models(store: Store, models: list[dict[str, Any]], path: Path) -> None:
    """A model the workspace already has under the name it gets here must be imported vectors of the same
    dimension that agree with the file's for every text both have."""
    where = path.name
    have = {m.name: m for m in store.models()}
    for model in models:
        mine = have.get(imported_model_name(model))
        if mine is None:
            continue
        if mine.dim is not None and mine.dim != model["dim"]:
            raise InterchangeError(f"{where}: the workspace's model {mine.name!r} has {mine.dim}-d vectors; "
                                   f"this file's has {model['dim']}-d vectors.")
        if mine.kind != "imported":
            raise InterchangeError(f"{where}: the workspace's model {mine.name!r} is of kind {mine.kind}; vectors "
                                   "imported from a file cannot share its name.")
        known = stored_vectors(store, mine.id)
        columns = ["sha256", vector_column(model["name"]), truncated_column(model["name"])]
        for first, batch in _batches(path, columns):
            if disagrees(known, *_model_vectors(batch, first, model, where)[:2]):
                raise InterchangeError(f"{where}: the workspace's model {mine.name!r} already holds a different "
                                       "vector for a text of this file (imported from another file); a workspace "
                                       "keeps one vector per text and model. Import it into another workspace.")


def _validate(path: Path, header: dict[str, Any]) -> None:
    """Read the whole file once and check every row, before anything is written."""
    rows, last = 0, None
    for first, batch in _batches(path):
        _check_rows(batch, first, path.name)
        _metas(batch, first, path.name)
        positions = batch.column("position").to_numpy(zero_copy_only=False)
        if len(positions) and ((last is not None and positions[0] <= last) or (np.diff(positions) <= 0).any()):
            raise InterchangeError(f"{path.name}: rows are not in position order (near row {first + 1}).")
        last = positions[-1] if len(positions) else last
        for model in header["models"]:
            _model_vectors(batch, first, model, path.name)
        rows += batch.num_rows
    if rows == 0:
        raise InterchangeError(f"{path.name}: no documents.")
    if rows != header["rows"]:
        raise InterchangeError(f"{path.name}: {rows:,} rows, but its info says {header['rows']:,} (truncated file?).")


# ---------------------------------------------------------------------- import
def import_collection(store: Store, path: str | Path) -> CollectionImport:
    """Add the collection in ``path`` (written by :func:`export_collection`) as a new
    collection, with its embedding sets, in one transaction: an import interrupted by an
    error, a cancel or a crash leaves nothing behind, and running it again imports it whole.

    The file's vectors are kept apart from this workspace's own (see
    :func:`imported_model_name`), and must agree with the vectors imported earlier under
    the same name for the texts both have.
    """
    path = Path(path).expanduser()
    header = read_header(path)
    models = header["models"]
    _check_models(store, models, path)
    _validate(path, header)
    about = header["collection"]
    with store.transaction():
        collection_id = store.create_collection(about["name"], about["source"], about["source_sha256"])
        documents = 0
        for first, batch in _batches(path, list(DOCUMENT_COLUMNS)):
            texts, _ = _check_rows(batch, first, path.name)
            documents += store.add_documents(collection_id, texts, _metas(batch, first, path.name),
                                             batch.column("source").to_pylist())
        for model in models:
            model_id = store.ensure_model(imported_model_name(model), model["dim"], model["normalizes"],
                                          model["max_seq_length"], kind="imported")
            store.add_embedding_set(collection_id, model_id)
            columns = ["sha256", vector_column(model["name"]), truncated_column(model["name"])]
            for first, batch in _batches(path, columns):
                shas, vectors, flags = _model_vectors(batch, first, model, path.name)
                if shas:
                    store.write_vectors(model_id, shas, vectors, flags)
    embedded = tuple((s.model_name, s.n_embedded) for s in store.embedding_sets(collection_id))
    return CollectionImport(collection_id, documents, embedded)
