"""Embedding Explorer: start the desktop app, or run a headless command."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no silent 80 s hub look-ups; models load from disk


def _qt_handlers() -> dict:
    def gui(args) -> int:
        from gui.app import run_gui

        return run_gui(args)

    def export_plot(args) -> int:
        from commands.export_plot import export_plot_command

        return export_plot_command(args)

    def export_figure(args) -> int:
        from commands.export_plot import export_figure_command

        return export_figure_command(args)

    return {"gui": gui, "export-plot": export_plot, "export-figure": export_figure}


def cli_entry() -> None:
    from commands.cli import main

    sys.exit(main(sys.argv[1:], _qt_handlers()))


gui_entry = cli_entry

if __name__ == "__main__":
    cli_entry()
