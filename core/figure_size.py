"""Physical figure sizes: the presets journals and talks ask for, or a width in inches (Qt-free,
so the command line checks a size before any window code loads)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FigureSize:
    """A physical figure size; ``height_in`` None keeps the plot's aspect ratio on screen."""

    name: str
    width_in: float
    height_in: float | None = None

    def inches(self, aspect: float) -> tuple[float, float]:
        """(width, height) in inches for a plot of ``aspect`` = height / width on screen.

        The aspect is held between ``MIN_ASPECT`` and ``MAX_ASPECT``: a plot squeezed into a
        short strip of a panel still makes a figure tall enough to read.
        """
        if self.height_in is not None:
            return self.width_in, self.height_in
        return self.width_in, self.width_in * min(max(aspect, MIN_ASPECT), MAX_ASPECT)


MIN_ASPECT, MAX_ASPECT = 0.55, 1.0

#: sizes journals and talks ask for (Nature, Science, IEEE, ACL columns are 3.3–3.5 in and 6.7–7.2 in wide)
PRESETS = {
    "single": FigureSize("Single column (3.5 in)", 3.5),
    "double": FigureSize("Double column (7.2 in)", 7.2),
    "slide": FigureSize("Slide 16:9 (13.33 × 7.5 in)", 13.333, 7.5),
}


def figure_size(size: str | float | FigureSize) -> FigureSize:
    """A preset name, a width in inches, or a FigureSize; ValueError names the presets."""
    if isinstance(size, FigureSize):
        return size
    if isinstance(size, (int, float)) or str(size).replace(".", "", 1).isdigit():
        width = float(size)
        if not 1.0 <= width <= 40.0:
            raise ValueError(f"a figure {width} in wide is not printable: choose 1 to 40 inches")
        return FigureSize(f"{width:g} in wide", width)
    if size not in PRESETS:
        raise ValueError(f"unknown figure size {size!r}: choose {', '.join(PRESETS)} or a width in inches")
    return PRESETS[size]
