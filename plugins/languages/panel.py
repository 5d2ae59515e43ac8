"""Languages panel: how much of the space is language, before and after removing it; centroid cosines."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QPushButton

from gui.panel_base import PanelContext, PluginPanel
from gui.plain_widgets import fill_table, read_only_table, table_item
from plugins.languages.analysis import CORRECTIONS, MISSING, LanguagesParams, LanguagesResult, remove_language

NO_PAIRS = "(none)"
MEASURES = (
    ("variance_explained", "Variance explained by language", "Between-language over total sum of squares (η²)."),
    ("probe_accuracy", "Linear probe accuracy", "Cross-validated accuracy of a ridge classifier telling the language "
                                                "from the vector."),
    ("same_language_neighbours", "Same-language neighbours", "Share of each document's k nearest neighbours in its "
                                                             "own language."),
    ("translation_p_at_1", "Translation found first (P@1)", "Share of paired documents whose nearest document in "
                                                            "another language is their translation."),
)
CORRECTION_TITLES = {"centroids": "Subtract language means", "subspace": "Subtract means + project out their span"}


def _percent(value: float) -> str:
    return "–" if np.isnan(value) else f"{100 * value:.1f} %"


def _fit_height(table) -> None:
    """As tall as its rows (up to 12), so short tables leave no empty band."""
    rows = min(table.rowCount(), 12)
    table.setFixedHeight(table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(rows))
                         + 2 * table.frameWidth() + 2)


class LanguagesPanel(PluginPanel):
    """Language measures before/after a correction; *Show corrected space* redraws every view without language."""

    def __init__(self, context: PanelContext, params: LanguagesParams, parent=None) -> None:
        super().__init__(context, params, parent)
        self._result: LanguagesResult | None = None
        form = QFormLayout()
        self.column_box = QComboBox()
        self.column_box.setToolTip("The metadata column that holds each document's language")
        self.pair_box = QComboBox()
        self.pair_box.setToolTip("A column whose equal values mark translations of the same text (optional)")
        self.correction_box = QComboBox()
        for name in CORRECTIONS:
            self.correction_box.addItem(CORRECTION_TITLES[name], name)
        self.correction_box.setCurrentIndex(CORRECTIONS.index(params.correction))
        form.addRow("Language column", self.column_box)
        form.addRow("Translation pairs", self.pair_box)
        form.addRow("Remove language by", self.correction_box)
        self.body.addLayout(form)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.body.addWidget(self.summary)
        self.measures = read_only_table(("Measure", "As embedded", "Language removed", "By chance"),
                                        ("", "", "After the correction chosen above", "Without any language signal"),
                                        text_column=0)
        self.body.addWidget(self.measures)
        self.body.addWidget(QLabel("Cosine between language centroids:"))
        self.cosines = read_only_table(("",), ("",), text_column=0)
        self.body.addWidget(self.cosines)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "documents")
        self.plot.setMinimumHeight(140)
        self.body.addWidget(self.plot, 1)
        self.apply_button = QPushButton("Show the space without language")
        self.apply_button.setToolTip("Store the corrected vectors as a derived embedding set and open it in every view "
                                     "(map, neighbours, hubness…)")
        self.apply_button.clicked.connect(self._on_apply_clicked)
        self.body.addWidget(self.apply_button)
        self.context.sig_data_changed.connect(self._fill_columns)
        self._fill_columns()
        self.column_box.currentIndexChanged.connect(self._on_controls_changed)
        self.pair_box.currentIndexChanged.connect(self._on_controls_changed)
        self.correction_box.currentIndexChanged.connect(self._on_controls_changed)

    def _fill_columns(self) -> None:
        columns = [name for name in self.context.labels if name != "collection"]
        for box, current, extra in ((self.column_box, self.params.column, []),
                                    (self.pair_box, self.params.pair_column or NO_PAIRS, [NO_PAIRS])):
            box.blockSignals(True)
            box.clear()
            box.addItems(extra + columns)
            if current in extra + columns:
                box.setCurrentText(current)
            box.blockSignals(False)

    def _on_controls_changed(self) -> None:
        pair = self.pair_box.currentText()
        params = replace(self.params, column=self.column_box.currentText(), correction=self.correction_box.currentData(),
                         pair_column="" if pair == NO_PAIRS else pair)
        if params != self.params:
            self.set_params(params)

    def show_result(self, result: LanguagesResult) -> None:
        self._result = result
        if self.column_box.currentText() != result.column:
            self.column_box.blockSignals(True)
            self.column_box.setCurrentText(result.column)
            self.column_box.blockSignals(False)
        self.summary.setText(
            f"Language ({result.column}: {len(result.languages)} values) explains "
            f"{_percent(result.before.variance_explained)} of the variance; a linear probe tells it "
            f"{_percent(result.before.probe_accuracy)} of the time (chance {_percent(result.chance_accuracy)}), "
            f"and {_percent(result.before.same_language_neighbours)} of neighbours share the language "
            f"({_percent(result.expected_same_language)} by chance).")
        chance = {"probe_accuracy": result.chance_accuracy, "same_language_neighbours": result.expected_same_language,
                  "variance_explained": 0.0, "translation_p_at_1": float("nan")}
        fill_table(self.measures, [[table_item(title), table_item(_percent(getattr(result.before, key))),
                                    table_item(_percent(getattr(result.after, key))), table_item(_percent(chance[key]))]
                                   for key, title, _ in MEASURES])
        for row, (_, _, tip) in enumerate(MEASURES):
            self.measures.item(row, 0).setToolTip(tip)
        self.cosines.setColumnCount(len(result.languages) + 1)
        self.cosines.setHorizontalHeaderLabels(["", *result.languages])
        fill_table(self.cosines, [[table_item(lang), *(table_item(float(c)) for c in result.centroid_cosines[i])]
                                  for i, lang in enumerate(result.languages)])
        for table in (self.measures, self.cosines):
            _fit_height(table)
        self.plot.clear()
        self.plot.addItem(pg.BarGraphItem(x=np.arange(len(result.counts)), height=result.counts, width=0.7,
                                          brush="#0072B2"))
        self.plot.getAxis("bottom").setTicks([list(enumerate(result.languages))])

    def _on_apply_clicked(self) -> None:
        result = self._result
        if result is None:
            return
        values = np.asarray(self.context.labels[result.column]).astype(str)
        lookup = {lang: i for i, lang in enumerate(result.languages)}
        codes = np.array([-1 if v in MISSING else lookup.get(v, -1) for v in values], dtype=np.int64)
        self.context.derive_set(f"language removed ({result.correction})", remove_language(codes, result.correction))

    def figure_items(self) -> dict[str, pg.PlotItem]:
        return {"documents_per_language": self.plot.getPlotItem()}

    def table_rows(self) -> list[dict]:
        if self._result is None:
            return []
        return [{"measure": key, "as_embedded": getattr(self._result.before, key),
                 "language_removed": getattr(self._result.after, key)} for key, _, _ in MEASURES]

    @classmethod
    def preview(cls) -> LanguagesPanel:
        """Three 'languages' offset from each other, sharing five topics, in 64-D."""
        from core.plugin_api import AnalysisData
        from core.progress import null_progress
        from plugins.languages.analysis import compute

        rng = np.random.default_rng(0)
        n = 600
        language = rng.integers(0, 3, n)
        topic = rng.integers(0, 5, n)
        x = (rng.normal(size=(5, 64))[topic] + 1.5 * rng.normal(size=(3, 64))[language]
             + 0.7 * rng.normal(size=(n, 64))).astype(np.float32)
        labels = {"language": np.array(["en", "de", "fr"])[language], "topic": np.array([f"t{t}" for t in topic])}
        context = PanelContext(text_lookup=lambda rows: [f"document {r}" for r in rows])
        context.set_data(n, labels)
        params = LanguagesParams()
        panel = cls(context, params)
        panel.show_result(compute(AnalysisData(x, np.arange(n), extras={"labels": labels}), params, null_progress()))
        return panel
