"""Shared pieces of the panels' charts: a plot in the theme's colours, a legend
below the plot (never over the data), bars that stay visible however narrow,
and a log axis whose ticks all read the same way (10⁻³, 2·10⁻³)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(value: float) -> str:
    """``value`` as ``m·10ⁿ`` (``10ⁿ`` when m = 1), one significant digit."""
    mantissa, exponent = f"{value:.0e}".split("e")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    return power if mantissa == "1" else f"{mantissa}·{power}"


class PowerOfTenAxis(pg.AxisItem):
    """A log axis labelled in one format: decades, and 2· and 5· a decade when it spans less than two."""

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802 - pyqtgraph override
        low, high = self.range
        labelled = (1,) if high - low >= 2 else (1, 2, 5)
        texts = [power_of_ten(10.0 ** v * scale) for v in values]
        return [t if "·" not in t or int(t.split("·")[0]) in labelled else "" for t in texts]


class IntegerAxis(pg.AxisItem):
    """An axis of counts: ticks only at whole numbers, however far it is zoomed in."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802 - pyqtgraph override
        levels = [(max(1.0, spacing), [float(round(v)) for v in values if abs(v - round(v)) < 1e-6])
                  for spacing, values in super().tickValues(minVal, maxVal, size)]
        return [level for level in levels if level[1]]


def themed_plot(title: str, bottom: str, left: str, log_y: bool = False, integer_x: bool = False) -> pg.PlotWidget:
    """A plot with a title, named axes and a light grid, in the current theme's colours
    (``gui.theme`` re-tints it when the theme changes); ``integer_x`` for counts along x."""
    axes: dict[str, pg.AxisItem] = {"left": PowerOfTenAxis("left")} if log_y else {}
    if integer_x:
        axes["bottom"] = IntegerAxis("bottom")
    widget = pg.PlotWidget(axisItems=axes)
    item = widget.getPlotItem()
    item.setTitle(title)
    item.setLabel("bottom", bottom)
    item.setLabel("left", left)
    item.showGrid(x=True, y=True, alpha=0.2)
    if log_y:
        item.setLogMode(y=True)
    for side in ("bottom", "left"):
        item.getAxis(side).enableAutoSIPrefix(False)
    widget.setMinimumHeight(220)
    return widget


def legend_below(plot_item: pg.PlotItem) -> pg.LegendItem:
    """A legend in a row of its own under the plot (one entry per line), so it hides no data;
    items added to ``plot_item`` with a ``name`` join it, as with ``addLegend``."""
    legend = pg.LegendItem(colCount=1, verSpacing=-6)
    plot_item.layout.addItem(legend, 4, 1)
    plot_item.legend = legend
    return legend


def line_sample(pen: Any) -> pg.PlotDataItem:
    """An empty curve drawn with ``pen``: a legend entry for a line item (an InfiniteLine has none)."""
    return pg.PlotDataItem(pen=pen)


def bars(brush: Any, **opts: Any) -> pg.BarGraphItem:
    """Bars outlined in their own colour: a cosmetic 1-px pen keeps every bar at least one
    pixel wide, where a fill alone vanishes once a bar is narrower than a pixel."""
    brush = pg.mkBrush(brush)
    return pg.BarGraphItem(x=np.empty(0), height=np.empty(0), width=opts.pop("width", 0.8), brush=brush,
                           pen=pg.mkPen(brush.color(), width=1), **opts)
