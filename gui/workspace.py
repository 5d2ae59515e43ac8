"""Opening, creating and remembering workspaces; first start with the demo corpus;
where the app keeps its data and settings."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from core.encoder import Encoder, load_encoder
from core.settings import with_recent
from core.store import Store
from core.workspace_file import WorkspaceError, read_only_copy
from gui.encoder_service import EncoderService
from gui.settings_dialog import WindowSettings
from gui.window_port import WindowPort

WORKSPACE_FILTER = "Embedding Explorer workspace (*.duckdb)"


def data_dir() -> Path:
    """The user's data folder for this app (created on demand)."""
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_dir() -> Path:
    """Where the rotating log file lives (in the data folder)."""
    return data_dir() / "logs"


def settings_path() -> Path:
    """``settings.json`` in the platform's config folder for this app."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppConfigLocation)) / "settings.json"


def default_workspace_path() -> Path:
    return data_dir() / "workspace.duckdb"


def demo_corpus_path() -> Path:
    return Path(str(files("assets") / "demo_corpus.csv"))


def demo_ids(collections) -> set[int]:
    """Ids of the collections imported from the bundled demo corpus."""
    demo = demo_corpus_path().resolve()
    return {c.id for c in collections if c.source and Path(c.source).expanduser().resolve() == demo}


class WorkspaceController(QObject):
    """File-menu behaviour of the main window; ``prefs`` holds the settings and the recent workspaces."""

    sig_opened = Signal(object)  # a Store the window must make the open workspace
    sig_import_requested = Signal(list)  # paths to import into the open workspace

    def __init__(self, port: WindowPort, parent: QWidget, prefs: WindowSettings,
                 encoder_factory: Callable[[str], Encoder] | None = None) -> None:
        super().__init__(parent)
        self.port = port
        self.dialog_parent = parent
        self.prefs = prefs
        self.encoder_factory = encoder_factory or self._encoder_from_settings
        #: set when the app is told to stop (SIGTERM): closing then asks nothing
        self.stop_requested = False

    def _encoder_from_settings(self, name: str) -> Encoder:
        settings = self.prefs.value
        return load_encoder(name, device=settings.device, trust_remote_code=settings.trust_remote_code,
                            allow_download=settings.allow_download)

    def make_service(self, store: Store) -> EncoderService:
        return EncoderService(store, self.encoder_factory, batch_size=self.prefs.value.batch_size)

    def open(self, path: str | Path, read_only: bool = False) -> bool:
        """Open ``path`` in the window; a clear message (and False) when it cannot be opened."""
        try:
            store = Store.open(path, read_only=read_only)
        except WorkspaceError as exc:
            return self._offer_way_forward(Path(path), exc)
        self.sig_opened.emit(store)
        self.remember(Path(path))
        return True

    def _offer_way_forward(self, path: Path, error: WorkspaceError) -> bool:
        """Say why ``path`` did not open and do what the user picks instead."""
        from gui.open_errors import explain_and_offer

        choice = explain_and_offer(self.dialog_parent, path, error)
        if choice == "copy":
            try:
                store = Store.open(read_only_copy(path), read_only=True)
            except WorkspaceError as exc:
                QMessageBox.warning(self.dialog_parent, "Cannot open a copy", str(exc))
                return False
            self.sig_opened.emit(store)  # a temporary copy: not remembered among recent workspaces
            return True
        if choice == "choose":
            self.open_dialog()
        elif choice == "new":
            self.new_dialog()
        return False

    def open_default(self, with_demo: bool = True) -> bool:
        """First start: the default workspace, filled with the bundled demo corpus if empty."""
        path = default_workspace_path()
        if not self.open(path):
            return False
        store = self.port.session.store
        if with_demo and not store.collections():
            self.sig_import_requested.emit([str(demo_corpus_path())])
        return True

    def new_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.dialog_parent, "New workspace", str(data_dir() / "untitled.duckdb"), WORKSPACE_FILTER)
        if path:
            if not path.endswith(".duckdb"):
                path += ".duckdb"
            self.open(path)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open workspace", str(data_dir()), WORKSPACE_FILTER)
        if path:
            self.open(path)

    def recent(self) -> list[str]:
        return list(self.prefs.value.recent_workspaces)

    def remember(self, path: Path) -> None:
        self.prefs.update(with_recent(self.prefs.value, path))

    def fill_recent_menu(self, menu: QMenu) -> None:
        """Refill File → Open recent."""
        menu.clear()
        for path in self.recent():
            action = menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open(p))
        if menu.isEmpty():
            menu.addAction("(none yet)").setEnabled(False)

    def confirm_quit_while_busy(self) -> bool:
        if self.stop_requested:
            return True
        answer = QMessageBox.question(
            self.dialog_parent,
            "Embedding in progress",
            "Documents are still being embedded. Quit anyway? Finished batches are kept and the rest resumes next time.",
        )
        return answer == QMessageBox.Yes
