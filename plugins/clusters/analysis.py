"""Clusters of the documents on the map, with keywords and geometry (Qt-free).

Levels of nested clusters come from one HDBSCAN hierarchy of the 2-D layout
(:mod:`plugins.clusters.hierarchy`), keywords from class-based TF-IDF of each
level's clusters against the rest (:mod:`plugins.clusters.ctfidf`),
representative documents from cosine to the cluster's centroid in the
embedding space, and per-cluster measures from :mod:`plugins.clusters.measures`.
Deterministic: the same rows, layout and params give the same result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from core.map_annotations import MapLabels
from core.plugin_api import AnalysisData
from core.progress import Progress
from plugins.clusters import ctfidf
from plugins.clusters.hierarchy import cluster_levels, parents
from plugins.clusters.measures import cluster_measures, point_measures

#: keywords kept per cluster; the map label shows the first ``LABEL_WORDS``
KEYWORDS = 5
LABEL_WORDS = 3
REPRESENTATIVES = 3
#: keywords are counted on at most this many documents (a fixed random sample beyond)
KEYWORD_SAMPLE = 30_000
TextLookup = Callable[[np.ndarray], Sequence[str]]


@dataclass(frozen=True)
class ClustersParams:
    """``min_cluster_size`` 0 picks max(10, √n / 2); ``k`` is the kNN list length of N_k and preservation."""

    min_cluster_size: int = 0
    min_samples: int = 10
    max_levels: int = 3
    k: int = 10

    def __post_init__(self) -> None:
        if self.min_cluster_size < 0 or self.min_samples < 1 or self.max_levels < 1 or self.k < 1:
            raise ValueError("min_cluster_size ≥ 0, min_samples ≥ 1, max_levels ≥ 1 and k ≥ 1 are needed")

    def cluster_size_for(self, n: int) -> int:
        return self.min_cluster_size or max(10, int(round(0.5 * np.sqrt(n))))

    @property
    def graph_k(self) -> int:
        return self.k


@dataclass(frozen=True)
class Cluster:
    """One cluster: ``id`` is unique over all levels; ``parent`` is −1 at the top or under noise."""

    id: int
    level: int
    parent: int
    size: int
    keywords: tuple[str, ...]
    representatives: tuple[int, ...]  # rows, most central first
    x: float  # where its label goes: the member nearest the members' median
    y: float
    measures: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return ", ".join(self.keywords[:LABEL_WORDS]) or f"cluster {self.id}"


@dataclass(frozen=True, eq=False)
class ClustersResult:
    """Cluster ids of every row at each level (``assignments[level]``, −1 noise) and the clusters."""

    assignments: np.ndarray  # (levels, n) int64, global cluster ids
    clusters: tuple[Cluster, ...]
    doc_ids: np.ndarray
    status: str = ""

    @property
    def n_levels(self) -> int:
        return int(self.assignments.shape[0])

    def members(self, cluster_id: int) -> np.ndarray:
        """Rows of cluster ``cluster_id``, ascending."""
        level = self.clusters[cluster_id].level
        return np.flatnonzero(self.assignments[level] == cluster_id)

    def names(self, renamed: dict[int, str] | None = None) -> list[str]:
        """Each cluster's display name: the user's, else its keywords."""
        renamed = renamed or {}
        return [renamed.get(c.id, c.label) for c in self.clusters]

    def map_labels(self, renamed: dict[int, str] | None = None) -> MapLabels:
        """Labels for the map: a cluster without a parent is named from the coarsest zoom on, and one
        without children until the finest, so every region keeps a name at every zoom."""
        cl = self.clusters
        has_children = np.zeros(len(cl), dtype=bool)
        has_children[[c.parent for c in cl if c.parent >= 0]] = True
        return MapLabels(
            x=np.array([c.x for c in cl], dtype=np.float64), y=np.array([c.y for c in cl], dtype=np.float64),
            texts=tuple(self.names(renamed)),
            level=np.array([0 if c.parent < 0 else c.level for c in cl], dtype=np.int64),
            priority=np.array([c.size for c in cl], dtype=np.float64), keys=tuple(f"c{c.id}" for c in cl),
            until=np.array([c.level if has_children[c.id] else self.n_levels - 1 for c in cl], dtype=np.int64))

    def table(self, renamed: dict[int, str] | None = None) -> list[dict]:
        """One row per cluster: ids, name, size, keywords, representative doc ids and the measures."""
        names = self.names(renamed)
        return [{"id": c.id, "level": c.level, "parent": c.parent, "name": names[c.id], "size": c.size,
                 "keywords": list(c.keywords),
                 "representative_ids": [int(self.doc_ids[r]) for r in c.representatives], **c.measures}
                for c in self.clusters]

    def assignment_columns(self, renamed: dict[int, str] | None = None) -> dict[str, np.ndarray]:
        """Per document: its cluster id and name at each level ("" and −1 for noise)."""
        names = np.array([*self.names(renamed), ""], dtype=object)
        columns: dict[str, np.ndarray] = {"doc_id": self.doc_ids}
        for level, ids in enumerate(self.assignments):
            columns[f"cluster_level{level}"] = ids
            columns[f"name_level{level}"] = names[ids]  # −1 indexes the trailing ""
        return columns


def compute(data: AnalysisData, params: ClustersParams, progress: Progress) -> ClustersResult:
    """Cluster the map layout ``data.coords``; an empty result says why when there is none yet."""
    n = data.n
    if data.coords is None or len(data.coords) != n:
        return ClustersResult(np.empty((0, n), np.int64), (), data.doc_ids, "Waiting for the map layout…")
    progress(0, 4, "clusters: hierarchy")
    levels = cluster_levels(data.coords, params.cluster_size_for(n), params.min_samples, params.max_levels)
    if not levels.labels:
        return ClustersResult(np.empty((0, n), np.int64), (), data.doc_ids, "Too few points for clusters.")
    progress.check()
    offsets = np.cumsum([0, *(int(lab.max()) + 1 for lab in levels.labels)])
    assignments = np.stack([np.where(lab >= 0, lab + off, -1) for lab, off in zip(levels.labels, offsets)])
    parent_of = np.full(offsets[-1], -1, dtype=np.int64)
    for level in range(1, len(levels.labels)):
        up = parents(levels.labels[level], levels.labels[level - 1])
        parent_of[offsets[level]:offsets[level + 1]] = np.where(up >= 0, up + offsets[level - 1], -1)
    progress(1, 4, "clusters: keywords")
    keywords = _keywords(data, levels.labels)
    progress.check()
    progress(2, 4, "clusters: measures")
    points = point_measures(data.vectors, data.knn, data.coords, params.k)
    clusters = []
    for cid in range(offsets[-1]):
        level = int(np.searchsorted(offsets, cid, side="right") - 1)
        rows = np.flatnonzero(assignments[level] == cid)
        x, y = _anchor(data.coords[rows])
        clusters.append(Cluster(cid, level, int(parent_of[cid]), int(rows.size), keywords[cid],
                                _representatives(points.unit, rows), x, y,
                                cluster_measures(points, data.vectors, rows, random_state=cid)))
        progress.check()
    progress(4, 4, "clusters: done")
    n_noise = int(np.sum(assignments[-1] < 0))
    status = f"{len(clusters)} clusters on {len(levels.labels)} levels; {n_noise:,} noise points at the finest"
    return ClustersResult(assignments, tuple(clusters), data.doc_ids, status)


def _keywords(data: AnalysisData, levels: tuple[np.ndarray, ...]) -> list[tuple[str, ...]]:
    """c-TF-IDF keywords of every cluster of every level, in global id order (empty without texts)."""
    lookup: TextLookup | None = data.extras.get("texts")
    total = sum(int(lab.max()) + 1 for lab in levels)
    if lookup is None:
        return [()] * total
    rows = np.arange(data.n)
    if data.n > KEYWORD_SAMPLE:  # a fixed random sample: word counts settle long before every text is read
        rows = np.sort(np.random.default_rng(0).choice(data.n, KEYWORD_SAMPLE, replace=False))
    counts, terms = ctfidf.term_counts(list(lookup(data.doc_ids[rows])))
    out: list[tuple[str, ...]] = []
    for labels in levels:
        k = int(labels.max()) + 1
        labels = labels[rows]
        weights = ctfidf.c_tf_idf(ctfidf.class_counts(counts, np.where(labels >= 0, labels, k), k + 1))
        out += [tuple(ctfidf.top_terms(weights, terms, c, KEYWORDS)) for c in range(k)]
    return out


def _anchor(xy: np.ndarray) -> tuple[float, float]:
    """The member nearest the members' coordinate-wise median (always on a point of the cluster)."""
    median = np.median(xy, axis=0)
    nearest = int(np.argmin(((xy - median) ** 2).sum(axis=1)))
    return float(xy[nearest, 0]), float(xy[nearest, 1])


def _representatives(unit: np.ndarray, rows: np.ndarray) -> tuple[int, ...]:
    """The ``REPRESENTATIVES`` rows with the highest cosine to the cluster's mean direction (ties by row)."""
    centroid = unit[rows].mean(axis=0)
    scores = unit[rows] @ centroid
    order = np.lexsort((rows, -scores))[:REPRESENTATIVES]
    return tuple(int(r) for r in rows[order])

