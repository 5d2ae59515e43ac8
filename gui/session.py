"""The session: which workspace, which collections and model are in view, the
rows loaded from it, and the selection. Lives on the GUI thread.

The latest layout is carried to the next load only while the same documents
grow (:func:`grows`), so the map can warm-start from it; otherwise the next
layout is fresh.

Loading vectors is a bulk read that can take seconds at a million rows, so it
runs on a loader thread; each load carries a generation and stale loads are
dropped. A growing collection reloads as batches land, at most every
``reload_interval`` seconds.

Every *other* model with vectors for the same collections is loaded too, on the
same rows (``extras["spaces"]``: {model name: float32 (n, d), NaN rows where a
document has no vector in that space}), for the compare view. Memory: each such
space costs n x d x 4 bytes (100k x 384: 154 MB); models with no vector for
these collections are never loaded.

A view with more embedded rows than ``sample_limit`` (Settings.sample_limit)
loads a deterministic random sample of that many instead (``Store.load_vectors``
with ``sample``): memory and every view then scale with the limit, not with
the workspace. ``LoadedView.total_rows`` keeps the full count, and
``sample_note`` says so in words for the status bar, the map and manifests.
"""
from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from core.compare import SpaceCache, other_spaces
from core.duplicates import DEFAULT_POLICY, DISTINCT_KEY, HASHES_KEY, POLICY_KEY, DistinctRows
from core.plugin_api import AnalysisData
from core.settings import DEFAULT_SAMPLE_LIMIT
from core.store import Store, data_key


@dataclass(frozen=True)
class LoadedView:
    """Rows in view, with everything the panels need about them."""

    data: AnalysisData
    key: str
    labels: dict[str, np.ndarray]
    collection_ids: tuple[int, ...]
    model_id: int
    #: embedded rows in view; more than ``data.n`` when the rows are a random sample
    total_rows: int = 0

    @property
    def sampled(self) -> bool:
        return self.total_rows > self.data.n

    @property
    def sample_note(self) -> str:
        """"Random sample of 1,000,000 of 10,000,000 documents", or "" when every row is loaded."""
        return f"Random sample of {self.data.n:,} of {self.total_rows:,} documents" if self.sampled else ""

    def provenance(self) -> dict[str, int | str]:
        """What export manifests should say about sampling (empty when every row is loaded)."""
        if not self.sampled:
            return {}
        return {"sample": self.sample_note, "documents_loaded": self.data.n, "documents_total": self.total_rows}


class Session(QObject):
    sig_view_loaded = Signal(object)  # LoadedView
    sig_selection_changed = Signal(object)  # rows
    sig_load_failed = Signal(str)
    sig_focus_changed = Signal(object)  # the focused row (the document clicked last) or None

    def __init__(self, store: Store, reload_interval: float = 4.0, sample_limit: int = DEFAULT_SAMPLE_LIMIT,
                 duplicates: str = DEFAULT_POLICY) -> None:
        super().__init__()
        self.store = store
        self.sample_limit = sample_limit
        #: the duplicate policy the views follow (core.duplicates): "fold" or "keep"
        self.duplicates = duplicates
        #: the focused row: the document clicked last, shown by the card and the neighbours
        self.focus: int | None = None
        self.collection_ids: tuple[int, ...] = ()
        self.model_id: int | None = None
        self.view: LoadedView | None = None
        self.selection = np.empty(0, dtype=np.int64)
        self._generation = 0
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loader")
        self._reload_interval = reload_interval
        self._last_load = 0.0
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.timeout.connect(self.reload)

    # ------------------------------------------------------------------ view
    def set_view(self, collection_ids: tuple[int, ...], model_id: int | None) -> None:
        self.collection_ids = tuple(collection_ids)
        self.model_id = model_id
        self.reload()

    def reload(self) -> None:
        """Load the rows in view on the loader thread."""
        self._generation += 1
        self._last_load = time.monotonic()
        if not self.collection_ids or self.model_id is None:
            return
        generation, ids, model_id = self._generation, self.collection_ids, self.model_id
        self._loader.submit(self._load, generation, ids, model_id, self.sample_limit, self.duplicates)

    def set_sample_limit(self, limit: int) -> None:
        """Load at most ``limit`` rows from now on (reloads the view when the limit changed)."""
        if limit != self.sample_limit:
            self.sample_limit = limit
            self.reload()

    def set_duplicate_policy(self, policy: str) -> None:
        """Fold exact copies into one point, or keep every row (reloads the view when it changed)."""
        if policy != self.duplicates:
            self.duplicates = policy
            self.reload()

    def reload_soon(self) -> None:
        """Throttled reload for growing collections (after each committed batch)."""
        if self._reload_timer.isActive():
            return
        wait = max(0.0, self._reload_interval - (time.monotonic() - self._last_load))
        self._reload_timer.start(int(wait * 1000))

    def _load(self, generation: int, collection_ids: tuple[int, ...], model_id: int, limit: int,
              duplicates: str = DEFAULT_POLICY) -> None:
        try:
            total = self.store.count_vectors(collection_ids, model_id)
            sample = limit if total > limit else None
            doc_ids, cols, vectors = self.store.load_vectors(collection_ids, model_id, sample=sample)
            labels = self.store.labels(doc_ids) if len(doc_ids) else {}
            spaces, space_ids = other_spaces(self.store, collection_ids, model_id, doc_ids, sample=sample)
            model_name = self.store.model(model_id).name
        except Exception as exc:  # noqa: BLE001 - shown in the status bar
            self.sig_load_failed.emit(f"Could not load the embeddings: {exc}")
            return
        if generation != self._generation:
            return
        hashes = self.store.hashes(doc_ids, raw=True)  # 32-byte digests: equal content, equal key
        extras = {
            HASHES_KEY: hashes,
            POLICY_KEY: duplicates,
            DISTINCT_KEY: DistinctRows.of_keys(hashes, len(doc_ids), duplicates),
            "collection_names": {c.id: c.name for c in self.store.collections()},
            "model_name": model_name,
            "spaces": spaces,
            "space_model_ids": {**space_ids, model_name: model_id},
            "space_cache": SpaceCache(self.store),
            "labels": labels,  # metadata columns per row, for views that group by one (e.g. languages)
            "texts": self.store.texts,  # doc ids -> texts, read by analyses that need the words (clusters)
        }
        data = AnalysisData(vectors=vectors, doc_ids=doc_ids, collection_ids=cols, extras=extras)
        view = LoadedView(data, data_key(model_id, doc_ids), labels, collection_ids, model_id,
                          max(total, len(doc_ids)))
        self.sig_view_loaded.emit((generation, view))

    def adopt(self, payload: tuple[int, LoadedView]) -> LoadedView | None:
        """GUI thread: take a loaded view unless a newer load was asked for."""
        generation, view = payload
        if generation != self._generation:
            return None
        previous = self.view
        self.view = view
        if grows(previous, view):
            coords = carry_coords(previous.data.doc_ids, previous.data.coords, view.data.doc_ids)
            self.view = dataclasses.replace(view, data=dataclasses.replace(view.data, coords=coords))
        self.selection = carry_rows(previous, self.selection, self.view)
        focus = carry_rows(previous, np.array([] if self.focus is None else [self.focus], np.int64), self.view)
        self.focus = int(focus[0]) if focus.size else None
        return self.view

    def set_coords(self, coords: np.ndarray) -> None:
        """Remember the latest layout, so a reload can start from it."""
        if self.view is not None and len(coords) == self.view.data.n:
            self.view = dataclasses.replace(self.view, data=dataclasses.replace(self.view.data, coords=coords))

    # ------------------------------------------------------------------ selection
    def select(self, rows: np.ndarray, focus: int | None = None) -> None:
        """Select ``rows``; ``focus`` (default: see :func:`next_focus`) becomes the focused document."""
        n = self.view.data.n if self.view is not None else 0
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        previous = self.selection
        self.selection = rows[(rows >= 0) & (rows < n)]
        self.sig_selection_changed.emit(self.selection)
        self.set_focus(focus if focus is not None and 0 <= focus < n else next_focus(previous, self.selection, self.focus))

    def set_focus(self, row: int | None) -> None:
        """Focus ``row`` (announced when it changed)."""
        row = None if row is None else int(row)
        if row != self.focus:
            self.focus = row
            self.sig_focus_changed.emit(row)

    def texts(self, rows: np.ndarray) -> list[str]:
        if self.view is None:
            return [""] * len(rows)
        return self.store.texts(self.view.data.doc_ids[np.asarray(rows, dtype=np.int64)])

    def close(self) -> None:
        self._generation += 1
        self._reload_timer.stop()
        self._loader.shutdown(wait=True, cancel_futures=True)


def grows(previous: LoadedView | None, current: LoadedView) -> bool:
    """True when ``current`` holds every document of ``previous`` (same model) and more: only then may
    the map warm-start from the old layout. Any other change (a collection unticked, another model, a
    sample drawn anew) gets a fresh layout, so a map's shape never depends on what was shown before."""
    if previous is None or previous.data.coords is None or previous.model_id != current.model_id:
        return False
    old, new = previous.data.doc_ids, current.data.doc_ids
    return new.size > old.size and bool(np.isin(old, new, assume_unique=True).all())


def next_focus(before: np.ndarray, after: np.ndarray, focus: int | None) -> int | None:
    """The document a person looks at after a selection changed from ``before`` to ``after``.

    The one row a click added (a click, Ctrl+click); else the focus so far if it is still
    selected; else nothing (a lasso of many points picks no document of its own).
    """
    added = np.setdiff1d(after, before, assume_unique=True)
    if added.size == 1:
        return int(added[0])
    if after.size == 1:
        return int(after[0])
    return focus if focus is not None and np.isin(focus, after) else None


def carry_coords(old_ids: np.ndarray, old_coords: np.ndarray, new_ids: np.ndarray) -> np.ndarray:
    """Coordinates of ``new_ids`` taken from the old layout; NaN for rows new to it."""
    coords = np.full((len(new_ids), 2), np.nan, dtype=np.float32)
    where = np.searchsorted(old_ids, new_ids)
    where = np.clip(where, 0, max(len(old_ids) - 1, 0))
    if len(old_ids):
        found = old_ids[where] == new_ids
        coords[found] = old_coords[where[found]]
    return coords


def carry_rows(previous: LoadedView | None, rows: np.ndarray, current: LoadedView | None) -> np.ndarray:
    """The same documents' row numbers after a reload."""
    if previous is None or current is None or rows.size == 0:
        return np.empty(0, dtype=np.int64)
    ids = previous.data.doc_ids[rows]
    where = np.searchsorted(current.data.doc_ids, ids)
    where = np.clip(where, 0, max(current.data.n - 1, 0))
    return where[current.data.doc_ids[where] == ids].astype(np.int64)
