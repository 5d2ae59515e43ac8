"""Anisotropy panel: score card, before/after table, cosine histogram, PC spectrum, rogue dimensions."""
from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.anisotropy import SCORES
from core.plugin_api import AnalysisData
from core.progress import null_progress
from gui.panel_base import PanelContext, PluginPanel
from gui.plain_widgets import compact_combo
from gui.plot_widgets import bars, legend_below, line_sample, power_of_ten, themed_plot
from plugins.anisotropy.analysis import (
    CORRECTIONS,
    AnisotropyParams,
    AnisotropyReport,
    AnisotropyResult,
    compute,
    corrected_vectors,
)

CORRECTION_LABELS = {"none": "none", "center": "center", "whiten": "whiten", "all_but_the_top": "all-but-the-top"}
SHORT_LABELS = {"none": "none", "center": "center", "whiten": "whiten", "all_but_the_top": "ABTT"}

DIMENSION_MEASURES = {"mean": "dim_mean", "variance": "dim_var", "cosine contribution": "dim_contribution"}
PAIR_PEN = pg.mkPen("#1f77b4", width=2)
BASELINE_PEN = pg.mkPen("#7f7f7f", width=2, style=Qt.DashLine)
MEAN_PEN = pg.mkPen("#1f77b4", style=Qt.DotLine)
NORMAL_BRUSH = pg.mkBrush("#7f9fc8")
OUTLIER_BRUSH = pg.mkBrush("#d62728")
#: the spectrum shows components down to this fraction of the largest ratio; the rest is counted, not drawn
SPECTRUM_FLOOR = 1e-6


def _format(key: str, fmt: str, report: AnisotropyReport) -> str:
    value = getattr(report, key)
    if key == "outlier_dimensions":
        return ", ".join(str(int(i)) for i in value) if len(value) else "none"
    if isinstance(value, float) and not np.isfinite(value):
        return "n/a"
    return fmt.format(value)


def _relabel(legend: pg.LegendItem, item: Any, name: str) -> None:
    """Show ``item`` in ``legend`` as ``name`` (added on first use, renamed after)."""
    legend.removeItem(item)
    legend.addItem(item, name)


def _plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.PlainText)
    return label


def _added(plot_item: pg.PlotItem, graphics_item: Any) -> Any:
    """``graphics_item``, added to ``plot_item``."""
    plot_item.addItem(graphics_item)
    return graphics_item


class AnisotropyPanel(PluginPanel):
    """Scores of the selected correction, a before/after table and three charts."""

    def __init__(self, context: PanelContext, params: AnisotropyParams, parent: QWidget | None = None) -> None:
        super().__init__(context, params, parent)
        self._result: AnisotropyResult | None = None
        self.body.addLayout(self._build_switcher())
        self._tabs = QTabWidget()
        self._tabs.addTab(self._build_scores(), "Scores")
        self._tabs.addTab(self._build_compare(), "Before/after")
        self._items: dict[str, Any] = {}  # plot items by name, made on the first result (see _item)
        self._hist = themed_plot("Cosine of random pairs", "cosine similarity", "density (per unit cosine)")
        legend_below(self._hist.getPlotItem())
        self._tabs.addTab(self._hist, "Cosines")
        self._spectrum = themed_plot("Principal-component spectrum", "principal component (rank)",
                                     "explained variance ratio", log_y=True)
        legend_below(self._spectrum.getPlotItem())
        self._tabs.addTab(self._spectrum, "Spectrum")
        self._tabs.addTab(self._build_dimensions(), "Dimensions")
        self.body.addWidget(self._tabs, 1)

    # -- construction -------------------------------------------------------------------------
    def _build_switcher(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(_plain_label("Correction:"))
        self._correction = compact_combo(QComboBox())
        for name in CORRECTIONS:
            self._correction.addItem(CORRECTION_LABELS[name], name)
        self._correction.setToolTip(
            "What-if correction to preview: centring; whitening (Su et al. 2021); "
            "all-but-the-top (Mu & Viswanath 2018)."
        )
        self._correction.setCurrentIndex(CORRECTIONS.index(self.params.correction))
        self._correction.currentIndexChanged.connect(self._on_correction_changed)
        row.addWidget(self._correction, 1)
        row.addWidget(_plain_label("D:"))
        self._abtt_d = QSpinBox()
        self._abtt_d.setRange(0, 4096)
        self._abtt_d.setSpecialValueText("auto")
        self._abtt_d.setValue(self.params.abtt_d or 0)
        self._abtt_d.setToolTip("Top directions all-but-the-top removes; auto = max(1, d/100) (Mu & Viswanath 2018).")
        self._abtt_d.setEnabled(self.params.correction == "all_but_the_top")
        self._abtt_d.valueChanged.connect(self._on_abtt_d_changed)
        row.addWidget(self._abtt_d)
        self._apply = QPushButton("Use in all views")
        self._apply.setToolTip(
            "Store the corrected vectors as a derived embedding set (the raw vectors stay untouched) and "
            "recompute the map, neighbours and hubness in the corrected space."
        )
        self._apply.setEnabled(self.params.correction != "none")
        self._apply.clicked.connect(self._on_apply_clicked)
        row.addWidget(self._apply)
        return row

    def _on_apply_clicked(self) -> None:
        params = self.params
        label = CORRECTION_LABELS[params.correction] + (f" D={params.abtt_d}" if params.abtt_d else "")
        self.context.derive_set(label, partial(corrected_vectors, params=params))

    def _build_scores(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self._heading = _plain_label()
        self._heading.setStyleSheet("font-weight: bold;")
        layout.addWidget(self._heading)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setColumnStretch(2, 1)
        icon = self.style().standardIcon(QStyle.SP_MessageBoxInformation)
        self._score_rows: dict[str, tuple[QLabel, QLabel, QLabel]] = {}
        for row, (key, label, _, meaning, _source) in enumerate(SCORES):
            name, value, info = _plain_label(label), _plain_label("–"), QLabel()
            info.setPixmap(icon.pixmap(14, 14))
            value.setStyleSheet("font-weight: bold;")
            value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            hint = _plain_label(meaning)
            hint.setStyleSheet("font-size: 11px;")
            hint.setForegroundRole(QPalette.PlaceholderText)  # a muted grey in either theme
            hint.setWordWrap(True)
            grid.addWidget(name, 2 * row, 0)
            grid.addWidget(value, 2 * row, 1)
            grid.addWidget(info, 2 * row, 3)
            grid.addWidget(hint, 2 * row + 1, 0, 1, 4)
            self._score_rows[key] = (name, value, info)
        layout.addLayout(grid)
        self._id_note = _plain_label()
        self._id_note.setWordWrap(True)
        self._id_note.setForegroundRole(QPalette.PlaceholderText)
        layout.addWidget(self._id_note)
        layout.addStretch(1)
        return page

    def _build_compare(self) -> QWidget:
        self._table = QTableWidget(len(SCORES), len(CORRECTIONS))
        self._table.setHorizontalHeaderLabels([SHORT_LABELS[c] for c in CORRECTIONS])
        self._table.setVerticalHeaderLabels([label for _, label, *_ in SCORES])
        self._table.setEditTriggers(QTableWidget.NoEditTriggers)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self._table.setToolTip("Each score after each correction; the selected correction is highlighted.")
        return self._table

    def _build_dimensions(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(_plain_label("Show:"))
        self._dim_measure = compact_combo(QComboBox())
        self._dim_measure.addItems(list(DIMENSION_MEASURES))
        self._dim_measure.setToolTip(
            "Per-dimension mean, variance, or share of the mean cosine E[u_k v_k]; rogue dimensions in red "
            "(Kovaleva et al. 2021; Timkey & van Schijndel 2021)."
        )
        self._dim_measure.currentIndexChanged.connect(self._on_dim_measure_changed)
        row.addWidget(self._dim_measure, 1)
        layout.addLayout(row)
        self._dims = themed_plot("Per-dimension statistics", "dimension (index)", "mean")
        legend_below(self._dims.getPlotItem())
        layout.addWidget(self._dims, 1)
        self._outlier_note = _plain_label()
        self._outlier_note.setWordWrap(True)
        layout.addWidget(self._outlier_note)
        return page

    # -- showing results ----------------------------------------------------------------------
    def show_result(self, result: AnisotropyResult) -> None:
        self._result = result
        with QSignalBlocker(self._correction), QSignalBlocker(self._abtt_d):
            self._correction.setCurrentIndex(CORRECTIONS.index(result.correction))
            self._abtt_d.setMaximum(max(1, result.reports["none"].d))
        self._abtt_d.setEnabled(result.correction == "all_but_the_top")
        self._show_report()
        self._fill_compare()

    def _shown_correction(self) -> str:
        return self._correction.currentData()

    def _shown_report(self) -> AnisotropyReport | None:
        if self._result is None:
            return None
        return self._result.reports.get(self._shown_correction(), self._result.reports["none"])

    def _show_report(self) -> None:
        report = self._shown_report()
        if report is None:
            return
        shown = self._shown_correction() if self._shown_correction() in self._result.reports else "none"
        self._heading.setText(f"{CORRECTION_LABELS[shown]} — {report.n:,} vectors × {report.d} dimensions")
        for key, label, fmt, meaning, source in SCORES:
            text = _format(key, fmt, report)
            tip = f"{label} {text} — {meaning}. Source: {source}."
            for widget in self._score_rows[key]:
                widget.setToolTip(tip)
            self._score_rows[key][1].setText(text)
        dropped = f"; {report.id_duplicates} exact duplicates dropped" if report.id_duplicates else ""
        self._id_note.setText(
            f"TwoNN and MLE use {report.id_sample_size:,} sampled rows, Euclidean distances{dropped}."
        )
        self._draw_histogram(report)
        self._draw_spectrum(report)
        self._draw_dimensions()

    def _fill_compare(self) -> None:
        if self._result is None:
            return
        selected = CORRECTIONS.index(self._shown_correction())
        for col, name in enumerate(CORRECTIONS):
            report = self._result.reports.get(name)
            for row, (key, label, fmt, meaning, source) in enumerate(SCORES):
                item = QTableWidgetItem(_format(key, fmt, report) if report is not None else "…")
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                item.setToolTip(f"{label} after {CORRECTION_LABELS[name]} — {meaning}. Source: {source}.")
                font = item.font()
                font.setBold(col == selected)
                item.setFont(font)
                self._table.setItem(row, col, item)

    def _item(self, key: str, make: Callable[[], Any]) -> Any:
        """The plot item ``key``, made once: a new result updates the items rather than remaking
        them (clearing and redrawing the three plots held the GUI thread 15-90 ms per result)."""
        if key not in self._items:
            self._items[key] = make()
        return self._items[key]

    def _draw_histogram(self, report: AnisotropyReport) -> None:
        item = self._hist.getPlotItem()
        both = np.concatenate([report.pair_cosines, report.baseline_cosines])
        edges = np.linspace(float(both.min()), float(both.max()) + 1e-9, 61)
        for values, pen, name in (
            (report.pair_cosines, PAIR_PEN, "sampled pairs"),
            (report.baseline_cosines, BASELINE_PEN, "isotropic baseline"),
        ):
            density, _ = np.histogram(values, bins=edges, density=True)
            curve = self._item(name, lambda p=pen, n=name: item.plot(stepMode="center", pen=p, name=n))
            curve.setData(edges, density)
        mean_line = self._item("mean", lambda: _added(item, pg.InfiniteLine(angle=90, pen=MEAN_PEN)))
        mean_line.setValue(report.mean_cosine)
        _relabel(item.legend, self._item("mean sample", lambda: line_sample(MEAN_PEN)),
                 f"mean cosine {report.mean_cosine:.3f}")

    def _draw_spectrum(self, report: AnisotropyReport) -> None:
        """Ratios down to SPECTRUM_FLOOR × the largest (smaller ones are rounding noise, and a log
        axis running to 10⁻¹⁸ squeezes the real spectrum); how many were left out is in the legend."""
        item = self._spectrum.getPlotItem()
        ratios = report.variance_ratios
        shown = (ratios > 0) & (ratios >= SPECTRUM_FLOOR * float(ratios.max(initial=0.0)))
        components = np.arange(1, ratios.size + 1)
        curve = self._item("spectrum", lambda: _added(item, pg.PlotDataItem(
            pen=PAIR_PEN, symbol="o", symbolSize=3, symbolBrush="#1f77b4", symbolPen=None)))
        curve.setData(components[shown], ratios[shown])
        left_out = int(ratios.size - shown.sum())
        name = f"{int(shown.sum())} components"
        if left_out:
            name += f"; {left_out} below {power_of_ten(SPECTRUM_FLOOR)} × the largest not drawn"
        _relabel(item.legend, curve, name)
        isotropic = self._item("isotropic", lambda: _added(item, pg.InfiniteLine(angle=0, pen=BASELINE_PEN)))
        isotropic.setValue(np.log10(1.0 / report.d))
        _relabel(item.legend, self._item("isotropic sample", lambda: line_sample(BASELINE_PEN)),
                 f"isotropic: every component 1/d = 1/{report.d}")

    def _draw_dimensions(self) -> None:
        report = self._shown_report()
        if report is None:
            return
        measure = self._dim_measure.currentText()
        values = getattr(report, DIMENSION_MEASURES[measure])
        item = self._dims.getPlotItem()
        item.setLabel("left", measure)
        mask = np.zeros(values.size, dtype=bool)
        mask[report.outlier_dimensions] = True
        dims = np.arange(values.size)
        for key, chosen, brush in (("dimension", ~mask, NORMAL_BRUSH), ("rogue dimension", mask, OUTLIER_BRUSH)):
            shown = self._item(key, lambda b=brush, k=key: _added(item, bars(b, name=k)))
            shown.setZValue(1 if key == "rogue dimension" else 0)  # a rogue bar is never drawn over
            shown.setOpts(x=dims[chosen], height=values[chosen])
        note = f"Rogue dimensions (red): {_format('outlier_dimensions', '', report)}"
        if self._shown_correction() == "whiten" and "whiten" in self._result.reports:
            note += ". Whitened axes are the principal components, not the original dimensions."
        self._outlier_note.setText(note)

    # -- user input -----------------------------------------------------------------------------
    def _on_correction_changed(self, index: int) -> None:
        correction = CORRECTIONS[index]
        self._abtt_d.setEnabled(correction == "all_but_the_top")
        self._apply.setEnabled(correction != "none")
        self._show_report()
        self._fill_compare()
        self.set_params(replace(self.params, correction=correction))

    def _on_abtt_d_changed(self, value: int) -> None:
        self.set_params(replace(self.params, abtt_d=value or None))

    def _on_dim_measure_changed(self, _index: int) -> None:
        self._draw_dimensions()

    # -- export -----------------------------------------------------------------------------------
    def figure_items(self) -> dict[str, pg.PlotItem]:
        return {
            "cosine_histogram": self._hist.getPlotItem(),
            "pca_spectrum": self._spectrum.getPlotItem(),
            "dimensions": self._dims.getPlotItem(),
        }

    def table_rows(self) -> list[dict[str, Any]]:
        if self._result is None:
            return []
        rows = []
        for name, report in self._result.reports.items():
            numbers = report.as_dict()
            row: dict[str, Any] = {"correction": name}
            row.update(numbers["anisotropy"])
            row["outlier_dimensions"] = " ".join(str(i) for i in row["outlier_dimensions"])
            row.update(numbers["intrinsic_dimension"])
            rows.append(row)
        return rows

    @classmethod
    def preview(cls) -> AnisotropyPanel:
        """Synthetic anisotropic data: Gaussian + common offset + one rogue dimension (1000 × 64)."""
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((1000, 64)) * 0.3 + 0.4
        vectors[:, 7] = rng.normal(6.0, 3.0, 1000)
        params = AnisotropyParams()
        data = AnalysisData(vectors=vectors.astype(np.float32), doc_ids=np.arange(1000, dtype=np.int64))
        panel = cls(PanelContext(), params)
        panel.show_result(compute(data, params, null_progress()))
        return panel
