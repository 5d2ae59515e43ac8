"""Embedding-set actions in the window: embed with a second model, import vectors, export a set.

The dialogs only collect choices; these tests call the ``*_now`` slots with the
values a user would pick, and build the dialogs separately to check what they offer.
"""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from core.encoder import DEFAULT_MODEL
from core.encoders_extra import ONNX_MINILM_MODEL, STATIC_MODEL
from core.registry import discover
from core.vector_io import VectorFileError, read_vector_file
from gui.embedding_set_actions import EmbedWithDialog, ExportSetDialog, ImportVectorsDialog, model_choices
from gui.main_window import MainWindow
from tests.test_main_window import close_quietly


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(discover(), model_name="hashing-64", settings_file=tmp_path / "settings.json")
    win.show()
    assert win.workspace.open(tmp_path / "sets.duckdb")
    yield win
    close_quietly(win)


def texts_of(name: str, n: int) -> list[str]:
    return [f"{name} line {i} about topic {i % 4}" for i in range(n)]


def add_corpus(window: MainWindow, qtbot, tmp_path, name: str, n: int) -> int:
    """Import ``n`` lines as a collection embedded with hashing-64; returns its id."""
    path = tmp_path / f"{name}.txt"
    path.write_text("\n".join(texts_of(name, n)), encoding="utf-8")
    with qtbot.waitSignal(window.service.sig_import_done, timeout=30_000) as blocker:
        window.import_paths([str(path)])
    qtbot.waitUntil(lambda: not window.service.busy, timeout=30_000)
    return blocker.args[0].all_ids[0]


def model_id(window: MainWindow, name: str) -> int:
    return next(m.id for m in window.session.store.models() if m.name == name)


def test_embed_with_a_second_model_keeps_both_sets(window, qtbot, tmp_path):
    cid = add_corpus(window, qtbot, tmp_path, "red", 12)
    store = window.session.store
    _, _, before = store.load_vectors((cid,), model_id(window, "hashing-64"))
    window.embedding_sets.embed_now((cid,), "hashing-32")
    qtbot.waitUntil(lambda: {(s.model_name, s.complete) for s in store.embedding_sets(cid)}
                    == {("hashing-64", True), ("hashing-32", True)}, timeout=30_000)
    # the new space reaches the session (the compare view's spaces) and the Model box
    view = lambda: window.session.view  # noqa: E731 - loads asynchronously, None until the first one lands
    qtbot.waitUntil(lambda: view() is not None and "hashing-32" in view().data.extras["spaces"], timeout=30_000)
    assert view().data.extras["spaces"]["hashing-32"].shape == (12, 32)
    _, _, after = store.load_vectors((cid,), model_id(window, "hashing-64"))
    np.testing.assert_array_equal(after, before)  # the first set is untouched
    window.collections.select_model("hashing-32")
    qtbot.waitUntil(lambda: view().data.vectors.shape == (12, 32), timeout=30_000)


def test_a_model_that_cannot_load_says_why_and_writes_nothing(window, qtbot, tmp_path):
    cid = add_corpus(window, qtbot, tmp_path, "blue", 6)
    store = window.session.store
    models, sets = store.models(), store.embedding_sets()
    not_a_model = tmp_path / "empty-folder"
    not_a_model.mkdir()
    with qtbot.waitSignal(window.service.sig_error, timeout=30_000) as blocker:
        window.embedding_sets.embed_now((cid,), str(not_a_model))
    assert "is not a sentence-transformers model" in blocker.args[0]
    qtbot.waitUntil(lambda: window.errors.dialog is not None and window.errors.dialog.isVisible(), timeout=5_000)
    assert "is not a sentence-transformers model" in window.errors.dialog.summary.text()
    qtbot.waitUntil(lambda: not window.service.busy, timeout=10_000)
    assert store.models() == models and store.embedding_sets() == sets


def _parquet(path, texts: list[str], vectors: np.ndarray) -> None:
    offsets = pa.array(np.arange(0, vectors.size + 1, vectors.shape[1], dtype=np.int32))
    column = pa.ListArray.from_arrays(offsets, pa.array(vectors.ravel()))
    pq.write_table(pa.table({"text": texts, "vector": column}), path)


def test_imported_vectors_become_a_space_without_search_by_meaning(window, qtbot, tmp_path):
    cid = add_corpus(window, qtbot, tmp_path, "green", 10)
    vectors = np.random.default_rng(0).normal(size=(10, 8)).astype(np.float32)
    _parquet(tmp_path / "mine.parquet", texts_of("green", 10), vectors)
    button = window.map_panel.meaning_button
    assert button.isEnabled()
    window.embedding_sets.import_now(tmp_path / "mine.parquet", "my vectors", collection_name="green")
    store = window.session.store
    qtbot.waitUntil(lambda: any(m.name == "my vectors" for m in store.models()), timeout=30_000)
    mine = model_id(window, "my vectors")
    assert store.model(mine).kind == "imported"
    # the window switches to the imported set; its vectors come back exactly
    qtbot.waitUntil(lambda: window.session.view is not None and window.session.view.model_id == mine, timeout=30_000)
    order = np.argsort(np.argsort(window.session.view.data.doc_ids))
    np.testing.assert_array_equal(window.session.view.data.vectors, vectors[order])
    assert not button.isEnabled() and not button.isChecked()
    assert "imported" in button.toolTip() and "Search by meaning is off" in button.toolTip()
    window.collections.select_model("hashing-64")  # an encoder's set: search by meaning is back
    qtbot.waitUntil(lambda: window.session.view.model_id == model_id(window, "hashing-64"), timeout=30_000)
    assert button.isEnabled() and "Search by meaning is off" not in button.toolTip()
    assert cid in window.collections.checked_ids()


def test_a_bad_vector_file_shows_its_error_and_changes_nothing(window, qtbot, tmp_path):
    add_corpus(window, qtbot, tmp_path, "amber", 5)
    store = window.session.store
    collections, models = store.collections(), store.models()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(json.dumps({"text": f"t{i}", "vector": [1.0] * (3 if i < 2 else 4)}) for i in range(4)),
                   encoding="utf-8")
    with pytest.raises(VectorFileError) as expected:
        read_vector_file(bad)
    assert "inconsistent dimension" in str(expected.value)
    window.embedding_sets.import_now(bad, "broken")

    def problem_box() -> QMessageBox | None:
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        return next((box for box in boxes if box.windowTitle() == "Vectors not imported"), None)

    qtbot.waitUntil(lambda: problem_box() is not None, timeout=30_000)
    assert str(expected.value) in problem_box().text() and "unchanged" in problem_box().text()
    problem_box().close()
    assert store.collections() == collections and store.models() == models


def test_export_writes_the_set_to_parquet(window, qtbot, tmp_path, monkeypatch):
    first = add_corpus(window, qtbot, tmp_path, "one", 7)
    second = add_corpus(window, qtbot, tmp_path, "two", 5)
    store = window.session.store
    hashing = model_id(window, "hashing-64")
    messages: list[str] = []
    monkeypatch.setattr(window, "show_message", messages.append)
    window.embedding_sets.export_now((first, second), hashing, tmp_path / "out")
    assert messages == ["Exporting hashing-64 to out.parquet…"]
    # other messages (a view reload) may come in between: wait for the answer itself
    qtbot.waitUntil(lambda: any(m.startswith("Exported 12 rows of hashing-64 to") for m in messages), timeout=30_000)
    table = pq.read_table(tmp_path / "out.parquet")  # the suffix is added
    assert table.num_rows == 12 and sorted(set(table["collection"].to_pylist())) == ["one", "two"]
    doc_ids, _, vectors = store.load_vectors((first, second), hashing)
    exported = np.array(table["vector"].to_pylist(), dtype=np.float32)
    np.testing.assert_array_equal(exported, vectors)
    assert table["id"].to_pylist() == doc_ids.tolist()


def test_dialogs_offer_what_the_workspace_allows(window, qtbot, tmp_path):
    cid = add_corpus(window, qtbot, tmp_path, "dialog", 4)
    store = window.session.store
    choices = model_choices(store, ["hashing-64"])
    assert list(choices)[:3] == [DEFAULT_MODEL, STATIC_MODEL, ONNX_MINILM_MODEL]  # default, then offline extras
    assert "hashing-64" in choices
    embed = EmbedWithDialog(store, (cid,), ["hashing-64"])
    qtbot.addWidget(embed)
    ok = embed.buttons.button(QDialogButtonBox.Ok)
    embed.model_box.setCurrentText("hashing-64")
    assert "Already embedded" in embed.description.text() and ok.isEnabled()
    embed.model_box.setCurrentText(STATIC_MODEL)
    assert "Already embedded" not in embed.description.text()
    assert embed.values() == ((cid,), STATIC_MODEL)
    embed.collections.item(0).setCheckState(Qt.Unchecked)
    assert not ok.isEnabled()  # nothing ticked

    export = ExportSetDialog(store, (cid,), None)
    qtbot.addWidget(export)
    assert export.values() == ((cid,), model_id(window, "hashing-64"))
    assert export.count.text().startswith("4 documents")
    export.collections.item(0).setCheckState(Qt.Unchecked)
    assert export.space_box.count() == 0 and not export.buttons.button(QDialogButtonBox.Ok).isEnabled()

    imports = ImportVectorsDialog(["dialog"])
    qtbot.addWidget(imports)
    assert not imports.buttons.button(QDialogButtonBox.Ok).isEnabled()
    imports.path_edit.setText(str(tmp_path / "corpus.npy"))
    assert imports.buttons.button(QDialogButtonBox.Ok).isEnabled()
    assert imports.model_edit.placeholderText() == "corpus (imported)"
    assert imports.values()["path"].endswith("corpus.npy") and imports.values()["model_name"] == ""


def test_menus_reach_the_actions(window, qtbot, monkeypatch):
    action = window.named_actions["embed_with"]
    assert action.shortcut().toString() == "Ctrl+Shift+E"
    assert any(m.title() == "&Collections" for m in action.associatedObjects() if hasattr(m, "title"))
    asked: list[tuple] = []
    monkeypatch.setattr(window.embedding_sets, "export_dialog", lambda ids=(): asked.append(ids))
    menu = window.collections.menu_for((1,))
    with qtbot.waitSignal(window.collections.sig_action_requested):
        next(a for a in menu.actions() if a.text().startswith("Export embedding set")).trigger()
    window.named_actions["export_set"].trigger()  # the menu bar's entry: no collections given
    assert asked == [(1,), ()]
    assert any(a.text().startswith("Embed with another model") and a.isEnabled() for a in menu.actions())
