"""Workspace schema and its ordered migrations.

Each migration is a list of SQL statements that takes the schema from version
``i`` to ``i + 1``. Opening a workspace applies the missing ones in order (after
a backup copy of the file); a workspace from a newer app is refused.
"""
from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 0 -> 1: the first schema
    [
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        """CREATE TABLE collections (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            source VARCHAR,
            source_sha256 VARCHAR,
            status VARCHAR NOT NULL DEFAULT 'ready',
            created TIMESTAMP DEFAULT current_timestamp
        )""",
        """CREATE TABLE documents (
            id BIGINT PRIMARY KEY,
            collection_id INTEGER NOT NULL,
            position BIGINT NOT NULL,
            priority BIGINT NOT NULL,
            text VARCHAR NOT NULL,
            meta JSON,
            sha256 VARCHAR NOT NULL,
            source VARCHAR
        )""",
        """CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            kind VARCHAR NOT NULL DEFAULT 'encoder',
            dim INTEGER,
            normalizes BOOLEAN,
            max_seq_length INTEGER
        )""",
        """CREATE TABLE vectors (
            model_id INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,
            vector FLOAT[] NOT NULL,
            truncated BOOLEAN DEFAULT false,
            PRIMARY KEY (model_id, sha256)
        )""",
        """CREATE TABLE embedding_sets (
            collection_id INTEGER NOT NULL,
            model_id INTEGER NOT NULL,
            created TIMESTAMP DEFAULT current_timestamp,
            PRIMARY KEY (collection_id, model_id)
        )""",
        """CREATE TABLE analysis_cache (
            plugin VARCHAR NOT NULL,
            data_key VARCHAR NOT NULL,
            params VARCHAR NOT NULL,
            created TIMESTAMP DEFAULT current_timestamp,
            payload BLOB NOT NULL,
            PRIMARY KEY (plugin, data_key, params)
        )""",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
