"""Keys for coloured scatter plots, drawn inside the plot (so exported figures carry them):
a legend with a title for categories, and a colour bar with a scale for measures that
says what its ends clip."""
from __future__ import annotations

import html
from typing import Protocol, Sequence

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

#: None: the theme's text colour (pyqtgraph's foreground) when a text is set; a fixed #222 vanished in the dark theme
TEXT_COLOUR = None


class Scale(Protocol):
    """What a colour bar shows (``gui.scatter.ColourScale`` is one)."""

    lo: float
    hi: float
    vmin: float
    vmax: float
    below: int
    above: int
    missing: int


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def scale_ends(scale: Scale) -> tuple[str, str]:
    """The texts at the top and bottom of a colour bar: the end values, with "≥" / "≤" and the
    number of points drawn at that end although beyond it."""
    top = (f"≥ {_number(scale.hi)}: {scale.above:,} points up to {_number(scale.vmax)}" if scale.above
           else _number(scale.hi))
    bottom = (f"≤ {_number(scale.lo)}: {scale.below:,} points down to {_number(scale.vmin)}" if scale.below
              else _number(scale.lo))
    if scale.missing:
        bottom += f" · {scale.missing:,} missing (light grey)"
    return top, bottom


class ColourBar(pg.GraphicsLayout):
    """A titled vertical colour bar with a tick scale; its end labels state any clipping."""

    def __init__(self, colour_map: pg.ColorMap, width: int = 14) -> None:
        super().__init__()
        self.title = pg.LabelItem("", color=TEXT_COLOUR, size="9pt", justify="left")
        self.top = pg.LabelItem("", color=TEXT_COLOUR, size="8pt", justify="left")
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=colour_map, interactive=False, width=width)
        self.bottom = pg.LabelItem("", color=TEXT_COLOUR, size="8pt", justify="left")
        for row, item in enumerate((self.title, self.top, self.bar, self.bottom)):
            self.addItem(item, row, 0)
        self.layout.setRowStretchFactor(2, 1)

    def show_scale(self, name: str, scale: Scale) -> None:
        """Show ``scale`` under the title ``name`` (plain text)."""
        self.bar.setLevels((scale.lo, scale.hi))
        self.title.setText(f"<b>{html.escape(name[:40])}</b>")
        top, bottom = scale_ends(scale)
        self.top.setText(html.escape(top))
        self.bottom.setText(html.escape(bottom))

    def texts(self) -> list[str]:
        """The key's words as shown (for tests and accessibility)."""
        return [item.text for item in (self.title, self.top, self.bottom)]


class TitledLegend(pg.GraphicsLayout):
    """A legend of scatter items under a title (the column the colours come from)."""

    def __init__(self) -> None:
        super().__init__()
        self.title = pg.LabelItem("", color=TEXT_COLOUR, size="9pt", justify="left")
        self.legend = pg.LegendItem(labelTextSize="8pt", labelTextColor=TEXT_COLOUR, verSpacing=-6)
        self.addItem(self.title, 0, 0)
        self.addItem(self.legend, 1, 0)
        self._entries: list[tuple[int, str]] = []

    def show_items(self, title: str, items: Sequence[QGraphicsItem], names: Sequence[str]) -> None:
        """One row per item; rebuilt only when the items or names changed (rows are label items,
        and a growing map recoloured on every update spent 20-60 ms of GUI time remaking them)."""
        self.title.setText(f"<b>{html.escape(title[:40])}</b>")
        entries = [(id(item), name) for item, name in zip(items, names)]
        if entries == self._entries:
            return  # same items, same names: the samples repaint in the items' new colours
        self.legend.clear()
        for item, name in zip(items, names):
            self.legend.addItem(item, html.escape(name[:40]))
        self._entries = entries

    def names(self) -> list[str]:
        """The legend's row names as shown (for tests)."""
        return [label.text for _, label in self.legend.items]
