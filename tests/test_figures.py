"""Figures for print: physical sizes, the same picture in every format as other renderers draw it,
text inside the page and legible, side files per format, white paper in any theme."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyqtgraph as pg
import pytest

from gui.figure_export import PRESETS, export_figure, side_files
from tests.renderers import gray, ink_agreement, pdf_words, raster_pdf, raster_svg

DPI = 150


@pytest.fixture
def plot(qtbot):
    """A shown plot with axes, labels, a legend and points, as a view's figure has."""
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    rng = np.random.default_rng(0)
    item = widget.getPlotItem()
    legend = item.addLegend()
    for i, colour in enumerate(("#0072B2", "#E69F00")):
        xy = rng.normal(size=(150, 2)) + 3 * i
        item.plot(xy[:, 0], xy[:, 1], pen=None, symbol="o", symbolSize=6, symbolBrush=colour, name=f"group {i}")
    item.setLabel("bottom", "first axis")
    item.setLabel("left", "second axis")
    widget.show()
    qtbot.waitExposed(widget)
    yield item, legend  # the widget must outlive the test: the fixture frame keeps it


def test_every_format_shows_the_same_picture_to_other_renderers(plot, tmp_path):
    item, _ = plot
    png = export_figure(item, tmp_path / "fig.png", "single", DPI, title="Two groups")
    pdf = export_figure(item, tmp_path / "fig.pdf", "single", DPI, title="Two groups")
    svg = export_figure(item, tmp_path / "fig.svg", "single", DPI, title="Two groups")
    reference = gray(png)
    assert reference.shape[1] == round(PRESETS["single"].width_in * DPI)  # 3.5 in at 150 dpi
    for drawn in (gray(raster_pdf(pdf, DPI)), gray(raster_svg(svg, DPI))):
        assert abs(drawn.shape[0] - reference.shape[0]) <= 2 and abs(drawn.shape[1] - reference.shape[1]) <= 2
        assert ink_agreement(reference, drawn) > 0.9  # points, axes and text where the PNG has them
        assert (drawn < 0.8).mean() > 0.01  # and there is something drawn at all


def test_pdf_page_is_the_physical_size_with_every_word_inside_and_legible(plot, tmp_path):
    item, _ = plot
    pdf = export_figure(item, tmp_path / "fig.pdf", "single", 300, title="A title for the figure")
    (width, height), words = pdf_words(pdf)
    assert width == pytest.approx(3.5 * 72, abs=1)  # points
    texts = [w[0] for w in words]
    assert {"first", "axis", "title", "group"} <= set(texts)  # (pdftotext skips the rotated left label)
    for word, x0, y0, x1, y1 in words:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, word
        assert y1 - y0 >= 5.5, f"{word!r} is {y1 - y0:.1f} pt tall"  # legible in print
    boxes = [w[1:] for w in words]
    for i, (a0, b0, a1, b1) in enumerate(boxes):
        for c0, d0, c1, d1 in boxes[i + 1:]:
            overlap = max(0, min(a1, c1) - max(a0, c0)) * max(0, min(b1, d1) - max(b0, d0))
            assert overlap < 0.2 * min((a1 - a0) * (b1 - b0), (c1 - c0) * (d1 - d0))


def test_svg_states_its_physical_size(plot, tmp_path):
    from xml.etree import ElementTree

    item, _ = plot
    root = ElementTree.parse(export_figure(item, tmp_path / "fig.svg", "double", DPI)).getroot()
    assert root.get("width").endswith("mm") and float(root.get("width")[:-2]) == pytest.approx(7.2 * 25.4, abs=0.5)


def test_side_files_of_each_format_are_kept_apart(plot, tmp_path):
    item, _ = plot
    for suffix in (".png", ".pdf", ".svg"):
        export_figure(item, tmp_path / f"fig{suffix}", "single", DPI, data={"x": [1, 2]}, manifest={"view": "test"})
    for suffix in (".png", ".pdf", ".svg"):
        data, manifest = side_files(tmp_path / f"fig{suffix}")
        assert data.read_text("utf-8").splitlines() == ["x", "1", "2"]
        facts = json.loads(manifest.read_text("utf-8"))
        assert facts["figure"] == f"fig{suffix}" and facts["width_in"] == 3.5 and facts["dpi"] == DPI


def test_hidden_items_stay_out_and_the_plot_is_restored(plot, tmp_path):
    item, legend = plot
    before = item.geometry()
    pdf = export_figure(item, tmp_path / "fig.pdf", "slide", DPI, hidden=[legend])
    (width, height), words = pdf_words(pdf)
    assert (width, height) == pytest.approx((13.333 * 72, 7.5 * 72), abs=1)
    assert "group" not in [w[0] for w in words]
    assert legend.isVisible() and item.geometry() == before


def test_a_dark_theme_still_exports_dark_text_on_white(plot, tmp_path, qapp):
    from gui.theme import apply_theme

    item, _ = plot
    apply_theme(qapp, "dark")
    try:
        image = gray(export_figure(item, tmp_path / "fig.png", "single", DPI))
        assert image[2, 2] > 0.99 and image[-2, -2] > 0.99  # white paper
        left_axis = image[:, : image.shape[1] // 8]
        assert left_axis.min() < 0.35  # axis text dark enough to read on white
        assert item.getViewWidget().backgroundBrush().color().lightness() < 60  # the window keeps its theme
    finally:
        apply_theme(qapp, "light")


def test_export_plot_works_on_a_machine_without_a_display(tmp_path):
    from tests.test_cli import DEMO, ROOT, run

    workspace = tmp_path / "w.duckdb"
    assert run("ingest", str(DEMO), "--workspace", str(workspace), "--model", "hashing-64").returncode == 0
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "export-plot", "--workspace", str(workspace),
                             "--out", str(tmp_path / "map.pdf"), "--size", "single", "--color-by", "language"],
                            capture_output=True, text=True, env={**env, "HF_HUB_OFFLINE": "1"}, timeout=600)
    assert result.returncode == 0, result.stderr
    (width, _), words = pdf_words(tmp_path / "map.pdf")
    assert width == pytest.approx(252, abs=1) and "language" in [w[0] for w in words]


@pytest.mark.parametrize("view", ["hubness", "anisotropy"])
def test_export_figure_renders_any_view_headless(view, tmp_path):
    from tests.test_cli import DEMO, run

    workspace = tmp_path / "w.duckdb"
    assert run("ingest", str(DEMO), "--workspace", str(workspace), "--model", "hashing-64").returncode == 0
    out = tmp_path / f"{view}.pdf"
    result = run("export-figure", "--workspace", str(workspace), "--view", view, "--out", str(out), "--size", "single")
    assert result.returncode == 0, result.stderr
    (width, height), words = pdf_words(out)
    assert width == pytest.approx(252, abs=1) and len(words) > 5  # axes and their labels, as text
    assert all(0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height for _, x0, y0, x1, y1 in words)
    assert json.loads((tmp_path / f"{view}.pdf.manifest.json").read_text("utf-8"))["width_in"] == 3.5
    unknown = run("export-figure", "--workspace", str(workspace), "--view", "nope", "--out", str(out))
    assert unknown.returncode == 1 and "nope" in unknown.stderr
