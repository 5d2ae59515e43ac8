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
    """L2 norm of every vector and their histogram."""
    norms = np.linalg.norm(data.vectors, axis=1)
    counts, edges = np.histogram(norms, bins=params.bins)
    progress(1, 1, "done")
    return NormsResult(norms, counts, edges)
