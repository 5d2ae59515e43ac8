"""Real input for GUI tests: mouse clicks, drags and moves at the pixel where a map point is drawn.

Events go to the view's viewport as a person's would (press, moves with the button
held, release), through Qt's event delivery, so every item under the cursor gets its
say before the view box does.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget


def pixel_of(view, xy: Sequence[float]) -> QPoint:
    """Viewport pixel of data position ``xy`` in a ``ScatterView``: data -> scene -> viewport."""
    return view.mapFromScene(view.vb.mapViewToScene(QPointF(float(xy[0]), float(xy[1]))))


def wait_drawn(qtbot, view, rows: Sequence[int]) -> None:
    """Wait until the view is laid out and ``rows`` lie inside its plot area."""
    def inside() -> bool:
        area = view.mapFromScene(view.vb.sceneBoundingRect()).boundingRect()
        return all(area.contains(pixel_of(view, view.xy[r])) for r in rows)

    qtbot.waitUntil(inside, timeout=10_000)


def _send(widget: QWidget, kind: QEvent.Type, pos: QPoint, button: Qt.MouseButton, buttons: Qt.MouseButton,
          modifiers: Qt.KeyboardModifier) -> None:
    local = QPointF(pos)
    event = QMouseEvent(kind, local, QPointF(widget.mapToGlobal(pos)), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def move(qtbot, widget: QWidget, pos: QPoint, buttons: Qt.MouseButton = Qt.NoButton,
         modifiers: Qt.KeyboardModifier = Qt.NoModifier) -> None:
    """The pointer moves to ``pos`` (with ``buttons`` held), at a hand's pace: pyqtgraph drops move
    events that come faster than its ``mouseRateLimit``, so each waits until the scene takes it."""
    scene = getattr(widget.parent(), "scene", lambda: None)()
    if scene is not None and hasattr(scene, "_moveEventIsAllowed"):
        qtbot.waitUntil(scene._moveEventIsAllowed, timeout=1_000)
    _send(widget, QEvent.MouseMove, pos, Qt.NoButton, buttons, modifiers)
    QApplication.processEvents()


def click(qtbot, widget: QWidget, pos: QPoint, button: Qt.MouseButton = Qt.LeftButton,
          modifiers: Qt.KeyboardModifier = Qt.NoModifier) -> None:
    """Move there, then press and release ``button``."""
    move(qtbot, widget, pos)
    qtbot.mouseClick(widget, button, modifiers, pos)
    QApplication.processEvents()


def drag(qtbot, widget: QWidget, path: Sequence[QPoint], modifiers: Qt.KeyboardModifier = Qt.NoModifier,
         steps: int = 4) -> list[QPoint]:
    """Press at ``path[0]``, move through every point of ``path`` (``steps`` moves per leg) with the
    left button held, release at the last one. Returns every pixel the pointer went through."""
    _send(widget, QEvent.MouseButtonPress, path[0], Qt.LeftButton, Qt.LeftButton, modifiers)
    went = [path[0]]
    for a, b in zip(path[:-1], path[1:]):
        for t in np.linspace(0, 1, steps + 1)[1:]:
            went.append(QPoint(round(a.x() + t * (b.x() - a.x())), round(a.y() + t * (b.y() - a.y()))))
            move(qtbot, widget, went[-1], Qt.LeftButton, modifiers)
    _send(widget, QEvent.MouseButtonRelease, path[-1], Qt.LeftButton, Qt.NoButton, modifiers)
    QApplication.processEvents()
    return went
