"""One dialog for every error the user should see: a plain summary, the
details (traceback, versions) in a box, and "Copy details" for bug reports."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QStyle,
                               QVBoxLayout, QWidget)

HINT = "The app keeps running. If this happens again, copy the details into a bug report."


class ErrorDialog(QDialog):
    """Non-modal; later errors are appended to the same dialog while it is open."""

    def __init__(self, summary: str, details: str, log_path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Embedding Explorer — error")
        self.log_path = log_path
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.SP_MessageBoxCritical).pixmap(40, 40))
        icon.setAlignment(Qt.AlignTop)
        self.summary = QLabel(summary)
        self.summary.setTextFormat(Qt.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary.setStyleSheet("font-weight: bold;")
        where = f" The log is in {log_path}." if log_path is not None else ""
        hint = QLabel(HINT + where)
        hint.setTextFormat(Qt.PlainText)
        hint.setWordWrap(True)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy the message, the details and the app's versions to the clipboard")
        buttons.addButton(self.copy_button, QDialogButtonBox.ActionRole)
        self.copy_button.clicked.connect(self.copy_details)
        if log_path is not None:
            open_log = QPushButton("Open log folder")
            buttons.addButton(open_log, QDialogButtonBox.ActionRole)
            open_log.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_path.parent))))
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(icon)
        text = QVBoxLayout()
        text.addWidget(self.summary)
        text.addWidget(hint)
        top.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self.resize(640, 380)

    def add(self, summary: str, details: str) -> None:
        """Another error while the dialog is open: shown below the first."""
        self.summary.setText(f"{self.summary.text()}\n{summary}")
        self.details.appendPlainText(f"\n{'-' * 60}\n{details}")

    def report_text(self) -> str:
        """What "Copy details" puts on the clipboard."""
        from core.versions import version_report

        return f"{self.summary.text()}\n\n{self.details.toPlainText()}\n\n{version_report()}\n"

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.report_text())
        self.copy_button.setText("Copied")

    @classmethod
    def preview(cls) -> "ErrorDialog":
        try:
            raise ValueError("a synthetic failure for the preview")
        except ValueError as exc:
            import traceback

            details = "".join(traceback.format_exception(exc))
        return cls("ValueError: a synthetic failure for the preview", details, Path("/tmp/embedding-explorer.log"))


class ErrorReporter(QObject):
    """Thread-safe entry point: ``report`` from any thread shows the dialog on the GUI thread."""

    sig_report = Signal(str, str)  # summary, details

    def __init__(self, parent_widget: QWidget | None = None, log_path: Path | None = None) -> None:
        super().__init__(parent_widget)
        self.parent_widget = parent_widget
        self.log_path = log_path
        self.dialog: ErrorDialog | None = None
        self.sig_report.connect(self._on_self_report)

    def report(self, summary: str, details: str = "") -> None:
        self.sig_report.emit(summary, details or summary)

    def _on_self_report(self, summary: str, details: str) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.add(summary, details)
        else:
            if self.dialog is not None:
                self.dialog.setParent(None)  # a closed dialog: Python owns it now and frees it below
            self.dialog = ErrorDialog(summary, details, self.log_path, self.parent_widget)
            self.dialog.show()
        self.dialog.raise_()
