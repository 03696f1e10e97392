"""Crash safety (issue 7, item 3): SIGKILL at the worst moments, then restart.

One store (`--db`: a snapshot file and its change log) goes through five lives
of the server in `rate` mode, each sent a 10,000-profile batch (the same 10,000
emails every time, the fields tagged with the round): killed while the create
call is still uploading, killed while it is being handled, killed mid-task
(just as the change log grows), killed while the store is being written (the
snapshot a stopping server folds its change log into), and left to finish.

After every kill the snapshot parses as one JSON object and every change-log
line but a torn last one parses. At the end every task whose id was
acknowledged (and any other the store holds) completes; each email has exactly
one profile; each profile holds one round's fields, never a mix, and that
round is the last one that engaged it; the email index finds every profile the
store holds; journal entries of the new run never take the id of a request an
older task names.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import select
import signal
import struct
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.helpers import (
    BATCH_TASK,
    TOKEN,
    ServerProcess,
    figure,
)

pytestmark = pytest.mark.e2e

PROFILES = 10_000
RATE_ARGS = ("--progression", "rate", "--rate", "5000")


def round_items(round_no: int) -> list[dict[str, Any]]:
    tag = f"R{round_no}"
    return [
        {
            "data": {
                "email": f"crash{n}@example.com",
                "_fname": tag,
                "_lname": tag,
                "CRM_ID": f"{tag}-{n}",
            }
        }
        for n in range(PROFILES)
    ]


def batch_body(round_no: int) -> bytes:
    body = {"token": TOKEN, "workflow_id": 2, "matching": "email", "data": round_items(round_no)}
    return json.dumps(body).encode()


def valid_store(db: Path) -> dict[str, Any]:
    """SPEC §7: never torn. The snapshot is one JSON object; every line of the change
    log is a JSON object (table -> changed documents), but the last one may be cut
    short (it was never acknowledged, and the server drops it on load)."""
    content = json.loads(db.read_bytes())
    assert isinstance(content, dict)
    change_log = db.with_name(db.name + ".log")
    lines = change_log.read_bytes().split(b"\n") if change_log.exists() else [b""]
    for line in lines[:-1]:
        assert isinstance(json.loads(line), dict)
    return content


def torn_tail(db: Path) -> bool:
    """Whether the change log ends in a line the kill cut short."""
    change_log = db.with_name(db.name + ".log")
    content = change_log.read_bytes() if change_log.exists() else b""
    return bool(content) and not content.endswith(b"\n")


class Sender(threading.Thread):
    """Sends one batch (or its first `upload_share`) and keeps the answer, if the
    server lived to give one."""

    def __init__(self, server: ServerProcess, body: bytes, upload_share: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.server, self.body, self.share = server, body, upload_share
        self.answer: dict[str, Any] | None = None
        self.sent = threading.Event()

    def run(self) -> None:
        connection = self.server.connection(timeout=60)
        try:
            connection.putrequest("POST", f"/api/v1.1/{BATCH_TASK}")
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(self.body)))
            connection.endheaders()
            connection.send(self.body[: int(len(self.body) * self.share)])
            self.sent.set()
            if self.share < 1.0:
                connection.sock.recv(1)  # wait here until the server is gone
                return
            self.answer = json.loads(connection.getresponse().read())
        except (OSError, http.client.HTTPException, ValueError):
            self.answer = None  # killed before it answered
        finally:
            self.sent.set()
            connection.close()


def log_grows(db: Path, timeout: float = 10.0) -> None:
    """Spin until the change log has just grown (the task's next commit follows)."""
    change_log = db.with_name(db.name + ".log")
    size = change_log.stat().st_size if change_log.exists() else 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (change_log.stat().st_size if change_log.exists() else 0) != size:
            return


def wait_until_processed(server: ServerProcess, task_id: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while (view := server.control("GET", f"/_mock/tasks/{task_id}"))["processed"] < count:
        assert time.monotonic() < deadline, view
        time.sleep(0.01)
    assert view["processed"] < PROFILES, "finished before the kill: nothing was tested"
    return view


class TempFileWatch:
    """Sees a snapshot write start: its temporary file created beside the store.

    On Linux, inotify wakes the test at the file's creation, so the kill that
    follows lands mid-write even on a busy machine; elsewhere the folder is polled.
    """

    IN_CREATE = 0x100

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fd = -1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            self.fd = libc.inotify_init1(os.O_NONBLOCK)
            if self.fd >= 0 and libc.inotify_add_watch(self.fd, bytes(folder), self.IN_CREATE) < 0:
                self.close()
        except (OSError, AttributeError):  # not Linux: poll instead
            self.fd = -1

    def __enter__(self) -> TempFileWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def created_while(self, alive: Any, timeout: float = 30.0) -> bool:
        """True once a `.tmp` file appears; False if `alive()` turns false first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            if self._created(0.05) or any(n.endswith(".tmp") for n in os.listdir(self.folder)):
                return True
        return False

    def _created(self, seconds: float) -> bool:
        if self.fd < 0:
            time.sleep(0.001)
            return False
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if not ready:
            return False
        events, offset, found = os.read(self.fd, 65536), 0, False
        while offset < len(events):
            length = struct.unpack_from("iIII", events, offset)[3]
            name = events[offset + 16 : offset + 16 + length].rstrip(b"\0")
            found = found or name.endswith(b".tmp")
            offset += 16 + length
        return found

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def test_sigkill_during_request_task_and_store_write_loses_and_duplicates_nothing(tmp_path):
    db = tmp_path / "store.json"
    acknowledged: dict[str, int] = {}  # task id -> round
    kills: list[str] = []
    torn: list[bool] = []  # did a kill cut a change-log line short?

    # Life 1: killed while the create call is still being uploaded.
    with ServerProcess(tmp_path, *RATE_ARGS, db=str(db)) as server:
        sender = Sender(server, batch_body(1), upload_share=0.5)
        sender.start()
        sender.sent.wait(30)
        server.kill()
        sender.join(30)
        assert sender.answer is None
        kills.append("mid-upload of the create call")
    valid_store(db)

    # Life 2: killed while the create call is being handled (read, checked, stored).
    with ServerProcess(tmp_path, *RATE_ARGS, db=str(db)) as server:
        sender = Sender(server, batch_body(2))
        sender.start()
        sender.sent.wait(30)
        time.sleep(0.01)
        server.kill()
        sender.join(30)
        kills.append("handling the create call" + (" (answered first)" if sender.answer else ""))
        if sender.answer is not None:
            acknowledged[sender.answer["task_id"]] = 2
    valid_store(db)

    # Life 3: killed mid-task, with the task of life 2 (if stored) resuming too.
    with ServerProcess(tmp_path, *RATE_ARGS, db=str(db)) as server:
        task_id = server.api(BATCH_TASK, {"workflow_id": 2, "data": round_items(3)})["task_id"]
        acknowledged[task_id] = 3
        view = wait_until_processed(server, task_id, 2000)
        log_grows(db)
        server.kill()
        kills.append(f"mid-task at {view['processed']} of {PROFILES}, appending to the change log")
    torn.append(torn_tail(db))
    valid_store(db)

    # Life 4: killed while the store file is being written: SIGTERM makes the server
    # fold its change log into a new snapshot as it stops, and SIGKILL lands
    # mid-write (as when an orchestrator's grace period runs out). A stop right
    # after the server compacted on its own writes nothing: then once more.
    for round_no in (4, 5, 6):
        with ServerProcess(tmp_path, *RATE_ARGS, db=str(db)) as server:
            body = {"workflow_id": 2, "data": round_items(round_no)}
            task_id = server.api(BATCH_TASK, body)["task_id"]
            acknowledged[task_id] = round_no
            wait_until_processed(server, task_id, 1000)
            assert server.proc is not None
            with TempFileWatch(db.parent) as watch:
                server.proc.send_signal(signal.SIGTERM)
                caught = watch.created_while(server.alive)
                server.kill()
        torn.append(torn_tail(db))
        valid_store(db)
        if caught:
            kills.append("writing the snapshot while stopping")
            break
        kills.append("stopping (nothing left to write)")

    # Life 5: everything acknowledged finishes; then the checks.
    with ServerProcess(tmp_path, *RATE_ARGS, db=str(db)) as server:
        stored_tasks = {
            task["task_id"]: task for task in server.control("GET", "/_mock/tasks")["tasks"]
        }
        assert set(acknowledged) <= set(stored_tasks), "an acknowledged task was lost"
        for task_id in stored_tasks:
            assert server.wait_for_task(task_id, timeout=90)["status"] == "completed"
        # A stored task nobody was told about can only be life 2's (one batch per
        # life; life 1's body never arrived whole).
        rounds = {task_id: acknowledged.get(task_id, 2) for task_id in stored_tasks}
        check_profiles(server, rounds)
        check_indexes(server)
        check_journal(server, stored_tasks)
        assert server.terminate() == 0
        assert server.crash_lines() == []
    valid_store(db)
    figure(
        "crash",
        kills=len(kills),
        kill_points=kills,
        tasks_acknowledged=len(acknowledged),
        tasks_completed=len(stored_tasks),
        profiles=PROFILES,
        lost=0,
        duplicated=0,
        half_written=0,
        torn_log_lines_dropped=sum(torn),
    )


def check_profiles(server: ServerProcess, rounds: dict[str, int]) -> None:
    """One profile per email; one round's fields in each; the last engaging round."""
    listing = server.control("GET", f"/_mock/profiles?limit={PROFILES}")
    assert listing["total"] == PROFILES, listing["total"]
    profiles = listing["profiles"]
    emails = [profile["data"]["email"] for profile in profiles]
    assert len(emails) == len(set(emails)) == PROFILES, "an email has two profiles, or none"
    last_round: dict[str, int] = {}
    offset, total = 0, 1
    while offset < total:
        page = server.control("GET", f"/_mock/engagements?limit=10000&offset={offset}")
        for record in page["engagements"]:  # in the order they were recorded: last wins
            last_round[record["profile_id"]] = rounds[record["task_id"]]
        offset, total = offset + len(page["engagements"]), page["total"]
    for profile in profiles:
        data = profile["data"]
        tag = data["_fname"]
        number = data["email"].removeprefix("crash").split("@")[0]
        assert (data["_lname"], data["CRM_ID"]) == (tag, f"{tag}-{number}"), profile
        assert tag == f"R{last_round[profile['id']]}", (profile, last_round[profile["id"]])


def check_indexes(server: ServerProcess) -> None:
    """The email index agrees with the store: a lookup import finds every profile."""
    listing = server.control("GET", f"/_mock/profiles?limit={PROFILES}")["profiles"]
    by_email = {profile["data"]["email"]: profile["id"] for profile in listing}
    emails = sorted(by_email)
    answer = server.api(
        "profiles/import_batch",
        {"db_id": 1, "matching": "email", "data": [{"email": email} for email in emails]},
    )
    assert [entry.get("profile_id") for entry in answer["result"]] == [by_email[e] for e in emails]
    assert server.control("GET", "/_mock/health")["counts"]["profiles"] == PROFILES


def check_journal(server: ServerProcess, tasks: dict[str, Any]) -> None:
    """Ids of this run's journal never repeat a request id an older task names."""
    older = {task["request_id"] for task in tasks.values() if task.get("request_id")}
    task_id = server.api(BATCH_TASK, {"workflow_id": 2, "data": [{"data": {"email": "x@y.io"}}]})[
        "task_id"
    ]
    view = server.control("GET", f"/_mock/tasks/{task_id}")
    entries = server.control("GET", "/_mock/requests")["requests"]
    assert not older & {entry["id"] for entry in entries}
    [entry] = [entry for entry in entries if entry["id"] == view["request_id"]]
    assert entry["response"]["task_id"] == task_id
