"""Read-only tables and labels that show document text as plain text, shared by the panels."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent, QTextLayout, QTextOption
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFrame, QHeaderView, QLabel, QScrollArea, QSizePolicy,
                               QTableView, QTableWidget, QTableWidgetItem, QWidget)

from gui.panel_base import plain_tooltip
from gui.shown_text import capped

ELIDE = 160


def elide(text: str, limit: int = ELIDE) -> str:
    """One line of at most ``limit`` characters, no word longer than :data:`~gui.shown_text.WORD_CHARS`."""
    return capped(text, limit, one_line=True)


def _shown(value: Any) -> str:
    return elide(value) if isinstance(value, str) else f"{value:.3f}" if isinstance(value, float) else str(value)


def table_item(value: Any, row: int | None = None) -> QTableWidgetItem:
    """A read-only cell; numbers right-aligned, floats to 3 decimals; ``row`` is kept as data."""
    item = QTableWidgetItem(_shown(value))
    item.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled)
    if row is not None:
        item.setData(Qt.UserRole, row)
    if not isinstance(value, str):
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return item


def text_item(text: str) -> QTableWidgetItem:
    item = table_item(elide(text))
    item.setToolTip(plain_tooltip(text[:2000]))
    return item


def fill_table(table: QTableWidget, rows: list[list[QTableWidgetItem]]) -> None:
    """Replace the table's rows; emptying it first makes this ~100x faster than overwriting cells."""
    table.setRowCount(0)
    table.setRowCount(len(rows))
    for i, cells in enumerate(rows):
        for column, cell in enumerate(cells):
            table.setItem(i, column, cell)


def read_only_table(headers: Sequence[str], tips: Sequence[str], text_column: int = 2) -> QTableWidget:
    """Read-only table whose ``text_column`` takes the spare width."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    for column, tip in enumerate(tips):
        table.horizontalHeaderItem(column).setToolTip(tip)
    return _configured(table, text_column)


def _configured(view: QTableView, text_column: int) -> QTableView:
    """One look for every read-only table: whole-row single selection, no wrapping, text column stretched."""
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    view.setEditTriggers(QAbstractItemView.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectRows)
    view.setSelectionMode(QAbstractItemView.SingleSelection)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.ElideRight)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeToContents)
    header.setSectionResizeMode(text_column, QHeaderView.Stretch)
    header.setResizeContentsPrecision(200)  # column widths from the first rows, not from every row
    return view


class RowsModel(QAbstractTableModel):
    """Read-only rows computed when shown: only the rows on screen are ever formatted.

    A :class:`QTableWidgetItem` per cell costs ~14 µs on the GUI thread (2,000 duplicate
    groups took 85 ms to list); here a long list costs nothing until it is scrolled.
    ``cell(row, column)`` gives a value (formatted as :func:`table_item` does; the
    ``text_column`` elided, with the whole text as tooltip); ``key(row)`` is the
    document row kept as ``Qt.UserRole``.
    """

    def __init__(self, headers: Sequence[str], tips: Sequence[str], text_column: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._headers, self._tips, self._text_column = list(headers), list(tips), text_column
        self._count = 0
        self._cell: Callable[[int, int], Any] = lambda row, column: ""
        self._key: Callable[[int], int] | None = None

    def set_rows(self, count: int, cell: Callable[[int, int], Any], key: Callable[[int], int] | None = None) -> None:
        self.beginResetModel()
        self._count, self._cell, self._key = count, cell, key
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self._headers[section]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            return self._tips[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.UserRole:
            return self._key(row) if self._key is not None else None
        if role not in (Qt.DisplayRole, Qt.ToolTipRole, Qt.TextAlignmentRole):
            return None
        value = self._cell(row, column)
        if role == Qt.TextAlignmentRole:
            return None if isinstance(value, str) else int(Qt.AlignRight | Qt.AlignVCenter)
        if column == self._text_column:
            return elide(value) if role == Qt.DisplayRole else plain_tooltip(value[:2000])
        return _shown(value) if role == Qt.DisplayRole else None


class TextsOnDemand:
    """The texts of ``rows``, looked up ``block`` at a time when first asked for (a long list
    shown through a :class:`RowsModel` reads only the texts scrolled into view)."""

    def __init__(self, lookup: Callable[[list[int]], list[str]], rows: Sequence[int], block: int = 100) -> None:
        self._lookup, self._rows, self._block = lookup, [int(r) for r in rows], block
        self._blocks: dict[int, list[str]] = {}

    def __getitem__(self, i: int) -> str:
        b = i // self._block
        if b not in self._blocks:
            self._blocks[b] = self._lookup(self._rows[b * self._block : (b + 1) * self._block])
        return self._blocks[b][i % self._block]


def read_only_view(headers: Sequence[str], tips: Sequence[str], text_column: int = 2) -> QTableView:
    """A :func:`read_only_table` look-alike over a :class:`RowsModel` (``view.model()``), for long lists."""
    view = QTableView()
    view.setModel(RowsModel(headers, tips, text_column, view))
    return _configured(view, text_column)


def plain_label(text: str = "", tip: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.PlainText)
    label.setToolTip(tip)
    return label


class ElidedLabel(QLabel):
    """Plain text in at most ``max_lines`` wrapped lines of whatever width the layout gives;
    text that does not fit ends in "…" and the whole text becomes the tooltip.

    It never asks for more than a few characters of width, so a long message (a file
    path, an error) cannot push its window wider than the screen.
    """

    def __init__(self, text: str = "", max_lines: int = 1, tip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.PlainText)
        self._max_lines, self._tip, self._shown, self._elided = max_lines, tip, [""], False
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        self._relayout()
        self.updateGeometry()

    def is_elided(self) -> bool:
        """Whether some of the text is cut off at the current width."""
        return self._elided

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        metrics = self.fontMetrics()
        return QSize(metrics.averageCharWidth() * 6, metrics.lineSpacing() * len(self._shown))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        metrics = self.fontMetrics()
        width = min(metrics.horizontalAdvance(" ".join(self.text().split())), metrics.averageCharWidth() * 60)
        return QSize(width + 2, metrics.lineSpacing() * len(self._shown))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        lines = len(self._shown)
        self._relayout()
        if len(self._shown) != lines:
            self.updateGeometry()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        height = self.fontMetrics().lineSpacing()
        top = max(0, (self.height() - height * len(self._shown)) // 2)
        for i, line in enumerate(self._shown):
            painter.drawText(0, top + i * height, self.width(), height, int(self.alignment() | Qt.AlignVCenter), line)

    def _relayout(self) -> None:
        """Wrap the text into the lines shown, the last one elided if text is left over."""
        text, width, metrics = " ".join(self.text().split()), max(1, self.width()), self.fontMetrics()
        layout = QTextLayout(text, self.font())
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        layout.beginLayout()
        shown: list[str] = []
        start = end = 0
        while len(shown) < self._max_lines:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            start, end = line.textStart(), line.textStart() + line.textLength()
            shown.append(text[start:end])
        layout.endLayout()
        self._elided = end < len(text)
        if self._elided:
            shown[-1] = metrics.elidedText(text[start:], Qt.ElideRight, width)
        self._shown = shown or [""]
        self.setToolTip(plain_tooltip(self.text()) if self._elided else self._tip)
        self.update()


def compact_combo(combo: QComboBox, chars: int = 8) -> QComboBox:
    """Let ``combo`` shrink to ``chars`` characters (its popup still shows whole entries), so a
    long entry does not set the width of the panel around it."""
    combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


def scrollable(panel: QWidget) -> QScrollArea:
    """``panel`` in a frameless scroll area: a dock then fits a narrow window (the panel scrolls
    instead of widening the window past the screen) and still fills a wide one."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setWidget(panel)
    return area
