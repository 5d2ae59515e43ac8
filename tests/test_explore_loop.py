"""The explore loop as a person drives it, through the real window and real input events:
look at the map, click a point, read its neighbours, lasso, box, Esc, Ctrl+A, search and
click a result, hover, colour, untick a collection, recompute the layout.

One window serves the module (UMAP's first fit compiles numba in its worker process);
the tests run in the order a person would go.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from core.registry import discover
from gui.main_window import MainWindow
from tests.gui_input import click, drag, move, pixel_of, wait_drawn
from tests.test_main_window import close_quietly
from tests.test_map import winding_inside

WORDS = ("river", "mountain", "harbour", "violin", "orbit", "protein", "ledger", "glacier", "sonnet", "circuit")


def _papers(path) -> None:
    rng = np.random.default_rng(3)
    rows = ["text,lang"]
    for i in range(90):
        topic = WORDS[i % 5]
        words = " ".join(rng.choice(WORDS, 3))
        lang = ("en", "de", "")[i % 3]  # a third have no value: "(missing)" in the legend
        rows.append(f'"paper {i} on the {topic} {topic} with {words}",{lang}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _notes(path) -> None:
    rng = np.random.default_rng(4)
    path.write_text("\n".join(f"note {i} about a {WORDS[5 + i % 5]} and {' '.join(rng.choice(WORDS, 2))}"
                              for i in range(60)) + "\n", encoding="utf-8")


def _settled(window: MainWindow, n: int) -> bool:
    """The view holds ``n`` rows and every view has its final answer for them."""
    view = window.session.view if window.session is not None else None
    slot = window.host.slots["map"]
    return (view is not None and view.data.n == n and not window.service.busy and window.host.is_idle()
            and slot.result is not None and not slot.result.partial and len(slot.result.coords) == n
            and window.map_panel.n_rows == n)


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    folder = tmp_path_factory.mktemp("loop")
    _papers(folder / "papers.csv")
    _notes(folder / "notes.txt")
    win = MainWindow(discover(), model_name="hashing-64", settings_file=folder / "settings.json")
    win.resize(1300, 900)
    win.show()
    assert win.workspace.open(folder / "loop.duckdb")
    win.import_paths([str(folder / "papers.csv"), str(folder / "notes.txt")])
    yield win
    close_quietly(win)


@pytest.fixture
def loop(window, qtbot):
    """The window, settled on both collections, with the map laid out on screen and nothing selected."""
    qtbot.waitUntil(lambda: _settled(window, 150), timeout=180_000)
    wait_drawn(qtbot, window.map_panel.view, range(window.map_panel.n_rows))
    window.selection.select_none()
    return window


def neighbour_rows(window: MainWindow) -> list[int]:
    table = window.host.slots["neighbours"].panel.neighbours
    return [int(table.item(i, 0).data(Qt.UserRole)) for i in range(table.rowCount())]


def assert_true_neighbours(window: MainWindow, row: int, shown: list[int]) -> None:
    """``shown`` are ``row``'s most cosine-similar other documents, by numpy brute force (ties in
    similarity may swap which documents tie, so similarities are compared)."""
    x = window.session.view.data.vectors.astype(np.float64)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = unit @ unit[row]
    sims[row] = -np.inf
    assert len(shown) >= 5 and row not in shown
    best = np.sort(sims)[::-1][: len(shown)]
    np.testing.assert_allclose(np.sort(sims[shown])[::-1], best, atol=1e-5)


def lonely_row(view, min_px: float) -> int:
    from scipy.spatial import cKDTree

    pixels = np.array([pixel_of(view, p).toTuple() for p in view.xy], dtype=np.float64)
    dist, _ = cKDTree(pixels).query(pixels, k=2)
    return int(np.argmax(dist[:, 1]))  # the most isolated point on screen


def links_drawn(window: MainWindow) -> int:
    x = window.map_panel.view._links.xData
    return 0 if x is None else len(x) // 2


def press(qtbot, window: MainWindow, key, modifier=Qt.NoModifier) -> None:
    """A key pressed while the map has the keyboard focus."""
    view = window.map_panel.view
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    qtbot.keyClick(view, key, modifier)


def test_a_click_on_a_point_shows_its_neighbours_and_their_lines(loop, qtbot):
    view = loop.map_panel.view
    row = lonely_row(view, 10)
    with qtbot.waitSignal(loop.context.sig_selection_changed, timeout=5_000):
        click(qtbot, view.viewport(), pixel_of(view, view.xy[row]))
    assert loop.session.selection.tolist() == [row]
    shown = neighbour_rows(loop)
    assert_true_neighbours(loop, row, shown)
    assert links_drawn(loop) == len(shown)  # a line from the document to each neighbour
    assert "1 selected" in loop.map_panel.info_label.text()


def test_a_click_a_few_pixels_off_still_picks_the_point(loop, qtbot):
    view = loop.map_panel.view
    row = lonely_row(view, 10)
    with qtbot.waitSignal(loop.context.sig_selection_changed, timeout=5_000):
        click(qtbot, view.viewport(), pixel_of(view, view.xy[row]) + QPoint(4, 4))
    assert loop.session.selection.tolist() == [row]


def test_esc_clears_the_selection_the_table_and_the_lines(loop, qtbot):
    view = loop.map_panel.view
    row = lonely_row(view, 10)
    click(qtbot, view.viewport(), pixel_of(view, view.xy[row]))
    qtbot.waitUntil(lambda: links_drawn(loop) > 0)
    press(qtbot, loop, Qt.Key_Escape)
    assert loop.session.selection.size == 0
    assert neighbour_rows(loop) == [] and links_drawn(loop) == 0


def test_lasso_then_box_then_select_all(loop, qtbot):
    view = loop.map_panel.view
    row = lonely_row(view, 10)
    click(qtbot, view.viewport(), pixel_of(view, view.xy[row]))
    qtbot.waitUntil(lambda: links_drawn(loop) > 0)
    area = view.mapFromScene(view.vb.sceneBoundingRect()).boundingRect()
    c, w, h = area.center(), area.width() / 100, area.height() / 100
    path = [c + QPoint(round(dx * w), round(dy * h)) for dx, dy in ((-40, -35), (38, -40), (40, 36), (-36, 33))]
    went = drag(qtbot, view.viewport(), path, Qt.ShiftModifier)
    polygon = np.array([view.vb.mapSceneToView(view.mapToScene(p)).toTuple() for p in went])
    inside = winding_inside(view.xy, polygon)  # brute-force angles, not the app's even-odd test
    assert inside.size > 5 and row not in inside  # the lasso leaves the clicked point out
    assert np.array_equal(loop.session.selection, inside)
    assert links_drawn(loop) == 0 or int(loop.map_panel._links[0]) in inside  # no line from a deselected point
    a, b = area.topLeft() + QPoint(5, 5), area.center()
    (x0, y0), (x1, y1) = (view.vb.mapSceneToView(view.mapToScene(p)).toTuple() for p in (a, b))
    boxed = [i for i, (x, y) in enumerate(view.xy) if min(x0, x1) <= x <= max(x0, x1) and min(y0, y1) <= y <= max(y0, y1)]
    assert boxed
    drag(qtbot, view.viewport(), [a, b], Qt.ControlModifier)
    assert loop.session.selection.tolist() == boxed
    press(qtbot, loop, Qt.Key_A, Qt.ControlModifier)
    assert loop.session.selection.size == 150 and "150 selected" in loop.map_panel.info_label.text()


def test_typing_a_search_lists_results_and_a_click_on_one_selects_it(loop, qtbot):
    panel = loop.map_panel
    panel.search_edit.setFocus()
    qtbot.keyClicks(panel.search_edit, "glacier")
    qtbot.waitUntil(lambda: panel.results.isVisible() and panel.results.rows.size > 0)
    texts = loop.session.texts(np.arange(150))
    counts = [t.lower().count("glacier") for t in texts]
    expected = sorted((i for i, c in enumerate(counts) if c), key=lambda i: (-counts[i], i))
    assert panel.results.rows.tolist() == expected
    assert panel.results.count_label.text().startswith(f"{len(expected)} documents contain")
    result_list = panel.results.list
    cell = result_list.visualRect(result_list.model().index(1, 2)).center()
    with qtbot.waitSignal(loop.context.sig_selection_changed, timeout=5_000):
        qtbot.mouseClick(result_list.viewport(), Qt.LeftButton, pos=cell)
    assert loop.session.selection.tolist() == [expected[1]]
    assert_true_neighbours(loop, expected[1], neighbour_rows(loop))
    panel.search_edit.clear()


def test_hover_shows_the_document(loop, qtbot):
    view = loop.map_panel.view
    row = lonely_row(view, 10)
    move(qtbot, view.viewport(), pixel_of(view, view.xy[row]))
    label = loop.map_panel._hover_label
    qtbot.waitUntil(label.isVisible)
    assert label.text().startswith(loop.session.texts([row])[0][:40])


def test_colour_by_language_has_a_titled_legend_with_missing(loop):
    panel = loop.map_panel
    panel.color_box.setCurrentIndex(panel.color_box.findData("label:lang"))
    assert "lang" in panel.legend.title.text
    assert set(panel.legend.names()) == {"en", "de", "(missing)"}  # the notes have no lang either


def test_unticking_a_collection_gives_a_fresh_layout_and_recompute_agrees(loop, qtbot):
    tree = loop.collections._tree
    notes = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount()) if tree.topLevelItem(i).text(0) == "notes")
    tree.setCurrentItem(notes)
    tree.setFocus()
    qtbot.keyClick(tree.viewport(), Qt.Key_Space)  # untick it
    qtbot.waitUntil(lambda: _settled(loop, 90), timeout=120_000)
    after_untick = loop.host.slots["map"].result
    manifest = loop.map_panel.figure_payload()["manifest"]
    assert manifest["layout_init"].startswith("fresh layout") and "random_state 42" in manifest["layout_init"]
    loop.activateWindow()
    qtbot.waitUntil(loop.isActiveWindow)
    with qtbot.waitSignal(loop.host.sig_layout_changed, timeout=120_000):
        qtbot.keyClick(loop.map_panel.view, Qt.Key_R, Qt.ControlModifier)  # Recompute layout
    recomputed = loop.host.slots["map"].result
    assert recomputed is not after_untick and recomputed.init.startswith("fresh layout")
    np.testing.assert_allclose(recomputed.coords, after_untick.coords, atol=1e-4)  # history left no mark
    tree.setCurrentItem(notes)
    qtbot.keyClick(tree.viewport(), Qt.Key_Space)  # tick it again: back to both collections
    qtbot.waitUntil(lambda: _settled(loop, 150), timeout=120_000)
    QApplication.processEvents()
