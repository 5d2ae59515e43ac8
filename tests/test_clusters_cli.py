"""`clusters --json`, run as a user would: in a subprocess through main.py."""
from __future__ import annotations

import json

from tests.test_cli import DEMO, run


def test_clusters_prints_the_hierarchy_with_keywords_and_measures(tmp_path):
    path = tmp_path / "ws.duckdb"
    assert run("ingest", str(DEMO), "--workspace", str(path), "--model", "hashing-64").returncode == 0
    result = run("clusters", "--workspace", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    clusters = report["clusters"]
    assert report["n"] > 300 and report["levels"] >= 1 and clusters
    ids = {c["id"] for c in clusters}
    for c in clusters:
        assert set(c) >= {"id", "parent", "level", "size", "keywords", "representative_ids", "mean_nk",
                          "antihub_share", "mean_cosine", "lid", "preservation"}
        assert c["parent"] == -1 or (c["parent"] in ids and c["level"] > 0)
        assert c["keywords"] and 1 <= len(c["representative_ids"]) <= 3 and c["size"] >= len(c["representative_ids"])
    again = json.loads(run("clusters", "--workspace", str(path), "--json").stdout)  # the saved layout: same answer
    assert again["clusters"] == clusters
    missing = run("clusters", "--workspace", str(path), "--collection", "nope")
    assert missing.returncode == 1 and "no collection named 'nope'" in missing.stderr
