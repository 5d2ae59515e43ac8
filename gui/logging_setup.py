"""The app's log: a rotating file in the user's data folder, and uncaught
exceptions routed to it (and to an error dialog) instead of ending the app."""
from __future__ import annotations

import logging
import sys
import threading
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType
from typing import Callable

LOG_NAME = "embedding-explorer.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
_HANDLER_NAMES = ("ee-file", "ee-console")

log = logging.getLogger(__name__)

Report = Callable[[str, str], None]  # summary, details


def setup_logging(folder: Path, level: int = logging.INFO) -> Path:
    """Log to ``folder/embedding-explorer.log`` (1 MB × 3 backups) and to stderr; returns the log's path.

    Calling it again replaces the handlers it added before (no doubled lines).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_NAME
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() in _HANDLER_NAMES:
            root.removeHandler(handler)
            handler.close()
    file_handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    console = logging.StreamHandler()
    for name, handler in zip(_HANDLER_NAMES, (file_handler, console)):
        handler.set_name(name)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    return path


def install_excepthooks(report: Report) -> Callable[[], None]:
    """Send uncaught exceptions (any thread) to the log and to ``report``; returns an undo function.

    ``report`` may be called from any thread: give it something thread-safe (``ErrorReporter.report``).
    """
    previous_sys, previous_thread = sys.excepthook, threading.excepthook

    def handle(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None, where: str) -> None:
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("Uncaught exception in %s\n%s", where, details.rstrip())
        try:
            report(f"{exc_type.__name__}: {exc}", details)
        except Exception:  # noqa: BLE001 - the hook itself must never raise
            log.exception("could not show the error dialog")

    def on_exception(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous_sys(exc_type, exc, tb)
            return
        handle(exc_type, exc, tb, "the main thread")

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        handle(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback, f"thread {name}")

    sys.excepthook, threading.excepthook = on_exception, on_thread_exception

    def uninstall() -> None:
        sys.excepthook, threading.excepthook = previous_sys, previous_thread

    return uninstall
