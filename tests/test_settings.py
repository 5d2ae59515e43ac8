"""Settings: round trip, migration from a version-1 file, lenient reading, plugin params."""
from __future__ import annotations

import dataclasses
import json

import pytest

from core.settings import (MAX_RECENT, SETTINGS_VERSION, Settings, load_settings, restore_params, save_settings,
                           settings_overrides, with_plugin_params, with_recent)
from plugins.hubness.analysis import HubnessParams
from plugins.map.analysis import MapParams

#: a settings file as the first version wrote it (short names, nested UMAP defaults)
V1_FILE = {
    "version": 1,
    "model": "my-local-model",
    "batch_size": 16,
    "device": "cpu",
    "k": 7,
    "umap": {"n_neighbors": 30, "min_dist": 0.25},
    "theme": "dark",
    "recent": ["/data/a.duckdb", "/data/b.duckdb"],
    "allow_download": True,
    "some_future_key": {"ignored": True},
}


def test_round_trip_keeps_every_field(tmp_path):
    path = tmp_path / "conf" / "settings.json"
    original = Settings(default_model="m", batch_size=8, device="mps", knn_k=12, umap_n_neighbors=40,
                        umap_min_dist=0.3, theme="light", recent_workspaces=("/x.duckdb",),
                        plugin_params={"hubness": {"k": 20}}, allow_download=True, trust_remote_code=True,
                        welcome_dismissed=True)
    save_settings(original, path)
    loaded, problems = load_settings(path)
    assert loaded == original and problems == []
    assert json.loads(path.read_text())["version"] == SETTINGS_VERSION
    assert not path.with_name("settings.json.tmp").exists()  # written atomically


def test_version_1_file_is_migrated_to_the_current_version(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(V1_FILE), encoding="utf-8")
    loaded, problems = load_settings(path)
    assert problems == []
    assert loaded.version == SETTINGS_VERSION == 3
    assert loaded.batch_size == 16  # a batch size the user chose stays
    assert loaded.default_model == "my-local-model" and loaded.knn_k == 7 and loaded.device == "cpu"
    assert (loaded.umap_n_neighbors, loaded.umap_min_dist) == (30, 0.25)
    assert loaded.recent_workspaces == ("/data/a.duckdb", "/data/b.duckdb")
    assert loaded.theme == "dark" and loaded.allow_download and not loaded.trust_remote_code
    assert loaded.plugin_params == {}
    save_settings(loaded, path)  # saved again, it is a current-version file with the same values
    assert load_settings(path)[0] == loaded and json.loads(path.read_text())["version"] == 3


def test_version_2_default_batch_size_becomes_automatic(tmp_path):
    path = tmp_path / "settings.json"
    for saved, expected in ((32, 0), (64, 64)):
        path.write_text(json.dumps({"version": 2, "batch_size": saved}), encoding="utf-8")
        assert load_settings(path) == (Settings(batch_size=expected), [])


@pytest.mark.parametrize("content", ["{not json", "[1, 2, 3]", "\xff\xfe garbage", ""])
def test_corrupt_file_gives_defaults_and_a_warning(tmp_path, content, caplog):
    path = tmp_path / "settings.json"
    path.write_bytes(content.encode("latin-1"))
    loaded, problems = load_settings(path)
    assert loaded == Settings()
    assert len(problems) == 1 and "default" in problems[0]
    assert any(r.levelname == "WARNING" for r in caplog.records)


def test_bad_values_fall_back_one_by_one(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 2, "batch_size": -3, "device": "tpu", "theme": "dark", "knn_k": True,
                                "umap_min_dist": 3.0, "recent_workspaces": "not a list"}), encoding="utf-8")
    loaded, problems = load_settings(path)
    assert loaded.theme == "dark"  # the good value is kept
    assert (loaded.batch_size, loaded.device, loaded.knn_k) == (0, "auto", 10)
    assert loaded.umap_min_dist == 0.1 and loaded.recent_workspaces == ()
    assert len(problems) == 5


def test_missing_file_gives_defaults_silently(tmp_path):
    assert load_settings(tmp_path / "nothing.json") == (Settings(), [])


def test_recent_list_is_unique_most_recent_first_and_bounded(tmp_path):
    settings = Settings()
    for i in range(MAX_RECENT + 3):
        settings = with_recent(settings, tmp_path / f"w{i}.duckdb")
    settings = with_recent(settings, tmp_path / "w5.duckdb")
    recent = settings.recent_workspaces
    assert len(recent) == MAX_RECENT and len(set(recent)) == MAX_RECENT
    assert recent[0].endswith("w5.duckdb") and recent[1].endswith(f"w{MAX_RECENT + 2}.duckdb")


def test_plugin_params_are_stored_as_json_and_restored_with_fallbacks():
    settings = with_plugin_params(Settings(), "hubness", HubnessParams(k=25, log_scale=True))
    assert settings.plugin_params["hubness"]["k"] == 25
    assert restore_params(HubnessParams, settings.plugin_params["hubness"], {}) == HubnessParams(k=25, log_scale=True)
    # unknown fields are dropped, invalid values fall back to the defaults
    assert restore_params(HubnessParams, {"k": 25, "gone": 1}, {}) == HubnessParams(k=25)
    assert restore_params(HubnessParams, {"reduction": "nonsense"}, {}) == HubnessParams()
    # the Settings dialog's fields win over saved ones
    overrides = settings_overrides(dataclasses.replace(Settings(), umap_n_neighbors=33))["map"]
    assert restore_params(MapParams, {"n_neighbors": 5, "random_state": 7}, overrides) == MapParams(
        n_neighbors=33, random_state=7
    )
