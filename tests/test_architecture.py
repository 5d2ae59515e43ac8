"""Layering rules: core ← plugins ← gui / commands, read from every file's imports.

The tiers (README, "Architecture"): ``core`` imports no upper tier and no Qt;
a plugin imports ``core`` and gui's shared widgets, never another plugin;
``gui`` reaches a plugin only through its spec; the window's helpers never
import the main window; ``commands`` (the headless tier) may use all of them.
Every import counts: module level, inside functions, under ``TYPE_CHECKING``.
"""
from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
TIERS = ("core", "plugins", "gui", "commands")
#: package → imports it may never make
FORBIDDEN = {
    "core": ("plugins", "gui", "commands", "main", "PySide6", "pyqtgraph"),
    "plugins": ("commands", "main"),
    "gui": ("plugins", "commands", "main"),
}
#: gui modules that may import the main window: the one that builds it, and itself
WINDOW_OWNERS = ("gui.app", "gui.main_window")


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, nested ones included."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] if base in TIERS else [base]
            for name in names:
                yield node.lineno, name


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path) -> list[str]:
    """Every import under ``root`` that breaks a layering rule, as 'file:line: what'."""
    found = []
    for tier in TIERS:
        for path in sorted((root / tier).rglob("*.py")):
            module = _module_name(path, root)
            where = path.relative_to(root)
            for line, name in imports_of(path, root):
                bad = next((p for p in FORBIDDEN.get(tier, ()) if _within(name, p)), None)
                if bad is not None:
                    found.append(f"{where}:{line}: {tier} imports {name}")
                if tier == "plugins" and _within(name, "plugins"):
                    own, other = module.split(".")[:2], name.split(".")[:2]
                    if len(other) < 2 or own[1] != other[1]:
                        found.append(f"{where}:{line}: plugin {own[1]} imports {name}")
                if _within(name, "gui.main_window") and module not in WINDOW_OWNERS:
                    found.append(f"{where}:{line}: window helper {module} imports {name}")
    return found


def test_the_tiers_import_only_downwards():
    assert violations(ROOT) == []


def test_the_checker_catches_each_rule(tmp_path):
    files = {
        "core/store.py": "def load():\n    from plugins.map import analysis\n",
        "core/view.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import PySide6.QtCore\n",
        "plugins/__init__.py": "",
        "plugins/a/__init__.py": "",
        "plugins/a/analysis.py": "from plugins.a import panel\nfrom ..b import analysis\n",
        "plugins/b/panel.py": "def f():\n    from plugins import a\n",
        "gui/actions.py": "from gui.main_window import MainWindow\nfrom gui import main_window\n",
        "gui/host.py": "from plugins.map.panel import MapPanel\n",
        "gui/app.py": "from gui.main_window import MainWindow\n",
        "commands/cli.py": "from gui.app import run_gui\nfrom plugins.map import SPEC\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert violations(tmp_path) == [
        "core/store.py:2: core imports plugins.map",
        "core/view.py:3: core imports PySide6.QtCore",
        "plugins/a/analysis.py:2: plugin a imports plugins.b",
        "plugins/b/panel.py:2: plugin b imports plugins.a",
        "gui/actions.py:1: window helper gui.actions imports gui.main_window",
        "gui/actions.py:2: window helper gui.actions imports gui.main_window",
        "gui/host.py:1: gui imports plugins.map.panel",
    ]


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
