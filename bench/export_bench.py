"""Export time and file size of the map as PNG, SVG, PDF and the interactive HTML page.

Each size runs in a fresh process: a shown ``MapPanel`` (offscreen, render mode 'auto', as the
window draws it) exported through the window's own exporter, and the same points written as HTML.
Texts are ~60 words each, as paper abstracts are, so the HTML's hover text is sized as for real use.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Figure, Target, clustered_coords, run_isolated
from bench.render import _panel

QUICK_SIZES, FULL_SIZES = (5_000,), (10_000, 100_000, 1_000_000)
CATEGORIES = 10
HTML_LIMIT_MB = 25.0
WORDS = ("embedding space neighbour cluster query model vector corpus document token layer "
         "similarity retrieval language topic").split()


def run(quick: bool) -> list[Figure]:
    figures = []
    for n in QUICK_SIZES if quick else FULL_SIZES:
        res = run_isolated("bench.export_bench:export_all", timeout=3600, n=n)
        for fmt, (seconds, size_mb) in res["formats"].items():
            target = Target("ours", "<", HTML_LIMIT_MB) if fmt == "html" and n <= 100_000 else None
            figures.append(Figure(
                f"export.{fmt}.{n}", f"Export the map as {fmt.upper()}: file size", "MB", size_mb, target=target, n=n,
                notes=f"written in {seconds:.1f} s" + ("; target: < 25 MB at 100k" if target else "")))
    return figures


def export_all(workdir: str, n: int) -> dict[str, Any]:
    """Seconds and megabytes of each format for ``n`` points."""
    from core.html_map import HtmlMap, write_html_map
    from gui.app import make_app
    from gui.figure_export import export_figure

    app = make_app()
    rng = np.random.default_rng(0)
    coords = clustered_coords(n)
    topics = np.array([f"topic {i}" for i in range(CATEGORIES)])[rng.integers(0, CATEGORIES, n)]
    panel = _panel(coords, "umap", {"collection": np.full(n, "bench"), "topic": topics})
    panel.set_color_by("topic")
    app.processEvents()
    out: dict[str, tuple[float, float]] = {}
    for fmt in ("png", "svg", "pdf"):
        path = Path(workdir) / f"map.{fmt}"
        start = time.perf_counter()
        export_figure(panel.view.plot_item, path, "double", 300, "bench", **panel.figure_payload())
        out[fmt] = (time.perf_counter() - start, path.stat().st_size / 1e6)
    texts = [" ".join(rng.choice(WORDS, 60)) for _ in range(n)]
    path = Path(workdir) / "map.html"
    start = time.perf_counter()
    write_html_map(HtmlMap(coords, texts, texts, "topic", topics), path)
    out["html"] = (time.perf_counter() - start, path.stat().st_size / 1e6)
    return {"formats": out}
