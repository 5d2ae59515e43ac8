"""The hubness view's compute: N_k before and after each reduction (Qt-free).

The measures live in :mod:`core.hubness`, the reductions in
:mod:`core.hubness_reduction` (shared with the neighbours and compare views).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.duplicates import distinct_rows
from core.hubness import HubnessMeasures, k_occurrence
from core.hubness_reduction import METHOD_TITLES, METHODS, reduce_knn_graph
from core.knn import graph_for
from core.plugin_api import DISPLAY_ONLY, AnalysisData, CacheableResult
from core.progress import Progress

K_CHOICES = (5, 10, 20, 50)
TOP_HUBS = 20


@dataclass(frozen=True)
class HubnessParams:
    """What the hubness view shows.

    ``candidates`` is the length of the candidate lists that reductions
    re-rank; ``log_scale`` only changes the histogram's axis.
    """

    k: int = 10
    reduction: str = "mutual_proximity_gaussian"
    candidates: int = 50
    log_scale: bool = field(default=False, metadata=DISPLAY_ONLY)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be ≥ 1 (usual choices {K_CHOICES}), got {self.k}")
        if self.reduction not in METHODS:
            raise ValueError(f"unknown reduction {self.reduction!r}; expected one of {METHODS}")
        if self.candidates < 1:
            raise ValueError(f"candidates must be ≥ 1, got {self.candidates}")

    @property
    def graph_k(self) -> int:
        """Columns of the shared graph: enough candidates to re-rank (≥ 2k, so a
        reduction can change the lists even at k = 50)."""
        return max(self.candidates, 2 * self.k)


@dataclass(frozen=True, eq=False)
class HubnessResult(CacheableResult):
    """Raw N_k, N_k after the chosen reduction, and measures for every method.

    ``method_measures`` maps each of ``METHODS`` to its measures *after*
    reduction; ``measures`` are the raw (before) ones for all of them.
    """

    k: int
    method: str
    occurrence: np.ndarray  # (n,) int64, raw N_k
    reduced_occurrence: np.ndarray  # (n,) int64, N_k after ``method``
    measures: HubnessMeasures
    method_measures: dict[str, HubnessMeasures]
    #: rows of the distinct texts the measures count (core.duplicates); None: every row
    first: np.ndarray | None = None

    @property
    def reduced(self) -> HubnessMeasures:
        return self.method_measures[self.method]

    @property
    def points(self) -> np.ndarray:
        """Rows the measures and the histogram count: one per distinct text (or every row)."""
        return np.arange(self.occurrence.size) if self.first is None else self.first

    def _ranked(self, rows: np.ndarray) -> np.ndarray:
        return rows[np.argsort(-self.occurrence[rows], kind="stable")]

    @property
    def hub_rows(self) -> np.ndarray:
        """Rows with N_k > 2k, most frequent first (ties by row), one per text."""
        return self._ranked(self.points[self.occurrence[self.points] > 2 * self.k])

    @property
    def top_hubs(self) -> np.ndarray:
        """The ``TOP_HUBS`` rows with the largest N_k (ties by row), one per text."""
        return self._ranked(self.points)[:TOP_HUBS]

    @property
    def antihub_rows(self) -> np.ndarray:
        """Rows with N_k = 0, ascending, one per text."""
        return self.points[self.occurrence[self.points] == 0]

    def table(self) -> list[dict[str, float | int | str]]:
        """One row per method: every measure before and after reduction."""
        rows = []
        for method in METHODS:
            row: dict[str, float | int | str] = {"method": method, "title": METHOD_TITLES[method]}
            after = self.method_measures[method].as_dict()
            for name, before in self.measures.as_dict().items():
                if name != "k":
                    row[f"{name}_before"] = before
                    row[f"{name}_after"] = after[name]
            rows.append(row)
        return rows

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "k": np.array(self.k),
            "method": np.str_(self.method),
            "occurrence": self.occurrence,
            "reduced_occurrence": self.reduced_occurrence,
            "measures": self.measures.to_vector(),
            "methods": np.array(list(self.method_measures), dtype=np.str_),
            "method_measures": np.stack([m.to_vector() for m in self.method_measures.values()]),
            "first": np.asarray(self.points, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> HubnessResult:
        methods = [str(m) for m in np.asarray(arrays["methods"])]
        return cls(
            k=int(arrays["k"]),
            method=str(arrays["method"]),
            occurrence=np.asarray(arrays["occurrence"], dtype=np.int64),
            reduced_occurrence=np.asarray(arrays["reduced_occurrence"], dtype=np.int64),
            measures=HubnessMeasures.from_vector(arrays["measures"]),
            method_measures={
                m: HubnessMeasures.from_vector(v) for m, v in zip(methods, np.asarray(arrays["method_measures"]))
            },
            first=np.asarray(arrays["first"], dtype=np.int64) if "first" in arrays else None,
        )


def compute(data: AnalysisData, params: HubnessParams, progress: Progress) -> HubnessResult:
    """N_k and hubness measures, raw and after each of the five reductions.

    Uses the shared graph ``data.knn``; builds an exact cosine one instead if
    that is missing, not cosine (mutual proximity and CSLS need cosine) or has
    fewer than ``params.graph_k`` columns.
    """
    distinct = distinct_rows(data)  # the duplicate policy: measures on distinct texts, copies share N_k
    data = distinct.restrict_data(data)
    n, k = data.n, params.k
    if not 1 <= k < n:
        raise ValueError(f"k={k} needs 1 ≤ k < n (n = {n})")
    wanted = min(params.graph_k, n - 1)
    graph = graph_for(data.vectors, wanted, data.knn, method="exact", progress=progress)
    occurrence = k_occurrence(graph, k)
    reduced_occurrence = occurrence
    after: dict[str, HubnessMeasures] = {}
    for step, method in enumerate(METHODS):
        report = _scaled(progress, step, len(METHODS))
        report(0, 1, METHOD_TITLES[method])
        occ = k_occurrence(reduce_knn_graph(data.vectors, graph, method, k, report), k)
        after[method] = HubnessMeasures.from_occurrence(occ, k)
        if method == params.reduction:
            reduced_occurrence = occ
    progress(len(METHODS), len(METHODS), "hubness: done")
    return HubnessResult(
        k=k,
        method=params.reduction,
        occurrence=distinct.expand(occurrence),
        reduced_occurrence=distinct.expand(reduced_occurrence),
        measures=HubnessMeasures.from_occurrence(occurrence, k),
        method_measures=after,
        first=None if distinct.trivial else distinct.first,
    )


def _scaled(progress: Progress, step: int, steps: int) -> Callable[[int, int, str], None]:
    """Report a sub-task's (done, total) as part ``step`` of ``steps`` equal parts."""

    def report(done: int, total: int, message: str) -> None:
        progress(1000 * step + 1000 * done // max(total, 1), 1000 * steps, f"hubness: {message}")

    return report
