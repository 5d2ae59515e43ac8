"""Hubness of a kNN graph: k-occurrence and the measures built on it (Qt-free).

Hubness: in high dimensions a few points (hubs) turn up in very many kNN lists
while others (antihubs) are in none (Radovanović, Nanopoulos & Ivanović, "Hubs
in Space", JMLR 2010). The measures follow Feldbauer & Flexer (KAIS 2019) and
``shared/design/metrics.md``; every function works on N_k, the k-occurrence
vector (how many kNN lists each point is in). The reductions that remove
hubness are in :mod:`core.hubness_reduction`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from core.plugin_api import KnnGraph

#: measure name: (title, short title, one-line meaning with its source), shown by every view
MEASURES = {
    "k_skewness": (
        "k-skewness S_Nk",
        "S_Nk",
        "How lopsided the neighbour counts N_k are; above ~1.2 a few points are everybody's "
        "neighbour (Radovanović et al., JMLR 2010).",
    ),
    "robinhood": (
        "Robin Hood index",
        "Robin Hood",
        "Share of neighbour slots that would have to move so every point is in exactly k lists; "
        "0 = perfectly even (Feldbauer et al. 2018).",
    ),
    "gini": (
        "Gini index",
        "Gini",
        "Inequality of N_k, as for incomes: 0 = every point equally often a neighbour, "
        "near 1 = a few points take all (Feldbauer & Flexer 2019).",
    ),
    "hub_occurrence": (
        "Hub occurrence",
        "Hub occ.",
        "Share of all kNN slots taken by hubs, points in more than 2k lists "
        "(Flexer & Schnitzer 2015).",
    ),
    "antihub_occurrence": (
        "Antihub occurrence",
        "Antihub occ.",
        "Share of points that are nobody's neighbour (N_k = 0): search never returns them "
        "(Radovanović et al., JMLR 2010).",
    ),
    "max_occurrence": (
        "Max N_k",
        "Max N_k",
        "How many kNN lists the biggest hub is in; the mean is always k (Radovanović et al., JMLR 2010).",
    ),
}


def k_occurrence(graph: KnnGraph, k: int | None = None) -> np.ndarray:
    """k-occurrence N_k(x): how often each row appears in the others' kNN lists.

    Radovanović et al., "Hubs in Space", JMLR 2010. Sums to n·k; ``k`` slices
    the first k columns (default: all).
    """
    return np.bincount(graph.indices[:, :k].ravel(), minlength=graph.n).astype(np.int64)


def k_skewness(occ: np.ndarray) -> float:
    """S_Nk = E[(N_k − k)³] / std(N_k)³ with population moments (Radovanović 2010).

    The mean of N_k is exactly k, so centring on the mean is centring on k.
    A constant N_k has skewness 0. Above ~1.2 is commonly read as high hubness.
    """
    occ = np.asarray(occ, dtype=np.float64)
    centred = occ - occ.mean()
    std = np.sqrt(np.mean(centred**2))
    return float(np.mean(centred**3) / std**3) if std > 0 else 0.0


def robinhood(occ: np.ndarray, k: int) -> float:
    """Robin Hood index Σ|N_k − k| / (2nk): share of occurrences to move so all
    N_k equal k (Feldbauer, Leodolter, Grill & Flexer 2018)."""
    occ = np.asarray(occ, dtype=np.float64)
    return float(np.abs(occ - k).sum() / (2.0 * occ.size * k))


def gini(occ: np.ndarray) -> float:
    """Gini index of N_k, Σ_i Σ_j |N_i − N_j| / (2 n² mean) (Feldbauer & Flexer 2019).

    0 when every point occurs equally often, → 1 when one point takes all.
    """
    ordered = np.sort(np.asarray(occ, dtype=np.float64))
    n, total = ordered.size, ordered.sum()
    if total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(np.sum((2 * ranks - n - 1) * ordered) / (n * total))


def hub_occurrence(occ: np.ndarray, k: int) -> float:
    """Share of all n·k kNN slots taken by hubs, hubs being N_k > 2k
    (Flexer & Schnitzer 2015)."""
    occ = np.asarray(occ)
    return float(occ[occ > 2 * k].sum() / (occ.size * k))


def antihub_occurrence(occ: np.ndarray) -> float:
    """Share of points with N_k = 0, never anybody's neighbour (Radovanović 2010)."""
    return float(np.mean(np.asarray(occ) == 0))


@dataclass(frozen=True)
class HubnessMeasures:
    """The hubness measures of one k-occurrence vector (see metrics.md)."""

    k: int
    k_skewness: float
    robinhood: float
    gini: float
    hub_occurrence: float
    antihub_occurrence: float
    max_occurrence: int

    @classmethod
    def from_occurrence(cls, occ: np.ndarray, k: int) -> HubnessMeasures:
        return cls(
            k=int(k),
            k_skewness=k_skewness(occ),
            robinhood=robinhood(occ, k),
            gini=gini(occ),
            hub_occurrence=hub_occurrence(occ, k),
            antihub_occurrence=antihub_occurrence(occ),
            max_occurrence=int(np.max(occ)) if np.size(occ) else 0,
        )

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def to_vector(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)

    @classmethod
    def from_vector(cls, values: np.ndarray) -> HubnessMeasures:
        kwargs = {f.name: float(v) for f, v in zip(fields(cls), values)}
        return cls(**{**kwargs, "k": int(kwargs["k"]), "max_occurrence": int(kwargs["max_occurrence"])})


def hubness_measures(graph: KnnGraph, k: int) -> HubnessMeasures:
    """All hubness measures of the first k columns of ``graph``."""
    return HubnessMeasures.from_occurrence(k_occurrence(graph, k), k)
