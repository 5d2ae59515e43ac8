"""Opening a workspace file: the DuckDB connection, its schema upgrades, and the
errors that say, in words a user can act on, why a file cannot be opened.

:class:`core.store.Store` is the only caller of :func:`open_workspace`; everything
else reads and writes through the store.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import duckdb

from core.schema import MIGRATIONS, SCHEMA_VERSION


class WorkspaceError(Exception):
    """A workspace cannot be opened or used; the message says why and what to do."""


class WorkspaceLockedError(WorkspaceError):
    """Another process has the workspace open for writing."""


class WorkspaceTooNewError(WorkspaceError):
    """The workspace was written by a newer version of the app."""


class WorkspaceCorruptError(WorkspaceError):
    """The file is not a workspace, or it is damaged or truncated."""


class WorkspaceReadOnlyError(WorkspaceError):
    """The file (or its folder) cannot be written by this user."""


class WorkspaceForeignError(WorkspaceError):
    """The file is a DuckDB database with tables of its own and no workspace."""


class WorkspaceFullError(WorkspaceError):
    """The disk holding the workspace is full; what was committed before is kept."""


#: Rows per DuckDB row group. With DuckDB's default (122,880) every automatic checkpoint
#: rewrites the last, still-growing row group: importing a 300 MB text file peaked at
#: +590 MB RSS in 13 s; with 8,192 rows it peaks at +190 MB in 8 s.
ROW_GROUP_ROWS = 8192
#: The name the workspace file is attached under (the connection's default catalog).
CATALOG = "workspace"
#: DuckDB's file header (three 4 KiB blocks) before the data blocks.
_HEADER_BYTES = 3 * 4096
_WAY_OUT = "Restore it from a backup (a .bak file beside it, if any), choose another file or create a new workspace."


def open_workspace(path: Path, read_only: bool, adopt: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the workspace at ``path`` (created if missing, unless ``read_only``),
    checked for truncation, upgraded to the current schema and checked against it; raises a
    :class:`WorkspaceError`. A DuckDB database that holds tables but no workspace is refused
    unless ``adopt`` (then it is backed up and the workspace tables are added beside its own)."""
    if not read_only:
        _make_folder(path)
    existed = path.exists() and path.stat().st_size > 0
    clean = not path.with_name(path.name + ".wal").exists()
    if read_only and not existed:
        raise WorkspaceError(f"{path.name} does not exist (or is empty), so it cannot be opened read-only.")
    try:
        con = _connect(path, read_only)
    except (duckdb.Error, OSError) as exc:
        raise _explain_open_error(path, exc) from exc
    try:
        if clean:
            _check_complete(con, path)
        _migrate(con, path, read_only, backup=existed, adopt=adopt)
        _check_schema(con, path)
    except WorkspaceError:
        con.close()
        raise
    except duckdb.Error as exc:
        con.close()
        raise _explain_open_error(path, exc) from exc
    return con


def schema_version(con: duckdb.DuckDBPyConnection, name: str = "The workspace") -> int:
    """The workspace format the file holds (0: a new, empty file); a value that is not a
    number raises :class:`WorkspaceCorruptError` (``name`` says whose, in the message)."""
    if "meta" not in _tables(con):
        return 0
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    if not rows:
        return 0
    try:
        return int(rows[0][0])
    except (TypeError, ValueError):
        raise WorkspaceCorruptError(
            f"{name} is damaged: its format number (schema_version) is {rows[0][0]!r}, not a number. "
            f"{_WAY_OUT}") from None


def read_only_copy(path: str | Path) -> Path:
    """Copy a workspace (with its write-ahead log) into a new temporary folder; returns the copy's path.

    Opening the copy with ``Store.open(copy, read_only=True)`` works while another
    process holds the original, and never changes the original.
    """
    path = Path(path).expanduser()
    folder = Path(tempfile.mkdtemp(prefix="embedding-explorer-copy-"))
    target = folder / path.name
    try:
        shutil.copyfile(path, target)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise WorkspaceError(f"Could not copy {path.name} ({exc.strerror or exc}).") from exc
    return target


def sql_string(text: str | Path) -> str:
    """``text`` as a quoted SQL string literal (for statements that take no parameters, like ATTACH)."""
    return "'" + str(text).replace("'", "''") + "'"


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection with the workspace attached as the default catalog (so the row group size can be set)."""
    con = duckdb.connect(config={"temp_directory": f"{path}.tmp"})
    try:
        options = f"ROW_GROUP_SIZE {ROW_GROUP_ROWS}" + (", READ_ONLY" if read_only else "")
        con.execute(f"ATTACH {sql_string(path)} AS {CATALOG} ({options})")
        con.execute(f"USE {CATALOG}")
    except BaseException:
        con.close()
        raise
    return con


def _make_folder(path: Path) -> None:
    """Create the workspace's folder; a file where a folder must be is refused with a message."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (path.parent, *path.parent.parents) if p.exists() and not p.is_dir()), path.parent)
        raise WorkspaceError(f"{path.name} cannot be created: {blocker} is a file, not a folder. "
                             "Choose a workspace path in a folder.") from None
    except PermissionError:
        raise WorkspaceReadOnlyError(f"{path.name} cannot be created: no permission to create its folder "
                                     f"{path.parent}. Choose a folder you can write to.") from None


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the tables and views in the workspace file."""
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = ? ORDER BY 1",
                       [CATALOG]).fetchall()
    return [r[0] for r in rows]


def _check_complete(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a file too short to hold the blocks in use (cut off by a copy or a full disk).

    Each used block has its own slot in the file, so an intact file is at least that long.
    Only meaningful for a cleanly closed file: replaying a write-ahead log adds blocks in memory.
    """
    rows = con.execute(
        "SELECT used_blocks, block_size FROM pragma_database_size() WHERE database_name = ?", [CATALOG]
    ).fetchall()
    if not rows or not path.exists():
        return
    blocks, block_size = rows[0]
    expected = _HEADER_BYTES + int(blocks) * int(block_size)
    size = path.stat().st_size
    if size < expected:
        raise WorkspaceCorruptError(
            f"{path.name} is truncated: it holds {size:,} bytes but needs at least {expected:,}. It was probably cut "
            f"off while being copied or when the disk was full. {_WAY_OUT}"
        )


def _migrate(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool, backup: bool, adopt: bool) -> None:
    """Upgrade the schema one version at a time, each in a transaction; an existing file is
    first copied to ``<name>.v<old version>.bak``. A database with tables of its own and no
    workspace is refused unless ``adopt``."""
    version = schema_version(con, path.name)
    foreign = _tables(con) if version == 0 else []
    if foreign and not adopt:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise WorkspaceForeignError(
            f"{path.name} is a DuckDB database but not an Embedding Explorer workspace (it holds: {shown}). "
            "Nothing was changed. Choose another file or create a new workspace; to add the workspace's tables "
            "beside its own, run `embedding-explorer ingest … --adopt-database` (a backup copy is written first)."
        )
    if version > SCHEMA_VERSION:
        raise WorkspaceTooNewError(
            f"{path.name} uses workspace format {version}; this app reads up to {SCHEMA_VERSION}. "
            "Update Embedding Explorer to open it."
        )
    if version == SCHEMA_VERSION:
        return
    if read_only:
        raise WorkspaceError(f"{path.name} needs an upgrade, which a read-only workspace cannot take.")
    if backup and (version > 0 or foreign):
        con.execute("CHECKPOINT")
        shutil.copy2(path, path.with_name(f"{path.name}.v{version}.bak"))
    for target in range(version, SCHEMA_VERSION):
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in MIGRATIONS[target]:
                con.execute(statement)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target + 1)])
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WorkspaceCorruptError(f"{path.name} could not be upgraded to workspace format {target + 1} "
                                        f"({exc}); it was left as it was. {_WAY_OUT}") from exc
        con.execute("COMMIT")


@lru_cache(maxsize=1)
def _expected_columns() -> dict[str, dict[str, str]]:
    """table -> column -> type of a workspace of the current format (built in memory once)."""
    con = duckdb.connect()
    try:
        for statements in MIGRATIONS:
            for statement in statements:
                con.execute(statement)
        return _columns(con, "memory")
    finally:
        con.close()


def _columns(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, dict[str, str]]:
    rows = con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                       "WHERE table_catalog = ? ORDER BY table_name, ordinal_position", [catalog]).fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        out.setdefault(table, {})[column] = kind
    return out


def _check_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a workspace whose tables or columns are not the ones its format promises
    (a table dropped, a column of another type): a clear message now, not a failing query later."""
    found = _columns(con, CATALOG)
    for table, columns in _expected_columns().items():
        if table not in found:
            raise WorkspaceCorruptError(f"{path.name} is damaged: its table {table!r} is missing. {_WAY_OUT}")
        for column, kind in columns.items():
            have = found[table].get(column)
            if have != kind:
                what = "is missing" if have is None else f"holds {have}, not {kind}"
                raise WorkspaceCorruptError(f"{path.name} is damaged: column {table}.{column} {what}. {_WAY_OUT}")


def _explain_open_error(path: Path, exc: Exception) -> WorkspaceError:
    text = str(exc)
    lower = text.lower()
    if re.search(r"\block\b", lower) or "already attached" in lower:  # "lock", never "block"
        return WorkspaceLockedError(
            f"The workspace {path.name} is open in another Embedding Explorer window or process. "
            "Close it there, open a read-only copy, or choose another workspace."
        )
    if "permission denied" in lower or "read-only file system" in lower:
        return WorkspaceReadOnlyError(
            f"{path.name} cannot be written here (permission denied on the file or its folder). "
            "Open a read-only copy, or copy the file to a folder you can write to."
        )
    if "newer" in lower or "version" in lower and "storage" in lower:
        return WorkspaceTooNewError(f"{path.name} was written by a newer DuckDB; update the app to open it.")
    return WorkspaceCorruptError(
        f"{path.name} is not a readable workspace ({type(exc).__name__}: {text.splitlines()[0][:200]}). "
        "It may be corrupt or truncated; choose another file or create a new workspace."
    )
