"""Hubness plugin: k-occurrence measures, reductions, cacheable result and panel."""
from __future__ import annotations

import numpy as np
import pytest

from core.hubness import HubnessMeasures, gini, hub_occurrence, hubness_measures, k_skewness, robinhood
from core.hubness_reduction import METHODS, cosine_moments, reduce_knn_graph
from core.knn import exact_knn
from core.plugin_api import AnalysisData, KnnGraph
from core.progress import Cancelled, Progress, null_progress
from plugins.hubness.analysis import HubnessParams, HubnessResult, compute

N, K = 2000, 10


def _offset_gaussian(d: int, n: int = N, seed: int = 0) -> np.ndarray:
    """i.i.d. N(1, 1) coordinates. Centred Gaussian rows are uniform in direction,
    so *cosine* sees no hubness there; the offset gives the classic effect."""
    return (np.random.default_rng(seed).standard_normal((n, d)) + 1.0).astype(np.float32)


@pytest.fixture(scope="module")
def high_dim() -> tuple[np.ndarray, KnnGraph]:
    vectors = _offset_gaussian(300)
    return vectors, exact_knn(vectors, 50)


def test_k_occurrence_matches_hand_count() -> None:
    # Six points on the unit circle at these angles (degrees); with k = 2:
    # A→B,C  B→A,C  C→B,A  D→C,B  E→F,D  F→E,D  (cosine is monotone in the angle gap)
    angles = np.radians([0, 10, 30, 100, 200, 205])
    points = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    graph = exact_knn(points, 2)
    expected = np.array([2, 3, 3, 2, 1, 1])  # A in B,C; B in A,C,D; C in A,B,D; D in E,F; E in F; F in E
    result = compute(AnalysisData(points, np.arange(6), knn=graph), HubnessParams(k=2, candidates=2), null_progress())
    np.testing.assert_array_equal(result.occurrence, expected)
    assert result.measures.max_occurrence == 3
    assert result.measures.antihub_occurrence == 0.0


def test_measures_by_hand() -> None:
    occ = np.array([0, 0, 1, 3, 6])  # k = 2, n = 5, sum = 10 = n k
    assert robinhood(occ, 2) == pytest.approx((2 + 2 + 1 + 1 + 4) / (2 * 5 * 2))
    assert hub_occurrence(occ, 2) == pytest.approx(6 / 10)  # only N_k = 6 > 4
    pairs = np.abs(occ[:, None] - occ[None, :]).sum()
    assert gini(occ) == pytest.approx(pairs / (2 * 25 * 2))
    centred = occ - 2.0
    assert k_skewness(occ) == pytest.approx(np.mean(centred**3) / np.mean(centred**2) ** 1.5)


def test_skewness_grows_with_dimension() -> None:
    for metric, shift in (("cosine", 1.0), ("euclidean", 0.0)):
        rng = np.random.default_rng(1)
        low, high = (
            hubness_measures(exact_knn((rng.standard_normal((N, d)) + shift).astype(np.float32), K, metric), K)
            for d in (3, 300)
        )
        assert low.k_skewness < 0.5 < 2.0 < high.k_skewness, metric
        assert high.max_occurrence > low.max_occurrence


def test_ring_graph_is_perfectly_even() -> None:
    n, k = 30, 4
    indices = (np.arange(n)[:, None] + np.arange(1, k + 1)[None, :]) % n
    ring = KnnGraph(indices, np.tile(np.arange(1, k + 1, dtype=np.float32), (n, 1)))
    measures = hubness_measures(ring, k)
    assert measures == HubnessMeasures(k, 0.0, 0.0, 0.0, 0.0, 0.0, k)
    assert set(measures.as_dict()) == {
        "k", "k_skewness", "robinhood", "gini", "hub_occurrence", "antihub_occurrence", "max_occurrence"
    }


@pytest.mark.parametrize("method", METHODS)
def test_reduction_lowers_skewness_and_is_valid(method: str, high_dim: tuple[np.ndarray, KnnGraph]) -> None:
    vectors, graph = high_dim
    raw = hubness_measures(graph, K)
    reduced = reduce_knn_graph(vectors, graph, method, K)
    assert reduced.indices.shape == (N, K) and reduced.distances.dtype == np.float32
    assert np.all((reduced.indices >= 0) & (reduced.indices < N))
    assert not np.any(reduced.indices == np.arange(N)[:, None])
    assert all(np.unique(row).size == K for row in reduced.indices)
    assert np.all(np.diff(reduced.distances, axis=1) >= 0)
    after = hubness_measures(reduced, K)
    assert after.k_skewness < 0.6 * raw.k_skewness, (method, raw.k_skewness, after.k_skewness)


def test_reduction_rejects_short_graph(high_dim: tuple[np.ndarray, KnnGraph]) -> None:
    vectors, graph = high_dim
    with pytest.raises(ValueError, match="at least k columns"):
        reduce_knn_graph(vectors, KnnGraph(graph.indices[:, :5], graph.distances[:, :5]), "nicdm", K)


def test_gaussian_moments_match_brute_force() -> None:
    vectors = np.random.default_rng(2).standard_normal((60, 8)).astype(np.float32)
    vectors[5] = 0.0  # a zero row: cosine distance 1 to everything
    mean, std = cosine_moments(vectors)
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1, keepdims=True)
    units = vectors / np.maximum(norms, 1e-12)
    dist = 1.0 - units @ units.T
    others = ~np.eye(60, dtype=bool)
    brute = [dist[i][others[i]] for i in range(60)]
    np.testing.assert_allclose(mean, [b.mean() for b in brute], atol=1e-6)
    np.testing.assert_allclose(std, [b.std() for b in brute], atol=1e-6)


def test_result_round_trips_and_compute_builds_graph() -> None:
    vectors = _offset_gaussian(50, n=300)
    params = HubnessParams(k=5, reduction="csls", candidates=20)
    result = compute(AnalysisData(vectors, np.arange(300)), params, null_progress())
    assert set(result.method_measures) == set(METHODS)
    assert result.reduced == result.method_measures["csls"]
    assert np.all(result.occurrence[result.hub_rows] > 10)
    again = HubnessResult.from_arrays(result.to_arrays())
    np.testing.assert_array_equal(again.occurrence, result.occurrence)
    np.testing.assert_array_equal(again.reduced_occurrence, result.reduced_occurrence)
    assert (again.k, again.method, again.measures) == (5, "csls", result.measures)
    assert again.method_measures == result.method_measures
    assert again.table() == result.table()


def test_params_and_cancel() -> None:
    assert HubnessParams().graph_k == 50 and HubnessParams(k=50).graph_k == 100
    with pytest.raises(ValueError):
        HubnessParams(reduction="nope")
    vectors = _offset_gaussian(10, n=100)
    data = AnalysisData(vectors, np.arange(100), knn=exact_knn(vectors, 50))
    with pytest.raises(ValueError, match="k=100"):
        compute(data, HubnessParams(k=100), null_progress())
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        compute(data, HubnessParams(), progress)


def test_preview_selects_hubs(qtbot) -> None:
    from PySide6.QtWidgets import QPushButton

    from plugins.hubness.panel import HubnessPanel

    panel = HubnessPanel.preview()
    qtbot.addWidget(panel)
    result = panel._result
    assert result.hub_rows.size > 0
    button = next(b for b in panel.findChildren(QPushButton) if b.text() == "Select all hubs")
    with qtbot.waitSignal(panel.context.sig_request_selection) as blocker:
        button.click()
    assert set(blocker.args[0].tolist()) == set(np.flatnonzero(result.occurrence > 2 * result.k).tolist())
    item = panel._hub_list.item(0)
    with qtbot.waitSignal(panel.context.sig_request_selection) as blocker:
        panel._hub_list.itemClicked.emit(item)
    assert blocker.args[0].tolist() == [int(result.top_hubs[0])]
    assert item.text().startswith(f"N_k = {result.occurrence.max()}")
    assert [row["method"] for row in panel.table_rows()] == list(METHODS)
    assert "nk_histogram" in panel.figure_items()
    with qtbot.waitSignal(panel.sig_params_changed) as blocker:
        panel._method_combo.setCurrentIndex(panel._method_combo.findData("nicdm"))
    assert blocker.args[0].reduction == "nicdm"


def test_log_scale_is_display_only_no_recompute_and_one_cache_entry(qtbot) -> None:
    """Ticking "log scale" redraws the histogram; it neither recomputes the reductions nor misses the cache."""
    from dataclasses import replace

    from core.registry import discover
    from core.result_cache import params_key
    from gui.panel_base import PanelContext
    from gui.plugin_host import PluginHost

    assert params_key(HubnessParams(log_scale=True)) == params_key(HubnessParams())
    assert params_key(HubnessParams(k=5)) != params_key(HubnessParams())
    host = PluginHost(discover(), PanelContext())
    try:
        slot = host.slots["hubness"]
        generation = slot.generation
        host.set_params("hubness", replace(slot.params, log_scale=True))
        assert slot.params.log_scale and slot.generation == generation
        host.set_params("hubness", replace(slot.params, k=5))
        assert slot.generation == generation + 1
    finally:
        host.shutdown()
