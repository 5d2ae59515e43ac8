"""The interactive HTML map: one offline file, opened in a real browser (headless Chromium)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from core.html_map import MISSING_LABEL, HtmlMap, MapLabel, write_html_map
from tests.browser import probe_page
from tests.test_cli import run

#: where point ``row`` is drawn, as the browser computes it, then a real mouse move there
HOVER_ROW = """
const m = window.embeddingMap, gd = document.getElementById('map');
const [trace, index] = m.points[ROW];
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
const x = box.left + xa._offset + xa.l2p(gd._fullData[trace].x[index]);
const y = box.top + ya._offset + ya.l2p(gd._fullData[trace].y[index]);
gd.querySelector('.nsewdrag').dispatchEvent(new MouseEvent('mousemove', {clientX: x, clientY: y, bubbles: true}));
await new Promise(r => setTimeout(r, 300));
const hover = [...document.querySelectorAll('.hoverlayer text')].map(t => t.textContent).join(' ');
"""


@pytest.fixture
def spec() -> HtmlMap:
    rng = np.random.default_rng(3)
    n = 2_000
    words = np.array(["harbour", "glacier", "violin", "orbit"])
    topic = rng.integers(0, 4, n)
    language = np.array(["en", "de", "fr", ""], dtype=object)[rng.integers(0, 4, n)]
    xy = (rng.normal(size=(n, 2)) + np.c_[topic * 6.0, topic % 2 * 6.0]).astype(np.float32)
    titles = [f"<i>doc {i}</i>" for i in range(n)]
    snippets = [f"a note about the {words[t]} number {i}" for i, t in enumerate(topic)]
    labels = [MapLabel(float(xy[topic == t, 0].mean()), float(xy[topic == t, 1].mean()), words[t], 0) for t in range(4)]
    return HtmlMap(xy, titles, snippets, "language", language, labels=labels, title="Test map",
                   manifest={"model": "hashing-64"})


def test_page_is_one_offline_file_with_binary_coordinates(spec, tmp_path):
    out = write_html_map(spec, tmp_path / "map.html")
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page) and "<link" not in page  # nothing fetched when it opens
    data = json.loads(re.search(r'<script id="map-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    first = data["figure"]["data"][0]
    assert first["x"]["dtype"] == "f4" and "bdata" in first["x"]  # typed arrays, not JSON numbers
    assert sum(len(t["hovertext"]) for t in data["figure"]["data"]) == len(spec.xy)
    assert "&lt;i&gt;doc 0&lt;/i&gt;" in page and "<i>doc 0</i>" not in page  # user text is escaped


def test_browser_shows_every_point_legend_search_and_hover(spec, tmp_path):
    out = write_html_map(spec, tmp_path / "map.html")
    query = "glacier number 1"
    gaps = np.linalg.norm(spec.xy[:, None] - spec.xy[None], axis=2) + np.eye(len(spec.xy)) * 1e9
    lonely = int(gaps.min(axis=1).argmax())  # the point with the most room around it: no other under the mouse
    report = probe_page(out, HOVER_ROW.replace("ROW", str(lonely)) + f"""
        const hits = m.search({json.dumps(query)});
        return {{points: Object.keys(m.points).length, legend: gd._fullData.filter(t => t.showlegend).map(t => t.name),
                 hits: hits.length, listed: document.querySelectorAll('#results .row').length,
                 count: document.getElementById('search-count').textContent, hover: hover,
                 labels: (gd.layout.annotations || []).map(a => a.text), webgl: gd._fullData[0].type}};""", tmp_path)
    expected = [i for i, s in enumerate(spec.snippets) if query in f"{spec.titles[i]} {s}"]
    assert report["points"] == len(spec.xy)
    assert set(report["legend"]) >= {"en", "de", "fr", MISSING_LABEL}
    assert report["hits"] == len(expected) > 200 and report["listed"] == 200
    assert report["count"] == f"{len(expected)} matching documents (first 200 listed)"
    assert f"<i>doc {lonely}</i>" in report["hover"] and spec.snippets[lonely] in report["hover"]  # shown as text, not markup
    assert sorted(report["labels"]) == ["glacier", "harbour", "orbit", "violin"]
    assert report["webgl"] == "scattergl"


def test_lasso_selection_fills_the_table(spec, tmp_path):
    out = write_html_map(spec, tmp_path / "map.html")
    report = probe_page(out, """
        const m = window.embeddingMap, gd = document.getElementById('map');
        const rows = [3, 5, 8];
        gd.emit('plotly_selected', {points: rows.map(r => ({customdata: r}))});
        return {count: document.getElementById('selection-count').textContent,
                shown: [...document.querySelectorAll('#selection .row')].map(d => Number(d.dataset.row))};""", tmp_path)
    assert report["count"] == "(3 documents)" and report["shown"] == [3, 5, 8]


def test_numeric_colour_gets_a_colour_bar_and_missing_values_their_own_entry(tmp_path):
    values = np.array([1.0, 2.0, np.nan, 4.0], dtype=np.float64)
    spec = HtmlMap(np.eye(4, 2, dtype=np.float32), ["a", "b", "c", "d"], ["", "", "", ""], "n_words", values)
    out = write_html_map(spec, tmp_path / "n.html")
    report = probe_page(out, """const gd = document.getElementById('map');
        return {bars: document.querySelectorAll('.colorbar').length, title: document.querySelector('.cbtitle').textContent,
                names: gd._fullData.map(t => t.name)};""", tmp_path)
    assert report["bars"] == 1 and report["title"] == "n_words" and MISSING_LABEL in report["names"]


def test_export_html_command_writes_the_workspace_map(tmp_path):
    from tests.test_cli import DEMO

    workspace = tmp_path / "w.duckdb"
    ingested = run("ingest", str(DEMO), "--workspace", str(workspace), "--model", "hashing-64")
    assert ingested.returncode == 0, ingested.stderr
    n_demo = int(re.search(r"([\d,]+) documents", ingested.stdout).group(1).replace(",", ""))
    result = run("export-html", "--workspace", str(workspace), "--out", str(tmp_path / "demo.html"), "--color-by", "language")
    assert result.returncode == 0, result.stderr
    report = probe_page(tmp_path / "demo.html", """const m = window.embeddingMap, gd = document.getElementById('map');
        return {points: Object.keys(m.points).length, legend: gd.layout.legend.title.text, manifest: m.manifest};""", tmp_path)
    assert report["points"] == n_demo and report["legend"] == "language"
    assert report["manifest"]["model"] == "hashing-64" and report["manifest"]["n_points"] == n_demo
    bad = run("export-html", "--workspace", str(workspace), "--out", str(tmp_path / "x.html"), "--color-by", "nope")
    assert bad.returncode == 1 and "cannot colour by 'nope'" in bad.stderr


def test_map_panel_button_writes_the_map_as_coloured_in_the_app(qtbot, tmp_path):
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog

    from plugins.map.panel import MapPanel

    panel = MapPanel.preview()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    target = tmp_path / "from-the-app.html"

    def answer_the_file_dialog() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            QTimer.singleShot(50, answer_the_file_dialog)
            return
        dialog.selectFile(str(target))
        dialog.accept()

    QTimer.singleShot(0, answer_the_file_dialog)
    qtbot.mouseClick(panel.html_button, Qt.LeftButton)
    assert target.exists()
    colours = {g.name: g.color.name() for g in panel._groups}
    report = probe_page(target, """const gd = document.getElementById('map');
        return {n: Object.keys(window.embeddingMap.points).length,
                colours: Object.fromEntries(gd._fullData.filter(t => t.showlegend).map(t => [t.name, t.marker.color]))};""",
                        tmp_path)
    assert report["n"] == panel.n_rows
    assert {name: colour.lower() for name, colour in report["colours"].items()} == colours  # the app's colours
