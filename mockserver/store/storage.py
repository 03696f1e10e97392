"""TinyDB storage: the database lives in memory and is written atomically.

SPEC §7: a write goes to a temporary file in the same folder, is fsynced and
renamed over the store, so a crash leaves either the old file or the new one,
never a torn one. TinyDB's own JSONStorage rewrites the file in place on every
operation; here a write happens only at a commit point (one per request or
task step), which is what keeps a 10,000-profile batch to one file write.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
from tinydb.storages import Storage


class StoreFileError(RuntimeError):
    """The store file exists but cannot be read as a store."""


class AtomicFile:
    """Write-whole-file-atomically and read-back for one path."""

    def __init__(self, path: Path) -> None:
        self.path = path

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


class _suppress_os_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return isinstance(exc, OSError)


class MemoryBackedStorage(Storage):
    """A TinyDB storage whose `read()` is the live in-memory database.

    TinyDB hands the same dict back to `write()`, so reads and writes cost
    nothing; `snapshot()` serialises the whole database for `AtomicFile`.
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
