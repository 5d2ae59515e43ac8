"""Tests for core.ingest: formats, bad input, encodings, batching, folder expansion."""
from __future__ import annotations

import datetime
import gzip
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ingest import (
    SUPPORTED_SUFFIXES,
    IngestOptions,
    IngestReport,
    expand_paths,
    ingest_paths,
    read_documents,
)
from tests.fixtures_ingest import messages, parquet_bytes, read, write

TEXTS = ["The cat sat on the mat.", "Ünïcödé — “quotes” and 日本語", "a third, longer document with commas, too"]


def _sample(suffix: str) -> str | bytes:
    """A file in format ``suffix`` holding TEXTS plus an ``id`` column/field."""
    if suffix in (".txt", ".md"):
        return "\n".join(TEXTS) + "\n"
    if suffix == ".csv":
        return "id,text\n" + "".join(f'{i},"{t}"\n' for i, t in enumerate(TEXTS))
    if suffix == ".tsv":
        return "id\ttext\n" + "".join(f"{i}\t{t}\n" for i, t in enumerate(TEXTS))
    if suffix == ".jsonl":
        return "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(TEXTS))
    if suffix == ".json":
        return json.dumps([{"id": i, "text": t} for i, t in enumerate(TEXTS)], indent=1)
    return parquet_bytes({"id": list(range(len(TEXTS))), "text": TEXTS})


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("suffix", [".txt", ".md", ".csv", ".tsv", ".jsonl", ".json", ".parquet"])
def test_every_format_reads_the_texts(tmp_path: Path, suffix: str, gz: bool) -> None:
    path = write(tmp_path / f"sample data{suffix}", _sample(suffix), gz=gz)
    texts, metas, report, _ = read(path, md_mode="lines")
    assert texts == TEXTS
    assert report.issues == []
    assert report.files_read == 1 and report.documents == 3
    if suffix not in (".txt", ".md"):
        assert [m["id"] for m in metas] == [0, 1, 2]
    position = {".parquet": "row", ".json": "item"}.get(suffix, "line")
    assert position in metas[0]


def test_supported_suffixes_include_gzip_variants() -> None:
    assert {".txt", ".md", ".csv", ".tsv", ".jsonl", ".json", ".parquet", ".csv.gz", ".parquet.gz"} <= set(
        SUPPORTED_SUFFIXES
    )


def test_txt_and_md_modes(tmp_path: Path) -> None:
    body = "# Title\n\nFirst paragraph.\n   \nSecond.\n"
    txt, md = write(tmp_path / "a.txt", body), write(tmp_path / "a.md", body)
    assert read(txt)[0] == ["# Title", "First paragraph.", "Second."]
    assert read(txt)[1][2] == {"line": 5}
    assert read(txt, txt_mode="file")[0] == [body.strip()]
    assert read(md)[0] == [body.strip()]
    assert read(md, md_mode="lines")[0] == ["# Title", "First paragraph.", "Second."]
    with pytest.raises(ValueError, match="txt_mode"):
        IngestOptions(txt_mode="paragraphs")


def test_batching_5000_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "many.txt", "".join(f"line {i}\n" for i in range(5000)))
    texts, metas, report, batches = read(path, batch_size=1000)
    assert [len(b.texts) for b in batches] == [1000] * 5
    assert texts[4999] == "line 4999" and metas[4999] == {"line": 5000}
    assert report.documents == 5000 and all(b.source == str(path) for b in batches)


def test_batching_tables_and_parquet_row_groups(tmp_path: Path) -> None:
    csv_path = write(tmp_path / "t.csv", "text\n" + "".join(f"row number {i}\n" for i in range(2500)))
    assert [len(b.texts) for b in read(csv_path, batch_size=1000)[3]] == [1000, 1000, 500]
    pq_path = write(tmp_path / "t.parquet", parquet_bytes({"text": [f"r{i}" for i in range(2500)]}, 700))
    texts, metas, _, batches = read(pq_path, batch_size=1000)
    assert [len(b.texts) for b in batches] == [1000, 1000, 500]
    assert texts[-1] == "r2499" and metas[-1] == {"row": 2500}


def test_a_line_of_30_mb_is_one_document(tmp_path: Path) -> None:
    long_line = "word " * 6_000_000
    path = write(tmp_path / "long.txt", "short\n" + long_line + "\nend\n")
    texts, _, report, _ = read(path)
    assert [len(t) for t in texts] == [5, len(long_line.strip()), 3]
    assert report.issues == []


# ---------------------------------------------------------------- tables


def test_csv_text_column_detection_override_and_numeric_metadata(tmp_path: Path) -> None:
    content = (
        "id;title;summary;score;zip;mixed\n"
        "1;Short;A much longer summary of the first row;0.5;01234;7\n"
        "2;Tiny;Another long summary, with a comma;2;00042;x\n"
    )
    path = write(tmp_path / "semi.csv", content)
    texts, metas, report, _ = read(path)
    assert texts == ["A much longer summary of the first row", "Another long summary, with a comma"]
    assert metas[0] == {"id": 1, "title": "Short", "score": 0.5, "zip": "01234", "mixed": "7", "line": 2}
    assert metas[1]["score"] == 2.0 and isinstance(metas[1]["score"], float)
    assert report.issues == []
    assert read(path, text_column="TITLE")[0] == ["Short", "Tiny"]
    _, _, report, _ = read(path, text_column="abstract")
    assert "'abstract' was not found" in messages(report)[0] and "summary" in messages(report)[0]


def test_csv_delimiter_among_several_in_the_header(tmp_path: Path) -> None:
    content = "id;name, first;text\n1;Smith, John;hello there, my friend\n2;Doe, Jane;bye for now\n"
    path = write(tmp_path / "names.csv", content)
    texts, metas, _, _ = read(path)
    assert texts == ["hello there, my friend", "bye for now"] and metas[0]["name, first"] == "Smith, John"


def test_csv_tie_prefers_a_column_named_text(tmp_path: Path) -> None:
    path = write(tmp_path / "tie.csv", "label,text\nabcd,wxyz\n")
    assert read(path)[0] == ["wxyz"]


def test_single_column_csv_keeps_commas_and_quoted_newlines(tmp_path: Path) -> None:
    path = write(tmp_path / "one.csv", 'sentence\nHello, world, again\n"two\nlines, quoted"\n')
    texts, metas, _, _ = read(path)
    assert texts == ["Hello, world, again", "two\nlines, quoted"]
    assert metas[1] == {"line": 4}


def test_csv_ragged_rows_are_kept_with_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "ragged.csv", "text,n\nfirst row,1\nsecond row\nthird,3,extra\n")
    texts, metas, report, _ = read(path)
    assert texts == ["first row", "second row", "third"]
    assert metas[1]["n"] is None
    (warning,) = messages(report, "warning")
    assert "ragged.csv" in warning and "lines 3, 4" in warning


def test_csv_header_only_and_no_text_column(tmp_path: Path) -> None:
    _, _, report, _ = read(write(tmp_path / "header.csv", "id,text\n"))
    assert messages(report) == ["header.csv: the table has a header (id, text) but no data rows."]
    assert report.files_skipped == [str(tmp_path / "header.csv")]
    _, _, report, _ = read(write(tmp_path / "numbers.tsv", "id\tscore\n1\t0.5\n2\t0.7\n"))
    (message,) = messages(report)
    assert message.startswith("numbers.tsv: no column holds text (columns found: id, score)")


# ---------------------------------------------------------------- parquet


def test_parquet_metadata_types_and_nulls(tmp_path: Path) -> None:
    import pyarrow as pa

    columns = {
        "body": pa.array(["first text", None, "third text"]),
        "when": pa.array([datetime.date(2024, 1, 2)] * 3),
        "x": pa.array([1.5, float("nan"), None]),
        "blob": pa.array([b"\x00\x01"] * 3),
        "tags": pa.array([["a"], [], None]),
    }
    texts, metas, report, _ = read(write(tmp_path / "p.parquet", parquet_bytes(columns)))
    assert texts == ["first text", "third text"]
    assert metas[0] == {"when": "2024-01-02", "x": 1.5, "tags": ["a"], "row": 1}
    assert metas[1]["x"] is None and metas[1]["row"] == 3
    json.dumps(metas)
    assert messages(report) == ["p.parquet: skipped 1 row: the column 'body' is missing or null (row 2)"]


def test_parquet_nested_or_all_null_text_column(tmp_path: Path) -> None:
    import pyarrow as pa

    nested = write(tmp_path / "nested.parquet", parquet_bytes({"text": pa.array([["a", "b"]]), "id": [1]}))
    (message,) = messages(read(nested)[2])
    assert "no column holds text" in message and "text (list<" in message and "flatten" in message
    (message,) = messages(read(nested, text_column="text")[2])
    assert "column 'text' holds nested values" in message
    nulls = write(tmp_path / "nulls.parquet", parquet_bytes({"text": pa.array([None, None], pa.string())}))
    texts, _, report, _ = read(nulls, text_column="text")
    assert texts == [] and "skipped 2 rows" in messages(report)[0]
    assert report.files_skipped == [str(nulls)]
    assert "no column holds text" in messages(read(nulls)[2])[0]


def test_parquet_not_parquet_and_empty(tmp_path: Path) -> None:
    assert "not a valid Parquet file" in messages(read(write(tmp_path / "bad.parquet", b"PAR1 nonsense"))[2])[0]
    assert messages(read(write(tmp_path / "e.parquet", b""))[2]) == ["e.parquet: the file is empty."]
    no_rows = write(tmp_path / "none.parquet", parquet_bytes({"text": pa_strings([])}))
    assert "but no rows" in messages(read(no_rows)[2])[0]


def pa_strings(values: list) -> object:
    import pyarrow as pa

    return pa.array(values, pa.string())


# ---------------------------------------------------------------- JSON


def test_jsonl_broken_lines_are_counted_in_one_issue(tmp_path: Path) -> None:
    good_two = '{"text": "good two", "k": {"a": 1}}'
    lines = ['{"text": "good one"}'] + ["{oops"] * 7 + ['"a plain string"', "[1, 2]", good_two]
    texts, metas, report, _ = read(write(tmp_path / "mixed.jsonl", "\n".join(lines)))
    assert texts == ["good one", "a plain string", "good two"]
    assert metas[2] == {"k": {"a": 1}, "line": 11}
    broken, shape = messages(report)
    assert broken.startswith("mixed.jsonl: skipped 7 lines: not valid JSON (lines 2, 3, 4, 5, 6, …)")
    assert "line 10" in shape and "found a list" in shape
    assert report.issues[0].line == 2 and report.files_read == 1


def test_json_shapes(tmp_path: Path) -> None:
    strings = write(tmp_path / "s.json", json.dumps(["one", "two"]))
    assert read(strings)[0] == ["one", "two"]
    wrapped = write(tmp_path / "w.json", json.dumps({"version": 2, "meta": {"a": [1]}, "records": [{"abstract": "x"}]}))
    assert read(wrapped)[0] == ["x"]
    several = write(tmp_path / "two.json", json.dumps({"tags": ["t"], "docs": [{"content": "a"}, {"content": "b"}]}))
    texts, _, report, _ = read(several)
    assert texts == ["a", "b"] and "read 'docs', the longest" in messages(report, "warning")[0]
    for name, value, found in [("n.json", 42, "a number"), ("o.json", {"a": 1}, "without any list")]:
        (message,) = messages(read(write(tmp_path / name, json.dumps(value)))[2])
        assert message.startswith(f"{name}: expected a list of objects or strings") and found in message


def test_json_broken_midway_keeps_earlier_items_and_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "cut.json", '[\n{"text": "a"},\n{"text": "b"},\n{"text": oops}\n]')
    texts, _, report, _ = read(path)
    assert texts == ["a", "b"]
    (issue,) = report.issues
    assert issue.line == 4 and issue.message.startswith("cut.json (line 4): this is not valid JSON")


def test_json_concatenated_objects_hint_at_jsonl(tmp_path: Path) -> None:
    path = write(tmp_path / "lines.json", '{"text": "a"}\n{"text": "b"}\n')
    assert "rename it to .jsonl" in messages(read(path)[2])[0]


def test_json_large_items_stream_across_chunks(tmp_path: Path) -> None:
    items = [{"text": f"item {i} " + "x" * (i * 997 % 50_000), "n": i / 3} for i in range(300)]
    texts, metas, report, _ = read(write(tmp_path / "big.json", json.dumps({"data": items})))
    assert texts == [it["text"].strip() for it in items] and report.issues == []
    assert [m["n"] for m in metas] == [it["n"] for it in items]


def test_json_field_detection_and_override(tmp_path: Path) -> None:
    rows = [{"title": "ab", "sentence": "cd", "long": "a longer field", "n": 1}] * 2
    path = write(tmp_path / "f.jsonl", "\n".join(map(json.dumps, rows)))
    texts, metas, _, _ = read(path)
    assert texts == ["a longer field"] * 2 and metas[0] == {"title": "ab", "sentence": "cd", "n": 1, "line": 1}
    assert read(path, text_column="title")[0] == ["ab", "ab"]
    rows = [{"title": "ab", "sentence": "cd"}]
    assert read(write(tmp_path / "tie.jsonl", json.dumps(rows[0])))[0] == ["cd"]


# ---------------------------------------------------------------- encodings and bad bytes


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be"])
def test_encodings_with_bom(tmp_path: Path, encoding: str) -> None:
    text = "id,text\n1,Grüße aus Köln 🌍\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = write(tmp_path / f"{encoding}.csv", data)
    texts, metas, report, _ = read(path)
    assert texts == ["Grüße aus Köln 🌍"] and metas[0]["id"] == 1 and report.issues == []


def test_cp1252_text_is_decoded_as_cp1252_with_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "legacy.txt", "Café crème\nna\u00efve r\u00e9sum\u00e9 – €5\nplain\n", encoding="cp1252")
    texts, _, report, _ = read(path)
    assert texts == ["Café crème", "naïve résumé – €5", "plain"]
    (issue,) = report.issues
    assert issue.severity == "warning" and issue.message.startswith("legacy.txt: decoded as Windows-1252 (cp1252")


def test_bad_bytes_after_a_utf8_start_are_replaced_with_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "late.txt", "x\n" * 40_000 + "caf\u00e9\n", encoding="cp1252")
    texts, _, report, _ = read(path)
    assert texts[-1] == "caf\ufffd"
    (issue,) = report.issues
    assert issue.severity == "warning" and "replaced 1 undecodable byte with" in issue.message


def test_nul_bytes_are_stripped_with_a_warning(tmp_path: Path) -> None:
    texts, _, report, _ = read(write(tmp_path / "nul.txt", b"he\x00llo\nwor\x00ld\n" + b"x" * 200))
    assert texts[:2] == ["hello", "world"]
    assert messages(report, "warning") == ["nul.txt: removed 2 NUL characters from the texts."]


@pytest.mark.parametrize("name", ["image.txt", "data.csv", "data.jsonl", "data.json", "x.md.gz"])
def test_binary_files_with_text_names_are_skipped(tmp_path: Path, name: str) -> None:
    blob = bytes(range(256)) * 64
    path = write(tmp_path / name, gzip.compress(blob) if name.endswith(".gz") else blob)
    texts, _, report, _ = read(path)
    assert texts == []
    (message,) = messages(report)
    assert message.startswith(f"{name}: this looks like a binary file")
    assert report.files_skipped == [str(path)]


def test_utf16_without_bom_is_called_binary_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "u16.txt", "hello world\n" * 20, encoding="utf-16-le")
    assert "UTF-16" in messages(read(path)[2])[0]


@pytest.mark.parametrize("name, content", [("empty.txt", b""), ("blank.txt", b" \n\n\t\n"), ("empty.jsonl", b"\n"),
                                           ("list.json", b"[]"), ("empty.csv.gz", b"")])
def test_empty_files(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    texts, _, report, _ = read(path)
    (message,) = messages(report)
    assert texts == [] and message.startswith(f"{name}: ")
    assert "empty" in message or "no text found" in message
    assert report.files_skipped == [str(path)] and report.files_read == 0


def test_corrupt_gzip(tmp_path: Path) -> None:
    (message,) = messages(read(write(tmp_path / "fake.txt.gz", b"not gzip at all"))[2])
    assert message.startswith("fake.txt.gz: this is not gzip data")
    data = gzip.compress("".join(f"line {i} {os.urandom(8).hex()}\n" for i in range(20000)).encode())
    cut = write(tmp_path / "cut.txt.gz", data[: len(data) // 2])
    texts, _, report, _ = read(cut, batch_size=100)
    assert 1000 < len(texts) < 20000
    assert "truncated" in messages(report)[0] and report.files_read == 1


# ---------------------------------------------------------------- folders


def test_expand_paths_folders_loops_and_unsupported(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "b dir").mkdir(parents=True)
    (root / ".hidden").mkdir()
    write(root / ".hidden" / "secret.txt", "x")
    write(root / ".dotfile.txt", "x")
    write(root / "b dir" / "z “quoted” 'name'.txt", "quoted")
    write(root / "a ünïcode.csv", "text\nhi\n")
    write(root / "report.pdf", b"%PDF-1.4")
    write(root / "b dir" / "scan.pdf", b"%PDF-1.4")
    write(root / "README", "no suffix")
    write(root / "c.jsonl.gz", '"x"\n', gz=False)
    os.symlink(root, root / "b dir" / "loop")
    report = IngestReport()
    found = expand_paths([root, root / "a ünïcode.csv", tmp_path / "missing.txt"], report)
    assert [p.relative_to(root).as_posix() for p in found] == [
        "a ünïcode.csv",
        "b dir/z “quoted” 'name'.txt",
        "c.jsonl.gz",
    ]
    text = "\n".join(messages(report))
    assert "loop: this folder link leads back to" in text and "symlink loop" in text
    assert "corpus: skipped 2 files (scan.pdf, report.pdf): PDF files are not supported yet" in text
    assert "corpus: skipped 1 file (README): the file has no extension" in text
    assert "missing.txt: no such file or folder." in text
    assert len(report.issues) == 4


def test_unsupported_single_files_are_reported_plainly(tmp_path: Path) -> None:
    report = IngestReport()
    paths = [write(tmp_path / n, b"PK\x03\x04") for n in ("a.docx", "b.zip", "c.png", "d.gz", "e.xyz")]
    assert expand_paths(paths, report) == []
    got = messages(report)
    assert got[0] == "a.docx: word-processor documents are not supported yet; save them as plain text (.txt) first."
    assert "unpack them" in got[1] and "images" in got[2] and "like data.csv.gz" in got[3] and "'.xyz'" in got[4]
    assert read(paths[0])[2].files_skipped == [str(paths[0])]


def test_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "locked.txt", "secret")
    path.chmod(0)
    if os.geteuid() == 0:  # root reads anything: pretend the permission check fails
        monkeypatch.setattr("core.ingest.os.access", lambda *args: False)
    report = IngestReport()
    assert expand_paths([path], report) == []
    assert messages(report) == ["locked.txt: cannot be read: permission denied. Check the file's permissions."]


def test_unexpected_os_errors_become_issues(tmp_path: Path) -> None:
    folder = tmp_path / "looks like.txt"
    folder.mkdir()
    (message,) = messages(read(folder)[2])
    assert message.startswith("looks like.txt: could not be read (IsADirectoryError")


def test_ingest_paths_mixed_drop_and_summary(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", "one\ntwo\n")
    write(tmp_path / "bad.json", "{")
    write(tmp_path / "old.pdf", b"%PDF")
    report = IngestReport()
    batches = list(ingest_paths([tmp_path], IngestOptions(), report))
    assert [t for b in batches for t in b.texts] == ["one", "two"]
    assert report.summary() == "2 documents from 1 file; 2 files skipped (old.pdf, bad.json); 2 issues"


def test_closing_the_generator_early_is_safe(tmp_path: Path) -> None:
    path = write(tmp_path / "n.txt", "".join(f"{i}\n" for i in range(100)))
    report = IngestReport()
    gen = read_documents(path, IngestOptions(batch_size=10), report)
    assert next(gen).texts[0] == "0"
    gen.close()
    assert report.issues == [] and report.documents == 10


# ---------------------------------------------------------------- never raises


def _check_never_raises(suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz ü'{suffix}"
        path.write_bytes(data)
        report = IngestReport()
        batches = list(read_documents(path, IngestOptions(batch_size=7), report))
        for issue in report.issues:
            assert issue.path == str(path) and issue.message.startswith(path.name)
            assert issue.severity in ("error", "warning")
        assert all(t and t == t.strip() and "\0" not in t for b in batches for t in b.texts)
        assert all(len(b.texts) == len(b.metas) for b in batches)
        json.dumps([m for b in batches for m in b.metas])
        assert report.documents == sum(len(b.texts) for b in batches)
        assert bool(report.files_read) != bool(report.files_skipped)


_SUFFIXES = [".txt", ".md", ".csv", ".tsv", ".jsonl", ".json", ".parquet", ".csv.gz"]
_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(suffix=st.sampled_from(_SUFFIXES), data=st.binary(max_size=600))
def test_random_bytes_never_raise(suffix: str, data: bytes) -> None:
    _check_never_raises(suffix, data)


@_FUZZ
@given(suffix=st.sampled_from([".csv", ".tsv"]), text=st.text(alphabet=',;\t"\n\r ab1.\x00é', max_size=300))
def test_malformed_csv_never_raises(suffix: str, text: str) -> None:
    _check_never_raises(suffix, text.encode())


@_FUZZ
@given(
    suffix=st.sampled_from([".jsonl", ".json"]),
    text=st.text(alphabet='{}[]":,\n \\uDd8a1tex', max_size=300),
)
def test_malformed_json_never_raises(suffix: str, text: str) -> None:
    _check_never_raises(suffix, text.encode())
