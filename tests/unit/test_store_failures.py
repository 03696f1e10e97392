"""The store under disk errors and damaged files (RELIABILITY.md promises 20-23).

Write errors are injected by replacing the log's or the snapshot's write with
one that fails the way a full disk does (ENOSPC, after writing part of it).
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from pathlib import Path

import orjson
import pytest

from mockserver.clock import VirtualClock
from mockserver.errors import StoreUnavailable
from mockserver.ids import IdGenerator
from mockserver.store import repository
from mockserver.store.repository import Store
from mockserver.store.storage import ChangeLog, SnapshotFile, StoreFileError


def open_store(path: Path) -> Store:
    return Store(path, VirtualClock(), IdGenerator(seed=1))


def add(store: Store, *emails: str) -> list[str]:
    session = store.session("default")
    ids = [session.create(1, {"email": email}, []) for email in emails]
    session.apply()
    return ids


def disk_full_once(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> list[int]:
    """`cls.name` fails once as on a full disk, after writing part of the line."""
    real = getattr(cls, name)
    calls: list[int] = []

    def failing(self, *args):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            if isinstance(self, ChangeLog) and args:
                with open(self.path, "ab") as handle:
                    handle.write(args[0][:7])  # a torn write, no newline
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return real(self, *args)

    monkeypatch.setattr(cls, name, failing)
    return calls


async def started(path: Path) -> Store:
    store = open_store(path)
    await store.flush()  # the first snapshot
    return store


async def test_a_failed_append_answers_the_error_and_keeps_the_changes(tmp_path, monkeypatch):
    path = tmp_path / "store.json"
    store = await started(path)
    disk_full_once(monkeypatch, ChangeLog, "append")
    [ann] = add(store, "ann@x.io")

    with pytest.raises(StoreUnavailable) as failure:
        await store.flush()
    assert "No space left on device" in failure.value.debug
    assert "store.json.log" in failure.value.debug
    assert store.write_error is not None

    await store.flush()  # space is back: the kept change is written
    assert store.write_error is None
    store.release()
    reopened = open_store(path)
    assert reopened.profile(ann) is not None
    log_bytes = path.with_name("store.json.log").read_bytes()
    assert all(orjson.loads(line) for line in log_bytes.splitlines()), "no torn line left"


async def test_a_request_whose_changes_a_failed_flush_took_sees_the_failure(tmp_path, monkeypatch):
    """Two requests: the first one's flush takes both changes and fails; the
    second must not answer success on the strength of that flush."""
    path = tmp_path / "store.json"
    store = await started(path)
    gate = asyncio.Event()
    real_append = ChangeLog.append
    failed = []

    def slow_failing_append(self, line):  # type: ignore[no-untyped-def]
        if not failed:
            failed.append(1)
            asyncio.run_coroutine_threadsafe(gate.wait(), loop).result()
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        raise OSError(errno.ENOSPC, "No space left on device", str(self.path))

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(ChangeLog, "append", slow_failing_append)
    add(store, "first@x.io")
    add(store, "second@x.io")  # the second request's change, before either flush
    first = asyncio.create_task(store.flush())
    await asyncio.sleep(0.01)  # the first flush has taken both changes and is writing
    second = asyncio.create_task(store.flush())
    await asyncio.sleep(0.01)
    gate.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert all(isinstance(result, StoreUnavailable) for result in results), results

    monkeypatch.setattr(ChangeLog, "append", real_append)
    await store.flush()
    store.release()
    assert open_store(path).count_profiles() == 2


async def test_a_failed_compaction_falls_back_to_the_log(tmp_path, monkeypatch):
    """Folding the log into a snapshot needs room for a whole snapshot beside
    the log; when that fails the changes still go to the log."""
    path = tmp_path / "store.json"
    store = await started(path)
    add(store, "a@x.io")
    await store.flush()
    disk_full_once(monkeypatch, SnapshotFile, "write")
    add(store, "b@x.io")
    await store.flush(compact=True)  # no error: the log took the change
    store.release()
    assert open_store(path).count_profiles() == 2


async def test_a_small_reset_is_one_line_of_the_log(tmp_path):
    """A reset of a small store appends its deletions to the log (a reset before
    every test costs an append, not a snapshot), and reads back as the reset."""
    path = tmp_path / "store.json"
    store = await started(path)
    add(store, "a@x.io")
    await store.flush()
    snapshot = path.read_bytes()
    store.clear()
    add(store, "b@x.io")
    await store.flush()
    assert path.read_bytes() == snapshot
    store.release()
    reopened = open_store(path)
    assert [p["data"]["email"] for p in reopened.profiles()] == ["b@x.io"]


async def test_a_failed_required_snapshot_is_an_error_and_is_written_again(tmp_path, monkeypatch):
    """After a reset of a big store the old log can't take changes: only a snapshot
    will do."""
    monkeypatch.setattr(repository, "CLEAR_LOGGED_MAX_DOCUMENTS", 0)
    path = tmp_path / "store.json"
    store = await started(path)
    add(store, "a@x.io")
    await store.flush()
    store.clear()
    disk_full_once(monkeypatch, SnapshotFile, "write")
    add(store, "b@x.io")
    with pytest.raises(StoreUnavailable):
        await store.flush()
    add(store, "c@x.io")
    await store.flush()  # a whole snapshot again, never a line on the old log
    store.release()
    reopened = open_store(path)
    assert sorted(p["data"]["email"] for p in reopened.profiles()) == ["b@x.io", "c@x.io"]


async def test_a_kill_between_the_snapshot_and_the_new_log_keeps_the_snapshot(
    tmp_path, monkeypatch
):
    """The new snapshot is renamed in, then the process dies before the log is
    started again: the old log must not be replayed over the new snapshot."""
    path = tmp_path / "store.json"
    store = await started(path)
    [ann] = add(store, "ann@x.io")
    await store.flush()  # a log line: ann's first version
    session = store.session("default")
    session.replace(ann, {"email": "ann@x.io", "_fname": "Second"}, [])
    session.apply()

    def killed(self, generation):  # type: ignore[no-untyped-def]
        raise SystemExit("killed after the rename")

    monkeypatch.setattr(ChangeLog, "start", killed)
    with pytest.raises(SystemExit):
        await store.flush(compact=True)
    monkeypatch.undo()
    store.release()

    reopened = open_store(path)
    assert reopened.profile(ann)["data"]["_fname"] == "Second"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object of tables"),
        (b'{"profiles": [1]}', "table 'profiles' is not an object"),
        (b'{"profiles": {"1": 5}}', "document '1' of table 'profiles'"),
        (b'{"profiles": {"1": {"id": "x"}}}', "unexpected shape"),
        (b'{"tasks": {"1": {"status": "queued"}}}', "unexpected shape"),
        (b'{"_store": {"1": {"generation": "two"}}}', "bad generation"),
    ],
)
def test_a_damaged_snapshot_refuses_to_load_and_is_left_as_it_is(tmp_path, content, problem):
    path = tmp_path / "store.json"
    path.write_bytes(content)
    with pytest.raises(StoreFileError, match=problem) as refused:
        open_store(path)
    assert "altcraft-mock repair --db" in str(refused.value)
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"garbage", "line 3 is not valid JSON"),
        (b"[1]", "line 3: not an object"),
        (b'{"profiles": 5}', "line 3: table 'profiles'"),
        (b'{"profiles": {"9": 5}}', "line 3: document '9'"),
    ],
)
async def test_a_bad_line_inside_the_log_refuses_to_load_naming_the_line(tmp_path, line, problem):
    path = tmp_path / "store.json"
    store = await started(path)
    add(store, "a@x.io")
    await store.flush()
    store.release()
    log_path = path.with_name("store.json.log")
    good = log_path.read_bytes()
    add_line = orjson.dumps({"meta": {"5": {"key": "k", "value": 1}}}) + b"\n"
    log_path.write_bytes(good + line + b"\n" + add_line)  # line 3 of 4
    before = (path.read_bytes(), log_path.read_bytes())

    with pytest.raises(StoreFileError, match=problem) as refused:
        open_store(path)
    assert str(log_path) in str(refused.value)
    assert (path.read_bytes(), log_path.read_bytes()) == before, "the refused files are kept"


async def test_a_log_without_its_snapshot_refuses_to_load(tmp_path):
    path = tmp_path / "store.json"
    store = await started(path)
    add(store, "a@x.io")
    await store.flush()
    store.release()
    path.unlink()
    with pytest.raises(StoreFileError, match="is missing but its log"):
        open_store(path)


def test_a_folder_a_device_or_a_fifo_is_refused_as_a_store(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (tmp_path, Path("/dev/null"), fifo):
        with pytest.raises(StoreFileError, match="--db names a file"):
            open_store(path)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is untouched"


async def test_a_symlinked_store_writes_its_target(tmp_path):
    target = tmp_path / "real" / "store.json"
    target.parent.mkdir()
    target.write_bytes(b'{"profiles": {}}')
    link = tmp_path / "link.json"
    link.symlink_to(target)
    store = open_store(link)
    add(store, "a@x.io")
    await store.flush(compact=True)
    assert link.is_symlink()
    assert len(orjson.loads(target.read_bytes())["profiles"]) == 1


async def test_a_new_snapshot_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        store = await started(tmp_path / "store.json")
    finally:
        os.umask(old)
    store.release()
    assert stat.S_IMODE((tmp_path / "store.json").stat().st_mode) == 0o640
