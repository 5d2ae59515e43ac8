"""Layering rules: core and every plugin's analysis stay Qt-free."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_and_analyses_never_load_qt():
    core_modules = [f"core.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "core")])]
    analyses = [f"plugins.{p.name}.analysis" for p in (ROOT / "plugins").iterdir() if (p / "analysis.py").exists()]
    assert len(analyses) >= 4
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules + analyses!r}:\n"
        "    importlib.import_module(name)\n"
        "from core.registry import discover\n"
        "assert discover().specs\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'gui')))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_listing_plugins_does_not_import_heavy_libraries():
    code = (
        "import sys\nfrom core.registry import discover\ndiscover()\n"
        "heavy = [m for m in ('torch', 'umap', 'sentence_transformers', 'pynndescent') if m in sys.modules]\n"
        "print(heavy)\nsys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
