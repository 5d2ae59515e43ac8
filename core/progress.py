"""Progress reporting and cooperative cancellation for long, Qt-free work.

Long jobs take a ``Progress`` and call ``progress(done, total, message)`` between
batches; the call raises :class:`Cancelled` once cancellation was requested, so
every job stops at a batch boundary without extra plumbing.
"""
from __future__ import annotations

import threading
import time
from typing import Callable


class Cancelled(Exception):
    """Raised inside a job when its cancel flag is set."""


ProgressCallback = Callable[[int, int, str], None]


class Progress:
    """Throttled progress sink with a thread-safe cancel flag.

    Parameters
    ----------
    callback : callable, optional
        Receives ``(done, total, message)``; called at most ``max_rate`` times a
        second, plus always for the final update (``done >= total``).
    cancel_event : threading.Event, optional
        Shared cancel flag; a fresh one is made if omitted.
    max_rate : float
        Upper bound on callback invocations per second.
    """

    def __init__(
        self,
        callback: ProgressCallback | None = None,
        cancel_event: threading.Event | None = None,
        max_rate: float = 10.0,
        partial_callback: Callable[[object], None] | None = None,
    ) -> None:
        self.callback = callback
        self.partial_callback = partial_callback
        self.cancel_event = cancel_event or threading.Event()
        self.min_interval = 1.0 / max_rate if max_rate > 0 else 0.0
        self._last = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        self.check()
        if self.callback is None:
            return
        now = time.monotonic()
        if done >= total or now - self._last >= self.min_interval:
            self._last = now
            self.callback(done, total, message)

    def partial(self, result: object) -> None:
        """Hand over an early, partial result (e.g. a PCA preview before UMAP)."""
        self.check()
        if self.partial_callback is not None:
            self.partial_callback(result)

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self.cancel_event.is_set():
            raise Cancelled()

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


def null_progress() -> Progress:
    """A progress sink that reports nowhere and is never cancelled."""
    return Progress()
