"""Light and dark themes, or following the system's colour scheme.

Qt's Fusion style with an explicit palette looks the same on every platform
and is the only style that honours a dark palette everywhere. Plots are
pyqtgraph scenes that ignore the palette, so their colours are set here too:
through pyqtgraph's config for plots made later, and on every existing plot
(background, axes, titles, axis labels, legends, line labels) for those
already shown. Fusion draws a check box's outline a shade darker than the
window, invisible on a dark base, so the dark theme outlines unchecked boxes.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QGraphicsView
from pyqtgraph.graphicsItems.InfiniteLine import InfLineLabel

from core.settings import THEMES

#: (background, foreground) of plots per effective theme
PLOT_COLORS = {"light": ("#ffffff", "#333333"), "dark": ("#1e1f22", "#c8c8c8")}
_DARK = {
    QPalette.Window: "#2b2d30",
    QPalette.WindowText: "#dfe1e5",
    QPalette.Base: "#1e1f22",
    QPalette.AlternateBase: "#2b2d30",
    QPalette.ToolTipBase: "#3c3f41",
    QPalette.ToolTipText: "#dfe1e5",
    QPalette.PlaceholderText: "#8c8f94",
    QPalette.Text: "#dfe1e5",
    QPalette.Button: "#393b40",
    QPalette.ButtonText: "#dfe1e5",
    QPalette.BrightText: "#ff6b6b",
    QPalette.Link: "#6aa7ff",
    QPalette.Highlight: "#2f65ca",
    QPalette.HighlightedText: "#ffffff",
}
_DARK_DISABLED = {QPalette.WindowText: "#7a7d82", QPalette.Text: "#7a7d82", QPalette.ButtonText: "#7a7d82"}
#: the dark theme's application style sheet: unchecked boxes get an outline the eye can find
DARK_STYLE_SHEET = (
    "QCheckBox::indicator:unchecked, QAbstractItemView::indicator:unchecked {"
    " border: 1px solid #8c8f94; border-radius: 2px; background: #1e1f22; width: 12px; height: 12px; }"
)


def effective_theme(app: QApplication, name: str) -> str:
    """'light' or 'dark': ``name`` itself, or the system's scheme for 'system'."""
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; expected one of {THEMES}")
    if name != "system":
        return name
    return "dark" if app.styleHints().colorScheme() == Qt.ColorScheme.Dark else "light"


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in _DARK.items():
        palette.setColor(role, QColor(color))
    for role, color in _DARK_DISABLED.items():
        palette.setColor(QPalette.Disabled, role, QColor(color))
    return palette


def apply_theme(app: QApplication, name: str) -> str:
    """Style the whole app as ``name`` ('system', 'light' or 'dark'); returns the effective theme.

    With 'system' the app follows later changes of the system's scheme as well.
    """
    theme = effective_theme(app, name)
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if theme == "dark" else app.style().standardPalette())
    app.setStyleSheet(DARK_STYLE_SHEET if theme == "dark" else "")
    background, foreground = PLOT_COLORS[theme]
    pg.setConfigOptions(background=background, foreground=foreground)
    for top in app.topLevelWidgets():  # walked from live windows: allWidgets() can hand back widgets mid-deletion
        views = [top] if isinstance(top, pg.GraphicsView) else []
        for view in views + [v for v in top.findChildren(QGraphicsView) if isinstance(v, pg.GraphicsView)]:
            tint_plot(view, background, foreground)
    app.setProperty("ee_theme", name)
    if not app.property("ee_theme_follows"):
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: _on_system_scheme_changed(app))
        app.setProperty("ee_theme_follows", True)
    return theme


def _on_system_scheme_changed(app: QApplication) -> None:
    if app.property("ee_theme") == "system":
        apply_theme(app, "system")


def tint_plot(view: pg.GraphicsView, background: str, foreground: str) -> None:
    """Colour everything one plot draws but its data (background, axes, titles, axis labels, legends,
    line labels); the view remembers the colours (an export restores them after)."""
    view.setProperty("ee_plot_colors", (background, foreground))
    view.setBackground(background)
    for item in view.scene().items():
        if isinstance(item, pg.AxisItem):
            item.setPen(foreground)
            item.setTextPen(foreground)  # tick labels and the axis label
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextColor(foreground)
        elif isinstance(item, pg.LabelItem):  # titles and legend entries
            item.setAttr("color", foreground)
            item.setText(item.text)
        elif isinstance(item, InfLineLabel):
            item.setColor(foreground)
