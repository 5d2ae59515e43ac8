"""One background lane for a GUI object's tasks, with a fixed signal vocabulary.

A ``Worker`` runs plain functions on its own thread, one at a time, each under a
generation number, and answers on the GUI thread with ``sig_result`` or
``sig_error``. A slot asks :meth:`Worker.is_current` to drop a stale answer. Tasks must not touch
widgets; they read or write the workspace and return a value.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal


class Worker(QObject):
    """A single-thread lane named ``name`` (the thread's name, for stack dumps and logs)."""

    sig_result = Signal(int, object)  # generation, what the task returned
    sig_error = Signal(int, str)  # generation, "ErrorType: message"

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.generation = 0

    def submit(self, task: Callable[..., Any], *args: Any) -> int:
        """Queue ``task(*args)``; returns its generation."""
        self.generation += 1
        self._pool.submit(self._run, self.generation, task, args)
        return self.generation

    def is_current(self, generation: int) -> bool:
        """True for the answer of the latest task (older ones are stale)."""
        return generation == self.generation

    def invalidate(self) -> None:
        """Make every queued or running task's answer stale."""
        self.generation += 1

    def drain(self) -> None:
        """Wait until the tasks queued so far are done."""
        self._pool.submit(lambda: None).result()

    def shutdown(self) -> None:
        """Let the queued tasks finish, then stop the thread."""
        self._pool.shutdown(wait=True)

    def _run(self, generation: int, task: Callable[..., Any], args: tuple) -> None:
        try:
            value = task(*args)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the GUI as sig_error
            self.sig_error.emit(generation, f"{type(exc).__name__}: {exc}")
            return
        self.sig_result.emit(generation, value)
