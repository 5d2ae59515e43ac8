"""Drive the GUI as a person does: drag files onto the window, right-click, pick menu entries, answer
the dialogs an action opens. Everything here sends Qt events (no private slots are called), so a test
built on it goes through the same handlers a user's input reaches."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QContextMenuEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QInputDialog, QLineEdit, QMenu, QMessageBox, QWidget


def file_mime(*paths: str | Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drag_and_drop(target: QWidget, mime: QMimeData, pos: QPoint | None = None) -> tuple[bool, bool]:
    """Drag ``mime`` over ``target`` and drop it there: enter, move, drop, as a drag from a file manager.

    Qt hands each event to the widget under the cursor and then to its parents until one accepts,
    so ``target`` may be any widget of the window. Returns (enter accepted, drop accepted); like Qt,
    the drop is only sent when the enter was accepted.
    """
    pos = pos if pos is not None else target.rect().center()
    actions = Qt.CopyAction | Qt.MoveAction | Qt.LinkAction
    enter = QDragEnterEvent(pos, actions, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False, False
    move = QDragMoveEvent(pos, actions, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(target, move)
    drop = QDropEvent(QPointF(pos), actions, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(target, drop)
    return True, drop.isAccepted()


def right_click(widget: QWidget, pos: QPoint) -> None:
    """A right click at ``pos``: the mouse press and release, then the context-menu event the
    window system sends after them (QTest sends only the mouse events)."""
    QTest.mouseClick(widget, Qt.RightButton, Qt.NoModifier, pos)
    event = QContextMenuEvent(QContextMenuEvent.Mouse, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)


def open_popup(qtbot, containing: str | None = None, timeout: int = 5_000) -> QMenu:
    """The popup menu that is open now (waits until one is, with an entry starting with ``containing``)."""

    def is_open() -> bool:
        menu = QApplication.activePopupWidget()
        return isinstance(menu, QMenu) and (containing is None or any(t.startswith(containing) for t in menu_entries(menu)))

    qtbot.waitUntil(is_open, timeout=timeout)
    return QApplication.activePopupWidget()


def menu_entries(menu: QMenu) -> dict[str, bool]:
    """Text (without the shortcut hint) → enabled, of every entry."""
    return {_plain(a.text()): a.isEnabled() for a in menu.actions() if not a.isSeparator()}


def _plain(text: str) -> str:
    """A menu text as shown: no shortcut hint, no '&' mnemonic marker."""
    return text.split("\t")[0].replace("&", "")


def click_entry(menu: QMenu, text: str) -> None:
    """Click the entry whose text starts with ``text`` where it is drawn in the open menu."""
    action = next(a for a in menu.actions() if _plain(a.text()).startswith(text))
    assert action.isEnabled(), f"{text!r} is disabled"
    QTest.mouseClick(menu, Qt.LeftButton, Qt.NoModifier, menu.actionGeometry(action).center())


def when_modal(handle: Callable[[QWidget], None], kind: type = QWidget, timeout_ms: int = 10_000) -> list:
    """Answer the next modal dialog of ``kind`` with ``handle(dialog)``, from the event loop the dialog runs.

    Call this *before* the action that opens the dialog (a static ``getText``/``question`` blocks until
    answered). Returns a list that gets "title | text" of the dialog once it was handled (the dialog
    itself is deleted when its static function returns): assert on it afterwards. ``handle.ready(dialog)``,
    if given, says when the dialog is ready for input (a person waits for the cursor in the field).
    """
    seen: list = []
    timer = QTimer(QApplication.instance())  # owned by the app: it lives until it stops
    timer.setInterval(20)
    waited = [0]

    def stop() -> None:
        timer.stop()
        timer.deleteLater()

    def poll() -> None:
        waited[0] += 20
        dialog = QApplication.activeModalWidget()
        if seen:
            if dialog is None or not isinstance(dialog, kind):  # answered and gone
                stop()
        elif isinstance(dialog, kind) and dialog.isVisible() and getattr(handle, "ready", bool)(dialog):
            text = dialog.text() if isinstance(dialog, QMessageBox) else \
                dialog.labelText() if isinstance(dialog, QInputDialog) else ""
            seen.append(f"{dialog.windowTitle()} | {text}")
            handle(dialog)
        if waited[0] > timeout_ms:  # never hang the suite: close what is open, the test then fails
            stop()
            if QApplication.activeModalWidget() is not None:
                QApplication.activeModalWidget().close()

    timer.timeout.connect(poll)
    timer.start()
    return seen


def type_into(edit: QLineEdit, text: str, enter: bool = True) -> None:
    """Replace the edit's text by typing, as a person does (select all, type), then press Enter."""
    edit.setFocus()
    QTest.keyClick(edit, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClicks(edit, text)
    if enter:
        QTest.keyClick(edit, Qt.Key_Return)


def first_line_edit(dialog: QWidget, name: str | None = None) -> QLineEdit:
    edits = [e for e in dialog.findChildren(QLineEdit, name) if e.isVisible()] if name else \
        [e for e in dialog.findChildren(QLineEdit) if e.isVisible()]
    assert edits, f"no line edit in {type(dialog).__name__}"
    return edits[0]


def type_in_dialog(text: str, name: str | None = None) -> Callable[[QWidget], None]:
    """A ``when_modal`` handler: type ``text`` into the dialog's (first or named) line edit, press Enter."""
    return lambda dialog: type_into(first_line_edit(dialog, name), text)



def save_as(path: str | Path) -> Callable[[QWidget], None]:
    """A ``when_modal`` handler for a file dialog: type ``path`` as the file name, click Save.

    (Enter would go to the list of completions the typed folder name opens.)"""

    def save_button(dialog: QWidget):
        return next((b for b in dialog.findChild(QDialogButtonBox).buttons() if b.text().replace("&", "") == "Save"), None)

    def handle(dialog: QWidget) -> None:
        button = save_button(dialog)
        type_into(first_line_edit(dialog, "fileNameEdit"), str(path), enter=False)
        QTest.mouseClick(button, Qt.LeftButton)

    def ready(dialog: QWidget) -> bool:  # set up as a Save dialog (it opens as Open), the cursor in the name
        return save_button(dialog) is not None and first_line_edit(dialog, "fileNameEdit").hasFocus()

    handle.ready = ready
    return handle
