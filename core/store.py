"""The workspace: one DuckDB file holding collections, documents, vectors and caches.

Vectors are keyed by (model, sha256 of the text), so identical text embedded with
the same model is stored, and computed, once. Every write is one transaction;
each thread reads through its own cursor. ``load_vectors`` is the one bulk read
the analyses use; nobody else depends on the physical layout.
"""
from __future__ import annotations

import hashlib
import io
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.doc_fields import app_fields
from core.ingest_types import MORE_FIELDS
from core.workspace_file import CATALOG, WorkspaceError, WorkspaceFullError, open_workspace, schema_version


#: Rows per Arrow batch when streaming vectors into their matrix (100k x 384 floats: 154 MB in flight).
LOAD_BATCH_ROWS = 100_000
#: DuckDB's buffer pool while vectors stream through it. DuckDB keeps every block it read cached, up to
#: 80 % of RAM: loading 1M x 384 vectors left a second 1.3 GiB copy of them beside the matrix.
BULK_READ_MEMORY = "512MB"
#: A string label whose fixed-width numpy array would be larger than this comes back as an object array
#: (its rows share one Python string per category).
FIXED_WIDTH_LABEL_BYTES = 64 * 2**20
_NUMERIC_JSON = ("BIGINT", "UBIGINT", "DOUBLE")

@dataclass(frozen=True)
class CollectionInfo:
    id: int
    name: str
    n_docs: int
    source: str | None
    status: str = "ready"


@dataclass(frozen=True)
class ModelInfo:
    id: int
    name: str
    kind: str
    dim: int | None
    normalizes: bool | None
    max_seq_length: int | None


@dataclass(frozen=True)
class EmbeddingSetInfo:
    collection_id: int
    model_id: int
    model_name: str
    n_docs: int
    n_embedded: int

    @property
    def complete(self) -> bool:
        return self.n_embedded >= self.n_docs


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _priority(sha: str) -> int:
    """A deterministic pseudo-random rank: embedding in this order embeds a random sample first."""
    return int(sha[:15], 16)


class Store:
    """A workspace file. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self._con = con
        self.path = path
        self.read_only = read_only
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._bulk_lock = threading.Lock()
        self._bulk_readers = 0

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: str | Path, read_only: bool = False, adopt: bool = False) -> "Store":
        """Open (or create) the workspace at ``path`` and bring its schema up to date.

        A DuckDB database that is not a workspace is refused unless ``adopt``.
        """
        path = Path(path).expanduser()
        return cls(open_workspace(path, read_only, adopt), path, read_only)

    def close(self) -> None:
        try:
            self._con.close()
        except duckdb.Error:
            pass

    def schema_version(self) -> int:
        return schema_version(self._con)

    # ------------------------------------------------------------------ plumbing
    def _cur(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            cur.execute(f"USE {CATALOG}")
            self._local.cur = cur
        return cur

    def _write(self, fn: Any) -> Any:
        """Run ``fn(cursor)`` in one transaction on the single writer lane (inside
        :meth:`transaction`: as part of that one)."""
        if getattr(self._local, "in_transaction", False):
            return fn(self._cur())
        with self.transaction():
            return fn(self._cur())

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group this thread's writes into one transaction: all of them are kept, or none
        (an error, a cancel or a crash before the end leaves the workspace as it was).
        A full disk raises :class:`~core.workspace_file.WorkspaceFullError`."""
        if self.read_only:
            raise WorkspaceError(f"{self.path.name} is open read-only.")
        with self._write_lock:
            cur = self._cur()
            cur.execute("BEGIN TRANSACTION")
            self._local.in_transaction = True
            try:
                yield
                cur.execute("COMMIT")
            except BaseException as exc:
                try:
                    cur.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # a failed COMMIT has already ended the transaction
                if isinstance(exc, duckdb.Error) and _disk_full(exc):
                    raise WorkspaceFullError(
                        f"The disk holding {self.path.name} is full ({self.path.parent}): the last change was not "
                        "saved; everything saved before it is kept. Free some space and run it again (an "
                        "interrupted import or embedding resumes).") from exc
                raise
            finally:
                self._local.in_transaction = False

    # ------------------------------------------------------------------ preferences
    def preference(self, key: str) -> str | None:
        """A choice remembered with this workspace (e.g. its title column), or None."""
        rows = self._cur().execute("SELECT value FROM meta WHERE key = ?", [f"pref:{key}"]).fetchall()
        return str(rows[0][0]) if rows else None

    def set_preference(self, key: str, value: str) -> None:
        """Remember ``value`` with this workspace (nothing happens when it is open read-only)."""
        if not self.read_only:
            self._write(lambda cur: cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"pref:{key}", value]))

    # ------------------------------------------------------------------ collections
    def collections(self) -> list[CollectionInfo]:
        rows = self._cur().execute(
            """SELECT c.id, c.name, count(d.id), c.source, c.status FROM collections c
               LEFT JOIN documents d ON d.collection_id = c.id
               GROUP BY c.id, c.name, c.source, c.status ORDER BY c.id"""
        ).fetchall()
        return [CollectionInfo(int(r[0]), r[1], int(r[2]), r[3], r[4]) for r in rows]

    def collection(self, collection_id: int) -> CollectionInfo:
        for info in self.collections():
            if info.id == collection_id:
                return info
        raise KeyError(collection_id)

    def create_collection(
        self, name: str, source: str | None = None, source_sha256: str | None = None, status: str = "ready"
    ) -> int:
        def run(cur: duckdb.DuckDBPyConnection) -> int:
            taken = {r[0] for r in cur.execute("SELECT name FROM collections").fetchall()}
            unique, i = name, 2
            while unique in taken:
                unique, i = f"{name} ({i})", i + 1
            new_id = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM collections").fetchall()[0][0]
            cur.execute(
                "INSERT INTO collections (id, name, source, source_sha256, status) VALUES (?, ?, ?, ?, ?)",
                [new_id, unique, source, source_sha256, status],
            )
            return int(new_id)

        return self._write(run)

    def find_collection_by_source(self, source_sha256: str) -> tuple[int, str] | None:
        """(id, status) of the collection imported from content with this hash, if any."""
        rows = self._cur().execute(
            "SELECT id, status FROM collections WHERE source_sha256 = ? ORDER BY id LIMIT 1", [source_sha256]
        ).fetchall()
        return (int(rows[0][0]), rows[0][1]) if rows else None

    def set_collection_status(self, collection_id: int, status: str, source_sha256: str | None = None) -> None:
        """'importing' while documents are added, 'ready' once the import completed (keyed by
        ``source_sha256``, the hash of what was read, when given)."""
        self._write(lambda cur: cur.execute(
            "UPDATE collections SET status = ?, source_sha256 = coalesce(?, source_sha256) WHERE id = ?",
            [status, source_sha256, collection_id]))

    def clear_documents(self, collection_id: int) -> None:
        """Drop a collection's documents (to redo an interrupted import)."""
        self._write(lambda cur: cur.execute("DELETE FROM documents WHERE collection_id = ?", [collection_id]))

    def rename_collection(self, collection_id: int, name: str) -> None:
        self._write(lambda cur: cur.execute("UPDATE collections SET name = ? WHERE id = ?", [name, collection_id]))

    def delete_collection(self, collection_id: int) -> None:
        def run(cur: duckdb.DuckDBPyConnection) -> None:
            cur.execute("DELETE FROM documents WHERE collection_id = ?", [collection_id])
            cur.execute("DELETE FROM embedding_sets WHERE collection_id = ?", [collection_id])
            cur.execute("DELETE FROM collections WHERE id = ?", [collection_id])

        self._write(run)

    # ------------------------------------------------------------------ documents
    def add_documents(
        self,
        collection_id: int,
        texts: Sequence[str],
        metas: Sequence[dict] | None = None,
        source: str | Sequence[str] | None = None,
    ) -> int:
        """Append documents to a collection in one transaction; returns how many.

        ``source`` names where the texts came from: one name for all, or one per text.
        """
        if not texts:
            return 0
        sources = [source] * len(texts) if source is None or isinstance(source, str) else list(source)
        shas = [text_sha256(t) for t in texts]
        metas = metas or [{}] * len(texts)
        meta_json = [json.dumps(m, ensure_ascii=False, default=str) if m else None for m in metas]

        def run(cur: duckdb.DuckDBPyConnection) -> int:
            (next_id, next_pos), = cur.execute(
                """SELECT (SELECT coalesce(max(id), 0) + 1 FROM documents),
                          (SELECT coalesce(max(position), -1) + 1 FROM documents WHERE collection_id = ?)""",
                [collection_id],
            ).fetchall()
            n = len(texts)
            table = pa.table(
                {
                    "id": pa.array(np.arange(next_id, next_id + n, dtype=np.int64)),
                    "collection_id": pa.array(np.full(n, collection_id, dtype=np.int32)),
                    "position": pa.array(np.arange(next_pos, next_pos + n, dtype=np.int64)),
                    "priority": pa.array([_priority(s) for s in shas], type=pa.int64()),
                    "text": pa.array(list(texts), type=pa.string()),
                    "meta": pa.array(meta_json, type=pa.string()),
                    "sha256": pa.array(shas, type=pa.string()),
                    "source": pa.array(sources, type=pa.string()),
                }
            )
            cur.register("_new_docs", table)
            try:
                cur.execute("INSERT INTO documents SELECT * FROM _new_docs")
            finally:
                cur.unregister("_new_docs")
            return n

        return self._write(run)

    def texts(self, doc_ids: np.ndarray | Sequence[int]) -> list[str]:
        """Texts of ``doc_ids``, in the order given."""
        ids = np.asarray(doc_ids, dtype=np.int64)
        if ids.size == 0:
            return []
        table = self._select_by_ids("SELECT id, text FROM documents", ids)
        lookup = dict(zip(table["id"].to_numpy(), table["text"].to_pylist()))
        return [lookup.get(int(i), "") for i in ids]

    def _select_by_ids(self, query: str, ids: np.ndarray, id_column: str = "id") -> pa.Table:
        cur = self._cur()
        cur.register("_ids", pa.table({"wanted": pa.array(ids)}))
        try:
            return cur.sql(f"{query} WHERE {id_column} IN (SELECT wanted FROM _ids)").to_arrow_table()
        finally:
            cur.unregister("_ids")

    @contextmanager
    def _wanted(self, ids: np.ndarray) -> Iterator[duckdb.DuckDBPyConnection]:
        """This thread's cursor with ``ids`` registered as ``_wanted(pos, id)`` (pos: place in ``ids``)."""
        cur = self._cur()
        cur.register("_wanted", pa.table({"pos": pa.array(np.arange(len(ids), dtype=np.int64)), "id": pa.array(ids)}))
        try:
            yield cur
        finally:
            cur.unregister("_wanted")

    def hashes(self, doc_ids: np.ndarray | Sequence[int], *, raw: bool = False) -> np.ndarray:
        """Content sha256 of ``doc_ids``, in the order given (exact-duplicate detection).

        Hex strings in an object array ("" where unknown); ``raw=True``: the 32-byte
        digests as fixed-width ``S32`` (32 MB per million rows, not ~120 MB of strings).
        """
        ids = np.asarray(doc_ids, dtype=np.int64)
        column = "coalesce(unhex(d.sha256), unhex(repeat('00', 32)))" if raw else "coalesce(d.sha256, '')"
        with self._wanted(ids) as cur:
            shas = cur.sql(f"""SELECT {column} FROM _wanted w LEFT JOIN documents d ON d.id = w.id
                               ORDER BY w.pos""").to_arrow_table().column(0).combine_chunks()
        if not raw:
            return shas.to_numpy(zero_copy_only=False).astype(object)
        if not len(shas):
            return np.empty(0, dtype="S32")
        digests = shas.cast(pa.binary(32))
        return np.frombuffer(digests.buffers()[1], dtype="S32", count=len(digests), offset=digests.offset * 32).copy()

    def search_text(self, collection_ids: Sequence[int], needle: str) -> np.ndarray:
        """Document ids in ``collection_ids`` whose text contains ``needle`` (case-insensitive)."""
        rows = self._cur().execute(
            "SELECT id FROM documents WHERE list_contains(?, collection_id) AND contains(lower(text), lower(?)) ORDER BY id",
            [list(collection_ids), needle],
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def document_table(self, doc_ids: np.ndarray) -> dict[str, list]:
        """Internal id, collection name, text and every metadata column of ``doc_ids``, in the order given.

        The first three columns are the app's (``core.doc_fields.app_fields``: ``_doc_id``,
        ``collection``, ``text`` unless an input column has that name); the input columns
        follow under their own names, verbatim.
        """
        ids = np.asarray(doc_ids, dtype=np.int64)
        table = self._select_by_ids(
            "SELECT d.id, c.name AS collection, d.text, d.meta FROM documents d JOIN collections c ON c.id = d.collection_id",
            ids,
            id_column="d.id",
        ).to_pydict()
        order = {int(i): k for k, i in enumerate(table["id"])}
        picks = [order[int(i)] for i in ids if int(i) in order]
        metas = [json.loads(table["meta"][k]) if table["meta"][k] else {} for k in picks]
        keys = sorted({key for m in metas for key in m})
        doc_id, collection, text = app_fields(keys)
        columns: dict[str, list] = {
            doc_id: [table["id"][k] for k in picks],
            collection: [table["collection"][k] for k in picks],
            text: [table["text"][k] for k in picks],
        }
        for key in keys:
            columns[key] = [m.get(key) for m in metas]
        return columns

    def labels(self, doc_ids: np.ndarray) -> dict[str, np.ndarray]:
        """Per-document metadata columns for colouring, in the order given.

        "collection" (its name; "_collection" when an input column is called "collection"),
        then each metadata key verbatim, sorted: a key whose present
        values are all JSON numbers becomes float64 (NaN where absent); any other a
        string array ("" where absent; non-strings in their JSON spelling). Parsed
        by DuckDB and turned into categories once, so a million rows take ~1 s and
        hold no Python object per row.
        """
        ids = np.asarray(doc_ids, dtype=np.int64)
        with self._wanted(ids) as cur, self._without_folded_fields(cur) as source:
            kinds = cur.execute(
                f"""SELECT e.key, bool_and(e.type IN {_NUMERIC_JSON}) FILTER (WHERE e.type <> 'NULL')
                    FROM {source}, json_each(d.meta) e GROUP BY e.key ORDER BY e.key"""
            ).fetchall()
            kinds = [(key, bool(numeric)) for key, numeric in kinds]
            select, params = ["c.name"], []
            for key, numeric in kinds:
                select.append("TRY_CAST(json_extract(d.meta, ?) AS DOUBLE)" if numeric
                              else "json_extract_string(d.meta, ?)")
                params.append(_pointer(key))
            table = cur.sql(
                f"""SELECT {", ".join(select)} FROM {source} LEFT JOIN collections c ON c.id = d.collection_id
                    ORDER BY w.pos""",
                params=params,
            ).to_arrow_table()
        out = {app_fields([key for key, _ in kinds])[1]: _categorical(table.column(0))}
        for i, (key, numeric) in enumerate(kinds, start=1):
            column = table.column(i)
            out[key] = column.to_numpy().astype(np.float64) if numeric else _categorical(column)
        return out

    @contextmanager
    def _without_folded_fields(self, cur: duckdb.DuckDBPyConnection) -> Iterator[str]:
        """The ``_wanted`` documents as ``w`` and ``d``, their meta without :data:`MORE_FIELDS`.

        ``json_each`` copies the whole document per field and ``json_extract`` parses it
        whole: with 100,000 folded CSV columns that took 19 GiB for 40 documents. So when
        some document has folded fields, they are dropped once, first.
        """
        source = "_wanted w LEFT JOIN documents d ON d.id = w.id"
        folded = cur.execute(f"SELECT bool_or(json_exists(d.meta, ?)) FROM {source}", [_pointer(MORE_FIELDS)]).fetchall()
        if not folded[0][0]:
            yield source
            return
        patch = json.dumps({MORE_FIELDS: None})
        cur.register("_slim", cur.sql(f"SELECT w.pos, d.collection_id, json_merge_patch(d.meta, ?) AS meta FROM {source}",
                                      params=[patch]).to_arrow_table())
        try:
            yield "_slim d JOIN _wanted w ON w.pos = d.pos"
        finally:
            cur.unregister("_slim")

    # ------------------------------------------------------------------ models and vectors
    def ensure_model(
        self,
        name: str,
        dim: int | None = None,
        normalizes: bool | None = None,
        max_seq_length: int | None = None,
        kind: str = "encoder",
    ) -> int:
        """The id of model ``name``, registering it (or filling in its facts) as needed.

        A name is of one ``kind`` for good: an encoder never reuses vectors that were
        imported or derived under its name (raises :class:`WorkspaceError`).
        """

        def run(cur: duckdb.DuckDBPyConnection) -> int:
            rows = cur.execute("SELECT id, kind FROM models WHERE name = ?", [name]).fetchall()
            if rows and rows[0][1] != kind:
                raise WorkspaceError(
                    f"The model name {name!r} is taken in this workspace by {rows[0][1]} vectors, so {kind} vectors "
                    "cannot use it: vectors that did not come from running a model here are never served as that "
                    "model's output. Use another name (or another workspace).")
            if rows:
                row = rows[0]
                cur.execute(
                    """UPDATE models SET dim = coalesce(?, dim), normalizes = coalesce(?, normalizes),
                       max_seq_length = coalesce(?, max_seq_length) WHERE id = ?""",
                    [dim, normalizes, max_seq_length, row[0]],
                )
                return int(row[0])
            new_id = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM models").fetchall()[0][0]
            cur.execute(
                "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?)",
                [new_id, name, kind, dim, normalizes, max_seq_length],
            )
            return int(new_id)

        return self._write(run)

    def models(self) -> list[ModelInfo]:
        rows = self._cur().execute("SELECT id, name, kind, dim, normalizes, max_seq_length FROM models ORDER BY id").fetchall()
        return [ModelInfo(*r) for r in rows]

    def model(self, model_id: int) -> ModelInfo:
        return next(m for m in self.models() if m.id == model_id)

    def add_embedding_set(self, collection_id: int, model_id: int) -> None:
        self._write(
            lambda cur: cur.execute("INSERT OR IGNORE INTO embedding_sets (collection_id, model_id) VALUES (?, ?)", [collection_id, model_id])
        )

    def embedding_sets(self, collection_id: int | None = None) -> list[EmbeddingSetInfo]:
        rows = self._cur().execute(
            """SELECT s.collection_id, s.model_id, m.name, count(d.id), count(v.sha256)
               FROM embedding_sets s JOIN models m ON m.id = s.model_id
               LEFT JOIN documents d ON d.collection_id = s.collection_id
               LEFT JOIN vectors v ON v.model_id = s.model_id AND v.sha256 = d.sha256
               WHERE ? IS NULL OR s.collection_id = ?
               GROUP BY s.collection_id, s.model_id, m.name ORDER BY s.collection_id, s.model_id""",
            [collection_id, collection_id],
        ).fetchall()
        return [EmbeddingSetInfo(int(a), int(b), c, int(d), int(e)) for a, b, c, d, e in rows]

    def pending_texts(self, collection_ids: Sequence[int], model_id: int, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` distinct (sha256, text) not yet embedded with the model, random-sample order."""
        return self._cur().execute(
            """SELECT d.sha256, any_value(d.text) FROM documents d
               ANTI JOIN (SELECT sha256 FROM vectors WHERE model_id = ?) v ON v.sha256 = d.sha256
               WHERE list_contains(?, d.collection_id)
               GROUP BY d.sha256 ORDER BY min(d.priority), d.sha256 LIMIT ?""",
            [model_id, list(collection_ids), limit],
        ).fetchall()

    def count_pending(self, collection_ids: Sequence[int], model_id: int) -> int:
        return int(
            self._cur().execute(
                """SELECT count(DISTINCT d.sha256) FROM documents d
                   ANTI JOIN (SELECT sha256 FROM vectors WHERE model_id = ?) v ON v.sha256 = d.sha256
                   WHERE list_contains(?, d.collection_id)""",
                [model_id, list(collection_ids)],
            ).fetchall()[0][0]
        )

    def write_vectors(
        self,
        model_id: int,
        shas: Sequence[str],
        vectors: np.ndarray,
        truncated: Sequence[bool] | None = None,
    ) -> None:
        """Store one batch of vectors in one transaction (already present ones are kept)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, d = vectors.shape
        if n != len(shas):
            raise ValueError(f"{len(shas)} hashes for {n} vectors")
        offsets = pa.array(np.arange(0, n * d + 1, d, dtype=np.int32))
        table = pa.table(
            {
                "model_id": pa.array(np.full(n, model_id, dtype=np.int32)),
                "sha256": pa.array(list(shas), type=pa.string()),
                "vector": pa.ListArray.from_arrays(offsets, pa.array(vectors.ravel())),
                "truncated": pa.array(list(truncated) if truncated is not None else [False] * n, type=pa.bool_()),
            }
        )

        def run(cur: duckdb.DuckDBPyConnection) -> None:
            cur.register("_new_vectors", table)
            try:
                cur.execute("INSERT OR IGNORE INTO vectors SELECT * FROM _new_vectors")
            finally:
                cur.unregister("_new_vectors")

        self._write(run)

    def count_vectors(self, collection_ids: Sequence[int], model_id: int) -> int:
        """How many rows :meth:`load_vectors` would return (embedded documents), without reading a vector."""
        return int(self._cur().execute(
            f"SELECT count(*) FROM {_embedded(collection_ids, model_id, 'documents')}").fetchall()[0][0])

    def load_vectors(
        self, collection_ids: Sequence[int], model_id: int, sample: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Embedded documents of ``collection_ids``: (doc_ids, collection_ids, float32 matrix), by document id.

        ``sample``: at most that many rows, the embedded documents of lowest
        ``priority`` (a deterministic uniform random sample, and what a half-embedded
        collection shows first); their ids are picked before any vector is read.
        The ids come first; the vectors then stream in batches straight into one
        preallocated, writable matrix (peak: the matrix plus one batch, not three
        copies of it), under a small DuckDB buffer pool (:data:`BULK_READ_MEMORY`).
        Both reads see one snapshot, so a concurrent write cannot mismatch them.
        """
        vectors = f"vectors v ON v.sha256 = d.sha256 AND v.model_id = {int(model_id)}"
        cur = self._cur()
        with self._bulk_read():
            cur.execute("BEGIN TRANSACTION")
            try:  # a read-only transaction: both reads see one snapshot
                if sample is None:
                    joined = f"documents d JOIN {vectors} WHERE {_in_view(collection_ids)}"
                    keys = cur.sql(f"SELECT d.id, d.collection_id FROM {joined} ORDER BY d.id").to_arrow_table()
                else:
                    keys = _sample_keys(cur, collection_ids, model_id, int(sample))
                    cur.register("_sample", keys)
                    joined = f"_sample d JOIN {vectors}"
                ids = keys["id"].to_numpy().astype(np.int64)
                cols = keys["collection_id"].to_numpy().astype(np.int64)
                matrix = np.zeros((0, 0), dtype=np.float32)
                for batch in cur.sql(f"SELECT d.id, v.vector FROM {joined}").to_arrow_reader(LOAD_BATCH_ROWS):
                    if not batch.num_rows:
                        continue
                    flat = pc.list_flatten(batch.column(1)).to_numpy(zero_copy_only=False)
                    if matrix.shape[0] != len(ids):
                        matrix = np.empty((len(ids), flat.size // batch.num_rows), dtype=np.float32)
                    lengths = pc.min_max(pc.list_value_length(batch.column(1)))
                    if (lengths["min"].as_py(), lengths["max"].as_py()) != (matrix.shape[1],) * 2:
                        raise WorkspaceError(
                            f"Model {model_id} has vectors of different lengths; re-embed the collection.")
                    matrix[np.searchsorted(ids, batch.column(0).to_numpy())] = flat.reshape(batch.num_rows, -1)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                if sample is not None:
                    cur.unregister("_sample")
            cur.execute("COMMIT")
        return ids, cols, matrix

    @contextmanager
    def _bulk_read(self) -> Iterator[None]:
        """Hold DuckDB's buffer pool at :data:`BULK_READ_MEMORY` while any thread streams vectors."""
        with self._bulk_lock:
            self._bulk_readers += 1
            if self._bulk_readers == 1:
                try:
                    self._cur().execute(f"SET memory_limit = '{BULK_READ_MEMORY}'")  # evicts cached blocks
                except duckdb.Error:
                    pass  # more than that is pinned right now: read with the pool as it is
        try:
            yield
        finally:
            with self._bulk_lock:
                self._bulk_readers -= 1
                if self._bulk_readers == 0:
                    try:
                        self._cur().execute("RESET memory_limit")
                    except duckdb.Error:
                        pass  # the workspace closed meanwhile: nothing left to restore

    def truncated_count(self, collection_ids: Sequence[int], model_id: int) -> int:
        return int(
            self._cur().execute(
                """SELECT count(*) FROM documents d JOIN vectors v ON v.sha256 = d.sha256 AND v.model_id = ?
                   WHERE v.truncated AND list_contains(?, d.collection_id)""",
                [model_id, list(collection_ids)],
            ).fetchall()[0][0]
        )

    # ------------------------------------------------------------------ workspace notes
    def get_note(self, key: str) -> str | None:
        """A small value kept in the workspace's ``meta`` table (None when absent)."""
        rows = self._cur().execute("SELECT value FROM meta WHERE key = ?", [f"note:{key}"]).fetchall()
        return rows[0][0] if rows else None

    def set_note(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` (``note:`` keys never clash with the schema's own entries)."""
        self._write(lambda cur: cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"note:{key}", value]))

    # ------------------------------------------------------------------ analysis cache
    def cache_put(self, plugin: str, data_key: str, params: str, arrays: dict[str, np.ndarray]) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        payload = buffer.getvalue()
        self._write(
            lambda cur: cur.execute(
                "INSERT OR REPLACE INTO analysis_cache (plugin, data_key, params, payload) VALUES (?, ?, ?, ?)",
                [plugin, data_key, params, payload],
            )
        )

    def cache_get(self, plugin: str, data_key: str, params: str) -> dict[str, np.ndarray] | None:
        rows = self._cur().execute(
            "SELECT payload FROM analysis_cache WHERE plugin = ? AND data_key = ? AND params = ?",
            [plugin, data_key, params],
        ).fetchall()
        if not rows:
            return None
        with np.load(io.BytesIO(rows[0][0]), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}


def _disk_full(exc: duckdb.Error) -> bool:
    return "no space left on device" in str(exc).lower()


def _pointer(key: str) -> str:
    """A JSON pointer to a top-level key."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _in_view(collection_ids: Sequence[int]) -> str:
    """SQL: documents (aliased d) in ``collection_ids``."""
    return f"list_contains({[int(c) for c in collection_ids]}, d.collection_id)"


def _embedded(collection_ids: Sequence[int], model_id: int, documents: str) -> str:
    """SQL: the rows of ``documents`` (aliased d) in ``collection_ids`` that have a vector of ``model_id``."""
    return f"""{documents} d SEMI JOIN (SELECT sha256 FROM vectors WHERE model_id = {int(model_id)}) v
               ON v.sha256 = d.sha256 WHERE {_in_view(collection_ids)}"""


def _sample_keys(cur: duckdb.DuckDBPyConnection, collection_ids: Sequence[int], model_id: int, n: int) -> pa.Table:
    """(id, collection_id, sha256) of the ``n`` embedded documents of lowest priority, by id.

    Reads candidates in priority order (a top-n over ``documents``) and keeps the
    embedded ones: a semi-join whose build side is the candidates, so the vectors
    table is probed through its sha256 column only. Candidates grow fourfold while
    too few of them are embedded (a collection embedded out of priority order).
    """
    docs = int(cur.execute(f"SELECT count(*) FROM documents d WHERE {_in_view(collection_ids)}").fetchall()[0][0])
    wanted = max(n, 1)
    while True:
        candidates = f"""(SELECT id, collection_id, sha256, priority FROM documents d
                          WHERE {_in_view(collection_ids)} ORDER BY priority, id LIMIT {wanted})"""
        keys = cur.sql(f"""SELECT d.id, d.collection_id, d.sha256 FROM {_embedded(collection_ids, model_id, candidates)}
                           ORDER BY d.priority, d.id LIMIT {int(n)}""").to_arrow_table()
        if keys.num_rows >= n or wanted >= docs:
            return keys.sort_by("id")
        wanted *= 4


def _categorical(column: pa.ChunkedArray) -> np.ndarray:
    """A string column as numpy strings ("" for null), built from its categories.

    Fixed-width ``<U`` when that stays under :data:`FIXED_WIDTH_LABEL_BYTES`, else
    an object array whose rows share one string per category.
    """
    encoded = pc.dictionary_encode(pc.fill_null(column.combine_chunks().cast(pa.string()), ""))
    categories = np.array(encoded.dictionary.to_pylist(), dtype=str)
    if len(encoded) * categories.dtype.itemsize > FIXED_WIDTH_LABEL_BYTES:
        categories = categories.astype(object)
    return categories[encoded.indices.to_numpy()]


def data_key(model_id: int, doc_ids: np.ndarray) -> str:
    """Fingerprint of an embedding set's rows: changes whenever the rows change."""
    digest = hashlib.sha1(np.asarray(doc_ids, dtype=np.int64).tobytes())
    digest.update(str(model_id).encode())
    return digest.hexdigest()

