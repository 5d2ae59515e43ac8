"""Start the desktop app (or its offscreen smoke test)."""
from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import time
from importlib.resources import files

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from core.encoder import DEFAULT_MODEL
from core.registry import discover
from gui.workspace import demo_corpus_path, log_dir

APP_ID = "embedding-explorer"
SMOKE_TIMEOUT_S = 600
#: The socket pair and notifier of :func:`stop_on_signals`.
_signal_wakeup: list = []


#: How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
#: Every call from Qt into Python (a paint, a slot) takes the GIL again, and while the views
#: compute in Python threads, each such handover cost the GUI thread up to 5 ms: a repaint
#: of the map made of many of them stalled 50-70 ms.
GIL_SWITCH_INTERVAL_S = 0.001


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the names QSettings and data folders use; the GIL handed over sooner."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setOrganizationName("EmbeddingExplorer")
    app.setApplicationName("Embedding Explorer")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(QIcon(str(files("assets") / "icon.png")))
    return app


def warm_up(window) -> None:
    """Pay the first-use costs while the user settles in, not during the first drop.

    The views' warm-up hooks run (UMAP's numba code compiles in its worker
    process) and their compute modules are imported in the analysis pool; the
    encoder service loads the model. Imports hold the GIL in long stretches, so
    each of these stalls the GUI if it happens while a map is being drawn.
    """
    window.host.warm_up()
    if window.service is not None:
        window.service.sig_preloaded.connect(_freeze_startup_objects)
        window.service.preload(window.model_name)


def _freeze_startup_objects(*_: object) -> None:
    """Exempt everything loaded so far (torch, transformers, Qt: millions of objects) from
    the cyclic GC: a full collection over them held the GIL for ~0.4 s at random moments."""
    import gc

    gc.freeze()


def run_gui(args: argparse.Namespace) -> int:
    from gui.logging_setup import install_excepthooks, setup_logging
    from gui.main_window import MainWindow
    from gui.theme import apply_theme

    app = make_app()
    log_path = setup_logging(log_dir())
    logging.getLogger(__name__).info("starting; log file %s", log_path)
    # --model wins over the Settings' default model only when given
    window = MainWindow(discover(), model_name=args.model if args.model != DEFAULT_MODEL else None)
    window.errors.log_path = log_path
    install_excepthooks(window.errors.report)
    apply_theme(app, window.settings.theme)
    stop_on_signals(app, window)
    window.show()
    opened = window.workspace.open(args.workspace) if args.workspace else window.workspace.open_default(not args.no_demo)
    if opened and args.files:
        window.import_paths(args.files)
    warm_up(window)
    if args.smoke_test:
        if not opened:
            return 1
        if not window.session.store.collections():
            window.import_paths([str(demo_corpus_path())])
        return _smoke(app, window)
    return app.exec()


def stop_on_signals(app: QApplication, window) -> None:
    """SIGTERM and SIGINT (Ctrl+C) close the window and quit, as *File → Quit* does but without
    asking: running work is cancelled (finished batches are kept), workers stop, settings are saved.

    Qt's event loop runs no Python code while idle, so Python never got to run a signal handler:
    the signal's byte on a socket pair (``signal.set_wakeup_fd``) wakes a notifier, and its slot
    is the Python code during which the handler runs.
    """
    receive, wake = socket.socketpair()
    for end in (receive, wake):
        end.setblocking(False)
    signal.set_wakeup_fd(wake.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(receive.fileno(), QSocketNotifier.Type.Read, app)
    notifier.activated.connect(lambda *_: receive.recv(512))

    def stop(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("stopping on %s", signal.Signals(signum).name)
        window.workspace.stop_requested = True
        QTimer.singleShot(0, window.close)  # run by the event loop, even if it has not started yet
        QTimer.singleShot(0, app.quit)

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, stop)
    _signal_wakeup[:] = [receive, wake, notifier]  # alive, and open, as long as the app


def _smoke(app: QApplication, window) -> int:
    """Wait until the demo is embedded and every view has a result, then quit."""
    started = time.monotonic()
    outcome = {"code": 1}

    def poll() -> None:
        elapsed = time.monotonic() - started
        service_idle = window.service is not None and not window.service.busy
        views_done = all(slot.settled for slot in window.host.slots.values())
        if service_idle and window.host.is_idle() and views_done:
            print(f"smoke test: idle after {elapsed:.1f} s with {window.session.view.data.n} documents mapped")
            outcome["code"] = 0
            window.close()
            app.quit()
        elif elapsed > SMOKE_TIMEOUT_S:
            print("smoke test: timed out waiting for the app to become idle", file=sys.stderr)
            window.close()
            app.quit()

    timer = QTimer(interval=250, timeout=poll)
    timer.start()
    app.exec()
    return outcome["code"]
