"""Long read-only lists: rows formatted only when shown, texts looked up a block at a time."""
from __future__ import annotations

from PySide6.QtCore import Qt

from gui.plain_widgets import ELIDE, ElidedLabel, TextsOnDemand, read_only_view


def test_long_list_reads_only_the_texts_it_shows(qtbot):
    asked: list[list[int]] = []

    def lookup(rows: list[int]) -> list[str]:
        asked.append(rows)
        return [f"<b>text</b> of row {r} " + "word " * 50 for r in rows]

    view = read_only_view(["Kind", "Size", "First text"], ["k", "s", "t"])
    qtbot.addWidget(view)
    view.resize(400, 200)
    firsts = list(range(1000, 6000))
    texts = TextsOnDemand(lookup, firsts, block=100)
    model = view.model()
    model.set_rows(len(firsts), lambda row, column: ("near", row + 2, texts[row])[column], key=lambda row: firsts[row])
    view.show()
    qtbot.waitExposed(view)
    assert model.rowCount() == 5000 and model.columnCount() == 3
    assert sum(map(len, asked)) < 5000  # the rows on screen, not the whole list
    far = model.index(4321, 2)
    shown = model.data(far)
    assert shown.startswith("<b>text</b> of row 5321") and len(shown) <= ELIDE and shown.endswith("…")
    assert asked[-1] == firsts[4300:4400]  # the block holding that row, once
    tip = model.data(far, Qt.ToolTipRole)
    assert "<b>" not in tip and "&lt;b&gt;" in tip  # document text stays plain
    assert model.data(model.index(7, 1)) == "9" and model.data(model.index(7, 0), Qt.TextAlignmentRole) is None
    assert model.data(model.index(7, 1), Qt.TextAlignmentRole) == int(Qt.AlignRight | Qt.AlignVCenter)
    assert model.data(model.index(7, 0), Qt.UserRole) == 1007
    assert model.headerData(2, Qt.Horizontal) == "First text" and model.headerData(1, Qt.Horizontal, Qt.ToolTipRole) == "s"
    before = len(asked)
    model.data(model.index(4350, 2))
    assert len(asked) == before  # same block: no second lookup


def test_elided_label_wraps_then_elides_and_keeps_the_whole_text(qtbot):
    words = " ".join(f"word{i}" for i in range(300))
    label = ElidedLabel(words, max_lines=2, tip="what this is")
    qtbot.addWidget(label)
    label.resize(300, 60)
    label.show()
    qtbot.waitExposed(label)
    assert len(label._shown) == 2 and label._shown[-1].endswith("…") and label.is_elided()
    assert label.text() == words and "word200" in label.toolTip()  # far past the shown lines (tooltips are capped)
    assert label.minimumSizeHint().width() < 100  # never the text's width
    label.setText("short")
    assert not label.is_elided() and label._shown == ["short"] and label.toolTip() == "what this is"
    image = label.grab().toImage()
    assert any(image.pixelColor(x, y) != image.pixelColor(0, 0) for x in range(60) for y in range(image.height()))
