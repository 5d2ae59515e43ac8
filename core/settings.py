"""User settings: one versioned JSON file, read leniently, written atomically.

A settings file must never stop the app: unknown keys are ignored, a bad value
falls back to its default and a corrupt file to all defaults (each with a
warning). Older files are brought up to date by ordered migrations, like the
workspace schema: ``MIGRATIONS[i]`` takes a dict from version ``i + 1`` to
``i + 2``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.duplicates import DEFAULT_POLICY, POLICIES
from core.encoder import AUTO_BATCH, CPU_BATCH_SIZE, DEFAULT_MODEL
from core.plugin_api import params_from_fields

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "mps")
THEMES = ("system", "light", "dark")
MAX_RECENT = 8
#: rows a view loads at most; above it a random sample of this many (memory and every view scale with it)
DEFAULT_SAMPLE_LIMIT = 1_000_000


@dataclass(frozen=True)
class Settings:
    """Everything the app remembers between starts (window layout stays in QSettings)."""

    version: int = 3
    default_model: str = DEFAULT_MODEL
    batch_size: int = AUTO_BATCH  # texts per model call; 0: by device (core.encoder.batch_size_for)
    device: str = "auto"
    knn_k: int = 10
    umap_n_neighbors: int = 15
    umap_min_dist: float = 0.1
    sample_limit: int = DEFAULT_SAMPLE_LIMIT
    theme: str = "system"
    #: exact duplicate texts: "fold" (measures on distinct texts) or "keep" (every row a point)
    duplicates: str = DEFAULT_POLICY
    recent_workspaces: tuple[str, ...] = ()
    #: plugin id -> the fields of its params dataclass, as JSON values
    plugin_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    allow_download: bool = False
    trust_remote_code: bool = False
    welcome_dismissed: bool = False


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 kept UMAP defaults in a nested object and used short names."""
    out = dict(raw)
    renames = {"model": "default_model", "k": "knn_k", "recent": "recent_workspaces"}
    for old, new in renames.items():
        if old in out:
            out[new] = out.pop(old)
    umap = out.pop("umap", None)
    if isinstance(umap, dict):
        out["umap_n_neighbors"] = umap.get("n_neighbors", Settings.umap_n_neighbors)
        out["umap_min_dist"] = umap.get("min_dist", Settings.umap_min_dist)
    out.setdefault("plugin_params", {})
    return out


def _v2_to_v3(raw: dict[str, Any]) -> dict[str, Any]:
    """v3 adds an automatic batch size; v2's default (32, slow on a GPU) becomes automatic."""
    out = dict(raw)
    if out.get("batch_size") == CPU_BATCH_SIZE:
        out["batch_size"] = AUTO_BATCH
    return out


MIGRATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [_v1_to_v2, _v2_to_v3]
SETTINGS_VERSION = 1 + len(MIGRATIONS)


def _check_int(lo: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= lo


_VALID: dict[str, Callable[[Any], bool]] = {
    "default_model": lambda v: isinstance(v, str) and bool(v.strip()),
    "batch_size": _check_int(AUTO_BATCH),
    "device": lambda v: v in DEVICES,
    "knn_k": _check_int(1),
    "umap_n_neighbors": _check_int(2),
    "umap_min_dist": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0,
    "sample_limit": _check_int(1),
    "theme": lambda v: v in THEMES,
    "duplicates": lambda v: v in POLICIES,
    "recent_workspaces": lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v),
    "plugin_params": lambda v: isinstance(v, dict) and all(isinstance(p, dict) for p in v.values()),
    "allow_download": lambda v: isinstance(v, bool),
    "trust_remote_code": lambda v: isinstance(v, bool),
    "welcome_dismissed": lambda v: isinstance(v, bool),
}


def from_dict(raw: dict[str, Any]) -> tuple[Settings, list[str]]:
    """Settings from a parsed file of any known version, and what was wrong with it."""
    problems: list[str] = []
    version = raw.get("version", 1)
    if not isinstance(version, int) or version < 1:
        problems.append(f"unknown settings version {version!r}; read as version 1")
        version = 1
    if version > SETTINGS_VERSION:
        problems.append(f"settings version {version} is newer than this app's {SETTINGS_VERSION}; known keys kept")
    for migrate in MIGRATIONS[version - 1 :]:
        raw = migrate(raw)
    values: dict[str, Any] = {}
    for name, valid in _VALID.items():
        if name not in raw:
            continue
        if valid(raw[name]):
            values[name] = raw[name]
        else:
            problems.append(f"{name}={raw[name]!r} is not valid; using the default")
    if "recent_workspaces" in values:
        values["recent_workspaces"] = tuple(values["recent_workspaces"][:MAX_RECENT])
    if "umap_min_dist" in values:
        values["umap_min_dist"] = float(values["umap_min_dist"])
    return Settings(version=SETTINGS_VERSION, **values), problems


def to_dict(settings: Settings) -> dict[str, Any]:
    """The JSON form of ``settings`` (always the current version)."""
    out = dataclasses.asdict(settings)
    out["version"] = SETTINGS_VERSION
    out["recent_workspaces"] = list(settings.recent_workspaces)
    return out


def load_settings(path: str | Path) -> tuple[Settings, list[str]]:
    """Read ``path``; a missing file gives defaults, an unreadable one defaults and a warning."""
    path = Path(path)
    if not path.exists():
        return Settings(), []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("the file does not hold a JSON object")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        problem = f"{path.name} could not be read ({exc}); using the default settings"
        log.warning(problem)
        return Settings(), [problem]
    settings, problems = from_dict(raw)
    for problem in problems:
        log.warning("%s: %s", path.name, problem)
    return settings, problems


def save_settings(settings: Settings, path: str | Path) -> None:
    """Write atomically (a crash mid-write leaves the previous file intact)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(to_dict(settings), indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


def with_recent(settings: Settings, workspace: str | Path) -> Settings:
    """``workspace`` first in the recent list, without duplicates, at most ``MAX_RECENT``."""
    path = str(Path(workspace).expanduser().resolve())
    recent = (path, *(p for p in settings.recent_workspaces if p != path))
    return dataclasses.replace(settings, recent_workspaces=recent[:MAX_RECENT])


def with_plugin_params(settings: Settings, plugin_id: str, params: Any) -> Settings:
    """Remember a plugin's params (a dataclass); fields that JSON cannot hold are left out."""
    fields = {}
    for name, value in dataclasses.asdict(params).items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        fields[name] = value
    return dataclasses.replace(settings, plugin_params={**settings.plugin_params, plugin_id: fields})


def settings_overrides(settings: Settings) -> dict[str, dict[str, Any]]:
    """Plugin params fields that the Settings dialog owns (they win over a plugin's saved params)."""
    return {
        "neighbours": {"k": settings.knn_k},
        "map": {"n_neighbors": settings.umap_n_neighbors, "min_dist": settings.umap_min_dist},
    }


def restore_params(params_type: type, saved: dict[str, Any], overrides: dict[str, Any]) -> Any:
    """``params_type`` built from saved fields and overrides; a value that does not fit its
    field (type or the params' own checks) gets the default, with a warning."""
    params, problems = params_from_fields(params_type, {**saved, **overrides})
    for problem in problems:
        log.warning("saved view settings: %s; using the default", problem)
    return params


def without_rejected(settings: Settings, plugin_id: str, params: Any) -> Settings:
    """``settings`` keeping only the saved fields of ``plugin_id`` that ``params`` took, so a
    value that was refused at load is not saved back."""
    saved = settings.plugin_params.get(plugin_id)
    if not saved:
        return settings
    taken = dataclasses.asdict(params)
    kept = {name: value for name, value in saved.items() if name in taken and taken[name] == value}
    if kept == saved:
        return settings
    return dataclasses.replace(settings, plugin_params={**settings.plugin_params, plugin_id: kept})
