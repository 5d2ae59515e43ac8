"""Neighbours panel: the selected point's k nearest, who has it as a neighbour,
near-duplicate groups and how faithful the map is."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.hubness_reduction import METHOD_TITLES
from gui.panel_base import PanelContext, PluginPanel, plain_tooltip
from gui.plain_widgets import (TextsOnDemand, elide, fill_table, plain_label, read_only_table, read_only_view,
                                table_item, text_item)
from plugins.neighbours.analysis import NeighboursParams, NeighboursResult

REDUCTION_TITLES = {"none": "Raw (cosine)", **{m: f"Hubness-reduced: {title}" for m, title in METHOD_TITLES.items()}}
TIPS = {
    "reduced": "Hubness reduction re-ranks each list with a secondary distance that discounts points "
    "close to everybody (Feldbauer & Flexer, KAIS 2019).",
    "cosine": "Cosine similarity of the two embeddings (Salton & McGill, 1983).",
    "rank": "Position in the selected point's k-nearest-neighbour list (1 = nearest).",
    "their_rank": "Where the selected point sits in that point's own k-nearest list.",
    "n_k": "k-occurrence N_k: how many points have this one among their k nearest "
    "(Radovanović et al., JMLR 2010); the mean over all points is exactly k.",
    "trust": "Trustworthiness T(k): 1 means no point shown among a point's k nearest on the map is "
    "a stranger in the embedding space (Venna & Kaski, ICANN 2001; scikit-learn's definition).",
    "preservation": "Colour each point by the Jaccard overlap of its k nearest neighbours in the embedding "
    "space and on the map (Venna et al., JMLR 2010): low values show where the map misleads.",
    "duplicates": "Pairs with cosine similarity at or above the threshold among the k nearest neighbours, "
    "joined into connected groups (semantic deduplication, Abbas et al., SemDeDup 2023); exact duplicates "
    "share a content hash.",
}
_HINT = "Select a point on the map to see its neighbours."


class NeighboursPanel(PluginPanel):
    """k nearest neighbours of the first selected point, reverse neighbours and duplicates."""

    def __init__(self, context: PanelContext, params: NeighboursParams, parent: QWidget | None = None) -> None:
        super().__init__(context, params, parent)
        self.result: NeighboursResult | None = None
        self.row: int | None = None
        self._rows_shown: list[dict[str, Any]] = []
        self._groups: list[np.ndarray] = []

        top = QHBoxLayout()
        self.reduction = QComboBox()
        for method, title in REDUCTION_TITLES.items():
            self.reduction.addItem(title, method)
        self.reduction.setCurrentIndex(max(0, self.reduction.findData(params.reduced)))
        self.reduction.setToolTip(TIPS["reduced"])
        self.reduction.currentIndexChanged.connect(self._on_reduction_changed)
        top.addWidget(self.reduction, 1)
        self.body.addLayout(top)

        faith = QHBoxLayout()
        self.trust = plain_label("Trustworthiness: no map yet", TIPS["trust"])
        self.colour_button = QPushButton("Colour map by neighbourhood preservation")
        self.colour_button.setToolTip(TIPS["preservation"])
        self.colour_button.setEnabled(False)
        self.colour_button.clicked.connect(self._on_colour_clicked)
        faith.addWidget(self.trust, 1)
        faith.addWidget(self.colour_button)
        self.body.addLayout(faith)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_neighbours_tab(), "Neighbours")
        self.tabs.addTab(self._build_duplicates_tab(), "Near-duplicates")
        self.body.addWidget(self.tabs, 1)
        context.sig_focus_changed.connect(self._on_context_focus_changed)
        context.sig_selection_changed.connect(self._on_context_selection_changed)

    # ------------------------------------------------------------------ layout
    def _build_neighbours_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 4, 2, 2)
        self.source = plain_label(_HINT)
        self.source.setWordWrap(True)
        layout.addWidget(self.source)
        self.neighbours = read_only_table(
            ["Rank", "Cosine", "Text", "Collection"], [TIPS["rank"], TIPS["cosine"], "Document text", "Collection"]
        )
        self.neighbours.cellDoubleClicked.connect(self._on_neighbours_double_clicked)
        layout.addWidget(self.neighbours, 3)
        self.reverse_title = plain_label("Who has me as a neighbour", TIPS["n_k"])
        layout.addWidget(self.reverse_title)
        self.reverse = read_only_table(
            ["Their rank of me", "Cosine", "Text"], [TIPS["their_rank"], TIPS["cosine"], "Document text"]
        )
        self.reverse.cellDoubleClicked.connect(self._on_reverse_double_clicked)
        layout.addWidget(self.reverse, 2)
        return page

    def _build_duplicates_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 4, 2, 2)
        bar = QHBoxLayout()
        bar.addWidget(plain_label("Cosine threshold", TIPS["duplicates"]))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.50, 1.00)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(3)
        self.threshold.setKeyboardTracking(False)
        self.threshold.setValue(self.params.dup_threshold)
        self.threshold.setToolTip(TIPS["duplicates"])
        self.threshold.valueChanged.connect(self._on_threshold_changed)
        bar.addWidget(self.threshold)
        self.dup_summary = plain_label("", TIPS["duplicates"])
        bar.addWidget(self.dup_summary, 1)
        layout.addLayout(bar)
        self.groups = read_only_view(["Kind", "Size", "First text"], [TIPS["duplicates"], "Rows in the group", "Document text"])
        self.groups.clicked.connect(lambda index: self._on_groups_clicked(index.row()))
        layout.addWidget(self.groups, 1)
        return page

    # ------------------------------------------------------------------ results
    def show_result(self, result: NeighboursResult) -> None:
        self.show_status("")
        self.result = result
        if result.trust is None:
            self.trust.setText("Trustworthiness: no map yet")
        else:
            approx = "≈ " if result.trust_rows < result.graph.n else "= "
            self.trust.setText(f"Trustworthiness T({result.graph.k}) {approx}{result.trust:.3f}")
            self.trust.setToolTip(f"{TIPS['trust']} Averaged over {result.trust_rows} points.")
        self.colour_button.setEnabled(result.preservation is not None)
        self._show_groups(result)
        self._show_row(self.context.focus)

    def _show_groups(self, result: NeighboursResult) -> None:
        dup = result.duplicates
        groups = [("near", g) for g in dup.near] + [("exact", g) for g in dup.exact]
        self.dup_summary.setText(f"Groups: {len(dup.near)} near, {len(dup.exact)} exact")
        texts = TextsOnDemand(self.context.texts, [int(g[0]) for _, g in groups])
        self.groups.model().set_rows(len(groups), lambda row, column: (
            groups[row][0] if column == 0 else int(groups[row][1].size) if column == 1 else texts[row]))
        self._groups = [g for _, g in groups]

    def _collection(self, row: int) -> str:
        ids = self.result.collection_ids if self.result is not None else None
        if ids is None:
            return ""
        names = self.result.collection_names or {}
        return names.get(int(ids[row]), f"#{int(ids[row])}")

    def _show_row(self, row: int | None) -> None:
        result = self.result
        if result is None or row is None or not 0 <= row < result.graph.n:
            self.row = None
            chosen = self.context.selection.size
            self.source.setText(f"{chosen:,} selected — click one to see its neighbours." if chosen > 1 else _HINT)
            self.source.setToolTip("")
            self.reverse_title.setText("Who has me as a neighbour")
            self.neighbours.setRowCount(0)
            self.reverse.setRowCount(0)
            self._rows_shown = []
            return
        self.row = row
        graph = result.graph
        nbrs = graph.indices[row]
        sims = result.similarity[row]
        back, back_rank = result.reverse(row)
        back_sims = result.similarity[back, back_rank]
        texts = self.context.texts(np.concatenate(([row], nbrs, back)))
        own, nbr_texts, back_texts = texts[0], texts[1 : 1 + nbrs.size], texts[1 + nbrs.size :]
        chosen = self.context.selection.size
        note = f" ({chosen:,} selected; this is the one clicked last)" if chosen > 1 else ""
        copies = int(result.copies(np.array([row]))[0])
        note += f" · this exact text appears {copies} times; copies are listed once" if copies > 1 else ""
        self.source.setText(f"{elide(own, 300)}{note}")
        self.source.setToolTip(plain_tooltip(own))
        self.neighbours.setColumnHidden(3, result.collection_ids is None)
        fill_table(self.neighbours, [
            [table_item(i + 1, int(nbr)), table_item(float(sim)), text_item(text), table_item(self._collection(int(nbr)))]
            for i, (nbr, sim, text) in enumerate(zip(nbrs, sims, nbr_texts))
        ])
        self.reverse_title.setText(f"Who has me as a neighbour: N_{graph.k} = {back.size}")
        fill_table(self.reverse, [
            [table_item(int(rank) + 1, int(other)), table_item(float(sim)), text_item(text)]
            for other, rank, sim, text in zip(back, back_rank, back_sims, back_texts)
        ])
        shown = [
            {"list": "neighbours", "rank": i + 1, "row": int(nbr), "cosine": float(sim), "text": text}
            for i, (nbr, sim, text) in enumerate(zip(nbrs, sims, nbr_texts))
        ] + [
            {"list": "reverse neighbours", "rank": int(rank) + 1, "row": int(other), "cosine": float(sim), "text": text}
            for other, rank, sim, text in zip(back, back_rank, back_sims, back_texts)
        ]
        self._rows_shown = shown
        self.context.show_links(row, nbrs)

    # ------------------------------------------------------------------ slots
    def _on_context_focus_changed(self, row: int | None) -> None:
        self._show_row(row)

    def _on_context_selection_changed(self, _rows: np.ndarray) -> None:
        self._show_row(self.context.focus)  # the count of selected documents changed

    def _on_reduction_changed(self, index: int) -> None:
        method = self.reduction.itemData(index)
        if method != self.params.reduced:
            self.set_params(replace(self.params, reduced=method))

    def _on_threshold_changed(self, value: float) -> None:
        if abs(value - self.params.dup_threshold) > 1e-9:
            self.set_params(replace(self.params, dup_threshold=float(value)))

    def _on_colour_clicked(self) -> None:
        if self.result is not None and self.result.preservation is not None:
            self.context.color_by("neighbourhood preservation", self.result.preservation)

    def _on_neighbours_double_clicked(self, table_row: int, _column: int) -> None:
        self._select_from(self.neighbours, table_row)

    def _on_reverse_double_clicked(self, table_row: int, _column: int) -> None:
        self._select_from(self.reverse, table_row)

    def _select_from(self, table: QTableWidget, table_row: int) -> None:
        item = table.item(table_row, 0)
        if item is not None:
            self.context.select([int(item.data(Qt.UserRole))])

    def _on_groups_clicked(self, table_row: int) -> None:
        if 0 <= table_row < len(self._groups):
            self.context.select(self._groups[table_row])

    # ------------------------------------------------------------------ export
    def figure_items(self) -> dict[str, Any]:
        return {}

    def table_rows(self) -> list[dict[str, Any]]:
        rows = list(self._rows_shown)
        if self.result is not None:
            if self.result.trust is not None:
                rows.append({"list": "trustworthiness", "rank": "", "row": "", "cosine": self.result.trust, "text": ""})
            for i, group in enumerate(self._groups):
                kind = "near-duplicate group" if i < len(self.result.duplicates.near) else "exact-duplicate group"
                rows.append({"list": kind, "rank": i + 1, "row": " ".join(map(str, group)), "cosine": "", "text": ""})
        return rows

    @classmethod
    def preview(cls) -> "NeighboursPanel":
        from core.plugin_api import AnalysisData
        from plugins.neighbours.analysis import compute

        rng = np.random.default_rng(0)
        topics = ["cats", "ships", "bread", "rain"]
        labels = rng.integers(0, len(topics), 240)
        centres = rng.standard_normal((len(topics), 32))
        vectors = (centres[labels] + 0.6 * rng.standard_normal((240, 32))).astype(np.float32)
        vectors[1] = vectors[0] + 0.01
        vectors[2] = vectors[0]
        texts = [f"Sentence {i} about {topics[t]}." for i, t in enumerate(labels)]
        texts[1] = texts[0].replace("Sentence", "A sentence")
        texts[2] = texts[0]
        coords = (vectors[:, :2] + centres[labels, :2] * 3).astype(np.float32)
        data = AnalysisData(
            vectors=vectors,
            doc_ids=np.arange(240),
            collection_ids=(labels % 2).astype(np.int64),
            coords=coords,
            extras={"collection_names": {0: "news", 1: "forum"}},
        )
        context = PanelContext(lambda rows: [texts[int(r)] for r in rows])
        panel = cls(context, NeighboursParams())
        panel.show_result(compute(data, NeighboursParams()))
        context.sig_selection_changed.emit(np.array([0], dtype=np.int64))
        context.sig_focus_changed.emit(0)
        return panel
