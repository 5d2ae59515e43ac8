"""Export any pyqtgraph PlotItem as a figure for print: PNG, SVG or PDF, with its data and a manifest.

One figure model for every view. A figure has a physical size (a journal's single or double
column, a 16:9 slide, or a custom width in inches) and a DPI. The plot is laid out at that size
in 96-dpi units before it is drawn, so text in points is printed at that size (a 9-pt axis label
stays 9 pt in a 3.5-in column) instead of being scaled with the window. It is drawn on white
with the light theme's text colours, whatever the app's theme. PNG goes through pyqtgraph's
ImageExporter (the DPI stored in the file); PDF and SVG are vector, through one renderer:
the scene drawn in export mode (symbols as paths, not cached pixmaps) onto a QPdfWriter page or a
QSvgGenerator of the figure's size — no clip paths, so every SVG renderer draws the points.
Items in ``hidden`` (overlays the user did not tick, a legend) are left out of the file.
Beside ``fig.<ext>`` go ``fig.<ext>.csv`` (the numbers behind it) and ``fig.<ext>.manifest.json``:
exporting one figure in three formats never overwrites one format's side files with another's.
"""
from __future__ import annotations

import html
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import pyqtgraph as pg
from pyqtgraph.exporters import Exporter, ImageExporter
from PySide6.QtCore import QMarginsF, QRect, QRectF, QSettings, QSize, QSizeF, QStandardPaths
from PySide6.QtGui import QColor, QPageSize, QPagedPaintDevice, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGraphicsItem, QLineEdit, QSpinBox, QWidget)

from core.export import Columns, write_manifest, write_table
from core.figure_size import PRESETS, FigureSize, figure_size
from gui.theme import PLOT_COLORS, tint_plot

FORMATS = {"PNG": ".png", "SVG": ".svg", "PDF": ".pdf"}
#: QSettings key of the folder the last figure went to
LAST_FOLDER_KEY = "export/last_folder"
LAYOUT_DPI = 96  # logical pixels per inch the figure is laid out at
_INCH_PER_METRE = 39.3700787


def figure_payload(panel: Any, plugin_id: str, figure: str, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The data and manifest of a view's figure: the panel's own ``figure_payload()`` where it has one,
    else its table rows as columns and the view's provenance."""
    if hasattr(panel, "figure_payload"):
        return panel.figure_payload()
    rows = panel.table_rows()
    return {"data": {key: [row.get(key) for row in rows] for key in (rows[0] if rows else {})},
            "manifest": {"view": plugin_id, "figure": figure, **provenance}}


def side_files(path: Path) -> tuple[Path, Path]:
    """The data table and manifest written beside the figure ``path`` (one pair per format)."""
    return path.with_name(path.name + ".csv"), path.with_name(path.name + ".manifest.json")


def export_figure(
    plot_item: pg.PlotItem,
    path: str | Path,
    size: str | float | FigureSize = "double",
    dpi: int = 300,
    title: str | None = None,
    *,
    hidden: Sequence[QGraphicsItem] = (),
    data: Columns | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``plot_item`` to ``path`` (.png, .svg or .pdf) at a physical ``size`` and ``dpi``.

    Parameters
    ----------
    size : preset name ("single", "double", "slide"), width in inches, or FigureSize
    dpi : int
        Pixels per inch of a PNG (stored in the file); the resolution of a PDF page.
    title : str, optional
        Shown above the plot in the file only (plain text).
    hidden : graphics items
        Left out of the file (overlays not asked for, a legend).
    data : mapping of columns, optional
        Numbers behind the figure, written to ``<file>.csv`` beside it.
    manifest : mapping, optional
        Provenance written to ``<file>.manifest.json`` (plus size, versions, date).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS.values():
        raise ValueError(f"cannot export a figure as {suffix!r}: use .png, .svg or .pdf")
    if not 36 <= dpi <= 2400:
        raise ValueError(f"{dpi} dpi is outside 36–2400")
    size = figure_size(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    old_title = plot_item.titleLabel.text if plot_item.titleLabel.isVisible() else None
    if title:
        plot_item.setTitle(html.escape(title), color=PLOT_COLORS["light"][1])
    try:
        with _print_layout(plot_item, size, hidden) as (width_in, height_in):
            # vector files are drawn at the layout's own scale; a PNG at dpi / LAYOUT_DPI pixels per unit
            with _fixed_size_items_scaled(plot_item, dpi / LAYOUT_DPI if suffix == ".png" else 1.0):
                if suffix == ".png":
                    _export_png(plot_item, path, round(width_in * dpi), dpi)
                else:
                    _VectorExporter(plot_item).export_vector(path, width_in, height_in)
    finally:
        if title:
            plot_item.setTitle(old_title)
    csv_path, manifest_path = side_files(path)
    if data is not None:
        write_table(csv_path, data)
    if manifest is not None:
        write_manifest(manifest_path, {**manifest, "figure": path.name, "size": size.name, "width_in": round(width_in, 3),
                                       "height_in": round(height_in, 3), "dpi": dpi, "title": title or ""})
    return path


@contextmanager
def _print_layout(plot_item: pg.PlotItem, size: FigureSize, hidden: Sequence[QGraphicsItem]) -> Iterator[tuple[float, float]]:
    """Lay ``plot_item`` out at ``size`` in light colours with ``hidden`` items hidden; restore all after."""
    old = plot_item.geometry()
    view_box = plot_item.getViewBox()
    # a range the user chose is put back exactly; an automatic one follows the restored size by itself
    old_range = view_box.viewRange() if view_box is not None and not any(view_box.state["autoRange"]) else None
    width_in, height_in = size.inches(old.height() / max(old.width(), 1.0))
    view = plot_item.getViewWidget()
    theme = view.property("ee_plot_colors") if view is not None else None
    was_visible = [item.isVisible() for item in hidden]
    try:
        for item in hidden:
            item.setVisible(False)
        if view is not None:
            tint_plot(view, *PLOT_COLORS["light"])
        plot_item.setGeometry(QRectF(old.x(), old.y(), width_in * LAYOUT_DPI, height_in * LAYOUT_DPI))
        plot_item.layout.activate()
        yield width_in, height_in
    finally:
        for item, visible in zip(hidden, was_visible):
            item.setVisible(visible)
        plot_item.setGeometry(old)
        plot_item.layout.activate()
        if view is not None and theme:
            tint_plot(view, *theme)
        if old_range is not None:
            view_box.setRange(xRange=old_range[0], yRange=old_range[1], padding=0)


@contextmanager
def _fixed_size_items_scaled(plot_item: pg.PlotItem, factor: float) -> Iterator[None]:
    """Scale the items that ignore the view's transformation (legends, labels pinned to a point) by ``factor``.

    Such items are drawn in device pixels whatever the painter's scale, so a figure drawn at
    300 dpi would print them at a third of their size (the legend "tiny in the PDF").
    """
    fixed = [item for item in plot_item.scene().items()
             if item.flags() & QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations and plot_item.isAncestorOf(item)]
    scales = [item.scale() for item in fixed]
    try:
        for item, scale in zip(fixed, scales):
            item.setScale(scale * factor)
        yield
    finally:
        for item, scale in zip(fixed, scales):
            item.setScale(scale)


def _export_png(plot_item: pg.PlotItem, path: Path, width: int, dpi: int) -> None:
    exporter = ImageExporter(plot_item)
    exporter.parameters()["width"] = int(width)
    exporter.parameters()["background"] = QColor("white")
    image = exporter.export(toBytes=True)
    dots_per_metre = round(dpi * _INCH_PER_METRE)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    if not image.save(str(path)):
        raise OSError(f"could not write {path}")


class _VectorExporter(Exporter):
    """PDF and SVG of one item through the same painter (pyqtgraph has no PDF exporter, and its SVG
    exporter ignores the size and clips points with clip paths some renderers skip)."""

    def parameters(self) -> None:
        return None

    def export_vector(self, path: Path, width_in: float, height_in: float) -> None:
        """Draw at the layout's scale (96 units an inch): fonts set in points then come out at their
        size (a PDF device of 300 dpi would size them for 300 dpi, and the scene's scale again)."""
        pixels = QSize(round(width_in * LAYOUT_DPI), round(height_in * LAYOUT_DPI))
        if path.suffix.lower() == ".pdf":
            device: QPagedPaintDevice | QSvgGenerator = QPdfWriter(str(path))
            device.setResolution(LAYOUT_DPI)
            device.setPageSize(QPageSize(QSizeF(width_in, height_in), QPageSize.Unit.Inch))
            device.setPageMargins(QMarginsF(0, 0, 0, 0))
        else:
            device = QSvgGenerator()
            device.setFileName(str(path))
            device.setResolution(LAYOUT_DPI)  # width and height are written in mm from size / resolution
            device.setSize(pixels)
            device.setViewBox(QRect(0, 0, pixels.width(), pixels.height()))
            device.setTitle(path.stem)
        target = QRectF(0, 0, pixels.width(), pixels.height())
        painter = QPainter(device)
        if not painter.isActive():
            raise OSError(f"could not write {path}")
        background = QColor("white")
        try:
            painter.fillRect(target, background)
            self.setExportMode(True, {"antialias": True, "background": background, "painter": painter,
                                      "resolutionScale": target.width() / max(self.getTargetRect().width(), 1)})
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self.getScene().render(painter, target, self.getSourceRect())
        finally:
            self.setExportMode(False)
            painter.end()
        if path.suffix.lower() == ".svg":
            path.write_text(scaled_strokes(path.read_text(encoding="utf-8")), encoding="utf-8")


_SVG_NS = "http://www.w3.org/2000/svg"


def scaled_strokes(svg: str) -> str:
    """Qt writes hairline pens as ``vector-effect="non-scaling-stroke"`` inside a transformed group
    (a point symbol is a unit circle scaled to its size; a curve is drawn in data units); librsvg
    ignores that effect and draws a 1-px outline 6 px wide, or a histogram's steps as bars. Where a
    group holds only such shapes, their coordinates are transformed here and the group's transform
    dropped, so every renderer strokes them at their width on screen."""
    from xml.etree import ElementTree

    ElementTree.register_namespace("", _SVG_NS)
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ElementTree.fromstring(svg)
    shapes = {f"{{{_SVG_NS}}}path": "d", f"{{{_SVG_NS}}}polyline": "points", f"{{{_SVG_NS}}}polygon": "points"}
    for group in root.iter(f"{{{_SVG_NS}}}g"):
        matrix = group.get("transform", "")
        children = list(group)
        if not matrix.startswith("matrix(") or not children or not all(
                child.tag in shapes and child.get("vector-effect") == "non-scaling-stroke" for child in children):
            continue
        a, b, c, d, e, f = (float(v) for v in matrix[7:-1].split(","))

        def moved(found: re.Match) -> str:
            x, y = float(found.group(1)), float(found.group(2))
            return f"{a * x + c * y + e:.6g},{b * x + d * y + f:.6g}"

        for child in children:
            attribute = shapes[child.tag]
            child.set(attribute, _PAIR.sub(moved, child.get(attribute, "")))
            del child.attrib["vector-effect"]
        del group.attrib["transform"]
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


_PAIR = re.compile(r"(-?[\d.]+(?:e[-+]?\d+)?),(-?[\d.]+(?:e[-+]?\d+)?)")


def export_folder() -> Path:
    """Where the file chooser opens: the folder of the last export, else the user's Documents
    (never the working directory, which for an installed app is the install folder)."""
    last = QSettings().value(LAST_FOLDER_KEY)
    if last and Path(str(last)).is_dir():
        return Path(str(last))
    documents = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()


class FigureExportDialog(QDialog):
    """Asks for format, size, DPI, title and which overlays to include; ``run()`` also asks for the file."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export figure")
        self.format_box = QComboBox()
        self.format_box.addItems(list(FORMATS))
        self.size_box = QComboBox()
        for key, preset in PRESETS.items():
            self.size_box.addItem(preset.name, key)
        self.size_box.addItem("Custom width", "custom")
        self.size_box.setCurrentIndex(list(PRESETS).index("double"))
        self.width_box = QDoubleSpinBox(minimum=1.0, maximum=40.0, value=7.2, decimals=2, suffix=" in")
        self.width_box.setEnabled(False)
        self.size_box.currentIndexChanged.connect(lambda: self.width_box.setEnabled(self.size_box.currentData() == "custom"))
        self.dpi_box = QSpinBox(minimum=72, maximum=1200, value=300, suffix=" dpi")
        self.title_edit = QLineEdit(title)
        self.title_edit.setPlaceholderText("no title")
        self.form = QFormLayout(self)
        self.form.addRow("Format", self.format_box)
        self.form.addRow("Size", self.size_box)
        self.form.addRow("Width", self.width_box)
        self.form.addRow("Resolution", self.dpi_box)
        self.form.addRow("Title", self.title_edit)
        self.overlay_boxes: dict[str, QCheckBox] = {}
        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.form.addRow(self.buttons)

    def figure_size(self) -> FigureSize:
        key = self.size_box.currentData()
        return figure_size(self.width_box.value() if key == "custom" else key)

    def add_overlays(self, overlays: Mapping[str, tuple[QGraphicsItem | Sequence[QGraphicsItem], bool]]) -> None:
        """One checkbox per overlay (name -> (item or items, ticked at first)): an unticked one stays out of the file."""
        for name, (_, ticked) in overlays.items():
            box = QCheckBox(name)
            box.setChecked(ticked)
            self.overlay_boxes[name] = box
            self.form.insertRow(self.form.rowCount() - 1, "" if self.overlay_boxes.keys() - {name} else "Include", box)

    def run(self, plot_item: pg.PlotItem, default_name: str, *,
            overlays: Mapping[str, tuple[QGraphicsItem | Sequence[QGraphicsItem], bool]] | None = None,
            data: Columns | None = None, manifest: Mapping[str, Any] | None = None) -> Path | None:
        """Show the dialog and a file chooser, then export; None if cancelled."""
        overlays = dict(overlays or {})
        self.add_overlays(overlays)
        if self.exec() != QDialog.Accepted:
            return None
        suffix = FORMATS[self.format_box.currentText()]
        name, _ = QFileDialog.getSaveFileName(self, "Export figure", str(export_folder() / (default_name + suffix)),
                                              f"{self.format_box.currentText()} (*{suffix})")
        if not name:
            return None
        path = Path(name) if Path(name).suffix.lower() == suffix else Path(name + suffix)
        QSettings().setValue(LAST_FOLDER_KEY, str(path.parent))
        included = [name for name, box in self.overlay_boxes.items() if box.isChecked()]
        hidden = [part for name, (item, _) in overlays.items() if name not in included
                  for part in (item if isinstance(item, (list, tuple)) else [item])]
        return export_figure(plot_item, path, self.figure_size(), self.dpi_box.value(),
                             self.title_edit.text().strip() or None, hidden=hidden, data=data,
                             manifest={**(manifest or {}), "overlays": included})
