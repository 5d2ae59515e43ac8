"""The shared kNN graph: exactness, tie rule, self-exclusion, blocking, recall."""
from __future__ import annotations

import numpy as np
import pytest

from core.knn import QueryIndex, approximate_knn, build_knn, estimate_recall, exact_knn, knn_recall, query_knn
from core.plugin_api import KnnGraph
from core.progress import Cancelled, Progress


def brute_force(x: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Full distance matrix in float64, self excluded, stable sort on (distance, index)."""
    x = x.astype(np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1)
        unit = x / np.where(norms == 0, 1.0, norms)[:, None]
        dist = 1.0 - unit @ unit.T
        dist[(x[:, None, :] == x[None, :, :]).all(-1)] = 0.0  # identical rows: exactly 0
        dist[norms == 0, :] = 1.0
        dist[:, norms == 0] = 1.0
    else:
        dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    dist = dist.astype(np.float32)
    idx = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(dist, idx, axis=1)


def tricky(seed: int = 1, n: int = 240, d: int = 16) -> np.ndarray:
    """Gaussian rows plus exact duplicates (pairs and a group of 15), zero rows and equidistant one-hots."""
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    x[50] = x[51] = x[10]
    x[60:75] = x[5]
    x[100] = x[101] = 0.0
    x[200:210] = np.eye(d, dtype=np.float32)[:10]
    return x


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("k", [1, 5, 20])
def test_exact_knn_equals_brute_force(metric: str, k: int) -> None:
    x = tricky()
    ref_idx, ref_dist = brute_force(x, k, metric)
    graph = exact_knn(x, k, metric=metric)
    assert graph.indices.dtype == np.int64 and graph.distances.dtype == np.float32
    np.testing.assert_array_equal(graph.indices, ref_idx)
    np.testing.assert_allclose(graph.distances, ref_dist, atol=1e-6)
    assert np.all(np.diff(graph.distances, axis=1) >= 0)


def test_duplicates_tie_by_lower_index_and_never_self() -> None:
    x = tricky()
    graph = exact_knn(x, 20)
    assert not (graph.indices == np.arange(len(x))[:, None]).any()
    group = [5, *range(60, 75)]
    for row in group:  # the other 15 copies, at distance exactly 0, in index order
        others = [r for r in group if r != row]
        np.testing.assert_array_equal(graph.indices[row, :15], others)
        assert np.all(graph.distances[row, :15] == 0.0)
    np.testing.assert_array_equal(graph.indices[50, :2], [10, 51])
    # zero rows are at distance 1 from everything, even from each other; ties go to row 0, 1, ...
    np.testing.assert_array_equal(graph.distances[100], np.ones(20, np.float32))
    np.testing.assert_array_equal(graph.indices[100], np.arange(20))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_block_size_does_not_change_anything(metric: str) -> None:
    x = tricky(seed=4)
    graphs = [exact_knn(x, 9, metric=metric, block_size=size) for size in (1, 7, 10_000)]
    for other in graphs[1:]:
        np.testing.assert_array_equal(other.indices, graphs[0].indices)
        np.testing.assert_array_equal(other.distances, graphs[0].distances)


def test_low_dimensional_grid_ties() -> None:
    """2-D map coordinates on a grid: many exactly tied distances (k-d tree path)."""
    grid = np.stack(np.meshgrid(np.arange(10), np.arange(10)), -1).reshape(-1, 2).astype(np.float32)
    x = np.vstack([grid, np.random.default_rng(3).normal(4.5, 3, (60, 2)).astype(np.float32), grid[:15]])
    for k in (1, 4, 9, 30):
        ref_idx, ref_dist = brute_force(x, k, "euclidean")
        graph = exact_knn(x, k, metric="euclidean")
        np.testing.assert_array_equal(graph.indices, ref_idx)
        np.testing.assert_allclose(graph.distances, ref_dist, atol=1e-6)


def test_identical_distances_for_identical_rows_in_tight_clusters() -> None:
    """Neighbours within float32 noise of each other go through the float64 path and stay exact."""
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(64) + 0.03 * rng.standard_normal((300, 64))).astype(np.float32)
    ref_idx, _ = brute_force(x, 10, "cosine")
    np.testing.assert_array_equal(exact_knn(x, 10).indices, ref_idx)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_query_knn_matches_graph(metric: str) -> None:
    x = tricky(seed=2)
    graph = exact_knn(x, 7, metric=metric)
    idx, dist = query_knn(x, x, 7, metric=metric, exclude=np.arange(len(x)))
    np.testing.assert_array_equal(idx, graph.indices)
    np.testing.assert_array_equal(dist, graph.distances)
    own, own_dist = query_knn(x, x[[3, 9]], 1, metric=metric)
    np.testing.assert_array_equal(own[:, 0], [3, 9])
    np.testing.assert_array_equal(own_dist[:, 0], [0.0, 0.0])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_a_prepared_index_answers_repeated_queries_like_query_knn(metric: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 24)).astype(np.float32)
    index = QueryIndex(x, metric)
    assert index.n == 500
    for seed in range(3):  # the same prepared rows serve every query: each answer equals brute force
        queries = np.random.default_rng(seed).normal(size=(4, 24)).astype(np.float32)
        q, db = queries.astype(np.float64), x.astype(np.float64)
        if metric == "cosine":
            full = 1.0 - (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (db / np.linalg.norm(db, axis=1, keepdims=True)).T
        else:
            full = np.linalg.norm(q[:, None, :] - db[None, :, :], axis=2)
        rows, distances = index.search(queries, 7)
        np.testing.assert_array_equal(rows, np.argsort(full, axis=1, kind="stable")[:, :7])
        np.testing.assert_allclose(distances, np.sort(full, axis=1)[:, :7], atol=1e-5)


def test_progress_per_block_and_cancel() -> None:
    x = np.random.default_rng(5).standard_normal((100, 8)).astype(np.float32)
    seen: list[tuple[int, int]] = []
    exact_knn(x, 3, block_size=25, progress=Progress(lambda done, total, _msg: seen.append((done, total)), max_rate=0))
    assert seen == [(25, 100), (50, 100), (75, 100), (100, 100)]
    cancelled = Progress()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        exact_knn(x, 3, block_size=25, progress=cancelled)


def test_invalid_arguments() -> None:
    x = np.random.default_rng(6).standard_normal((20, 8)).astype(np.float32)
    with pytest.raises(ValueError):
        exact_knn(x, 20)
    with pytest.raises(ValueError):
        exact_knn(x, 3, metric="manhattan")
    with pytest.raises(ValueError):
        build_knn(x, 3, method="magic")


def test_recall_measures() -> None:
    x = tricky()
    graph = build_knn(x, 6)  # auto: exact at this size
    np.testing.assert_array_equal(graph.indices, exact_knn(x, 6).indices)
    assert knn_recall(graph, graph) == 1.0
    assert estimate_recall(x, graph, sample=50) == 1.0
    shifted = KnnGraph(np.roll(graph.indices, 1, axis=0), graph.distances)
    assert knn_recall(shifted, graph) < 0.2
    half = graph.indices.copy()
    half[:, 3:] = graph.indices[(np.arange(len(x)) + 120) % len(x), 3:]  # rows of far-away points
    assert 0.45 < knn_recall(KnnGraph(half, graph.distances), graph) <= 0.55


@pytest.mark.slow  # pynndescent's numba compilation takes tens of seconds in a fresh process
def test_approximate_knn_recall_on_clusters() -> None:
    rng = np.random.default_rng(0)
    centres = 3.0 * rng.standard_normal((20, 32))
    x = (centres[rng.integers(0, 20, 2000)] + rng.standard_normal((2000, 32))).astype(np.float32)
    approx = approximate_knn(x, 10, random_state=0)
    assert approx.indices.shape == (2000, 10)
    assert not (approx.indices == np.arange(2000)[:, None]).any()
    assert np.all(np.diff(approx.distances, axis=1) >= 0)
    assert knn_recall(approx, exact_knn(x, 10)) >= 0.9
    assert estimate_recall(x, approx, sample=300) >= 0.9
