"""Clusters panel: a sortable table of the map's clusters with their keywords and geometry."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QTableWidget, QTableWidgetItem, QWidget)

from gui.panel_base import PanelContext, PluginPanel, plain_tooltip
from plugins.clusters.analysis import ClustersParams, ClustersResult
from plugins.clusters.names import SHELF_NAME, export_clusters, names_from_arrays, names_to_arrays

#: (column title, Cluster attribute or measure name, tooltip)
COLUMNS = (
    ("Name", "name", "Keywords by class-based TF-IDF (BERTopic, Grootendorst 2022); double-click to rename."),
    ("Level", "level", "0 = coarsest; finer levels split the clusters above them."),
    ("Size", "size", "Documents in the cluster."),
    ("Mean N_k", "mean_nk", "Mean k-occurrence: how often its documents are in others' kNN lists (k on average)."),
    ("Antihubs", "antihub_share", "Share of its documents that are nobody's neighbour (N_k = 0)."),
    ("Mean cos", "mean_cosine", "Mean cosine between its documents: how tight the cluster is."),
    ("LID", "lid", "Local intrinsic dimension, TwoNN (Facco et al. 2017) on the cluster's vectors."),
    ("kNN kept", "preservation", "Mean Jaccard of each document's k nearest in the space and on the map: "
                                 "low = this region is badly projected."),
)
NAME_COL = 0
NOISE = "noise"
TEXT_CHARS = 300


class ClustersPanel(PluginPanel):
    """The map's clusters at every level: names, sizes and per-cluster geometry; click to select."""

    def __init__(self, context: PanelContext, params: ClustersParams, parent: QWidget | None = None) -> None:
        super().__init__(context, params, parent)
        self._result: ClustersResult | None = None
        self.renamed: dict[int, str] = {}
        row = QHBoxLayout()
        self.level_box = QComboBox()
        self.level_box.setToolTip(plain_tooltip("Which level the table lists and the map is coloured by."))
        self.labels_box = QCheckBox("Labels on map")
        self.labels_box.setChecked(True)
        self.labels_box.setToolTip(plain_tooltip("Name the clusters on the map; finer names appear as you zoom in."))
        self.color_button = QPushButton("Colour map by cluster")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip(plain_tooltip("Write each document's cluster and the clusters' names, "
                                                    "keywords and measures (CSV or Parquet)."))
        for widget in (QLabel("Level"), self.level_box, self.labels_box, self.color_button, self.export_button):
            row.addWidget(widget)
        row.addStretch(1)
        self.body.addLayout(row)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        for col, (_, _, tip) in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(col).setToolTip(plain_tooltip(tip))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.table.setEditTriggers(QTableWidget.DoubleClicked | QTableWidget.EditKeyPressed)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(NAME_COL, QHeaderView.Stretch)
        self.body.addWidget(self.table, 3)
        self.docs = QListWidget()
        self.docs.setWordWrap(True)
        self.docs.setToolTip(plain_tooltip("The cluster's most representative documents: closest to its centroid."))
        self.body.addWidget(QLabel("Representative documents"))
        self.body.addWidget(self.docs, 1)
        self.level_box.currentIndexChanged.connect(lambda _: self._fill_table())
        self.labels_box.toggled.connect(lambda _: self._publish_labels())
        self.color_button.clicked.connect(self._on_color_button_clicked)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.table.itemClicked.connect(self._on_table_item_clicked)
        self.table.itemChanged.connect(self._on_table_item_changed)
        self._set_enabled(False)

    # ---- showing a result ------------------------------------------------
    def show_result(self, result: ClustersResult) -> None:
        self._result = result
        shelf = self.context.shelf
        self.renamed = names_from_arrays(result, shelf.get(SHELF_NAME) if shelf is not None else None)
        self.show_status(result.status)
        level = self.level_box.currentData()
        self.level_box.blockSignals(True)
        self.level_box.clear()
        for lv in range(result.n_levels):
            self.level_box.addItem(f"{lv} ({'coarse' if lv == 0 else 'finer'})", lv)
        self.level_box.setCurrentIndex(max(0, self.level_box.findData(level if level is not None else result.n_levels - 1)))
        self.level_box.blockSignals(False)
        self._set_enabled(bool(result.clusters))
        self._fill_table()
        self._publish_labels()

    @property
    def level(self) -> int:
        return int(self.level_box.currentData() or 0)

    def _fill_table(self) -> None:
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        result = self._result
        clusters = [c for c in result.clusters if c.level == self.level] if result is not None else []
        names = result.names(self.renamed) if result is not None else []
        self.table.setRowCount(len(clusters))
        for r, cluster in enumerate(clusters):
            for col, (_, attr, _) in enumerate(COLUMNS):
                if col == NAME_COL:
                    item = QTableWidgetItem(names[cluster.id])
                    item.setData(Qt.UserRole, cluster.id)
                    item.setToolTip(plain_tooltip(", ".join(cluster.keywords)))
                else:
                    value = getattr(cluster, attr) if attr in ("level", "size") else cluster.measures[attr]
                    item = QTableWidgetItem()
                    item.setData(Qt.DisplayRole, int(value) if attr in ("level", "size") else round(float(value), 3))
                    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, col, item)
        self.table.setSortingEnabled(True)
        self.table.blockSignals(False)

    def _publish_labels(self) -> None:
        result = self._result
        shown = result is not None and bool(result.clusters) and self.labels_box.isChecked()
        self.context.annotate("clusters", result.map_labels(self.renamed) if shown else None)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.color_button, self.export_button, self.level_box):
            widget.setEnabled(enabled)

    # ---- slots -------------------------------------------------------------
    def _on_table_item_clicked(self, item: QTableWidgetItem) -> None:
        cid = self.table.item(item.row(), NAME_COL).data(Qt.UserRole)
        if self._result is None or cid is None:
            return
        cluster = self._result.clusters[int(cid)]
        self.context.select(self._result.members(cluster.id))
        self.docs.clear()
        for row, text in zip(cluster.representatives, self.context.texts(np.array(cluster.representatives))):
            entry = QListWidgetItem(" ".join(text.split())[:TEXT_CHARS] or f"row {row}")
            entry.setData(Qt.UserRole, int(row))
            entry.setToolTip(plain_tooltip(text[:1000]))
            self.docs.addItem(entry)

    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        cid = item.data(Qt.UserRole)
        if item.column() != NAME_COL or cid is None or self._result is None:
            return
        # rebuilding the table inside the editor's commit would delete the item being committed
        cid, text = int(cid), item.text()
        QTimer.singleShot(0, self, lambda: self.rename(cid, text))

    def rename(self, cluster_id: int, name: str) -> None:
        """Name a cluster (an empty name restores its keywords) and keep it in the workspace."""
        name = name.strip()
        result = self._result
        if result is None:
            return
        if name and name != result.clusters[cluster_id].label:
            self.renamed[cluster_id] = name
        else:
            self.renamed.pop(cluster_id, None)
        shelf = self.context.shelf
        if shelf is not None:
            shelf.put(SHELF_NAME, names_to_arrays(result, self.renamed, shelf.get(SHELF_NAME)))
        self._fill_table()
        self._publish_labels()

    def cluster_names(self) -> np.ndarray:
        """Per row, the name of its cluster at the chosen level ("noise" where none)."""
        result = self._result
        if result is None or not result.n_levels:
            return np.full(self.context.n_rows, NOISE)
        names = np.array([*result.names(self.renamed), NOISE])
        return names[result.assignments[self.level]]

    def _on_color_button_clicked(self) -> None:
        self.context.color_by("cluster", self.cluster_names())

    def _on_export_button_clicked(self) -> None:
        if self._result is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export clusters", "clusters.csv",
                                              "CSV (*.csv);;Parquet (*.parquet)")
        if path:
            written = export_clusters(self._result, path, self.renamed)
            self.show_status("Saved " + " and ".join(str(p) for p in written))

    # ---- export ------------------------------------------------------------
    def figure_items(self) -> dict:
        return {}  # a table, no plot: its labels are drawn in the map's figure

    def table_rows(self) -> list[dict]:
        return self._result.table(self.renamed) if self._result is not None else []

    @classmethod
    def preview(cls) -> ClustersPanel:
        """The panel on 1,200 synthetic documents in six topics, laid out as six blobs."""
        from core.knn import exact_knn
        from core.plugin_api import AnalysisData
        from core.progress import null_progress
        from plugins.clusters.analysis import compute

        data = sample_data()
        context = PanelContext(lambda rows: [data.extras["texts"](data.doc_ids[[r]])[0] for r in rows])
        context.set_data(data.n, {})
        params = ClustersParams()
        data = AnalysisData(data.vectors, data.doc_ids, knn=exact_knn(data.vectors, params.k), coords=data.coords,
                            extras=data.extras)
        panel = cls(context, params)
        panel.resize(640, 480)
        panel.show_result(compute(data, params, null_progress()))
        return panel


TOPICS = (("galaxy", "telescope", "orbit", "star"), ("protein", "enzyme", "gene", "cell"),
          ("football", "league", "match", "goal"), ("bread", "flour", "oven", "yeast"),
          ("piano", "violin", "concert", "orchestra"), ("parliament", "budget", "tax", "vote"))


def sample_data(n: int = 1200, seed: int = 0):
    """Synthetic documents in six topics, each a 2-D blob with its own words, the blobs in three pairs (AnalysisData)."""
    from core.plugin_api import AnalysisData

    rng = np.random.default_rng(seed)
    topic = np.arange(n) % len(TOPICS)
    pairs = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, 3, endpoint=False)]) * 16
    centres = np.repeat(pairs, 2, axis=0) + np.tile([[-3.5, 0.0], [3.5, 0.0]], (3, 1))  # three pairs of topics
    coords = (centres[topic] + rng.normal(size=(n, 2))).astype(np.float32)
    directions = rng.normal(size=(len(TOPICS), 32))
    vectors = (directions[topic] + 0.6 * rng.normal(size=(n, 32))).astype(np.float32)
    texts = [" ".join(rng.choice(TOPICS[t], 4)) + " and the data" for t in topic]
    doc_ids = np.arange(n, dtype=np.int64) + 100
    return AnalysisData(vectors, doc_ids, coords=coords,
                        extras={"texts": lambda ids: [texts[int(i) - 100] for i in ids]})
