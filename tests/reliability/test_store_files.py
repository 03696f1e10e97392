"""The store's files against an unlucky operator (RELIABILITY.md promises 20-24):
a disk that fills up, a second server on the same store, damaged files.

The disk-full test mounts a small tmpfs (root only); where mounting is not
allowed it is skipped with the reason, and `tests/unit/test_store_failures.py`
covers the same rules with injected write errors.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.helpers import ServerProcess, clean_env, figure, people

pytestmark = pytest.mark.e2e

BATCH = "workflows/import_and_start_batch_task"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of the disk with a filler file."""
    filler = disk / "filler"
    handle = open(filler, "wb", buffering=0)  # noqa: SIM115 - closed below, whatever happens
    try:
        while True:
            handle.write(b"\0" * 4096)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            handle.close()
    return filler


def test_a_full_disk_loses_no_acknowledged_task_and_recovers_without_a_restart(small_disk):
    db = small_disk / "store.json"
    workdir = small_disk.parent
    server = ServerProcess(workdir, "--progression", "manual", db=str(db)).start()
    try:
        acknowledged: list[str] = []
        refused: list[dict] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            for i in range(60):
                body = {"workflow_id": 2, "data": people(20, offset=(n * 1000 + i) * 20)}
                answer = server.api(BATCH, body)
                with lock:
                    if answer["error"] == 0:
                        acknowledged.append(answer["task_id"])
                    else:
                        refused.append(answer)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        while len(acknowledged) < 60:  # the clients are under way: now the disk fills
            time.sleep(0.01)
        filler = fill(small_disk)
        for thread in threads:
            thread.join()

        assert refused, "the disk was full: some writes must have failed"
        assert all(r["error"] == 503 for r in refused), refused[:3]
        assert "No space left on device" in refused[0]["error_debug"], refused[0]
        health = server.control("GET", "/_mock/health")
        assert (health["status"], health["store"]["writable"]) == ("failing", False)

        filler.unlink()  # space is back: the next write succeeds, no restart needed
        answer = server.api(BATCH, {"workflow_id": 2, "data": people(1, offset=999_999)})
        assert answer["error"] == 0, answer
        acknowledged.append(answer["task_id"])
        assert server.control("GET", "/_mock/health")["status"] == "ok"
        assert server.terminate() == 0, server.stderr()[-3000:]
    finally:
        server.kill()

    with ServerProcess(workdir, "--progression", "manual", db=str(db)) as restarted:
        stored = {task["task_id"] for task in restarted.control("GET", "/_mock/tasks")["tasks"]}
        lost = [task_id for task_id in acknowledged if task_id not in stored]
        assert lost == [], f"{len(lost)} acknowledged task(s) lost of {len(acknowledged)}"
        assert restarted.crash_lines() == []
    figure(
        "disk-full",
        acknowledged=len(acknowledged),
        refused_503=len(refused),
        lost_after_restart=len(lost),
    )


def run_cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`altcraft-mock ARGS` run to its end (a start that is refused ends at once)."""
    return subprocess.run(
        [sys.executable, "-m", "mockserver", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        cwd=workdir,
        check=False,
    )


def test_a_second_server_on_the_same_store_refuses_to_start(tmp_path):
    db = tmp_path / "store.json"
    with ServerProcess(tmp_path, db=str(db)) as first:
        second = run_cli(tmp_path, "serve", "--port", "0", "--db", str(db))
        assert second.returncode == 2
        assert str(db) in second.stderr
        assert f"pid {first.proc.pid}" in second.stderr  # type: ignore[union-attr]
        assert "Traceback" not in second.stderr
        assert first.api(BATCH, {"workflow_id": 2, "data": people(1)})["error"] == 0


@pytest.mark.parametrize(
    ("snapshot", "log_lines", "says"),
    [
        (b"", None, "is empty"),
        (b'{"profiles": {"1": {"id": 1}}}', None, "unexpected shape"),
        (b'{"profiles": []}', None, "table 'profiles'"),
        (None, [b'{"meta": {}}'], "is missing but its log"),
        (b'{"profiles": {}}', [b'{"meta": {}}', b"}}garbage{{", b'{"meta": {}}'], "line 2"),
    ],
)
def test_damaged_store_files_refuse_to_start_naming_the_file_and_are_kept(
    tmp_path, snapshot, log_lines, says
):
    db = tmp_path / f"store-{uuid.uuid4().hex[:6]}.json"
    log = db.with_name(db.name + ".log")
    if snapshot is not None:
        db.write_bytes(snapshot)
    if log_lines is not None:
        log.write_bytes(b"\n".join(log_lines) + b"\n")
    before = {p: p.read_bytes() for p in (db, log) if p.exists()}
    started = run_cli(tmp_path, "serve", "--port", "0", "--db", str(db))
    assert started.returncode == 2, started.stderr
    assert says in started.stderr and "cannot start" in started.stderr
    assert "altcraft-mock repair" in started.stderr
    assert "Traceback" not in started.stderr
    assert {p: p.read_bytes() for p in before} == before, "refused files are never rewritten"
    assert not os.path.exists(db) or snapshot is not None


def test_repair_keeps_copies_and_the_store_then_starts(tmp_path):
    db = tmp_path / "store.json"
    with ServerProcess(tmp_path, "--progression", "instant", db=str(db)) as server:
        task_id = server.api(BATCH, {"workflow_id": 2, "data": people(3)})["task_id"]
        server.kill()  # the log keeps the task (no clean stop folds it in)
    log = db.with_name("store.json.log")
    log.write_bytes(log.read_bytes() + b"garbage in the middle\n" + b'{"meta": {}}\n')

    repaired = run_cli(tmp_path, "repair", "--db", str(db))
    assert repaired.returncode == 0, repaired.stderr
    assert "skipped 1 unreadable line(s)" in repaired.stdout
    assert len(list(tmp_path.glob("store.json.broken-*"))) == 1
    assert len(list(tmp_path.glob("store.json.log.broken-*"))) == 1
    with ServerProcess(tmp_path, db=str(db)) as restarted:
        task = restarted.control("GET", f"/_mock/tasks/{task_id}")
        assert task["status"] == "completed"
