"""The map at scale: density binning, fast colour groups, shared point records,
and the store's streamed, memory-bounded bulk reads (issue #3)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core.store as store_module
from core.store import Store, text_sha256
from core.workspace_file import WorkspaceError
from gui.scatter import (PALETTE, DensityBinner, ScatterView, categorical_groups, category_codes, continuous_groups,
                         rows_by_code)

# ------------------------------------------------------------------ density binning


def test_binner_counts_points_at_cell_centres_exactly():
    w, h = 8, 5
    i, j = np.meshgrid(np.arange(w), np.arange(h), indexing="ij")
    repeat = (i * h + j + 1).ravel()  # a different count in every cell
    centres = np.column_stack([(i.ravel() + 0.5) * 2.0 - 3.0, (j.ravel() + 0.5) * 0.5 + 1.0])
    xy = np.repeat(centres, repeat, axis=0).astype(np.float32)
    xy = np.vstack([xy, [[np.nan, 2.0], [100.0, 2.0], [0.0, -50.0]]]).astype(np.float32)  # NaN and outside: not counted
    counts = DensityBinner(xy).counts((-3.0, -3.0 + 2.0 * w), (1.0, 1.0 + 0.5 * h), (w, h))
    assert counts.shape == (w, h) and np.array_equal(counts.ravel(), repeat)


def test_binner_total_is_the_points_in_view_and_matches_histogram2d():
    rng = np.random.default_rng(3)
    xy = rng.normal(size=(20_000, 2)).astype(np.float32)
    binner = DensityBinner(xy)
    for x_range, y_range in (((-1.0, 1.5), (-0.5, 2.0)), ((0.3, 0.9), (-2.0, -1.0))):
        counts = binner.counts(x_range, y_range, (40, 30))
        x, y = xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64)
        inside = (x >= x_range[0]) & (x < x_range[1]) & (y >= y_range[0]) & (y < y_range[1])
        reference, _, _ = np.histogram2d(x, y, bins=(40, 30), range=[x_range, y_range])
        assert abs(int(counts.sum()) - int(inside.sum())) <= 2  # float32 rounding at the edges only
        assert np.abs(counts - reference).sum() <= 0.002 * inside.sum()


def test_binner_empty_view_and_no_points():
    assert DensityBinner(np.empty((0, 2), np.float32)).counts((0, 1), (0, 1), (4, 3)).sum() == 0
    assert DensityBinner(np.ones((5, 2), np.float32)).counts((1, 1), (0, 2), (4, 3)).sum() == 0


@pytest.fixture
def view(qtbot):
    view = ScatterView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    return view


def blobs(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(6, 2))
    return (centres[rng.integers(0, 6, n)] + rng.normal(size=(n, 2))).astype(np.float32)


def inside_count(xy: np.ndarray, view: ScatterView) -> int:
    (x0, x1), (y0, y1) = view.vb.viewRange()
    return int(((xy[:, 0] >= x0) & (xy[:, 0] < x1) & (xy[:, 1] >= y0) & (xy[:, 1] < y1)).sum())


def shows_view(view: ScatterView) -> bool:
    """The density image was binned for the view's current range."""
    return view._density_key is not None and view._density_key[:4] == tuple(np.ravel(view.vb.viewRange()))


def test_density_image_counts_the_points_in_view_and_follows_the_view(view, qtbot):
    xy = blobs(30_000)
    view.set_render_mode("density")
    view.set_coords(xy, autorange=True)
    view.set_groups(categorical_groups(np.repeat(["a", "b"], 15_000)))
    qtbot.waitUntil(lambda: shows_view(view))
    assert view.density_active and view._density.isVisible() and not view.group_items[0].isVisible()
    first = np.expm1(view._density.image.astype(np.float64))
    assert abs(first.sum() - inside_count(xy, view)) <= 0.001 * len(xy) + 2
    (x0, x1), (y0, y1) = view.vb.viewRange()
    view.vb.setRange(xRange=(x0 + 0.5 * (x1 - x0), x1 + 0.5 * (x1 - x0)), yRange=(y0, y1), padding=0)
    qtbot.waitUntil(lambda: shows_view(view))
    moved = np.expm1(view._density.image.astype(np.float64))
    assert abs(moved.sum() - inside_count(xy, view)) <= 0.001 * len(xy) + 2
    assert moved.sum() < 0.9 * first.sum() and not np.array_equal(moved, first)
    rect = view._density.mapRectToParent(view._density.boundingRect())
    assert rect.left() == pytest.approx(view.vb.viewRange()[0][0], rel=1e-6, abs=1e-6)


def test_density_refresh_runs_once_after_a_burst_of_moves(view, qtbot, monkeypatch):
    xy = blobs(5_000, seed=1)
    view.set_render_mode("density")
    view.set_coords(xy, autorange=True)
    qtbot.waitUntil(lambda: view._density_key is not None)
    calls = []
    real = view._binner.counts
    monkeypatch.setattr(view._binner, "counts", lambda *a: calls.append(a) or real(*a))
    (x0, x1), (y0, y1) = view.vb.viewRange()
    for step in range(1, 6):  # a drag: five moves, no pause between them
        view.vb.setRange(xRange=(x0 + step, x1 + step), yRange=(y0, y1), padding=0)
    qtbot.waitUntil(lambda: len(calls) == 1)
    view._update_density()  # nothing moved since: nothing to re-bin
    assert len(calls) == 1 and calls[0][0][0] == pytest.approx(view.vb.viewRange()[0][0])


def test_auto_mode_switches_on_the_points_in_view(view, qtbot, monkeypatch):
    import gui.scatter as scatter

    monkeypatch.setattr(scatter, "DENSITY_THRESHOLD", 4_000)
    xy = blobs(6_000, seed=2)
    view.set_coords(xy, autorange=True)
    view.set_groups(categorical_groups(np.zeros(len(xy), dtype=int).astype(str)))
    qtbot.waitUntil(lambda: view.density_active)
    assert view.visible_count() == inside_count(xy, view) > 4_000
    (x0, x1), (y0, y1) = view.vb.viewRange()
    view.vb.setRange(xRange=(x0, x0 + 0.2 * (x1 - x0)), yRange=(y0, y0 + 0.2 * (y1 - y0)), padding=0)
    qtbot.waitUntil(lambda: not view.density_active)
    assert view.group_items[0].isVisible() and not view._density.isVisible()


# ------------------------------------------------------------------ colour groups


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab\u00e9\u4e00 ", max_size=4), max_size=60))
def test_category_codes_equal_np_unique(values):
    array = np.array(values, dtype=str)
    names, codes = category_codes(array)
    expected_names, expected_codes = np.unique(array, return_inverse=True)
    assert np.array_equal(names, expected_names) and np.array_equal(codes, expected_codes.ravel())


def test_category_codes_survive_a_hash_collision_and_other_dtypes():
    colliding = np.array(["\ua000\u7b1b", "\u34c1\u4e00", "\ua000\u7b1b"])  # equal 32-bit hashes
    names, codes = category_codes(colliding)
    assert names.tolist() == sorted(set(colliding.tolist())) and codes.tolist() == [1, 0, 1]
    names, codes = category_codes(np.array([3, None, 3], dtype=object))
    assert names.tolist() == ["3", "None"] and codes.tolist() == [0, 1, 0]
    assert category_codes(np.array([True, False]))[0].tolist() == ["False", "True"]
    assert category_codes(np.array([], dtype=str))[1].size == 0


def test_rows_by_code_lists_ascending_rows_per_code():
    codes = np.array([2, 0, 2, 1, 0, 2, 300])
    parts = rows_by_code(codes, 301)
    assert [p.tolist() for p in parts[:3]] == [[1, 4], [3], [0, 2, 5]] and parts[300].tolist() == [6]
    assert sum(p.size for p in parts) == codes.size


def test_categorical_groups_largest_first_and_other_sorted():
    values = np.array([f"c{i}" for i in np.random.default_rng(4).integers(0, 25, 5_000)])
    groups = categorical_groups(values, max_categories=20)
    sizes = [g.rows.size for g in groups[:20]]
    assert sizes == sorted(sizes, reverse=True) and groups[-1].name == "other (5 categories)"
    assert all(np.all(values[g.rows] == g.name) for g in groups[:20])
    assert np.all(np.diff(groups[-1].rows) > 0)
    assert np.array_equal(np.sort(np.concatenate([g.rows for g in groups])), np.arange(values.size))


def test_categories_keep_their_colours_as_counts_change_and_across_runs(tmp_path):
    from core.category_colours import CategoryColours

    early = np.array(["a"] * 5 + ["b"] * 3 + ["c"] * 1 + [""] * 2)
    later = np.array(["a"] * 5 + ["b"] * 3 + ["c"] * 40 + ["d"] * 7)  # c is now the largest, d is new
    store = Store.open(tmp_path / "colours.duckdb")
    try:
        first = categorical_groups(early, colours=CategoryColours(store), column="lang")
        assert [g.name for g in first] == ["a", "b", "c", "(missing)"]
        assert first[-1].rows.tolist() == [9, 10] and first[-1].z < min(g.z for g in first[:-1])
        colour = {g.name: g.color.name() for g in first}
        assert len(set(colour.values())) == 4
    finally:
        store.close()
    store = Store.open(tmp_path / "colours.duckdb")  # the next run of the app
    try:
        kept = categorical_groups(later, colours=CategoryColours(store), column="lang")
        assert [g.name for g in kept] == ["c", "d", "a", "b"]  # drawn by size, coloured by memory
        assert all(g.color.name() == colour[g.name] for g in kept if g.name in colour)
        assert kept[1].color.name() not in colour.values()  # a new value takes an unused colour
        assert all(np.all(later[g.rows] == g.name) for g in kept)
        other = categorical_groups(np.array(["x", "y"]), colours=CategoryColours(store), column="topic")
        assert other[0].color.name() == PALETTE[0].name()  # per column: another column starts afresh
    finally:
        store.close()


def test_continuous_groups_bin_rows_keep_missing_and_count_the_clipped():
    import pyqtgraph as pg

    values = np.r_[np.linspace(0, 1, 1_000), np.nan, np.nan]
    groups, scale = continuous_groups(values, pg.colormap.get("viridis"))
    assert groups[0].name == "(missing)" and groups[0].rows.tolist() == [1_000, 1_001] and scale.missing == 2
    assert scale.lo == pytest.approx(0.01, abs=1e-3) and scale.hi == pytest.approx(0.99, abs=1e-3)
    assert scale.below == sum(v < scale.lo for v in values[:1000]) == scale.above == 10
    means = [values[g.rows].mean() for g in groups[1:]]
    assert means == sorted(means) and sum(g.rows.size for g in groups) == values.size
    counts = np.r_[np.zeros(50), np.arange(1_000) % 30, [70, 64]]  # N_k-like: whole numbers, a long tail
    _, scale = continuous_groups(counts, pg.colormap.get("viridis"))
    assert scale.lo == 0 and scale.hi == float(int(scale.hi)) and (scale.vmin, scale.vmax) == (0, 70)
    assert scale.above == int(np.sum(counts > scale.hi)) > 0


def test_groups_draw_their_own_rows_from_shared_records(view):
    xy = blobs(3_000, seed=5)
    xy[7] = np.nan
    view.set_render_mode("points")
    view.set_coords(xy, autorange=True)
    for labels in (np.arange(3_000) % 3, np.arange(3_000) % 2):  # a recolour reuses the records
        groups = categorical_groups(labels.astype(str))
        view.set_groups(groups)
        assert len(view.group_items) == len(groups)
        for item, group in zip(view.group_items, groups):
            rows = group.rows[group.rows != 7]
            assert np.array_equal(item.data["x"], xy[rows, 0]) and np.array_equal(item.data["y"], xy[rows, 1])
            assert item.opts["brush"].color().rgb() == group.color.rgb()
            assert np.all(item.data["sourceRect"]["w"] > 0)  # every point has its symbol
    assert sum(len(item.data) for item in view.group_items) == 2_999
    view.set_coords(xy[:10], autorange=False)  # fewer rows: fresh records
    view.set_groups(categorical_groups(np.zeros(10, dtype=int).astype(str)))
    assert np.array_equal(view.group_items[0].data["x"], np.delete(xy[:10, 0], 7))


# ------------------------------------------------------------------ store: bulk reads


def workspace(store: Store, texts: list[str], dim: int = 5, embed: slice = slice(None)) -> tuple[int, int, dict]:
    cid = store.create_collection("c")
    store.add_documents(cid, texts, [{"topic": f"t{i % 3}", "n": i} for i in range(len(texts))])
    model = store.ensure_model("m", dim, False)
    unique = sorted(set(texts[embed]))[::-1]  # written in another order than the documents
    vectors = np.random.default_rng(0).normal(size=(len(unique), dim)).astype(np.float32)
    store.write_vectors(model, [text_sha256(t) for t in unique], vectors)
    return cid, model, dict(zip(unique, vectors))


def test_load_vectors_streams_batches_into_one_matrix(store, monkeypatch):
    monkeypatch.setattr(store_module, "LOAD_BATCH_ROWS", 7)
    texts = [f"text {i % 40}" for i in range(60)]  # 20 duplicates share their vector
    cid, model, by_text = workspace(store, texts, embed=slice(0, 50))
    store.add_documents(store.create_collection("other"), ["text 1"])  # not in the view
    limit = store._cur().sql("SELECT current_setting('memory_limit')").fetchall()
    ids, cols, matrix = store.load_vectors([cid], model)
    assert ids.tolist() == list(range(1, 61)) and cols.tolist() == [cid] * 60
    assert matrix.dtype == np.float32 and matrix.flags.writeable and matrix.flags.c_contiguous
    assert np.array_equal(matrix, np.stack([by_text[t] for t in texts]))
    assert store._cur().sql("SELECT current_setting('memory_limit')").fetchall() == limit  # the pool is back


def test_load_vectors_skips_unembedded_and_handles_none(store):
    cid, model, by_text = workspace(store, [f"t{i}" for i in range(10)], embed=slice(0, 4))
    ids, _, matrix = store.load_vectors([cid], model)
    assert len(ids) == len(by_text) == 4 and np.array_equal(matrix, np.stack([by_text[t] for t in store.texts(ids)]))
    empty_ids, _, empty = store.load_vectors([cid + 5], model)
    assert empty_ids.size == 0 and empty.shape == (0, 0)


def test_load_vectors_refuses_mixed_lengths(store):
    cid, model, _ = workspace(store, ["a", "b"], embed=slice(0, 1))
    store.write_vectors(model, [text_sha256("b")], np.ones((1, 3), np.float32))
    with pytest.raises(WorkspaceError, match="different lengths"):
        store.load_vectors([cid], model)
    store.add_documents(cid, ["c"])  # the failed read left no transaction open: writes still work
    assert len(store.texts([1, 2, 3])) == 3


def test_bulk_reads_nest_and_restore_the_buffer_pool(store):
    current = lambda: store._cur().sql("SELECT current_setting('memory_limit')").fetchall()[0][0]  # noqa: E731
    before = current()
    with store._bulk_read():
        inside = current()
        with store._bulk_read():
            pass
        assert current() == inside  # the outer read still holds the small pool
    assert inside != before and "MiB" in inside and current() == before


def test_labels_in_the_order_given_with_numbers_strings_and_odd_keys(store):
    cid = store.create_collection("docs")
    metas = [{"topic": "x", "year": 2020, "a/b~c": True, "mixed": 1, "none": None},
             {"topic": "y", "year": 2021.5, "mixed": "two", "text": "an input column named text"},
             {}]
    store.add_documents(cid, ["a", "b", "c"], metas)
    labels = store.labels(np.array([3, 1, 2, 99]))  # 99: unknown
    assert list(labels) == ["collection", "a/b~c", "mixed", "none", "text", "topic", "year"]  # input names kept
    assert labels["collection"].tolist() == ["docs", "docs", "docs", ""]
    assert labels["topic"].tolist() == ["", "x", "y", ""] and labels["topic"].dtype.kind == "U"
    assert labels["year"].dtype == np.float64 and labels["year"][1:3].tolist() == [2020.0, 2021.5]
    assert np.isnan(labels["year"][[0, 3]]).all()
    assert labels["mixed"].tolist() == ["", "1", "two", ""] and labels["a/b~c"].tolist() == ["", "true", "", ""]
    assert labels["none"].tolist() == ["", "", "", ""]


def test_wide_labels_become_object_arrays(store, monkeypatch):
    monkeypatch.setattr(store_module, "FIXED_WIDTH_LABEL_BYTES", 100)
    cid = store.create_collection("c")
    store.add_documents(cid, ["a", "b", "c"], [{"title": "x" * 50}, {"title": "short"}, {"title": "x" * 50}])
    title = store.labels(np.array([1, 2, 3]))["title"]
    assert title.dtype == object and title.tolist() == ["x" * 50, "short", "x" * 50] and title[0] is title[2]


def test_hashes_as_text_or_raw_digests(store):
    cid = store.create_collection("c")
    store.add_documents(cid, ["alpha", "beta"])
    text = store.hashes([2, 1, 7])
    assert text.dtype == object and text.tolist() == [text_sha256("beta"), text_sha256("alpha"), ""]
    raw = store.hashes(np.array([2, 1, 7]), raw=True)
    assert raw.dtype == np.dtype("S32") and raw[0] == bytes.fromhex(text_sha256("beta")) and raw[2] == b""
    assert store.hashes([], raw=True).shape == (0,)


def test_session_loads_raw_hashes_and_labels(store, qtbot):
    from gui.session import Session

    cid, model, _ = workspace(store, ["same", "same", "other"])
    session = Session(store)
    try:
        with qtbot.waitSignal(session.sig_view_loaded, timeout=10_000) as blocker:
            session.set_view((cid,), model)
        view = session.adopt(blocker.args[0])
        hashes = view.data.extras["hashes"]
        assert hashes.dtype == np.dtype("S32") and hashes[0] == hashes[1] != hashes[2]
        assert view.labels["topic"].tolist() == ["t0", "t1", "t2"] and view.data.vectors.shape == (3, 5)
    finally:
        session.close()
