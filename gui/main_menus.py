"""The main window's menu bar (File, Edit, Collections, View, Help) and the Help
menu's dialogs. Actions a test or another module needs by name go to
``MenuSources.named_actions``; the keyboard-shortcuts dialog is read from the menus
themselves, so a shortcut is defined once, here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QMessageBox, QWidget

from core.registry import PluginRegistry
from gui.embedding_set_actions import EmbeddingSetActions
from gui.plugin_host import PluginSlot
from gui.selection_history import SelectionCommands
from gui.workspace import WorkspaceController, log_dir


@dataclass(frozen=True)
class MenuSources:
    """What the menus offer, handed over by the window (the menus' whole view of it)."""

    workspace: WorkspaceController
    import_files: Callable[[], None]
    import_folder: Callable[[], None]
    export_view: Callable[[str], None]  # plugin id
    focus_search: Callable[[], None]
    show_settings: Callable[[], None]
    slots: dict[str, PluginSlot]
    selection: SelectionCommands
    embedding_sets: EmbeddingSetActions
    docks: dict[str, QDockWidget]
    registry: PluginRegistry
    model_name: Callable[[], str]
    named_actions: dict[str, QAction]  # filled here
    view_actions: tuple[QAction, ...] = ()  # more View-menu entries (the document card's Back and Forward)


def build_menus(window: QMainWindow, src: MenuSources) -> None:
    """Fill ``window``'s menu bar; the panels, docks and actions in ``src`` must exist."""

    def add(menu: QMenu, text: str, shortcut: Any, slot: Callable, name: str | None = None) -> QAction:
        action = QAction(text, window)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.triggered.connect(slot)
        menu.addAction(action)
        if name is not None:
            src.named_actions[name] = action
        return action

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    add(file_menu, "&New workspace…", QKeySequence.New, src.workspace.new_dialog)
    add(file_menu, "&Open workspace…", "Ctrl+O", src.workspace.open_dialog, "open")
    recent_menu = file_menu.addMenu("Open &recent")
    recent_menu.aboutToShow.connect(lambda: src.workspace.fill_recent_menu(recent_menu))
    file_menu.addSeparator()
    add(file_menu, "&Import files…", "Ctrl+Shift+O", src.import_files, "import")
    add(file_menu, "Import &folder…", "Ctrl+Alt+O", src.import_folder, "import_folder")
    export_menu = file_menu.addMenu("&Export view")
    for slot in src.slots.values():
        if slot.panel is not None:
            central = slot.spec.placement == "central"
            add(export_menu, f"{slot.spec.title}…", "Ctrl+E" if central else None,
                lambda _=False, plugin_id=slot.spec.id: src.export_view(plugin_id),
                "export_figure" if central else None)
    file_menu.addSeparator()
    add(file_menu, "&Quit", "Ctrl+Q", window.close)

    edit_menu = bar.addMenu("&Edit")
    for name, action in src.selection.actions.items():
        edit_menu.addAction(action)
        if name == "redo":
            edit_menu.addSeparator()
    src.named_actions.update(src.selection.actions)
    edit_menu.addSeparator()
    add(edit_menu, "&Find…", "Ctrl+F", src.focus_search, "find")
    edit_menu.addSeparator()
    add(edit_menu, "&Settings…", "Ctrl+,", src.show_settings, "settings")

    sets_menu = bar.addMenu("&Collections")
    for text, keys, slot, name in src.embedding_sets.menu_entries():
        add(sets_menu, text, keys, slot, name)

    view_menu = bar.addMenu("&View")
    for number, (name, dock) in enumerate(src.docks.items(), start=1):
        action = _panel_action(dock, panel_keys(number))
        view_menu.addAction(action)
        src.named_actions[f"toggle_{name}"] = action

    view_menu.addSeparator()
    view_menu.addActions(list(src.view_actions))

    help_menu = bar.addMenu("&Help")
    add(help_menu, "&User guide", QKeySequence.HelpContents, lambda: show_guide(window, src.docks), "guide")
    add(help_menu, "&Keyboard shortcuts", "Ctrl+/", lambda: show_shortcuts(window), "shortcuts")
    add(help_menu, "&Plugins…", None, lambda: show_plugins(window, src.registry))
    add(help_menu, "Open &log folder", None, lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir()))))
    add(help_menu, "&About", None, lambda: show_about(window, src.model_name()), "about")
    src.selection.claim_keys([slot.panel for slot in src.slots.values() if slot.panel is not None])


def panel_keys(number: int) -> str:
    """The shortcut of the ``number``-th panel (from 1), or "" past the ninth."""
    return f"Alt+{number}" if number <= 9 else ""


def _panel_action(dock: QDockWidget, keys: str) -> QAction:
    """A View-menu entry for ``dock``, ticked while it is open: it brings a panel hidden behind a
    tab or closed to the front, and closes one already in front (a dock's own toggle would
    close a panel behind a tab instead of showing it)."""
    action = QAction(dock.windowTitle(), dock, checkable=True)
    toggle = dock.toggleViewAction()
    action.setChecked(toggle.isChecked())
    toggle.toggled.connect(action.setChecked)
    if keys:
        action.setShortcut(QKeySequence(keys))

    def show_or_hide() -> None:
        if dock.isVisible() and not dock.visibleRegion().isEmpty():  # a dock behind a tab is "visible", off-screen
            dock.close()
        else:
            dock.show()
            dock.raise_()
        action.setChecked(toggle.isChecked())

    action.triggered.connect(show_or_hide)
    return action


def show_plugins(window: QWidget, registry: PluginRegistry) -> None:
    from gui.help import plugins_text

    box = QMessageBox(QMessageBox.Information, "Plugins", plugins_text(registry), parent=window)
    box.setTextFormat(Qt.PlainText)
    box.exec()


def show_guide(window: QWidget, docks: dict[str, QDockWidget]) -> None:
    """The user guide; its panel keys come from ``docks`` in the View menu's order, as the shortcuts do."""
    from gui.help import user_guide_dialog

    panels = [(panel_keys(n), dock.windowTitle()) for n, dock in enumerate(docks.values(), start=1)]
    user_guide_dialog(window, panels).show()


def show_shortcuts(window: QMainWindow) -> None:
    from gui.help import menu_actions, shortcut_rows, shortcuts_dialog

    shortcuts_dialog(shortcut_rows(menu_actions(window.menuBar())), window).show()


def show_about(window: QWidget, model_name: str) -> None:
    from gui.help import about_dialog

    about_dialog(model_name, window).exec()
