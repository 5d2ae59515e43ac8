"""The narrow view of the main window that its helpers get.

A helper (collection, embedding-set and selection actions, the workspace
controller, the menus) reads the open workspace's session, the background
service and the model in use, and reports through the message sink; whatever
it asks of the window beyond that, it asks with a signal of its own.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gui.encoder_service import EncoderService
    from gui.session import Session


class WindowPort(Protocol):
    """``session`` and ``service`` are None while no workspace is open; ``model_name``
    is the model new embeddings use; ``show_message`` goes to the status bar."""

    session: Session | None
    service: EncoderService | None
    model_name: str

    def show_message(self, text: str) -> None: ...
