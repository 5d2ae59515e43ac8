"""How much of a multilingual space encodes language rather than meaning (Qt-free).

Given each document's language (a metadata column), measured before and after a what-if
correction that removes language:

- **variance explained by language**: between-language sum of squares over the total,
  Σ_g n_g ‖μ_g − μ‖² / Σ_i ‖x_i − μ‖² (the η² / R² of regressing the vectors on language);
- **linear probe accuracy**: a one-vs-rest ridge classifier (closed form, α = 1, as
  scikit-learn's ``RidgeClassifier``) predicting the language from the vector, k-fold
  cross-validated on a seeded split; chance is the largest language's share;
- **same-language neighbours**: the share of each document's k nearest neighbours written
  in its own language, against the share expected if language did not matter;
- **cross-lingual retrieval** (when a column pairs translations): P@1 of finding a document's
  translation as its nearest document among the other languages (Libovický, Rosa & Fraser,
  "On the language neutrality of pre-trained multilingual representations", EMNLP Findings 2020,
  who also propose the centroid correction).

Corrections: ``centroids`` subtracts each language's mean and adds back the overall mean;
``subspace`` also projects out the span of the language means' differences (rank ≤ L − 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.duplicates import distinct_rows
from core.knn import QueryIndex
from core.plugin_api import AnalysisData, CacheableResult, NotApplicable
from core.progress import Progress
from core.sampling import seeded_rows

CORRECTIONS = ("centroids", "subspace")
LANGUAGE_COLUMNS = ("language", "lang", "locale", "language_code")
MISSING = ("", "nan", "None")


@dataclass(frozen=True)
class LanguagesParams:
    """Which columns hold the language (and the translation pairs), and how to remove language."""

    column: str = ""  # "" = the first of LANGUAGE_COLUMNS present
    pair_column: str = ""  # "" = no translation pairs
    correction: str = "centroids"
    k: int = 10
    folds: int = 5
    sample: int = 2_000  # documents whose neighbours are searched (a seeded sample above this)
    probe_sample: int = 20_000  # documents the probe is cross-validated on (a seeded sample above this)
    ridge_alpha: float = 1.0
    random_state: int = 0


@dataclass(frozen=True)
class SpaceReport:
    """The language measures of one space."""

    variance_explained: float
    probe_accuracy: float
    same_language_neighbours: float
    translation_p_at_1: float  # NaN without a pair column

    def as_dict(self) -> dict:
        return {k: (None if np.isnan(v) else v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class LanguagesResult(CacheableResult):
    """Languages, their counts and centroid cosines, and the measures before and after the correction."""

    column: str
    correction: str
    languages: tuple[str, ...]
    counts: np.ndarray  # (L,) int64
    centroid_cosines: np.ndarray  # (L, L)
    chance_accuracy: float
    expected_same_language: float
    before: SpaceReport
    after: SpaceReport

    def as_dict(self) -> dict:
        return {"column": self.column, "correction": self.correction,
                "languages": {lang: int(c) for lang, c in zip(self.languages, self.counts)},
                "centroid_cosines": {a: {b: float(self.centroid_cosines[i, j]) for j, b in enumerate(self.languages)}
                                     for i, a in enumerate(self.languages)},
                "chance_accuracy": self.chance_accuracy, "expected_same_language": self.expected_same_language,
                "before": self.before.as_dict(), "after": self.after.as_dict()}

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"column": np.str_(self.column), "correction": np.str_(self.correction),
                "languages": np.array(self.languages, dtype=str), "counts": self.counts,
                "centroid_cosines": self.centroid_cosines,
                "numbers": np.array([self.chance_accuracy, self.expected_same_language,
                                     *vars(self.before).values(), *vars(self.after).values()])}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LanguagesResult:
        numbers = [float(v) for v in arrays["numbers"]]
        return cls(str(arrays["column"]), str(arrays["correction"]), tuple(str(v) for v in arrays["languages"]),
                   arrays["counts"], arrays["centroid_cosines"], numbers[0], numbers[1],
                   SpaceReport(*numbers[2:6]), SpaceReport(*numbers[6:10]))


def language_column(labels: dict[str, np.ndarray], wanted: str = "") -> str:
    """``wanted`` if given, else the first conventional language column; LookupError names the choices."""
    if wanted:
        if wanted not in labels:
            raise NotApplicable(f"no column {wanted!r}; the documents have: {', '.join(labels) or 'no columns'}")
        return wanted
    for name in LANGUAGE_COLUMNS:
        if name in labels:
            return name
    raise NotApplicable("no language column (expected one named " + ", ".join(LANGUAGE_COLUMNS)
                      + "); choose the column that holds each document's language")


def variance_explained(x: np.ndarray, codes: np.ndarray) -> float:
    """Between-group over total sum of squares of the rows of ``x`` grouped by ``codes``."""
    mean = x.mean(axis=0)
    total = float(((x - mean) ** 2).sum())
    between = sum(float((codes == c).sum() * ((x[codes == c].mean(axis=0) - mean) ** 2).sum())
                  for c in np.unique(codes))
    return between / total if total > 0 else 0.0


def ridge_fit(x: np.ndarray, codes: np.ndarray, n_classes: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest ridge on ±1 targets with an intercept: (weights (d, C), intercept (C,))."""
    targets = np.where(codes[:, None] == np.arange(n_classes)[None, :], 1.0, -1.0)
    x_mean, t_mean = x.mean(axis=0), targets.mean(axis=0)
    xc = x - x_mean
    weights = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (targets - t_mean))
    return weights, t_mean - x_mean @ weights


def folds_of(n: int, folds: int, random_state: int) -> list[np.ndarray]:
    """Test rows of each fold: a seeded permutation cut into ``folds`` near-equal parts."""
    return np.array_split(np.random.default_rng(random_state).permutation(n), folds)


def probe_accuracy(x: np.ndarray, codes: np.ndarray, params: LanguagesParams, correction: str | None = None) -> float:
    """Cross-validated accuracy of the ridge probe predicting ``codes`` from ``x``.

    With a ``correction``, it is fitted on each fold's training rows and applied to both sides,
    so the held-out rows never shape the correction that is meant to hide their language.
    """
    n_classes = int(codes.max()) + 1
    correct = 0
    x64 = x.astype(np.float64)
    for test in folds_of(len(x), params.folds, params.random_state):
        train = np.setdiff1d(np.arange(len(x)), test)
        x_train, x_test = x64[train], x64[test]
        if correction is not None:
            removal = LanguageRemoval.fit(x_train, codes[train], correction)
            x_train, x_test = removal.apply(x_train, codes[train]), removal.apply(x_test, codes[test])
        weights, intercept = ridge_fit(x_train, codes[train], n_classes, params.ridge_alpha)
        correct += int(((x_test @ weights + intercept).argmax(axis=1) == codes[test]).sum())
    return correct / len(x)


def same_language_share(x: np.ndarray, codes: np.ndarray, rows: np.ndarray, k: int) -> float:
    """Mean share of the k nearest neighbours (cosine, all rows searched) of ``rows`` in their own language."""
    neighbours, _ = QueryIndex(x, "cosine").search(x[rows], k, exclude=rows)
    return float((codes[neighbours] == codes[rows][:, None]).mean())


def translation_p_at_1(x: np.ndarray, codes: np.ndarray, pairs: np.ndarray, rows: np.ndarray) -> float:
    """Share of the paired documents among ``rows`` whose nearest document in another language is their translation."""
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    _, group = np.unique(pairs, return_inverse=True)
    languages_in_group = np.bincount(np.unique(np.c_[group, codes], axis=0)[:, 0], minlength=group.max() + 1)
    queries = rows[(languages_in_group[group[rows]] > 1) & ~np.isin(pairs[rows], MISSING)]
    if queries.size == 0:
        return float("nan")
    hits = 0
    for start in range(0, queries.size, 1024):
        part = queries[start:start + 1024]
        scores = unit[part] @ unit.T
        scores[codes[None, :] == codes[part][:, None]] = -np.inf  # only other languages
        hits += int((group[scores.argmax(axis=1)] == group[part]).sum())
    return hits / queries.size


@dataclass(frozen=True)
class LanguageRemoval:
    """A fitted correction: the overall mean, each language's mean, and (``subspace``) the basis to project out."""

    mean: np.ndarray
    means: np.ndarray
    basis: np.ndarray | None

    @classmethod
    def fit(cls, x: np.ndarray, codes: np.ndarray, correction: str) -> LanguageRemoval:
        if correction not in CORRECTIONS:
            raise ValueError(f"unknown correction {correction!r}; expected one of {', '.join(CORRECTIONS)}")
        known = codes >= 0
        mean = x[known].mean(axis=0)
        means = np.stack([x[codes == c].mean(axis=0) for c in range(int(codes.max()) + 1)])
        basis = None
        if correction == "subspace":
            vectors, singular, _ = np.linalg.svd((means - mean).T, full_matrices=False)
            basis = vectors[:, singular > 1e-9 * max(singular.max(), 1e-30)]
        return cls(mean, means, basis)

    def apply(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """``x`` with its language removed (rows with code −1, language unknown, keep their place)."""
        out = np.array(x, dtype=np.float64)
        known = codes >= 0
        out[known] += self.mean - self.means[codes[known]]
        if self.basis is not None:
            out -= (out - self.mean) @ self.basis @ self.basis.T
        return out


def remove_language(codes: np.ndarray, correction: str) -> Callable[[np.ndarray], np.ndarray]:
    """The correction as a transform of vectors whose rows align with ``codes`` (−1: language unknown)."""
    LanguageRemoval.fit(np.zeros((1, 1)), np.zeros(1, dtype=np.int64), correction)  # refuse a bad name now

    def transform(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return LanguageRemoval.fit(x, codes, correction).apply(x, codes).astype(np.float32)

    return transform


def _report(x: np.ndarray, codes: np.ndarray, pairs: np.ndarray | None, rows: np.ndarray,
            params: LanguagesParams, probe: float) -> SpaceReport:
    """The measures of one space; ``probe`` is its probe accuracy, computed by the caller."""
    return SpaceReport(variance_explained(x.astype(np.float64), codes), probe,
                       same_language_share(x, codes, rows, params.k),
                       translation_p_at_1(x, codes, pairs, rows) if pairs is not None else float("nan"))


def compute(data: AnalysisData, params: LanguagesParams, progress: Progress) -> LanguagesResult:
    """Language measures of the space and of the space with language removed.

    Under the duplicate policy "fold" (core.duplicates) each distinct text counts once (with its first copy's labels).
    """
    distinct = distinct_rows(data)
    labels = {key: distinct.restrict(np.asarray(v)) for key, v in (data.extras.get("labels") or {}).items()}
    column = language_column(labels, params.column)
    values = np.asarray(labels[column]).astype(str)
    known = ~np.isin(values, MISSING)
    languages, codes = np.unique(values[known], return_inverse=True)
    if languages.size < 2:
        raise NotApplicable(f"column {column!r} holds {languages.size} language(s) among the documents in view: "
                         "at least two are needed")
    x = np.asarray(distinct.restrict(data.vectors), dtype=np.float32)[known]
    if len(x) <= max(params.k, params.folds):
        raise NotApplicable(f"{len(x)} documents with a language are too few for k = {params.k} and {params.folds} folds")
    pairs = None
    if params.pair_column:
        pairs = np.asarray(labels[language_column(labels, params.pair_column)]).astype(str)[known]
    rows = seeded_rows(len(x), params.sample, params.random_state)
    counts = np.bincount(codes)
    unit = np.stack([x[codes == c].mean(axis=0) for c in range(languages.size)])
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    progress(0, 2, "measuring the space")
    probed = seeded_rows(len(x), params.probe_sample, params.random_state)
    before = _report(x, codes, pairs, rows, params, probe_accuracy(x[probed], codes[probed], params))
    progress(1, 2, f"removing language ({params.correction})")
    after = _report(remove_language(codes, params.correction)(x), codes, pairs, rows, params,
                    probe_accuracy(x[probed], codes[probed], params, params.correction))
    progress(2, 2, "done")
    n = counts.sum()
    same_by_chance = float((counts * (counts - 1)).sum() / (n * (n - 1)))  # a random other document's language
    return LanguagesResult(column, params.correction, tuple(str(v) for v in languages), counts.astype(np.int64),
                           unit @ unit.T, float(counts.max() / n), same_by_chance, before, after)
