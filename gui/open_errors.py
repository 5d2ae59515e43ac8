"""Why a workspace cannot be opened, in plain words, and a way forward.

``Store.open`` raises a :class:`core.workspace_file.WorkspaceError` subclass for each kind of
trouble; :func:`explain_and_offer` shows its message and the buttons that help for
that kind: a read-only copy when another process holds the file or it cannot be
written, another file or a new workspace when it is damaged or too new.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from core.workspace_file import WorkspaceError, WorkspaceLockedError, WorkspaceReadOnlyError, WorkspaceTooNewError

COPY, CHOOSE, NEW, CANCEL = "copy", "choose", "new", "cancel"
_LABELS = {COPY: "Open a read-only copy", CHOOSE: "Choose another…", NEW: "Create new workspace…"}
_HELP = {
    COPY: "A read-only copy shows everything saved so far; nothing you do there changes the original.",
    CHOOSE: "Choose another opens a different workspace file.",
    NEW: "Create new workspace starts an empty one; this file is left as it is.",
}


def offers(error: WorkspaceError) -> list[str]:
    """The choices that help with ``error``, the most useful first (``"cancel"`` is always added)."""
    if isinstance(error, (WorkspaceLockedError, WorkspaceReadOnlyError)):
        return [COPY, CHOOSE]
    return [CHOOSE, NEW]


def _title(error: WorkspaceError) -> str:
    if isinstance(error, WorkspaceLockedError):
        return "Workspace in use"
    if isinstance(error, WorkspaceReadOnlyError):
        return "Workspace cannot be written"
    if isinstance(error, WorkspaceTooNewError):
        return "Workspace from a newer version"
    return "Cannot open workspace"


def explain_and_offer(parent: QWidget | None, path: str | Path, error: WorkspaceError) -> str:
    """Show why ``path`` cannot be opened and ask what to do.

    Returns ``"copy"`` (the caller opens ``core.workspace_file.read_only_copy(path)`` read-only),
    ``"choose"`` (the caller shows the open dialog), ``"new"`` (the new-workspace
    dialog) or ``"cancel"``. Every text is plain text: file names are never markup.
    """
    choices = offers(error)
    text = f"{error}\n\nFile: {Path(path)}\n\n" + "\n".join(_HELP[c] for c in choices)
    box = QMessageBox(QMessageBox.Warning, _title(error), text, parent=parent)
    box.setTextFormat(Qt.PlainText)
    buttons = {}
    for choice in choices:
        buttons[box.addButton(_LABELS[choice], QMessageBox.AcceptRole)] = choice
    box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(next(iter(buttons)))
    box.exec()
    return buttons.get(box.clickedButton(), CANCEL)
