"""The document card, driven as a person would: drop a CSV, read a document, click its
neighbours, go back with Alt+Left, pick the title column with the mouse and the keyboard."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTableWidget

from core.registry import discover
from gui.document_card import TEXT_AS_TITLE
from gui.main_window import MainWindow
from tests.test_main_window import close_quietly, drop  # a real QDropEvent into the window's dropEvent

TOPICS = ("cats purr on warm windowsills", "ships cross the cold northern sea", "bread rises slowly in the oven")


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(discover(), model_name="hashing-64", settings_file=tmp_path / "settings.json")
    win.resize(1300, 900)
    win.show()
    assert win.workspace.open(tmp_path / "card.duckdb")
    yield win
    close_quietly(win)


def papers_csv(tmp_path, copies: int = 3) -> tuple[str, list[int], list[str]]:
    """A paper table whose own ``id`` column (9000…) differs from any internal id; the abstract of
    paper 0 appears ``copies`` times."""
    ids = list(range(9000, 9030))
    titles = [f"Paper {i}: {TOPICS[i % 3].split()[0]}" for i in range(30)]
    abstracts = [f"{TOPICS[i % 3]} and note {i} adds detail number {i * 7} to the study" for i in range(30)]
    for i in range(1, copies):
        abstracts[i * 3] = abstracts[0]
    lines = ["id,title,lang,abstract"] + [f"{i},{t},en,{a}" for i, t, a in zip(ids, titles, abstracts)]
    path = tmp_path / "papers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path), ids, titles


def loaded(window: MainWindow, qtbot, n: int) -> None:
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == n, timeout=30_000)
    qtbot.waitUntil(lambda: window.card.neighbours is not None and window.card.neighbours.graph.n == n, timeout=60_000)


def click_row(table: QTableWidget, row: int, qtbot) -> int:
    """Click a table row where it is drawn; the document row it names."""
    item = table.item(row, 0)
    target = int(item.data(Qt.UserRole))
    table.scrollToItem(item)
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=table.visualItemRect(item).center())
    return target


def fields(window: MainWindow) -> dict[str, str]:
    table = window.card.fields
    return {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}


def test_card_reads_a_document_follows_its_neighbours_and_walks_back(window, qtbot, tmp_path):
    path, ids, titles = papers_csv(tmp_path)
    drop(window, path)
    loaded(window, qtbot, 30)
    card = window.card
    assert card.title_column == "title"  # guessed
    window.session.select([4])
    assert card.row == 4 and card.heading.text() == titles[4]
    assert card.text.toPlainText().startswith(TOPICS[1]) and card.text.isReadOnly()
    shown = fields(window)
    assert shown["id"] == str(ids[4]) and shown["title"] == titles[4] and shown["lang"] == "en"
    assert shown["_doc_id"] == str(int(window.session.view.data.doc_ids[4])) and shown["collection"] == "papers"

    listed = [card.nbr_table.item(r, 0).text() for r in range(card.nbr_table.rowCount())]
    assert listed and all(name in titles for name in listed)
    target = click_row(card.nbr_table, 2, qtbot)
    assert card.row == target != 4 and card.heading.text() == titles[target]
    assert window.session.selection.tolist() == [target]  # the map selects it too
    back_from = click_row(card.rev_table, 0, qtbot) if card.rev_table.rowCount() else target

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    QTest.keySequence(window, QKeySequence("Alt+Left"))
    assert card.row == (target if back_from != target else 4)
    QTest.keySequence(window, QKeySequence("Alt+Left"))
    QTest.keySequence(window, QKeySequence("Alt+Left"))
    assert card.row == 4 and not card.back.isEnabled()
    qtbot.mouseClick(card.forward, Qt.LeftButton)
    assert card.row == target


def test_title_column_is_chosen_by_mouse_and_keys_and_remembered(window, qtbot, tmp_path):
    path, ids, titles = papers_csv(tmp_path)
    drop(window, path)
    loaded(window, qtbot, 30)
    card = window.card
    window.session.select([7])
    box = card.title_box
    box.setFocus()
    qtbot.keyClick(box, Qt.Key_Home)  # the first entry: the start of the text
    assert box.currentText() == TEXT_AS_TITLE and card.heading.text().startswith(TOPICS[1][:20])
    index = box.findText("id")
    qtbot.mouseClick(box, Qt.LeftButton)
    qtbot.waitUntil(lambda: box.view().isVisible(), timeout=5_000)
    view = box.view()  # the open list: walk down to "id" and take it with Enter
    for _ in range(index - view.currentIndex().row()):
        qtbot.keyClick(view, Qt.Key_Down)
    qtbot.keyClick(view, Qt.Key_Return)
    assert card.title_column == "id" and card.heading.text() == str(ids[7])
    assert card.nbr_table.item(0, 0).text() in {str(i) for i in ids}
    assert window.session.store.preference("title_column") == "id"
    card.attach(window.session)  # as when the workspace is opened again
    assert card.title_column == "id"


def test_user_id_column_is_kept_everywhere(window, qtbot, tmp_path):
    path, ids, _ = papers_csv(tmp_path)
    drop(window, path)
    loaded(window, qtbot, 30)
    labels = window.context.labels
    assert [float(v) for v in labels["id"]] == [float(i) for i in ids]  # the colour list offers the user's ids
    assert set(labels) >= {"id", "title", "lang", "collection"}
    table = window.selection_actions.table(np.array([0, 1]))
    assert [int(v) for v in table["id"]] == ids[:2] and table["_doc_id"] != table["id"]


def test_copies_are_listed_once_and_counted(window, qtbot, tmp_path):
    path, _, titles = papers_csv(tmp_path, copies=3)
    drop(window, path)
    loaded(window, qtbot, 30)
    card = window.card
    window.session.select([0])
    assert "appears 3 times" in card.note.text()
    texts = window.session.texts(np.arange(30))
    for table in (card.nbr_table, card.rev_table):
        rows = [int(table.item(r, 0).data(Qt.UserRole)) for r in range(table.rowCount())]
        assert texts[0] not in [texts[r] for r in rows]  # never a copy of the document itself
        assert len({texts[r] for r in rows}) == len(rows)
    window.session.select([0, 3, 6])  # a lasso over the copies: the card keeps the one clicked last
    assert card.row == 0 and card.note.text().startswith("3 selected")


def test_a_drop_replaces_the_demo_in_view_and_later_drops_add_to_it(window, qtbot, tmp_path):
    from gui.workspace import demo_corpus_path

    window.import_paths([str(demo_corpus_path())])
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == 326, timeout=60_000)
    (demo,) = window.collections.checked_ids()
    path, _, _ = papers_csv(tmp_path)
    drop(window, path)
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == 30, timeout=60_000)
    papers = [c.id for c in window.session.store.collections() if c.name == "papers"]
    assert list(window.collections.checked_ids()) == papers  # the demo left the view…
    assert demo in [c.id for c in window.session.store.collections()]  # …not the workspace
    more = tmp_path / "more.txt"
    more.write_text("\n".join(f"another line {i} about gardens" for i in range(10)), encoding="utf-8")
    drop(window, str(more))
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.data.n == 40, timeout=60_000)
    assert demo not in window.collections.checked_ids() and len(window.collections.checked_ids()) == 2
