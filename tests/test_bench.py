"""bench/ works: targets, the results table and files, synthetic data, the fresh-process runner,
and one tiny real benchmark (exact kNN against scikit-learn)."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from bench import graph, run
from bench.common import BenchError, BenchSkipped, Figure, Target, clustered_vectors, corpus, run_isolated


def _figures() -> list[Figure]:
    return [
        Figure("a.fast", "Fast enough", "texts/s", 100.0, 90.0, 100 / 90, "ours / baseline",
               Target("ratio", ">=", 0.95), n=1000),
        Figure("a.slow", "Too slow", "ms", 80.0, target=Target("ours", "<", 50.0), n=10),
        Figure("a.info", "Just a number", "GiB", 1.5),
    ]


def test_targets_decide_pass_miss_and_report():
    fast, slow, info = _figures()
    assert (fast.passed, slow.passed, info.passed) == (True, False, None)
    assert Target("ratio", "<=", 1.0).check(2.0, 1.0) is True
    assert Target("ratio", "<", 1.0).check(0.5, 1.0) is False
    assert Target("ours", "<", 1.0).check(None, 0.1) is None
    assert slow.target_text == "ours < 50 ms" and info.target_text == "report"


def test_suite_writes_table_json_and_markdown_and_reports_errors(tmp_path, monkeypatch):
    def broken(quick: bool) -> list[Figure]:
        raise RuntimeError("no device")

    def not_here(quick: bool) -> list[Figure]:
        raise BenchSkipped("no CUDA device here")

    monkeypatch.setattr(run, "BENCHMARKS", {"fine": (lambda quick: _figures(), ""), "broken": (broken, ""),
                                            "gpu": (not_here, "")})
    code = run.main(["--quick", "--out", str(tmp_path)])
    assert code == 1  # an error, not a missed target, makes the exit status non-zero
    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["suite"] == "quick" and "no device" in report["errors"]["broken"]
    assert report["skipped"] == {"gpu": "no CUDA device here"} and "gpu" not in report["errors"]
    assert [f["passed"] for f in report["figures"]] == [True, False, None]
    assert [r[-1] for r in run.table_rows(report)] == ["pass", "MISS", "report"]
    md = (tmp_path / "latest.md").read_text()
    assert "| Too slow | 10 | 80.00 | – | ms | – | ours < 50 ms | MISS |" in md and "## Errors" in md

    monkeypatch.setattr(run, "BENCHMARKS", {"fine": (lambda quick: _figures()[:1], ""), "other": (broken, "")})
    assert run.main(["--quick", "--only", "fine", "--out", str(tmp_path), "--update"]) == 0
    merged = json.loads((tmp_path / "latest.json").read_text())
    assert [f["name"] for f in merged["figures"]] == ["a.fast"] and "broken" in merged["errors"]


def test_corpus_texts_are_distinct_and_sized():
    short = corpus(400, "short")
    assert len({t for t, _ in short}) == 400
    words = [len(t.split()) - 1 for t, _ in corpus(30, "abstract")]  # minus the running number
    assert 150 <= min(words) and max(words) <= 200
    lengths = [len(t) for t, _ in corpus(300, "mixed")]
    assert max(lengths) > 5 * np.median(lengths)


def test_clustered_vectors_are_unit_rows():
    x = clustered_vectors(1000, d=16, clusters=5)
    assert x.dtype == np.float32 and x.shape == (1000, 16)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(x, clustered_vectors(1000, d=16, clusters=5))


def test_tiny_knn_benchmark_agrees_with_sklearn(tmp_path):
    ours = graph.knn_ours(str(tmp_path), n=600, save=True)
    base = graph.knn_sklearn(str(tmp_path), n=600, save=True)
    assert ours["seconds"] > 0 and ours["peak"] > 0
    assert np.asarray(ours["indices"]).shape == (600, graph.KNN_K)
    assert graph._recall(ours["indices"], base["indices"]) > 0.999


def test_fresh_process_runner(tmp_path):
    from core.store import Store

    path = tmp_path / "ws.duckdb"
    answer = run_isolated("bench.render:write_workspace", timeout=120, n=120, path=str(path))
    assert answer["seconds"] > 0
    store = Store.open(path)
    try:
        [collection] = store.collections()
        _, _, vectors = store.load_vectors([collection.id], store.models()[0].id)
    finally:
        store.close()
    assert vectors.shape == (120, 384)
    with pytest.raises(BenchError, match="AttributeError"):
        run_isolated("bench.render:no_such_benchmark", timeout=60)


def test_a_hanging_child_reports_where_it_hangs(tmp_path, monkeypatch):
    """A benchmark that never returns ends before the runner's timeout, with every thread's stack."""
    (tmp_path / "hanging_target.py").write_text(
        "import threading\n\n\ndef wait_for_a_signal_that_never_comes(workdir):\n    threading.Event().wait()\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(BenchError, match="failed") as error:
        run_isolated("hanging_target:wait_for_a_signal_that_never_comes", timeout=8)
    assert "wait_for_a_signal_that_never_comes" in str(error.value) and "Timeout" in str(error.value)


def test_gpu_figures_from_a_recorded_h200_run(monkeypatch):
    """The GPU benchmark's figures, built from what its measurement returned on an H200 (bench/results/gpu)."""
    import torch

    from bench import gpu
    from bench.common import ROOT

    report = json.loads((ROOT / "bench" / "results" / "gpu" / "latest.json").read_text())["figures"]
    recorded = {f["name"].split(".", 1)[1]: f["extra"] for f in report}
    answer = {"device": "NVIDIA H200", "short": recorded["short"], "mixed": recorded["mixed"],
              "cpu": recorded["fp16_agreement"], "pool": recorded["pool"], "oom": recorded["oom_fallback"]}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gpu, "run_isolated", lambda target, **kwargs: answer)
    figures = {f.name: f for f in gpu.run(quick=False)}
    # the figures rebuilt from the measurements are the ones the H200 run reported (its own report, not a
    # formula repeated here), e.g. 4,722 texts/s at 1.10 times the baseline for short texts
    for figure in report:
        rebuilt = figures[figure["name"]]
        for key in ("ours", "baseline", "ratio"):
            if figure.get(key) is not None:
                assert getattr(rebuilt, key) == pytest.approx(figure[key], rel=1e-9), (figure["name"], key)
        assert rebuilt.passed == figure["passed"], figure["name"]
    assert round(figures["gpu.short"].ours) == 4722 and round(figures["gpu.short"].ratio, 2) == 1.10
    assert not figures["gpu.mixed"].passed  # 0.84 against 0.95
    assert figures["gpu.fp16_agreement"].passed and figures["gpu.oom_fallback"].passed
    assert "5 out-of-memory errors caught" in figures["gpu.oom_fallback"].notes


def test_gpu_benchmark_is_skipped_without_cuda(monkeypatch):
    import torch

    from bench import gpu

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BenchSkipped, match="no CUDA"):
        gpu.run(quick=True)


def test_a_quick_run_never_replaces_the_committed_full_results():
    """Quick figures (small n) go to bench/results/quick/ unless --out says otherwise; full runs to bench/results/."""
    assert run.parse_args(["--quick"]).out == run.QUICK_OUT != run.DEFAULT_OUT
    assert run.parse_args([]).out == run.DEFAULT_OUT
    assert subprocess.run(["git", "check-ignore", "-q", str(run.QUICK_OUT / "latest.json")], cwd=run.ROOT).returncode == 0
