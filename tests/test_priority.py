"""Background threads and the UMAP worker run at a lower CPU priority than the GUI thread."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from core.priority import BACKGROUND_NICE, lower_thread_priority

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux-only")


def _nice(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


@linux_only
def test_lowering_a_thread_leaves_the_calling_thread_alone() -> None:
    main_before = _nice(threading.get_native_id())
    seen: dict[str, int] = {}

    def worker() -> None:
        before = _nice(threading.get_native_id())
        seen["ok"] = lower_thread_priority()
        seen["delta"] = _nice(threading.get_native_id()) - before
        child = threading.Thread(target=lambda: seen.setdefault("child", _nice(threading.get_native_id())))
        child.start()
        child.join()
        seen["after"] = _nice(threading.get_native_id())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["ok"] is True
    assert seen["delta"] == min(BACKGROUND_NICE, 19 - main_before)
    assert seen["child"] == seen["after"], "threads started by a lowered thread inherit its priority"
    assert _nice(threading.get_native_id()) == main_before


@linux_only
def test_umap_worker_process_runs_lowered() -> None:
    from core import umap_process

    try:
        worker_nice = umap_process._submit(os.nice, 0).result(timeout=120)
    finally:
        umap_process.shutdown()
    assert worker_nice == min(19, os.nice(0) + BACKGROUND_NICE)
