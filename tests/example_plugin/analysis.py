"""Qt-free compute of the example plugin."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.plugin_api import AnalysisData
from core.progress import Progress


@dataclass(frozen=True)
class NormsParams:
    bins: int = 30


@dataclass(frozen=True)
class NormsResult:
    norms: np.ndarray
    counts: np.ndarray
    edges: np.ndarray


def compute(data: AnalysisData, params: NormsParams, progress: Progress) -> NormsResult:
    """L2 norm of every vector and their histogram.

    Unit-length vectors have norms that differ only in the last float32 bits; numpy
    cannot split so narrow a range into bins ("Too many bins"), so the range is
    widened to at least a thousandth of the norm around its centre.
    """
    norms = np.linalg.norm(data.vectors.astype(np.float64), axis=1)
    low, high = (float(norms.min()), float(norms.max())) if norms.size else (0.0, 1.0)
    half = max(high - low, 1e-3 * max(abs(high), 1.0)) / 2
    centre = (low + high) / 2
    counts, edges = np.histogram(norms, bins=params.bins, range=(centre - half, centre + half))
    progress(1, 1, "done")
    return NormsResult(norms, counts, edges)
