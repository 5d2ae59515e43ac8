"""Read-only tables and labels that show document text as plain text, shared by the panels."""
from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem

from gui.panel_base import plain_tooltip

ELIDE = 160


def elide(text: str, limit: int = ELIDE) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def table_item(value: Any, row: int | None = None) -> QTableWidgetItem:
    """A read-only cell; numbers right-aligned, floats to 3 decimals; ``row`` is kept as data."""
    shown = value if isinstance(value, str) else f"{value:.3f}" if isinstance(value, float) else str(value)
    item = QTableWidgetItem(shown)
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
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setSelectionMode(QAbstractItemView.SingleSelection)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.ElideRight)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeToContents)
    header.setSectionResizeMode(text_column, QHeaderView.Stretch)
    return table


def plain_label(text: str = "", tip: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.PlainText)
    label.setToolTip(tip)
    return label
