"""TinyDB storage: the database lives in memory; disk holds a snapshot plus a log.

SPEC §7: the snapshot is written to a temporary file in the same folder,
fsynced and renamed over the store, so a crash leaves the old snapshot or the
new one, never a torn one. Between snapshots each commit appends one line to
the change log (`<db>.log`) and fsyncs it; a line cut short by a crash was
never acknowledged and is dropped on load. TinyDB's own JSONStorage rewrites
the whole file on every operation, which makes a growing store slower per
batch; this keeps a commit's cost to what it changed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from tinydb.storages import Storage


class StoreFileError(RuntimeError):
    """The store file exists but cannot be read as a store."""


class SnapshotFile:
    """The store's snapshot: a TinyDB JSON file, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def remove_leftovers(self) -> None:
        """Temporary files of a snapshot write a kill interrupted: never read, so removed."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with _suppress_os_error():
                leftover.unlink()

    def load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        if not raw.strip():
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise StoreFileError(f"store file {self.path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise StoreFileError(f"store file {self.path} does not hold a JSON object")
        return data

    def write(self, payload: bytes) -> None:
        """Replace the file with `payload`: temp file, fsync, rename, fsync the folder."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(payload)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with _suppress_os_error():
                os.unlink(tmp_name)
            raise
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class ChangeLog:
    """Append-only JSON lines, each `{table: {doc_id: doc or null}}`.

    Lines written before 2026-11-27 are `[[table, doc_id, doc or null], ...]`;
    both are replayed."""

    def __init__(self, store_path: Path) -> None:
        self.path = store_path.with_name(store_path.name + ".log")
        self.size = self.path.stat().st_size if self.path.exists() else 0

    def append(self, line: bytes) -> None:
        with open(self.path, "ab") as handle:
            handle.write(line + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.size += len(line) + 1

    def replay(self, data: dict[str, Any]) -> int:
        """Apply the logged changes to `data`; a torn last line is cut off."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return 0
        applied, good_end = 0, 0
        for line in raw.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # cut short by a crash: never acknowledged
            try:
                changes = orjson.loads(line)
            except orjson.JSONDecodeError:
                break
            for table, doc_id, doc in _changes(changes):
                if doc is None:
                    data.setdefault(table, {}).pop(doc_id, None)
                else:
                    data.setdefault(table, {})[doc_id] = doc
                applied += 1
            good_end += len(line)
        if good_end < len(raw):
            with open(self.path, "r+b") as handle:
                handle.truncate(good_end)
                os.fsync(handle.fileno())
        self.size = good_end
        return applied

    def truncate(self) -> None:
        with open(self.path, "wb") as handle:
            os.fsync(handle.fileno())
        self.size = 0


def _changes(line: Any) -> Iterator[tuple[str, str, Any]]:
    if isinstance(line, dict):
        for table, docs in line.items():
            for doc_id, doc in docs.items():
                yield table, doc_id, doc
    else:
        yield from line


class _suppress_os_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return isinstance(exc, OSError)


class MemoryBackedStorage(Storage):
    """A TinyDB storage whose `read()` is the live in-memory database.

    TinyDB hands the same dict back to `write()`, so reads and writes cost
    nothing; `snapshot()` serialises the whole database for `SnapshotFile`.
    """

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = initial if initial is not None else {}

    def read(self) -> dict[str, Any]:
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        self._data = data

    def snapshot(self) -> bytes:
        return orjson.dumps(self._data)

    def close(self) -> None:
        return None
