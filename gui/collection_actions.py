"""Managing collections from the sidebar: rename, delete (and compact the
workspace file), merge, export the documents; embedding with another model and
exporting an embedding set are in :mod:`gui.embedding_set_actions`.

The workspace operations are plain functions on a :class:`~core.store.Store`
(Qt-free, tested directly); :class:`CollectionActions` asks the user and runs
them for the main window.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import duckdb
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from core.doc_fields import metadata_rows, split_fields
from core.store import Store
from core.workspace_file import WorkspaceError, sql_string
from gui.embedding_set_actions import EmbeddingSetActions
from gui.encoder_service import EmbedJob
from gui.selection_actions import EXPORT_FILTER
from gui.window_port import WindowPort
from gui.worker import Worker
from gui.workspace import WorkspaceController

CHUNK = 50_000


def collection_doc_ids(store: Store, collection_id: int) -> np.ndarray:
    """Every document id of a collection, ascending (an empty search matches every text)."""
    return store.search_text([collection_id], "")


def collection_table(store: Store, collection_id: int) -> dict[str, list]:
    """A collection's documents as columns (id, collection, text, metadata) for ``write_table``."""
    return store.document_table(collection_doc_ids(store, collection_id))


def merge_collections(store: Store, collection_ids: Sequence[int], name: str) -> int:
    """Copy the documents of ``collection_ids`` into a new collection; returns its id.

    The originals stay. Vectors are keyed by text, so every model that embedded
    all the originals has embedded the merge too: those embedding sets are
    registered at once and nothing is computed again. Each document keeps its
    metadata plus ``from_collection``.
    """
    sources = ", ".join(store.collection(c).name for c in collection_ids)
    merged = store.create_collection(name, source=f"merge of {sources}", status="importing")
    for collection_id in collection_ids:
        ids = collection_doc_ids(store, collection_id)
        for start in range(0, len(ids), CHUNK):
            columns = store.document_table(ids[start : start + CHUNK])
            (_, collection, text), _ = split_fields(columns)
            metas = [meta | {"from_collection": columns[collection][i]} for i, meta in enumerate(metadata_rows(columns))]
            store.add_documents(merged, columns[text], metas, source="merge")
    models = [{s.model_id for s in store.embedding_sets(c)} for c in collection_ids]
    for model_id in sorted(set.intersection(*models)) if models else ():
        store.add_embedding_set(merged, model_id)
    store.set_collection_status(merged, "ready")
    return merged


def compact_workspace(path: str | Path) -> tuple[int, int]:
    """Drop vectors no document uses and rewrite the file without free space; (bytes before, after).

    DuckDB reuses freed blocks but never shrinks a file, so the data is copied
    into a fresh file that replaces the old one. The workspace must be closed.
    """
    path = Path(path)
    before = path.stat().st_size
    fresh = path.with_name(path.name + ".compact")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("DELETE FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.sha256 = v.sha256)")
        con.execute("CHECKPOINT")
        catalog = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f"ATTACH {sql_string(fresh)} AS compacted")
        con.execute(f'COPY FROM DATABASE "{catalog}" TO compacted')
        con.execute("DETACH compacted")
    finally:
        con.close()
    os.replace(fresh, path)
    return before, path.stat().st_size


class CollectionActions(QObject):
    """Handles ``CollectionsPanel.sig_action_requested`` for the main window."""

    sig_compacted = Signal(str, int, int)  # workspace path, bytes before, bytes after (it is open again)
    sig_collections_changed = Signal()  # renamed or merged: the sidebar and the names in view are stale
    sig_release_workspace = Signal()  # the window must close the workspace (to compact it)
    sig_error = Signal(str, str)  # what failed, details

    def __init__(self, port: WindowPort, parent: QWidget, workspace: WorkspaceController,
                 embedding_sets: EmbeddingSetActions) -> None:
        super().__init__(parent)
        self.port = port
        self.dialog_parent = parent
        self.workspace = workspace
        self.embedding_sets = embedding_sets
        self._compactor = Worker("compact", self)
        self._compacting: Path | None = None  # the closed workspace being compacted
        self._closing = False
        self._compactor.sig_result.connect(self._on_compactor_result)
        self._compactor.sig_error.connect(self._on_compactor_error)

    @property
    def store(self) -> Store | None:
        return self.port.session.store if self.port.session is not None else None

    def run(self, name: str, collection_ids: tuple[int, ...]) -> None:
        sets = self.embedding_sets
        handlers = {"rename": self.rename, "delete": self.delete, "merge": self.merge, "export": self.export,
                    "embed_with": sets.embed_dialog, "export_set": sets.export_dialog}
        if self.store is not None and collection_ids and name in handlers:
            try:
                handlers[name](tuple(collection_ids))
            except WorkspaceError as exc:  # e.g. a read-only workspace
                self.port.show_message(str(exc))

    def _idle(self, what: str) -> bool:
        if self.port.service is not None and self.port.service.busy:
            self.port.show_message(f"Wait until the running import or embedding finishes (or cancel it) to {what}.")
            return False
        return True

    def rename(self, collection_ids: tuple[int, ...]) -> None:
        info = self.store.collection(collection_ids[0])
        name, ok = QInputDialog.getText(self.dialog_parent, "Rename collection", "New name:", text=info.name)
        name = name.strip()
        if not ok or not name or name == info.name:
            return
        if any(c.name == name for c in self.store.collections()):
            self.port.show_message(f"A collection called {name!r} exists already; choose another name.")
            return
        self.store.rename_collection(info.id, name)
        self.sig_collections_changed.emit()
        self.port.show_message(f"Renamed {info.name!r} to {name!r}.")

    def delete(self, collection_ids: tuple[int, ...]) -> None:
        if not self._idle("delete collections"):
            return
        names = [self.store.collection(c).name for c in collection_ids]
        answer = QMessageBox.question(
            self.dialog_parent, "Delete collections",
            f"Delete {', '.join(names)} with all its documents and embeddings from this workspace? "
            "This cannot be undone; the files you imported from are not touched.",
        )
        if answer == QMessageBox.Yes:
            self.delete_now(collection_ids)

    def delete_now(self, collection_ids: tuple[int, ...]) -> None:
        """Delete without asking, then compact the workspace in the background and reopen it."""
        store = self.store
        for collection_id in collection_ids:
            store.delete_collection(collection_id)
        path = store.path
        self.sig_release_workspace.emit()
        self.port.show_message(f"Deleted {len(collection_ids)} collection(s); compacting the workspace…")
        self._compacting = path
        self._compactor.submit(compact_workspace, path)

    def _on_compactor_result(self, _generation: int, sizes: tuple[int, int]) -> None:
        path, (before, after) = str(self._compacting), sizes
        if not self._closing and self.workspace.open(path):
            self.port.show_message(f"Workspace compacted from {before / 1e6:.1f} MB to {after / 1e6:.1f} MB.")
        self.sig_compacted.emit(path, before, after)

    def _on_compactor_error(self, _generation: int, message: str) -> None:
        self.sig_error.emit("The workspace could not be compacted; it is unchanged.", message)
        if not self._closing:
            self.workspace.open(str(self._compacting))

    def merge(self, collection_ids: tuple[int, ...]) -> None:
        if len(collection_ids) < 2:
            self.port.show_message("Select two or more collections (Ctrl+click) to merge them.")
            return
        if not self._idle("merge collections"):
            return
        default = " + ".join(self.store.collection(c).name for c in collection_ids)
        name, ok = QInputDialog.getText(self.dialog_parent, "Merge collections", "Name of the merged collection:", text=default)
        if ok and name.strip():
            self.merge_now(collection_ids, name.strip())

    def merge_now(self, collection_ids: tuple[int, ...], name: str) -> int:
        merged = merge_collections(self.store, collection_ids, name)
        self.sig_collections_changed.emit()
        self.port.show_message(f"Merged into {self.store.collection(merged).name!r}; the originals are kept.")
        if self.port.service is not None:  # texts no model of the originals has embedded yet
            self.port.service.submit(EmbedJob((merged,), self.port.model_name))
        return merged

    def export(self, collection_ids: tuple[int, ...]) -> None:
        from core.export import write_table

        info = self.store.collection(collection_ids[0])
        path, chosen = QFileDialog.getSaveFileName(self.dialog_parent, "Export collection", f"{info.name}.csv", EXPORT_FILTER)
        if not path:
            return
        if not Path(path).suffix:
            path += "." + chosen.split("*.")[-1].rstrip(")")
        written = write_table(path, collection_table(self.store, info.id))
        self.port.show_message(f"Exported {info.n_docs:,} documents of {info.name!r} to {written}")

    def shutdown(self) -> None:
        """Let a running compaction finish (it replaces the file at its end); the window is closing."""
        self._closing = True
        self._compactor.shutdown()
