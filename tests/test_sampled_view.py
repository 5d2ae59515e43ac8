"""Big views load a deterministic random sample: Store.count_vectors, load_vectors(sample=...), Session limit."""
from __future__ import annotations

import numpy as np
import pytest

from core.encoder import HashingEncoder
from core.store import Store, text_sha256

SIZES = {"a": 1200, "b": 600, "c": 200}  # 60 / 30 / 10 % of the documents


def _workspace(store: Store, embed_every: int = 1) -> tuple[dict[str, int], int]:
    """Three collections of SIZES documents; every ``embed_every``-th text embedded with hashing-64."""
    encoder = HashingEncoder(64)
    model = store.ensure_model("hashing-64", 64, True, None)
    ids = {}
    for name, n in SIZES.items():
        ids[name] = store.create_collection(name)
        texts = [f"{name} document {i}" for i in range(n)]
        store.add_documents(ids[name], texts, [{"i": i} for i in range(n)])
        store.add_embedding_set(ids[name], model)
        embedded = texts[::embed_every]
        store.write_vectors(model, [text_sha256(t) for t in embedded], encoder.encode(embedded))
    return ids, model


def lowest_priority_rows(store: Store, collection_ids, model, n: int) -> np.ndarray:
    """The documented sample, by brute force: of the embedded documents (a full load), the ``n`` whose
    text's SHA-256 starts with the smallest 15 hex digits (ties by id), in id order."""
    import hashlib

    full_ids, _, _ = store.load_vectors(collection_ids, model)
    texts = store.texts(full_ids)
    rank = [int(hashlib.sha256(t.encode("utf-8")).hexdigest()[:15], 16) for t in texts]
    return np.sort(full_ids[np.lexsort((full_ids, rank))[:n]])


def test_count_matches_the_full_load_without_reading_vectors(store):
    ids, model = _workspace(store, embed_every=3)
    doc_ids, _, _ = store.load_vectors(list(ids.values()), model)
    assert store.count_vectors(list(ids.values()), model) == len(doc_ids) == 400 + 200 + 67
    assert store.count_vectors([ids["c"]], model) == 67


def test_sample_is_exact_sorted_deterministic_and_the_full_rows(store, tmp_path):
    ids, model = _workspace(store)
    views = list(ids.values())
    full_ids, full_cols, full = store.load_vectors(views, model)
    doc_ids, cols, vectors = store.load_vectors(views, model, sample=500)
    assert vectors.shape == (500, 64) and vectors.dtype == np.float32 and vectors.flags.writeable
    assert np.all(np.diff(doc_ids) > 0)  # ordered by document id, no repeats
    rows = np.searchsorted(full_ids, doc_ids)
    assert np.array_equal(full_ids[rows], doc_ids)
    assert np.array_equal(full[rows], vectors) and np.array_equal(full_cols[rows], cols)
    again = store.load_vectors(views, model, sample=500)
    assert np.array_equal(again[0], doc_ids) and np.array_equal(again[2], vectors)
    small = store.load_vectors(views, model, sample=100)[0]
    assert np.isin(small, doc_ids).all()  # a smaller sample is a prefix of the same random order


def test_sample_covers_every_collection_proportionally(store):
    ids, model = _workspace(store)
    _, cols, _ = store.load_vectors(list(ids.values()), model, sample=500)
    shares = {name: np.mean(cols == cid) for name, cid in ids.items()}
    for name, n in SIZES.items():  # binomial sd at 500 draws <= 2.2 points; allow 4 sd
        assert abs(shares[name] - n / sum(SIZES.values())) < 0.09, shares


def test_sample_is_the_lowest_priority_embedded_rows_even_when_embedded_out_of_order(store):
    ids, model = _workspace(store, embed_every=7)  # every 7th text: not the lowest priorities
    views = list(ids.values())
    expected = lowest_priority_rows(store, views, model, 150)
    assert np.array_equal(store.load_vectors(views, model, sample=150)[0], expected)


def test_sample_above_the_total_is_the_full_load(store):
    ids, model = _workspace(store, embed_every=2)
    full = store.load_vectors([ids["b"]], model)
    sampled = store.load_vectors([ids["b"]], model, sample=10_000)
    assert all(np.array_equal(a, b) for a, b in zip(full, sampled))
    assert store.load_vectors([ids["b"]], model, sample=0)[0].size == 0


@pytest.mark.parametrize("limit, sampled", [(50, True), (10_000, False)])
def test_session_loads_a_sample_above_its_limit(store, qtbot, limit, sampled):
    from gui.session import Session

    ids, model = _workspace(store)
    session = Session(store, sample_limit=limit)
    try:
        with qtbot.waitSignal(session.sig_view_loaded, timeout=10_000) as blocker:
            session.set_view(tuple(ids.values()), model)
        view = session.adopt(blocker.args[0])
    finally:
        session.close()
    assert view.total_rows == 2000 and view.sampled is sampled
    assert view.data.n == (50 if sampled else 2000) == len(view.labels["collection"])
    assert len(view.data.extras["hashes"]) == view.data.n
    if sampled:
        assert view.sample_note == "Random sample of 50 of 2,000 documents"
        assert view.provenance() == {"sample": view.sample_note, "documents_loaded": 50, "documents_total": 2000}
        assert np.array_equal(view.data.doc_ids, lowest_priority_rows(store, list(ids.values()), model, 50))
    else:
        assert view.sample_note == "" and view.provenance() == {}


def test_changing_the_limit_reloads_the_view(store, qtbot):
    from gui.session import Session

    ids, model = _workspace(store)
    session = Session(store, sample_limit=10_000)
    try:
        with qtbot.waitSignal(session.sig_view_loaded, timeout=10_000) as blocker:
            session.set_view((ids["a"],), model)
        assert session.adopt(blocker.args[0]).data.n == 1200
        with qtbot.waitSignal(session.sig_view_loaded, timeout=10_000) as blocker:
            session.set_sample_limit(300)
        view = session.adopt(blocker.args[0])
    finally:
        session.close()
    assert view.data.n == 300 and view.total_rows == 1200 and session.sample_limit == 300


def test_map_info_says_the_view_is_a_sample(qtbot):
    from plugins.map.panel import MapPanel

    panel = MapPanel.preview(n=500)
    qtbot.addWidget(panel)
    assert "500 points" in panel.info_label.text()
    panel.context.set_data(500, panel.context.labels, provenance={"sample": "Random sample of 500 of 9,000 documents",
                                                                  "documents_loaded": 500, "documents_total": 9000})
    panel.show_result(panel._result)
    assert "500 of 9,000 (sample)" in panel.info_label.text()


def test_sample_limit_setting_round_trips_and_rejects_nonsense():
    from core.settings import DEFAULT_SAMPLE_LIMIT, Settings, from_dict, to_dict

    assert Settings().sample_limit == DEFAULT_SAMPLE_LIMIT == 1_000_000
    assert from_dict(to_dict(Settings(sample_limit=250_000)))[0].sample_limit == 250_000
    settings, problems = from_dict({"version": 2, "sample_limit": 0})
    assert settings.sample_limit == DEFAULT_SAMPLE_LIMIT and problems


def test_settings_dialog_edits_the_sample_limit(qtbot):
    from core.settings import Settings
    from gui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings(sample_limit=200_000))
    qtbot.addWidget(dialog)
    assert dialog.sample_limit.value() == 200_000
    dialog.sample_limit.setValue(3_000_000)
    assert dialog.settings().sample_limit == 3_000_000
