"""Checks on the bundled assets: demo corpus, app icon and desktop-entry template."""

from __future__ import annotations

import csv
from collections import Counter
from importlib.resources import files
from pathlib import Path

import pytest

ASSETS = Path(str(files("assets")))
CORPUS = ASSETS / "demo_corpus.csv"

# The two rows deliberately present twice in the demo corpus (for duplicate detection).
EXPECTED_DUPLICATES = {
    ("Antibiotics work against bacteria but do nothing for viral infections such as the common cold.",
     "medicine", "en"),
    ("Nach dem Starkregen standen in der Altstadt ganze Straßenzüge unter Wasser.", "climate", "de"),
}


@pytest.fixture(scope="module")
def corpus_rows() -> list[dict[str, str]]:
    with CORPUS.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_corpus_is_utf8_without_bom_and_has_exact_header() -> None:
    raw = CORPUS.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")
    assert raw.split(b"\n", 1)[0] == b"text,topic,language"


def test_corpus_rows_are_complete_and_short(corpus_rows: list[dict[str, str]]) -> None:
    assert len(corpus_rows) >= 300
    for row in corpus_rows:
        assert set(row) == {"text", "topic", "language"}
        assert row["text"].strip() and row["topic"] and row["language"]
        assert 10 <= len(row["text"].split()) <= 40, row["text"]


def test_every_language_covers_every_topic(corpus_rows: list[dict[str, str]]) -> None:
    topics = {r["topic"] for r in corpus_rows}
    languages = {r["language"] for r in corpus_rows}
    assert len(topics) >= 5
    assert len(languages) >= 2
    for lang in languages:
        assert {r["topic"] for r in corpus_rows if r["language"] == lang} == topics, lang
    by_lang = Counter(r["language"] for r in corpus_rows)
    assert by_lang.most_common(1)[0][0] == "en"


def test_corpus_has_exactly_the_planted_duplicates(corpus_rows: list[dict[str, str]]) -> None:
    row_counts = Counter((r["text"], r["topic"], r["language"]) for r in corpus_rows)
    assert {row for row, n in row_counts.items() if n > 1} == EXPECTED_DUPLICATES
    assert all(row_counts[row] == 2 for row in EXPECTED_DUPLICATES)
    text_counts = Counter(r["text"] for r in corpus_rows)
    assert sum(n - 1 for n in text_counts.values()) == len(EXPECTED_DUPLICATES)


def test_icon_png_is_256_square_with_transparent_corners(qapp) -> None:
    from PySide6.QtGui import QImage

    image = QImage(str(ASSETS / "icon.png"))
    assert not image.isNull()
    assert (image.width(), image.height()) == (256, 256)
    assert image.hasAlphaChannel()
    for x, y in [(0, 0), (255, 0), (0, 255), (255, 255)]:
        assert image.pixelColor(x, y).alpha() == 0
    assert image.pixelColor(128, 128).alpha() == 255


def test_icon_svg_is_valid(qapp) -> None:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(ASSETS / "icon.svg"))
    assert renderer.isValid()
    assert (renderer.defaultSize().width(), renderer.defaultSize().height()) == (256, 256)


def _desktop_entry(path: Path) -> dict[str, str]:
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == "[Desktop Entry]"
    entry: dict[str, str] = {}
    for line in lines[1:]:
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("["), "template must hold a single group"
        key, sep, value = line.partition("=")
        assert sep and key not in entry, line
        entry[key] = value
    return entry


def test_desktop_template_has_required_keys_and_placeholders() -> None:
    path = ASSETS / "embedding-explorer.desktop"
    entry = _desktop_entry(path)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Embedding Explorer"
    assert entry["Comment"]
    assert entry["Exec"] == "@EXEC@ %F"
    assert entry["Icon"] == "@ICON@"
    assert entry["Terminal"] == "false"
    assert entry["StartupWMClass"] == "embedding-explorer"
    assert entry["Categories"].split(";") == ["Science", "DataVisualization", "Education", ""]
    assert set(entry["MimeType"].rstrip(";").split(";")) == {
        "text/csv", "text/plain", "application/json", "application/x-ndjson"}
    text = path.read_text(encoding="utf-8")
    assert text.count("@EXEC@") == 1 and text.count("@ICON@") == 1
