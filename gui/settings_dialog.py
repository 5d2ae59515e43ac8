"""Edit → Settings: model, device, batch size, analysis defaults, theme,
downloads and remote code; and the settings file behind the window."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QLabel, QSpinBox, QVBoxLayout, QWidget)

from core.duplicates import POLICIES
from core.encoder import AUTO_BATCH, DEFAULT_MODEL
from core.settings import (DEVICES, THEMES, Settings, load_settings, restore_params, save_settings, settings_overrides,
                           with_plugin_params, without_rejected)

log = logging.getLogger(__name__)

SECURITY_NOTE = (
    "Downloads fetch models from the Hugging Face Hub when a model is not on this computer. Remote code runs "
    "Python code shipped with a model, with your permissions: allow it only for models whose authors you trust."
)
APPLY_NOTE = "Model, device, batch size and downloads apply from the next time a workspace is opened."


class SettingsDialog(QDialog):
    """Shows ``settings``; :meth:`settings` gives the edited copy after ``exec()``."""

    def __init__(self, settings: Settings, models: list[str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._original = settings
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItems(list(dict.fromkeys([settings.default_model, DEFAULT_MODEL, *(models or [])])))
        self.model.setToolTip("A sentence-transformers model name or a local model folder; new imports use it")
        self.device = self._combo(DEVICES, settings.device, "auto picks CUDA, then Apple MPS, then the CPU")
        self.batch_size = self._spin(AUTO_BATCH, 4096, settings.batch_size,
                                     "Texts per encoder batch; Auto: 32 on a CPU, 512 on a CUDA GPU. "
                                     "Out of GPU memory, a batch is halved until it fits")
        self.batch_size.setSpecialValueText("Auto")
        self.knn_k = self._spin(1, 200, settings.knn_k, "How many nearest neighbours the Neighbours view lists")
        self.n_neighbors = self._spin(2, 200, settings.umap_n_neighbors,
                                      "UMAP n_neighbors: larger values keep more of the global structure")
        self.min_dist = QDoubleSpinBox()
        self.min_dist.setRange(0.0, 1.0)
        self.min_dist.setSingleStep(0.05)
        self.min_dist.setValue(settings.umap_min_dist)
        self.min_dist.setToolTip("UMAP min_dist: how tightly points may pack together on the map")
        self.sample_limit = self._spin(1_000, 100_000_000, settings.sample_limit,
                                       "Bigger collections show a random sample of this many documents, so memory "
                                       "and every view stay fast; the status bar says when a view is sampled")
        self.sample_limit.setSingleStep(100_000)
        self.duplicates = self._combo(POLICIES, settings.duplicates,
                                      "Exact duplicate texts: fold = every measure on distinct texts, copies listed "
                                      "once with their count; keep = every row is its own point")
        self.sample_limit.setGroupSeparatorShown(True)
        self.theme = self._combo(THEMES, settings.theme, "system follows the desktop's light or dark mode")
        self.allow_download = QCheckBox("Allow downloading models")
        self.allow_download.setChecked(settings.allow_download)
        self.trust_remote_code = QCheckBox("Trust remote code in models")
        self.trust_remote_code.setChecked(settings.trust_remote_code)
        warning = QLabel(SECURITY_NOTE)
        warning.setTextFormat(Qt.PlainText)
        warning.setWordWrap(True)
        warning.setStyleSheet("color: #d9822b;")  # readable on light and dark

        embedding = QFormLayout()
        embedding.addRow("Default model", self.model)
        embedding.addRow("Device", self.device)
        embedding.addRow("Batch size", self.batch_size)
        analysis = QFormLayout()
        analysis.addRow("Neighbours k", self.knn_k)
        analysis.addRow("UMAP n_neighbors", self.n_neighbors)
        analysis.addRow("UMAP min_dist", self.min_dist)
        analysis.addRow("Documents loaded at most", self.sample_limit)
        analysis.addRow("Duplicate texts", self.duplicates)
        appearance = QFormLayout()
        appearance.addRow("Theme", self.theme)
        security = QVBoxLayout()
        for widget in (self.allow_download, self.trust_remote_code, warning):
            security.addWidget(widget)
        note = QLabel(APPLY_NOTE)
        note.setTextFormat(Qt.PlainText)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for title, inner in (("Embedding", embedding), ("Analysis defaults", analysis), ("Appearance", appearance),
                             ("Models from the internet", security)):
            group = QGroupBox(title)
            group.setLayout(inner)
            layout.addWidget(group)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)
        for label in (warning, note):  # wrapped labels in a form get too little height otherwise
            label.setMinimumHeight(label.heightForWidth(460))

    @staticmethod
    def _combo(items: tuple[str, ...], current: str, tip: str) -> QComboBox:
        box = QComboBox()
        box.addItems(list(items))
        box.setCurrentText(current)
        box.setToolTip(tip)
        return box

    @staticmethod
    def _spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(lo, hi)
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    def settings(self) -> Settings:
        """The settings as edited (unchanged fields kept)."""
        return dataclasses.replace(
            self._original,
            default_model=self.model.currentText().strip() or self._original.default_model,
            device=self.device.currentText(),
            batch_size=self.batch_size.value(),
            knn_k=self.knn_k.value(),
            umap_n_neighbors=self.n_neighbors.value(),
            umap_min_dist=round(self.min_dist.value(), 4),
            sample_limit=self.sample_limit.value(),
            duplicates=self.duplicates.currentText(),
            theme=self.theme.currentText(),
            allow_download=self.allow_download.isChecked(),
            trust_remote_code=self.trust_remote_code.isChecked(),
        )

    @classmethod
    def preview(cls) -> "SettingsDialog":
        return cls(Settings(), models=["hashing-64"])


class WindowSettings(QObject):
    """The settings file behind a window: loads it, saves every change, remembers plugin params.

    ``sig_changed(old, new)`` fires after every change, so the window can apply what changed.
    """

    sig_changed = Signal(object, object)  # old Settings, new Settings

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.value, self.problems = load_settings(path)

    def update(self, settings: Settings) -> None:
        old, self.value = self.value, settings
        try:
            save_settings(settings, self.path)
        except OSError as exc:
            log.warning("could not save the settings to %s: %s", self.path, exc)
            self.problems.append(f"could not save the settings: {exc}")
        self.sig_changed.emit(old, settings)

    def edit(self, models: list[str], parent: QWidget | None = None) -> None:
        """Show the Settings dialog; OK saves and announces the edited settings."""
        dialog = SettingsDialog(self.value, models, parent)
        if dialog.exec() == QDialog.Accepted:
            self.update(dialog.settings())

    def restore_params(self, slots: dict) -> None:
        """Give each plugin slot its saved params (the dialog's own fields win) before panels are made."""
        overrides = settings_overrides(self.value)
        for plugin_id, slot in slots.items():
            saved = self.value.plugin_params.get(plugin_id, {})
            slot.params = restore_params(slot.spec.params_type, saved, overrides.get(plugin_id, {}))
            self.value = without_rejected(self.value, plugin_id, slot.params)  # a refused value is not saved back

    def follow_panels(self, slots: dict) -> None:
        """Save a plugin's params whenever its panel emits new ones."""
        for plugin_id, slot in slots.items():
            if slot.panel is not None:
                slot.panel.sig_params_changed.connect(
                    lambda params, pid=plugin_id: self.update(with_plugin_params(self.value, pid, params))
                )
