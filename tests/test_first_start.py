"""First start, as a person starts the app: ``main.py`` with a fresh home folder opens the default
workspace, imports the bundled demo corpus, embeds it and maps it."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from core.store import Store

ROOT = Path(__file__).resolve().parents[1]


def test_first_start_fills_the_default_workspace_with_the_mapped_demo_corpus(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
           "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    # --smoke-test: the normal start, then quit once the demo is embedded and every view has its result.
    # The hashing model stands in for the bundled one (which CI's smoke test and test_real_model run): the
    # first start's own path is what is tested here, in seconds rather than minutes.
    result = subprocess.run([sys.executable, "main.py", "--smoke-test", "--model", "hashing-64"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(ROOT / "assets" / "demo_corpus.csv", newline="", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))
    assert f"with {rows} documents mapped" in result.stdout
    (workspace,) = (home / ".local/share").rglob("workspace.duckdb")  # created in the user's data folder
    assert list((home / ".config").rglob("settings.json"))  # and the settings in the config folder
    store = Store.open(workspace, read_only=True)
    try:
        (demo,) = store.collections()
        assert demo.name == "demo_corpus" and demo.n_docs == rows and demo.status == "ready"
        (embedded,) = store.embedding_sets(demo.id)
        assert embedded.model_name == "hashing-64" and embedded.complete
    finally:
        store.close()
