"""Anisotropy plugin: measures on data with known answers, corrections, report, panel."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.anisotropy import (
    dimension_stats,
    effective_rank,
    isoscore,
    isotropic_baseline_cosines,
    mean_pair_cosine,
    mean_vector_norm,
    pair_cosine_sample,
    partition_isotropy,
    pca_dimension,
    pca_spectrum,
)
from core.plugin_api import AnalysisData
from core.progress import Cancelled, Progress, null_progress
from plugins.anisotropy import SPEC
from plugins.anisotropy.analysis import AnisotropyParams, AnisotropyReport, AnisotropyResult, compute, corrected_vectors
from plugins.anisotropy.corrections import all_but_the_top, center, whiten
from plugins.anisotropy.intrinsic import intrinsic_dimension

def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _embed(Z: np.ndarray, dim: int = 384, seed: int = 1) -> np.ndarray:
    """Z linearly embedded in R^dim by a random orthonormal basis (distances preserved)."""
    Q, _ = np.linalg.qr(_rng(seed).standard_normal((dim, Z.shape[1])))
    return Z @ Q.T


def _brute_cosines(X: np.ndarray) -> np.ndarray:
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    return U @ U.T


# -- measures --------------------------------------------------------------------------------------
def test_isotropic_gaussian_scores() -> None:
    # N(0, I/d): norms ≈ 1 like sentence embeddings. The sample spectrum of 4000 × 32 spreads by
    # ±2√(d/n) ≈ ±18% (Marchenko–Pastur), so IsoScore lands ≈ 0.99, not exactly 1; Z(c) fluctuates by
    # ≈ 1/√(d n) relative, so the partition isotropy is ≈ 0.99.
    X = _rng().standard_normal((4000, 32)) / np.sqrt(32)
    assert isoscore(X) > 0.97
    assert abs(mean_pair_cosine(X)) < 0.005
    assert partition_isotropy(X) > 0.95
    assert mean_vector_norm(X) < 0.05


def test_points_on_a_line_have_isoscore_zero() -> None:
    line = np.outer(_rng().standard_normal(500), _rng(1).standard_normal(64))
    assert isoscore(line) == pytest.approx(0.0, abs=1e-9)
    assert pca_spectrum(line)[0] == pytest.approx(1.0)


def test_offset_raises_mean_cosine_and_centring_removes_it() -> None:
    X = _rng().standard_normal((2000, 32))
    shifted = X + 2.0
    assert mean_pair_cosine(shifted) > 0.7
    assert abs(mean_pair_cosine(center(shifted))) < 0.005
    assert partition_isotropy(shifted) < partition_isotropy(center(shifted))


def test_exact_mean_cosine_equals_pairwise_definition() -> None:
    X = _rng().standard_normal((60, 8)) + 0.5
    C = _brute_cosines(X)
    brute = (C.sum() - np.trace(C)) / (60 * 59)
    assert mean_pair_cosine(X) == pytest.approx(brute, rel=1e-12)


def test_zero_rows_count_as_cosine_zero() -> None:
    X = _rng().standard_normal((20, 5)) + 1.0
    X[3] = 0.0
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    U = X / np.where(norms > 0, norms, 1.0)
    C = U @ U.T
    assert mean_pair_cosine(X) == pytest.approx((C.sum() - np.trace(C)) / (20 * 19), rel=1e-12)


def test_cosine_contributions_sum_to_mean_cosine() -> None:
    X = _rng().standard_normal((80, 6)) + np.array([2.0, 0, 0, 1, 0, 0])
    _, _, _, contribution = dimension_stats(X)
    assert contribution.sum() == pytest.approx(mean_pair_cosine(X), rel=1e-12)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    off_diagonal = ~np.eye(80, dtype=bool)
    brute = [(np.outer(U[:, k], U[:, k])[off_diagonal]).mean() for k in range(6)]
    np.testing.assert_allclose(contribution, brute, rtol=1e-10)
    assert np.argmax(contribution) == 0


def test_rogue_dimension_is_flagged_alone() -> None:
    X = _rng().standard_normal((2000, 64))
    X[:, 17] = _rng(5).normal(5.0, 3.0, 2000)
    mean, var, outlier, _ = dimension_stats(X)
    assert np.flatnonzero(outlier).tolist() == [17]
    assert mean[17] == pytest.approx(5.0, abs=0.2) and var[17] == pytest.approx(9.0, rel=0.1)


def test_pair_sample_never_pairs_a_row_with_itself() -> None:
    # Orthonormal rows: distinct pairs have cosine 0, a self-pair would give 1.
    assert np.all(np.abs(pair_cosine_sample(np.eye(5), n_pairs=500)) < 1e-12)


def test_isotropic_baseline_has_mean_zero_and_variance_one_over_d() -> None:
    values = isotropic_baseline_cosines(50000, 100, random_state=3)
    assert abs(values.mean()) < 0.002
    assert values.var() == pytest.approx(1 / 100, rel=0.03)
    A, B = _rng().standard_normal((2, 50000, 100))
    simulated = np.einsum("ij,ij->i", A, B) / np.linalg.norm(A, axis=1) / np.linalg.norm(B, axis=1)
    assert np.quantile(values, 0.95) == pytest.approx(np.quantile(simulated, 0.95), rel=0.03)


def test_effective_rank_and_pca_dimension() -> None:
    assert effective_rank(np.ones(7)) == pytest.approx(7.0)
    assert effective_rank(np.array([3.0, 0, 0])) == pytest.approx(1.0)
    ratios = np.array([0.5, 0.3, 0.15, 0.05])
    assert pca_dimension(ratios, 0.90) == 3
    assert pca_dimension(ratios, 0.95) == 3
    assert pca_dimension(ratios, 0.96) == 4


# -- intrinsic dimension ------------------------------------------------------------------------------
def test_intrinsic_dimension_of_a_plane_in_384d() -> None:
    # TwoNN's standard error is ≈ ID / √(0.9 n) ≈ 0.05 here; ±0.2 is four of them.
    est = intrinsic_dimension(_embed(_rng().standard_normal((2000, 2))))
    assert est.twonn == pytest.approx(2.0, abs=0.2)
    assert est.mle == pytest.approx(2.0, abs=0.2)
    assert est.n_used == 2000 and est.n_duplicates == 0


def test_intrinsic_dimension_of_a_10d_gaussian_in_384d() -> None:
    # TwoNN: ±1 ≈ 4 standard errors (10 / √1800). MLE with k = 20 is biased low on a Gaussian (its density
    # drops inside the neighbourhood; seeds 0-5 give 9.05-9.16), hence the asymmetric band.
    est = intrinsic_dimension(_embed(_rng().standard_normal((2000, 10))))
    assert est.twonn == pytest.approx(10.0, abs=1.0)
    assert 8.5 < est.mle < 10.5


def test_intrinsic_dimension_drops_duplicates() -> None:
    Z = _embed(_rng().standard_normal((1000, 2)), dim=16)
    est = intrinsic_dimension(np.vstack([Z, Z[:100]]), max_rows=5000)
    assert est.n_duplicates == 100 and est.n_used == 1000
    assert np.isfinite(est.twonn) and np.isfinite(est.mle)


# -- corrections --------------------------------------------------------------------------------------
def test_whitening_yields_identity_covariance() -> None:
    X = _rng().standard_normal((3000, 12)) @ _rng(1).standard_normal((12, 12)) + 4.0
    before = X.copy()
    W = whiten(X)
    np.testing.assert_allclose(np.cov(W.T), np.eye(12), atol=1e-8)
    np.testing.assert_allclose(W.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_array_equal(X, before)


def test_whitening_zeroes_degenerate_directions_instead_of_blowing_up() -> None:
    X = _rng().standard_normal((500, 6))
    X[:, 5] = X[:, 0]  # rank 5
    cov = np.cov(whiten(X).T)
    np.testing.assert_allclose(np.diag(cov), [1, 1, 1, 1, 1, 0], atol=1e-8)


def test_all_but_the_top_removes_the_top_direction() -> None:
    X = _rng().standard_normal((800, 200))
    X[:, 3] *= 10.0  # dominant direction ≈ e_3
    X[:, 8] *= 5.0  # second ≈ e_8
    top = np.linalg.eigh(np.cov(X.T))[1][:, ::-1][:, :2]
    Y = all_but_the_top(X)  # default D = max(1, 200 // 100) = 2
    assert np.abs(Y @ top).max() < 1e-8
    np.testing.assert_allclose(Y.mean(axis=0), 0.0, atol=1e-10)
    one = all_but_the_top(X, D=1)
    assert np.abs(one @ top[:, 0]).max() < 1e-8
    assert np.abs(one @ top[:, 1]).max() > 1.0  # the second direction is kept
    ratios = pca_spectrum(X)
    assert pca_spectrum(one)[0] == pytest.approx(ratios[1] / (1 - ratios[0]), rel=1e-9)


def test_corrected_vectors_is_a_float32_copy() -> None:
    X = (_rng().standard_normal((300, 8)) + 1).astype(np.float32)
    none = corrected_vectors(X, AnisotropyParams())
    assert none.dtype == np.float32 and none is not X
    np.testing.assert_array_equal(none, X)
    np.testing.assert_allclose(corrected_vectors(X, AnisotropyParams(correction="whiten")), whiten(X), atol=1e-5)


def test_params_validate() -> None:
    with pytest.raises(ValueError):
        AnisotropyParams(correction="rotate")
    with pytest.raises(ValueError):
        AnisotropyParams(abtt_d=0)


# -- compute and report ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def anisotropic() -> np.ndarray:
    X = _rng().standard_normal((400, 32)) * 0.3 + 0.5
    X[:, 4] = _rng(2).normal(6.0, 3.0, 400)
    return X.astype(np.float32)


@pytest.fixture(scope="module")
def result(anisotropic: np.ndarray) -> AnisotropyResult:
    data = AnalysisData(vectors=anisotropic, doc_ids=np.arange(400, dtype=np.int64))
    return compute(data, AnisotropyParams(correction="whiten", n_pairs=2000), null_progress())


def test_compute_reports_every_correction(result: AnisotropyResult, anisotropic: np.ndarray) -> None:
    assert list(result.reports) == ["none", "center", "whiten", "all_but_the_top"]
    raw = result.reports["none"]
    assert raw.mean_cosine == pytest.approx(mean_pair_cosine(anisotropic), rel=1e-6)
    assert raw.outlier_dimensions.tolist() == [4]
    assert raw.pair_cosines.shape == raw.baseline_cosines.shape == (2000,)
    assert result.report is result.reports["whiten"] and result.abtt_d == 1
    assert abs(result.reports["center"].mean_cosine) < 0.01
    assert result.reports["whiten"].isoscore > 0.99 > raw.isoscore
    assert SPEC.resolve_compute() is compute


def published_isoscore(X: np.ndarray) -> float:
    """IsoScore as Rudman et al. (2022) write it, step by step, with scikit-learn's PCA."""
    from sklearn.decomposition import PCA

    d = X.shape[1]
    reoriented = PCA(n_components=d, svd_solver="full").fit_transform(X - X.mean(axis=0))  # steps 1-2
    variances = reoriented.var(axis=0, ddof=1)  # step 3: the covariance diagonal in PCA space
    normalised = np.sqrt(d) * variances / np.linalg.norm(variances)  # step 4
    delta = np.linalg.norm(normalised - 1) / np.sqrt(2 * (d - np.sqrt(d)))  # step 5
    phi = (d - delta**2 * (d - np.sqrt(d))) ** 2 / d**2  # step 6
    return float((d * phi - 1) / (d - 1))  # step 7


def brute_partition_isotropy(X: np.ndarray) -> float:
    """Mu & Viswanath's I(W) by brute force: Z(c) = Σ exp(cᵀx) over every eigenvector c of XᵀX, each
    signed so that its largest-magnitude entry is positive (Z(c) ≠ Z(−c): the measure needs a convention)."""
    from scipy.special import logsumexp

    _, directions = np.linalg.eigh(X.T @ X)
    pivots = directions[np.abs(directions).argmax(axis=0), np.arange(directions.shape[1])]
    directions = directions * np.sign(pivots)
    log_z = logsumexp(X @ directions, axis=0)
    return float(np.exp(log_z.min() - log_z.max()))


def test_isoscore_of_a_hand_worked_example() -> None:
    # variances 4 and 1 along the axes, d = 2: v = (4, 1)·√2/√17; δ² = ‖v − 1‖² / (2(2 − √2));
    # φ = (2 − δ²(2 − √2))² / 4; IsoScore = 2φ − 1
    X = np.array([[2.0, 1.0], [-2.0, 1.0], [2.0, -1.0], [-2.0, -1.0]])
    v = np.array([4.0, 1.0]) * np.sqrt(2) / np.sqrt(17)
    delta2 = np.sum((v - 1) ** 2) / (2 * (2 - np.sqrt(2)))
    expected = 2 * ((2 - delta2 * (2 - np.sqrt(2))) ** 2 / 4) - 1
    assert isoscore(X) == pytest.approx(expected, abs=1e-9) == pytest.approx(published_isoscore(X), abs=1e-9)


def test_corrected_reports_match_measures_of_corrected_vectors(
    result: AnisotropyResult, anisotropic: np.ndarray
) -> None:
    # compute derives each correction's spectrum from the raw one; it must equal measuring the output.
    X = anisotropic.astype(np.float64)
    for name, Y in (("center", center(X)), ("whiten", whiten(X)), ("all_but_the_top", all_but_the_top(X, 1))):
        report = result.reports[name]
        np.testing.assert_allclose(report.variance_ratios, pca_spectrum(Y), atol=1e-5)
        np.testing.assert_allclose(report.dim_var, np.cov(Y.T).diagonal(), atol=1e-4)
        assert report.isoscore == pytest.approx(published_isoscore(Y), abs=1e-4)
        assert report.mean_cosine == pytest.approx(mean_pair_cosine(Y), abs=1e-5)
        # Whitened data have a degenerate XᵀX (all eigenvalues equal), so Mu & Viswanath's directions c are
        # any orthonormal basis and I varies a little with the basis eigh happens to return.
        tolerance = 0.02 if name == "whiten" else 1e-3
        assert report.partition_isotropy == pytest.approx(brute_partition_isotropy(Y), rel=tolerance)


def test_as_dict_keys_are_exact(result: AnisotropyResult) -> None:
    d = result.as_dict()
    assert list(d) == ["anisotropy", "intrinsic_dimension"]
    assert list(d["anisotropy"]) == [
        "mean_cosine", "mean_vector_norm", "top1_variance_ratio", "top10_variance_ratio",
        "effective_rank", "partition_isotropy", "isoscore", "outlier_dimensions",
    ]
    assert list(d["intrinsic_dimension"]) == ["twonn", "mle", "pca90", "pca95"]
    assert json.loads(json.dumps(d))["anisotropy"]["outlier_dimensions"] == []  # whitened: none left


def test_report_and_result_round_trip_through_arrays(result: AnisotropyResult) -> None:
    raw = result.reports["none"]
    again = AnisotropyReport.from_arrays(raw.to_arrays())
    assert again.as_dict() == raw.as_dict()
    assert isinstance(again.pca90, int) and isinstance(again.mean_cosine, float)
    np.testing.assert_array_equal(again.pair_cosines, raw.pair_cosines)
    back = AnisotropyResult.from_arrays(result.to_arrays())
    assert back.correction == "whiten" and back.abtt_d == result.abtt_d
    assert {k: r.as_dict() for k, r in back.reports.items()} == {k: r.as_dict() for k, r in result.reports.items()}


def test_compute_reports_progress_partials_and_cancels(anisotropic: np.ndarray) -> None:
    data = AnalysisData(vectors=anisotropic[:100], doc_ids=np.arange(100, dtype=np.int64))
    calls: list[tuple[int, int]] = []
    partials: list[AnisotropyResult] = []
    progress = Progress(lambda done, total, _: calls.append((done, total)), max_rate=0,
                        partial_callback=partials.append)
    compute(data, AnisotropyParams(n_pairs=100), progress)
    assert calls[-1][0] == calls[-1][1] and [len(p.reports) for p in partials] == [1, 2, 3]
    cancelled = Progress()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        compute(data, AnisotropyParams(), cancelled)


# -- panel -------------------------------------------------------------------------------------------------
def test_panel_preview_and_correction_switch(qtbot) -> None:
    from plugins.anisotropy.panel import AnisotropyPanel

    panel = AnisotropyPanel.preview()
    qtbot.addWidget(panel)
    assert set(panel.figure_items()) == {"cosine_histogram", "pca_spectrum", "dimensions"}
    rows = panel.table_rows()
    assert [r["correction"] for r in rows] == ["none", "center", "whiten", "all_but_the_top"]
    assert rows[0]["outlier_dimensions"] == "7"
    with qtbot.waitSignal(panel.sig_params_changed) as blocker:
        panel._correction.setCurrentIndex(3)
    assert blocker.args[0] == AnisotropyParams(correction="all_but_the_top")
    assert panel._abtt_d.isEnabled()
    with qtbot.waitSignal(panel.sig_params_changed) as blocker:
        panel._abtt_d.setValue(3)
    assert blocker.args[0].abtt_d == 3 and blocker.args[0].correction == "all_but_the_top"
    panel._dim_measure.setCurrentIndex(2)
    assert panel._dims.getPlotItem().getAxis("left").labelText == "cosine contribution"
