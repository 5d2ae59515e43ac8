"""External renderers for exported figures: poppler for PDF, librsvg for SVG (not the Qt that wrote them)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pytest


def tool(*names: str) -> str:
    """The path of the first of ``names`` found; skipped where none is, except in CI (.ci/run installs them)."""
    for name in names:
        if path := shutil.which(name):
            return path
    if os.environ.get("CI"):
        raise RuntimeError(f"CI must install {names[0]} (.ci/run: chromium, poppler-utils, librsvg2-bin)")
    pytest.skip(f"{names[0]} is not installed")


def raster_pdf(pdf: Path, dpi: int) -> Path:
    """The first page as PNG at ``dpi``, drawn by poppler."""
    stem = pdf.with_name(pdf.name + ".poppler")
    subprocess.run([tool("pdftoppm"), "-png", "-r", str(dpi), "-singlefile", str(pdf), str(stem)], check=True)
    return stem.with_name(stem.name + ".png")


def raster_svg(svg: Path, dpi: int) -> Path:
    """The SVG as PNG at ``dpi`` (its width and height are physical units), drawn by librsvg."""
    out = svg.with_name(svg.name + ".rsvg.png")
    subprocess.run([tool("rsvg-convert"), "--dpi-x", str(dpi), "--dpi-y", str(dpi), "-b", "white", "-o", str(out),
                    str(svg)], check=True)
    return out


def pdf_words(pdf: Path) -> tuple[tuple[float, float], list[tuple[str, float, float, float, float]]]:
    """Page size in points and every word (ligatures such as "ﬁ" spelt out) with its box, from ``pdftotext -bbox``."""
    text = subprocess.run([tool("pdftotext"), "-bbox", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', text)
    words = [(unicodedata.normalize("NFKC", w), float(a), float(b), float(c), float(d)) for a, b, c, d, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', text)]
    return (float(page.group(1)), float(page.group(2))), words


def gray(png: Path) -> np.ndarray:
    """A PNG as a float array of grey levels 0 (black) … 1 (white), read with Qt's image reader."""
    from PySide6.QtGui import QImage

    image = QImage(str(png)).convertToFormat(QImage.Format.Format_Grayscale8)
    assert not image.isNull(), f"cannot read {png}"
    array = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return array[:, : image.width()].astype(np.float64) / 255.0


def ink_agreement(a: np.ndarray, b: np.ndarray, dilate: int = 2) -> float:
    """Share of the ink (non-white pixels) of each image found within ``dilate`` px of the other's ink."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    ink_a, ink_b = a[:h, :w] < 0.8, b[:h, :w] < 0.8

    def grown(mask: np.ndarray) -> np.ndarray:
        out = mask.copy()
        for dy in range(-dilate, dilate + 1):
            for dx in range(-dilate, dilate + 1):
                out |= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
        return out

    return min((ink_a & grown(ink_b)).sum() / max(ink_a.sum(), 1), (ink_b & grown(ink_a)).sum() / max(ink_b.sum(), 1))
