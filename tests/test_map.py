"""Map plugin: projection maths, the UMAP worker process, selection geometry, the panel."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from core import umap_process
from core.plugin_api import AnalysisData, KnnGraph
from core.progress import Cancelled, Progress
from core.projection import pca_project, umap_knn
from gui.selection_geometry import invert, points_in_polygon, points_in_rect
from plugins.map import SPEC
from plugins.map.analysis import MapParams, ProjectionResult, align_to, compute, seed_layout
from tests.gui_input import click, drag, move, pixel_of, wait_drawn


def brute_knn(X: np.ndarray, k: int) -> KnnGraph:
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    dist = 1.0 - unit @ unit.T
    np.fill_diagonal(dist, np.inf)
    idx = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return KnnGraph(idx.astype(np.int64), np.take_along_axis(dist, idx, 1).astype(np.float32))


def clusters(n: int = 600, d: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated clusters, each spread over its own 3-D patch."""
    rng = np.random.default_rng(seed)
    label = np.repeat(np.arange(3), n // 3)
    centres = rng.normal(size=(3, d)) * 6
    basis = rng.normal(size=(3, 3, d))
    X = centres[label] + np.einsum("ni,nij->nj", rng.normal(size=(len(label), 3)), basis[label])
    return (X + 0.05 * rng.normal(size=X.shape)).astype(np.float32), label


@pytest.fixture(scope="module")
def umap_worker():
    umap_process.shutdown()  # a fresh worker: the first run must announce compilation
    yield umap_process
    umap_process.shutdown()


def recorder() -> tuple[Progress, list, list]:
    messages, partials = [], []
    return Progress(lambda d, t, m: messages.append(m), partial_callback=partials.append, max_rate=0), messages, partials


# ------------------------------------------------------------------ analysis


def test_spec_matches_params():
    assert SPEC.placement == "central" and SPEC.knn_k == MapParams().graph_k == 14
    assert SPEC.resolve_compute() is compute


def test_pca_project_finds_the_widest_direction():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 20)) * np.r_[10.0, 3.0, np.ones(18) * 0.1]
    coords = pca_project(X.astype(np.float32))
    assert coords.dtype == np.float32 and coords.shape == (2000, 2)
    assert np.corrcoef(coords[:, 0], X[:, 0])[0, 1] ** 2 > 0.99
    assert np.corrcoef(coords[:, 1], X[:, 1])[0, 1] ** 2 > 0.99
    assert np.allclose(pca_project(X[::-1].astype(np.float32))[::-1], coords, atol=1e-3)  # deterministic signs


def test_umap_knn_puts_self_first():
    knn = KnnGraph(np.array([[1, 2, 3], [0, 2, 3], [1, 0, 3], [2, 1, 0]]), np.full((4, 3), 0.5, np.float32))
    idx, dist = umap_knn(knn, n_neighbors=3)
    assert idx.tolist() == [[0, 1, 2], [1, 0, 2], [2, 1, 0], [3, 2, 1]]
    assert dist[:, 0].tolist() == [0, 0, 0, 0] and np.all(dist[:, 1:] == 0.5)


def test_seed_layout_places_new_rows_at_their_nearest_placed_neighbour():
    prev = np.array([[0, 0], [10, 0], [np.nan, np.nan], [np.nan, np.nan], [np.nan, np.nan]], np.float32)
    knn = np.array([[1, 2], [0, 3], [1, 0], [2, 4], [3, 2]])  # row 3 only reaches row 1 through row 2
    seeded = seed_layout(prev, knn)
    assert np.array_equal(seeded[:2], prev[:2])
    assert np.allclose(seeded[2:], [[10, 0]] * 3, atol=0.1)
    lonely = seed_layout(prev, None)
    assert np.allclose(lonely[2:], [[5, 0]] * 3, atol=0.1)  # no graph: the centroid


def test_align_to_undoes_rotation_stretch_and_shift():
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(50, 2)).astype(np.float32)
    angle = 0.7
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = (ref @ rot * [3.0, 1.5] + [5, -2]).astype(np.float32)
    ref_with_new = ref.copy()
    ref_with_new[40:] = np.nan
    assert np.allclose(align_to(moved, ref_with_new), ref, atol=1e-4)


def test_projection_result_round_trips_through_arrays():
    result = ProjectionResult(np.ones((3, 2), np.float32), "umap", {"n_neighbors": 15}, 1.5, "ok", init="fresh layout")
    back = ProjectionResult.from_arrays(result.to_arrays())
    assert back.method == "umap" and back.params == {"n_neighbors": 15} and back.elapsed == 1.5
    assert back.init == "fresh layout"
    assert np.array_equal(back.coords, result.coords) and back.status == "ok" and not back.partial


def test_the_layout_is_carried_over_only_while_the_same_documents_grow():
    from gui.session import LoadedView, grows

    def view(ids, model=1, coords=True):
        ids = np.asarray(ids, dtype=np.int64)
        data = AnalysisData(np.zeros((ids.size, 2), np.float32), ids, coords=np.zeros((ids.size, 2)) if coords else None)
        return LoadedView(data, "", {}, (1,), model)

    assert grows(view([1, 2, 3]), view([1, 2, 3, 4]))  # a growing collection, or a collection ticked on
    assert not grows(view([1, 2, 3, 4]), view([1, 2, 3]))  # a collection unticked
    assert not grows(view([1, 2, 3]), view([1, 2, 4, 5]))  # some gone, some new
    assert not grows(view([1, 2, 3]), view([1, 2, 3]))  # the same documents: a fresh layout or the cache
    assert not grows(view([1, 2]), view([1, 2, 3], model=2))  # another model's space
    assert not grows(view([1, 2], coords=False), view([1, 2, 3]))  # nothing laid out yet
    assert not grows(None, view([1]))


@pytest.mark.parametrize("n", [0, 1, 3, 10, 15])
def test_tiny_inputs_fall_back_to_pca(n):
    X = np.random.default_rng(n).normal(size=(n, 8)).astype(np.float32)
    result = compute(AnalysisData(X, np.arange(n)), MapParams(), Progress())
    assert result.method == "pca" and result.coords.shape == (n, 2) and "PCA" in result.status


@pytest.mark.slow
def test_umap_preview_trust_growth_and_cancel(umap_worker):
    """One cold UMAP (pays numba's JIT in the worker), then cheap warm runs."""
    X, label = clusters()
    progress, messages, partials = recorder()
    result = compute(AnalysisData(X, np.arange(len(X)), knn=brute_knn(X, 14)), MapParams(), progress)
    from sklearn.manifold import trustworthiness

    assert [p.method for p in partials] == ["pca"] and partials[0].partial and not result.keeps_frame
    assert result.method == "umap" and result.coords.shape == (600, 2) and np.isfinite(result.coords).all()
    assert umap_process.COMPILING_MESSAGE in messages  # first run in a fresh worker
    assert umap_worker.is_warm()
    assert trustworthiness(X, result.coords, n_neighbors=5) >= 0.9
    assert trustworthiness(X, result.coords, n_neighbors=5) > trustworthiness(X, partials[0].coords, n_neighbors=5)

    # the map grows by 60 points: a seeded preview, and old points barely move
    rng = np.random.default_rng(5)
    X2 = np.vstack([X, X[rng.choice(600, 60)] + 0.01 * rng.normal(size=(60, 32)).astype(np.float32)])
    prev = np.vstack([result.coords, np.full((60, 2), np.nan, np.float32)])
    progress, messages, partials = recorder()
    grown = compute(AnalysisData(X2, np.arange(660), knn=brute_knn(X2, 14), coords=prev), MapParams(), progress)
    assert [p.method for p in partials] == ["seeded"] and partials[0].keeps_frame and grown.keeps_frame
    assert np.allclose(partials[0].coords[:600], result.coords)
    span = np.ptp(result.coords, axis=0).max()
    for k in range(3):
        shift = grown.coords[:600][label == k].mean(axis=0) - result.coords[label == k].mean(axis=0)
        assert np.linalg.norm(shift) < 0.03 * span
    assert np.median(np.linalg.norm(grown.coords[:600] - result.coords, axis=1)) < 0.1 * span
    assert umap_process.COMPILING_MESSAGE not in messages
    assert result.init.startswith("fresh layout") and "random_state 42" in result.init
    assert grown.init.startswith("warm-started from the previous layout of 600 of these 660 documents")

    # the same documents with any earlier picture (another layout, other params) get the fresh layout:
    # the shape never depends on history, and the old picture stays on screen meanwhile (no preview)
    progress, messages, partials = recorder()
    elsewhere = np.random.default_rng(9).normal(size=(600, 2)).astype(np.float32)
    again = compute(AnalysisData(X, np.arange(600), knn=brute_knn(X, 14), coords=elsewhere), MapParams(), progress)
    assert partials == [] and not again.keeps_frame and again.init == result.init
    np.testing.assert_array_equal(again.coords, result.coords)

    # cancelling abandons the job at once
    cancel = threading.Event()
    progress = Progress(lambda *_: cancel.set(), cancel_event=cancel, max_rate=0)
    indices, dists = umap_knn(brute_knn(X, 14), 15)
    with pytest.raises(Cancelled):
        umap_process.run_umap(X, indices, dists, None, {"random_state": 0}, progress=progress)
    assert umap_worker.warm_up().result(timeout=60) is True


# ------------------------------------------------------------------ selection geometry


def winding_inside(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Brute force: the angles subtended by the edges sum to 2π inside a simple polygon."""
    inside = []
    for p in points:
        v = poly - p
        a = np.arctan2(v[:, 1], v[:, 0])
        turns = np.diff(np.r_[a, a[:1]])
        turns = (turns + np.pi) % (2 * np.pi) - np.pi
        inside.append(abs(turns.sum()) > np.pi)
    return np.flatnonzero(inside)


def test_fit_on_sample_places_every_row_and_says_so(umap_worker):
    """Above the threshold UMAP is fitted on a sample and the other rows transformed (the path for ≥ 200k rows)."""
    X, label = clusters(900)
    params = MapParams(sample_fit_threshold=800, sample_size=300)
    result = compute(AnalysisData(X, np.arange(len(X))), params, recorder()[0])
    from sklearn.manifold import trustworthiness

    assert result.method == "umap-sample+transform"
    assert result.coords.shape == (900, 2) and np.isfinite(result.coords).all()
    assert trustworthiness(X, result.coords, n_neighbors=5) >= 0.9
    centres = np.array([result.coords[label == k].mean(axis=0) for k in range(3)])
    nearest = np.argmin(np.linalg.norm(result.coords[:, None, :] - centres[None], axis=2), axis=1)
    assert np.mean(nearest == label) > 0.95  # transformed rows land in their own cluster


def test_lasso_selects_exactly_the_points_inside_a_star():
    rng = np.random.default_rng(3)
    points = rng.uniform(-1.2, 1.2, size=(3000, 2))
    t = np.linspace(0, 2 * np.pi, 14, endpoint=False)
    radius = np.where(np.arange(14) % 2 == 0, 1.0, 0.35)
    star = np.c_[radius * np.cos(t), radius * np.sin(t)]
    picked = points_in_polygon(points, star)
    assert 50 < picked.size < 3000
    assert np.array_equal(picked, winding_inside(points, star))
    assert points_in_polygon(points, star[:2]).size == 0


def test_box_selects_exactly_the_points_inside():
    rng = np.random.default_rng(4)
    points = rng.uniform(0, 10, size=(5000, 2))
    picked = points_in_rect(points, (7.0, 2.0), (3.0, 6.0))  # corners in any order
    brute = [i for i, (x, y) in enumerate(points) if 3 <= x <= 7 and 2 <= y <= 6]
    assert picked.tolist() == brute
    assert invert(picked, 5000).size == 5000 - picked.size


# ------------------------------------------------------------------ panel, driven by real input


TOPICS = ("apples", "stars", "rivers")


@pytest.fixture
def panel(qtbot):
    """The preview map (2,000 points, 7 clusters) with texts the tests know, laid out on screen."""
    from plugins.map.panel import MapPanel

    panel = MapPanel.preview(n=2000, n_clusters=7)
    texts = [f"Document {i} about {TOPICS[i % 3]}" + (" and apples" if i % 10 == 0 else "") for i in range(2000)]
    panel.context.set_text_lookup(lambda rows: [texts[r] for r in rows])
    panel.texts = texts
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    wait_drawn(qtbot, panel.view, [0])
    return panel


def picked(panel, qtbot, action) -> np.ndarray:
    """The rows the panel asks the app to select when ``action`` runs."""
    with qtbot.waitSignal(panel.context.sig_request_selection, timeout=5_000) as blocker:
        action()
    return blocker.args[0]


def lonely_row(xy: np.ndarray, min_px: float, view) -> int:
    """A row with no other point within ``min_px`` pixels (so a click near it can only mean it)."""
    pixels = np.array([pixel_of(view, p).toTuple() for p in xy], dtype=np.float64)
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(pixels).query(pixels, k=2)
    return int(np.argmax(dist[:, 1] > min_px))


def test_preview_draws_one_item_per_category(panel):
    assert len(panel.view.group_items) == 7
    labels = panel.context.labels
    labels["many"] = np.array([f"c{i % 30}" for i in range(panel.n_rows)])
    panel.context.set_data(panel.n_rows, labels)
    panel.color_box.setCurrentIndex(panel.color_box.findData("label:many"))
    assert len(panel.view.group_items) == 21  # top 20 + "other"
    assert sum(len(item.data) for item in panel.view.group_items) == panel.n_rows
    panel.color_box.setCurrentIndex(panel.color_box.findData("label:norm"))
    assert 2 <= len(panel.view.group_items) <= 16  # continuous: colour bins


def test_click_on_or_near_a_point_selects_it(panel, qtbot):
    view = panel.view
    row = lonely_row(view.xy, 16, view)
    at = pixel_of(view, view.xy[row])
    assert picked(panel, qtbot, lambda: click(qtbot, view.viewport(), at)).tolist() == [row]
    assert panel._selection.tolist() == [row] and "1 selected" in panel.info_label.text()
    near = at + QPoint(5, -4)  # about 6 px off: still that point
    assert picked(panel, qtbot, lambda: click(qtbot, view.viewport(), near)).tolist() == [row]
    area = view.mapFromScene(view.vb.sceneBoundingRect()).boundingRect()
    empty = next(p for p in (area.topLeft() + QPoint(3, 3), area.bottomRight() - QPoint(3, 3))
                 if view.nearest(view.vb.mapSceneToView(view.mapToScene(p)), 12) < 0)
    assert picked(panel, qtbot, lambda: click(qtbot, view.viewport(), empty)).size == 0


def test_lasso_by_shift_drag_and_by_the_lasso_tool(panel, qtbot):
    view = panel.view
    centre = pixel_of(view, view.xy[0])
    path = [centre + QPoint(*d) for d in ((-70, -50), (60, -60), (70, 40), (-40, 70))]
    went: list[QPoint] = []
    rows = picked(panel, qtbot, lambda: went.extend(drag(qtbot, view.viewport(), path, Qt.ShiftModifier)))
    polygon = np.array([view.vb.mapSceneToView(view.mapToScene(p)).toTuple() for p in went])
    inside = winding_inside(view.xy, polygon)  # the points inside the path the pointer took
    assert inside.size > 10 and np.array_equal(rows, inside)
    assert not view.vb._lasso.isVisible()  # the outline goes when the drag ends
    lasso = next(b for b in panel.tool_group.buttons() if b.text() == "Lasso")
    qtbot.mouseClick(lasso, Qt.LeftButton)
    assert lasso.isChecked()
    before = np.array(view.vb.viewRange())
    assert np.array_equal(picked(panel, qtbot, lambda: drag(qtbot, view.viewport(), path)), inside)
    assert np.allclose(np.array(view.vb.viewRange()), before)  # a lasso does not pan
    pan = next(b for b in panel.tool_group.buttons() if b.text() == "Pan")
    qtbot.mouseClick(pan, Qt.LeftButton)
    drag(qtbot, view.viewport(), path[:2])
    assert not np.allclose(np.array(view.vb.viewRange()), before)  # Pan pans


def test_box_by_ctrl_drag_by_the_box_tool_and_keys(panel, qtbot):
    view = panel.view
    area = view.mapFromScene(view.vb.sceneBoundingRect()).boundingRect()
    a, b = area.center() - QPoint(120, 90), area.center() + QPoint(100, 80)
    (x0, y0), (x1, y1) = (view.vb.mapSceneToView(view.mapToScene(p)).toTuple() for p in (a, b))
    expected = [i for i, (x, y) in enumerate(view.xy) if min(x0, x1) <= x <= max(x0, x1) and min(y0, y1) <= y <= max(y0, y1)]
    assert len(expected) > 10
    assert picked(panel, qtbot, lambda: drag(qtbot, view.viewport(), [a, b], Qt.ControlModifier)).tolist() == expected
    box = next(button for button in panel.tool_group.buttons() if button.text() == "Box")
    qtbot.mouseClick(box, Qt.LeftButton)
    assert picked(panel, qtbot, lambda: drag(qtbot, view.viewport(), [a, b])).tolist() == expected
    boxed = panel._selection.copy()
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_I, Qt.ControlModifier)
    assert np.array_equal(panel._selection, invert(boxed, panel.n_rows))
    qtbot.keyClick(view, Qt.Key_A, Qt.ControlModifier)
    assert panel._selection.size == panel.n_rows
    qtbot.keyClick(view, Qt.Key_Escape)
    assert panel._selection.size == 0


def test_growing_map_keeps_zoom_and_selection(panel, qapp):
    vb = panel.view.vb
    vb.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
    before = np.array(vb.viewRange())
    panel.set_selection(np.array([3, 5, 8]))
    grown = np.vstack([panel.view.xy, panel.view.xy[:100] + 0.01])
    panel.context.set_data(len(grown), {"collection": np.array(["a", "b"] * (len(grown) // 2))})
    panel.show_result(ProjectionResult(grown, "seeded", partial=True, keeps_frame=True))
    panel.show_result(ProjectionResult(grown + 0.1, "umap", keeps_frame=True))
    qapp.processEvents()
    after = np.array(vb.viewRange())  # the legend may change width: same centre and scale, not same box
    assert not vb.autoRangeEnabled()[0] and np.allclose(after.mean(axis=1), before.mean(axis=1))
    assert np.allclose(after[1], before[1])
    assert panel._selection.tolist() == [3, 5, 8] and panel.n_rows == 2100
    assert len(panel.view.group_items) == 2
    panel.show_result(ProjectionResult(grown * 3, "umap"))  # a fresh frame (PCA -> UMAP) re-frames once
    qapp.processEvents()
    assert vb.autoRangeEnabled()[0] and not np.allclose(np.array(vb.viewRange()), before)


def test_hover_by_a_real_mouse_move_shows_plain_text_and_labels(panel, qtbot):
    panel.context.set_text_lookup(lambda rows: ["<b>bold</b> " + "x" * 400 for _ in rows])
    view = panel.view
    row = lonely_row(view.xy, 16, view)
    move(qtbot, view.viewport(), pixel_of(view, view.xy[row]))
    label = panel._hover_label
    qtbot.waitUntil(label.isVisible)  # hover is rate-limited: it comes a few ms later
    assert label.textFormat() == Qt.PlainText and label.text().startswith("<b>bold</b>")
    assert f"collection: {panel.context.labels['collection'][row]}" in label.text()
    first = label.text().splitlines()[0]
    assert len(first) <= 300 and first.endswith("x…")  # capped, the 400-character word too


def test_typing_a_search_lists_ranked_matches_and_a_click_selects(panel, qtbot):
    qtbot.keyClicks(panel.search_edit, "APPLES")
    qtbot.waitUntil(panel.results.isVisible)
    occurrences = [t.lower().count("apples") for t in panel.texts]  # an independent scan of the texts
    expected = sorted((i for i, c in enumerate(occurrences) if c), key=lambda i: (-occurrences[i], i))
    assert panel.results.rows.tolist() == expected
    assert panel.results.count_label.text().startswith(f"{len(expected):,} documents contain")
    model = panel.results.list.model()
    assert model.rowCount() == len(expected) and model.data(model.index(0, 1)) == "2"  # "… and apples": twice
    first = panel.results.list.visualRect(model.index(2, 2)).center()
    rows = picked(panel, qtbot, lambda: qtbot.mouseClick(panel.results.list.viewport(), Qt.LeftButton, pos=first))
    assert rows.tolist() == [expected[2]]
    panel.search_edit.clear()
    assert not panel.results.isVisible() and panel._search_rows.size == 0


def test_search_by_meaning_runs_when_typing_pauses(panel, qtbot):
    qtbot.mouseClick(panel.meaning_button, Qt.LeftButton)
    assert panel.meaning_button.isChecked()
    with qtbot.waitSignal(panel.context.sig_request_semantic_search, timeout=5_000) as blocker:
        qtbot.keyClicks(panel.search_edit, "fruit")
    assert blocker.args == ["fruit"]
    assert "Searching by meaning" in panel.results.count_label.text()
    panel.context.sig_search_results.emit(np.array([7, 3]), np.array([0.91, 0.5]))
    model = panel.results.list.model()
    assert panel._search_rows.tolist() == [7, 3] and model.data(model.index(0, 1)) == "0.910"
    assert model.data(model.index(1, 2)) == panel.texts[3]


def test_neighbour_lines_follow_the_selection(panel, qtbot):
    links = panel.view._links
    panel.set_selection(np.array([5]))
    panel.context.show_links(5, np.array([1, 2, 3]))
    assert len(links.xData) == 6
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key_Escape)
    assert links.xData is None or len(links.xData) == 0  # Esc: nothing selected, no lines
    panel.context.show_links(9, np.array([1, 2]))  # a stale request for an unselected row draws nothing
    assert links.xData is None or len(links.xData) == 0
    panel.set_selection(np.array([9, 10]))
    panel.context.show_links(9, np.array([1, 2]))
    panel.color_box.setCurrentIndex(panel.color_box.findData("label:norm"))
    assert len(links.xData) == 4  # recolouring keeps lines that belong to the selection
    panel.set_selection(np.array([11]))  # a new selection without their source removes them
    assert links.xData is None or len(links.xData) == 0


def test_measure_colour_bar_states_its_range_and_clipping(panel):
    values = np.arange(panel.n_rows, dtype=np.float32)
    values[:3] = 10_000  # three far above the 99th percentile
    panel.context.color_by("N_k", values)
    bar = panel.colour_bar
    assert panel.view.key is bar and bar.scene() is panel.view.scene()  # drawn inside the figure
    title, top, bottom = bar.texts()
    assert "N_k" in title and "≥" in top and "points up to 10,000" in top
    above = int(np.sum(values > np.ceil(np.percentile(values, 99))))
    assert f"{above:,} points" in top and "≤" in bottom


def test_legend_has_a_title_and_missing_values(panel):
    labels = dict(panel.context.labels)
    labels["lang"] = np.array(["en", "de", ""] * (panel.n_rows // 3) + ["en"] * (panel.n_rows % 3))
    panel.context.set_data(panel.n_rows, labels)
    panel.set_color_by("lang")
    assert "lang" in panel.legend.title.text and panel.legend.names() == ["en", "de", "(missing)"]


def test_recompute_button_and_fixed_status_line(panel, qtbot):
    with qtbot.waitSignal(panel.sig_recompute_requested, timeout=2_000):
        qtbot.mouseClick(panel.recompute_button, Qt.LeftButton)
    toolbar_y, map_rect = panel.color_box.mapTo(panel, QPoint(0, 0)).y(), panel.view.geometry()
    for text in ("Computing…", "UMAP layout of 2,000 points… 3 s " + "long " * 80, ""):
        panel.show_status(text)
        panel.layout().activate()  # lay the panel out now, as the next paint would
        assert panel.color_box.mapTo(panel, QPoint(0, 0)).y() == toolbar_y and panel.view.geometry() == map_rect


def test_context_menu_requests_actions(panel, qtbot):
    panel.set_selection(np.array([4, 9]))
    panel._on_view_menu_requested(panel.mapToGlobal(panel.rect().center()))
    from PySide6.QtWidgets import QMenu

    menu = panel.findChildren(QMenu)[-1]
    action = next(a for a in menu.actions() if a.text() == "New collection from selection")
    with qtbot.waitSignal(panel.context.sig_request_action) as blocker:
        action.trigger()
    assert blocker.args[0] == "new_collection" and blocker.args[1].tolist() == [4, 9]
    menu.close()


def test_density_mode_replaces_points_above_the_threshold(panel, monkeypatch):
    import gui.scatter as scatter

    monkeypatch.setattr(scatter, "DENSITY_THRESHOLD", 1000)
    panel.view.reset_view()
    panel.view._update_density()
    assert panel.view.density_active and not panel.view.group_items[0].isVisible()
    panel.render_box.setCurrentText("Points")
    assert not panel.view.density_active and panel.view.group_items[0].isVisible()


def test_uniform_scatter_item_matches_pyqtgraph_atlas_lookup(qtbot):
    import pyqtgraph as pg

    from gui.scatter import UniformScatterItem

    xy = np.random.default_rng(3).normal(size=(500, 2))
    brush, pen = pg.mkBrush(200, 30, 30, 180), pg.mkPen(None)
    fast = UniformScatterItem(x=xy[:, 0], y=xy[:, 1], size=7, brush=brush, pen=pen, pxMode=True)
    slow = pg.ScatterPlotItem(x=xy[:, 0], y=xy[:, 1], size=7, brush=brush, pen=pen, pxMode=True)
    for item in (fast, slow):
        item.setSize(9)  # restyling resets the atlas entries of every point
    assert (fast.data["sourceRect"]["w"] > 0).all()
    np.testing.assert_array_equal(fast.data["sourceRect"], slow.data["sourceRect"])
