"""Names users give clusters, kept across recomputes, and the clusters' export (Qt-free).

Cluster ids change whenever the layout does, so a name is stored with the
documents of the cluster it was given to (doc ids, which are stable in a
workspace) and its level. After a recompute a stored name goes to the cluster
of the same level with the largest Jaccard overlap, if that is ≥ ``MIN_JACCARD``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.export import write_table
from plugins.clusters.analysis import ClustersResult

SHELF_NAME = "clusters.names"
MIN_JACCARD = 0.5


def names_to_arrays(result: ClustersResult, renamed: dict[int, str], kept: dict[str, np.ndarray] | None = None
                    ) -> dict[str, np.ndarray]:
    """``renamed`` (cluster id -> name) of ``result`` as arrays, merged with names ``kept`` earlier
    (the latter win only for clusters not in this result)."""
    entries = list(_entries(kept)) if kept else []
    entries = [e for e in entries if _match(result, e[0], e[1]) not in renamed]
    for cid, name in renamed.items():
        entries.append((result.clusters[cid].level, result.doc_ids[result.members(cid)], name))
    ids = [e[1] for e in entries]
    return {"levels": np.array([e[0] for e in entries], dtype=np.int64),
            "names": np.array([e[2] for e in entries], dtype=np.str_),
            "offsets": np.cumsum([0, *(len(i) for i in ids)]).astype(np.int64),
            "doc_ids": np.concatenate(ids).astype(np.int64) if ids else np.empty(0, np.int64)}


def names_from_arrays(result: ClustersResult, arrays: dict[str, np.ndarray] | None) -> dict[int, str]:
    """The stored names that find their cluster in ``result`` (cluster id -> name)."""
    out: dict[int, str] = {}
    for level, doc_ids, name in _entries(arrays) if arrays else ():
        cid = _match(result, level, doc_ids)
        if cid is not None:
            out[cid] = name
    return out


def _entries(arrays: dict[str, np.ndarray]):
    offsets = arrays["offsets"]
    for i, (level, name) in enumerate(zip(arrays["levels"], arrays["names"])):
        yield int(level), arrays["doc_ids"][offsets[i]:offsets[i + 1]], str(name)


def _match(result: ClustersResult, level: int, doc_ids: np.ndarray) -> int | None:
    """The cluster of ``level`` whose documents overlap ``doc_ids`` best, if Jaccard ≥ MIN_JACCARD."""
    if level >= result.n_levels or doc_ids.size == 0:
        return None
    ids = result.assignments[level][np.isin(result.doc_ids, doc_ids)]
    ids = ids[ids >= 0]
    if ids.size == 0:
        return None
    best = int(np.bincount(ids).argmax())
    shared = int(np.sum(ids == best))
    union = result.clusters[best].size + doc_ids.size - shared
    return best if shared / union >= MIN_JACCARD else None


def export_clusters(result: ClustersResult, path: str | Path, renamed: dict[int, str]) -> tuple[Path, Path]:
    """Write per-document assignments to ``path`` and the clusters (labels, measures) beside it
    as ``<stem>_clusters<suffix>``; the suffix (.csv, .parquet, .jsonl) picks the format."""
    path = Path(path)
    table = result.table(renamed)
    columns = {name: [row[name] for row in table] for name in (table[0] if table else {})}
    for name in ("keywords", "representative_ids"):
        if name in columns:
            columns[name] = ["; ".join(map(str, value)) for value in columns[name]]
    labels = write_table(path.with_name(f"{path.stem}_clusters{path.suffix}"), columns)
    return write_table(path, result.assignment_columns(renamed)), labels
