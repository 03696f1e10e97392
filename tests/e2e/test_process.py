"""The real server as a process: start-up, HTTP, signals, restarts (SPEC §5, §7).

Each test starts `python -m mockserver serve --port 0`, reads the one
`listening on http://HOST:PORT` line from stdout, talks plain HTTP to it and
stops it with SIGTERM (which must exit 0) or SIGKILL (a crash). The store
file must survive both: valid JSON, no acknowledged task lost, no item
imported twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.testing import MockServerProcess
from tests.contract.test_reference_page import EMAIL_EXAMPLE  # the page's example, verbatim

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TOKEN = "abcdefghijklmnqrstuvwxyz"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0


# -- the process ---------------------------------------------------------------------


class Server(MockServerProcess):
    """One `mockserver serve` process (`MockServerProcess`: run from the test's
    folder, its log kept there, none of the runner's ALTCRAFT_MOCK_* settings) and
    the calls these tests make."""

    def __init__(self, tmp_path: Path, db: str, *args: str) -> None:
        super().__init__(
            args,
            db=db,
            startup_timeout=START_TIMEOUT,
            isolated_env=True,
            cwd=tmp_path,
            log_dir=tmp_path,
        )

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait; the exit code."""
        return super().terminate(timeout)

    def kill(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGKILL: a crash, nothing gets to finish."""
        return super().kill(timeout)

    # -- HTTP --------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def api(self, method: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
        if isinstance(body, dict):
            body = {"token": TOKEN, **body}
        status, answer = self.request("POST", f"/api/v1.1/{method}", body)
        assert status == 200, answer
        return answer

    def import_batch(self, items: list[dict[str, Any]]) -> str:
        answer = self.api(
            "workflows/import_and_start_batch_task",
            {"workflow_id": 2, "matching": "email", "data": items},
        )
        assert answer["error"] == 0, answer
        return answer["task_id"]

    def status(self, task_id: str) -> dict[str, Any]:
        answer = self.api("tasks/status", {"task_id": task_id})
        assert answer["error"] == 0, answer
        return answer["data"]

    def task(self, task_id: str) -> dict[str, Any]:
        status, view = self.request("GET", f"/_mock/tasks/{task_id}")
        assert status == 200, view
        return view

    def control(self, task_id: str, action: str, body: Any = None) -> dict[str, Any]:
        status, view = self.request("POST", f"/_mock/tasks/{task_id}/{action}", body or {})
        assert status == 200, view
        return view

    def counts(self) -> dict[str, int]:
        status, health = self.request("GET", "/_mock/health")
        assert status == 200, health
        return health["counts"]


@contextlib.contextmanager
def running(tmp_path: Path, db: str, *args: str) -> Iterator[Server]:
    """Start the server, yield it, and make sure the process is gone afterwards
    (SIGKILL if the test left it running: what is on disk is what it wrote)."""
    server = Server(tmp_path, db, *args).start()
    try:
        yield server
    finally:
        server.close()


def assert_valid_store(db: Path) -> dict[str, Any]:
    """The store file parses as one JSON object (SPEC §7: never torn)."""
    content = json.loads(db.read_bytes())
    assert isinstance(content, dict)
    return content


def wait_for(condition: Any, what: str, timeout: float = 15.0) -> Any:
    """Poll `condition()` until it is truthy; bounded by a total deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def people(count: int) -> list[dict[str, Any]]:
    return [
        {
            "data": {
                "_fname": f"Name{n}",
                "_lname": "Lambert",
                "email": f"profile{n}@example.com",
                "phones": f"+7900000{n:04d}",
            }
        }
        for n in range(count)
    ]


def distinct_profile_ids(results: list[dict[str, Any]]) -> set[str]:
    ids = [entry.get("profile_id") for entry in results]
    assert None not in ids, results
    assert len(set(ids)) == len(ids), "two items got the same profile"
    return set(ids)


# -- (a) the reference example over real HTTP ----------------------------------------


def test_reference_email_example_over_real_http(tmp_path):
    with running(tmp_path, ":memory:") as server:
        created = server.api("workflows/import_and_start_batch_task", EMAIL_EXAMPLE)
        assert created["error"] == 0
        assert created["error_text"] == "Successful operation"
        task_id = created["task_id"]

        first = server.status(task_id)
        second = server.status(task_id)

        assert first == {"status": "processing", "progress": 50, "result": None}
        assert second["status"] == "completed"
        assert second["progress"] == 100
        assert second["result"]["error"] == 0
        assert len(distinct_profile_ids(second["result"]["result"])) == 2
        assert server.terminate() == 0


# -- (b) restart in the middle of a task ---------------------------------------------


def test_sigterm_mid_task_then_restart_completes_without_duplicates(tmp_path):
    db = tmp_path / "store.json"
    with running(tmp_path, str(db), "--progression", "manual") as server:
        task_id = server.import_batch(people(10))
        view = server.control(task_id, "advance")
        assert view["processed"] == 5
        assert server.counts()["profiles"] == 5
        assert server.terminate() == 0
    assert_valid_store(db)

    with running(tmp_path, str(db), "--progression", "manual") as server:
        view = server.task(task_id)
        assert view["processed"] == 5
        assert view["status"] == "processing"
        server.control(task_id, "complete")

        data = server.status(task_id)
        assert data["status"] == "completed"
        assert data["progress"] == 100
        assert len(distinct_profile_ids(data["result"]["result"])) == 10
        assert server.counts()["profiles"] == 10
        assert server.terminate() == 0
    assert_valid_store(db)


def test_sigkill_right_after_the_create_call_keeps_the_task(tmp_path):
    db = tmp_path / "store.json"
    with running(tmp_path, str(db), "--progression", "manual") as server:
        task_id = server.import_batch(people(10))
        server.kill()
    assert_valid_store(db)

    with running(tmp_path, str(db), "--progression", "manual") as server:
        view = server.task(task_id)
        assert view["status"] == "queued"
        assert view["total"] == 10
        server.control(task_id, "complete")

        data = server.status(task_id)
        assert data["status"] == "completed"
        assert len(distinct_profile_ids(data["result"]["result"])) == 10
        assert server.counts()["profiles"] == 10
        assert server.terminate() == 0


def test_sigkill_mid_task_then_restart_completes_without_duplicates(tmp_path):
    db = tmp_path / "store.json"
    with running(tmp_path, str(db), "--progression", "manual") as server:
        task_id = server.import_batch(people(10))
        server.control(task_id, "advance")
        server.kill()
    assert_valid_store(db)

    with running(tmp_path, str(db), "--progression", "manual") as server:
        assert server.task(task_id)["processed"] == 5
        assert server.counts()["profiles"] == 5
        server.control(task_id, "complete")

        data = server.status(task_id)
        assert data["status"] == "completed"
        assert len(distinct_profile_ids(data["result"]["result"])) == 10
        assert server.counts()["profiles"] == 10
        assert server.terminate() == 0
    assert_valid_store(db)


def test_polls_task_resumes_after_restart(tmp_path):
    db = tmp_path / "store.json"
    with running(tmp_path, str(db)) as server:
        task_id = server.import_batch(people(4))
        assert server.status(task_id)["progress"] == 50
        server.kill()
    assert_valid_store(db)

    with running(tmp_path, str(db)) as server:
        data = server.status(task_id)
        assert data["status"] == "completed"
        assert len(distinct_profile_ids(data["result"]["result"])) == 4
        assert server.counts()["profiles"] == 4
        assert server.terminate() == 0


# -- (c) rate mode survives a crash --------------------------------------------------

RATE_ARGS = ("--progression", "rate", "--rate", "50")


def settle(db: Path) -> None:
    """Let a fresh server's rate worker go idle before the first import."""
    assert db.exists()  # written before the listening line
    time.sleep(0.3)


def crash_mid_rate_task(tmp_path: Path, db: Path, *, settle_first: bool) -> str:
    """Import 100 items at 50/s, SIGKILL once some (not all) are processed."""
    with running(tmp_path, str(db), *RATE_ARGS) as server:
        if settle_first:
            settle(db)
        task_id = server.import_batch(people(100))
        seen = wait_for(
            lambda: (view := server.task(task_id))["processed"] >= 5 and view,
            "the rate task to start processing",
            timeout=5.0,
        )
        assert seen["processed"] < 100, "finished before the crash; the test proves nothing"
        server.kill()
    assert assert_valid_store(db), "the store file holds nothing after the crash"
    return task_id


def restart_and_finish_rate_task(tmp_path: Path, db: Path, task_id: str) -> None:
    with running(tmp_path, str(db), *RATE_ARGS) as server:
        assert server.task(task_id)["status"] in ("queued", "processing", "completed")
        done = wait_for(
            lambda: (v := server.task(task_id))["status"] in ("completed", "failed") and v,
            "the resumed task to finish",
            timeout=8.0,
        )
        assert done["status"] == "completed"
        data = server.status(task_id)
        assert data["status"] == "completed"
        assert len(distinct_profile_ids(data["result"]["result"])) == 100
        assert server.counts()["profiles"] == 100
        assert server.terminate() == 0
    assert_valid_store(db)


def test_rate_task_resumes_after_sigkill(tmp_path):
    db = tmp_path / "store.json"
    task_id = crash_mid_rate_task(tmp_path, db, settle_first=False)
    restart_and_finish_rate_task(tmp_path, db, task_id)


def test_rate_task_resumes_after_sigkill_once_the_worker_is_idle(tmp_path):
    """The same, with the import sent after start-up settled: isolates the resume."""
    db = tmp_path / "store.json"
    task_id = crash_mid_rate_task(tmp_path, db, settle_first=True)
    restart_and_finish_rate_task(tmp_path, db, task_id)


def test_rate_task_imported_right_after_start_up_progresses(tmp_path):
    """SPEC §5: a `rate` task is processed in the background, whenever it arrives.

    Three fresh servers, each sent a batch the moment it prints its listening
    line (while its rate worker's first tick may still be in flight).
    """
    for attempt in range(3):
        db = tmp_path / f"store-{attempt}.json"
        with running(tmp_path, str(db), *RATE_ARGS) as server:
            task_id = server.import_batch(people(20))
            wait_for(
                lambda s=server, t=task_id: s.task(t)["status"] == "completed",
                f"attempt {attempt}: the rate task to complete",
                timeout=3.0,
            )
            assert server.terminate() == 0


# -- (d) the store file after kills --------------------------------------------------


def test_a_new_store_file_is_written_before_the_server_listens(tmp_path):
    """Killed the moment it says it listens, before any request: the --db file is
    already there and valid (CI once killed a server mid-upload of its first
    request before the start-up write had landed, and found no file at all)."""
    for attempt in range(3):
        db = tmp_path / f"store-{attempt}.json"
        with running(tmp_path, str(db), "--progression", "rate") as server:
            server.kill()
        assert_valid_store(db)
        with running(tmp_path, str(db)) as server:
            assert server.counts()["profiles"] == 0
            assert server.terminate() == 0


def test_store_file_is_valid_json_after_repeated_kills(tmp_path):
    db = tmp_path / "store.json"
    args = ("--progression", "rate", "--rate", "2000")
    task_ids = []
    for round_ in range(3):
        with running(tmp_path, str(db), *args) as server:
            task_ids.append(server.import_batch(people(300)))
            time.sleep(0.05 * round_)  # kill at a different point each time
            server.kill()
        assert_valid_store(db)

    with running(tmp_path, str(db), "--progression", "manual") as server:
        for task_id in task_ids:
            server.control(task_id, "complete")
            data = server.status(task_id)
            assert data["status"] == "completed"
            assert len(distinct_profile_ids(data["result"]["result"])) == 300
        # The three batches carry the same 300 emails: matched, never duplicated.
        assert server.counts()["profiles"] == 300
        assert server.terminate() == 0
    assert_valid_store(db)


# -- (e) SIGTERM ---------------------------------------------------------------------


def test_sigterm_exits_zero(tmp_path):
    with running(tmp_path, ":memory:") as server:
        assert server.counts()["profiles"] == 0
        assert server.terminate() == 0


def test_sigterm_during_rate_work_exits_zero_and_keeps_the_store(tmp_path):
    db = tmp_path / "store.json"
    with running(tmp_path, str(db), "--progression", "rate", "--rate", "500") as server:
        settle(db)
        task_id = server.import_batch(people(500))
        wait_for(lambda: server.task(task_id)["processed"] > 0, "the rate task to start")
        assert server.terminate() == 0
    content = assert_valid_store(db)
    tasks = list(content.get("tasks", {}).values())
    assert [t["task_id"] for t in tasks] == [task_id]
    profiles = content.get("profiles", {})
    assert len(profiles) == tasks[0]["processed"]


def test_sigterm_after_the_create_call_keeps_the_task(tmp_path):
    db = tmp_path / "store.json"
    with running(tmp_path, str(db), "--progression", "manual") as server:
        task_id = server.import_batch(people(3))
        assert server.terminate() == 0

    with running(tmp_path, str(db), "--progression", "manual") as server:
        assert server.task(task_id)["status"] == "queued"
        assert server.terminate() == 0


# -- (f) a bad fixture stops start-up ------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param('{"accounts": [{"tokens": ["x"]}]}', id="schema-violation"),
        pytest.param('{"accounts": [', id="not-json"),
        pytest.param('{"accounts": [{"name": "a", "workflows": [{"id": "1"}]}]}', id="bad-type"),
    ],
)
def test_bad_fixture_fails_start_up_naming_the_file(tmp_path, content):
    bad = tmp_path / "broken-fixture.json"
    bad.write_text(content)

    finished = _finished(tmp_path, ":memory:", "--fixtures", str(bad))

    assert finished.returncode != 0
    assert "listening on" not in finished.stdout
    assert "broken-fixture.json" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_missing_fixture_fails_start_up_naming_the_path(tmp_path):
    missing = tmp_path / "no-such-fixture.json"

    finished = _finished(tmp_path, ":memory:", "--fixtures", str(missing))

    assert finished.returncode != 0
    assert "no-such-fixture.json" in finished.stderr
    assert "Traceback" not in finished.stderr


def _finished(tmp_path: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`serve` run to its end, as `running` would start it: a start that is refused
    ends at once."""
    server = Server(tmp_path, db, *args)
    return subprocess.run(
        server.command,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        cwd=tmp_path,
        env=server.environment(),
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--progression", "sometimes"),
        ("--rate", "nan"),
        ("--rate", "inf"),
        ("--rate", "-inf"),
        ("--read-timeout", "nan"),
        ("--log-level", "NOPE"),
        ("--event-loop", "twisted"),
        ("--access-log", "sometimes"),
    ],
)
def test_bad_flag_value_fails_start_up_naming_the_flag(tmp_path, flag, value):
    finished = _finished(tmp_path, ":memory:", flag, value)

    assert finished.returncode == 2
    assert flag in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("access_log", [None, "true"])
def test_one_log_line_per_request_only_when_asked(tmp_path, access_log):
    """The access log is off by default (the journal has every call), on with
    `--access-log true`; the answers are the same either way."""
    flags = () if access_log is None else ("--access-log", access_log)
    with Server(tmp_path, ":memory:", "--log-level", "INFO", *flags) as server:
        status, answer = server.request("POST", "/api/v1.1/databases/list", {"token": TOKEN})
        assert (status, answer["error"]) == (200, 0)
    # Read once the server has stopped: the line is written after the answer is sent.
    assert ("aiohttp.access" in server.stderr()) is (access_log is not None)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop", "auto"])
def test_every_event_loop_answers_the_same(tmp_path, loop):
    with Server(tmp_path, ":memory:", "--event-loop", loop) as server:
        status, answer = server.request("POST", "/api/v1.1/databases/list", {"token": TOKEN})
        assert (status, answer["error"]) == (200, 0)
        status, health = server.request("GET", "/_mock/health")
        assert status == 200 and health["status"] == "ok"


def test_a_store_in_a_folder_that_cannot_be_written_is_refused_naming_it(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root writes anyway: make the folder a file's
            folder.chmod(0o755)
            folder = tmp_path / "a-file"
            folder.write_text("not a folder")
        finished = _finished(tmp_path, str(folder / "store.json"))
    finally:
        if folder.is_dir():
            folder.chmod(0o755)
    assert finished.returncode == 2
    assert f"store {folder / 'store.json'}" in finished.stderr
    assert "cannot start" in finished.stderr and "Traceback" not in finished.stderr
