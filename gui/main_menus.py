"""The main window's menu bar (File, Edit, Collections, View, Help) and the Help
menu's dialogs. Actions a test or another module needs by name go to
``window.named_actions``; the keyboard-shortcuts dialog is read from the menus
themselves, so a shortcut is defined once, here."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox

from gui.workspace import log_dir

if TYPE_CHECKING:
    from gui.main_window import MainWindow


def build_menus(window: MainWindow) -> None:
    """Fill ``window``'s menu bar; the window's panels, docks and actions must exist."""

    def add(menu: QMenu, text: str, shortcut: Any, slot: Callable, name: str | None = None) -> QAction:
        action = QAction(text, window)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.triggered.connect(slot)
        menu.addAction(action)
        if name is not None:
            window.named_actions[name] = action
        return action

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    add(file_menu, "&New workspace…", QKeySequence.New, window.workspace.new_dialog)
    add(file_menu, "&Open workspace…", "Ctrl+O", window.workspace.open_dialog, "open")
    window.recent_menu = file_menu.addMenu("Open &recent")
    window.recent_menu.aboutToShow.connect(window.workspace.fill_recent_menu)
    file_menu.addSeparator()
    add(file_menu, "&Import files…", "Ctrl+Shift+O", window.import_dialog, "import")
    add(file_menu, "Import &folder…", "Ctrl+Alt+O", window.import_folder_dialog, "import_folder")
    export_menu = file_menu.addMenu("&Export view")
    for slot in window.host.slots.values():
        if slot.panel is not None:
            central = slot.spec.placement == "central"
            add(export_menu, f"{slot.spec.title}…", "Ctrl+E" if central else None,
                lambda _=False, plugin_id=slot.spec.id: window.export_view(plugin_id),
                "export_figure" if central else None)
    file_menu.addSeparator()
    add(file_menu, "&Quit", "Ctrl+Q", window.close)

    edit_menu = bar.addMenu("&Edit")
    for name, action in window.selection.actions.items():
        edit_menu.addAction(action)
        if name == "redo":
            edit_menu.addSeparator()
    window.named_actions.update(window.selection.actions)
    edit_menu.addSeparator()
    add(edit_menu, "&Find…", "Ctrl+F", window.focus_search, "find")
    edit_menu.addSeparator()
    add(edit_menu, "&Settings…", "Ctrl+,", window.show_settings, "settings")

    sets_menu = bar.addMenu("&Collections")
    for text, keys, slot, name in window.embedding_sets.menu_entries():
        add(sets_menu, text, keys, slot, name)

    view_menu = bar.addMenu("&View")
    for number, (name, dock) in enumerate(window.docks.items(), start=1):
        action = dock.toggleViewAction()
        if number <= 9:
            action.setShortcut(QKeySequence(f"Alt+{number}"))
        view_menu.addAction(action)
        window.named_actions[f"toggle_{name}"] = action

    help_menu = bar.addMenu("&Help")
    add(help_menu, "&User guide", QKeySequence.HelpContents, lambda: show_guide(window), "guide")
    add(help_menu, "&Keyboard shortcuts", "Ctrl+/", lambda: show_shortcuts(window), "shortcuts")
    add(help_menu, "&Plugins…", None, lambda: show_plugins(window))
    add(help_menu, "Open &log folder", None, lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir()))))
    add(help_menu, "&About", None, lambda: show_about(window), "about")
    window.selection.claim_keys([slot.panel for slot in window.host.slots.values() if slot.panel is not None])


def show_plugins(window: MainWindow) -> None:
    from gui.help import plugins_text

    box = QMessageBox(QMessageBox.Information, "Plugins", plugins_text(window.registry), parent=window)
    box.setTextFormat(Qt.PlainText)
    box.exec()


def show_guide(window: MainWindow) -> None:
    from gui.help import user_guide_dialog

    user_guide_dialog(window).show()


def show_shortcuts(window: MainWindow) -> None:
    from gui.help import menu_actions, shortcut_rows, shortcuts_dialog

    shortcuts_dialog(shortcut_rows(menu_actions(window.menuBar())), window).show()


def show_about(window: MainWindow) -> None:
    from gui.help import about_dialog

    about_dialog(window.model_name, window).exec()
