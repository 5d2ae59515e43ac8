"""Text annotations that a view publishes for the map to draw (Qt-free).

A plugin that names regions of the map (clusters, say) hands the map panel one
:class:`MapLabels` through the panel context; the map's label layer decides
which to show at the current zoom. Plugins never import the map.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class MapLabels:
    """Labels anchored at map coordinates.

    Zoom levels count from 0, the coarsest (zoomed out); a label is shown at
    the zoom levels ``level`` to ``until`` (``until`` None: its ``level``
    only), e.g. a region that never splits keeps its name when zooming in.
    Within what fits, a higher ``priority`` wins (cluster size, say). ``keys``
    are stable names a layer may use to keep a label it already shows in place.
    """

    x: np.ndarray  # (m,) float
    y: np.ndarray  # (m,) float
    texts: tuple[str, ...]
    level: np.ndarray  # (m,) int
    priority: np.ndarray  # (m,) float
    keys: tuple[str, ...]
    until: np.ndarray | None = None  # (m,) int ≥ level

    def __post_init__(self) -> None:
        m = len(self.texts)
        if self.until is None:
            object.__setattr__(self, "until", np.asarray(self.level))
        if not all(len(a) == m for a in (self.x, self.y, self.level, self.priority, self.keys, self.until)):
            raise ValueError("every MapLabels field needs one entry per label")

    def shown_at(self, zoom_level: int) -> np.ndarray:
        """Boolean mask of the labels shown at ``zoom_level``."""
        return (np.asarray(self.level) <= zoom_level) & (zoom_level <= np.asarray(self.until))

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_levels(self) -> int:
        return int(np.max(self.until)) + 1 if len(self) else 0
