"""Stable colours for category values: a value keeps its palette slot, per column,
across runs and as the data grows.

Slots are kept in the workspace (``Store.set_note``), so "en" is the same colour
every time this workspace is opened; without a workspace (previews) they live
for the session only. Qt-free: a slot is an index into the view's palette.
"""
from __future__ import annotations

import json
from typing import Sequence

from core.store import Store

_NOTE = "category_colours"


class CategoryColours:
    """Palette slots of category values per column; new values take the lowest slot free among those shown."""

    def __init__(self, store: Store | None = None) -> None:
        self._store = store
        self._slots: dict[str, dict[str, int]] = {}
        text = store.get_note(_NOTE) if store is not None else None
        if text:
            try:
                loaded = json.loads(text)
                self._slots = {str(c): {str(v): int(s) for v, s in m.items()} for c, m in loaded.items()}
            except (ValueError, TypeError, AttributeError):
                self._slots = {}  # an unreadable note only costs the remembered colours

    def slots(self, column: str, values: Sequence[str], n_slots: int) -> list[int]:
        """One slot in ``range(n_slots)`` per value (values shown together), distinct while there are
        enough slots; remembered values keep theirs, new ones are remembered."""
        known = self._slots.setdefault(column, {})
        taken: set[int] = set()
        out: list[int | None] = []
        for value in values:  # remembered first, so a new value never takes a remembered one's slot
            slot = known.get(value)
            ok = slot is not None and 0 <= slot < n_slots and slot not in taken
            out.append(slot if ok else None)
            if ok:
                taken.add(slot)
        changed = False
        used_ever = set(known.values())
        for i, value in enumerate(values):
            if out[i] is None:
                free = [s for s in range(n_slots) if s not in taken]
                fresh = [s for s in free if s not in used_ever]
                slot = (fresh or free or [i % n_slots])[0]
                out[i], known[value], changed = slot, slot, True
                taken.add(slot)
                used_ever.add(slot)
        if changed and self._store is not None and not self._store.read_only:
            self._store.set_note(_NOTE, json.dumps(self._slots, ensure_ascii=False, sort_keys=True))
        return [int(s) for s in out]
