"""The one limit on document text shown in a label, tooltip or table cell.

A document may be megabytes long or one 200,000-character word: shown whole, a
tooltip took a minute to lay out and a word-wrapped label widened the window to
thousands of pixels. Every widget that shows such text passes it through
:func:`capped` (directly, or via ``plain_tooltip`` and ``elide``), which looks at
no more than a few times ``limit`` characters, so it costs the same for any text.
"""
from __future__ import annotations

import re

#: Characters of a label's text; a tooltip's; and the longest run without a space.
LABEL_CHARS = 300
TOOLTIP_CHARS = 2000
WORD_CHARS = 60

_LONG_WORD = re.compile(rf"\S{{{WORD_CHARS},}}")


def _cut_word(match: re.Match[str]) -> str:
    return match.group()[: WORD_CHARS - 1] + "…"


def capped(text: str, limit: int = LABEL_CHARS, one_line: bool = False) -> str:
    """``text`` cut to at most ``limit`` characters (``…`` marks a cut), no word longer than
    :data:`WORD_CHARS`; ``one_line`` turns every run of whitespace into one space."""
    window = 4 * limit
    head = text[:window]
    if one_line:
        head = " ".join(head.split())
    head = _LONG_WORD.sub(_cut_word, head)
    if len(head) > limit or len(text) > window:
        return head[: limit - 1].rstrip() + "…"
    return head
