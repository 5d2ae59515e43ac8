"""Render a workspace's map to a figure file without a window (``export-plot``)."""
from __future__ import annotations

import argparse
from contextlib import contextmanager
from dataclasses import replace
import os
import sys
from pathlib import Path
from typing import Any, Iterator

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from commands.headless import WorkspaceView, load_view, map_result, with_graph
from core.figure_size import FigureSize
from core.plugin_api import graph_k_for
from core.progress import null_progress
from core.registry import discover
from gui.app import make_app
from gui.figure_export import export_figure, figure_payload
from gui.panel_base import PanelContext, PluginPanel
from plugins.map.analysis import MapParams
from plugins.map.panel import MapPanel


def _context(view: WorkspaceView) -> PanelContext:
    context = PanelContext(text_lookup=lambda rows: view.store.texts(view.data.doc_ids[rows]))
    context.set_data(
        view.data.n,
        view.labels,
        title=", ".join(view.collection_names),
        provenance={"workspace": str(view.store.path), "collections": view.collection_names, "model": view.model_name},
    )
    return context


@contextmanager
def _shown(panel: PluginPanel, result: Any) -> Iterator[PluginPanel]:
    """``panel`` shown offscreen with ``result``, deleted afterwards while Qt is fully alive
    (left to interpreter exit, a widget can crash it)."""
    panel.resize(1200, 900)
    panel.show()  # offscreen: the layout only settles for a shown widget
    panel.show_result(result)
    QApplication.processEvents()
    try:
        yield panel
    finally:
        panel.close()
        panel.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)


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
        context = _context(view)
        with _shown(MapPanel(context, params), map_result(view, params)) as panel:
            panel.set_color_by(color_by)
            QApplication.processEvents()
            hidden = [] if legend or panel.view.key is None else [panel.view.key]
            return export_figure(panel.view.plot_item, out, size, dpi, title or context.title, hidden=hidden,
                                 **panel.figure_payload())
    finally:
        view.store.close()


def render_view(
    view: WorkspaceView,
    plugin_id: str,
    out: str | Path,
    size: str | FigureSize = "double",
    dpi: int = 300,
    title: str | None = None,
) -> Path:
    """Compute any view (``hubness``, ``anisotropy``…) with its default parameters and export its figure."""
    try:
        spec = discover().get(plugin_id)
        params = spec.params_type()
        k = graph_k_for(spec, params)
        data = with_graph(view, k) if k else view.data
        data = replace(data, extras={**data.extras, "labels": view.labels})
        result = spec.resolve_compute()(data, params, null_progress())
        context = _context(view)
        with _shown(spec.resolve_panel()(context, params), result) as panel:
            items = panel.figure_items()
            if not items:
                raise LookupError(f"the {plugin_id} view has no figure to export")
            name, item = next(iter(items.items()))
            return export_figure(item, out, size, dpi, title or f"{context.title} — {spec.title}",
                                 **figure_payload(panel, plugin_id, name, context.provenance))
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


def export_figure_command(args: argparse.Namespace) -> int:
    """``export-figure``: any view's figure, computed headless with its default parameters."""
    use_offscreen_without_display()
    make_app()
    view = load_view(args.workspace, args.collection, args.model)
    path = render_view(view, args.view, args.out, size=args.size, dpi=args.dpi, title=args.title)
    print(f"Wrote {path}")
    return 0
