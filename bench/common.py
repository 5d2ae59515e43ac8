"""What every benchmark shares: figures and targets, synthetic data, timing,
peak memory, and running a measurement in a fresh Python process.

A figure compares *ours* with a *baseline measured in the same run* (ratios,
because absolute times drift with the machine and its load); figures without a
baseline compare ours with an absolute limit.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEMO_CORPUS = ROOT / "assets" / "demo_corpus.csv"
OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b}


class BenchError(RuntimeError):
    """A benchmark could not run (as opposed to running and missing its target)."""


class BenchSkipped(Exception):
    """A benchmark does not apply on this machine (e.g. no GPU); listed as skipped, not as an error."""


@dataclass(frozen=True)
class Target:
    """``on`` ("ratio" or "ours") ``op`` ``limit``, e.g. ratio ≥ 0.95 or ours < 50 ms."""

    on: str
    op: str
    limit: float

    def describe(self, unit: str) -> str:
        what = "ratio" if self.on == "ratio" else "ours"
        suffix = "" if self.on == "ratio" else f" {unit}"
        return f"{what} {self.op} {self.limit:g}{suffix}"

    def check(self, ours: float | None, ratio: float | None) -> bool | None:
        value = ratio if self.on == "ratio" else ours
        return None if value is None or not np.isfinite(value) else bool(OPS[self.op](value, self.limit))


@dataclass
class Figure:
    """One row of the results table.

    ``ratio`` is defined per figure and explained in ``ratio_means`` (for example
    "ours / baseline throughput" or "first / re-drop time"). ``target`` None
    means the figure is reported without a pass/fail.
    """

    name: str
    title: str
    unit: str
    ours: float | None
    baseline: float | None = None
    ratio: float | None = None
    ratio_means: str = ""
    target: Target | None = None
    n: int | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.target.check(self.ours, self.ratio)

    @property
    def target_text(self) -> str:
        return "report" if self.target is None else self.target.describe(self.unit)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["target"] = self.target_text
        out["passed"] = self.passed
        return out


# --------------------------------------------------------------------- data


def clustered_vectors(n: int, d: int = 384, clusters: int = 50, spread: float = 0.6, seed: int = 0) -> np.ndarray:
    """``n`` unit rows drawn around ``clusters`` Gaussian centres in ``d`` dimensions.

    Rows are generated in chunks (float32 throughout), so a million rows cost
    the 1.5 GB of the result and little more.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d), dtype=np.float32)
    labels = rng.integers(0, clusters, n)
    out = np.empty((n, d), dtype=np.float32)
    step = 65_536
    for start in range(0, n, step):
        stop = min(start + step, n)
        chunk = centres[labels[start:stop]] + spread * rng.standard_normal((stop - start, d), dtype=np.float32)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
        out[start:stop] = chunk
    return out


def clustered_coords(n: int, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """A UMAP-like 2-D layout: ``clusters`` blobs of different sizes, float32."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(clusters, 2))
    scales = rng.uniform(0.3, 1.5, size=clusters)
    labels = rng.integers(0, clusters, n)
    return (centres[labels] + scales[labels, None] * rng.standard_normal((n, 2))).astype(np.float32)


def demo_rows() -> list[dict[str, str]]:
    with open(DEMO_CORPUS, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def corpus(n: int, kind: str = "short", seed: int = 0) -> list[tuple[str, str]]:
    """``n`` distinct (text, topic) pairs made from the demo corpus.

    ``short``: one demo text with a running number in front (distinct, so the
    content-hash cache never short-cuts the work). ``mixed``: 1 to 15 demo
    texts joined, lengths skewed like real collections (most short, some long,
    a few past the model's 256 tokens). ``abstract``: demo texts joined to
    150-200 words, about an abstract.
    """
    rows = demo_rows()
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        first = rows[int(rng.integers(len(rows)))]
        if kind == "short":
            parts = [first["text"]]
        elif kind == "mixed":
            count = int(rng.choice([1, 2, 3, 5, 8, 15], p=[0.5, 0.2, 0.12, 0.08, 0.06, 0.04]))
            parts = [first["text"]] + [rows[int(j)]["text"] for j in rng.integers(len(rows), size=count - 1)]
        elif kind == "abstract":
            parts, words, goal = [first["text"]], len(first["text"].split()), int(rng.integers(150, 201))
            while words < goal:
                extra = rows[int(rng.integers(len(rows)))]["text"].split()
                parts.append(" ".join(extra[: goal - words]))
                words += min(len(extra), goal - words)
        else:
            raise ValueError(f"unknown corpus kind {kind!r}")
        out.append((f"({i + 1}) " + " ".join(parts), first["topic"]))
    return out


def write_corpus(path: Path, items: list[tuple[str, str]]) -> Path:
    """A CSV with ``text`` and ``topic`` columns, as a user would drop it."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "topic"])
        writer.writerows(items)
    return path


# --------------------------------------------------------------------- measuring


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError(f"{key} not in /proc/self/status")


def rss_bytes() -> int:
    return _status_kb("VmRSS") * 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """Peak resident set size of this process since start or the last reset (VmHWM)."""
    return _status_kb("VmHWM") * 1024


class PeakMemory:
    """Peak RSS over a ``with`` block: ``peak`` (absolute) and ``growth`` (over the RSS at entry)."""

    def __enter__(self) -> "PeakMemory":
        self.reset = reset_peak_rss()
        self.start = rss_bytes()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak = peak_rss_bytes()
        self.growth = self.peak - self.start if self.reset else None


def gib(n_bytes: float | None) -> float | None:
    return None if n_bytes is None else n_bytes / 2**30


# --------------------------------------------------------------------- fresh processes


def isolated_env(home: Path) -> dict[str, str]:
    """Offscreen Qt, offline models, settings and data folders under ``home``."""
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        PYQTGRAPH_QT_LIB="PySide6",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        PYTHONWARNINGS="ignore",
    )
    return env


def run_isolated(target: str, timeout: float = 900, **kwargs: Any) -> dict[str, Any]:
    """Run ``target`` ("bench.module:function") with ``kwargs`` in a fresh Python.

    The function gets a scratch folder as ``workdir`` and returns a JSON-able
    dict. A crash, a timeout or a non-JSON answer raises :class:`BenchError`
    with the tail of the child's output. A child still running shortly before
    ``timeout`` prints every thread's stack and exits (see :mod:`bench.worker`),
    so a hang says where it hangs.
    """
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        answer = work / "answer.json"
        args = {**kwargs, "workdir": str(work)}
        stacks_after = max(timeout - min(60.0, timeout / 10), 1.0)
        cmd = [sys.executable, "-m", "bench.worker", target, json.dumps(args), str(answer), f"{stacks_after:.1f}"]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=isolated_env(work), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"{target} timed out after {timeout:.0f} s:\n{_tail(exc.stdout, exc.stderr)}") from exc
        if proc.returncode != 0 or not answer.exists():
            raise BenchError(f"{target} failed (exit {proc.returncode}):\n{_tail(proc.stdout, proc.stderr)}")
        return json.loads(answer.read_text(encoding="utf-8"))


def _tail(*outputs: str | bytes | None, chars: int = 6000) -> str:
    """The end of a child's output (a timeout hands it over as bytes, or not at all)."""
    text = "".join(o.decode(errors="replace") if isinstance(o, bytes) else (o or "") for o in outputs)
    return text[-chars:]


def chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(start + size, n)
