"""The headless command line, run as a user would: in a subprocess through main.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo_corpus.csv"


def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A workspace built by `ingest` from a folder of mixed files (one of them bad)."""
    folder = tmp_path_factory.mktemp("mixed")
    (folder / "demo.csv").write_bytes(DEMO.read_bytes())
    (folder / "notes.txt").write_text("a line about the weather\nanother line about football\n", encoding="utf-8")
    (folder / "broken.jsonl").write_text('{"text": "good json line"}\n{not json\n', encoding="utf-8")
    (folder / "paper.pdf").write_bytes(b"%PDF-1.4 binary")
    path = tmp_path_factory.mktemp("ws") / "cli.duckdb"
    result = run("ingest", str(folder), "--workspace", str(path), "--model", "hashing-64")
    assert result.returncode == 0, result.stderr
    assert "PDF" in result.stderr and "broken.jsonl" in result.stderr  # bad parts named, good parts kept
    assert "329 documents" in result.stdout
    return path


def test_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0
    for command in ("ingest", "analyze", "neighbors", "export-plot", "--smoke-test"):
        assert command in result.stdout


def test_analyze_prints_every_measure_as_json(workspace):
    result = run("analyze", "--workspace", str(workspace), "-k", "10", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 329 and report["dim"] == 64 and report["model"] == "hashing-64"
    hub = report["hubness"]
    for key in ("k", "k_skewness", "robinhood", "gini", "hub_occurrence", "antihub_occurrence", "max_occurrence"):
        assert key in hub
    assert set(hub["reduced"]) >= {"mutual_proximity", "local_scaling", "csls"}
    assert set(report["anisotropy"]) >= {"mean_cosine", "isoscore", "outlier_dimensions", "effective_rank"}
    assert set(report["intrinsic_dimension"]) == {"twonn", "mle", "pca90", "pca95"}


def test_neighbors_of_a_query(workspace):
    result = run("neighbors", "--workspace", str(workspace), "--query", "line about the weather", "-k", "3", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and hits[0]["text"] == "a line about the weather"
    assert hits[0]["similarity"] >= hits[1]["similarity"] >= hits[2]["similarity"]


def test_unknown_collection_is_a_clear_error(workspace):
    result = run("analyze", "--workspace", str(workspace), "--collection", "nope")
    assert result.returncode == 1 and "no collection named 'nope'" in result.stderr


def test_export_plot_writes_svg_with_data_and_manifest(workspace, tmp_path):
    out = tmp_path / "map.svg"
    result = run("export-plot", "--workspace", str(workspace), "--out", str(out), "--color-by", "topic")
    assert result.returncode == 0, result.stderr
    ElementTree.parse(out)  # valid XML
    rows = (tmp_path / "map.svg.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 329
    manifest = json.loads((tmp_path / "map.svg.manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == "hashing-64" and manifest["colour_by"] == "topic"


def test_export_plot_png_has_the_asked_size_and_a_map_shape(workspace, tmp_path):
    from PySide6.QtGui import QImage

    out = tmp_path / "map.png"
    result = run("export-plot", "--workspace", str(workspace), "--out", str(out), "--size", "single", "--dpi", "200")
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert image.width() == 700 and image.height() > 350  # 3.5 in at 200 dpi; the whole plot, not a title strip
    bad = run("export-plot", "--workspace", str(workspace), "--out", str(out), "--size", "poster")
    assert bad.returncode == 2 and "unknown figure size 'poster'" in bad.stderr


def test_install_desktop_writes_a_launcher(tmp_path):
    env_home = tmp_path / "share"
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "install-desktop"], capture_output=True, text=True,
                            env={**os.environ, "XDG_DATA_HOME": str(env_home)}, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    entry = (env_home / "applications" / "embedding-explorer.desktop").read_text(encoding="utf-8")
    assert "@EXEC@" not in entry and "@ICON@" not in entry
    icon = entry.split("Icon=")[1].splitlines()[0]
    assert Path(icon).exists()


def test_embed_resumes_what_ingest_left_unembedded(tmp_path):
    path = tmp_path / "later.duckdb"
    corpus = tmp_path / "t.txt"
    corpus.write_text("\n".join(f"line {i} of a file" for i in range(50)), encoding="utf-8")
    assert run("ingest", str(corpus), "--workspace", str(path), "--no-embed").returncode == 0
    result = run("embed", "--workspace", str(path), "--model", "hashing-64", "--device", "cpu", "--batch-size", "8")
    assert result.returncode == 0, result.stderr
    assert "Embedded 50 texts" in result.stdout
    again = run("embed", "--workspace", str(path), "--model", "hashing-64")
    assert "Embedded 0 texts" in again.stdout  # nothing embedded twice
