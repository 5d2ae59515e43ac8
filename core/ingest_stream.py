"""The byte streams ingest readers read: hashed as read, gzip expansion bounded, Cancel polled.

Every reader gets its bytes from a :class:`Source`, so three guarantees hold for
every format in one place:

- the bytes a reader reads are hashed (:class:`ReadDigest`): a collection is keyed by
  what was imported, not by the file's content at another moment;
- a ``.gz`` file may expand to at most :data:`GZIP_RATIO` times its size (beyond the
  first :data:`GZIP_FLOOR` bytes) and never beyond :data:`GZIP_MAX_BYTES`; past that
  reading stops with a message naming the file (a "zip bomb");
- the cancel check runs on every block read (64 KiB at most), so even a stream of
  blank lines, which gives a reader no documents, stops promptly on Cancel.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
from pathlib import Path
from typing import BinaryIO, Callable

from core.ingest_types import IngestError

#: Decompressed bytes allowed whatever the ratio (small files may compress very well).
GZIP_FLOOR = 256 * 1024 * 1024
#: Above the floor, a .gz file may expand to at most this many times its size on disk
#: (text compresses 3-10 times; deflate's ceiling is about 1,030).
GZIP_RATIO = 100
#: No .gz file expands to more than this, whatever its size.
GZIP_MAX_BYTES = 64 * 1024 * 1024 * 1024

Check = Callable[[], None]


def _never() -> None:
    """The cancel check of work that cannot be cancelled."""


class ReadDigest:
    """sha256 of a drop as it is read: a seed (the options), then each file's name and bytes.

    Call :meth:`begin` before a file and :meth:`end` after it; the file's bytes arrive
    through :meth:`update`, and :meth:`rewind` forgets them when a reader starts the file
    over. A file that was never opened counts as ``\\0unreadable``.
    """

    def __init__(self, seed: str) -> None:
        self._sha = hashlib.sha256(seed.encode("utf-8", "surrogateescape"))
        self._start = self._sha.copy()
        self.opened = False

    def begin(self, name: str) -> None:
        self._sha.update(name.encode("utf-8", "surrogateescape"))
        self._start = self._sha.copy()
        self.opened = False

    def update(self, data: bytes) -> None:
        self.opened = True
        self._sha.update(data)

    def rewind(self) -> None:
        self._sha = self._start.copy()

    def end(self) -> None:
        if not self.opened:
            self._sha.update(b"\0unreadable")

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


class _Tap(io.RawIOBase):
    """A readable stream that passes every block it reads to ``on_read`` (and rewinds to ``on_rewind``)."""

    def __init__(self, inner: BinaryIO, on_read: Callable[[bytes], None], on_rewind: Check = _never) -> None:
        super().__init__()
        self._inner, self._on_read, self._on_rewind = inner, on_read, on_rewind

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(min(len(buffer), 1 << 16))
        self._on_read(data)
        buffer[: len(data)] = data
        return len(data)

    def seekable(self) -> bool:
        return self._inner.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._inner.seek(offset, whence)
        if position == 0:
            self._on_rewind()
        return position

    def tell(self) -> int:
        return self._inner.tell()


class _Expansion:
    """Counts decompressed bytes; stops a .gz file that expands beyond its bounds."""

    def __init__(self, compressed: int, check: Check) -> None:
        self.check = check
        self.limit = min(GZIP_MAX_BYTES, max(GZIP_FLOOR, GZIP_RATIO * compressed))
        self.compressed = compressed
        self.count = 0

    def add(self, data: bytes) -> None:
        self.check()
        self.count += len(data)
        if self.count > self.limit:
            raise IngestError(
                f"the compressed file expands to more than {_size(self.limit)} ({_size(self.compressed)} on disk); "
                "a .gz file that expands this much is treated as a 'zip bomb', so reading stopped here. "
                "If it is genuine, decompress it yourself and import the result."
            )

    def reset(self) -> None:
        self.count = 0


def _size(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


class Source:
    """One file's (decompressed) bytes for a reader: ``stream`` is buffered and seekable to 0.

    :meth:`finish` reads the rest of the file into the digest (a reader that stopped
    early still keys the whole file it saw); :meth:`close` releases it.
    """

    def __init__(self, path: Path, check: Check = _never, digest: ReadDigest | None = None) -> None:
        self._raw = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self._hashed: BinaryIO = (
                self._raw if digest is None else _Tap(self._raw, digest.update, digest.rewind)  # type: ignore[assignment]
            )
            self._check = check
            self.digest = digest
            if digest is not None:
                digest.opened = True
            inner: BinaryIO = self._hashed
            if path.name.lower().endswith(".gz"):
                inner = gzip.GzipFile(fileobj=self._hashed, mode="rb")  # type: ignore[assignment]
                expansion = _Expansion(os.fstat(self._raw.fileno()).st_size, check)
                tap = _Tap(inner, expansion.add, expansion.reset)
            else:
                tap = _Tap(inner, lambda _: check())
            self.stream = io.BufferedReader(tap, 1 << 16)
        except BaseException:
            self._raw.close()
            raise

    def finish(self) -> None:
        """Read the rest of the file into the digest (nothing to do without one)."""
        if self.digest is None or self._raw.closed:
            return
        while self._hashed.read(1 << 20):
            self._check()

    def close(self) -> None:
        self.stream.close()
        self._raw.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

