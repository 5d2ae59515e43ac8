"""The map panel: the 2-D layout the user sees first.

Colour by any label or measure, hover to read a document, click / lasso /
box to select, search by substring or by meaning (a ranked list beside the map),
recompute the layout afresh, export the figure. The drawing itself lives in
:mod:`gui.scatter`; the keys (legend, colour bar) in :mod:`gui.colour_keys`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QHBoxLayout, QLabel, QLineEdit, QMenu, QSizePolicy,
                               QSlider, QSplitter, QToolButton, QWidget)

from core.projection import pca_project
from gui.colour_keys import ColourBar, TitledLegend
from gui.map_labels import MapLabelLayer
from gui.panel_base import PanelContext, PluginPanel, plain_tooltip
from gui.scatter import ColorGroup, ScatterView, categorical_groups, continuous_groups
from gui.search_results import SearchResults
from gui.selection_geometry import invert
from gui.shown_text import capped
from plugins.map.analysis import MapParams, ProjectionResult
from plugins.map.search import MEANING_TIP, MapSearch

HOVER_CHARS = 300
UMAP_TIP = ("UMAP layout (McInnes, Healy & Melville 2018, arXiv:1802.03426): nearby points have similar "
            "embeddings; distances between far-apart clusters carry little meaning.")
_METHOD_NAMES = {"pca": "PCA", "seeded": "Previous layout", "umap": "UMAP", "umap-sample+transform": "UMAP (sample + transform)"}
RECOMPUTE_TIP = "Compute a fresh layout of the documents in view, ignoring earlier layouts (Ctrl+R)"
_ACTIONS = (("Show selected in table", "show_table"), ("Export selection…", "export_selection"),
            ("New collection from selection", "new_collection"))


def _default_point_size(n: int) -> int:
    return 6 if n <= 5_000 else 4 if n <= 50_000 else 3 if n <= 500_000 else 2


class MapPanel(PluginPanel):
    """Scatter of the projection, coloured by labels or measures; the selection hub."""

    def __init__(self, context: PanelContext, params: MapParams, parent: QWidget | None = None) -> None:
        super().__init__(context, params, parent)
        self._result: ProjectionResult | None = None
        self._selection = np.empty(0, dtype=np.int64)
        self._search_rows = np.empty(0, dtype=np.int64)
        self._links = (-1, np.empty(0, dtype=np.int64))  # neighbour lines asked for: source row, targets
        self._groups: list[ColorGroup] = []
        #: per-point measures received through ``sig_request_color`` (name -> values)
        self.measures: dict[str, np.ndarray] = {}
        self._cmap = pg.colormap.get("viridis")
        self._build_toolbar()
        self.view = ScatterView(self)
        self.view.setMinimumSize(320, 240)
        self.results = SearchResults()
        self.results.setVisible(False)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.results)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self._results_shown = False
        self.body.addWidget(self.splitter, 1)
        self._place_status_line()
        self.label_layer = MapLabelLayer(self.view.vb, context)  # labels other views publish (clusters)
        self._hover_label = QLabel(self.view)
        self._hover_label.setTextFormat(Qt.PlainText)
        self._hover_label.setWordWrap(True)
        self._hover_label.setMaximumWidth(360)
        self._hover_label.setStyleSheet("background: rgba(255,255,255,235); border: 1px solid #999; padding: 4px;")
        self._hover_label.setAttribute(Qt.WA_TransparentForMouseEvents)
        self._hover_label.hide()
        self.legend = TitledLegend()
        self.colour_bar = ColourBar(self._cmap)
        self._wire()

    # ------------------------------------------------------------------ layout

    def _build_toolbar(self) -> None:
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        self.color_box = QComboBox()
        self.color_box.setMinimumContentsLength(14)
        self.color_box.setToolTip("Colour the points by a label of the documents or by a measure from another view")
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search text…")
        self.search_edit.setClearButtonEnabled(True)
        self.meaning_button = self._tool_button("By meaning", MEANING_TIP, True)
        self.tool_group = QButtonGroup(self)
        for tool, tip in (("Pan", "Drag to pan, wheel to zoom"), ("Lasso", "Drag a lasso (or Shift+drag)"),
                          ("Box", "Drag a box (or Ctrl+drag)")):
            button = self._tool_button(tool, tip, True)
            button.setChecked(tool == "Pan")
            self.tool_group.addButton(button)
        self.render_box = QComboBox()
        self.render_box.addItems(["Auto", "Points", "Density"])
        self.render_box.setToolTip("Auto draws a density image when more than 200,000 points are in view")
        self.reset_button = self._tool_button("Reset", "Reset zoom: show all points", False)
        self.export_button = self._tool_button("Figure…", "Export figure: save the map as PNG, SVG or PDF for print, "
                                               "with its data and a manifest", False)
        self.html_button = self._tool_button("HTML…", "Export an interactive map: one HTML file that opens in any "
                                             "browser, offline — pan, zoom, hover, search, legend toggles, selection", False)
        self.recompute_action = QAction("Recompute layout", self, shortcut=QKeySequence("Ctrl+R"),
                                        toolTip=RECOMPUTE_TIP, shortcutContext=Qt.WindowShortcut)
        self.recompute_action.setIconText("Recompute")  # the button's text; menus and tooltips say it whole
        self.addAction(self.recompute_action)
        self.recompute_button = QToolButton()
        self.recompute_button.setDefaultAction(self.recompute_action)
        row1.addWidget(QLabel("Colour"))
        row1.addWidget(self.color_box)
        row1.addWidget(self.search_edit, 1)
        row1.addWidget(self.meaning_button)
        for button in self.tool_group.buttons():
            row1.addWidget(button)
        self.size_slider = self._slider(1, 20, "Point size (pixels)")
        self.opacity_slider = self._slider(5, 100, "Point opacity (%)")
        self.opacity_slider.setValue(80)
        self.info_label = QLabel("")
        self.info_label.setTextFormat(Qt.PlainText)
        self.info_label.setToolTip(UMAP_TIP)
        for widget in (QLabel("Size"), self.size_slider, QLabel("Opacity"), self.opacity_slider,
                       QLabel("Render"), self.render_box, self.reset_button, self.recompute_button, self.export_button,
                       self.html_button):
            row2.addWidget(widget)
        row2.addStretch(1)
        self.body.addLayout(row1)
        self.body.addLayout(row2)

    def _place_status_line(self) -> None:
        """One line of fixed height below the map: the transient status ("Computing…", "UMAP layout…
        3 s"; may clip, full text in its tooltip) and the map's facts (method, points, selected), shown
        whole. Neither pushes the toolbar or the map about."""
        self.body.removeWidget(self._status)
        self._status.setWordWrap(False)
        policy = QSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        policy.setRetainSizeWhenHidden(True)
        self._status.setSizePolicy(policy)
        self.info_label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        line = QHBoxLayout()
        line.addWidget(self._status, 1)
        line.addWidget(self.info_label)
        self.body.addLayout(line)

    def show_status(self, text: str) -> None:
        super().show_status(text)
        self._status.setToolTip(plain_tooltip(text) if text else "")

    def show_error(self, text: str) -> None:
        super().show_error(text)
        self._status.setToolTip(plain_tooltip(text))

    def _tool_button(self, text: str, tip: str, checkable: bool) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(checkable)
        return button

    def _slider(self, lo: int, hi: int, tip: str) -> QSlider:
        slider = QSlider(Qt.Horizontal)
        slider.setRange(lo, hi)
        slider.setFixedWidth(70)
        slider.setToolTip(tip)
        return slider

    def _wire(self) -> None:
        ctx = self.context
        ctx.sig_selection_changed.connect(self._on_context_selection_changed)
        ctx.sig_request_color.connect(self._on_context_request_color)
        ctx.sig_request_links.connect(self._on_context_request_links)
        ctx.sig_data_changed.connect(self._on_context_data_changed)
        self.view.sig_picked.connect(self.set_selection)
        self.view.sig_hovered.connect(self._on_view_hovered)
        self.view.sig_menu_requested.connect(self._on_view_menu_requested)
        self.color_box.currentIndexChanged.connect(lambda _: self._recolor())
        self.search = MapSearch(self.search_edit, self.meaning_button, self.results, ctx, self)
        self.search.sig_matches_changed.connect(self._on_search_matches_changed)
        self.search.sig_row_picked.connect(lambda row: self.set_selection(np.array([row], dtype=np.int64)))
        self.recompute_action.triggered.connect(self.sig_recompute_requested)
        self.tool_group.buttonToggled.connect(self._on_tool_toggled)
        self.render_box.currentTextChanged.connect(lambda text: self.view.set_render_mode(text.lower()))
        self.reset_button.clicked.connect(self.view.reset_view)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.html_button.clicked.connect(self._on_html_clicked)
        self.size_slider.valueChanged.connect(self._on_style_changed)
        self.opacity_slider.valueChanged.connect(self._on_style_changed)
        for keys, slot in ((Qt.Key_Escape, lambda: self.set_selection(np.empty(0, np.int64))),
                           (QKeySequence.SelectAll, lambda: self.set_selection(np.arange(self.n_rows))),
                           ("Ctrl+I", lambda: self.set_selection(invert(self._selection, self.n_rows)))):
            QShortcut(QKeySequence(keys), self, slot, context=Qt.WidgetWithChildrenShortcut)

    # ------------------------------------------------------------------ results

    @property
    def n_rows(self) -> int:
        return len(self.view.xy)

    def show_result(self, result: ProjectionResult) -> None:
        """Draw a layout; the zoom resets only for the first one or a new frame (PCA -> UMAP)."""
        previous, self._result = self._result, result
        self.view.set_coords(result.coords, autorange=previous is None or not result.keeps_frame)
        if previous is None:
            self.size_slider.setValue(_default_point_size(len(result.coords)))
        self.show_status(result.status)
        self._refresh_color_box()
        self._recolor()
        self._redraw_highlights()

    def set_selection(self, rows: np.ndarray) -> None:
        """Select ``rows`` here and tell the rest of the app."""
        self._apply_selection(rows)
        self.context.select(self._selection)

    def _apply_selection(self, rows: np.ndarray) -> None:
        self._selection = np.unique(np.asarray(rows, dtype=np.int64))
        self._redraw_links()
        self._redraw_highlights()

    def _redraw_links(self) -> None:
        """Neighbour lines only from a selected document: a new selection without it (Esc, a lasso
        elsewhere) removes them until a view asks again."""
        source, targets = self._links
        if source not in self._selection:
            source, targets = -1, targets[:0]
            self._links = (source, targets)
        self.view.set_links(source, targets)

    def _redraw_highlights(self) -> None:
        shown = self.view.set_highlight("selection", self._selection)
        self.view.set_highlight("search", self._search_rows)
        method = _METHOD_NAMES.get(self._result.method, self._result.method) if self._result else "No layout"
        total = self.context.provenance.get("documents_total")  # a sampled view says so, briefly
        text = f"{method} · {self.n_rows:,} " + (f"of {total:,} (sample)" if total else "points")
        if self._selection.size:
            text += f" · {self._selection.size:,} selected" + (f" ({shown:,} drawn)" if shown < self._selection.size else "")
        self.info_label.setText(text)

    # ------------------------------------------------------------------ colour

    def _refresh_color_box(self) -> None:
        current = self.color_box.currentData()
        self.color_box.blockSignals(True)
        self.color_box.clear()
        self.color_box.addItem("(single colour)", "none:")
        for name in self.context.labels:
            self.color_box.addItem(name, f"label:{name}")
        for name in self.measures:
            self.color_box.addItem(f"{name} (measure)", f"measure:{name}")
        index = self.color_box.findData(current) if current is not None else -1
        self.color_box.setCurrentIndex(index if index >= 0 else max(self.color_box.findData(self._default_color()), 0))
        self.color_box.blockSignals(False)

    def _default_color(self) -> str:
        """Colour by collection when there are several; else by the first label with 2–20 categories."""
        labels = self.context.labels
        if "collection" in labels and len(np.unique(labels["collection"])) > 1:
            return "label:collection"
        for name, values in labels.items():
            if values.dtype.kind in "US" and 2 <= len(np.unique(values)) <= 20:
                return f"label:{name}"
        return "label:collection"

    def color_values(self) -> tuple[str, np.ndarray | None]:
        """Name and per-row values the map is coloured by (None: single colour)."""
        kind, _, name = (self.color_box.currentData() or "none:").partition(":")
        values = {"label": self.context.labels, "measure": self.measures}.get(kind, {}).get(name)
        if values is None or len(values) != self.n_rows:
            return "", None
        return name, np.asarray(values)

    def _recolor(self) -> None:
        name, values = self.color_values()
        if values is None:
            groups = [ColorGroup("all", np.arange(self.n_rows), pg.mkColor("#1f77b4"))]
            self.view.set_key(None)
        elif values.dtype.kind in "fiu":
            groups, scale = continuous_groups(values, self._cmap)
            self.colour_bar.show_scale(name, scale)
            self.view.set_key(self.colour_bar)
        else:
            groups = categorical_groups(values, colours=self.context.colours, column=name)
            self.view.set_key(self.legend)
        self._groups = groups
        self.view.set_groups(groups)
        if self.view.key is self.legend:
            self.legend.show_items(name, self.view.group_items, [g.name for g in groups])

    def _on_style_changed(self) -> None:
        self.view.set_point_style(self.size_slider.value(), self.opacity_slider.value() / 100)

    # ------------------------------------------------------------------ context slots

    def _on_context_selection_changed(self, rows: np.ndarray) -> None:
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if not np.array_equal(rows, self._selection):
            self._apply_selection(rows)

    def _on_context_request_color(self, name: str, values: np.ndarray) -> None:
        values = np.asarray(values)
        self.measures[name] = values if values.dtype.kind in "OUS" else values.astype(np.float32)
        self._refresh_color_box()
        self.color_box.setCurrentIndex(self.color_box.findData(f"measure:{name}"))

    def _on_context_request_links(self, source: int, targets: np.ndarray) -> None:
        self._links = (int(source), np.asarray(targets, dtype=np.int64))
        self._redraw_links()

    def _on_search_matches_changed(self, rows: np.ndarray) -> None:
        if self.results.isVisible() and not self._results_shown:  # the list opens at 30% of the width
            width = sum(self.splitter.sizes())
            self.splitter.setSizes([width - width * 3 // 10, width * 3 // 10])
        self._results_shown = self.results.isVisible()
        self._search_rows = rows
        self._redraw_highlights()

    def _on_context_data_changed(self) -> None:
        self._refresh_color_box()
        self._recolor()

    # ------------------------------------------------------------------ view slots

    def _on_view_hovered(self, row: int, pos: QPoint) -> None:
        if row < 0:
            self._hover_label.hide()
            return
        text = self.context.texts([row])[0]
        lines = [capped(text, HOVER_CHARS)]
        for name, values in list(self.context.labels.items()) + list(self.measures.items()):
            if len(values) == self.n_rows:
                value = values[row]
                lines.append(f"{name}: {value:.4g}" if isinstance(value, (float, np.floating)) else capped(f"{name}: {value}", 120))
        self._hover_label.setText("\n".join(lines))
        self._hover_label.adjustSize()
        x = min(pos.x() + 14, self.view.width() - self._hover_label.width() - 4)
        y = min(pos.y() + 14, self.view.height() - self._hover_label.height() - 4)
        self._hover_label.move(max(x, 0), max(y, 0))
        self._hover_label.show()
        self._hover_label.raise_()

    def _on_view_menu_requested(self, screen_pos: QPoint) -> None:
        menu = QMenu(self)
        for text, name in _ACTIONS:
            action = menu.addAction(text)
            action.setEnabled(bool(self._selection.size))
            action.triggered.connect(lambda _=False, n=name: self.context.sig_request_action.emit(n, self._selection.copy()))
        menu.addSeparator()
        menu.addAction("Select search matches", lambda: self.set_selection(self._search_rows)).setEnabled(
            bool(self._search_rows.size))
        menu.addAction("Clear selection", lambda: self.set_selection(np.empty(0, np.int64)))
        menu.addAction("Reset zoom", self.view.reset_view)
        menu.popup(screen_pos)

    def _on_tool_toggled(self, button: QToolButton, checked: bool) -> None:
        if checked:
            self.view.vb.tool = button.text().lower()

    def _on_export_clicked(self) -> None:
        from gui.figure_export import FigureExportDialog

        dialog = FigureExportDialog(self.context.title or "Map", self)
        overlays = {**self.view.overlays(), "Region labels": (self.label_layer.items(), True)}
        path = dialog.run(self.view.plot_item, "map", overlays=overlays, **self.figure_payload())
        if path is not None:
            self.show_status(f"Saved {path}")

    def _on_html_clicked(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        from gui.figure_export import export_folder

        name, _ = QFileDialog.getSaveFileName(self, "Export interactive map", str(export_folder() / "map.html"),
                                              "Web page (*.html)")
        if name:
            path = self.export_html(name if name.lower().endswith(".html") else name + ".html")
            self.show_status(f"Saved {path} — open it in any web browser")

    def export_html(self, path: str | Path) -> Path:
        """Write the map as it is coloured now to one self-contained HTML page."""
        from core.html_map import HtmlMap, MapLabel, write_html_map

        rows = np.arange(self.n_rows)
        texts = self.context.texts(rows)
        titles = self.context.labels.get("title")
        name, values = self.color_values()
        colours = {g.name: g.color.name() for g in self._groups} if values is not None and values.dtype.kind not in "fiu" else {}
        return write_html_map(HtmlMap(
            xy=self.view.xy, titles=[str(t) for t in titles] if titles is not None else texts, snippets=texts,
            color_name=name, color_values=values, category_colors=colours, title=self.context.title or "Map",
            labels=[MapLabel(float(part.x[i]), float(part.y[i]), part.texts[i], int(part.level[i]))
                    for part in self.context.annotations.values() if part is not None for i in range(len(part))],
            manifest={"view": "map", **self.context.provenance, **self._projection_info()}), path)

    def figure_payload(self) -> dict:
        """The data (CSV) and manifest written beside an exported figure."""
        return {"data": self.table_columns(),
                "manifest": {"view": "map", "colour_by": self.color_box.currentText(),
                             **self.context.provenance, **self._projection_info()}}

    def set_color_by(self, name: str) -> None:
        """Colour by the label or measure called ``name``; LookupError names the choices."""
        index = self.color_box.findText(name)
        if index < 0:
            choices = ", ".join(self.color_box.itemText(i) for i in range(self.color_box.count()))
            raise LookupError(f"cannot colour by {name!r}; choose one of: {choices}")
        self.color_box.setCurrentIndex(index)

    # ------------------------------------------------------------------ export API

    def _projection_info(self) -> dict:
        if self._result is None:
            return {}
        return {"projection": self._result.method, "projection_params": self._result.params,
                "layout_init": self._result.init, "n_points": self.n_rows, "n_selected": int(self._selection.size)}

    def figure_items(self) -> dict[str, pg.PlotItem]:
        return {"map": self.view.plot_item}

    def table_columns(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """x, y, colour value, legend label and selected flag of ``rows`` (default: all)."""
        rows = np.arange(self.n_rows) if rows is None else np.asarray(rows, dtype=np.int64)
        label = np.full(self.n_rows, "", dtype=object)
        for group in self._groups:
            label[group.rows] = group.name
        name, values = self.color_values()
        columns = {"row": rows, "x": self.view.xy[rows, 0], "y": self.view.xy[rows, 1]}
        if values is not None:
            columns[name or "value"] = values[rows]
        columns["label"] = label[rows]
        columns["selected"] = np.isin(rows, self._selection)
        return columns

    def table_rows(self) -> list[dict]:
        columns = self.table_columns()
        return [dict(zip(columns, values)) for values in zip(*(c.tolist() for c in columns.values()))]

    # ------------------------------------------------------------------ preview

    @classmethod
    def preview(cls, n: int = 5_000, n_clusters: int = 7) -> MapPanel:
        """Clustered synthetic data, PCA layout, coloured by cluster."""
        rng = np.random.default_rng(7)
        cluster = rng.integers(0, n_clusters, n)
        centres = rng.normal(size=(n_clusters, 32)) * 5
        vectors = (centres[cluster] + rng.normal(size=(n, 32))).astype(np.float32)
        names = np.array([f"topic {chr(65 + c)}" for c in range(n_clusters)])
        texts = [f"Document {i} about {names[c]}" for i, c in enumerate(cluster)]
        context = PanelContext(text_lookup=lambda rows: [texts[r] for r in rows])
        context.set_data(n, {"collection": names[cluster], "norm": np.linalg.norm(vectors, axis=1)},
                         title="Preview")
        panel = cls(context, MapParams())
        panel.resize(900, 640)
        panel.show_result(ProjectionResult(pca_project(vectors), "pca"))
        return panel
