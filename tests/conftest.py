"""Shared test set-up: offscreen Qt, offline models, isolated settings and data folders."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402

from core.encoder import HashingEncoder  # noqa: E402
from core.store import Store  # noqa: E402


@pytest.fixture(scope="session")
def qapp_args():
    return ["embedding-explorer-tests"]


@pytest.fixture(autouse=True, scope="session")
def _isolated_qt_paths(tmp_path_factory):
    """QSettings and data folders of the tests never touch the user's own."""
    home = tmp_path_factory.mktemp("home")
    os.environ["XDG_DATA_HOME"] = str(home / "data")
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    from PySide6.QtCore import QCoreApplication, QStandardPaths

    QStandardPaths.setTestModeEnabled(True)
    QCoreApplication.setOrganizationName("EmbeddingExplorerTests")
    QCoreApplication.setApplicationName("Embedding Explorer Tests")
    yield


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "ws.duckdb")
    yield s
    s.close()


@pytest.fixture
def hashing():
    return HashingEncoder(64)

