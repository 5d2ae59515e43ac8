"""Install the freedesktop launcher so the app starts with a double-click (Linux)."""
from __future__ import annotations

import os
import shutil
import sys
from importlib.resources import files
from pathlib import Path

APP_ID = "embedding-explorer"


def launcher_command() -> str:
    """The installed gui-script next to this interpreter, else ``python main.py``."""
    script = Path(sys.executable).with_name(APP_ID)
    if script.exists():
        return str(script)
    return f"{sys.executable} {Path(__file__).resolve().parents[1] / 'main.py'}"


def install_desktop_entry(data_home: Path | None = None) -> Path:
    """Write ``<data_home>/applications/embedding-explorer.desktop`` and its icon; returns the entry's path."""
    data_home = data_home or Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    icon_dir = data_home / "icons" / "hicolor" / "256x256" / "apps"
    app_dir = data_home / "applications"
    icon_dir.mkdir(parents=True, exist_ok=True)
    app_dir.mkdir(parents=True, exist_ok=True)
    icon = icon_dir / f"{APP_ID}.png"
    shutil.copyfile(str(files("assets") / "icon.png"), icon)
    template = (files("assets") / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    entry = app_dir / f"{APP_ID}.desktop"
    entry.write_text(template.replace("@EXEC@", launcher_command()).replace("@ICON@", str(icon)), encoding="utf-8")
    entry.chmod(0o755)
    return entry
