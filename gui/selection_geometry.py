"""Selection geometry for the map: which rows lie inside a lasso or a box.

Pure numpy, vectorised over points (one pass per polygon edge), and always
over ALL rows, whatever the view currently draws (decimated or density).
"""
from __future__ import annotations

import numpy as np


def points_in_polygon(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Rows of ``xy`` strictly inside ``polygon`` (even-odd rule).

    Parameters
    ----------
    xy : (n, 2) array
        Point coordinates; NaN rows are never inside.
    polygon : (m, 2) array
        Vertices in order; the closing edge is implied.

    Returns
    -------
    np.ndarray
        Sorted int64 row numbers.
    """
    xy = np.asarray(xy, dtype=np.float64)
    poly = np.asarray(polygon, dtype=np.float64)
    if len(poly) < 3 or len(xy) == 0:
        return np.empty(0, dtype=np.int64)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    candidates = np.flatnonzero(
        (xy[:, 0] >= lo[0]) & (xy[:, 0] <= hi[0]) & (xy[:, 1] >= lo[1]) & (xy[:, 1] <= hi[1])
    )
    px, py = xy[candidates, 0], xy[candidates, 1]
    inside = np.zeros(candidates.size, dtype=bool)
    for (x1, y1), (x2, y2) in zip(poly, np.roll(poly, -1, axis=0)):
        if y1 == y2:
            continue  # horizontal edges never cross a horizontal ray
        crosses = (y1 > py) != (y2 > py)
        x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_at)
    return candidates[inside].astype(np.int64)


def points_in_rect(xy: np.ndarray, corner_a: tuple[float, float], corner_b: tuple[float, float]) -> np.ndarray:
    """Sorted rows of ``xy`` inside the axis-aligned box spanned by two corners (edges included)."""
    xy = np.asarray(xy, dtype=np.float64)
    (x0, x1), (y0, y1) = sorted((corner_a[0], corner_b[0])), sorted((corner_a[1], corner_b[1]))
    mask = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    return np.flatnonzero(mask).astype(np.int64)


def combine(current: np.ndarray, rows: np.ndarray, mode: str) -> np.ndarray:
    """Merge a new pick into the selection: ``"replace"``, ``"add"`` or ``"remove"``."""
    rows = np.asarray(rows, dtype=np.int64)
    if mode == "add":
        return np.union1d(current, rows)
    if mode == "remove":
        return np.setdiff1d(current, rows)
    return np.unique(rows)


def invert(current: np.ndarray, n_rows: int) -> np.ndarray:
    """Every row not in ``current``."""
    return np.setdiff1d(np.arange(n_rows, dtype=np.int64), current)
