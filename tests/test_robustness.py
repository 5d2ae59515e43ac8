"""Truncation and quantisation robustness: checked against sentence-transformers' quantiser and numpy brute force."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.plugin_api import AnalysisData
from core.progress import null_progress
from plugins.robustness.analysis import RobustnessParams, binary_codes, compute, int8_codes
from plugins.robustness.panel import RobustnessPanel


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(6, 48))
    x = (centres[rng.integers(0, 6, 240)] + 0.9 * rng.normal(size=(240, 48))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_neighbours(scores: np.ndarray, k: int) -> np.ndarray:
    """Highest score first, ties by lower row, self excluded: a plain sort of the whole matrix."""
    scores = scores.astype(np.float64).copy()
    np.fill_diagonal(scores, -np.inf)
    cols = np.broadcast_to(np.arange(len(scores)), scores.shape)
    return np.lexsort((cols, -scores), axis=1)[:, :k]


def jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([len(set(x) & set(y)) / len(set(x) | set(y)) for x, y in zip(a, b)])


def test_codes_are_those_of_sentence_transformers(vectors):
    from sentence_transformers.util.quantization import quantize_embeddings

    assert np.array_equal(int8_codes(vectors), quantize_embeddings(vectors, "int8"))
    bits = np.unpackbits(quantize_embeddings(vectors, "ubinary"), axis=1)[:, :vectors.shape[1]]
    assert np.array_equal(binary_codes(vectors) > 0, bits.astype(bool))


def test_agreement_of_every_variant_matches_brute_force(vectors):
    k = 5
    result = compute(AnalysisData(vectors, np.arange(len(vectors))), RobustnessParams(k=k, dims=(24, 8)), null_progress())
    truth = brute_neighbours(vectors @ vectors.T, k)

    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    int8 = int8_codes(vectors).astype(np.float64)
    bits = np.unpackbits(np.packbits(vectors > 0, axis=1), axis=1)[:, :vectors.shape[1]]
    hamming = (bits[:, None, :] != bits[None, :, :]).sum(axis=2)

    def rescore(candidates):
        best = [sorted(c, key=lambda j, i=i: (-float(vectors[i] @ vectors[j]), j))[:k] for i, c in enumerate(candidates)]
        return np.array(best)

    expected = {
        "24 dims": brute_neighbours(unit(vectors[:, :24]) @ unit(vectors[:, :24]).T, k),
        "8 dims": brute_neighbours(unit(vectors[:, :8]) @ unit(vectors[:, :8]).T, k),
        "int8": brute_neighbours(int8 @ int8.T, k),
        "int8 + rescore": rescore(brute_neighbours(int8 @ int8.T, 4 * k)),
        "binary": brute_neighbours(-hamming, k),
        "binary + rescore": rescore(brute_neighbours(-hamming, 4 * k)),
    }
    assert [v.name for v in result.variants] == ["float32", *expected]
    for name, found in expected.items():
        per_doc = jaccard(found, truth)
        assert result.per_row[result.variant(name)] == pytest.approx(per_doc, abs=1e-6), name
        assert result.variants[result.variant(name)].jaccard == pytest.approx(per_doc.mean(), abs=1e-6)
    sizes = {v.name: v.bytes_per_vector for v in result.variants}
    assert sizes == {"float32": 192, "24 dims": 96, "8 dims": 32, "int8": 48, "int8 + rescore": 48, "binary": 6,
                     "binary + rescore": 6}


def test_a_sample_evaluates_only_its_rows(vectors):
    result = compute(AnalysisData(vectors, np.arange(len(vectors))), RobustnessParams(k=5, sample=50), null_progress())
    assert result.rows.size == 50 and np.isnan(result.per_row[1]).sum() == len(vectors) - 50


def test_panel_selects_a_document_and_colours_the_map_through_clicks(qtbot):
    panel = RobustnessPanel.preview()
    qtbot.addWidget(panel)
    panel.resize(520, 760)
    panel.show()
    qtbot.waitExposed(panel)
    table = panel.worst
    first = table.item(0, 0).data(Qt.UserRole)
    with qtbot.waitSignal(panel.context.sig_request_selection) as selected:
        qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=table.visualItemRect(table.item(0, 2)).center())
    assert selected.args[0].tolist() == [first]
    variant = panel.variant_box.currentText()
    with qtbot.waitSignal(panel.context.sig_request_color) as coloured:
        qtbot.mouseClick(panel.map_button, Qt.LeftButton)
    name, values = coloured.args
    assert variant in name and np.nanmin(values) == pytest.approx(float(table.item(0, 1).text()), abs=1e-3)
    image = panel.plot.grab().toImage()
    background = image.pixelColor(2, 2)
    coloured_pixels = sum(image.pixelColor(x, y) != background for x in range(0, image.width(), 4)
                          for y in range(0, image.height(), 4))
    assert coloured_pixels > 50  # curves and points drawn, not a blank plot


def test_robustness_command_prints_every_variant(tmp_path):
    from tests.test_cli import DEMO, run

    workspace = tmp_path / "w.duckdb"
    assert run("ingest", str(DEMO), "--workspace", str(workspace), "--model", "hashing-64").returncode == 0
    result = run("robustness", "--workspace", str(workspace), "--dims", "32,16", "--quant", "int8", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [v["name"] for v in report["variants"]] == ["float32", "32 dims", "16 dims", "int8", "int8 + rescore"]
    assert report["dim"] == 64 and all(0 <= v["recall"] <= 1 for v in report["variants"])
    bad = run("robustness", "--workspace", str(workspace), "--quant", "int4")
    assert bad.returncode == 1 and "unknown quantisation 'int4'" in bad.stderr
