"""Run the benchmarks: ``python bench/run.py [--quick] [--only NAME ...] [--skip NAME ...] [--out DIR] [--update]``.

Every figure is measured against its baseline in the same run; the table
says pass, MISS or report (no target). A missed target is a result, not an
error: the exit status is non-zero only when a benchmark could not run.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import bench from the repository, not bench/ itself
    _here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(_here)]
    sys.path.insert(0, str(Path(_here).parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from typing import Any, Callable  # noqa: E402

from bench import clusters_bench, compare_bench, encoding, export_bench, gpu, graph, languages_bench, layers_bench, lookup, measures, ray_bench, render, robustness_bench, scale, window  # noqa: E402,E501
from bench.common import ROOT, BenchSkipped, Figure  # noqa: E402

#: name -> (runner(quick) -> figures, what it measures)
BENCHMARKS: dict[str, tuple[Callable[[bool], list[Figure]], str]] = {
    "encoding": (encoding.run, "pipeline vs bare SentenceTransformer.encode; re-drop"),
    "gui": (window.run_responsiveness, "heartbeat stalls in the real window"),
    "first_map": (window.run_first_map, "drop to first and final map"),
    "knn": (graph.run_knn, "exact_knn vs sklearn brute cosine"),
    "umap": (graph.run_umap, "UMAP on the shared graph vs umap.UMAP()"),
    "scatter": (render.run_scatter, "map pan frames and recolouring"),
    "measures": (measures.run, "hubness and anisotropy computes"),
    "memory": (render.run_memory, "peak RSS with a big workspace open"),
    "lookup": (lookup.run, "neighbours of a clicked point at 1M; semantic query at 100k"),
    "compare": (compare_bench.run, "CKA and kNN overlap of two spaces at 100k"),
    "clusters": (clusters_bench.run, "clusters + labels vs sklearn HDBSCAN + plain c-TF-IDF"),
    "ray": (ray_bench.run, "Ray engine vs in-process embed_pending; Parquet round trip"),
    "scale": (scale.run, "open a 10M x 384 workspace as a random sample"),
    "robustness": (robustness_bench.run, "truncation/quantisation agreement of 100k x 384"),
    "layers": (layers_bench.run, "every layer of MiniLM vs a bare output_hidden_states loop; layer profile"),
    "languages": (languages_bench.run, "language measures of 100k x 384, before and after removing language"),
    "export": (export_bench.run, "map export: PNG, SVG, PDF and HTML time and file size"),
    "gpu": (gpu.run, "CUDA encoding: pipeline vs bare script, fp16 vs CPU, device pool, OOM fallback"),
}
DEFAULT_OUT = ROOT / "bench" / "results"
#: quick runs write here unless --out says otherwise, so they never replace the committed full results
QUICK_OUT = DEFAULT_OUT / "quick"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI: the whole suite in a few minutes)")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME",
                        help=f"run only these: {', '.join(BENCHMARKS)}")
    parser.add_argument("--skip", nargs="+", choices=list(BENCHMARKS), default=[], metavar="NAME",
                        help="leave these out (listed as skipped in the results)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for latest.json and latest.md (default: {DEFAULT_OUT.relative_to(ROOT)}, "
                             f"quick runs {QUICK_OUT.relative_to(ROOT)})")
    parser.add_argument("--update", action="store_true",
                        help="keep the other benchmarks' results already in --out (same suite), replace these")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = QUICK_OUT if args.quick else DEFAULT_OUT
    return args


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine()}


def run_suite(names: list[str], quick: bool, skipped: list[str], log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run ``names`` in order; a benchmark that raises is recorded under ``errors``."""
    report: dict[str, Any] = {
        "suite": "quick" if quick else "full",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "figures": [],
        "errors": {},
        "skipped": {name: "skipped on request (--skip)" for name in skipped},
        "benchmarks": {},
    }
    start = time.perf_counter()
    for name in names:
        runner, _ = BENCHMARKS[name]
        log(f"== {name} ({'quick' if quick else 'full'})")
        began, load = time.perf_counter(), os.getloadavg()[0]
        try:
            figures = runner(quick)
        except BenchSkipped as exc:
            report["skipped"][name] = str(exc)
            log(f"   skipped: {exc}")
            figures = []
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            report["errors"][name] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
            log(f"   ERROR {type(exc).__name__}: {str(exc)[:2000]}")
            figures = []
        report["benchmarks"][name] = {"seconds": time.perf_counter() - began, "load_before": load,
                                      "load_after": os.getloadavg()[0]}
        for figure in figures:
            report["figures"].append({"benchmark": name, **figure.as_dict()})
            log("   " + _line(figure.as_dict()))
    report["seconds"] = time.perf_counter() - start
    return report


# --------------------------------------------------------------------- output


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def verdict(passed: bool | None) -> str:
    return "report" if passed is None else "pass" if passed else "MISS"


def _line(f: dict[str, Any]) -> str:
    unit = f" {f['unit']}" if f["unit"] else ""
    return (f"{verdict(f['passed']):6} {f['title']}: ours {fmt(f['ours'])}{unit}, baseline {fmt(f['baseline'])}, "
            f"ratio {fmt(f['ratio'])} (target {f['target']})")


COLUMNS = ("Figure", "n", "Ours", "Baseline", "Unit", "Ratio", "Target", "Result")


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """One row per figure, in ``COLUMNS`` order."""
    return [[f["title"], f"{f['n']:,}" if f["n"] else "", fmt(f["ours"]), fmt(f["baseline"]), f["unit"],
             fmt(f["ratio"]), f["target"], verdict(f["passed"])] for f in report["figures"]]


def text_table(report: dict[str, Any]) -> str:
    rows = [list(COLUMNS)] + table_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def markdown(report: dict[str, Any]) -> str:
    """The results as Markdown: the table, what each ratio means, notes, errors."""
    m = report["machine"]
    lines = [f"# Benchmarks ({report['suite']} suite)", "",
             f"{report['started']}" + (f" (updated {report['updated']})" if "updated" in report else "")
             + f" · {m['cpus']} CPUs · {m['platform']} · Python {m['python']} · "
             f"{report.get('seconds', 0):.0f} s", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in table_rows(report)]
    lines += ["", "## Notes", ""]
    for f in report["figures"]:
        means = f" Ratio = {f['ratio_means']}." if f["ratio_means"] else ""
        lines.append(f"- **{f['title']}** (`{f['name']}`):{means} {f['notes']}".rstrip())
    for title, key in (("Skipped", "skipped"), ("Errors", "errors")):
        if report[key]:
            lines += ["", f"## {title}", ""]
            lines += [f"- **{name}**: {text.splitlines()[0] if text else ''}" for name, text in report[key].items()]
    return "\n".join(lines) + "\n"


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` plus whatever ``old`` (same suite) has for benchmarks ``new`` did not run, in registry order."""
    if old.get("suite") != new["suite"]:
        return new
    ran = set(new["benchmarks"]) | set(new["skipped"])
    merged = dict(new)
    for key in ("benchmarks", "errors", "skipped"):
        merged[key] = {**{k: v for k, v in old.get(key, {}).items() if k not in ran}, **new[key]}
    figures = [f for f in old.get("figures", []) if f.get("benchmark") not in ran] + new["figures"]
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    merged["figures"] = sorted(figures, key=lambda f: order.get(f.get("benchmark"), len(order)))
    merged["seconds"] = sum(b["seconds"] for b in merged["benchmarks"].values())
    merged["updated"] = new["started"]
    merged["started"] = old.get("started", new["started"])
    return merged


def write(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "latest.json", out / "latest.md"
    json_path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n for n in (args.only or list(BENCHMARKS)) if n not in args.skip]
    report = run_suite(names, args.quick, args.skip)
    errors_now = list(report["errors"])  # the exit status speaks of this run, not of merged older results
    previous = args.out / "latest.json"
    if args.update and previous.exists():
        report = merge(json.loads(previous.read_text(encoding="utf-8")), report)
    json_path, md_path = write(report, args.out)
    print()
    print(text_table(report))
    if report["skipped"]:
        print("skipped: " + ", ".join(report["skipped"]))
    print(f"\n{len(report['figures'])} figures in {report['seconds']:.0f} s; wrote {json_path} and {md_path}")
    if errors_now:
        print(f"errors in: {', '.join(errors_now)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
