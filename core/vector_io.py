"""Bring your own vectors in, take embedding sets out (Qt-free).

``import_vectors`` reads Parquet or JSONL with a text column and a vector column
(a list of floats per row), or an ``.npy`` matrix beside a text file of the same
stem (``corpus.txt`` + ``corpus.npy``: one row per non-empty line). Everything is
validated before anything is written: one dimension for all rows, only finite
values, as many vectors as texts, and one vector per distinct text (the store
keys vectors by model and text hash). The vectors become an embedding set of a
model of kind ``"imported"``, stored as float32, so float32 input comes back
bit for bit from ``export_set``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from core.doc_fields import split_fields
from core.store import Store, text_sha256

VECTOR_COLUMNS = ("vector", "embedding", "embeddings", "vectors")
TEXT_COLUMNS = ("text", "document", "content", "sentence")
#: columns ``export_set`` writes beside text and vector; not metadata on re-import
EXPORT_COLUMNS = ("id", "collection", "metadata")
_TEXT_SUFFIXES = (".txt",)
_BATCH = 10_000
#: The most dimensions a vector may have (the largest text embedding models have a few thousand):
#: three 20-million-dimensional vectors were accepted and then broke every analysis.
MAX_DIM = 65_536


class VectorFileError(ValueError):
    """A vector file cannot be imported; the message names the row and what is wrong."""


@dataclass(frozen=True)
class VectorImport:
    """What an import did."""

    collection_id: int
    model_id: int
    rows: int
    dim: int
    added: int  # documents created
    matched: int  # rows matched to documents already in the collection


@dataclass(frozen=True)
class VectorFile:
    texts: list[str]
    vectors: np.ndarray  # (n, d) float32
    metas: list[dict[str, Any]]


# ---------------------------------------------------------------------- reading
def _check_matrix(vectors: np.ndarray, where: str, label: str = "the vectors", row_numbers: np.ndarray | None = None,
                  error: type[VectorFileError] = VectorFileError) -> np.ndarray:
    """A 2-D matrix of finite real numbers as float32; ``row_numbers`` name its rows in messages (default 1…n)."""
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        raise error(f"{where}: expected one vector per row (a 2-D array), got shape {vectors.shape}.")
    _check_dim(vectors.shape[1], where, error)
    if not np.issubdtype(vectors.dtype, np.number) or np.issubdtype(vectors.dtype, np.complexfloating):
        raise error(f"{where}: vectors must be real numbers, got {vectors.dtype}.")
    bad = ~np.isfinite(vectors)
    if bad.any():
        row, dim = np.argwhere(bad)[0]
        number = row + 1 if row_numbers is None else int(row_numbers[row])
        raise error(f"{where}: row {number} of {label} has a NaN or infinite value (dimension {dim + 1}); "
                    "every value must be finite.")
    return np.ascontiguousarray(vectors, dtype=np.float32)


def _check_dim(dim: int, where: str, error: type[VectorFileError] = VectorFileError) -> None:
    if dim > MAX_DIM:
        raise error(f"{where}: the vectors have {dim:,} dimensions; at most {MAX_DIM:,} are supported.")


def list_matrix(array: pa.Array | pa.ChunkedArray, where: str, label: str, *, dim: int | None = None,
                row_numbers: np.ndarray | None = None, error: type[VectorFileError] = VectorFileError) -> np.ndarray:
    """A column of number lists as a float32 matrix, without a Python round trip (float32 stays bit-exact).

    Refused, naming the row: another type, a row without a vector, a row whose length is not
    ``dim`` (default: row 1's), a null or non-finite value. ``row_numbers`` are the rows'
    1-based numbers in the file (default 1…n); ``error`` is the exception raised.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    numbers = np.arange(1, len(array) + 1) if row_numbers is None else np.asarray(row_numbers)
    kind = array.type
    is_list = pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    if not is_list or not (pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type)):
        raise error(f"{where}: {label} holds {kind}, not lists of numbers.")
    if array.null_count:
        row = int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
        raise error(f"{where}: row {numbers[row]} of {label} has no vector.")
    if len(array) == 0:
        return np.empty((0, dim or 0), dtype=np.float32)
    lengths = np.full(len(array), kind.list_size) if pa.types.is_fixed_size_list(kind) \
        else array.value_lengths().to_numpy(zero_copy_only=False)
    expected = int(lengths[0]) if dim is None else dim
    _check_dim(expected, where, error)
    wrong = np.flatnonzero(lengths != expected)
    if wrong.size:
        row = int(wrong[0])
        raise error(f"{where}: inconsistent dimension: row {numbers[row]} of {label} holds {lengths[row]} values, "
                    f"not {expected}.")
    values = array.flatten()
    if values.null_count:
        raise error(f"{where}: a vector in {label} holds a missing value (null).")
    matrix = values.to_numpy(zero_copy_only=False).reshape(len(array), expected)
    return _check_matrix(matrix, where, label, numbers, error)


def _pick(columns: Sequence[str], wanted: str | None, usual: Sequence[str], what: str, where: str) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise VectorFileError(f"{where}: no column {wanted!r} (columns: {', '.join(columns)}).")
        return wanted
    for name in usual:
        if name in columns:
            return name
    raise VectorFileError(
        f"{where}: no {what} column found (looked for {', '.join(usual)}; columns: {', '.join(columns)}). "
        f"Name it with the {what} column option."
    )


def _list_rows_to_matrix(values: Sequence[Any], where: str, label: str) -> np.ndarray:
    """JSON rows (lists of numbers) to a matrix, through Arrow: checked as a Parquet column is."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        array = None
    if array is None or pa.types.is_null(array.type):
        row = next((r for r, v in enumerate(values) if not _is_number_list(v)), 0)
        raise VectorFileError(f"{where}: row {row + 1} of {label} is not a list of numbers.")
    return list_matrix(array, where, label)


def _is_number_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def _metas(columns: dict[str, list], skip: set[str], n: int) -> list[dict[str, Any]]:
    """Other columns as metadata; an exported ``metadata`` JSON column is unpacked."""
    metas: list[dict[str, Any]] = [{} for _ in range(n)]
    for name, values in columns.items():
        if name in skip:
            continue
        for meta, value in zip(metas, values):
            if value is not None:
                meta[name] = value
    for meta, packed in zip(metas, columns.get("metadata", [None] * n)):
        if isinstance(packed, str) and packed.startswith("{"):
            meta.update(json.loads(packed))
    return metas


def _texts(values: Sequence[Any], where: str) -> list[str]:
    for row, value in enumerate(values):
        if not isinstance(value, str):
            raise VectorFileError(f"{where}: row {row + 1} has no text.")
    return list(values)


def _read_parquet(path: Path, text_column: str | None, vector_column: str | None) -> VectorFile:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    text = _pick(table.column_names, text_column, TEXT_COLUMNS, "text", path.name)
    vector = _pick(table.column_names, vector_column, VECTOR_COLUMNS, "vector", path.name)
    if table.num_rows == 0:
        raise VectorFileError(f"{path.name}: no rows.")
    vectors = list_matrix(table[vector], path.name, f"column {vector!r}")
    rest = table.drop_columns([text, vector]).to_pydict()
    texts = _texts(table[text].to_pylist(), path.name)
    return VectorFile(texts, vectors, _metas(rest, set(EXPORT_COLUMNS), len(texts)))


def _read_jsonl(path: Path, text_column: str | None, vector_column: str | None) -> VectorFile:
    records: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise VectorFileError(f"{path.name}: line {line_no} is not valid JSON ({exc.msg}).") from exc
            if not isinstance(record, dict):
                raise VectorFileError(f"{path.name}: line {line_no} is not a JSON object.")
            records.append(record)
    if not records:
        raise VectorFileError(f"{path.name}: no rows.")
    names = list(dict.fromkeys(key for record in records for key in record))
    text = _pick(names, text_column, TEXT_COLUMNS, "text", path.name)
    vector = _pick(names, vector_column, VECTOR_COLUMNS, "vector", path.name)
    vectors = _list_rows_to_matrix([r.get(vector) for r in records], path.name, f"column {vector!r}")
    rest = {name: [r.get(name) for r in records] for name in names if name not in (text, vector)}
    texts = _texts([r.get(text) for r in records], path.name)
    return VectorFile(texts, vectors, _metas(rest, set(EXPORT_COLUMNS), len(records)))


def _load_npy(npy: Path) -> np.ndarray:
    """The array in ``npy``; its header is checked against the file's size and :data:`MAX_DIM`
    before anything is allocated (a 100-byte file may claim 10^15 values)."""
    from numpy.lib import format as npy_format

    try:
        with open(npy, "rb") as handle:
            version = npy_format.read_magic(handle)
            read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, _, dtype = read_header(handle, max_header_size=10_000)
            stored = npy.stat().st_size - handle.tell()
    except (ValueError, OSError) as exc:
        raise VectorFileError(f"{npy.name} is not a plain numeric .npy array ({exc}).") from exc
    if dtype.hasobject:
        raise VectorFileError(f"{npy.name} is not a plain numeric .npy array (it holds Python objects).")
    if len(shape) == 2:
        _check_dim(shape[1], npy.name)
    claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if claimed > stored:
        raise VectorFileError(f"{npy.name}: its header claims a {' x '.join(map(str, shape))} array ({claimed:,} bytes) "
                              f"but the file holds {stored:,} bytes of data; it is truncated or damaged.")
    return np.load(npy, allow_pickle=False)


def _read_npy_pair(path: Path) -> VectorFile:
    npy = path.with_suffix(".npy")
    text_file = next((path.with_suffix(s) for s in _TEXT_SUFFIXES if path.with_suffix(s).exists()), None)
    if not npy.exists() or text_file is None:
        raise VectorFileError(
            f"{path.name}: an .npy import needs the vectors and a text file with the same name "
            f"(e.g. {path.stem}.npy and {path.stem}.txt, one document per line)."
        )
    vectors = _check_matrix(_load_npy(npy), npy.name)
    texts = [line for line in text_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(texts) != len(vectors):
        raise VectorFileError(
            f"{text_file.name} has {len(texts)} documents (non-empty lines) but {npy.name} has {len(vectors)} rows; "
            "they must match one to one."
        )
    return VectorFile(texts, vectors, [{} for _ in texts])


def read_vector_file(path: str | Path, text_column: str | None = None, vector_column: str | None = None) -> VectorFile:
    """Texts, float32 vectors and metadata of a vector file, validated (raises :class:`VectorFileError`)."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    try:
        if suffix in (".npy", *_TEXT_SUFFIXES):
            return _read_npy_pair(path)
        if not path.exists():
            raise VectorFileError(f"{path} does not exist.")
        if suffix == ".parquet":
            return _read_parquet(path, text_column, vector_column)
        if suffix in (".jsonl", ".ndjson"):
            return _read_jsonl(path, text_column, vector_column)
    except UnicodeDecodeError as exc:
        raise VectorFileError(f"{path.name}: a text file is not UTF-8 ({exc.reason} at byte {exc.start:,}); "
                              "save it as UTF-8 and import it again.") from exc
    except RecursionError as exc:
        raise VectorFileError(f"{path.name}: a JSON value is nested too deeply to read.") from exc
    except (pa.ArrowException, OSError) as exc:
        raise VectorFileError(f"{path.name} could not be read ({exc}).") from exc
    raise VectorFileError(f"{path.name}: vectors are read from .parquet, .jsonl or .npy (+ .txt), not {suffix or 'this file'}.")


# ---------------------------------------------------------------------- importing
def _distinct(texts: list[str], vectors: np.ndarray, where: str) -> tuple[list[str], np.ndarray]:
    """One row per distinct text; the same text with two different vectors is an error."""
    shas = np.array([text_sha256(t) for t in texts])
    unique, first, inverse = np.unique(shas, return_index=True, return_inverse=True)
    clash = np.flatnonzero((vectors != vectors[first[inverse]]).any(axis=1))
    if clash.size:
        row = int(clash[0])
        raise VectorFileError(
            f"{where}: rows {int(first[inverse[row]]) + 1} and {row + 1} have the same text but different vectors; "
            "a workspace keeps one vector per text and model."
        )
    return unique.tolist(), vectors[first]


def _all_documents(store: Store, collection_id: int) -> np.ndarray:
    return store.search_text([collection_id], "")  # every text contains the empty string


def _check_model(store: Store, name: str, dim: int, shas: list[str], vectors: np.ndarray) -> None:
    """An existing model must be an imported one of the same dimension whose stored
    vectors agree with the file's for texts it already has."""
    model = next((m for m in store.models() if m.name == name), None)
    if model is None:
        return
    if model.kind != "imported":
        raise VectorFileError(
            f"'{name}' is already a model of this workspace (kind: {model.kind}); import under another model name."
        )
    if model.dim is not None and model.dim != dim:
        raise VectorFileError(f"model '{name}' holds {model.dim}-d vectors; this file has {dim}-d vectors.")
    if disagrees(stored_vectors(store, model.id), shas, vectors):
        raise VectorFileError(
            f"model '{name}' already holds a different vector for a text of this file; "
            "import under a new model name."
        )


def stored_vectors(store: Store, model_id: int) -> dict[str, np.ndarray]:
    """sha256 of a text -> the vector model ``model_id`` holds for it (texts of every collection)."""
    doc_ids, _, stored = store.load_vectors([c.id for c in store.collections()], model_id)
    return dict(zip(store.hashes(doc_ids).tolist(), stored))


def disagrees(known: dict[str, np.ndarray], shas: Sequence[str], vectors: np.ndarray) -> bool:
    """Whether a text of ``shas`` already has another vector in ``known`` (a workspace keeps one per text and model)."""
    return any(sha in known and not np.array_equal(known[sha], vector) for sha, vector in zip(shas, vectors))


def import_vectors(
    store: Store,
    path: str | Path,
    model_name: str,
    collection_name: str | None = None,
    text_column: str | None = None,
    vector_column: str | None = None,
) -> VectorImport:
    """Import a vector file as an embedding set of model ``model_name`` (kind "imported").

    Without ``collection_name`` (or with a new one) a collection is created from
    the file's texts and other columns (as metadata). With the name of an existing
    collection, rows are matched to its documents by text hash, and every row must
    match one.
    """
    path = Path(path).expanduser()
    found = read_vector_file(path, text_column, vector_column)
    n, dim = found.vectors.shape
    shas, vectors = _distinct(found.texts, found.vectors, path.name)
    _check_model(store, model_name, dim, shas, vectors)
    existing = next((c for c in store.collections() if collection_name and c.name == collection_name), None)
    if existing is not None:
        have = set(store.hashes(_all_documents(store, existing.id)).tolist())
        missing = [row for row, text in enumerate(found.texts) if text_sha256(text) not in have]
        if missing:
            raise VectorFileError(
                f"{path.name}: {len(missing)} of {n} rows have texts that are not in collection '{existing.name}' "
                f"(first: row {missing[0] + 1}); import into a new collection instead."
            )
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    added = 0
    with store.transaction():  # all or nothing: an interrupted import leaves no half collection behind
        if existing is None:
            collection_id = store.create_collection(collection_name or path.stem, source=str(path))
            for start in range(0, n, _BATCH):
                stop = start + _BATCH
                added += store.add_documents(collection_id, found.texts[start:stop], found.metas[start:stop], path.name)
        else:
            collection_id = existing.id
        model_id = store.ensure_model(model_name, dim, bool(np.allclose(norms, 1.0, atol=1e-3)), None, kind="imported")
        for start in range(0, len(shas), _BATCH):
            store.write_vectors(model_id, shas[start : start + _BATCH], vectors[start : start + _BATCH])
        store.add_embedding_set(collection_id, model_id)
    return VectorImport(collection_id, model_id, n, dim, added, n - added)


# ---------------------------------------------------------------------- exporting
def export_set(store: Store, collection_ids: Sequence[int], model_id: int, path: str | Path) -> int:
    """Write the embedded documents of ``collection_ids`` under ``model_id`` to Parquet.

    Columns: id (the workspace's), collection, text, metadata (a JSON object of
    the input columns, each under its own name: an input ``id`` is kept there),
    vector (list of float32, exactly as stored). Returns the number of rows written.
    """
    import pyarrow.parquet as pq

    doc_ids, _, vectors = store.load_vectors(list(collection_ids), model_id)
    columns = store.document_table(doc_ids)
    (doc_id, collection, text), meta_keys = split_fields(columns)
    metadata = [
        json.dumps({key: columns[key][i] for key in meta_keys if columns[key][i] is not None}, ensure_ascii=False)
        for i in range(len(doc_ids))
    ]
    n, d = vectors.shape if len(doc_ids) else (0, 0)
    offsets = pa.array(np.arange(0, n * d + 1, max(d, 1), dtype=np.int32)[: n + 1])
    table = pa.table({
        "id": pa.array(np.asarray(columns[doc_id], dtype=np.int64)),
        "collection": pa.array(columns[collection], type=pa.string()),
        "text": pa.array(columns[text], type=pa.string()),
        "metadata": pa.array(metadata, type=pa.string()),
        "vector": pa.ListArray.from_arrays(offsets, pa.array(vectors.ravel(), type=pa.float32())),
    })
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return n
