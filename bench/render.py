"""The map at scale: scatter frame times, recolouring, and the memory of a
workspace with a million vectors opened, loaded and drawn.

Offscreen Qt in fresh processes. A frame is one pan step: move the view
range, refresh the density image if the view scheduled that (the real view
does it 80 ms after the last move; here on every frame, the worst case), and
render the view once (``grab``; the window's own repaint happens after the
timing, so nothing is drawn twice).
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (Figure, PeakMemory, Target, chunks, clustered_coords, clustered_vectors, gib, peak_rss_bytes,
                          rss_bytes, run_isolated)

QUICK_SCATTER, FULL_SCATTER = 100_000, 1_000_000
QUICK_MEMORY, FULL_MEMORY = 50_000, 1_000_000
FRAMES = 20
PAN_STEPS = (1, 2, 1, 0, -1, -2, -1, 0)  # view offsets, in 4 % of its width
CATEGORIES = 10
WRITE_BATCH = 50_000


def run_scatter(quick: bool) -> list[Figure]:
    n = QUICK_SCATTER if quick else FULL_SCATTER
    figures = []
    for mode in ("auto", "points"):
        res = run_isolated("bench.render:scatter", timeout=1800, n=n, mode=mode)
        drawn = f"median of {FRAMES} frames, {res['density_frames']} of them drawn as a density image"
        figures.append(Figure(
            f"scatter.pan.{mode}", f"Map pan frame, render mode '{mode}'", "ms", res["frame_ms"],
            target=Target("ours", "<", 50.0), n=n, extra=res,
            notes=f"{drawn}; max {res['max_frame_ms']:.0f} ms; includes the view's visible-count + density "
                  f"refresh ({res['refresh_ms']:.0f} ms median), which the view runs 80 ms after a move stops"))
        if mode == "auto":
            figures.append(Figure(
                "scatter.pan.auto.moving", "Map pan frame, 'auto', mid-drag (no density refresh)", "ms",
                res["moving_frame_ms"], target=Target("ours", "<", 50.0), n=n,
                notes=f"{drawn}; the same frames minus the density refresh: a continuous drag"))
            figures.append(Figure(
                "scatter.recolor", f"Recolour by a {CATEGORIES}-category label", "ms", res["recolor_ms"],
                target=Target("ours", "<", 1000.0), n=n, notes="colour box change until the next frame is drawn"))
    return figures


def _panel(coords: np.ndarray, method: str, labels: dict[str, np.ndarray]) -> Any:
    """A shown MapPanel, set up as the app sets it up, drawing ``coords``."""
    from gui.panel_base import PanelContext
    from plugins.map.analysis import MapParams, ProjectionResult
    from plugins.map.panel import MapPanel

    context = PanelContext(text_lookup=lambda rows: [f"document {r}" for r in rows])
    context.set_data(len(coords), labels, title="bench")
    panel = MapPanel(context, MapParams())
    panel.resize(1200, 800)
    panel.show()
    panel.show_result(ProjectionResult(coords, method))
    return panel


def scatter(workdir: str, n: int, mode: str) -> dict[str, Any]:
    """Median pan-frame time and the time of one recolour."""
    from gui.app import make_app

    app = make_app()
    coords = clustered_coords(n)
    topics = np.array([f"topic {i}" for i in range(CATEGORIES)])[np.random.default_rng(1).integers(0, CATEGORIES, n)]
    panel = _panel(coords, "umap", {"collection": np.full(n, "bench"), "topic": topics})
    panel.render_box.setCurrentText(mode.capitalize())
    view = panel.view
    app.processEvents()
    panel.grab()

    def frame() -> float:
        """Render once; returns the seconds spent refreshing the density image first."""
        refresh = 0.0
        if view._range_timer.isActive():  # the density refresh the view has scheduled
            view._range_timer.stop()
            start = time.perf_counter()
            view._update_density()
            refresh = time.perf_counter() - start
        view.grab()  # one full render of the view, as a paint event would do
        return refresh

    (x0, x1), (y0, y1) = view.vb.viewRange()
    step = 0.04 * (x1 - x0)
    times, refreshes, density_frames = [], [], 0
    for i in range(FRAMES):
        shift = step * PAN_STEPS[i % len(PAN_STEPS)]  # to and fro: most points stay in view
        start = time.perf_counter()
        view.vb.setRange(xRange=(x0 + shift, x1 + shift), yRange=(y0, y1), padding=0)
        refreshes.append(frame())
        times.append(time.perf_counter() - start)
        density_frames += view.density_active
        app.processEvents()  # the window's own repaint, outside the timing
    panel.color_box.setCurrentIndex(panel.color_box.findData("none:"))
    frame()
    app.processEvents()
    start = time.perf_counter()
    panel.color_box.setCurrentIndex(panel.color_box.findData("label:topic"))
    frame()
    recolor = time.perf_counter() - start
    if len(view.group_items) != CATEGORIES:
        raise RuntimeError(f"recolouring drew {len(view.group_items)} groups, expected {CATEGORIES}")
    result = {"frame_ms": 1000 * statistics.median(times), "max_frame_ms": 1000 * max(times),
              "moving_frame_ms": 1000 * statistics.median(t - r for t, r in zip(times, refreshes)),
              "refresh_ms": 1000 * statistics.median(refreshes), "recolor_ms": 1000 * recolor,
              "density_frames": density_frames, "groups": len(view.group_items)}
    panel.close()
    return result


# --------------------------------------------------------------------- memory


def run_memory(quick: bool) -> list[Figure]:
    n = QUICK_MEMORY if quick else FULL_MEMORY
    res = run_isolated("bench.render:memory", timeout=3600, n=n)
    return [Figure("memory.open_1m", "Peak RSS: open, load and map a workspace", "GiB", gib(res["peak"]),
                   target=Target("ours", "<", 4.0), n=n,
                   notes=f"384-d vectors {n * 384 * 4 / 2**30:.2f} GiB; peak GiB after each step: " + ", ".join(
                       f"{s['step']} {s['peak_gib']:.2f} ({res['seconds'].get(s['step'], 0):.1f} s)"
                       for s in res["steps"]), extra=res)]


def _write_workspace(path: Path, n: int) -> None:
    """A workspace with ``n`` documents and their 384-d vectors, written in batches."""
    from core.store import Store, text_sha256

    store = Store.open(path)
    try:
        collection = store.create_collection("bench")
        model = store.ensure_model("bench-384", 384, True, 256)
        store.add_embedding_set(collection, model)
        topics = [f"topic {i % CATEGORIES}" for i in range(CATEGORIES)]
        for start, stop in chunks(n, WRITE_BATCH):
            texts = [f"document number {i}" for i in range(start, stop)]
            store.add_documents(collection, texts, [{"topic": topics[i % CATEGORIES]} for i in range(start, stop)])
            store.write_vectors(model, [text_sha256(t) for t in texts], clustered_vectors(stop - start, seed=start))
    finally:
        store.close()


def memory(workdir: str, n: int) -> dict[str, Any]:
    """Write the workspace in a child of its own, then, in this process with
    nothing else loaded yet: open it, ``load_vectors``, the labels and hashes
    the session loads with them, the PCA layout, and the map panel drawing it."""
    from bench.common import run_isolated as child

    path = Path(workdir) / "big.duckdb"
    child("bench.render:write_workspace", timeout=3600, n=n, path=str(path))
    steps: list[dict[str, Any]] = []

    def step(name: str) -> None:
        steps.append({"step": name, "t": time.perf_counter(), "rss_gib": gib(rss_bytes()),
                      "peak_gib": gib(peak_rss_bytes())})

    with PeakMemory() as mem:
        from core.store import Store
        from gui.app import make_app
        from core.projection import pca_project

        app = make_app()
        store = Store.open(path)
        step("opened")
        [collection] = store.collections()
        model = store.models()[0]
        doc_ids, _, vectors = store.load_vectors([collection.id], model.id)
        step("load_vectors")
        labels = store.labels(doc_ids)  # what the session loads with the vectors
        hashes = store.hashes(doc_ids, raw=True)  # as gui.session loads them
        step("labels + hashes")
        coords = pca_project(vectors)
        step("pca")
        panel = _panel(coords, "pca", labels)
        app.processEvents()
        panel.grab()
        step("map drawn")
    store.close()
    seconds = {b["step"]: b["t"] - a["t"] for a, b in zip(steps, steps[1:])}
    return {"peak": mem.peak, "rows": int(len(doc_ids)), "hashes": int(len(hashes)), "seconds": seconds,
            "steps": steps}


def write_workspace(workdir: str, n: int, path: str) -> dict[str, Any]:
    start = time.perf_counter()
    _write_workspace(Path(path), n)
    return {"seconds": time.perf_counter() - start}
