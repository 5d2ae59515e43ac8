"""Compare two embedding spaces of the same documents, and collections within one space (Qt-free).

The other spaces come from ``data.extras["spaces"]`` ({model name: float32 matrix
aligned with the rows, NaN where a document has no vector there}, loaded by the
session); only documents present in both spaces count. For the pair: linear
CKA, per-document kNN overlap, hubness and anisotropy of both spaces, and the
two maps aligned by Procrustes. Within the current space, when two or more
collections are in view: centroid cosines, neighbour mixing, and hubness and
anisotropy per collection.

The result is not cached by the host: it embeds the live map layout
(``data.coords``), which is not part of the cache key. The costly pieces (kNN
graphs, CKA, layouts) are kept instead in ``extras["space_cache"]`` (a
:class:`core.compare.SpaceCache`; graphs in the workspace) when the session
provides one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import numpy as np

from core.compare import (
    SpaceCache,
    centroid_cosines,
    collection_codes,
    knn_overlap,
    linear_cka,
    neighbour_shares,
    procrustes_align,
    random_mixing,
)
from core.anisotropy import effective_rank, isoscore, mean_pair_cosine, pca_spectrum
from core.duplicates import DistinctRows, distinct_rows
from core.hubness import HubnessMeasures, hubness_measures
from core.knn import build_knn, usable_graph
from core.plugin_api import DISPLAY_ONLY, AnalysisData, KnnGraph
from core.progress import Progress
from core.projection import UMAP_DEFAULTS, pca_project, umap_knn
from core.store import data_key

T = TypeVar("T")
LAYOUTS = ("auto", "pca", "umap")
OVERLAYS = ("overlap", "collection")
UMAP_MAX_ROWS = 20_000
NO_OTHER_SPACE = ("Only one embedding space in view. Embed these collections with a second model "
                  "or import vectors for them, and the two spaces are compared here.")


@dataclass(frozen=True)
class CompareParams:
    """Which other space, how many neighbours, how the maps are coloured and laid out.

    ``other``: a model name ("" = the first other space available).
    ``layout``: the other space's 2-D layout — "pca" (instant), "umap" (up to
    ``UMAP_MAX_ROWS`` documents) or "auto" (UMAP when the current map is a
    finished layout and the documents are few enough, else PCA).
    """

    other: str = ""
    k: int = 10
    map_overlay: str = field(default="overlap", metadata=DISPLAY_ONLY)
    layout: str = "auto"

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        if self.map_overlay not in OVERLAYS:
            raise ValueError(f"map_overlay must be one of {OVERLAYS}, got {self.map_overlay!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")

    @property
    def graph_k(self) -> int:
        return self.k


@dataclass(frozen=True)
class SpaceMeasures:
    """Hubness at k and three anisotropy scores of one space (as the other panels define them)."""

    hubness: HubnessMeasures
    mean_cosine: float
    isoscore: float
    effective_rank: float

    def as_dict(self) -> dict[str, dict[str, float | int]]:
        return {
            "hubness": self.hubness.as_dict(),
            "anisotropy": {"mean_cosine": self.mean_cosine, "isoscore": self.isoscore,
                           "effective_rank": self.effective_rank},
        }


def space_measures(vectors: np.ndarray, graph: KnnGraph, k: int) -> SpaceMeasures:
    """Hubness of the first k columns of ``graph`` (Radovanović et al. 2010), mean
    pair cosine (Ethayarajh 2019), IsoScore (Rudman et al. 2022) and effective rank
    of the PCA spectrum (Roy & Vetterli 2007)."""
    return SpaceMeasures(
        hubness=hubness_measures(graph, k),
        mean_cosine=mean_pair_cosine(vectors),
        isoscore=isoscore(vectors),
        effective_rank=effective_rank(np.sqrt(pca_spectrum(vectors))),
    )


@dataclass(frozen=True, eq=False)
class SpacePair:
    """The current space (a) against another (b) on the ``rows`` present in both.

    ``overlap``, ``knn_a``, ``knn_b``, ``coords_a`` and ``coords_b`` align with
    ``rows``; neighbour lists hold row numbers of the view (not positions in
    ``rows``). ``coords_b`` is Procrustes-aligned onto ``coords_a``.
    """

    name_a: str
    name_b: str
    k: int
    n_total: int
    rows: np.ndarray
    cka: float
    overlap: np.ndarray
    knn_a: np.ndarray
    knn_b: np.ndarray
    measures_a: SpaceMeasures
    measures_b: SpaceMeasures
    coords_a: np.ndarray
    coords_b: np.ndarray
    layout_a: str
    layout_b: str
    disparity: float
    #: the duplicate policy's grouping when copies were folded (``rows`` then holds one row per text)
    distinct: DistinctRows | None = None

    @property
    def n(self) -> int:
        return int(self.rows.size)

    @property
    def overlap_mean(self) -> float:
        return float(self.overlap.mean()) if self.overlap.size else float("nan")

    def overlap_by_row(self) -> np.ndarray:
        """Overlap for every row of the view (NaN where a row is missing from b)."""
        out = np.full(self.n_total, np.nan, dtype=np.float32)
        out[self.rows] = self.overlap
        return out if self.distinct is None else self.distinct.expand(out[self.distinct.first])  # copies share it

    def most_changed(self, count: int) -> np.ndarray:
        """Positions (into ``rows``) of the ``count`` lowest overlaps, lowest first, ties by row."""
        return np.lexsort((self.rows, self.overlap))[:count]


@dataclass(frozen=True, eq=False)
class CollectionMix:
    """Collections of the current space against each other (ascending collection ids).

    ``shares[i, j]``: share of collection i's kNN entries in collection j;
    ``measures[i]`` is None for a collection with k + 1 documents or fewer.
    """

    ids: np.ndarray
    names: tuple[str, ...]
    sizes: np.ndarray
    k: int
    centroid_cosine: np.ndarray
    shares: np.ndarray
    expected_mixing: np.ndarray
    measures: tuple[SpaceMeasures | None, ...]

    @property
    def mixing(self) -> np.ndarray:
        """Share of each collection's neighbours that come from other collections."""
        return 1.0 - np.diag(self.shares)


@dataclass(frozen=True, eq=False)
class CompareResult:
    """Everything the compare panel shows; ``note`` explains a missing part."""

    current: str
    available: tuple[str, ...]
    n_rows: int
    pair: SpacePair | None = None
    collections: CollectionMix | None = None
    note: str = ""


def _memo(cache: SpaceCache | None, key: Any, make: Callable[[], T]) -> T:
    return make() if cache is None or key is None else cache.memo(key, make)


def _graph(cache: SpaceCache | None, key: str | None, vectors: np.ndarray, k: int, progress: Progress) -> KnnGraph:
    k = min(k, len(vectors) - 1)
    if cache is None or key is None:
        return build_knn(vectors, k, "cosine", progress=progress)
    return cache.graph(key, vectors, k, progress)


class _Keys:
    """Cache fingerprints of row subsets per space (None without model ids)."""

    def __init__(self, data: AnalysisData) -> None:
        self.doc_ids = data.doc_ids
        self.model_ids: dict[str, int] = data.extras.get("space_model_ids") or {}

    def __call__(self, name: str, rows: np.ndarray) -> str | None:
        model_id = self.model_ids.get(name)
        return None if model_id is None else data_key(model_id, self.doc_ids[rows])


def _other_layout(
    xb: np.ndarray, graph_b: KnnGraph | None, use_umap: bool, progress: Progress
) -> tuple[np.ndarray, str]:
    if not use_umap or graph_b is None:
        return pca_project(xb), "PCA (first two principal components)"
    from core import umap_process

    indices, dists = umap_knn(graph_b, UMAP_DEFAULTS["n_neighbors"])
    progress(5, 6, f"UMAP layout of {len(xb):,} documents…")
    return umap_process.run_umap(xb, indices, dists, None, UMAP_DEFAULTS, progress=progress), "UMAP"


def compare_pair(
    data: AnalysisData, name_b: str, params: CompareParams, progress: Progress, keys: _Keys | None = None
) -> SpacePair:
    """The current space against ``extras["spaces"][name_b]`` on the rows both have."""
    extras = data.extras
    cache: SpaceCache | None = extras.get("space_cache")
    keys = keys or _Keys(data)
    name_a = extras.get("model_name", "current space")
    other = np.asarray(extras["spaces"][name_b])
    distinct = distinct_rows(data)  # the duplicate policy: one row per distinct text when folded
    rows = np.flatnonzero(np.isfinite(other).all(axis=1) & np.isin(np.arange(data.n), distinct.first))
    k = min(params.k, rows.size - 1)
    xa, xb = np.ascontiguousarray(data.vectors[rows]), np.ascontiguousarray(other[rows])
    key_a, key_b = keys(name_a, rows), keys(name_b, rows)
    map_a = None
    if data.coords is not None and np.isfinite(data.coords[rows]).all():
        map_a = np.asarray(data.coords[rows], dtype=np.float32)
    n_neighbors = UMAP_DEFAULTS["n_neighbors"]
    use_umap = rows.size <= UMAP_MAX_ROWS and rows.size > n_neighbors and (
        params.layout == "umap" or (params.layout == "auto" and map_a is not None))
    graph_k = max(k, n_neighbors - 1) if use_umap else k
    progress(0, 6, f"Neighbours in {name_a}…")
    shared = usable_graph(data.knn, k) if rows.size == data.n else None
    graph_a = shared or _graph(cache, key_a, xa, k, progress)
    progress(1, 6, f"Neighbours in {name_b}…")
    graph_b = _graph(cache, key_b, xb, graph_k, progress)

    def numbers() -> tuple[float, np.ndarray, SpaceMeasures, SpaceMeasures]:
        progress(2, 6, "Linear CKA…")
        cka = linear_cka(xa, xb)
        progress(3, 6, "Hubness and anisotropy of both spaces…")
        return cka, knn_overlap(graph_a.indices[:, :k], graph_b.indices[:, :k]), \
            space_measures(xa, graph_a, k), space_measures(xb, graph_b, k)

    cka, overlap, measures_a, measures_b = _memo(cache, key_a and key_b and ("pair", key_a, key_b, k), numbers)
    coords_b, layout_b = _memo(cache, key_b and ("layout", key_b, use_umap),
                               lambda: _other_layout(xb, graph_b, use_umap, progress))
    layout_a = "the map" if map_a is not None else "PCA (first two principal components)"
    coords_a = map_a if map_a is not None else _memo(cache, key_a and ("layout", key_a, False), lambda: pca_project(xa))
    coords_b, disparity = procrustes_align(coords_b, coords_a)
    progress(6, 6, "done")
    return SpacePair(
        name_a=name_a, name_b=name_b, k=k, n_total=data.n, rows=rows, cka=cka, overlap=overlap,
        knn_a=rows[graph_a.indices[:, :k]], knn_b=rows[graph_b.indices[:, :k]],
        measures_a=measures_a, measures_b=measures_b, coords_a=coords_a, coords_b=coords_b,
        layout_a=layout_a, layout_b=layout_b, disparity=disparity, distinct=None if distinct.trivial else distinct,
    )


def compare_collections(data: AnalysisData, k: int, progress: Progress, keys: _Keys | None = None) -> CollectionMix | None:
    """Collections of the current space against each other; None for fewer than two.

    Under the duplicate policy "fold" a text counts once, in the collection of its first copy.
    """
    distinct = distinct_rows(data)
    data = distinct.restrict_data(data)
    if data.collection_ids is None or data.n < 3:
        return None
    ids, codes = collection_codes(data.collection_ids)
    if ids.size < 2:
        return None
    cache: SpaceCache | None = data.extras.get("space_cache")
    keys = keys if keys is not None and distinct.trivial else _Keys(data)  # fingerprints of these rows
    name = data.extras.get("model_name", "current space")
    k = min(k, data.n - 1)
    everything = np.arange(data.n)
    graph = usable_graph(data.knn, k) or _graph(cache, keys(name, everything), data.vectors, k, progress)

    def per_collection() -> tuple[SpaceMeasures | None, ...]:
        out = []
        for code in range(ids.size):
            progress(code, ids.size, f"Collection {code + 1} of {ids.size}…")
            rows = np.flatnonzero(codes == code)
            if rows.size <= k + 1:
                out.append(None)
                continue
            sub = np.ascontiguousarray(data.vectors[rows])
            out.append(space_measures(sub, _graph(cache, keys(name, rows), sub, k, progress), k))
        return tuple(out)

    whole = keys(name, everything)
    measures = _memo(cache, whole and ("collections", whole, k), per_collection)
    names = data.extras.get("collection_names") or {}
    return CollectionMix(
        ids=ids,
        names=tuple(str(names.get(int(i), f"#{int(i)}")) for i in ids),
        sizes=np.bincount(codes, minlength=ids.size),
        k=k,
        centroid_cosine=centroid_cosines(data.vectors, data.collection_ids)[1],
        shares=neighbour_shares(graph.indices[:, :k], data.collection_ids)[1],
        expected_mixing=random_mixing(data.collection_ids),
        measures=measures,
    )


def compute(data: AnalysisData, params: CompareParams, progress: Progress) -> CompareResult:
    """The pair comparison (when another space is loaded) and the collection comparison."""
    spaces: dict[str, np.ndarray] = data.extras.get("spaces") or {}
    available = tuple(sorted(spaces))
    current = data.extras.get("model_name", "current space")
    keys = _Keys(data)
    note, pair = "", None
    other = params.other if params.other in spaces else (available[0] if available else "")
    if params.other and params.other not in spaces:
        note = f"{params.other} has no vectors for these documents; showing {other or 'nothing'}."
    if not other:
        note = NO_OTHER_SPACE
    else:
        both = int(np.isfinite(spaces[other]).all(axis=1).sum())
        if both < 3:
            note = f"Only {both} documents have vectors in both {current} and {other}: nothing to compare yet."
        else:
            pair = compare_pair(data, other, params, progress, keys)
    collections = compare_collections(data, params.k, progress, keys)
    return CompareResult(current, available, data.n, pair, collections, note)
