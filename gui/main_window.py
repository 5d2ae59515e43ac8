"""The main window: collections sidebar, the map in the centre, plugin docks,
drag-and-drop import and a status bar with progress and cancel. Menus, settings,
help, selection history and collection management live in their own modules;
this one wires them together."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QWidget,
)

from core.category_colours import CategoryColours
from core.ingest import SUPPORTED_SUFFIXES
from core.registry import PluginRegistry
from core.settings import Settings, settings_overrides
from core.store import Store
from gui.collection_actions import CollectionActions
from gui.collections_panel import CollectionsPanel
from gui.document_card import DocumentCard
from gui.embedding_set_actions import EmbeddingSetActions
from gui.encoder_service import DeriveJob, EmbedJob, EncoderService, ImportJob, ResumeJob
from gui.error_dialog import ErrorReporter
from gui.help import FORMATS, WelcomeOverlay
from gui.main_menus import MenuSources, build_menus, show_guide
from gui.panel_base import PanelContext
from gui.plain_widgets import ElidedLabel, scrollable
from gui.plugin_host import PluginHost
from gui.selection_actions import SelectionActions
from gui.selection_history import SelectionCommands
from gui.settings_dialog import WindowSettings
from gui.shown_text import capped
from gui.session import Session
from gui.workspace import WorkspaceController, demo_ids, settings_path

DOCK_AREAS = {"right": Qt.RightDockWidgetArea, "left": Qt.LeftDockWidgetArea, "bottom": Qt.BottomDockWidgetArea}
DROP_HINT = "Drop text files or folders here\n\n" + FORMATS


class MainWindow(QMainWindow):
    """The application window. ``open_workspace`` makes it live."""

    sig_idle_changed = Signal(bool)

    def __init__(
        self,
        registry: PluginRegistry,
        model_name: str | None = None,
        encoder_factory=None,
        settings_file: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Embedding Explorer")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self.prefs = WindowSettings(Path(settings_file) if settings_file is not None else settings_path(), self)
        self.model_name = model_name or self.settings.default_model
        self.registry = registry
        self.context = PanelContext()
        self.host = PluginHost(registry, self.context)
        self.prefs.restore_params(self.host.slots)
        self.session: Session | None = None
        self.service: EncoderService | None = None
        self.errors = ErrorReporter(self)
        self.selection = SelectionCommands(self)
        self.collections = CollectionsPanel()
        # the helpers see the window only as a WindowPort (session, service, model, messages) and ask with signals
        self.workspace = WorkspaceController(self, self, self.prefs, encoder_factory)
        self.selection_actions = SelectionActions(self, self, self._point_measures)
        self.embedding_sets = EmbeddingSetActions(self, self, self.collections)
        self.collection_actions = CollectionActions(self, self, self.workspace, self.embedding_sets)
        self.named_actions: dict[str, QAction] = {}
        self._build_central()
        self._build_docks()
        self._build_status_bar()
        build_menus(self, MenuSources(
            self.workspace, self.import_dialog, self.import_folder_dialog, self.export_view, self.focus_search,
            self.show_settings, self.host.slots, self.selection, self.embedding_sets, self.docks, self.registry,
            lambda: self.model_name, self.named_actions, tuple(self.card.shortcuts)))
        self._wire_context()
        self._wire_helpers()
        self.prefs.follow_panels(self.host.slots)
        self.prefs.sig_changed.connect(self._on_prefs_changed)
        self._sidebar_timer = QTimer(self, singleShot=True, interval=500, timeout=self.collections.refresh)
        layout = QSettings()  # window geometry and docks: Qt's own binary blobs, kept out of settings.json
        if layout.value("window/geometry") is not None:
            self.restoreGeometry(layout.value("window/geometry"))
            self.restoreState(layout.value("window/state"))
        if self.prefs.problems:
            self.show_message(f"Settings: {self.prefs.problems[0]}")

    # ------------------------------------------------------------------ settings
    @property
    def settings(self) -> Settings:
        return self.prefs.value

    def update_settings(self, settings: Settings) -> None:
        """Adopt ``settings`` and write them to the settings file."""
        self.prefs.update(settings)

    def show_settings(self) -> None:
        models = [m.name for m in self.session.store.models() if m.kind == "encoder"] if self.session else []
        self.prefs.edit(models, self)

    def _on_prefs_changed(self, old: Settings, new: Settings) -> None:
        """Apply what can change at once: default model, theme, the analysis defaults of the views."""
        self.model_name = new.default_model if new.default_model != old.default_model else self.model_name
        if new.theme != old.theme:
            from gui.theme import apply_theme

            apply_theme(QApplication.instance(), new.theme)
        before = settings_overrides(old)
        for plugin_id, fields in settings_overrides(new).items():
            slot = self.host.slots.get(plugin_id)
            if slot is not None and slot.panel is not None and fields != before.get(plugin_id):
                slot.panel.set_params(dataclasses.replace(slot.params, **fields))
        if self.session is not None:
            self.session.set_sample_limit(new.sample_limit)
            self.session.set_duplicate_policy(new.duplicates)

    # ------------------------------------------------------------------ layout
    def _build_central(self) -> None:
        self._hint = QLabel(DROP_HINT)
        self._hint.setAlignment(Qt.AlignCenter)
        self._hint.setTextFormat(Qt.PlainText)
        self._hint.setStyleSheet("font-size: 16pt; color: #777; border: 3px dashed #bbb; border-radius: 16px; margin: 40px;")
        self._central = QStackedWidget()
        self._central.addWidget(self._hint)
        self.setCentralWidget(self._central)
        self.welcome = WelcomeOverlay(self._central)
        self.welcome.sig_dismissed.connect(self.dismiss_welcome)
        self.welcome.sig_import_requested.connect(self.import_dialog)
        self.welcome.sig_guide_requested.connect(lambda: show_guide(self, self.docks))
        self.welcome.setVisible(not self.settings.welcome_dismissed)

    def dismiss_welcome(self) -> None:
        """Hide the welcome overlay for good."""
        self.welcome.hide()
        if not self.settings.welcome_dismissed:
            self.update_settings(dataclasses.replace(self.settings, welcome_dismissed=True))

    def _update_welcome(self) -> None:
        if self.session is not None and self.session.store.collections():
            self.dismiss_welcome()

    def _build_docks(self) -> None:
        self.collections.sig_view_requested.connect(self._on_collections_view_requested)
        self.collections.sig_action_requested.connect(self.collection_actions.run)
        dock = QDockWidget("Collections", self)
        dock.setObjectName("dock-collections")
        dock.setWidget(self.collections)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)
        self.resizeDocks([dock], [280], Qt.Horizontal)  # room for names at first; narrower on a small screen
        self.docks: dict[str, QDockWidget] = {"collections": dock}
        self.card = DocumentCard()
        self.card.sig_open.connect(self._on_card_open)
        self.host.sig_result_shown.connect(self._on_host_result_shown)
        dock = QDockWidget("Document", self)
        dock.setObjectName("dock-document")
        dock.setWidget(self.card)
        card_dock = dock
        tab_with: dict[str, QDockWidget] = {}
        for slot, error in self.host.create_panels():
            spec = slot.spec
            widget: QWidget = slot.panel if slot.panel is not None else QLabel(f"{spec.title} failed to load:\n{error}")
            if spec.placement == "central" and slot.panel is not None:
                self._central.addWidget(widget)
                self.map_panel = slot.panel
                continue
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(f"dock-{spec.id}")
            dock.setWidget(scrollable(widget))
            area = DOCK_AREAS.get(spec.placement, Qt.RightDockWidgetArea)
            self.addDockWidget(area, dock)
            if spec.placement in tab_with:
                self.tabifyDockWidget(tab_with[spec.placement], dock)
            else:
                tab_with[spec.placement] = dock
            self.docks[spec.id] = dock
        for first in tab_with.values():
            first.raise_()
        if "right" in tab_with:  # the card is a tab beside the views on the right, in front: full height to read
            self.tabifyDockWidget(tab_with["right"], card_dock)
        else:
            self.addDockWidget(Qt.RightDockWidgetArea, card_dock)
        card_dock.raise_()
        self.docks["document"] = card_dock  # after the views: their Alt+number keys stay as they were

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self._message = ElidedLabel("Ready")  # a long message elides (whole text in its tooltip), never widens the window
        self._progress = QProgressBar()
        self._progress.setMaximumWidth(260)
        self._progress.setVisible(False)
        self._cancel = QPushButton("Cancel")
        self._cancel.setToolTip("Stop the running import or embedding (Esc in the status bar); finished batches are kept")
        self._cancel.setVisible(False)
        self._cancel.clicked.connect(self.cancel_jobs)
        bar.addWidget(self._message, 1)
        bar.addPermanentWidget(self._progress)
        bar.addPermanentWidget(self._cancel)

    def _wire_context(self) -> None:
        ctx = self.context
        ctx.sig_request_selection.connect(self._on_context_request_selection)
        ctx.sig_request_semantic_search.connect(self._on_context_semantic_search)
        ctx.sig_request_action.connect(self.selection_actions.run)
        ctx.sig_request_derived_set.connect(self._on_context_derived_set)
        self.host.sig_layout_changed.connect(self._on_host_layout_changed)
        self._query_token, self._query_key = 0, ""

    def _wire_helpers(self) -> None:
        self.workspace.sig_opened.connect(self.attach)
        self.workspace.sig_import_requested.connect(self.import_paths)
        self.selection_actions.sig_collections_changed.connect(self.collections.refresh)
        self.collection_actions.sig_collections_changed.connect(self.refresh_collections)
        self.collection_actions.sig_release_workspace.connect(self.detach)
        self.collection_actions.sig_error.connect(self.errors.report)

    def _point_measures(self) -> dict[str, np.ndarray]:
        """The map's per-point measures (N_k, preservation…) a selection table includes."""
        return getattr(getattr(self, "map_panel", None), "measures", {})

    def focus_search(self) -> None:
        if hasattr(self, "map_panel"):
            self.map_panel.search_edit.setFocus(Qt.ShortcutFocusReason)
            self.map_panel.search_edit.selectAll()

    # ------------------------------------------------------------------ workspace lifecycle
    def attach(self, store: Store) -> None:
        """Make ``store`` the open workspace: session, encoder service, views."""
        self.detach()
        self.session = Session(store, sample_limit=self.settings.sample_limit, duplicates=self.settings.duplicates)
        self.session.sig_view_loaded.connect(self._on_session_view_loaded)
        self.session.sig_selection_changed.connect(self.context.sig_selection_changed)
        self.session.sig_focus_changed.connect(self.context.sig_focus_changed)
        self.selection.attach(self.session)
        self.card.attach(self.session)
        self.session.sig_load_failed.connect(self.show_message)
        self.context.set_text_lookup(self.session.texts)
        self.context.colours = CategoryColours(store)
        self.service = self.workspace.make_service(store)
        self.service.sig_progress.connect(self._on_service_progress)
        self.service.sig_import_done.connect(self._on_service_import_done)
        self.service.sig_batch_committed.connect(self._on_service_batch_committed)
        self.service.sig_embed_done.connect(self._on_service_embed_done)
        self.service.sig_error.connect(self._on_service_error)
        self.service.sig_cancelled.connect(lambda: self.show_message("Cancelled — finished batches are kept."))
        self.service.sig_busy_changed.connect(self._on_service_busy_changed)
        self.service.sig_query_done.connect(self._on_service_query_done)
        self.service.sig_derived_done.connect(self._on_service_derived_done)
        self.service.start()
        self.host.set_store(store)
        self.collections.set_store(store)
        self.collections.select_model(self.model_name)
        self.setWindowTitle(f"Embedding Explorer — {store.path.name}")
        self._on_collections_view_requested(self.collections.checked_ids(), self.collections.model_id())
        self._resume_unfinished(store)
        self._update_welcome()

    def detach(self) -> None:
        """Shut the open workspace down in order: service, session, store."""
        if self.service is not None:
            self.service.stop()
            self.service = None
        self.host.set_data(None, "")
        self.host.drain()  # no view may still read the store below
        self.collections.set_store(None)  # nor the sidebar's progress read
        if self.session is not None:
            self.session.close()
            self.session.store.close()
            self.session = None
        self.selection.attach(None)
        self.card.attach(None)
        self.host.set_store(None)
        self.context.colours = CategoryColours()

    def _resume_unfinished(self, store: Store) -> None:
        """Embedding interrupted last time (crash, cancel, quit) picks up where it stopped."""
        if self.service is None or store.read_only:
            return
        if any(c.status == "importing" for c in store.collections()):
            self.service.submit(ResumeJob(self.model_name))
        unfinished = tuple(s.collection_id for s in store.embedding_sets() if not s.complete and s.model_name == self.model_name)
        if unfinished:
            self.service.submit(EmbedJob(unfinished, self.model_name))

    # ------------------------------------------------------------------ import
    def import_paths(self, paths: list[str]) -> None:
        if self.service is None:
            self.show_message("Open a workspace first.")
            return
        self.service.submit(ImportJob(tuple(paths), self.model_name))
        self.show_message(f"Importing {len(paths)} item(s)…")

    def import_dialog(self) -> None:
        pattern = " ".join(f"*{s}" for s in SUPPORTED_SUFFIXES)
        files, _ = QFileDialog.getOpenFileNames(self, "Import text files", "", f"Text corpora ({pattern});;All files (*)")
        if files:
            self.import_paths(files)

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder")
        if folder:
            self.import_paths([folder])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    def export_view(self, plugin_id: str) -> None:
        """Export a view's figure (PNG/SVG/PDF) with the numbers it shows (CSV) and a manifest."""
        from gui.figure_export import FigureExportDialog, figure_payload

        panel = self.host.slots[plugin_id].panel
        items = panel.figure_items() if panel is not None else {}
        if not items:
            self.show_message("This view has no figure to export yet.")
            return
        name, item = next(iter(items.items()))
        payload = figure_payload(panel, plugin_id, name, self.context.provenance)
        path = FigureExportDialog(f"{self.context.title} — {name}", self).run(item, name, **payload)
        if path is not None:
            self.show_message(f"Saved {path}")

    def cancel_jobs(self) -> None:
        if self.service is not None:
            self.service.cancel()

    # ------------------------------------------------------------------ service answers
    def _on_service_progress(self, done: int, total: int, message: str) -> None:
        self._progress.setVisible(True)
        self._progress.setRange(0, total if total > 0 else 0)
        if total > 0:
            self._progress.setValue(done)
        self._message.setText(message)

    def _on_service_busy_changed(self, busy: bool) -> None:
        self._cancel.setVisible(busy)
        self._progress.setVisible(busy)
        self.sig_idle_changed.emit(not busy)

    def _on_service_import_done(self, outcome) -> None:
        self._update_welcome()
        self.collections.refresh()
        self.collections.select_model(self.model_name)
        self.collections.check(outcome.all_ids, exclusive=self._replaces_demo(outcome.all_ids))
        report = outcome.report
        if report.issues:
            self.show_issues(report)
        else:
            self.show_message(report.summary())

    def _replaces_demo(self, imported: list[int]) -> bool:
        """A drop replaces the demo when only the demo is in view; later drops add to the view
        (the demo stays in the workspace, one tick away in the collections list)."""
        if self.session is None:
            return False
        demo = demo_ids(self.session.store.collections())
        in_view = set(self.collections.checked_ids())
        return bool(set(imported) - demo) and bool(in_view) and in_view <= demo

    def _on_service_batch_committed(self, collection_ids, done: int, total: int) -> None:
        if not self._sidebar_timer.isActive():
            self._sidebar_timer.start()
        if self.session is None:
            return
        if self.session.model_id is None:
            self.collections.refresh()
            self.collections.select_model(self.model_name)
            self._on_collections_view_requested(self.collections.checked_ids(), self.collections.model_id())
        elif set(collection_ids) & set(self.session.collection_ids):
            self.session.reload_soon()

    def _on_service_embed_done(self, collection_ids, outcome) -> None:
        self.collections.refresh()
        if self.session is not None and set(collection_ids) & set(self.session.collection_ids):
            self.session.reload()
        note = f" · {outcome.truncated:,} texts longer than the model's limit were truncated" if outcome.truncated else ""
        self.show_message(f"Embedded {outcome.embedded:,} texts at {outcome.rate:.1f}/s{note}")

    def _on_service_error(self, message: str) -> None:
        summary = message.splitlines()[0] if message else "Unknown error"
        self.show_message(summary)
        self.errors.report(summary, message)

    def _on_service_query_done(self, token: int, rows: np.ndarray, similarities: np.ndarray) -> None:
        view = self.session.view if self.session is not None else None
        if token == self._query_token and view is not None and view.key == self._query_key:
            self.context.sig_search_results.emit(rows, similarities)

    # ------------------------------------------------------------------ session and views
    def _on_collections_view_requested(self, collection_ids, model_id) -> None:
        if self.session is None:
            return
        if not collection_ids or model_id is None:
            self._central.setCurrentWidget(self._hint)
        self.session.set_view(tuple(collection_ids), model_id)

    def _on_session_view_loaded(self, payload) -> None:
        if self.session is None:
            return
        view = self.session.adopt(payload)
        if view is None:
            return
        store = self.session.store
        names = [c.name for c in store.collections() if c.id in view.collection_ids]
        model = store.model(view.model_id)
        self.context.set_data(
            view.data.n,
            view.labels,
            title=", ".join(names),
            provenance={"workspace": str(store.path), "collections": names, "model": model.name, "dim": model.dim,
                        "model_kind": model.kind, **view.provenance()},
        )
        if view.sampled:
            self.show_message(view.sample_note)
        if view.data.n and hasattr(self, "map_panel"):
            self._central.setCurrentWidget(self.map_panel)
        self.host.set_data(view.data, view.key)
        self.context.sig_selection_changed.emit(self.session.selection)
        self.context.sig_focus_changed.emit(self.session.focus)
        self.card.refresh_view()

    def _on_context_request_selection(self, rows) -> None:
        if self.session is not None:
            self.session.select(rows)

    def _on_context_semantic_search(self, query: str) -> None:
        if self.service is not None and query.strip() and self.session is not None and self.session.model_id is not None:
            view = self.session.view
            if view is None or not view.data.n:
                return
            model = self.session.store.model(view.model_id).name
            self._query_token, self._query_key = self.service.search(query, model, view.data.vectors, view.key), view.key

    def _on_context_derived_set(self, label: str, transform) -> None:
        if self.service is None or self.session is None or self.session.view is None:
            return
        view = self.session.view
        store = self.session.store
        names = ", ".join(c.name for c in store.collections() if c.id in view.collection_ids)
        name = f"{store.model(view.model_id).name} · {label} ({names})"
        self.service.submit(DeriveJob(view.collection_ids, view.model_id, name, transform))

    def _on_service_derived_done(self, name: str) -> None:
        self.collections.refresh()
        self.collections.select_model(name)
        self.show_message(f"Showing the derived embedding set {name}; switch back with the Model box.")

    def _on_card_open(self, row: int) -> None:
        if self.session is not None:
            self.session.select([row], focus=row)

    def _on_host_result_shown(self, plugin_id: str, result) -> None:
        if plugin_id == "neighbours":
            self.card.set_neighbours(result)

    def _on_host_layout_changed(self, coords) -> None:
        if self.session is not None:
            self.session.set_coords(coords)

    # ------------------------------------------------------------------ messages
    def show_message(self, text: str) -> None:
        self._message.setText(capped(text, one_line=True))

    def show_issues(self, report) -> None:
        details = "\n".join(issue.message for issue in report.issues[:200])  # each names its file (and line)
        self.show_message(report.summary())
        box = QMessageBox(QMessageBox.Warning, "Import finished with problems", report.summary(), parent=self)
        box.setTextFormat(Qt.PlainText)
        box.setDetailedText(details)
        box.setModal(False)
        box.show()

    def refresh_collections(self) -> None:
        """Collections were renamed, added or merged: re-read the sidebar and the names in view."""
        self.collections.refresh()
        if self.session is not None:
            self.session.reload()

    # ------------------------------------------------------------------ shutdown
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.service is not None and self.service.busy and not self.workspace.confirm_quit_while_busy():
            event.ignore()
            return
        layout = QSettings()
        layout.setValue("window/geometry", self.saveGeometry())
        layout.setValue("window/state", self.saveState())
        self.collection_actions.shutdown()
        self.host.shutdown()
        self.detach()
        event.accept()
