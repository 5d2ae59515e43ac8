"""Embedding-set actions: embed collections with another model, import your own
vectors, export an embedding set (Collections menu and the sidebar's menu).

Each dialog only collects choices; the ``*_now`` methods take them as arguments
(tests call those directly). The work runs on the encoder service, the
workspace's single writer, never on the GUI thread.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QMessageBox, QPushButton, QVBoxLayout,
                               QWidget)

from core.encoder import DEFAULT_MODEL
from core.encoders_extra import EXTRA_MODELS
from core.progress import Progress
from core.store import CollectionInfo, Store
from core.vector_io import TEXT_COLUMNS, VECTOR_COLUMNS, VectorFileError, VectorImport, export_set, import_vectors
from gui.collections_panel import CollectionsPanel
from gui.encoder_service import EmbedJob, EncoderService, StoreJob
from gui.panel_base import plain_tooltip
from gui.window_port import WindowPort

VECTOR_FILTER = "Vector files (*.parquet *.jsonl *.ndjson *.npy);;All files (*)"
PARQUET_FILTER = "Parquet (*.parquet)"
TYPED_MODEL = "A sentence-transformers model name or a local model folder (downloads only if Settings allow them)."
VECTOR_HELP = ("Parquet or JSONL with a text column and a vector column (a list of numbers per row), or an .npy "
               "matrix beside a .txt of the same name (one document per non-empty line). Name an existing "
               "collection to attach the vectors to its documents (matched by text).")


def model_choices(store: Store, preferred: Sequence[str] = ()) -> dict[str, str]:
    """Models offered by "Embed with…", name -> one-line description.

    The bundled default, the offline extras, then ``preferred`` (the settings'
    model) and the encoders this workspace used; imported and derived sets have
    no encoder, so they are not offered.
    """
    choices = {DEFAULT_MODEL: "Bundled all-MiniLM-L6-v2, 384-d, offline (the default model)"}
    choices.update({name: f"{text}, offline" for name, (_, text) in EXTRA_MODELS.items()})
    for name in preferred:
        choices.setdefault(name, "The default model in Settings")
    for model in store.models():
        if model.kind == "encoder":
            choices.setdefault(model.name, f"Used in this workspace ({model.dim}-d)")
    return choices


def default_import_model(path: str | Path) -> str:
    """Model name of an import when the user gives none."""
    return f"{Path(path).stem} (imported)"


def _import_work(path: Path, model: str, collection: str, text_column: str, vector_column: str,
                 store: Store, progress: Progress) -> VectorImport:
    progress(0, 0, f"Importing vectors from {path.name}…")
    return import_vectors(store, path, model, collection or None, text_column or None, vector_column or None)


def _export_work(collection_ids: tuple[int, ...], model_id: int, path: Path, store: Store, progress: Progress) -> int:
    progress(0, 0, f"Exporting the embedding set to {path.name}…")
    return export_set(store, collection_ids, model_id, path)


# ---------------------------------------------------------------------- dialogs
class CollectionsChoice(QListWidget):
    """Tick the collections an action applies to."""

    sig_changed = Signal()

    def __init__(self, collections: Sequence[CollectionInfo], checked: Sequence[int], parent: QWidget | None = None):
        super().__init__(parent)
        for info in collections:
            item = QListWidgetItem(f"{info.name}  ({info.n_docs:,} documents)")
            item.setData(Qt.UserRole, info.id)
            item.setToolTip(plain_tooltip(info.source or info.name))
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if info.id in checked else Qt.Unchecked)
            self.addItem(item)
        rows = max(2, min(self.count(), 7))
        self.setMaximumHeight(rows * max(self.sizeHintForRow(0), 16) + 2 * self.frameWidth() + 4)
        self.itemChanged.connect(lambda _: self.sig_changed.emit())

    def ids(self) -> tuple[int, ...]:
        return tuple(int(self.item(i).data(Qt.UserRole)) for i in range(self.count())
                     if self.item(i).checkState() == Qt.Checked)


class _ChoiceDialog(QDialog):
    """A form with OK/Cancel and a plain-text note under it."""

    def __init__(self, title: str, ok_text: str, note: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = QFormLayout()
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(_plain_label(note, "font-style: italic;"))
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    def _allow(self, ok: bool) -> None:
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(ok)


def _plain_label(text: str = "", style: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.PlainText)
    label.setWordWrap(True)
    label.setStyleSheet(style)
    return label


def _with_button(edit: QWidget, text: str, slot: Callable[[], None]) -> QHBoxLayout:
    row = QHBoxLayout()
    button = QPushButton(text)
    button.clicked.connect(slot)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class EmbedWithDialog(_ChoiceDialog):
    """Collects the collections and the model for "Embed with…"."""

    def __init__(self, store: Store, collection_ids: Sequence[int], preferred: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__("Embed with another model", "Embed", "The current embedding sets are kept: switch between "
                         "them with the Model box; the Compare view sets them side by side.", parent)
        self._choices = model_choices(store, preferred)
        self._done = {(s.model_name, s.collection_id) for s in store.embedding_sets() if s.complete}
        self.collections = CollectionsChoice(store.collections(), collection_ids)
        self.model_box = QComboBox()
        self.model_box.setEditable(True)
        self.model_box.addItems(list(self._choices))
        self.model_box.setToolTip(TYPED_MODEL)
        self.description = _plain_label()
        self.form.addRow("Collections", self.collections)
        self.form.addRow("Model", _with_button(self.model_box, "Folder…", self._on_folder_clicked))
        self.form.addRow("", self.description)
        self.collections.sig_changed.connect(self._update)
        self.model_box.currentTextChanged.connect(self._update)
        self._update()

    def values(self) -> tuple[tuple[int, ...], str]:
        return self.collections.ids(), self.model_box.currentText().strip()

    def _on_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A sentence-transformers model folder")
        if folder:
            self.model_box.setCurrentText(folder)

    def _update(self) -> None:
        ids, model = self.values()
        text = self._choices.get(model, TYPED_MODEL)
        if ids and all((model, c) in self._done for c in ids):
            text += "\nAlready embedded for the ticked collections: nothing new to compute."
        self.description.setText(text)
        self._allow(bool(ids and model))


class ImportVectorsDialog(_ChoiceDialog):
    """Collects a vector file, the model name and the collection for "Import vectors…"."""

    def __init__(self, collection_names: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__("Import vectors", "Import", VECTOR_HELP, parent)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("a .parquet, .jsonl or .npy file")
        self.model_edit = QLineEdit()
        self.collection_box = QComboBox()
        self.collection_box.setEditable(True)
        self.collection_box.addItems(list(collection_names))
        self.collection_box.setCurrentText("")
        self.collection_box.setToolTip("A new collection's name, or an existing one to match its documents by text")
        self.text_edit, self.vector_edit = QLineEdit(), QLineEdit()
        self.text_edit.setPlaceholderText("auto: " + ", ".join(TEXT_COLUMNS))
        self.vector_edit.setPlaceholderText("auto: " + ", ".join(VECTOR_COLUMNS))
        self.form.addRow("File", _with_button(self.path_edit, "Browse…", self._on_browse_clicked))
        self.form.addRow("Model name", self.model_edit)
        self.form.addRow("Collection", self.collection_box)
        self.form.addRow("Text column", self.text_edit)
        self.form.addRow("Vector column", self.vector_edit)
        self.path_edit.textChanged.connect(self._on_path_changed)
        self._on_path_changed("")

    def values(self) -> dict[str, str]:
        """Keyword arguments of :meth:`EmbeddingSetActions.import_now`."""
        return {"path": self.path_edit.text().strip(), "model_name": self.model_edit.text().strip(),
                "collection_name": self.collection_box.currentText().strip(),
                "text_column": self.text_edit.text().strip(), "vector_column": self.vector_edit.text().strip()}

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import vectors", "", VECTOR_FILTER)
        if path:
            self.path_edit.setText(path)

    def _on_path_changed(self, text: str) -> None:
        stem = Path(text.strip()).stem if text.strip() else ""
        self.model_edit.setPlaceholderText(default_import_model(text) if stem else "default: file name (imported)")
        self.collection_box.lineEdit().setPlaceholderText(f"new collection: {stem}" if stem else "new: the file name")
        self._allow(bool(stem))


class ExportSetDialog(_ChoiceDialog):
    """Collects the collections and the embedding set for "Export embedding set…"."""

    def __init__(self, store: Store, collection_ids: Sequence[int], model_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Export embedding set", "Export…", "Writes id, collection, text, metadata (JSON) and the "
                         "vector (float32, exactly as stored) of every embedded document to Parquet; "
                         "Import vectors reads it back.", parent)
        self._sets = store.embedding_sets()
        self._names = {m.id: f"{m.name}  ({m.kind}, {m.dim}-d)" for m in store.models()}
        self.collections = CollectionsChoice(store.collections(), collection_ids)
        self.space_box = QComboBox()
        self.space_box.setToolTip("The model (embedding set) whose vectors are written")
        self.count = _plain_label()
        self.form.addRow("Collections", self.collections)
        self.form.addRow("Embedding set", self.space_box)
        self.form.addRow("", self.count)
        self.collections.sig_changed.connect(self._refill)
        self.space_box.currentIndexChanged.connect(self._update)
        self._refill(model_id)

    def values(self) -> tuple[tuple[int, ...], int | None]:
        return self.collections.ids(), self.space_box.currentData()

    def _refill(self, keep: int | None = None) -> None:
        keep = keep if keep is not None else self.space_box.currentData()
        ids = self.collections.ids()
        models = sorted({s.model_id for s in self._sets if s.collection_id in ids and s.n_embedded})
        self.space_box.blockSignals(True)
        self.space_box.clear()
        for model_id in models:
            self.space_box.addItem(self._names[model_id], model_id)
        self.space_box.setCurrentIndex(max(0, self.space_box.findData(keep)))
        self.space_box.blockSignals(False)
        self._update()

    def _update(self) -> None:
        ids, model_id = self.values()
        rows = sum(s.n_embedded for s in self._sets if s.model_id == model_id and s.collection_id in ids)
        self.count.setText(f"{rows:,} documents with vectors in this set" if model_id is not None
                           else "The ticked collections have no vectors yet.")
        self._allow(rows > 0)


# ---------------------------------------------------------------------- actions
class EmbeddingSetActions(QObject):
    """The main window's "Embed with…", "Import vectors…" and "Export embedding set…"."""

    def __init__(self, port: WindowPort, parent: QWidget, collections: CollectionsPanel) -> None:
        super().__init__(parent)
        self.port = port
        self.dialog_parent = parent
        self.collections = collections
        self._service: EncoderService | None = None
        self._answers: dict[StoreJob, Callable[[object], None]] = {}

    def menu_entries(self) -> list[tuple[str, str | None, Callable[[], None], str]]:
        """(text, shortcut, slot, action name) of the Collections menu."""
        return [("&Embed with…", "Ctrl+Shift+E", lambda: self.embed_dialog(), "embed_with"),
                ("&Import vectors…", None, self.import_dialog, "import_vectors"),
                ("E&xport embedding set…", None, lambda: self.export_dialog(), "export_set")]

    @property
    def store(self) -> Store | None:
        return self.port.session.store if self.port.session is not None else None

    def _default_ids(self) -> tuple[int, ...]:
        """The collections highlighted in the sidebar, else those in view."""
        return self.collections.selected_ids() or self.collections.checked_ids()

    def _ready(self) -> bool:
        if self.store is None or self.port.service is None:
            self.port.show_message("Open a workspace first.")
            return False
        return True

    # ------------------------------------------------------------------ embed with another model
    def embed_dialog(self, collection_ids: Sequence[int] = ()) -> None:
        if not self._ready():
            return
        dialog = EmbedWithDialog(self.store, tuple(collection_ids) or self._default_ids(),
                                 [self.port.model_name], self.dialog_parent)
        if dialog.exec() == QDialog.Accepted:
            self.embed_now(*dialog.values())

    def embed_now(self, collection_ids: Sequence[int], model: str) -> None:
        """Embed the collections with ``model`` on the encoder service; the existing sets stay.

        A model that cannot load reports why (``sig_error``) before anything is written.
        """
        if not self._ready() or not collection_ids or not model:
            return
        self.port.service.submit(EmbedJob(tuple(collection_ids), model))
        self.port.show_message(f"Embedding with {model}; switch between the embedding sets with the Model box.")

    # ------------------------------------------------------------------ import vectors
    def import_dialog(self) -> None:
        if not self._ready():
            return
        dialog = ImportVectorsDialog([c.name for c in self.store.collections()], self.dialog_parent)
        if dialog.exec() == QDialog.Accepted:
            self.import_now(**dialog.values())

    def import_now(self, path: str | Path, model_name: str = "", collection_name: str = "",
                   text_column: str = "", vector_column: str = "") -> None:
        """Import a vector file as an embedding set (model kind "imported") off the GUI thread."""
        if not self._ready():
            return
        path = Path(path).expanduser()
        model = model_name or default_import_model(path)
        work = partial(_import_work, path, model, collection_name, text_column, vector_column)
        self._submit(work, partial(self._on_vectors_imported, path, model), (VectorFileError,))
        self.port.show_message(f"Importing vectors from {path.name}…")

    def _on_vectors_imported(self, path: Path, model: str, result: VectorImport | VectorFileError) -> None:
        if isinstance(result, VectorFileError):
            self.port.show_message(f"Vectors not imported: {result}")
            box = QMessageBox(QMessageBox.Warning, "Vectors not imported", f"{path.name} was not imported; the "
                              f"workspace is unchanged.\n\n{result}", parent=self.dialog_parent)
            box.setTextFormat(Qt.PlainText)
            box.setModal(False)
            box.show()
            return
        self.collections.refresh()
        self.collections.select_model(model)
        self.collections.check((result.collection_id,), exclusive=True)
        self.port.show_message(
            f"Imported {result.rows:,} vectors ({result.dim}-d) as '{model}': {result.added:,} documents added, "
            f"{result.matched:,} matched to existing ones.")

    # ------------------------------------------------------------------ export
    def export_dialog(self, collection_ids: Sequence[int] = ()) -> None:
        if not self._ready():
            return
        dialog = ExportSetDialog(self.store, tuple(collection_ids) or self._default_ids(),
                                 self.port.session.model_id, self.dialog_parent)
        if dialog.exec() != QDialog.Accepted:
            return
        ids, model_id = dialog.values()
        name = self.store.model(model_id).name.replace("/", "_")
        path, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Export embedding set", f"{name}.parquet", PARQUET_FILTER)
        if path:
            self.export_now(ids, model_id, path)

    def export_now(self, collection_ids: Sequence[int], model_id: int, path: str | Path) -> None:
        """Write the set to Parquet (``core.vector_io.export_set``) off the GUI thread."""
        if not self._ready():
            return
        path = Path(path).expanduser()
        path = path if path.suffix else path.with_suffix(".parquet")
        model = self.store.model(model_id).name
        queued = " (after the running job)" if self.port.service.busy else ""
        self._submit(partial(_export_work, tuple(collection_ids), model_id, path),
                     lambda rows: self.port.show_message(f"Exported {rows:,} rows of {model} to {path}"))
        self.port.show_message(f"Exporting {model} to {path.name}{queued}…")

    # ------------------------------------------------------------------ service plumbing
    def _submit(self, work: Callable[[Store, Progress], object], answer: Callable[[object], None],
                expected: tuple[type[Exception], ...] = ()) -> None:
        service = self.port.service
        if service is not self._service:  # a workspace was (re)opened: a new service
            service.sig_store_job_done.connect(self._on_service_store_job_done)
            self._service = service
        job = StoreJob(work, expected)
        self._answers[job] = answer
        service.submit(job)

    def _on_service_store_job_done(self, job: StoreJob, result: object) -> None:
        answer = self._answers.pop(job, None)
        if answer is not None:
            answer(result)
