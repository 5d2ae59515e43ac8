"""The collections sidebar: name, size and embedding status of every collection,
with a check box choosing which ones are in view, and a right-click menu
(rename, merge, embed with another model, export, delete) that the window carries out.

Names and sizes are read at once; the embedding progress (a join of documents
and vectors: 180 ms at 1M documents, re-read every 0.5 s while embedding) is
read on a thread of its own and filled in when it arrives."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHeaderView, QLabel, QMenu, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from core.store import EmbeddingSetInfo, Store
from gui.panel_base import plain_tooltip
from gui.worker import Worker

_STATUS_ROLE = Qt.UserRole + 1  # the collection's import status, kept on its row

COLUMNS = ("Collection", "Docs", "Status")  # how many are embedded: the Status cell's tooltip
#: (action name, menu text, shortcut on the list, how many collections it needs at least)
ACTIONS = (
    ("rename", "Rename…", "F2", 1),
    ("merge", "Merge into a new collection…", None, 2),
    ("embed_with", "Embed with another model…", None, 1),
    ("export", "Export documents…", None, 1),
    ("export_set", "Export embedding set…", None, 1),
    ("delete", "Delete…", QKeySequence.Delete, 1),
)


class CollectionsPanel(QWidget):
    """Lists collections; emits the checked ids and the chosen model."""

    sig_view_requested = Signal(object, object)  # tuple of collection ids, model id (or None)
    sig_action_requested = Signal(str, object)  # action name (see ACTIONS), tuple of collection ids

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store: Store | None = None
        self._tree = QTreeWidget()
        self._tree.setHeaderLabels(list(COLUMNS))
        self._tree.setRootIsDecorated(False)
        self._tree.setUniformRowHeights(True)
        self._tree.header().setStretchLastSection(False)  # the name column takes the spare width, not Status
        self._tree.header().setSectionResizeMode(0, QHeaderView.Stretch)
        for column in range(1, len(COLUMNS)):
            self._tree.header().setSectionResizeMode(column, QHeaderView.ResizeToContents)
        self._tree.itemChanged.connect(self._on_tree_item_changed)
        self._tree.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self._tree.setContextMenuPolicy(Qt.CustomContextMenu)
        self._tree.customContextMenuRequested.connect(self._on_tree_context_menu)
        for action, _, keys, _ in ACTIONS:
            if keys is not None:
                QShortcut(QKeySequence(keys), self._tree, lambda a=action: self._request(a, self.selected_ids()),
                          context=Qt.WidgetShortcut)
        self._model = QComboBox()
        self._model.setToolTip("The embedding model whose vectors the views show")
        self._model.currentIndexChanged.connect(self._show_counts)
        self._model.currentIndexChanged.connect(self._emit_view)
        self._hint = QLabel("Drop text files or folders anywhere on the window to add a collection.")
        self._hint.setWordWrap(True)
        self._hint.setTextFormat(Qt.PlainText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QLabel("Model"))
        layout.addWidget(self._model)
        layout.addWidget(self._tree, 1)
        layout.addWidget(self._hint)
        self._updating = False
        self._sets: dict[tuple[int, int], EmbeddingSetInfo] = {}
        # embedding progress is read off the GUI thread; a failed read (the workspace closed meanwhile) is
        # simply read again at the next refresh, so only results are listened to
        self._reader = Worker("sidebar", self)
        self._reader.sig_result.connect(self._on_counts_read)
        self.setMinimumWidth(240)  # with the map and one side panel, the window fits a 1280-px screen

    def set_store(self, store: Store | None) -> None:
        """Show ``store`` (None: nothing); a progress read of the previous store is waited for."""
        self._reader.invalidate()
        self._reader.drain()
        self._store = store
        self._sets = {}
        self._tree.clear()
        self._model.clear()
        self.refresh()

    def checked_ids(self) -> tuple[int, ...]:
        ids = []
        for i in range(self._tree.topLevelItemCount()):
            item = self._tree.topLevelItem(i)
            if item.checkState(0) == Qt.Checked:
                ids.append(int(item.data(0, Qt.UserRole)))
        return tuple(ids)

    def selected_ids(self) -> tuple[int, ...]:
        """Collections highlighted in the list (the right-click menu acts on these)."""
        return tuple(int(item.data(0, Qt.UserRole)) for item in self._tree.selectedItems())

    def menu_for(self, collection_ids: tuple[int, ...]) -> QMenu:
        """The right-click menu for these collections."""
        menu = QMenu(self)
        for action, text, keys, needed in ACTIONS:
            if action == "delete":
                menu.addSeparator()
            hint = f"\t{QKeySequence(keys).toString(QKeySequence.NativeText)}" if keys is not None else ""
            entry = menu.addAction(text + hint, lambda a=action: self._request(a, collection_ids))
            entry.setEnabled(len(collection_ids) >= needed and (action != "rename" or len(collection_ids) == 1))
        return menu

    def _on_tree_context_menu(self, pos: QPoint) -> None:
        item = self._tree.itemAt(pos)
        if item is None:
            return
        if not item.isSelected():
            self._tree.clearSelection()
            item.setSelected(True)
        self.menu_for(self.selected_ids()).popup(self._tree.viewport().mapToGlobal(pos))

    def _request(self, action: str, collection_ids: tuple[int, ...]) -> None:
        if collection_ids:
            self.sig_action_requested.emit(action, collection_ids)

    def model_id(self) -> int | None:
        value = self._model.currentData()
        return int(value) if value is not None else None

    def select_model(self, name: str) -> None:
        index = self._model.findText(name)
        if index >= 0:
            self._model.setCurrentIndex(index)

    def check(self, collection_ids: tuple[int, ...] | list[int], exclusive: bool = False) -> None:
        """Tick these collections (and untick the rest if ``exclusive``)."""
        self._updating = True
        for i in range(self._tree.topLevelItemCount()):
            item = self._tree.topLevelItem(i)
            cid = int(item.data(0, Qt.UserRole))
            if cid in collection_ids:
                item.setCheckState(0, Qt.Checked)
            elif exclusive:
                item.setCheckState(0, Qt.Unchecked)
        self._updating = False
        self._emit_view()

    def refresh(self) -> None:
        """Re-read names, sizes and embedding progress from the store."""
        if self._store is None:
            return
        checked = set(self.checked_ids())
        first_fill = self._tree.topLevelItemCount() == 0
        self._updating = True
        current_model = self._model.currentText()
        self._model.blockSignals(True)
        self._model.clear()
        for model in self._store.models():
            self._model.addItem(model.name, model.id)
        if current_model:
            self._model.setCurrentIndex(max(0, self._model.findText(current_model)))
        self._model.blockSignals(False)
        self._tree.clear()
        for info in self._store.collections():
            item = QTreeWidgetItem()
            item.setText(0, info.name)
            item.setToolTip(0, plain_tooltip(info.name if not info.source or info.source == info.name
                                             else f"{info.name}\n{info.source}"))
            item.setData(0, Qt.UserRole, info.id)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(0, Qt.Checked if first_fill or info.id in checked else Qt.Unchecked)
            item.setText(1, f"{info.n_docs:,}")
            item.setData(0, _STATUS_ROLE, info.status)
            self._tree.addTopLevelItem(item)
        self._hint.setVisible(self._tree.topLevelItemCount() == 0)
        self._show_counts()  # the last progress read, until the new one arrives
        self._updating = False
        self._reader.submit(_read_counts, self._store)

    def _on_counts_read(self, generation: int, sets: dict[tuple[int, int], EmbeddingSetInfo]) -> None:
        if self._reader.is_current(generation):
            self._sets = sets
            self._show_counts()

    def _show_counts(self) -> None:
        """Fill the Status column for the chosen model from the last progress read."""
        model_id = self.model_id()
        for i in range(self._tree.topLevelItemCount()):
            item = self._tree.topLevelItem(i)
            embedded = self._sets.get((int(item.data(0, Qt.UserRole)), model_id))
            item.setText(2, _status(item.data(0, _STATUS_ROLE), embedded))
            item.setToolTip(2, item.text(2) if embedded is None else
                            f"{embedded.n_embedded:,} of {embedded.n_docs:,} embedded with {self._model.currentText()}")

    def _on_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if not self._updating and column == 0:
            self._emit_view()

    def _emit_view(self) -> None:
        if not self._updating:
            self.sig_view_requested.emit(self.checked_ids(), self.model_id())


def _read_counts(store: Store) -> dict[tuple[int, int], EmbeddingSetInfo]:
    """Reader thread: every collection's embedding progress, for every model."""
    return {(s.collection_id, s.model_id): s for s in store.embedding_sets()}


def _status(import_status: str, embedded) -> str:
    if import_status != "ready":
        return "importing…"
    if embedded is None:
        return "not embedded"
    return "ready" if embedded.complete else f"embedding {100 * embedded.n_embedded // max(1, embedded.n_docs)}%"
