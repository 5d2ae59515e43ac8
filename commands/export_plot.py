"""Render a workspace's map to a figure file without a window (``export-plot``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from commands.headless import WorkspaceView, load_view, map_result
from gui.app import make_app
from gui.figure_export import export_figure
from gui.panel_base import PanelContext
from plugins.map.analysis import MapParams
from plugins.map.panel import MapPanel


def render_map(
    view: WorkspaceView,
    out: str | Path,
    color_by: str = "collection",
    width: int = 1600,
    dpi: int = 300,
    title: str | None = None,
) -> Path:
    """Project (or reuse the app's saved projection), colour and export the map.

    Writes ``out`` (.png/.svg/.pdf) plus ``<stem>.csv`` and ``<stem>.manifest.json``.
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
            return export_figure(panel.view.plot_item, out, width, dpi, title or context.title, **panel.figure_payload())
        finally:
            # delete the widget while Qt is fully alive: left to interpreter exit it can crash (SIGSEGV)
            panel.close()
            panel.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    finally:
        view.store.close()


def export_plot_command(args: argparse.Namespace) -> int:
    """``export-plot``: render the map offscreen and write the figure with its data and manifest."""
    make_app()
    view = load_view(args.workspace, args.collection, args.model)
    path = render_map(view, args.out, color_by=args.color_by, width=args.width, dpi=args.dpi, title=args.title)
    print(f"Wrote {path}")
    return 0
