"""Anisotropy and isotropy measures of an embedding space (Qt-free, numpy only).

Every measure follows ``shared/design/metrics.md`` ("Anisotropy and isotropy").
Public functions take the raw ``(n, d)`` matrix; the private ``_``-helpers take
precomputed sums or spectra so that the anisotropy view's compute
makes each O(nd²) pass over the data only once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

#: the scores every view shows: key, label, format, one-line meaning, source
SCORES: tuple[tuple[str, str, str, str, str], ...] = (
    ("mean_cosine", "Mean cosine", "{:.3f}", "random pairs are this similar; 0 = isotropic",
     "exact mean over all pairs i ≠ j (Ethayarajh 2019)"),
    ("mean_vector_norm", "Mean vector norm", "{:.3f}", "length of the average unit vector; 0 = no shared direction",
     "common-direction measure (Ethayarajh 2019; Mu & Viswanath 2018)"),
    ("top1_variance_ratio", "Top-1 PC variance", "{:.1%}", "variance on the first principal component",
     "PCA explained-variance ratio (Mu & Viswanath 2018)"),
    ("top10_variance_ratio", "Top-10 PC variance", "{:.1%}", "variance on the first ten principal components",
     "PCA explained-variance ratio (Mu & Viswanath 2018)"),
    ("effective_rank", "Effective rank", "{:.1f}", "how many directions carry the spread (at most d)",
     "exp of the entropy of normalised singular values (Roy & Vetterli 2007)"),
    ("partition_isotropy", "Partition isotropy", "{:.3g}",
     "min/max partition function over principal axes; 1 = isotropic",
     "I = min Z(c) / max Z(c) (Mu & Viswanath 2018)"),
    ("isoscore", "IsoScore", "{:.3f}", "1 = equal variance in every direction, 0 = a single direction",
     "IsoScore (Rudman et al. 2022)"),
    ("outlier_dimensions", "Rogue dimensions", "", "dimensions whose |mean| or variance is > 3 std above average",
     "outlier dimensions (Kovaleva et al. 2021; Timkey & van Schijndel 2021)"),
    ("twonn", "TwoNN dimension", "{:.1f}", "intrinsic dimension from 2nd/1st neighbour distance ratios",
     "TwoNN (Facco et al. 2017)"),
    ("mle", "MLE dimension", "{:.1f}", "intrinsic dimension from distances to 20 neighbours",
     "MLE (Levina & Bickel 2005, MacKay & Ghahramani averaging)"),
    ("pca90", "PCA dimension 90%", "{:d}", "components needed for 90% of the variance", "PCA dimension"),
    ("pca95", "PCA dimension 95%", "{:d}", "components needed for 95% of the variance", "PCA dimension"),
)
BLOCK_ROWS = 8192


def _blocks(n: int, size: int = BLOCK_ROWS) -> Iterator[slice]:
    """Row slices of at most ``size`` rows (bounded memory on 100k × 384)."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _as_float(X: np.ndarray) -> np.ndarray:
    """``X`` as a 2-D floating array (no copy when it already is one)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"expected an (n, d) matrix, got shape {X.shape}")
    return X if np.issubdtype(X.dtype, np.floating) else X.astype(np.float64)


def _unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero (cosine 0 to all)."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1).astype(X.dtype)


def _eigh_desc(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of a symmetric matrix, values descending and clipped at 0.

    The sign of each eigenvector is fixed (largest-magnitude entry positive)
    so results do not depend on the LAPACK build.
    """
    values, vectors = np.linalg.eigh(M)
    values, vectors = np.clip(values[::-1], 0.0, None), vectors[:, ::-1]
    pivot = vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])]
    return values, vectors * np.where(pivot < 0, -1.0, 1.0)


@dataclass(frozen=True)
class _Moments:
    """First and second moments of ``X`` plus the covariance eigenbasis."""

    n: int
    mean: np.ndarray  # (d,) float64
    cov: np.ndarray  # (d, d) float64, sample covariance (ddof=1)
    eigvals: np.ndarray  # (d,) descending, >= 0
    eigvecs: np.ndarray  # (d, d) columns = principal directions

    @property
    def gram(self) -> np.ndarray:
        """XᵀX of the data as stored (uncentred)."""
        return (self.n - 1) * self.cov + self.n * np.outer(self.mean, self.mean)


def _moments(X: np.ndarray) -> _Moments:
    """Mean, covariance and its eigenbasis in one float64 blocked pass."""
    X = _as_float(X)
    n, d = X.shape
    if n < 2:
        raise ValueError("need at least 2 vectors")
    mean = X.mean(axis=0, dtype=np.float64)
    cov = np.zeros((d, d))
    for rows in _blocks(n):  # products in X's dtype (fast float32 BLAS), sums over blocks in float64
        block = X[rows] - mean.astype(X.dtype)
        cov += block.T @ block
    cov /= n - 1
    values, vectors = _eigh_desc(cov)
    return _Moments(n, mean, cov, values, vectors)


def _unit_sums(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``s = Σ u_i`` and ``Σ u_i²`` per dimension over the unit rows ``u_i``."""
    X = _as_float(X)
    s = np.zeros(X.shape[1])
    sq = np.zeros(X.shape[1])
    for rows in _blocks(X.shape[0]):
        u = _unit_rows(X[rows]).astype(np.float64)
        s += u.sum(axis=0)
        sq += np.einsum("ij,ij->j", u, u)
    return s, sq


def _cosine_contribution(s: np.ndarray, sq: np.ndarray, n: int) -> np.ndarray:
    """E[u_k v_k] over ordered pairs i ≠ j: (s_k² − Σ_i u_ik²) / (n(n − 1))."""
    if n < 2:
        raise ValueError("need at least 2 vectors")
    return (s * s - sq) / (n * (n - 1))


def mean_pair_cosine(X: np.ndarray) -> float:
    """Mean cosine over all pairs i ≠ j, exactly, in O(nd) (Ethayarajh 2019).

    With unit rows u_i and s = Σ u_i, the mean is (‖s‖² − n) / (n(n − 1));
    all-zero rows count as cosine 0 (their ‖u_i‖² = 0 replaces the 1 in n).
    """
    s, sq = _unit_sums(X)
    return float(_cosine_contribution(s, sq, len(X)).sum())


def pair_cosine_sample(X: np.ndarray, n_pairs: int = 20000, random_state: int = 0) -> np.ndarray:
    """Cosines of ``n_pairs`` random pairs of distinct rows (for the histogram).

    Pairs are drawn with replacement; ``j = i + U{1..n−1} mod n`` guarantees i ≠ j.
    """
    X = _as_float(X)
    n = X.shape[0]
    if n < 2:
        raise ValueError("need at least 2 vectors")
    rng = np.random.default_rng(random_state)
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n
    return np.einsum("ij,ij->i", _unit_rows(X[i]), _unit_rows(X[j])).astype(np.float32)


def isotropic_baseline_cosines(n_pairs: int, d: int, random_state: int = 0) -> np.ndarray:
    """Cosines of ``n_pairs`` pairs of independent isotropic Gaussian vectors in R^d.

    Drawn exactly from their law: (cos + 1) / 2 ~ Beta((d − 1)/2, (d − 1)/2)
    (the cosine of a uniform direction with a fixed one), so the baseline costs
    O(n_pairs) whatever ``d``. Mean 0, variance 1/d.
    """
    if d < 2:
        raise ValueError("need d >= 2")
    rng = np.random.default_rng(random_state)
    a = (d - 1) / 2
    return (2.0 * rng.beta(a, a, n_pairs) - 1.0).astype(np.float32)


def mean_vector_norm(X: np.ndarray) -> float:
    """‖(1/n) Σ u_i‖, the length of the mean unit vector (0 = no common direction)."""
    s, _ = _unit_sums(X)
    return float(np.linalg.norm(s) / len(X))


def _variance_ratios(eigvals: np.ndarray) -> np.ndarray:
    total = eigvals.sum()
    return eigvals / total if total > 0 else np.zeros_like(eigvals)


def pca_spectrum(X: np.ndarray) -> np.ndarray:
    """Explained-variance ratios of the principal components, descending.

    Eigenvalues of the d × d covariance of the centred data: O(nd²), the same
    ratios as an SVD of the centred matrix.
    """
    return _variance_ratios(_moments(X).eigvals)


def effective_rank(singular_values: np.ndarray) -> float:
    """exp(H(p)) with p_i = σ_i / Σσ (Roy & Vetterli 2007); 1 ≤ erank ≤ len(σ)."""
    sigma = np.clip(np.asarray(singular_values, dtype=np.float64), 0.0, None)
    if sigma.sum() <= 0:
        return 0.0
    p = sigma[sigma > 0] / sigma.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def _partition_isotropy(X: np.ndarray, gram: np.ndarray) -> float:
    """min_c Z(c) / max_c Z(c) over the eigenvectors c of XᵀX, in log space."""
    _, directions = _eigh_desc(gram)
    directions = directions.astype(X.dtype)
    peak = np.full(directions.shape[1], -np.inf)
    total = np.zeros(directions.shape[1])
    for rows in _blocks(X.shape[0]):
        proj = X[rows] @ directions
        new_peak = np.maximum(peak, proj.max(axis=0))
        shifted = np.exp(proj - new_peak.astype(proj.dtype))  # <= 1: no overflow in float32
        total = total * np.exp(peak - new_peak) + shifted.sum(axis=0, dtype=np.float64)
        peak = new_peak
    log_z = peak + np.log(total)
    return float(np.exp(log_z.min() - log_z.max()))


def partition_isotropy(X: np.ndarray) -> float:
    """Partition-function isotropy I = min_c Z(c) / max_c Z(c) (Mu & Viswanath 2018).

    Z(c) = Σ_i exp(cᵀx_i) with c over the eigenvectors of XᵀX (data as stored,
    uncentred); 1 = isotropic. Computed with a streaming log-sum-exp, so large
    norms do not overflow.
    """
    X = _as_float(X)
    return _partition_isotropy(X, _moments(X).gram)


def _isoscore(eigvals: np.ndarray) -> float:
    """IsoScore from the PCA variance vector (formula of metrics.md)."""
    d = eigvals.size
    norm = np.linalg.norm(eigvals)
    if d < 2 or norm == 0:
        return 0.0
    v = eigvals * np.sqrt(d) / norm
    delta = np.linalg.norm(v - 1.0) / np.sqrt(2 * (d - np.sqrt(d)))
    phi = (d - delta**2 * (d - np.sqrt(d))) ** 2 / d**2
    return float((d * phi - 1) / (d - 1))


def isoscore(X: np.ndarray) -> float:
    """IsoScore (Rudman et al. 2022): 1 = isotropic, 0 = all variance in one direction.

    PCA-rotate the centred points, take the per-component variances v scaled
    to ‖v‖ = √d; δ = ‖v − 1‖ / √(2(d − √d)); φ = (d − δ²(d − √d))² / d²;
    IsoScore = (dφ − 1) / (d − 1).
    """
    return _isoscore(_moments(X).eigvals)


def _outlier_mask(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Dimensions whose |mean| or variance exceeds the average + 3 std over dimensions.

    Margins below 1e-6 of the data's scale are rounding noise, not outliers (after
    centring every mean is ~1e-17, after whitening every variance is 1 ± 1e-16).
    """
    scale2 = float(var.mean() + (mean**2).mean())
    size = np.abs(mean)
    return (size > size.mean() + 3 * size.std() + 1e-6 * np.sqrt(scale2)) | (
        var > var.mean() + 3 * var.std() + 1e-6 * scale2
    )


def dimension_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-dimension mean, variance, outlier mask and cosine contribution.

    Outlier ("rogue") dimensions after Kovaleva et al. 2021 and Timkey & van
    Schijndel 2021: |mean| or variance more than 3 standard deviations (over
    dimensions) above the average over dimensions. The contribution of
    dimension k is E[u_k v_k] over pairs i ≠ j of unit rows; the contributions
    sum to :func:`mean_pair_cosine`.

    Returns
    -------
    mean, var : (d,) float64
        Per-dimension mean and sample variance (ddof=1) of ``X`` as stored.
    outlier_mask : (d,) bool
    cosine_contribution : (d,) float64
    """
    X = _as_float(X)
    s, sq = _unit_sums(X)
    mean = X.mean(axis=0, dtype=np.float64)
    var = X.var(axis=0, ddof=1, dtype=np.float64)
    return mean, var, _outlier_mask(mean, var), _cosine_contribution(s, sq, X.shape[0])


def pca_dimension(ratios: np.ndarray, threshold: float = 0.90) -> int:
    """Fewest principal components whose explained-variance ratios reach ``threshold``."""
    cumulative = np.cumsum(np.asarray(ratios, dtype=np.float64))
    if cumulative.size == 0 or cumulative[-1] <= 0:
        return 0
    reached = np.nonzero(cumulative >= threshold * cumulative[-1] - 1e-12)[0]
    return int(reached[0] + 1)
