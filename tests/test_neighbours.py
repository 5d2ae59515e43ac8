"""Neighbours plugin: reverse neighbours, trustworthiness, preservation, near-duplicates, panel."""
from __future__ import annotations


import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.hubness import k_occurrence
from core.knn import exact_knn
from core.plugin_api import AnalysisData, KnnGraph
from plugins.neighbours import SPEC
from plugins.neighbours.analysis import (
    NeighboursParams,
    compute,
    near_duplicates,
    neighbourhood_preservation,
    pair_cosine,
    reverse_neighbours,
    trustworthiness,
)
from plugins.neighbours.panel import NeighboursPanel

HAND_GRAPH = KnnGraph(
    indices=np.array([[1, 2], [0, 2], [1, 0], [2, 1]], dtype=np.int64),
    distances=np.zeros((4, 2), dtype=np.float32),
)


def crafted() -> tuple[np.ndarray, list[str]]:
    """Noise, rows 3/10/20 near-identical, rows 30/40 identical text (same hash and vector)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 32)).astype(np.float32)
    x[10] = x[3] + 0.01 * rng.standard_normal(32)
    x[20] = x[3] + 0.01 * rng.standard_normal(32)
    x[40] = x[30]
    hashes = [f"h{i}" for i in range(60)]
    hashes[40] = hashes[30]
    return x, hashes


def test_reverse_neighbours_and_k_occurrence_by_hand() -> None:
    np.testing.assert_array_equal(reverse_neighbours(HAND_GRAPH, 2), [0, 1, 3])
    np.testing.assert_array_equal(reverse_neighbours(HAND_GRAPH, 3), [])
    np.testing.assert_array_equal(k_occurrence(HAND_GRAPH), [2, 3, 3, 0])
    np.testing.assert_array_equal(k_occurrence(HAND_GRAPH, k=1), [1, 2, 1, 0])


def test_reverse_neighbours_sum_to_nk() -> None:
    graph = exact_knn(np.random.default_rng(1).standard_normal((150, 12)), 7)
    counts = np.array([reverse_neighbours(graph, row).size for row in range(graph.n)])
    assert counts.sum() == graph.n * graph.k
    np.testing.assert_array_equal(counts, k_occurrence(graph))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize(("n", "k"), [(60, 5), (201, 10), (90, 1)])
def test_trustworthiness_equals_sklearn(metric: str, n: int, k: int) -> None:
    from sklearn.manifold import trustworthiness as sklearn_trustworthiness

    rng = np.random.default_rng(n + k)
    x = rng.standard_normal((n, 12))
    y = x[:, :2] + 0.5 * rng.standard_normal((n, 2))
    expected = sklearn_trustworthiness(x, y, n_neighbors=k, metric=metric)
    assert trustworthiness(x, y, k, metric=metric) == pytest.approx(expected, abs=1e-12)


def test_trustworthiness_sampled_estimate() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((600, 16))
    y = x[:, :2]
    exact = trustworthiness(x, y, 10, sample=None)
    assert trustworthiness(x, y, 10, sample=600) == exact
    assert trustworthiness(x, y, 10, sample=200) == pytest.approx(exact, abs=0.03)
    with pytest.raises(ValueError):
        trustworthiness(x[:10], y[:10], 5)


def test_neighbourhood_preservation() -> None:
    rng = np.random.default_rng(4)
    coords = rng.standard_normal((300, 2)).astype(np.float32)
    graph = exact_knn(coords, 8, metric="euclidean")
    np.testing.assert_array_equal(neighbourhood_preservation(graph, coords, 8), np.ones(300, np.float32))
    shuffled = neighbourhood_preservation(graph, coords[rng.permutation(300)], 8)
    assert shuffled.shape == (300,) and shuffled.mean() < 0.1
    # one shared neighbour of k = 2 is a Jaccard of 1 / 3
    high = KnnGraph(np.array([[1, 2], [0, 2], [1, 0], [2, 1]]), np.zeros((4, 2), np.float32))
    line = np.array([[0, 0], [1, 0], [3, 0], [10, 0]], dtype=np.float32)  # 2-D lists: [1,2],[0,2],[1,0],[2,1]
    np.testing.assert_allclose(neighbourhood_preservation(high, line, 2), [1, 1, 1, 1])
    far = np.array([[0, 0], [1, 0], [3, 0], [3.5, 0]], dtype=np.float32)  # row 2 now near 3: lists [3,1]
    assert neighbourhood_preservation(high, far, 2)[2] == pytest.approx(1 / 3)


def test_near_duplicates_on_crafted_set() -> None:
    x, hashes = crafted()
    groups = near_duplicates(x, 0.95, hashes=hashes)
    assert [g.tolist() for g in groups.near] == [[3, 10, 20]]
    assert [g.tolist() for g in groups.exact] == [[30, 40]]
    assert groups.threshold == 0.95
    # without hashes, identical vectors are the exact duplicates
    assert [g.tolist() for g in near_duplicates(x, 0.95).exact] == [[30, 40]]
    assert near_duplicates(x, 0.99999, hashes=hashes).near == ()


def test_near_duplicate_groups_sorted_and_chained() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((80, 24)).astype(np.float32)
    step = 0.06 * rng.standard_normal(24).astype(np.float32)
    x[50:56] = x[0] + np.arange(1, 7)[:, None] * step  # a chain: every link ≥ 0.99, its ends are not
    x[60] = x[9] + 0.01
    assert pair_cosine(x, np.array([[55]] + [[0]] * 79))[0, 0] < 0.99
    groups = near_duplicates(x, 0.99, graph=exact_knn(x, 3))
    assert [g.tolist() for g in groups.near] == [[0, 50, 51, 52, 53, 54, 55], [9, 60]]


def test_compute_with_map() -> None:
    x, hashes = crafted()
    extras = {"hashes": hashes, "duplicates": "keep"}  # every row its own point (test_duplicates: "fold")
    data = AnalysisData(vectors=x, doc_ids=np.arange(60), coords=x[:, :2].copy(), extras=extras)
    result = compute(data, NeighboursParams(k=5))
    graph = exact_knn(x, 5)
    np.testing.assert_array_equal(result.graph.indices, graph.indices)
    np.testing.assert_allclose(result.similarity, 1 - graph.distances)
    assert result.k_occurrence.sum() == 60 * 5
    assert result.preservation.shape == (60,) and 0 <= result.preservation.min() <= result.preservation.max() <= 1
    assert result.trust == pytest.approx(trustworthiness(x, x[:, :2], 5), abs=1e-12)
    assert [g.tolist() for g in result.duplicates.near] == [[3, 10, 20]]
    bare = compute(AnalysisData(vectors=x, doc_ids=np.arange(60), knn=exact_knn(x, 12)), NeighboursParams(k=4))
    assert bare.trust is None and bare.preservation is None and bare.graph.k == 4
    single = compute(AnalysisData(vectors=x[:1], doc_ids=np.arange(1)), NeighboursParams())
    assert single.graph.indices.shape == (1, 0) and single.duplicates.near == ()


def test_compute_hubness_reduced() -> None:
    x = np.random.default_rng(6).standard_normal((200, 64)).astype(np.float32)
    params = NeighboursParams(k=5, reduced="csls")
    assert params.graph_k == 10
    result = compute(AnalysisData(vectors=x, doc_ids=np.arange(200)), params)
    assert result.graph.k == 5 and result.reduced == "csls"
    np.testing.assert_allclose(result.similarity, pair_cosine(x, result.graph.indices), atol=1e-6)
    assert not (result.graph.indices == exact_knn(x, 5).indices).all()


def test_params_and_spec() -> None:
    with pytest.raises(ValueError):
        NeighboursParams(reduced="magic")
    with pytest.raises(ValueError):
        NeighboursParams(dup_threshold=1.5)
    assert NeighboursParams().graph_k == 10
    assert SPEC.params_type is NeighboursParams and SPEC.resolve_compute() is compute
    assert SPEC.resolve_panel() is NeighboursPanel


def test_preview_and_double_click_selects(qtbot) -> None:
    panel = NeighboursPanel.preview()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.row == 0 and panel.neighbours.rowCount() == 10
    assert panel.reverse.rowCount() == panel.result.k_occurrence[0]
    target = int(panel.neighbours.item(2, 0).data(Qt.UserRole))
    rect = panel.neighbours.visualItemRect(panel.neighbours.item(2, 1))
    with qtbot.waitSignal(panel.context.sig_request_selection) as blocker:
        qtbot.mouseClick(panel.neighbours.viewport(), Qt.LeftButton, pos=rect.center())
        qtbot.mouseDClick(panel.neighbours.viewport(), Qt.LeftButton, pos=rect.center())
    np.testing.assert_array_equal(blocker.args[0], [target])
    rows = panel.table_rows()
    assert rows[2]["row"] == target and rows[2]["list"] == "neighbours"


def test_panel_follows_selection_and_emits(qtbot) -> None:
    panel = NeighboursPanel.preview()
    qtbot.addWidget(panel)
    context = panel.context
    context.sig_selection_changed.emit(np.array([7, 8]))  # a lasso: no document in focus (as the session says)
    context.sig_focus_changed.emit(None)
    assert panel.neighbours.rowCount() == 0 and panel.source.text().startswith("2 selected — click one")
    with qtbot.waitSignal(context.sig_request_links) as links:
        context.sig_focus_changed.emit(8)  # then a click on one of them
    assert links.args[0] == 8 and "2 selected; this is the one clicked last" in panel.source.text()
    np.testing.assert_array_equal(links.args[1], panel.result.graph.indices[8])
    with qtbot.waitSignal(context.sig_request_color) as colour:
        panel.colour_button.click()
    assert colour.args[0] == "neighbourhood preservation"
    np.testing.assert_allclose(colour.args[1], panel.result.preservation)
    with qtbot.waitSignal(panel.sig_params_changed) as params:
        panel.reduction.setCurrentIndex(panel.reduction.findData("nicdm"))
    assert params.args[0].reduced == "nicdm"
    with qtbot.waitSignal(panel.sig_params_changed) as params:
        panel.threshold.setValue(0.9)
    assert params.args[0].dup_threshold == pytest.approx(0.9)
    with qtbot.waitSignal(context.sig_request_selection) as selected:
        panel.groups.clicked.emit(panel.groups.model().index(0, 2))
    np.testing.assert_array_equal(selected.args[0], panel.result.duplicates.near[0])
    context.sig_selection_changed.emit(np.array([], dtype=np.int64))
    context.sig_focus_changed.emit(None)
    assert panel.neighbours.rowCount() == 0 and panel.source.text().startswith("Select a point")


def test_document_text_stays_plain(qtbot) -> None:
    panel = NeighboursPanel.preview()
    qtbot.addWidget(panel)
    evil = "<b>bold</b> & <img src=x>"
    panel.context.set_text_lookup(lambda rows: [evil] * len(rows))
    panel.context.sig_selection_changed.emit(np.array([3]))
    panel.context.sig_focus_changed.emit(3)
    assert panel.neighbours.item(0, 2).text() == evil
    assert panel.source.textFormat() == Qt.PlainText and evil in panel.source.text()
    assert "<b>" not in panel.neighbours.item(0, 2).toolTip() and "&lt;b&gt;" in panel.neighbours.item(0, 2).toolTip()
