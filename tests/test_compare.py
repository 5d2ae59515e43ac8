"""Comparing spaces: CKA, kNN overlap, Procrustes, collection mixing, the compare
plugin, the session's extra spaces and the ``compare`` command."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.compare import (
    SpaceCache,
    aligned_vectors,
    centroid_cosines,
    knn_overlap,
    linear_cka,
    neighbour_shares,
    procrustes_align,
    random_mixing,
)
from core.knn import exact_knn
from core.plugin_api import AnalysisData
from core.progress import null_progress
from core.store import data_key
from plugins.compare.analysis import CompareParams, compute


def _orthogonal(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def _kernel_cka(x: np.ndarray, y: np.ndarray) -> float:
    """The n × n definition (HSIC of centred linear kernels), for checking the feature-space one."""
    h = np.eye(len(x)) - 1.0 / len(x)
    k, m = h @ x @ x.T @ h, h @ y @ y.T @ h
    return float((k * m).sum() / (np.linalg.norm(k) * np.linalg.norm(m)))


def test_cka_is_one_under_rotation_and_scale_and_matches_the_kernel_form():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12)) @ np.diag(np.linspace(0.5, 3, 12))
    q = _orthogonal(rng, 12)
    assert linear_cka(x, x @ q) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, 3.5 * x @ q + 7.0) == pytest.approx(1.0, abs=1e-9)  # scale and shift too
    y = np.tanh(x[:, -5:]) + 0.3 * rng.normal(size=(300, 5))  # another width, related
    assert linear_cka(x, y) == pytest.approx(_kernel_cka(x, y), rel=1e-9)
    assert 0.3 < linear_cka(x, y) < 0.99


def test_cka_of_independent_noise_is_near_zero():
    # For independent Gaussians E‖YᵀX‖²_F = n·d₁·d₂ and ‖XᵀX‖_F ≈ n√d₁, so CKA ≈ √(d₁d₂)/n
    # = 8/4000 = 0.002 here, with a spread of the same order: 0.01 leaves 5× that.
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4000, 8)), rng.normal(size=(4000, 8))
    assert 0.0 <= linear_cka(x, y) < 0.01
    assert linear_cka(x.astype(np.float32), x.astype(np.float32)) == pytest.approx(1.0, abs=1e-6)


def test_knn_overlap_is_jaccard_one_for_identical_and_drops_with_noise():
    assert knn_overlap(np.array([[1, 2, 3]]), np.array([[2, 3, 4]]))[0] == pytest.approx(2 / 4)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(800, 16)).astype(np.float32)
    base = exact_knn(x, 10).indices
    assert np.all(knn_overlap(base, exact_knn(x @ _orthogonal(rng, 16).astype(np.float32), 10).indices) == 1.0)
    mild = knn_overlap(base, exact_knn(x + 0.1 * rng.normal(size=x.shape).astype(np.float32), 10).indices).mean()
    strong = knn_overlap(base, exact_knn(x + 1.0 * rng.normal(size=x.shape).astype(np.float32), 10).indices).mean()
    assert 1.0 > mild > strong > 0.0


def test_procrustes_recovers_a_rotated_reflected_scaled_shifted_copy():
    rng = np.random.default_rng(3)
    reference = rng.normal(size=(200, 2))
    angle = 0.7
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moving = (reference @ rotate @ np.diag([1.0, -1.0])) * 4.2 + [10.0, -3.0]
    moving[5] = np.nan  # an unplaced point is ignored by the fit and stays NaN
    aligned, disparity = procrustes_align(moving, reference)
    ok = np.isfinite(aligned).all(axis=1)
    assert ok.sum() == 199 and not ok[5]
    np.testing.assert_allclose(aligned[ok], reference[ok], atol=1e-5)
    assert disparity == pytest.approx(0.0, abs=1e-10)
    _, noisy = procrustes_align(rng.normal(size=(200, 2)), reference)
    assert noisy > 0.5


def test_collections_centroids_shares_and_random_expectation():
    vectors = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], dtype=np.float32)
    collections = np.array([5, 5, 9, 9])
    ids, cos = centroid_cosines(vectors, collections)
    assert ids.tolist() == [5, 9] and cos[0, 0] == pytest.approx(1.0) and abs(cos[0, 1]) < 0.15
    neighbours = np.array([[1, 2], [0, 3], [3, 0], [2, 1]])
    _, shares = neighbour_shares(neighbours, collections)
    np.testing.assert_allclose(shares, [[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(random_mixing(np.array([0, 0, 0, 1])), [1 / 3, 1.0])


def test_aligned_vectors_fill_missing_rows_with_nan():
    out = aligned_vectors(np.array([1, 2, 3, 7]), np.array([2, 7]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert np.isnan(out[[0, 2]]).all() and out[1].tolist() == [1.0, 2.0] and out[3].tolist() == [3.0, 4.0]


def _two_space_data(n: int = 300, seed: int = 4) -> tuple[AnalysisData, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 12)).astype(np.float32)
    b = (a @ _orthogonal(rng, 12)).astype(np.float32)
    b[:30] = rng.normal(size=(30, 12))  # these documents land somewhere else in b
    b[-10:] = np.nan  # not embedded in b
    collections = np.repeat([1, 2], n // 2)
    extras = {"spaces": {"b": b}, "model_name": "a", "collection_names": {1: "one", 2: "two"}}
    return AnalysisData(a, np.arange(n, dtype=np.int64), collections, extras=extras), b


def test_compute_compares_rows_in_both_and_finds_moved_documents():
    data, _ = _two_space_data()
    result = compute(data, CompareParams(layout="pca"), null_progress())
    pair = result.pair
    assert result.available == ("b",) and pair.name_b == "b" and pair.n == 290
    assert not np.isin(np.arange(290, 300), pair.rows).any()
    assert 0.5 < pair.cka < 1.0
    changed = pair.rows[pair.most_changed(30)]
    assert np.isin(changed, np.arange(30)).mean() > 0.9  # the moved documents change neighbours most
    by_row = pair.overlap_by_row()
    assert np.isnan(by_row[-10:]).all()
    assert by_row[:30].mean() < 0.2 < 0.7 < by_row[30:290].mean()
    assert pair.knn_a.max() < 300 and pair.coords_b.shape == (290, 2)
    mix = result.collections
    assert mix.names == ("one", "two") and mix.sizes.tolist() == [150, 150]
    np.testing.assert_allclose(mix.mixing, 0.5, atol=0.1)  # random vectors: collections mix as at random
    np.testing.assert_allclose(mix.expected_mixing, 150 / 299)
    assert all(m is not None for m in mix.measures)


def test_compute_without_another_space_says_what_to_do():
    rng = np.random.default_rng(5)
    data = AnalysisData(rng.normal(size=(50, 8)).astype(np.float32), np.arange(50))
    result = compute(data, CompareParams(other="missing"), null_progress())
    assert result.pair is None and result.collections is None and "second model" in result.note


def test_space_cache_keeps_the_other_graph_in_the_workspace(store):
    data, b = _two_space_data()
    cache = SpaceCache(store)
    extras = {**data.extras, "space_cache": cache, "space_model_ids": {"a": 1, "b": 2}}
    data = AnalysisData(data.vectors, data.doc_ids, data.collection_ids, extras=extras)
    first = compute(data, CompareParams(layout="pca"), null_progress()).pair
    rows = np.flatnonzero(np.isfinite(b).all(axis=1))
    assert store.cache_get("knn", data_key(2, data.doc_ids[rows]), "cosine") is not None
    again = compute(data, CompareParams(layout="pca", map_overlay="collection"), null_progress()).pair
    assert again.cka == first.cka and again.overlap is first.overlap  # memoised, not recomputed


def test_preview_links_selection_and_colours_the_map(qtbot):
    from plugins.compare.panel import ComparePanel

    panel = ComparePanel.preview()
    qtbot.addWidget(panel)
    pair = panel.pair
    rows = panel.table_rows()
    assert {"table": "spaces", "row": "linear CKA", "column": "", "value": pair.cka} in rows
    assert panel.measures.rowCount() == 9 and panel.changed.rowCount() > 0
    assert panel.list_a.rowCount() == pair.k and panel.list_b.rowCount() == pair.k
    assert len(panel.figure_items()) == 3 and panel.mixing.rowCount() == 2
    bar = panel.colour_bar  # the overlap colouring has a scale, drawn in the right map's figure
    assert panel.maps[1].scatter.key is bar and bar.scene() is panel.maps[1].scatter.scene()
    assert f"kNN overlap (k = {pair.k})" in bar.texts()[0]
    assert bar.bar.levels() == (pytest.approx(float(np.percentile(pair.overlap, 1))),
                                pytest.approx(float(np.percentile(pair.overlap, 99))))
    with qtbot.waitSignal(panel.context.sig_request_selection) as picked:
        panel.maps[1].scatter.sig_picked.emit(np.array([0, 3]))
    assert picked.args[0].tolist() == pair.rows[[0, 3]].tolist()
    with qtbot.waitSignal(panel.context.sig_request_color) as coloured:
        panel.colour_button.click()
    values = coloured.args[1]
    assert len(values) == pair.n_total and np.isnan(values).sum() == pair.n_total - pair.n
    with qtbot.waitSignal(panel.sig_params_changed) as changed:
        panel.overlay_box.setCurrentIndex(panel.overlay_box.findData("collection"))
    assert changed.args[0].map_overlay == "collection"


def _two_model_workspace(path, hashing):
    from core.encoder import HashingEncoder
    from core.pipeline import embed_pending
    from core.store import Store

    store = Store.open(path)
    cid = store.create_collection("notes")
    words = ["cat", "dog", "ship", "sea", "bread", "rain", "sun", "tree"]
    texts = [f"{words[i % 8]} {words[(i * 3) % 8]} {words[(i * 5 + 1) % 8]} note {i}" for i in range(120)]
    store.add_documents(cid, texts)
    embed_pending(store, hashing, [cid])
    embed_pending(store, HashingEncoder(32), [cid])
    return store, cid


def test_session_exposes_every_other_space(qtbot, tmp_path, hashing):
    from gui.session import Session

    store, cid = _two_model_workspace(tmp_path / "w.duckdb", hashing)
    session = Session(store)
    try:
        main = next(m.id for m in store.models() if m.name == "hashing-64")
        with qtbot.waitSignal(session.sig_view_loaded, timeout=10_000) as loaded:
            session.set_view((cid,), main)
        data = loaded.args[0][1].data
        spaces = data.extras["spaces"]
        assert list(spaces) == ["hashing-32"] and spaces["hashing-32"].shape == (data.n, 32)
        assert np.isfinite(spaces["hashing-32"]).all() and data.extras["model_name"] == "hashing-64"
    finally:
        session.close()
        store.close()


def test_cli_compare_prints_the_measures(tmp_path, hashing, capsys):
    from commands.cli import main

    store, _ = _two_model_workspace(tmp_path / "w.duckdb", hashing)
    store.close()
    code = main(["compare", "--workspace", str(tmp_path / "w.duckdb"), "--a", "hashing-64", "--b", "hashing-32",
                 "-k", "5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["n"] == 120 and out["k"] == 5
    assert {"cka", "knn_overlap_mean", "n", "a", "b"} <= set(out)
    assert 0 < out["cka"] <= 1 and 0 <= out["knn_overlap_mean"] <= 1
    for side in ("a", "b"):
        assert {"k_skewness", "robinhood"} <= set(out[side]["hubness"])
        assert {"mean_cosine", "isoscore", "effective_rank"} == set(out[side]["anisotropy"])
    assert main(["compare", "--workspace", str(tmp_path / "w.duckdb"), "--b", "hashing-64"]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == {"a": "hashing-32", "b": "hashing-64"}  # a ≠ b by default
    assert main(["compare", "--workspace", str(tmp_path / "w.duckdb"), "--b", "nope"]) == 1
    assert "no model named 'nope'" in capsys.readouterr().err
