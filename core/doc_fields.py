"""The names of a document's fields outside the store: in tables, exports, JSON and the colour list.

Every input column keeps its own name, verbatim: a CSV column ``id`` stays ``id``.
The app's own fields are ``_doc_id`` (the workspace's internal id), ``collection``
(the collection's name) and ``text`` (the document); where an input column already
has one of these names, the input column keeps it and the app's field takes a
leading underscore (:func:`internal_name`), so no user column is ever lost or
shadowed. JSON output nests the input columns under ``metadata``, where no name
can clash.
"""
from __future__ import annotations

from typing import Collection, Mapping

import numpy as np

DOC_ID = "_doc_id"
COLLECTION = "collection"
TEXT = "text"
#: a title column holds short texts: at most this many characters on average
TITLE_MAX_CHARS = 120
TITLE_NAMES = ("title", "name", "headline", "subject")


def internal_name(base: str, taken: Collection[str]) -> str:
    """``base``, with leading underscores added until no name in ``taken`` equals it."""
    name = base
    while name in taken:
        name = "_" + name
    return name


def guess_title_column(labels: Mapping[str, np.ndarray]) -> str | None:
    """The column that names a document: ``title``, ``name``… (any case), else the first
    short string column whose values mostly differ (a category such as ``lang`` names
    nothing); None when there is none (the text itself then serves)."""
    strings = [key for key, values in labels.items() if key != COLLECTION and np.asarray(values).dtype.kind in "UO"]
    by_name = {key.casefold(): key for key in strings}
    for wanted in TITLE_NAMES:
        if wanted in by_name:
            return by_name[wanted]
    for key in strings:
        values = np.asarray(labels[key])
        sample = values[: 1000].astype(str)
        distinct = np.unique(sample).size
        if sample.size and distinct > max(1, sample.size // 2) and np.char.str_len(sample).mean() <= TITLE_MAX_CHARS:
            return key
    return None


def app_fields(user_keys: Collection[str]) -> tuple[str, str, str]:
    """The names of the app's fields (doc id, collection, text) beside ``user_keys``."""
    taken = set(user_keys)
    return internal_name(DOC_ID, taken), internal_name(COLLECTION, taken), internal_name(TEXT, taken)


def split_fields(columns: Mapping[str, object]) -> tuple[tuple[str, str, str], list[str]]:
    """The app's three field names and the input columns of a ``Store.document_table``."""
    names = list(columns)
    return (names[0], names[1], names[2]), names[3:]


def metadata_rows(columns: Mapping[str, list]) -> list[dict]:
    """Each document's input columns (None left out) from a ``Store.document_table``."""
    (_, _, text), keys = split_fields(columns)
    return [{k: columns[k][i] for k in keys if columns[k][i] is not None} for i in range(len(columns[text]))]
