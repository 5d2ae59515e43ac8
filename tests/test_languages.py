"""The languages view: measures checked against scikit-learn and hand computation; the panel driven by clicks."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.plugin_api import AnalysisData, NotApplicable
from core.progress import null_progress
from plugins.languages.analysis import LanguagesParams, compute, folds_of, probe_accuracy, remove_language
from plugins.languages.panel import LanguagesPanel


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Texts of five topics, each written in three languages: pair id = the text, language = an offset."""
    rng = np.random.default_rng(11)
    texts, d = 90, 32
    meaning = rng.normal(size=(5, d))[rng.integers(0, 5, texts)] + 0.4 * rng.normal(size=(texts, d))
    offsets = 1.2 * rng.normal(size=(3, d))
    x = np.concatenate([meaning + offsets[lang] + 0.2 * rng.normal(size=(texts, d)) for lang in range(3)])
    labels = {"language": np.repeat(np.array(["en", "de", "fr"]), texts),
              "pair": np.tile(np.array([f"p{i}" for i in range(texts)]), 3)}
    return x.astype(np.float32), labels


def run(x, labels, **params):
    return compute(AnalysisData(x, np.arange(len(x)), extras={"labels": labels}), LanguagesParams(**params), null_progress())


def test_probe_equals_scikit_learns_ridge_classifier_on_the_same_folds(corpus):
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import cross_val_predict

    x, labels = corpus
    codes = np.unique(labels["language"], return_inverse=True)[1]
    params = LanguagesParams()
    tests = folds_of(len(x), params.folds, params.random_state)
    cv = [(np.setdiff1d(np.arange(len(x)), t), t) for t in tests]
    predicted = cross_val_predict(RidgeClassifier(alpha=1.0), x.astype(np.float64), codes, cv=cv)
    assert probe_accuracy(x, codes, params) == pytest.approx((predicted == codes).mean(), abs=1e-12)


def test_measures_before_and_after_removing_language(corpus):
    x, labels = corpus
    result = run(x, labels, pair_column="pair")
    mean = x.astype(np.float64).mean(axis=0)
    between = sum((labels["language"] == lang).sum() * np.sum((x[labels["language"] == lang].mean(axis=0) - mean) ** 2)
                  for lang in ("en", "de", "fr"))
    assert result.before.variance_explained == pytest.approx(between / np.sum((x - mean) ** 2), rel=1e-6)
    assert result.after.variance_explained == pytest.approx(0.0, abs=1e-9)
    assert result.before.probe_accuracy > 0.95 and result.after.probe_accuracy < result.chance_accuracy + 0.1
    assert result.before.same_language_neighbours > result.after.same_language_neighbours
    # P@1 of translations by brute force: nearest other-language document by cosine
    for space, reported in ((x, result.before.translation_p_at_1),
                            (remove_language(np.repeat([1, 0, 2], 90), "centroids")(x), result.after.translation_p_at_1)):
        unit = space / np.linalg.norm(space, axis=1, keepdims=True)
        scores = unit @ unit.T
        scores[labels["language"][:, None] == labels["language"][None, :]] = -np.inf
        assert reported == pytest.approx((labels["pair"][scores.argmax(axis=1)] == labels["pair"]).mean())
    assert result.after.translation_p_at_1 > result.before.translation_p_at_1


def test_subspace_correction_leaves_no_language_direction(corpus):
    x, labels = corpus
    codes = np.unique(labels["language"], return_inverse=True)[1]
    corrected = remove_language(codes, "subspace")(x)
    centred = np.stack([corrected[codes == c].mean(axis=0) for c in range(3)]) - corrected.mean(axis=0)
    assert np.abs(centred).max() < 1e-4


def test_one_language_is_a_clear_error(corpus):
    x, labels = corpus
    with pytest.raises(NotApplicable, match="at least two are needed"):
        run(x, {"language": np.full(len(x), "en")})
    with pytest.raises(NotApplicable, match="no language column"):
        run(x, {"topic": labels["pair"]})


def test_panel_switches_correction_and_shows_the_corrected_space_through_real_input(qtbot):
    panel = LanguagesPanel.preview()
    qtbot.addWidget(panel)
    panel.resize(520, 760)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.measures.item(1, 1).text() == "100.0 %"  # probe on the preview's separated languages
    with qtbot.waitSignal(panel.sig_params_changed) as changed:
        panel.correction_box.setFocus()
        qtbot.keyClick(panel.correction_box, Qt.Key_Down)
    assert changed.args[0].correction == "subspace"
    with qtbot.waitSignal(panel.context.sig_request_derived_set) as derived:
        qtbot.mouseClick(panel.apply_button, Qt.LeftButton)
    label, transform = derived.args
    assert label == "language removed (centroids)"  # the result shown is still the centroids one
    x = np.random.default_rng(0).normal(size=(panel.context.n_rows, 64)).astype(np.float32)
    assert transform(x).shape == x.shape


def test_languages_command_on_the_demo_corpus(tmp_path):
    from tests.test_cli import DEMO, run as cli

    workspace = tmp_path / "w.duckdb"
    assert cli("ingest", str(DEMO), "--workspace", str(workspace), "--model", "hashing-64").returncode == 0
    result = cli("languages", "--workspace", str(workspace), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["column"] == "language" and set(report["languages"]) == {"en", "de", "fr"}
    assert report["after"]["variance_explained"] < 1e-9 < report["before"]["variance_explained"]
