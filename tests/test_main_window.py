"""The main window, driven as a user would: drop files, watch progress, see the views fill."""
from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from core.encoder import HashingEncoder
from core.registry import discover
from gui.main_window import MainWindow


class GatedEncoder(HashingEncoder):
    """The hashing model held at a gate: the first ``free`` calls run at once, later ones wait until
    ``gate`` is set (at most 30 s), so a test acts while a job is surely mid-way, on any machine."""

    def __init__(self, dim: int = 64, free: int = 3) -> None:
        super().__init__(dim)
        self.free, self.calls, self.gate = free, 0, threading.Event()

    def encode(self, texts, batch_size=32):
        self.calls += 1
        if self.calls > self.free:
            self.gate.wait(30)
        return super().encode(texts, batch_size)


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(discover(), model_name="hashing-64")
    win.show()
    assert win.workspace.open(tmp_path / "gui.duckdb")
    yield win
    close_quietly(win)


def close_quietly(win: MainWindow) -> None:
    """Join every worker, then close (a busy window would otherwise ask before quitting)."""
    win.host.shutdown()
    win.detach()
    win.close()
    win.deleteLater()
    QApplication.processEvents()
    gc.collect()  # collect dead Qt objects now, while no worker thread runs


def drop(window: MainWindow, *paths) -> None:
    """Drag the files onto the middle of the window and drop them (enter, move, drop)."""
    from tests.gui_driver import drag_and_drop, file_mime

    target = window.childAt(window.rect().center()) or window
    assert drag_and_drop(target, file_mime(*paths)) == (True, True)


def test_drop_ends_with_a_ready_collection_and_filled_views(window, qtbot, tmp_path):
    corpus = tmp_path / "animals.txt"
    corpus.write_text("\n".join(f"the {a} number {i} runs" for i in range(60) for a in ("cat", "dog")), encoding="utf-8")
    progress_seen: list[tuple[int, int]] = []
    window.service.sig_progress.connect(lambda d, t, m: progress_seen.append((d, t)))
    drop(window, corpus)
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == 120, timeout=30_000)
    (collection,) = window.session.store.collections()
    assert collection.name == "animals" and collection.n_docs == 120
    assert any(total == 120 for _, total in progress_seen)
    qtbot.waitUntil(lambda: all(s.settled for s in window.host.slots.values()), timeout=120_000)
    assert window.host.slots["map"].result.coords.shape == (120, 2)
    assert window.host.slots["hubness"].result.occurrence.sum() == 120 * window.host.slots["hubness"].params.k


def test_bad_and_good_files_in_one_drop(window, qtbot, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("text,label\nhello there,a\ngeneral kenobi,b\n", encoding="utf-8")
    bad = tmp_path / "image.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with qtbot.waitSignal(window.service.sig_import_done, timeout=30_000) as blocker:
        drop(window, good, bad)
    report = blocker.args[0].report
    assert report.documents == 2
    assert any("image.png" in issue.path for issue in report.issues)
    assert [c.name for c in window.session.store.collections()] == ["good"]


def test_selection_request_reaches_every_panel(window, qtbot, tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(f"sentence {i} about item {i % 7}" for i in range(40)), encoding="utf-8")
    drop(window, corpus)
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == 40, timeout=30_000)
    with qtbot.waitSignal(window.context.sig_selection_changed, timeout=5_000) as blocker:
        window.context.select(np.array([3, 5, 99]))
    assert blocker.args[0].tolist() == [3, 5]  # out-of-range rows are dropped


class ThreadRecordingEncoder(HashingEncoder):
    """The hashing model, noting the thread of every call."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self.threads: list[int] = []

    def encode(self, texts, batch_size=32):
        self.threads.append(threading.get_ident())
        return super().encode(texts, batch_size)


def test_semantic_search_is_encoded_off_the_gui_thread(qtbot, tmp_path):
    encoder = ThreadRecordingEncoder(64)
    win = MainWindow(discover(), model_name="hashing-64", encoder_factory=lambda name: encoder,
                     settings_file=tmp_path / "settings.json")
    win.show()
    try:
        assert win.workspace.open(tmp_path / "q.duckdb")
        corpus = tmp_path / "q.txt"
        corpus.write_text("apples and pears\nstars and planets\nfootball and goals\n", encoding="utf-8")
        drop(win, corpus)
        qtbot.waitUntil(lambda: win.session.view is not None and win.session.view.data.n == 3, timeout=30_000)
        qtbot.waitUntil(lambda: not win.service.busy, timeout=30_000)
        before = len(encoder.threads)
        with qtbot.waitSignal(win.context.sig_search_results, timeout=10_000) as blocker:
            win.context.sig_request_semantic_search.emit("stars and planets")
        rows, _ = blocker.args
        assert win.session.texts(rows[:1]) == ["stars and planets"]
        query_threads = encoder.threads[before:]
        assert len(query_threads) == 1 and query_threads[0] != threading.get_ident()  # not the GUI thread
    finally:
        close_quietly(win)


def test_semantic_search_with_the_bundled_model_finds_a_paraphrase(qtbot, tmp_path):
    """The real model through the window: the query shares no content word with the answer."""
    from core.encoder import DEFAULT_MODEL

    win = MainWindow(discover(), model_name=DEFAULT_MODEL, settings_file=tmp_path / "settings.json")
    win.show()
    try:
        assert win.workspace.open(tmp_path / "real.duckdb")
        corpus = tmp_path / "topics.txt"
        docs = ["The goalkeeper saved a penalty in the final minute.", "Whisk the eggs with sugar until fluffy.",
                "The telescope discovered a planet orbiting a distant star.", "Interest rates rose again this quarter.",
                "The violinist performed a sonata by Brahms."]
        corpus.write_text("\n".join(docs), encoding="utf-8")
        drop(win, corpus)
        qtbot.waitUntil(lambda: win.session.view is not None and win.session.view.data.n == 5, timeout=120_000)
        qtbot.mouseClick(win.map_panel.meaning_button, Qt.LeftButton)  # search by meaning
        assert win.map_panel.meaning_button.isChecked()
        edit = win.map_panel.search_edit
        with qtbot.waitSignal(win.context.sig_search_results, timeout=60_000) as blocker:
            qtbot.keyClicks(edit, "astronomers spotted a new world around a faraway sun")
            qtbot.keyClick(edit, Qt.Key_Return)
        rows, scores = blocker.args
        assert win.session.texts(rows[:1]) == [docs[2]] and scores[0] > scores[1]
    finally:
        close_quietly(win)


def test_cancel_stops_embedding_and_keeps_finished_batches(qtbot, tmp_path):
    encoder = GatedEncoder(64, free=3)
    win = MainWindow(discover(), model_name="hashing-64", encoder_factory=lambda name: encoder)
    win.show()
    try:
        assert win.workspace.open(tmp_path / "cancel.duckdb")
        corpus = tmp_path / "long.txt"
        corpus.write_text("\n".join(f"text {i}" for i in range(3000)), encoding="utf-8")
        committed: list[int] = []
        win.service.sig_batch_committed.connect(lambda ids, done, total: committed.append(done))
        win.import_paths([str(corpus)])
        qtbot.waitUntil(lambda: len(committed) >= 3, timeout=30_000)  # the fourth part waits at the gate
        with qtbot.waitSignal(win.service.sig_cancelled, timeout=30_000):
            qtbot.mouseClick(win._cancel, Qt.LeftButton)  # the status bar's Cancel button
            encoder.gate.set()
        qtbot.waitUntil(lambda: not win.service.busy, timeout=10_000)
        store = win.session.store
        model_id = store.ensure_model("hashing-64")
        embedded = 3000 - store.count_pending([1], model_id)
        assert encoder.calls == 4 and committed[-1] <= embedded < 3000  # the part in flight ends, no fifth starts
    finally:
        encoder.gate.set()
        close_quietly(win)


def test_every_panel_preview_builds_offscreen(qtbot):
    from collections import Counter

    import pyqtgraph as pg

    for spec in discover().specs:
        panel = spec.resolve_panel().preview()
        qtbot.addWidget(panel)
        panel.resize(800, 500)
        panel.show()
        qtbot.waitExposed(panel)
        image = panel.grab().toImage()
        assert image.width() >= 800 and image.height() >= 500, spec.id  # at least the asked size
        rows, figures = panel.table_rows(), panel.figure_items()
        assert isinstance(rows, list) and isinstance(figures, dict)
        assert rows or figures, f"{spec.id}: the preview's sample data shows no table or figure"
        for name, plot in figures.items():  # each figure draws its sample data, inside its plot area
            drawn = [item for item in plot.listDataItems() if getattr(item, "getData", None) is not None
                     and item.getData()[0] is not None and len(item.getData()[0]) > 0]
            images = [item for item in plot.items if isinstance(item, pg.ImageItem) and item.image is not None]
            assert drawn or images, f"{spec.id}: figure {name!r} is empty"
            area = plot.getViewBox()
            rect = area.mapRectToScene(area.boundingRect()).toRect()
            view = area.scene().views()[0]
            shot = view.grab(view.mapFromScene(area.mapRectToScene(area.boundingRect())).boundingRect()).toImage()
            assert rect.width() > 20 and shot.width() > 20, f"{spec.id}: figure {name!r} has no room"
            colours = Counter(shot.pixel(x, y) for x in range(0, shot.width(), 3) for y in range(0, shot.height(), 3))
            background_share = colours.most_common(1)[0][1] / sum(colours.values())
            assert background_share < 0.995, f"{spec.id}: figure {name!r} draws nothing in its plot area"
        texts = [w.text() for w in panel.findChildren(QLabel) if w.isVisible() and w.text().strip()]
        assert texts, f"{spec.id}: no label shows anything"
        panel.hide()


def test_corrected_space_becomes_a_derived_set_and_the_views_switch_to_it(window, qtbot, tmp_path):
    corpus = tmp_path / "d.txt"
    corpus.write_text("\n".join(f"entry {i} mentions topic {i % 5}" for i in range(50)), encoding="utf-8")
    drop(window, corpus)
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == 50, timeout=30_000)
    qtbot.waitUntil(lambda: not window.service.busy, timeout=30_000)
    raw = window.session.view.data.vectors.copy()
    with qtbot.waitSignal(window.service.sig_derived_done, timeout=30_000):
        window.context.derive_set("centred", lambda x: x - x.mean(axis=0))
    store = window.session.store
    derived = next(m for m in store.models() if m.kind == "derived")
    assert derived.name.startswith("hashing-64 · centred")
    qtbot.waitUntil(lambda: window.session.view.model_id == derived.id, timeout=30_000)
    np.testing.assert_allclose(window.session.view.data.vectors, raw - raw.mean(axis=0), atol=1e-6)
    _, _, still_raw = store.load_vectors((1,), next(m for m in store.models() if m.name == "hashing-64").id)
    np.testing.assert_array_equal(still_raw, raw)  # the raw vectors are never overwritten


def test_opening_a_workspace_redoes_an_interrupted_import(qtbot, tmp_path):
    from core.ingest import IngestOptions, IngestReport, expand_paths
    from core.pipeline import content_hash
    from core.store import Store

    corpus = tmp_path / "crashed.txt"
    corpus.write_text("\n".join(f"sentence {i}" for i in range(30)), encoding="utf-8")
    path = tmp_path / "crashed.duckdb"
    store = Store.open(path)  # what a crash mid-import leaves behind: a collection still 'importing', half filled
    digest = content_hash(corpus, expand_paths([corpus], IngestReport()), IngestOptions())
    cid = store.create_collection("crashed", str(corpus), digest, status="importing")
    store.add_documents(cid, [f"sentence {i}" for i in range(10)])
    store.close()
    win = MainWindow(discover(), model_name="hashing-64", settings_file=tmp_path / "settings.json")
    try:
        assert win.workspace.open(path)
        qtbot.waitUntil(lambda: win.session.store.collections()[0].status == "ready", timeout=30_000)
        qtbot.waitUntil(lambda: not win.service.busy, timeout=30_000)
        (collection,) = win.session.store.collections()
        assert collection.n_docs == 30
        assert win.session.store.count_pending([cid], win.session.store.ensure_model("hashing-64")) == 0
    finally:
        close_quietly(win)


def test_a_search_answer_for_a_previous_view_is_dropped(window, qtbot, tmp_path):
    corpus = tmp_path / "q.txt"
    corpus.write_text("apples and pears\nstars and planets\nfootball and goals\n", encoding="utf-8")
    drop(window, corpus)
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == 3, timeout=30_000)
    shown: list = []
    window.context.sig_search_results.connect(lambda rows, scores: shown.append(rows))
    with qtbot.waitSignal(window.service.sig_query_done, timeout=10_000):  # entered before the query is sent
        window.context.sig_request_semantic_search.emit("stars and planets")
        window._query_key = "another view"  # the view changed while the query was on its way
    assert shown == []


def test_warm_up_loads_the_model_and_imports_every_view_before_a_drop(window, qtbot, monkeypatch):
    import sys

    from gui.app import warm_up
    from core import umap_process

    monkeypatch.setattr(umap_process, "warm_up", lambda: None)  # the compile is tested in test_map
    computes = {slot.spec.compute.split(":")[0] for slot in window.host.slots.values()}
    for name in computes:
        monkeypatch.delitem(sys.modules, name, raising=False)
    with qtbot.waitSignal(window.service.sig_preloaded, timeout=30_000) as blocker:
        warm_up(window)
    assert blocker.args == ["hashing-64"] and "hashing-64" in window.service._encoders
    qtbot.waitUntil(lambda: computes <= set(sys.modules), timeout=30_000)


def test_a_model_that_cannot_load_is_not_reported_by_the_preload(window, qtbot):
    errors: list = []
    window.service.sig_error.connect(errors.append)
    with qtbot.waitSignal(window.service.sig_preloaded, timeout=30_000):
        window.service.preload("/no/such/model/folder")
    assert errors == [] and "/no/such/model/folder" not in window.service._encoders
