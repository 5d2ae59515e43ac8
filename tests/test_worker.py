"""gui.worker: one lane, a generation per task, answers on the GUI thread as sig_result or sig_error."""
from __future__ import annotations

import threading

from gui.worker import Worker


def test_a_task_answers_with_its_generation_on_the_gui_thread(qtbot):
    worker = Worker("test-lane")
    seen: list[tuple[int, object, bool]] = []
    worker.sig_result.connect(lambda gen, value: seen.append((gen, value, threading.current_thread() is threading.main_thread())))
    try:
        first = worker.submit(sum, [1, 2])
        with qtbot.waitSignal(worker.sig_result, timeout=10_000):
            second = worker.submit(str.upper, "b")
        qtbot.waitUntil(lambda: len(seen) == 2, timeout=10_000)
        assert seen == [(first, 3, True), (second, "B", True)]
        assert not worker.is_current(first) and worker.is_current(second)
        worker.invalidate()
        assert not worker.is_current(second)
    finally:
        worker.shutdown()


def test_a_failing_task_becomes_sig_error(qtbot):
    worker = Worker("test-lane")
    try:
        with qtbot.waitSignal(worker.sig_error, timeout=10_000) as blocker:
            generation = worker.submit(int, "not a number")
        assert blocker.args[0] == generation and blocker.args[1].startswith("ValueError: ")
    finally:
        worker.shutdown()
