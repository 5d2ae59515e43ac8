"""Hubness panel: N_k histogram before/after reduction, measures, hubs and antihubs."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QWidget,
)

from core.hubness import MEASURES
from core.hubness_reduction import METHOD_TITLES, METHODS
from gui.panel_base import PanelContext, PluginPanel, plain_tooltip
from gui.plain_widgets import ElidedLabel, compact_combo, elide
from gui.plot_widgets import bars, legend_below, line_sample, themed_plot
from plugins.hubness.analysis import K_CHOICES, HubnessParams, HubnessResult

METHOD_HELP = {
    "mutual_proximity": "Keeps y near x only if few points are closer to both; "
    "estimated on a random sample (Schnitzer et al., JMLR 2012).",
    "mutual_proximity_gaussian": "Mutual proximity with each point's distances modelled as a normal "
    "distribution (Schnitzer et al., JMLR 2012).",
    "local_scaling": "Divides distances by each point's distance to its k-th neighbour "
    "(Zelnik-Manor & Perona 2004).",
    "nicdm": "Divides distances by each point's mean distance to its k neighbours (Jegou et al. 2010).",
    "csls": "Penalises points whose neighbourhoods are dense, as in word translation "
    "(Conneau et al. 2018).",
}
RAW_BRUSH = pg.mkBrush(70, 110, 180)
REDUCED_BRUSH = pg.mkBrush(230, 140, 40)
K_PEN = pg.mkPen("#8c8c8c", width=2, style=Qt.DashLine)
LIST_ROWS = 50
TEXT_CHARS = 300


def _info_label(text: str) -> QLabel:
    glyph = QLabel("i")
    glyph.setAlignment(Qt.AlignCenter)
    glyph.setFixedSize(14, 14)
    glyph.setToolTip(plain_tooltip(text))
    glyph.setStyleSheet(
        "color: white; background: #7a869a; border-radius: 7px; font-weight: bold; font-size: 9px;"
    )
    return glyph


def _fmt(name: str, value: float) -> str:
    return str(int(value)) if name == "max_occurrence" else f"{value:.3f}"


def occurrence_counts(occurrence: np.ndarray, top: int) -> np.ndarray:
    """How many points have N_k = 0, 1, …, ``top``: one bin per integer, so N_k = 0 (the antihubs)
    is a bar of its own."""
    return np.bincount(occurrence.astype(np.int64), minlength=top + 1).astype(np.float64)


class HubnessPanel(PluginPanel):
    """Shows how unevenly points occur in kNN lists and what each reduction fixes."""

    def __init__(self, context: PanelContext, params: HubnessParams, parent: QWidget | None = None) -> None:
        super().__init__(context, params, parent)
        self._result: HubnessResult | None = None
        self._build_controls()
        self._build_plot()
        self._build_measures()
        self._build_tabs()
        self._build_buttons()

    # ---- construction -------------------------------------------------
    def _build_controls(self) -> None:
        row = QHBoxLayout()
        self._k_combo = QComboBox()
        for k in sorted({*K_CHOICES, self.params.k}):
            self._k_combo.addItem(str(k), k)
        self._k_combo.setCurrentIndex(self._k_combo.findData(self.params.k))
        self._k_combo.setToolTip(plain_tooltip("k: length of each point's nearest-neighbour list."))
        self._method_combo = compact_combo(QComboBox())
        for method in METHODS:
            self._method_combo.addItem(METHOD_TITLES[method], method)
            self._method_combo.setItemData(self._method_combo.count() - 1, plain_tooltip(METHOD_HELP[method]), Qt.ToolTipRole)
        self._method_combo.setCurrentIndex(self._method_combo.findData(self.params.reduction))
        self._log_box = QCheckBox("Log scale")
        self._log_box.setChecked(self.params.log_scale)
        self._log_box.setToolTip(plain_tooltip("Show point counts on a logarithmic axis, to see the rare big hubs."))
        row.addWidget(QLabel("k"))
        row.addWidget(self._k_combo)
        row.addWidget(QLabel("Reduction"))
        row.addWidget(self._method_combo, 1)
        row.addWidget(self._log_box)
        self.body.addLayout(row)
        self._k_combo.currentIndexChanged.connect(self._on_k_combo_changed)
        self._method_combo.currentIndexChanged.connect(self._on_method_combo_changed)
        self._log_box.toggled.connect(self._on_log_box_toggled)

    def _build_plot(self) -> None:
        self._plot_widget = themed_plot("k-occurrence N_k", "N_k (kNN lists a point is in)", "points", integer_x=True)
        self._plot_widget.setMinimumHeight(200)
        self._plot = self._plot_widget.getPlotItem()
        self._plot.setMouseEnabled(x=True, y=False)
        legend_below(self._plot)
        self._raw_bars = bars(RAW_BRUSH, width=0.5)
        self._reduced_bars = bars(REDUCED_BRUSH, width=0.5)
        self._plot.addItem(self._raw_bars)
        self._plot.addItem(self._reduced_bars)
        self._k_line = pg.InfiniteLine(angle=90, pen=K_PEN)  # named in the legend, not on the plot: no label over a bar
        self._k_sample = line_sample(K_PEN)
        self._plot.addItem(self._k_line)
        self.body.addWidget(self._plot_widget, 3)

    def _build_measures(self) -> None:
        card = QFrame()
        card.setFrameShape(QFrame.StyledPanel)
        grid = QGridLayout(card)
        grid.setContentsMargins(8, 4, 8, 4)
        grid.setVerticalSpacing(2)
        self._after_header = ElidedLabel("After")
        self._after_header.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        for col, label in enumerate((QLabel("Measure"), QLabel("Raw"), self._after_header)):
            label.setStyleSheet("font-weight: bold;")
            if col:
                label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            grid.addWidget(label, 0, col + (col > 0))
        self._value_labels: dict[str, tuple[QLabel, QLabel]] = {}
        for row, (name, (title, _, meaning)) in enumerate(MEASURES.items(), start=1):
            label = QLabel(title)
            label.setToolTip(plain_tooltip(meaning))
            grid.addWidget(label, row, 0)
            grid.addWidget(_info_label(meaning), row, 1)
            values = (QLabel("–"), QLabel("–"))
            for col, value in enumerate(values, start=2):
                value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
                value.setToolTip(plain_tooltip(meaning))
                grid.addWidget(value, row, col)
            self._value_labels[name] = values
        grid.setColumnStretch(0, 1)
        self.body.addWidget(card)

    def _build_tabs(self) -> None:
        self._tabs = QTabWidget()
        self._table = QTableWidget(0, 1 + len(MEASURES))
        self._table.setHorizontalHeaderLabels(["Method", *(short for _, short, _ in MEASURES.values())])
        for col, (_, _, meaning) in enumerate(MEASURES.values(), start=1):
            self._table.horizontalHeaderItem(col).setToolTip(plain_tooltip(meaning))
        self._table.verticalHeader().setVisible(False)
        self._table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self._table.setEditTriggers(QTableWidget.NoEditTriggers)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self._hub_list = self._make_list()
        self._antihub_list = self._make_list()
        self._tabs.addTab(self._table, "All methods")
        self._tabs.addTab(self._hub_list, "Top hubs")
        self._tabs.addTab(self._antihub_list, "Antihubs")
        self.body.addWidget(self._tabs, 2)

    def _make_list(self) -> QListWidget:
        widget = QListWidget()
        widget.setTextElideMode(Qt.ElideRight)
        widget.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        widget.setUniformItemSizes(True)
        widget.itemClicked.connect(self._on_list_item_clicked)
        return widget

    def _build_buttons(self) -> None:
        row = QHBoxLayout()
        self._color_button = QPushButton("Colour map by N_k")
        self._color_button.setToolTip(plain_tooltip("Colour every point on the map by how many kNN lists it is in."))
        self._hubs_button = QPushButton("Select all hubs")
        self._hubs_button.setToolTip(plain_tooltip("Select every point with N_k > 2k on the map."))
        row.addWidget(self._color_button)
        row.addWidget(self._hubs_button)
        self.body.addLayout(row)
        self._color_button.clicked.connect(self._on_color_button_clicked)
        self._hubs_button.clicked.connect(self._on_hubs_button_clicked)
        self._set_enabled(False)

    # ---- showing a result ------------------------------------------------
    def show_result(self, result: HubnessResult) -> None:
        self._result = result
        self.show_status("")
        self._set_enabled(True)
        self._after_header.setText(f"After {METHOD_TITLES[result.method]}")
        self._plot.legend.clear()
        self._plot.legend.addItem(self._raw_bars, "Raw")
        self._plot.legend.addItem(self._reduced_bars, f"After {METHOD_TITLES[result.method]}")
        self._plot.legend.addItem(self._k_sample, f"mean N_k = k = {result.k}")
        for name, (raw, after) in self._value_labels.items():
            raw.setText(_fmt(name, getattr(result.measures, name)))
            after.setText(_fmt(name, getattr(result.reduced, name)))
        self._fill_table(result)
        self._fill_list(self._hub_list, result.top_hubs, result.occurrence)
        antihubs = result.antihub_rows
        self._fill_list(self._antihub_list, antihubs[:LIST_ROWS], result.occurrence)
        self._tabs.setTabText(2, f"Antihubs ({antihubs.size})")
        self._tabs.setTabText(1, f"Top hubs ({result.hub_rows.size} in > {2 * result.k} lists)")
        self._draw_histogram()

    def _fill_table(self, result: HubnessResult) -> None:
        rows = [("None (raw)", "Neighbours as computed, no reduction.", result.measures)]
        rows += [(METHOD_TITLES[m], METHOD_HELP[m], result.method_measures[m]) for m in METHODS]
        self._table.setRowCount(len(rows))
        for r, (title, helptext, measures) in enumerate(rows):
            item = QTableWidgetItem(title)
            item.setToolTip(plain_tooltip(helptext))
            self._table.setItem(r, 0, item)
            for c, name in enumerate(MEASURES, start=1):
                value = QTableWidgetItem(_fmt(name, getattr(measures, name)))
                value.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self._table.setItem(r, c, value)

    def _fill_list(self, widget: QListWidget, rows: np.ndarray, occurrence: np.ndarray) -> None:
        widget.clear()
        for row, text in zip(rows, self.context.texts(rows)):
            line = elide(text, TEXT_CHARS) or f"row {int(row)}"
            item = QListWidgetItem(f"N_k = {int(occurrence[row])}   {line}")
            item.setData(Qt.UserRole, int(row))
            item.setToolTip(plain_tooltip(text[:1000]))
            widget.addItem(item)

    def _draw_histogram(self) -> None:
        result = self._result
        if result is None:
            return
        top = int(max(result.occurrence.max(), result.reduced_occurrence.max()))
        counts = [occurrence_counts(occ[result.points], top)  # one count per distinct text
                  for occ in (result.occurrence, result.reduced_occurrence)]
        log = self.params.log_scale
        for shown, count, shift in zip((self._raw_bars, self._reduced_bars), counts, (-0.25, 0.25)):
            values = np.flatnonzero(count)  # an empty bin draws nothing (its outline would be a dot on the axis)
            shown.setOpts(x=values + shift, height=np.log10(1.0 + count[values]) if log else count[values])
        self._k_line.setValue(result.k)
        axis = self._plot.getAxis("left")
        if log:
            top = int(np.ceil(np.log10(1.0 + max(c.max() for c in counts))))
            axis.setTicks([[(np.log10(1.0 + 10**p), f"{10**p:g}") for p in range(top + 1)]])
            self._plot.setLabel("left", "points (log scale)")
        else:
            axis.setTicks(None)
            self._plot.setLabel("left", "points")
        self._plot.enableAutoRange()

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self._color_button, self._hubs_button):
            widget.setEnabled(enabled)

    # ---- slots -------------------------------------------------------------
    def _on_k_combo_changed(self, index: int) -> None:
        self.set_params(replace(self.params, k=int(self._k_combo.itemData(index))))

    def _on_method_combo_changed(self, index: int) -> None:
        self.set_params(replace(self.params, reduction=str(self._method_combo.itemData(index))))

    def _on_log_box_toggled(self, checked: bool) -> None:
        self.set_params(replace(self.params, log_scale=bool(checked)))
        self._draw_histogram()

    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        self.context.select([int(item.data(Qt.UserRole))])

    def _on_color_button_clicked(self) -> None:
        if self._result is not None:
            self.context.color_by("N_k", self._result.occurrence)

    def _on_hubs_button_clicked(self) -> None:
        if self._result is not None:
            self.context.select(self._result.hub_rows)

    # ---- export ------------------------------------------------------------
    def figure_items(self) -> dict[str, pg.PlotItem]:
        return {"nk_histogram": self._plot}

    def table_rows(self) -> list[dict]:
        return self._result.table() if self._result is not None else []

    @classmethod
    def preview(cls) -> HubnessPanel:
        """The panel on 800 non-centred Gaussian points in 100-D (visible hubness)."""
        from core.knn import exact_knn
        from core.plugin_api import AnalysisData
        from core.progress import null_progress
        from plugins.hubness.analysis import compute

        rng = np.random.default_rng(0)
        vectors = (rng.standard_normal((800, 100)) + 1.0).astype(np.float32)
        params = HubnessParams()
        data = AnalysisData(vectors=vectors, doc_ids=np.arange(800), knn=exact_knn(vectors, params.graph_k))
        context = PanelContext(lambda rows: [f"Synthetic document {int(r)} about topic {int(r) % 7}" for r in rows])
        panel = cls(context, params)
        panel.show_result(compute(data, params, null_progress()))
        return panel
