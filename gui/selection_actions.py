"""What the user can do with a selection: see it as a table, export it, make a
new collection of it."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QDialog, QFileDialog, QInputDialog, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from core.doc_fields import metadata_rows, split_fields
from gui.shown_text import capped
from gui.window_port import WindowPort

EXPORT_FILTER = "CSV (*.csv);;Parquet (*.parquet);;JSON lines (*.jsonl)"


class SelectionActions(QObject):
    """Handles ``PanelContext.sig_request_action`` for the main window.

    ``point_measures`` gives the per-point measures in view ({name: (n,) array})
    that a table or an export of the selection includes.
    """

    sig_collections_changed = Signal()  # a new collection was made of the selection

    def __init__(self, port: WindowPort, parent: QWidget, point_measures: Callable[[], dict[str, np.ndarray]]) -> None:
        super().__init__(parent)
        self.port = port
        self.dialog_parent = parent
        self.point_measures = point_measures

    def run(self, name: str, rows) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if self.port.session is None or self.port.session.view is None or rows.size == 0:
            self.port.show_message("Select some points first.")
            return
        handler = {"show_table": self.show_table, "export_selection": self.export, "new_collection": self.new_collection}.get(name)
        if handler is None:
            self.port.show_message(f"Unknown action {name!r}")
            return
        handler(rows)

    def table(self, rows: np.ndarray) -> dict[str, list]:
        """Text, metadata, coordinates and every per-point measure of the selected rows."""
        session = self.port.session
        data = session.view.data
        columns = session.store.document_table(data.doc_ids[rows])
        if data.coords is not None:
            columns["x"] = data.coords[rows, 0].tolist()
            columns["y"] = data.coords[rows, 1].tolist()
        for name, values in self.point_measures().items():
            if len(values) == data.n:
                columns[name] = np.asarray(values)[rows].tolist()
        return columns

    def show_table(self, rows: np.ndarray) -> None:
        columns = self.table(rows)
        dialog = QDialog(self.dialog_parent)
        dialog.setWindowTitle(f"{len(rows):,} selected documents")
        table = QTableWidget(len(rows), len(columns))
        table.setHorizontalHeaderLabels(list(columns))
        for c, values in enumerate(columns.values()):
            for r, value in enumerate(values):
                item = QTableWidgetItem("" if value is None else capped(str(value), one_line=True))  # plain, capped
                item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                table.setItem(r, c, item)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        dialog.resize(900, 500)
        dialog.show()

    def export(self, rows: np.ndarray) -> None:
        from core.export import write_table

        path, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Export selection", "selection.csv", EXPORT_FILTER)
        if not path:
            return
        write_table(Path(path), self.table(rows))
        self.port.show_message(f"Exported {len(rows):,} documents to {path}")

    def new_collection(self, rows: np.ndarray) -> None:
        name, ok = QInputDialog.getText(self.dialog_parent, "New collection", "Name of the new collection:", text="selection")
        if not ok or not name.strip():
            return
        session = self.port.session
        columns = session.store.document_table(session.view.data.doc_ids[rows])
        (_, collection, text), _ = split_fields(columns)
        metas = [meta | {"from_collection": columns[collection][i]} for i, meta in enumerate(metadata_rows(columns))]
        store = session.store
        collection_id = store.create_collection(name.strip(), source="selection")
        store.add_documents(collection_id, columns[text], metas, source="selection")
        self.sig_collections_changed.emit()
        if self.port.service is not None:
            from gui.encoder_service import EmbedJob

            self.port.service.submit(EmbedJob((collection_id,), self.port.model_name))
        self.port.show_message(f"New collection {name.strip()!r} with {len(rows):,} documents")
