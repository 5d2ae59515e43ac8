"""Background work at a lower CPU priority, so the GUI thread wins the cores.

On a 2-core laptop the encoder (torch), the analysis pool and the UMAP worker
can keep every core busy; at equal priority the GUI thread then waits its turn
and the window stutters. Raising the *nice* value of the background threads
(and of the UMAP process) leaves their throughput unchanged when the GUI is idle
and lets the GUI thread run first when it has work. Linux keeps a nice value
per thread and threads inherit it when they are created, so torch's and numba's
worker threads started from a lowered thread are lowered too.
"""
from __future__ import annotations

import os
import sys
import threading

#: How much lower than the GUI background work runs (nice 10 weighs ~1/10 of nice 0 under Linux CFS).
BACKGROUND_NICE = 10


def lower_thread_priority(step: int = BACKGROUND_NICE) -> bool:
    """Lower the calling thread's CPU priority by ``step``; True where the OS allowed it.

    Linux only (per-thread nice); elsewhere the thread keeps its priority.
    """
    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except OSError:
        return False
    return True


def lower_process_priority(step: int = BACKGROUND_NICE) -> bool:
    """Lower the whole calling process's priority (for worker processes); True where allowed."""
    if not hasattr(os, "nice"):
        return False
    try:
        os.nice(step)
    except OSError:
        return False
    return True
