"""The plugin host: runs every plugin's compute on a worker pool and shows the
results in its panel.

Each request carries a generation number; an answer from an older generation is
dropped. The shared kNN graph is built once per set of rows (``KnnCache``) and
handed to every compute. Results that round-trip through arrays are cached in
the workspace and come back instantly for the same rows and params.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.duplicates import distinct_rows, shared_graph
from core.knn_cache import KnnCache
from core.plugin_api import AnalysisData, NotApplicable, PluginSpec, compute_fields, graph_k_for, resolve
from core.priority import lower_thread_priority
from core.progress import Cancelled, Progress
from core.registry import PluginRegistry
from core.result_cache import Shelf, load_result, save_result
from core.store import Store
from gui.panel_base import PanelContext, PluginPanel

log = logging.getLogger(__name__)


@dataclass
class PluginSlot:
    """A plugin's live state in the host."""

    spec: PluginSpec
    params: Any
    panel: PluginPanel | None = None
    generation: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    #: why the last compute gave no result (an error, or the view does not apply to this data)
    error: str | None = None

    @property
    def settled(self) -> bool:
        """The view has answered: with a result, or with why it has none."""
        return self.result is not None or self.error is not None


class PluginHost(QObject):
    """Owns the panels of every plugin and schedules their computations."""

    sig_result = Signal(str, int, object, bool)  # plugin id, generation, result, partial
    sig_failed = Signal(str, int, str, bool)  # plugin id, generation, message, not applicable (a note, no error)
    sig_status = Signal(str, int, str)  # plugin id, generation, message
    sig_layout_changed = Signal(object)  # coords (n, 2) from a layout-producing plugin
    sig_result_shown = Signal(str, object)  # plugin id, its finished result (for window-level views such as the card)

    def __init__(self, registry: PluginRegistry, context: PanelContext, max_workers: int = 2) -> None:
        super().__init__()
        self.registry = registry
        self.context = context
        self.slots: dict[str, PluginSlot] = {s.id: PluginSlot(s, s.params_type()) for s in registry.specs}
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="analysis",
                                        initializer=lower_thread_priority)
        self._store: Store | None = None
        self._knn = KnnCache(None)
        self._data: AnalysisData | None = None
        self._data_key = ""
        self._closed = False
        self._futures: set[Future] = set()
        self.sig_result.connect(self._on_worker_result)
        self.sig_failed.connect(self._on_worker_failed)
        self.sig_status.connect(self._on_worker_status)

    def warm_up(self) -> None:
        """Run every plugin's warm-up hook and import its compute code (sklearn, scipy, umap…) in the pool now.

        Imports hold the GIL for long stretches (extension modules load in one go);
        done at start, they no longer stall the GUI while the first corpus is mapped.
        """
        for slot in self.slots.values():
            if slot.spec.warm_up is not None:
                try:
                    resolve(slot.spec.warm_up)()
                except Exception:  # noqa: BLE001 - a failed warm-up only costs time later
                    log.exception("warm-up of plugin %s failed", slot.spec.id)
            self._pool.submit(_import_quietly, slot.spec)

    # ------------------------------------------------------------------ panels
    def create_panels(self) -> list[tuple[PluginSlot, str | None]]:
        """Instantiate every panel; returns (slot, error) pairs for the window to place."""
        made = []
        for slot in self.slots.values():
            try:
                panel_cls = slot.spec.resolve_panel()
                slot.panel = panel_cls(self.context, slot.params)
                slot.panel.sig_params_changed.connect(
                    lambda params, plugin_id=slot.spec.id: self.set_params(plugin_id, params)
                )
                slot.panel.sig_recompute_requested.connect(lambda plugin_id=slot.spec.id: self.recompute(plugin_id))
                made.append((slot, None))
            except Exception as exc:  # noqa: BLE001 - a broken panel is reported, never fatal
                log.exception("panel of plugin %s failed", slot.spec.id)
                made.append((slot, f"{type(exc).__name__}: {exc}"))
        return made

    # ------------------------------------------------------------------ inputs
    def set_store(self, store: Store | None) -> None:
        self._store = store
        self._knn = KnnCache(store)
        self.context.shelf = Shelf(store) if store is not None else None

    def set_data(self, data: AnalysisData | None, data_key: str) -> None:
        """New rows in view: recompute every plugin."""
        self._data, self._data_key = data, data_key
        for plugin_id in self.slots:
            self._schedule(plugin_id)

    def set_params(self, plugin_id: str, params: Any) -> None:
        slot = self.slots[plugin_id]
        if not (dataclasses.is_dataclass(params) and isinstance(params, slot.spec.params_type)):
            raise TypeError(f"{plugin_id}: params must be {slot.spec.params_type.__name__}")
        changed = compute_fields(params) != compute_fields(slot.params)
        slot.params = params
        if changed:  # a display-only option: the panel redraws what it has
            self._schedule(plugin_id)

    def recompute(self, plugin_id: str) -> None:
        """Compute a plugin afresh: no cached answer, and for the layout no previous layout to start from."""
        if self._data is not None and self.slots[plugin_id].spec.placement == "central":
            self._data = dataclasses.replace(self._data, coords=None)
        self._schedule(plugin_id, use_cache=False)

    def with_coords(self, coords: Any) -> None:
        """A new layout: plugins that use coordinates see it from now on."""
        if self._data is not None:
            self._data = dataclasses.replace(self._data, coords=coords)

    # ------------------------------------------------------------------ scheduling
    def _schedule(self, plugin_id: str, use_cache: bool = True) -> None:
        if self._closed:
            return
        slot = self.slots[plugin_id]
        slot.cancel.set()
        slot.cancel = threading.Event()
        slot.generation += 1
        if self._data is None or self._data.n == 0:
            if slot.panel is not None:
                slot.panel.show_status("No embedded documents in view yet — drop files on the window.")
            return
        if slot.panel is not None:
            slot.panel.show_status("Computing…")
        future = self._pool.submit(self._run, slot.spec, slot.params, slot.generation, slot.cancel, self._data,
                                   self._data_key, use_cache)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    def _run(self, spec: PluginSpec, params: Any, generation: int, cancel: threading.Event, data: AnalysisData,
             key: str, use_cache: bool = True) -> None:
        """Worker thread: cached result (when ``use_cache``), or graph + compute."""
        progress = Progress(
            lambda done, total, msg: self.sig_status.emit(spec.id, generation, msg or f"{done}/{total}"),
            cancel,
            partial_callback=lambda result: self.sig_result.emit(spec.id, generation, result, True),
        )
        try:
            distinct = distinct_rows(data)  # the duplicate policy: the graph joins distinct texts
            key = distinct.cache_key(key)
            cached = load_result(self._store, spec.id, key, params) if self._store is not None and use_cache else None
            if cached is not None:
                self.sig_result.emit(spec.id, generation, cached, False)
                return
            k = graph_k_for(spec, params)
            if k is not None and distinct.m > 1:
                progress(0, 0, "Finding nearest neighbours…")
                graph = shared_graph(data, key, self._graph_k(k, distinct.m), self._knn.get, progress=progress)
                data = dataclasses.replace(data, knn=graph)
            result = spec.resolve_compute()(data, params, progress)
            progress.check()
            if self._store is not None:
                save_result(self._store, spec.id, key, params, result)
            self.sig_result.emit(spec.id, generation, result, False)
        except Cancelled:
            return
        except NotApplicable as exc:
            self.sig_failed.emit(spec.id, generation, str(exc), True)
        except Exception as exc:  # noqa: BLE001 - shown in the panel, never fatal
            log.exception("plugin %s failed", spec.id)
            self.sig_failed.emit(spec.id, generation, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}", False)

    def _graph_k(self, k: int, n: int) -> int:
        """Build the graph once with the largest k any plugin wants."""
        wanted = [graph_k_for(s.spec, s.params) or 0 for s in self.slots.values()]
        return min(max([k, *wanted]), n - 1)

    # ------------------------------------------------------------------ GUI-thread answers
    def _current(self, plugin_id: str, generation: int) -> PluginSlot | None:
        slot = self.slots.get(plugin_id)
        return slot if slot is not None and slot.generation == generation and not self._closed else None

    def _on_worker_result(self, plugin_id: str, generation: int, result: Any, partial: bool) -> None:
        slot = self._current(plugin_id, generation)
        if slot is None:
            return
        slot.result, slot.error = result, None
        coords = getattr(result, "coords", None)
        if coords is not None and slot.spec.placement == "central" and not partial:
            # only a finished layout is the map: a preview (PCA) must not seed the next one
            self.with_coords(coords)
            self.sig_layout_changed.emit(coords)
            for other in self.slots.values():
                if other.spec.uses_coords:
                    self._schedule(other.spec.id)
        if slot.panel is not None:
            slot.panel.show_status("" if not partial else "Preview — refining…")
            slot.panel.show_result(result)
        if not partial:
            self.sig_result_shown.emit(plugin_id, result)

    def _on_worker_failed(self, plugin_id: str, generation: int, message: str, not_applicable: bool) -> None:
        slot = self._current(plugin_id, generation)
        if slot is None:
            return
        slot.error = message.splitlines()[0]
        if slot.panel is not None:
            (slot.panel.show_status if not_applicable else slot.panel.show_error)(slot.error)

    def _on_worker_status(self, plugin_id: str, generation: int, message: str) -> None:
        slot = self._current(plugin_id, generation)
        if slot is not None and slot.panel is not None:
            slot.panel.show_status(message)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Stop taking jobs, cancel the running ones and join the workers."""
        self._closed = True
        self._cancel_all()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def drain(self, timeout: float = 30.0) -> None:
        """Cancel the running computes and wait (up to ``timeout`` s) until they stopped,
        so none still reads the workspace when it is closed or rewritten."""
        self._cancel_all()
        wait(list(self._futures), timeout=timeout)

    def _cancel_all(self) -> None:
        for slot in self.slots.values():
            slot.cancel.set()

    def is_idle(self) -> bool:
        """True when no compute is queued or running."""
        return not self._futures


def _import_quietly(spec: PluginSpec) -> None:
    try:
        spec.resolve_compute()
    except Exception:  # noqa: BLE001 - a broken plugin reports itself when it runs
        logging.getLogger(__name__).debug("warm-up import of %s failed", spec.id, exc_info=True)
