"""Export any pyqtgraph PlotItem as PNG, SVG or PDF, with its data and a manifest.

PNG goes through pyqtgraph's ImageExporter (DPI stored in the file), SVG
through its SVGExporter, PDF is vector: the scene is rendered in export mode
(symbols drawn as paths, not cached pixmaps) onto a QPdfWriter page sized to
the figure.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Mapping

import pyqtgraph as pg
from pyqtgraph.exporters import Exporter, ImageExporter, SVGExporter
from PySide6.QtCore import QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QColor, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QLineEdit, QSpinBox, QWidget)

from core.export import Columns, write_manifest, write_table

FORMATS = {"PNG": ".png", "SVG": ".svg", "PDF": ".pdf"}
_INCH_PER_METRE = 39.3700787


def export_figure(
    plot_item: pg.PlotItem,
    path: str | Path,
    width: int = 1600,
    dpi: int = 300,
    title: str | None = None,
    *,
    data: Columns | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``plot_item`` to ``path`` (.png, .svg or .pdf).

    Parameters
    ----------
    width : int
        Pixel width of a PNG; for a PDF, the page is ``width / dpi`` inches
        wide so text and symbols keep the PNG's proportions.
    dpi : int
        Resolution stored in the PNG and used for the PDF page.
    title : str, optional
        Shown above the plot in the file only (plain text).
    data : mapping of columns, optional
        Numbers behind the figure, written to ``<stem>.csv`` beside it.
    manifest : mapping, optional
        Provenance written to ``<stem>.manifest.json`` (plus versions, date).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS.values():
        raise ValueError(f"cannot export a figure as {suffix!r}: use .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    old_title = plot_item.titleLabel.text if plot_item.titleLabel.isVisible() else None
    if title:
        plot_item.setTitle(html.escape(title), color="#222")
    plot_item.layout.activate()  # settle pending layout changes (a new legend) before rendering
    try:
        if suffix == ".png":
            _export_png(plot_item, path, width, dpi)
        elif suffix == ".svg":
            SVGExporter(plot_item).export(str(path))
        else:
            _PdfExporter(plot_item).export_pdf(path, width, dpi)
    finally:
        if title:
            plot_item.setTitle(old_title)
    if data is not None:
        write_table(path.with_name(f"{path.stem}.csv"), data)
    if manifest is not None:
        write_manifest(path.with_name(f"{path.stem}.manifest.json"),
                       {**manifest, "figure": path.name, "width_px": width, "dpi": dpi, "title": title or ""})
    return path


def _export_png(plot_item: pg.PlotItem, path: Path, width: int, dpi: int) -> None:
    exporter = ImageExporter(plot_item)
    exporter.parameters()["width"] = int(width)
    image = exporter.export(toBytes=True)
    dots_per_metre = round(dpi * _INCH_PER_METRE)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    if not image.save(str(path)):
        raise OSError(f"could not write {path}")


class _PdfExporter(Exporter):
    """Vector PDF of one item (pyqtgraph has no PDF exporter)."""

    def parameters(self) -> None:
        return None

    def export_pdf(self, path: Path, width: int, dpi: int) -> None:
        source = self.getSourceRect()
        height = width * source.height() / max(source.width(), 1.0)
        writer = QPdfWriter(str(path))
        writer.setResolution(int(dpi))
        writer.setPageSize(QPageSize(QSizeF(width / dpi, height / dpi), QPageSize.Unit.Inch))
        writer.setPageMargins(QMarginsF(0, 0, 0, 0))
        painter = QPainter(writer)
        if not painter.isActive():
            raise OSError(f"could not write {path}")
        background = QColor("white")
        try:
            painter.fillRect(QRectF(0, 0, width, height), background)
            self.setExportMode(True, {"antialias": True, "background": background, "painter": painter,
                                      "resolutionScale": width / max(self.getTargetRect().width(), 1)})
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self.getScene().render(painter, QRectF(0, 0, width, height), source)
        finally:
            self.setExportMode(False)
            painter.end()


class FigureExportDialog(QDialog):
    """Asks for format, width, DPI and title; ``run()`` also asks for the file."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export figure")
        self.format_box = QComboBox()
        self.format_box.addItems(list(FORMATS))
        self.width_box = QSpinBox(minimum=200, maximum=20000, value=1600, suffix=" px")
        self.dpi_box = QSpinBox(minimum=72, maximum=1200, value=300, suffix=" dpi")
        self.title_edit = QLineEdit(title)
        self.title_edit.setPlaceholderText("no title")
        form = QFormLayout(self)
        form.addRow("Format", self.format_box)
        form.addRow("Width", self.width_box)
        form.addRow("Resolution", self.dpi_box)
        form.addRow("Title", self.title_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def run(self, plot_item: pg.PlotItem, default_name: str, *, data: Columns | None = None,
            manifest: Mapping[str, Any] | None = None) -> Path | None:
        """Show the dialog and a file chooser, then export; None if cancelled."""
        if self.exec() != QDialog.Accepted:
            return None
        suffix = FORMATS[self.format_box.currentText()]
        name, _ = QFileDialog.getSaveFileName(self, "Export figure", default_name + suffix,
                                              f"{self.format_box.currentText()} (*{suffix})")
        if not name:
            return None
        path = Path(name) if Path(name).suffix.lower() == suffix else Path(name + suffix)
        return export_figure(plot_item, path, self.width_box.value(), self.dpi_box.value(),
                             self.title_edit.text().strip() or None, data=data, manifest=manifest)

