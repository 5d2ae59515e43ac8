"""Clusters on screen: labels on the map (no overlaps, finer when zoomed in) and the panel, through real input."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from core.knn import exact_knn
from core.map_annotations import MapLabels
from core.plugin_api import AnalysisData
from core.progress import null_progress
from core.result_cache import Shelf
from gui.panel_base import PanelContext
from plugins.clusters.analysis import ClustersParams, compute
from plugins.clusters.panel import ClustersPanel, sample_data
from plugins.map.analysis import MapParams, ProjectionResult


@pytest.fixture(scope="module")
def clustered():
    data = sample_data(1200)
    params = ClustersParams()
    data = AnalysisData(data.vectors, data.doc_ids, knn=exact_knn(data.vectors, params.k), coords=data.coords,
                        extras=data.extras)
    return data, compute(data, params, null_progress())


@pytest.fixture
def linked(qtbot, clustered):
    """A map panel and a clusters panel sharing one context, the map showing the layout."""
    from plugins.map.panel import MapPanel

    data, result = clustered
    texts = data.extras["texts"]
    context = PanelContext(lambda rows: texts(data.doc_ids[np.asarray(rows)]))
    context.set_data(data.n, {})
    map_panel = MapPanel(context, MapParams())
    map_panel.resize(900, 700)
    map_panel.show_result(ProjectionResult(data.coords, "umap"))
    panel = ClustersPanel(context, ClustersParams())
    for widget in (map_panel, panel):
        qtbot.addWidget(widget)
        widget.show()
        qtbot.waitExposed(widget)
    panel.show_result(result)
    return map_panel, panel, result


def _outside(layer, rects) -> list:
    box = layer.vb.sceneBoundingRect()
    return [r[0] for r in rects if r[1] < box.left() - 1 or r[3] > box.right() + 1
            or r[2] < box.top() - 1 or r[4] > box.bottom() + 1]


def _overlaps(rects) -> list:
    return [(a[0], b[0]) for a, b in itertools.combinations(rects, 2)
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]


def test_labels_never_overlap_and_zooming_in_shows_finer_ones(linked, qtbot):
    map_panel, _, result = linked
    layer = map_panel.label_layer
    qtbot.waitUntil(lambda: len(layer.shown) > 0)
    assert layer.level == 0 and not _overlaps(layer.screen_rects())
    names = np.array([c.label for c in result.clusters])
    labels = result.map_labels()
    coarse = {t[0] for t in layer.screen_rects()}
    assert coarse <= set(names[labels.shown_at(0)]) and len(coarse) >= 2
    # zoom with the wheel over one of the finest clusters, as a person would
    fine = next(c for c in result.clusters if c.level == result.n_levels - 1)
    view = map_panel.view
    for _ in range(12):
        spot = view.mapFromScene(view.vb.mapViewToScene(QPointF(fine.x, fine.y)))
        wheel = QWheelEvent(QPointF(spot), QPointF(view.viewport().mapToGlobal(spot)), QPoint(0, 0), QPoint(0, 120),
                            Qt.NoButton, Qt.NoModifier, Qt.ScrollUpdate, False)
        QApplication.sendEvent(view.viewport(), wheel)
        if np.ptp(view.vb.viewRange()[0]) < 12:
            break
    qtbot.waitUntil(lambda: layer.level == result.n_levels - 1)
    shown = {t[0] for t in layer.screen_rects()}
    assert fine.label in shown and shown <= set(names[labels.shown_at(layer.level)]) and not shown & coarse
    assert not _overlaps(layer.screen_rects()) and not _outside(layer, layer.screen_rects())


def test_crowded_labels_are_dropped_not_stacked(linked, qtbot):
    map_panel, _, _ = linked
    rng = np.random.default_rng(1)
    m = 300
    labels = MapLabels(rng.uniform(-20, 20, m), rng.uniform(-20, 20, m), tuple(f"label number {i}" for i in range(m)),
                       np.zeros(m, np.int64), rng.uniform(0, 1, m), tuple(f"k{i}" for i in range(m)))
    map_panel.context.annotate("clusters", labels)
    layer = map_panel.label_layer
    qtbot.waitUntil(lambda: len(layer.shown) > 5)
    rects = layer.screen_rects()
    assert len(rects) < m and not _overlaps(rects) and not _outside(layer, rects)
    best = f"label number {int(np.argmax(labels.priority))}"  # the highest priority always fits first
    assert best in {r[0] for r in rects} or not (-20 <= labels.x.max() <= 20)
    map_panel.context.annotate("clusters", None)
    qtbot.waitUntil(lambda: not layer.screen_rects())


def test_clicking_a_cluster_selects_its_documents_and_lists_representatives(linked, qtbot):
    _, panel, result = linked
    table = panel.table
    item = table.item(0, 0)
    cid = int(item.data(Qt.UserRole))
    with qtbot.waitSignal(panel.context.sig_request_selection) as picked:
        qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=table.visualItemRect(item).center())
    assert picked.args[0].tolist() == result.members(cid).tolist()
    assert panel.docs.count() == 3
    assert [panel.docs.item(i).data(Qt.UserRole) for i in range(3)] == list(result.clusters[cid].representatives)


def test_table_sorts_by_a_measure_when_its_header_is_clicked(linked, qtbot):
    _, panel, _ = linked
    table = panel.table
    col = 7  # kNN kept
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(x, header.height() // 2))
    values = [float(table.item(r, col).data(Qt.DisplayRole)) for r in range(table.rowCount())]
    assert values == sorted(values) or values == sorted(values, reverse=True)
    assert len(set(values)) > 1


def test_colour_by_cluster_reaches_the_map_as_categories(linked, qtbot):
    map_panel, panel, result = linked
    qtbot.mouseClick(panel.color_button, Qt.LeftButton)
    name, values = map_panel.color_values()
    assert name == "cluster" and values.dtype.kind == "U"
    finest = {c.label for c in result.clusters if c.level == panel.level}
    assert set(values.tolist()) <= finest | {"noise"}
    assert {g.name for g in map_panel._groups} == set(values.tolist())


def test_rename_by_typing_is_kept_in_the_workspace(linked, qtbot, store):
    map_panel, panel, result = linked
    panel.context.shelf = Shelf(store)
    table = panel.table
    item = table.item(0, 0)
    cid = int(item.data(Qt.UserRole))
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=table.visualItemRect(item).center())
    qtbot.keyClick(table, Qt.Key_F2)  # the edit key (a double-click does the same)
    qtbot.waitUntil(lambda: table.state() == table.State.EditingState)
    editor = table.viewport().findChild(QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "Pastry corner")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: panel.renamed == {cid: "Pastry corner"})
    qtbot.waitUntil(lambda: "Pastry corner" in {t[0] for t in map_panel.label_layer.screen_rects()}
                    or result.clusters[cid].level != map_panel.label_layer.level)
    # a new panel on the same workspace finds the name again
    again = ClustersPanel(panel.context, ClustersParams())
    qtbot.addWidget(again)
    again.show_result(result)
    assert again.renamed == {cid: "Pastry corner"}
    assert any(again.table.item(r, 0).text() == "Pastry corner" for r in range(again.table.rowCount()))


def test_preview_draws_a_filled_table(qtbot):
    panel = ClustersPanel.preview()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    image = panel.table.viewport().grab().toImage()
    dark = sum(1 for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)
               if image.pixelColor(x, y).lightness() < 100)
    assert panel.table.rowCount() == 6 and dark > 50
    assert panel.table_rows()[0]["keywords"]


def test_labels_on_screen_stay_when_the_map_grows(linked, qtbot):
    map_panel, _, _ = linked
    layer = map_panel.label_layer
    (x0, x1), (y0, y1) = map_panel.view.vb.viewRange()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    first = MapLabels(np.array([cx]), np.array([cy]), ("old region",), np.zeros(1, np.int64), np.array([10.0]), ("a",))
    map_panel.context.annotate("clusters", first)
    qtbot.waitUntil(lambda: layer.shown == ["a"])
    # the map grew: the region moved a little and a bigger one now overlaps it
    grown = MapLabels(np.array([cx + 0.01 * (x1 - x0), cx]), np.array([cy, cy]), ("old region", "new big region"),
                      np.zeros(2, np.int64), np.array([10.0, 99.0]), ("a", "b"))
    map_panel.context.annotate("clusters", grown)
    qtbot.waitUntil(lambda: layer.shown == ["a"])  # placed first: it keeps its place, the newcomer yields
    assert [r[0] for r in layer.screen_rects()] == ["old region"]
