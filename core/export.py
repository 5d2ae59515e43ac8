"""Qt-free writers for exported data: tables (CSV/Parquet/JSONL) and manifests.

CSV cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, e.g. ``=HYPERLINK(…)``) are written with a
leading ``'``, as OWASP advises against CSV injection; Parquet and JSONL keep the exact
text. A manifest records what produced an export (app and library versions, date,
and caller facts such as model, parameters and row counts) so a figure or a
table can be traced back and reproduced.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from core.versions import package_versions

TABLE_SUFFIXES = (".csv", ".parquet", ".jsonl")
#: First characters that make a spreadsheet treat a CSV cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NOT_INSTALLED = "not installed"  # what core.versions reports for a missing package

Columns = Mapping[str, "np.ndarray | Sequence[Any]"]


def write_table(path: str | Path, columns: Columns) -> Path:
    """Write equal-length columns to ``path``; the suffix picks the format.

    Parameters
    ----------
    path : str or Path
        Ends in ``.csv``, ``.parquet`` or ``.jsonl``.
    columns : mapping of name -> array or list
        One entry per column, all the same length.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"cannot write a table as {suffix or 'a file without suffix'!r}: "
                         f"use one of {', '.join(TABLE_SUFFIXES)}")
    names = list(columns)
    values = [_plain_list(columns[name]) for name in names]
    lengths = {len(v) for v in values}
    if len(lengths) > 1:
        raise ValueError(f"columns differ in length: {dict(zip(names, map(len, values)))}")
    n_rows = lengths.pop() if lengths else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(dict(zip(names, values))), path)
    elif suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([csv_safe(name) for name in names])
            writer.writerows([csv_safe(v) for v in row] for row in (zip(*values) if names else []))
    else:
        with path.open("w", encoding="utf-8") as handle:
            for i in range(n_rows):
                handle.write(json.dumps({k: v[i] for k, v in zip(names, values)}, ensure_ascii=False) + "\n")
    return path


def csv_safe(value: Any) -> Any:
    """``value``, with a ``'`` in front when it is text a spreadsheet would run as a formula.

    Numbers stay numbers (a negative number is not text); only strings are changed.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_manifest(path: str | Path, info: Mapping[str, Any]) -> Path:
    """Write a JSON manifest: app version, library versions, ISO date, plus ``info``."""
    path = Path(path)
    manifest: dict[str, Any] = {
        "app": "embedding-explorer",
        "app_version": app_version(),
        "created": _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "libraries": library_versions(),
    }
    manifest.update(info)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2, default=_json_default, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def safe_output_path(folder: str | Path, name: str) -> Path:
    """``folder / name``, refusing names that would land outside ``folder``."""
    if not name or name in (".", ".."):
        raise ValueError(f"invalid output name {name!r}")
    base = Path(folder).resolve()
    target = (base / name).resolve()
    if Path(name).is_absolute() or not target.is_relative_to(base) or target == base:
        raise ValueError(f"output name {name!r} escapes the folder {str(base)!r}")
    return target


def app_version() -> str:
    """Installed version of the app, else the one in the source tree's pyproject."""
    installed = package_versions().get("embedding-explorer", NOT_INSTALLED)
    if installed != NOT_INSTALLED:
        return installed
    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def library_versions() -> dict[str, str]:
    """Installed libraries that shape results; torch only when it was loaded."""
    return {name: ver for name, ver in package_versions().items()
            if ver != NOT_INSTALLED and name != "embedding-explorer" and (name != "torch" or "torch" in sys.modules)}


def _plain_list(column: Any) -> list[Any]:
    """A column as a list of plain Python values (NaN becomes None: empty in CSV, null in JSON)."""
    values = np.asarray(column).tolist() if isinstance(column, np.ndarray) else list(column)
    return [_plain_value(v) for v in values]


def _plain_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, _dt.date)):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
