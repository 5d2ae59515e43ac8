"""The panels' charts show every value, in integer bins where the quantity is a count, on
sensible axes, and stay readable in both themes: checked on the rendered pixels."""
from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QTableWidget, QTreeWidget, QTreeWidgetItem

from core.plugin_api import AnalysisData
from core.progress import null_progress
from gui.panel_base import PanelContext
from gui.theme import PLOT_COLORS, apply_theme
from plugins.anisotropy.analysis import AnisotropyParams, compute
from plugins.anisotropy.panel import AnisotropyPanel
from plugins.hubness.panel import HubnessPanel

DOCK_SIZE = (380, 640)  # about what the right-hand dock gives a panel in a 1280-px window


@pytest.fixture
def light_theme():
    """Plots in the light theme (white background); pyqtgraph's defaults restored after."""
    app = QApplication.instance()
    apply_theme(app, "light")
    yield app
    apply_theme(app, "light")
    pg.setConfigOptions(background="k", foreground="d")


def _anisotropy_panel(qtbot, vectors: np.ndarray) -> AnisotropyPanel:
    params = AnisotropyParams()
    result = compute(AnalysisData(vectors=vectors, doc_ids=np.arange(len(vectors))), params, null_progress())
    panel = AnisotropyPanel(PanelContext(), params)
    qtbot.addWidget(panel)
    panel.show_result(result)
    panel.resize(*DOCK_SIZE)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _pixel(widget: pg.PlotWidget, x: float, y: float) -> QPointF:
    """Data point (x, y) of ``widget``'s plot in the widget's own pixels."""
    scene = widget.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    return QPointF(widget.mapFromScene(scene))


def _lightness(image: QImage, x: int, y: int) -> int:
    return image.pixelColor(x, y).lightness()


def test_every_rogue_dimension_is_drawn_at_the_default_size(qtbot, light_theme):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((800, 384)).astype(np.float32) * 0.05
    vectors[:, 1] += 1.5
    vectors[:, 84] -= 1.2
    panel = _anisotropy_panel(qtbot, vectors)
    report = panel._result.reports["none"]
    assert {1, 84} <= set(report.outlier_dimensions.tolist())
    panel._tabs.setCurrentIndex(panel._tabs.indexOf(panel._dims.parentWidget()))
    qtbot.waitUntil(panel._dims.isVisible)
    image = panel._dims.grab().toImage()
    red = QColor("#d62728")
    for dim in (1, 84):  # rogue by their mean, so tall bars in the default "mean" view
        top, bottom = _pixel(panel._dims, dim, report.dim_mean[dim]), _pixel(panel._dims, dim, 0.0)
        column = range(int(round(top.x())) - 1, int(round(top.x())) + 2)
        rows = range(int(min(top.y(), bottom.y())) + 2, int(max(top.y(), bottom.y())) - 1)
        assert len(rows) > 20, "the rogue bar should be tall at this size"
        reds = sum(image.pixelColor(x, y) == red for x in column for y in rows)
        assert reds >= len(rows) * 0.9, f"dimension {dim}: only {reds} red pixels over {len(rows)} rows"


def test_pca_spectrum_stops_at_a_millionth_of_the_largest_ratio(qtbot, light_theme):
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.standard_normal((64, 8)))[0]
    vectors = (rng.standard_normal((400, 8)) @ basis.T + 0.1).astype(np.float32)  # rank 8 in 64-d
    panel = _anisotropy_panel(qtbot, vectors)
    ratios = panel._result.reports["none"].variance_ratios
    tiny = int((ratios < 1e-6 * ratios.max()).sum())
    assert tiny > 40  # the float32 rounding tail the log axis used to run down to
    plot = panel._spectrum.getPlotItem()
    panel._tabs.setCurrentWidget(panel._spectrum)
    qtbot.waitUntil(panel._spectrum.isVisible)
    low, high = plot.vb.viewRange()[1]
    assert low >= np.log10(1e-6 * ratios.max()) - 0.5 and high >= np.log10(ratios.max())
    legend = " ".join(label.text for _, label in plot.legend.items)
    assert f"{tiny} below" in legend
    axis = plot.getAxis("left")
    shown = [s for level in axis.tickValues(low, high, 400) for s in axis.tickStrings(level[1], 1.0, level[0])]
    assert shown and all(re.fullmatch(r"([25]·)?10⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+|", s) for s in shown), shown


def test_k_occurrence_histogram_has_one_bar_per_integer(qtbot, light_theme):
    panel = HubnessPanel.preview()
    qtbot.addWidget(panel)
    result = panel._result
    assert result.occurrence.max() >= 60  # wide enough that the old 60-bin cap merged N_k = 0 and 1
    counts = np.bincount(result.occurrence[result.points])  # one count per distinct text
    opts = panel._raw_bars.opts
    x, heights = np.asarray(opts["x"]), np.asarray(opts["height"])
    values = x + 0.25  # the raw bar sits in the left half of its value's slot
    # one bar per N_k value that occurs, on that integer, never wider than its slot; N_k = 0 first
    assert np.allclose(values, np.round(values)) and opts["width"] <= 0.5
    np.testing.assert_array_equal(np.round(values).astype(int), np.flatnonzero(counts))
    np.testing.assert_array_equal(heights, counts[counts > 0])
    assert values[0] == 0 and heights[0] == counts[0] == result.antihub_rows.size
    assert panel._tabs.tabText(2) == f"Antihubs ({counts[0]})"


def test_legend_and_mean_line_leave_the_bars_uncovered(qtbot, light_theme):
    panel = HubnessPanel.preview()
    qtbot.addWidget(panel)
    panel.resize(*DOCK_SIZE)
    panel.show()
    qtbot.waitExposed(panel)
    plot = panel._plot
    assert not plot.vb.sceneBoundingRect().intersects(plot.legend.sceneBoundingRect())
    # "mean = k" is a legend entry, never text over a bar
    assert not [child for child in panel._k_line.childItems() if isinstance(child, pg.TextItem)]
    names = [label.text for _, label in plot.legend.items]
    assert names[-1] == f"mean N_k = k = {panel._result.k}"


def _header_contrast(table: QTableWidget) -> tuple[int, int]:
    """(lightness of the header's background, of its darkest or lightest text pixel)."""
    image = table.horizontalHeader().grab().toImage()
    values = [_lightness(image, x, y) for x in range(2, min(80, image.width())) for y in range(image.height())]
    background = int(np.median(values))
    text = min(values) if background > 128 else max(values)
    return background, text


def test_switching_themes_keeps_headers_titles_and_check_boxes_readable(qtbot, light_theme):
    app = light_theme
    table = QTableWidget(2, 2)
    table.setHorizontalHeaderLabels(["Measure", "Value"])
    tree = QTreeWidget()
    item = QTreeWidgetItem(["unticked collection"])
    item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
    item.setCheckState(0, Qt.Unchecked)
    tree.addTopLevelItem(item)
    panel = AnisotropyPanel.preview()
    for widget in (table, tree, panel):
        qtbot.addWidget(widget)
        widget.show()
    panel.resize(*DOCK_SIZE)
    panel._tabs.setCurrentWidget(panel._hist)
    qtbot.waitUntil(panel._hist.isVisible)
    for theme in ("dark", "light", "dark", "light"):
        apply_theme(app, theme)
        background, text = _header_contrast(table)
        assert abs(background - text) > 120, (theme, background, text)
        # the plot title stands out from the theme's plot background
        title = panel._hist.getPlotItem().titleLabel
        image = panel._hist.grab().toImage()
        rect = panel._hist.mapFromScene(title.sceneBoundingRect()).boundingRect()
        lights = [_lightness(image, x, y) for x in range(rect.left(), rect.right()) for y in range(rect.top(), rect.bottom())]
        plot_background = QColor(PLOT_COLORS[theme][0]).lightness()
        assert max(abs(v - plot_background) for v in lights) > 120, theme
    apply_theme(app, "dark")
    image = tree.viewport().grab().toImage()
    row = tree.visualItemRect(item)  # the check box sits at the row's left, before the text
    lights = [_lightness(image, x, y) for x in range(row.left(), row.left() + 18) for y in range(row.top(), row.bottom())]
    assert max(lights) - min(lights) > 80, "an unticked box must show its outline on the dark base"


def test_map_legend_labels_follow_the_dark_theme(qtbot, light_theme):
    from plugins.map.panel import MapPanel

    apply_theme(light_theme, "dark")
    panel = MapPanel.preview(n=500)
    qtbot.addWidget(panel)
    panel.show()
    legend = panel.legend.legend
    qtbot.waitUntil(lambda: legend.scene() is not None and len(legend.items) > 0, timeout=10_000)
    background = QColor(PLOT_COLORS["dark"][0]).lightness()
    for _, label in legend.items:
        colour = QColor(re.search(r"color: ?(#[0-9a-fA-F]+)", label.item.toHtml()).group(1))
        assert abs(colour.lightness() - background) > 120, label.text
