"""The plugin host: a stale answer never reaches the view, and the same rows and params come from the
workspace's cache instead of being computed again. A small plugin defined here counts its computes and
can be held at a gate, so the order of answers is set by the test, not by the machine's speed."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest

from core.plugin_api import AnalysisData, CacheableResult, PluginSpec
from core.registry import PluginRegistry
from gui.panel_base import PanelContext
from gui.plugin_host import PluginHost

CALLS: list[float] = []  # the scale of every compute that ran
GATES: dict[float, threading.Event] = {}  # a compute with this scale waits until its gate opens


@dataclass(frozen=True)
class ScaleParams:
    scale: float = 1.0


@dataclass(frozen=True)
class ScaleResult(CacheableResult):
    scale: float
    values: np.ndarray

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"scale": np.array(self.scale), "values": self.values}

    @classmethod
    def from_arrays(cls, arrays) -> "ScaleResult":
        return cls(float(arrays["scale"]), np.asarray(arrays["values"]))


def compute(data: AnalysisData, params: ScaleParams, progress) -> ScaleResult:
    """Row sums times ``scale``; ignores cancellation while it waits, as UMAP's fit does."""
    CALLS.append(params.scale)
    gate = GATES.get(params.scale)
    if gate is not None:
        assert gate.wait(30), "the test never opened the gate"
    return ScaleResult(params.scale, data.vectors.sum(axis=1) * params.scale)


SPEC = PluginSpec(id="scaled", title="Scaled", params_type=ScaleParams, compute=f"{__name__}:compute",
                  panel="tests.example_plugin.panel:NormsPanel")


@pytest.fixture
def host(qtbot):
    CALLS.clear()
    GATES.clear()
    host = PluginHost(PluginRegistry([SPEC]), PanelContext())
    shown: list[ScaleResult] = []
    host.sig_result.connect(lambda plugin_id, generation, result, partial: shown.append(result))
    host.shown = shown
    yield host
    for gate in GATES.values():
        gate.set()
    host.shutdown()


def data(n: int = 5) -> AnalysisData:
    return AnalysisData(vectors=np.arange(n * 3, dtype=np.float32).reshape(n, 3), doc_ids=np.arange(n))


def test_an_answer_that_arrives_after_a_newer_request_is_dropped(host, qtbot):
    GATES[1.0] = threading.Event()  # the first request's compute is slow: it answers after the second
    host.set_data(data(), "rows")
    qtbot.waitUntil(lambda: CALLS == [1.0], timeout=10_000)
    host.set_params("scaled", ScaleParams(scale=2.0))
    slot = host.slots["scaled"]
    qtbot.waitUntil(lambda: slot.result is not None, timeout=10_000)
    assert slot.result.scale == 2.0
    GATES[1.0].set()  # now the stale answer comes
    qtbot.waitUntil(host.is_idle, timeout=10_000)
    qtbot.wait(0)  # deliver any answer already queued for the GUI thread
    assert CALLS == [1.0, 2.0] and slot.result.scale == 2.0
    np.testing.assert_allclose(slot.result.values, data().vectors.sum(axis=1) * 2.0)
    assert [r.scale for r in host.shown] == [2.0]  # the stale answer never left the worker


def test_the_same_rows_and_params_come_from_the_cache(host, qtbot, store):
    host.set_store(store)
    slot = host.slots["scaled"]
    host.set_data(data(), "rows")
    qtbot.waitUntil(lambda: slot.result is not None and host.is_idle(), timeout=10_000)
    first = slot.result
    host.set_params("scaled", ScaleParams(scale=3.0))  # other params: computed
    qtbot.waitUntil(lambda: slot.result.scale == 3.0 and host.is_idle(), timeout=10_000)
    host.set_params("scaled", ScaleParams(scale=1.0))  # back to the first params: from the cache
    qtbot.waitUntil(lambda: slot.result.scale == 1.0 and host.is_idle(), timeout=10_000)
    assert CALLS == [1.0, 3.0]  # the first params were computed once; their second answer is the cached one
    assert slot.result is not first and np.array_equal(slot.result.values, first.values)
    host.set_data(data(6), "other rows")  # other rows: computed
    qtbot.waitUntil(lambda: len(CALLS) == 3 and host.is_idle(), timeout=10_000)
    qtbot.waitUntil(lambda: slot.result.values.shape == (6,), timeout=10_000)
    assert CALLS == [1.0, 3.0, 1.0]
