"""Anisotropy of an embedding space, before and after what-if corrections.

``compute`` measures the raw vectors and each correction (none, center, whiten,
all-but-the-top) so the panel can show a before/after table; the measures live
in :mod:`core.anisotropy`, :mod:`~plugins.anisotropy.corrections`
and :mod:`~plugins.anisotropy.intrinsic`.
Definitions: ``shared/design/metrics.md``, "Anisotropy and isotropy".
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable

import numpy as np

from core.anisotropy import (
    _as_float,
    _cosine_contribution,
    _isoscore,
    _Moments,
    _moments,
    _outlier_mask,
    _partition_isotropy,
    _unit_sums,
    _variance_ratios,
    effective_rank,
    isoscore,
    isotropic_baseline_cosines,
    mean_vector_norm,
    pair_cosine_sample,
    partition_isotropy,
    pca_dimension,
)
from core.duplicates import distinct_rows
from core.plugin_api import AnalysisData, CacheableResult
from core.progress import Progress
from plugins.anisotropy.corrections import (
    CORRECTIONS,
    _apply_correction,
    _corrected_moments,
    default_abtt_d,
)
from plugins.anisotropy.intrinsic import intrinsic_dimension, twonn

__all__ = [
    "CORRECTIONS",
    "AnisotropyParams",
    "AnisotropyReport",
    "AnisotropyResult",
    "all_but_the_top",
    "center",
    "compute",
    "corrected_vectors",
    "dimension_stats",
    "effective_rank",
    "intrinsic_dimension",
    "isoscore",
    "isotropic_baseline_cosines",
    "mean_pair_cosine",
    "mean_vector_norm",
    "mle_intrinsic_dimension",
    "pair_cosine_sample",
    "partition_isotropy",
    "pca_dimension",
    "pca_spectrum",
    "twonn",
    "whiten",
]

_STAGES = 4  # progress steps per report (see _report)


@dataclass(frozen=True)
class AnisotropyParams:
    """Which correction the panel shows (and the host may store), and sampling knobs.

    ``abtt_d=None`` removes max(1, d // 100) directions in all-but-the-top.
    """

    correction: str = "none"
    abtt_d: int | None = None
    n_pairs: int = 20000
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {CORRECTIONS}, got {self.correction!r}")
        if self.abtt_d is not None and self.abtt_d < 1:
            raise ValueError("abtt_d must be None or >= 1")
        if self.n_pairs < 1:
            raise ValueError("n_pairs must be >= 1")


def _effective_d(params: AnisotropyParams, d: int) -> int:
    return min(d, params.abtt_d) if params.abtt_d is not None else default_abtt_d(d)


@dataclass(frozen=True, eq=False)
class AnisotropyReport(CacheableResult):
    """Every anisotropy and intrinsic-dimension number of one set of vectors, plus chart arrays."""

    n: int
    d: int
    mean_cosine: float
    mean_vector_norm: float
    top1_variance_ratio: float
    top10_variance_ratio: float
    effective_rank: float
    partition_isotropy: float
    isoscore: float
    twonn: float
    mle: float
    pca90: int
    pca95: int
    id_sample_size: int  # distinct rows TwoNN / MLE used
    id_duplicates: int  # sampled rows dropped as exact duplicates
    outlier_dimensions: np.ndarray  # (m,) int64
    variance_ratios: np.ndarray  # (d,) descending
    dim_mean: np.ndarray  # (d,)
    dim_var: np.ndarray  # (d,)
    dim_contribution: np.ndarray  # (d,) sums to mean_cosine
    pair_cosines: np.ndarray  # (n_pairs,) sampled pairs i != j
    baseline_cosines: np.ndarray  # (n_pairs,) isotropic Gaussian pairs in R^d

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """The headline numbers as plain JSON-ready types (printed by the CLI)."""
        return {
            "anisotropy": {
                "mean_cosine": self.mean_cosine,
                "mean_vector_norm": self.mean_vector_norm,
                "top1_variance_ratio": self.top1_variance_ratio,
                "top10_variance_ratio": self.top10_variance_ratio,
                "effective_rank": self.effective_rank,
                "partition_isotropy": self.partition_isotropy,
                "isoscore": self.isoscore,
                "outlier_dimensions": [int(i) for i in self.outlier_dimensions],
            },
            "intrinsic_dimension": {
                "twonn": self.twonn,
                "mle": self.mle,
                "pca90": self.pca90,
                "pca95": self.pca95,
            },
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> AnisotropyReport:
        scalar = {"int": int, "float": float}
        return cls(
            **{
                f.name: scalar[f.type](arrays[f.name]) if f.type in scalar else np.asarray(arrays[f.name])
                for f in fields(cls)
            }
        )


@dataclass(frozen=True, eq=False)
class AnisotropyResult(CacheableResult):
    """Reports per correction (in ``CORRECTIONS`` order; a partial result holds fewer).

    ``correction`` is the one the params selected; ``abtt_d`` the D actually used.
    """

    correction: str
    abtt_d: int
    reports: dict[str, AnisotropyReport]

    @property
    def report(self) -> AnisotropyReport:
        """The selected correction's report, or the raw one while it is still missing."""
        return self.reports.get(self.correction, self.reports["none"])

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return self.report.as_dict()

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"correction": np.str_(self.correction), "abtt_d": np.asarray(self.abtt_d)}
        for name, report in self.reports.items():
            arrays.update({f"{name}/{key}": value for key, value in report.to_arrays().items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> AnisotropyResult:
        reports = {}
        for name in CORRECTIONS:
            prefix = f"{name}/"
            own = {key[len(prefix) :]: value for key, value in arrays.items() if key.startswith(prefix)}
            if own:
                reports[name] = AnisotropyReport.from_arrays(own)
        return cls(str(arrays["correction"]), int(arrays["abtt_d"]), reports)


def _report(X: np.ndarray, m: _Moments, params: AnisotropyParams, step: Callable[[str], None]) -> AnisotropyReport:
    """All measures of ``X`` with moments ``m``; ``step(message)`` precedes each of ``_STAGES`` stages."""
    n, d = X.shape
    ratios = _variance_ratios(m.eigvals)
    step("mean cosine and dimensions")
    s, sq = _unit_sums(X)
    contribution = _cosine_contribution(s, sq, n)
    var = np.diag(m.cov).copy()
    step("partition isotropy")
    partition = _partition_isotropy(X, m.gram)
    step("sampling pairs")
    pairs = pair_cosine_sample(X, params.n_pairs, params.random_state)
    baseline = isotropic_baseline_cosines(params.n_pairs, d, params.random_state)
    step("intrinsic dimension")
    ident = intrinsic_dimension(X, random_state=params.random_state)
    return AnisotropyReport(
        n=n,
        d=d,
        mean_cosine=float(contribution.sum()),
        mean_vector_norm=float(np.linalg.norm(s) / n),
        top1_variance_ratio=float(ratios[0]),
        top10_variance_ratio=float(ratios[:10].sum()),
        effective_rank=effective_rank(np.sqrt(m.eigvals)),
        partition_isotropy=partition,
        isoscore=_isoscore(m.eigvals),
        twonn=ident.twonn,
        mle=ident.mle,
        pca90=pca_dimension(ratios, 0.90),
        pca95=pca_dimension(ratios, 0.95),
        id_sample_size=ident.n_used,
        id_duplicates=ident.n_duplicates,
        outlier_dimensions=np.flatnonzero(_outlier_mask(m.mean, var)).astype(np.int64),
        variance_ratios=ratios,
        dim_mean=m.mean,
        dim_var=var,
        dim_contribution=contribution,
        pair_cosines=pairs,
        baseline_cosines=baseline,
    )


def compute(data: AnalysisData, params: AnisotropyParams, progress: Progress) -> AnisotropyResult:
    """Measure the raw vectors and every correction; hand over each report as it lands.

    Under the duplicate policy "fold" (core.duplicates) every measure runs on the distinct texts.
    """
    X = _as_float(distinct_rows(data).restrict(data.vectors))
    if X.shape[0] < 3:
        raise ValueError("anisotropy needs at least 3 vectors")
    D = _effective_d(params, X.shape[1])
    total = len(CORRECTIONS) * (_STAGES + 1)
    done = 0

    def step(message: str) -> None:
        nonlocal done
        progress(done, total, message)
        done += 1

    progress(0, total, "principal components")
    raw = _moments(X)
    reports: dict[str, AnisotropyReport] = {}
    for name in CORRECTIONS:
        step(f"{name}: applying correction")
        if name == "none":
            Y, m = X, raw
        else:
            Y, m = _apply_correction(X, name, D, raw), _corrected_moments(name, raw, D)
        reports[name] = _report(Y, m, params, lambda msg: step(f"{name}: {msg}"))
        if len(reports) < len(CORRECTIONS):
            progress.partial(AnisotropyResult(params.correction, D, dict(reports)))
    progress(total, total, "done")
    return AnisotropyResult(params.correction, D, reports)


def corrected_vectors(X: np.ndarray, params: AnisotropyParams) -> np.ndarray:
    """``X`` after ``params.correction`` as a new float32 matrix (for a derived embedding set)."""
    X = _as_float(X)
    if params.correction == "none":
        return X.astype(np.float32, copy=True)
    Y = _apply_correction(X, params.correction, _effective_d(params, X.shape[1]), _moments(X))
    return Y.astype(np.float32, copy=False)
