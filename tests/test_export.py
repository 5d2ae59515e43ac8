"""Exports: tables, manifests, safe paths, and PNG/SVG/PDF figures of the map."""
from __future__ import annotations

import csv
import datetime as dt
import json
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from core.export import safe_output_path, write_manifest, write_table

COLUMNS = {"row": np.array([3, 1, 2]), "score": np.array([0.5, np.nan, 2.0], np.float32),
           "text": ["a, \"quoted\"", "ünï", "line\nbreak"]}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_write_table_csv_parquet_jsonl_round_trip(tmp_path):
    rows = read_csv(write_table(tmp_path / "t.csv", COLUMNS))
    assert [r["text"] for r in rows] == COLUMNS["text"] and [r["score"] for r in rows] == ["0.5", "", "2.0"]
    import pyarrow.parquet as pq

    table = pq.read_table(write_table(tmp_path / "t.parquet", COLUMNS)).to_pydict()
    assert table["row"] == [3, 1, 2] and table["score"][1] is None and table["text"][1] == "ünï"
    lines = write_table(tmp_path / "t.jsonl", COLUMNS).read_text("utf-8")
    records = [json.loads(line) for line in lines.splitlines()]
    assert records[2] == {"row": 2, "score": 2.0, "text": "line\nbreak"} and records[1]["score"] is None


def test_write_table_refuses_bad_suffix_and_ragged_columns(tmp_path):
    with pytest.raises(ValueError, match=r"\.xlsx"):
        write_table(tmp_path / "t.xlsx", COLUMNS)
    with pytest.raises(ValueError, match="length"):
        write_table(tmp_path / "t.csv", {"a": [1, 2], "b": [1]})


def test_manifest_records_versions_date_and_info(tmp_path):
    path = write_manifest(tmp_path / "m.json", {"model": "all-MiniLM-L6-v2", "n": np.int64(5)})
    manifest = json.loads(path.read_text("utf-8"))
    assert manifest["app_version"] == "0.1.0" and manifest["model"] == "all-MiniLM-L6-v2" and manifest["n"] == 5
    assert {"numpy", "umap-learn", "duckdb", "PySide6-Essentials"} <= set(manifest["libraries"])
    assert dt.datetime.fromisoformat(manifest["created"]).tzinfo is not None


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "", ".", "a/../../x"])
def test_safe_output_path_refuses_escapes(tmp_path, name):
    with pytest.raises(ValueError):
        safe_output_path(tmp_path, name)


def test_safe_output_path_accepts_plain_names(tmp_path):
    assert safe_output_path(tmp_path, "map.png") == (tmp_path / "map.png").resolve()


# ------------------------------------------------------------------ figures


@pytest.fixture
def small_map(qtbot):
    from gui.panel_base import PanelContext
    from plugins.map.analysis import MapParams, ProjectionResult
    from plugins.map.panel import MapPanel

    rng = np.random.default_rng(0)
    context = PanelContext()
    n = 60
    context.set_data(n, {"collection": np.array(["alpha", "beta", "gamma"])[np.arange(n) % 3]})
    panel = MapPanel(context, MapParams())
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_result(ProjectionResult(rng.normal(size=(n, 2)).astype(np.float32), "umap"))
    return panel


def png_info(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    phys = data.find(b"pHYs")
    ppm_x, ppm_y, unit = struct.unpack(">IIB", data[phys + 4 : phys + 13])
    return width, height, ppm_x, unit


def test_png_export_has_requested_width_dpi_data_and_manifest(small_map, tmp_path):
    from gui.figure_export import export_figure

    plot = small_map.figure_items()["map"]
    path = export_figure(plot, tmp_path / "fig.png", 8.0, dpi=150, title="<Map> & co",
                         data=small_map.table_columns(), manifest={"view": "map"})
    width, height, ppm, unit = png_info(path)
    assert width == 1200 and height > 100 and unit == 1 and abs(ppm * 0.0254 - 150) < 1  # 8 in at 150 dpi
    assert len(read_csv(tmp_path / "fig.png.csv")) == 60
    manifest = json.loads((tmp_path / "fig.png.manifest.json").read_text("utf-8"))
    assert manifest["title"] == "<Map> & co" and manifest["dpi"] == 150 and manifest["view"] == "map"
    assert not plot.titleLabel.isVisible()  # the title was for the file only


def test_svg_export_draws_every_point(small_map, tmp_path):
    from gui.figure_export import export_figure

    path = export_figure(small_map.figure_items()["map"], tmp_path / "fig.svg")
    root = ET.parse(path).getroot()
    marks = [e for e in root.iter() if e.tag.endswith("path")]
    assert len(marks) >= 60


def test_pdf_export_is_a_pdf(small_map, tmp_path):
    from gui.figure_export import export_figure

    path = export_figure(small_map.figure_items()["map"], tmp_path / "fig.pdf", "double", dpi=300)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1024
    with pytest.raises(ValueError):
        export_figure(small_map.figure_items()["map"], tmp_path / "fig.gif")


def test_selection_csv_has_the_selected_rows(small_map, tmp_path):
    selection = np.array([2, 7, 11, 40])
    small_map.set_selection(selection)
    rows = read_csv(write_table(tmp_path / "sel.csv", small_map.table_columns(selection)))
    assert [int(r["row"]) for r in rows] == selection.tolist()
    assert all(r["selected"] == "True" for r in rows) and {r["label"] for r in rows} <= {"alpha", "beta", "gamma"}
    assert len(small_map.table_rows()) == 60
