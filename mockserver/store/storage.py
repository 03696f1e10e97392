"""TinyDB storage: the database lives in memory; disk holds a snapshot plus a log.

SPEC §7: the snapshot is written to a temporary file in the same folder,
fsynced and renamed over the store, so a crash leaves the old snapshot or the
new one, never a torn one. Between snapshots each commit appends one line to
the change log (`<db>.log`) and fsyncs it. TinyDB's own JSONStorage rewrites
the whole file on every operation, which makes a growing store slower per
batch; this keeps a commit's cost to what it changed.

The two files are tied by a generation number: the snapshot holds it (table
`_store`) and the log's first line names it. A new snapshot gets the next
generation and then starts a new log, so a kill between the two leaves a log
of the old generation beside the new snapshot, which is then ignored: its
changes are in the snapshot already.

What is read is checked: only a torn last line of the log (a write that was
cut short, never acknowledged) is tolerated. Anything else that is not a
store refuses to load with a message naming the file, the line and what to
do, and the files are left as they are (`altcraft-mock repair` keeps a copy
and rebuilds what can be read).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from tinydb.storages import Storage

log = logging.getLogger(__name__)

#: The snapshot's own table: `{"1": {"generation": N}}`, a valid TinyDB table.
STORE_TABLE = "_store"
GENERATION = "generation"


class StoreFileError(RuntimeError):
    """The store's files cannot be used as they are (named, with what to do)."""


def advice(store: Path) -> str:
    return (
        f"start with another --db, or run `altcraft-mock repair --db {store}` "
        "(it keeps a copy of the files and rebuilds what can be read)"
    )


def check_store_path(path: Path) -> Path:
    """The file the store lives in: a symlink is followed to its target (the
    atomic rename replaces the target, not the link); anything that exists and
    is not a regular file (a folder, a device, a FIFO) is refused."""
    target = path.resolve()
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise StoreFileError(f"store {path}: {exc.strerror or exc}: --db names a file") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise StoreFileError(f"store {path} is {kind}: --db names a file (new or a store)")
    return target


class StoreLock:
    """One server per store: an exclusive lock on `<db>.lock`, holding the pid.

    POSIX record locks belong to the process, so only another process is
    refused (a test may open the same store twice in one process)."""

    def __init__(self, store: Path) -> None:
        self.path = store.with_name(store.name + ".lock")
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreFileError(
                f"store {store}: its folder cannot be written ({exc.strerror or exc}): the "
                "store keeps its files there (snapshot, log, lock); start with --db in a "
                "writable folder, or --db :memory: to keep nothing"
            ) from None
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise StoreFileError(
                f"store {store} is in use by another altcraft-mock (pid {holder}): "
                "two servers on one store would overwrite each other's work; stop it "
                "or start with another --db"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the file releases the lock
            self._fd = -1


class SnapshotFile:
    """The store's snapshot: a TinyDB JSON file, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mode = _file_mode(path)

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def remove_leftovers(self) -> None:
        """Temporary files of a snapshot write a kill interrupted: never read, so removed."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()

    def load(self) -> tuple[dict[str, Any], int | None]:
        """The tables and the generation (None: a snapshot from before generations)."""
        raw = self.path.read_bytes()
        if not raw.strip():
            raise StoreFileError(
                f"store file {self.path} is empty ({len(raw)} bytes): a store is never "
                f"written empty, so it was damaged outside the mock; {advice(self.path)}"
            )
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise StoreFileError(
                f"store file {self.path} is not valid JSON ({exc}); {advice(self.path)}"
            ) from None
        problem = tables_problem(data)
        if problem is not None:
            raise StoreFileError(f"store file {self.path}: {problem}; {advice(self.path)}")
        own = data.pop(STORE_TABLE, None) or {}
        generation = (own.get("1") or {}).get(GENERATION)
        if generation is not None and (not isinstance(generation, int) or generation < 0):
            raise StoreFileError(f"store file {self.path}: a bad generation; {advice(self.path)}")
        return data, generation

    def write(self, payload: bytes) -> None:
        """Replace the file with `payload`: temp file, fsync, rename, fsync the folder."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as tmp:
                os.fchmod(tmp.fileno(), self._mode)
                tmp.write(payload)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def snapshot_payload(data: dict[str, Any], generation: int) -> bytes:
    return orjson.dumps({STORE_TABLE: {"1": {GENERATION: generation}}, **data})


class ChangeLog:
    """Append-only JSON lines after a header: `{"generation": N}`, then one
    `{table: {doc_id: doc or null}}` per commit."""

    def __init__(self, store_path: Path) -> None:
        self.path = store_path.with_name(store_path.name + ".log")
        self.size = self.path.stat().st_size if self.path.exists() else 0
        self._header_size = 0

    def exists(self) -> bool:
        return self.size > 0

    @property
    def has_changes(self) -> bool:
        """Whether there are change lines after the header."""
        return self.size > self._header_size

    def append(self, line: bytes) -> None:
        """Append one line and fsync it. A line a failed write left half-written
        (no space left) is cut off first, so it never merges with this one."""
        with open(self.path, "r+b" if self.path.exists() else "wb") as handle:
            if handle.seek(0, os.SEEK_END) != self.size:
                handle.truncate(self.size)
                handle.seek(self.size)
            try:
                handle.write(line + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            except OSError:
                with contextlib.suppress(OSError):
                    handle.truncate(self.size)
                raise
        self.size += len(line) + 1

    def start(self, generation: int) -> None:
        """Begin the log of a new snapshot: only its header line."""
        header = orjson.dumps({GENERATION: generation}) + b"\n"
        self.size = self._header_size = 0
        with open(self.path, "wb") as handle:
            handle.write(header)
            handle.flush()
            os.fsync(handle.fileno())
        self.size = self._header_size = len(header)

    def replay(self, data: dict[str, Any], generation: int | None, store: Path) -> int | None:
        """Apply the logged changes to `data`; None when the log belongs to an
        older snapshot (ignored: its changes are in the snapshot)."""
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        if tail:
            log.warning(
                "store: the last line of %s was cut short (%d bytes, never acknowledged): dropped",
                self.path,
                len(tail),
            )
        self.size = len(raw) - len(tail)
        applied = 0
        for number, line in enumerate(lines, start=1):
            changes = self._parse(line, number, store)
            if number == 1 and _is_header(changes):
                if changes[GENERATION] != generation:
                    return None
                self._header_size = len(line) + 1
                continue
            if number == 1 and generation is not None:
                raise StoreFileError(
                    f"store log {self.path} line 1 is not the header of generation "
                    f"{generation}; {advice(store)}"
                )
            for table, doc_id, doc in _changes(changes):
                if doc is None:
                    data.setdefault(table, {}).pop(doc_id, None)
                else:
                    data.setdefault(table, {})[doc_id] = doc
                applied += 1
        return applied

    def _parse(self, line: bytes, number: int, store: Path) -> dict[str, Any]:
        try:
            changes = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise StoreFileError(
                f"store log {self.path} line {number} is not valid JSON ({exc}); {advice(store)}"
            ) from None
        problem = None if _is_header(changes) else changes_problem(changes)
        if problem is not None:
            raise StoreFileError(f"store log {self.path} line {number}: {problem}; {advice(store)}")
        return changes


def _is_header(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and list(value) == [GENERATION]
        and isinstance(value[GENERATION], int)
    )


def tables_problem(data: Any) -> str | None:
    """Why `data` is not TinyDB's `{table: {doc_id: document}}`, or None."""
    if not isinstance(data, dict):
        return "does not hold a JSON object of tables"
    return _documents_problem(data, deleted=False)


def changes_problem(changes: Any) -> str | None:
    """Why a log line is not `{table: {doc_id: document or null}}`, or None."""
    if not isinstance(changes, dict):
        return "not an object of changed tables"
    return _documents_problem(changes, deleted=True)


def _documents_problem(tables: dict[str, Any], *, deleted: bool) -> str | None:
    """`deleted`: null stands for a deleted document (a log line's)."""
    for table, docs in tables.items():
        if not isinstance(docs, dict):
            return f"table {table!r} is not an object of documents"
        for doc_id, doc in docs.items():
            if not isinstance(doc, dict) and not (deleted and doc is None):
                return f"document {doc_id!r} of table {table!r} is not an object" + (
                    " or null" if deleted else ""
                )
    return None


def _changes(line: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for table, docs in line.items():
        for doc_id, doc in docs.items():
            yield table, doc_id, doc


def _file_mode(path: Path) -> int:
    """The snapshot keeps an existing store's mode; a new one follows the umask."""
    with contextlib.suppress(FileNotFoundError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


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

    def snapshot(self, generation: int) -> bytes:
        return snapshot_payload(self._data, generation)

    def close(self) -> None:
        return None
