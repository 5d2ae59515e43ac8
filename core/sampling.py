"""Seeded row samples, so every view that measures "a sample above N rows" samples the same way."""
from __future__ import annotations

import numpy as np


def seeded_rows(n: int, limit: int, random_state: int = 0) -> np.ndarray:
    """All ``n`` rows when ``n <= limit``, else ``limit`` of them drawn with ``random_state``; ascending."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, size=limit, replace=False))
