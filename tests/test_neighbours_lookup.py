"""The click path of the neighbours panel: the reverse-neighbour index (built once per
graph) and the panel's lists, plus a tiny run of the click benchmark."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt

from core.hubness import k_occurrence
from core.knn import exact_knn
from core.plugin_api import AnalysisData, KnnGraph
from gui.panel_base import PanelContext
from plugins.neighbours.analysis import NeighboursParams, ReverseIndex, compute, reverse_neighbours
from plugins.neighbours.panel import NeighboursPanel

HAND_GRAPH = KnnGraph(
    indices=np.array([[1, 2], [0, 2], [1, 0], [2, 1]], dtype=np.int64),
    distances=np.zeros((4, 2), dtype=np.float32),
)


def test_reverse_index_by_hand() -> None:
    index = ReverseIndex.of(HAND_GRAPH)
    rows, ranks = index(2)
    np.testing.assert_array_equal(rows, [0, 1, 3])  # 0 and 1 list 2 second, 3 lists it first
    np.testing.assert_array_equal(ranks, [1, 1, 0])
    rows, ranks = index(0)
    np.testing.assert_array_equal(rows, [1, 2])
    np.testing.assert_array_equal(ranks, [0, 1])
    assert index(3)[0].size == 0 and index(3)[0].dtype == np.int64
    np.testing.assert_array_equal(np.diff(index.starts), k_occurrence(HAND_GRAPH))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 40), k=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_reverse_index_equals_a_scan_of_the_graph(n: int, k: int, seed: int) -> None:
    k = min(k, n - 1)
    rng = np.random.default_rng(seed)
    # k distinct neighbours per row, never itself (a valid graph, skewed or not)
    indices = np.array([rng.permutation(np.delete(np.arange(n), i))[:k] for i in range(n)], dtype=np.int64)
    graph = KnnGraph(indices, np.zeros((n, k), np.float32))
    index = ReverseIndex.of(graph)
    for row in range(n):
        rows, ranks = index(row)
        np.testing.assert_array_equal(rows, reverse_neighbours(graph, row))
        np.testing.assert_array_equal(graph.indices[rows, ranks], np.full(rows.size, row))


def test_compute_indexes_the_graph_it_shows() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((120, 16)).astype(np.float32)
    data = AnalysisData(vectors=x, doc_ids=np.arange(120), knn=exact_knn(x, 10))
    for reduced in ("none", "csls"):
        result = compute(data, NeighboursParams(k=5, reduced=reduced))
        for row in (0, 17, 119):
            np.testing.assert_array_equal(result.reverse(row)[0], reverse_neighbours(result.graph, row))
        np.testing.assert_array_equal(np.diff(result.reverse.starts), result.k_occurrence)
    tiny = compute(AnalysisData(vectors=x[:1], doc_ids=np.arange(1)), NeighboursParams())
    assert tiny.reverse(0)[0].size == 0


def test_panel_lists_who_has_the_clicked_point_with_their_rank(qtbot) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((80, 8)).astype(np.float32)
    texts = [f"text {i}" for i in range(80)]
    result = compute(AnalysisData(vectors=x, doc_ids=np.arange(80), knn=exact_knn(x, 6)), NeighboursParams(k=6))
    context = PanelContext(lambda rows: [texts[int(r)] for r in rows])
    panel = NeighboursPanel(context, NeighboursParams(k=6))
    qtbot.addWidget(panel)
    panel.show_result(result)
    row = int(np.argmax(result.k_occurrence))  # the biggest hub: the longest reverse list
    with qtbot.waitSignal(context.sig_request_links) as links:
        context.sig_selection_changed.emit(np.array([row]))
        context.sig_focus_changed.emit(row)
    assert links.args[0] == row
    shown = [int(panel.reverse.item(i, 0).data(Qt.UserRole)) for i in range(panel.reverse.rowCount())]
    assert shown == reverse_neighbours(result.graph, row).tolist() and len(shown) == result.k_occurrence[row]
    for i, other in enumerate(shown):
        their_rank = int(np.flatnonzero(result.graph.indices[other] == row)[0]) + 1
        assert panel.reverse.item(i, 0).text() == str(their_rank)
        assert panel.reverse.item(i, 2).text() == f"text {other}"
        cosine = result.similarity[other, their_rank - 1]
        assert float(panel.reverse.item(i, 1).text()) == pytest.approx(cosine, abs=1e-3)


def test_click_benchmark_runs_on_a_tiny_workspace(qtbot, tmp_path) -> None:
    from bench import lookup

    graph = lookup.synthetic_graph(500, 10)
    assert not (graph.indices == np.arange(500)[:, None]).any()
    assert all(np.unique(r).size == 10 for r in graph.indices)
    assert (np.diff(graph.distances, axis=1) >= 0).all()
    res = lookup.click(str(tmp_path), n=400, clicks=5)  # raises when the panel shows wrong rows or texts
    assert len(res["select_ms"]) == 5 and min(res["select_ms"]) > 0
    assert res["hub_nk"] >= res["nk_max"] > 0 and res["docs"] == 400
