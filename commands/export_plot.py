"""Render a workspace's map to a figure file without a window (``export-plot``)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from commands.headless import WorkspaceView, load_view, map_result
from core.figure_size import FigureSize
from gui.app import make_app
from gui.figure_export import export_figure
from gui.panel_base import PanelContext
from plugins.map.analysis import MapParams
from plugins.map.panel import MapPanel


def render_map(
    view: WorkspaceView,
    out: str | Path,
    color_by: str = "collection",
    size: str | FigureSize = "double",
    dpi: int = 300,
    title: str | None = None,
    legend: bool = True,
) -> Path:
    """Project (or reuse the app's saved projection), colour and export the map.

    Writes ``out`` (.png/.svg/.pdf) plus ``<out>.csv`` and ``<out>.manifest.json``.
    """
    params = MapParams()
    try:
        result = map_result(view, params)
        context = PanelContext(text_lookup=lambda rows: view.store.texts(view.data.doc_ids[rows]))
        context.set_data(
            view.data.n,
            view.labels,
            title=", ".join(view.collection_names),
            provenance={"workspace": str(view.store.path), "collections": view.collection_names, "model": view.model_name},
        )
        panel = MapPanel(context, params)
        panel.resize(1200, 900)  # the on-screen size the figure is laid out at; the exporter scales it
        panel.show()  # offscreen: the layout only settles for a shown widget
        panel.show_result(result)
        panel.set_color_by(color_by)
        QApplication.processEvents()
        try:
            hidden = [] if legend or panel.view.key is None else [panel.view.key]
            return export_figure(panel.view.plot_item, out, size, dpi, title or context.title, hidden=hidden,
                                 **panel.figure_payload())
        finally:
            # delete the widget while Qt is fully alive: left to interpreter exit it can crash (SIGSEGV)
            panel.close()
            panel.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    finally:
        view.store.close()


def use_offscreen_without_display() -> None:
    """On Linux with neither X11 nor Wayland (a server, SSH), draw offscreen instead of aborting in Qt."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def export_plot_command(args: argparse.Namespace) -> int:
    """``export-plot``: render the map offscreen and write the figure with its data and manifest."""
    use_offscreen_without_display()
    make_app()
    view = load_view(args.workspace, args.collection, args.model)
    path = render_map(view, args.out, color_by=args.color_by, size=args.size, dpi=args.dpi, title=args.title,
                      legend=args.legend)
    print(f"Wrote {path}")
    return 0
