"""Help: the first-start welcome overlay, the user guide, the keyboard
shortcuts (read from the window's real actions) and About."""
from __future__ import annotations

import html
from importlib.resources import files
from typing import Iterable, Sequence

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, QObject, Qt, Signal, qVersion
from PySide6.QtGui import QAction, QKeySequence, QPixmap
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QHBoxLayout, QHeaderView, QLabel, QMenu, QMenuBar,
                               QPushButton, QTableWidget, QTableWidgetItem, QTextBrowser, QVBoxLayout, QWidget)

from core.ingest import SUPPORTED_SUFFIXES

FORMATS = "  ".join(sorted({s.lstrip(".") for s in SUPPORTED_SUFFIXES if not s.endswith(".gz")})) + "  (also .gz)"

#: (heading, paragraph) pairs of the user guide; plain text, escaped when shown
GUIDE = (
    ("Add text", "Drop files or folders anywhere on the window, or use File → Import files… (Ctrl+Shift+O) and "
     "Import folder… (Ctrl+Alt+O). Each file or folder becomes a collection. Formats: " + FORMATS + ". .txt gives "
     "one document per line, .md one per file; in tables the text column is detected and the other columns are "
     "kept for colouring. Problems are listed per file; the good parts of a drop are still imported."),
    ("Embedding", "Documents are embedded in the background with the model chosen in Settings (the bundled "
     "all-MiniLM-L6-v2 by default). The status bar shows progress; Cancel keeps every finished batch, and an "
     "interrupted run resumes when the workspace is opened again. The map appears after the first batches."),
    ("Map", "Colour by collection, a metadata column or a measure from another view. Hover reads a document; "
     "click selects, Shift+drag lassos, Ctrl+drag draws a box. Ctrl+A selects all, Esc clears, Ctrl+I inverts, "
     "Ctrl+Z / Ctrl+Shift+Z undo and redo a selection. Ctrl+F searches the texts as you type and lists the matches "
     "beside the map (click one to select it); with By meaning the query is embedded and its nearest documents "
     "are listed. Ctrl+R recomputes the layout afresh. Right-click a selection to see it as a table, export it or "
     "make a new collection of it."),
    ("Document card", "Click a point, a search hit, a hub or a neighbour and the Document panel shows it: "
     "its title, full text, every field, its neighbours and who has it as a neighbour, listed by title. Click "
     "one to move there; Alt+Left and Alt+Right go back and forward. The Title column box picks what names a "
     "document (remembered with the workspace). Exact copies of a text are listed once, with their count."),
    ("Views", "Neighbours lists the focused document's nearest neighbours and who has it as a neighbour. "
     "Hubness shows how unevenly documents occur in each other's neighbour lists, and Anisotropy how much the "
     "vectors crowd into a narrow cone. Hover over a number for what it means and where it comes from. "
     "The View menu shows or hides the panels{panel_keys}. File → Export view (Ctrl+E for the map) writes a "
     "figure, its data and a manifest."),
    ("Collections", "Tick collections to show them together; the Model box switches between embedding sets. "
     "Right-click a collection to rename it (F2), merge several into a new one, embed it with another model, "
     "export its documents or its embedding set, or delete it (Del; the workspace file is compacted)."),
    ("Embedding sets", "Collections → Embed with… (Ctrl+Shift+E) embeds collections with a second model (the "
     "bundled one, the offline extras, or any model name or folder); both sets are kept and the Compare view "
     "sets them side by side. Import vectors… brings your own vectors in (.parquet or .jsonl with text and "
     "vector columns, or an .npy beside a .txt); search by meaning is off for such a set, since no model here "
     "can embed the query. Export embedding set… writes texts, metadata and vectors to Parquet."),
    ("Workspaces and settings", "Everything lives in one workspace file (File → New / Open workspace). "
     "Edit → Settings (Ctrl+,) sets the default model, device, batch size, k, UMAP defaults and the theme. "
     "Help → Open log folder shows the log that an error report should include."),
)


class WelcomeOverlay(QFrame):
    """A card over the map area on first start; hides itself with "Got it"."""

    sig_dismissed = Signal()
    sig_import_requested = Signal()
    sig_guide_requested = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setStyleSheet("#welcome { background: palette(window); border: 3px dashed palette(mid); "
                           "border-radius: 16px; margin: 40px; }")
        title = QLabel("Welcome to Embedding Explorer")
        title.setStyleSheet("font-size: 20pt; font-weight: bold;")
        body = QLabel(
            "Drop text files or folders here to see their embedding space: a map, nearest neighbours, "
            "hubness and anisotropy.\n\nFormats: " + FORMATS
        )
        for label in (title, body):
            label.setTextFormat(Qt.PlainText)
            label.setAlignment(Qt.AlignCenter)
            label.setWordWrap(True)
        body.setStyleSheet("font-size: 12pt;")
        buttons = QHBoxLayout()
        for text, signal in (("Import files…", self.sig_import_requested), ("User guide", self.sig_guide_requested),
                             ("Got it", self.sig_dismissed)):
            button = QPushButton(text)
            button.clicked.connect(signal)
            buttons.addWidget(button)
        self.sig_dismissed.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(96, 64, 96, 64)
        layout.addStretch(1)
        layout.addWidget(title)
        layout.addSpacing(12)
        layout.addWidget(body)
        layout.addSpacing(18)
        layout.addLayout(buttons)
        layout.addStretch(1)
        parent.installEventFilter(self)
        self._fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.parent() and event.type() == QEvent.Resize:
            self._fit()
        return False

    def _fit(self) -> None:
        self.setGeometry(self.parentWidget().rect())
        self.raise_()


def guide_html(panels: Sequence[tuple[str, str]] = ()) -> str:
    """The user guide as simple HTML (every text escaped); ``panels`` are the window's
    (shortcut, panel title) pairs, in the View menu's order."""
    keyed = [f"{keys} {title}" for keys, title in panels if keys]
    panel_keys = f" ({', '.join(keyed)}; pressed again, the key hides the panel)" if keyed else ""
    parts = [f"<h3>{html.escape(title)}</h3><p>{html.escape(text.replace('{panel_keys}', panel_keys))}</p>"
             for title, text in GUIDE]
    return "<h2>Embedding Explorer — user guide</h2>" + "".join(parts)


def _dialog(title: str, parent: QWidget | None, content: QWidget, size: tuple[int, int]) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    buttons = QDialogButtonBox(QDialogButtonBox.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(content, 1)
    layout.addWidget(buttons)
    dialog.resize(*size)
    return dialog


def user_guide_dialog(parent: QWidget | None = None, panels: Sequence[tuple[str, str]] = ()) -> QDialog:
    browser = QTextBrowser()
    browser.setHtml(guide_html(panels))
    return _dialog("User guide", parent, browser, (620, 560))


def menu_actions(menu_bar: QMenuBar) -> list[QAction]:
    """Every action in a menu bar, submenus included, in menu order."""
    found: list[QAction] = []
    for action in menu_bar.actions():
        stack = [action]
        while stack:
            current = stack.pop(0)
            if current.menu() is not None:
                stack = list(current.menu().actions()) + stack
            elif not current.isSeparator():
                found.append(current)
    return found


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """("Menu: action", keys) for every action with a shortcut, in the order given."""
    rows = []
    for action in actions:
        keys = [k.toString(QKeySequence.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        menus = [m for m in action.associatedObjects() if isinstance(m, QMenu)]
        where = f"{menus[0].title()}: " if menus else ""
        if keys:
            rows.append(((where + action.text()).replace("&", "").rstrip("…").strip(), ", ".join(keys)))
    return rows


def shortcuts_dialog(rows: list[tuple[str, str]], parent: QWidget | None = None) -> QDialog:
    table = QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
    table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
    table.setEditTriggers(QTableWidget.NoEditTriggers)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    note = QLabel("On the map: Shift+drag lassos, Ctrl+drag draws a box, the wheel zooms. "
                  "In the collections list: F2 renames, Del deletes.")
    note.setTextFormat(Qt.PlainText)
    note.setWordWrap(True)
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(table, 1)
    layout.addWidget(note)
    return _dialog("Keyboard shortcuts", parent, box, (480, 560))


def about_text(model_name: str) -> str:
    from core.versions import version_report

    return f"{version_report()}\nQt {qVersion()} (PySide6 {pyside_version})\nModel in use: {model_name}"


def about_dialog(model_name: str, parent: QWidget | None = None) -> QDialog:
    icon = QLabel()
    icon.setPixmap(QPixmap(str(files("assets") / "icon.png")).scaled(72, 72, Qt.KeepAspectRatio, Qt.SmoothTransformation))
    icon.setAlignment(Qt.AlignTop)
    text = QLabel(about_text(model_name))
    text.setTextFormat(Qt.PlainText)
    text.setTextInteractionFlags(Qt.TextSelectableByMouse)
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.addWidget(icon)
    layout.addWidget(text, 1)
    return _dialog("About Embedding Explorer", parent, box, (520, 360))


def plugins_text(registry) -> str:
    """Loaded plugins, and broken ones with their error."""
    lines = [f"✓ {s.title} ({s.id})" for s in registry.specs]
    return "\n".join(lines + [f"✗ {b.name}: {b.error}" for b in registry.broken])
