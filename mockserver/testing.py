"""Helpers for tests of code that talks to Altcraft: usable with or without pytest.

`ControlClient(base_url)` wraps the `/_mock/` API (journal, inspection, task
control, faults, reset, progression); `MockServerProcess` starts the real
server as a process on a free port. Only the standard library is used, so a
client team's test suite needs nothing else.

    with MockServerProcess() as server:
        mock = server.client()
        mock.add_fault(action="rate_limit", times=1, retry_after=2)
        ...  # run the code under test against server.url
        assert mock.requests(method="workflows/import_and_start_batch_task")
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_TOKEN = "abcdefghijklmnqrstuvwxyz"  # the shipped fixture's token
FINISHED = ("completed", "failed")
#: The longest one wait on the server lasts (`/_mock/tasks/{id}/wait`, `?wait=`); a
#: longer wait of the client's is made of several.
SERVER_WAIT_LIMIT = 300.0
#: How much longer than a wait on the server the HTTP call may take to answer.
WAIT_ANSWER_MARGIN = 10.0


class ControlError(RuntimeError):
    """A /_mock/ call failed; carries the HTTP status and the answer body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class TaskWaitTimeout(TimeoutError):
    """`wait_for_task` ran out of time; `task` is the task's control view then."""

    def __init__(self, message: str, task: dict[str, Any]) -> None:
        super().__init__(message)
        self.task = task


class RequestsWaitTimeout(TimeoutError):
    """`wait_for_requests` ran out of time; `requests` are the entries that matched."""

    def __init__(self, message: str, requests: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.requests = requests


class ControlClient:
    """The mock's own API, from Python."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str = DEFAULT_TOKEN,
        admin_token: str | None = None,
        timeout: float = 30.0,
        scoped: bool = False,
    ) -> None:
        """`scoped=True`: journal and inspection show only this token's account
        (for a server shared by parallel test runs, each with its own token)."""
        self.url = base_url.rstrip("/")
        self.token = token
        self.admin_token = admin_token
        self.timeout = timeout
        self.scoped = scoped

    def _scope(self, query: dict[str, Any]) -> dict[str, Any]:
        if self.scoped and query.get("account") is None:
            query.setdefault("token", self.token)
        return query

    # -- plumbing ----------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if self.admin_token:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                detail = json.loads(payload)
            except ValueError:
                detail = payload.decode(errors="replace")
            raise ControlError(error.code, detail) from None

    def api(self, method: str, body: Mapping[str, Any] | None = None) -> Any:
        """Call a vendor method (token added) and return the answer body."""
        payload = {"token": self.token, **(body or {})}
        return self._call("POST", f"/api/v1.1/{method}", payload)

    # -- health and reset ------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "/_mock/health")

    def reset(
        self,
        *,
        account: str | None = None,
        token: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> Any:
        """Back to the fixtures: everything, one account, or one token's account."""
        body: dict[str, Any] = {}
        if account is not None:
            body["account"] = account
        if token is not None:
            body["token"] = token
        if scopes is not None:
            body["scopes"] = list(scopes)
        return self._call("POST", "/_mock/reset", body)

    def load_fixtures(self, document: Mapping[str, Any]) -> Any:
        return self._call("POST", "/_mock/fixtures", document)

    # -- journal -------------------------------------------------------------------
    def requests(
        self,
        *,
        path: str | None = None,
        method: str | None = None,
        account: str | None = None,
        token: str | None = None,
        error: int | None = None,
        since: int | str | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Journal entries, oldest first (`method` is the vendor method name)."""
        query = {
            **_journal_filters(path, method, account, token, error, since),
            "before": before,
            "limit": limit,
        }
        return self._call("GET", "/_mock/requests", query=self._scope(query))["requests"]

    def wait_for_requests(
        self,
        count: int = 1,
        *,
        timeout: float = 10.0,
        path: str | None = None,
        method: str | None = None,
        account: str | None = None,
        token: str | None = None,
        error: int | None = None,
        since: int | str | None = None,
    ) -> list[dict[str, Any]]:
        """Wait on the server until the journal holds `count` requests matching the
        filters (as `requests()` takes them) and return them; RequestsWaitTimeout
        after `timeout` seconds. For code under test that sends in the background."""
        query = self._scope(_journal_filters(path, method, account, token, error, since))
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            wait = min(left, SERVER_WAIT_LIMIT)
            answer = self._call(
                "GET",
                "/_mock/requests",
                query={**query, "wait": count, "timeout": wait},
                timeout=wait + WAIT_ANSWER_MARGIN,
            )
            if not answer["timed_out"]:
                return answer["requests"]
            if left <= SERVER_WAIT_LIMIT:
                shown = {k: v for k, v in query.items() if v is not None}
                raise RequestsWaitTimeout(
                    f"the journal holds {answer['total']} request(s) matching {shown},"
                    f" not {count}, after {timeout}s",
                    answer["requests"],
                )

    def clear_requests(self) -> None:
        self._call("DELETE", "/_mock/requests")

    # -- inspection ----------------------------------------------------------------
    def profiles(
        self,
        *,
        account: str | None = None,
        db_id: int | None = None,
        email: str | None = None,
        phone: str | None = None,
        profile_id: str | None = None,
        limit: int | None = None,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        """Stored profiles; extra keyword arguments filter custom fields (`CRM_ID="42"`)."""
        query: dict[str, Any] = {
            "account": account,
            "db_id": db_id,
            "email": email,
            "phone": phone,
            "profile_id": profile_id,
            "limit": limit,
        }
        query.update({f"field.{name}": value for name, value in fields.items()})
        return self._call("GET", "/_mock/profiles", query=self._scope(query))["profiles"]

    def engagements(self, workflow_id: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        query = self._scope({"workflow_id": workflow_id, **filters})
        return self._call("GET", "/_mock/engagements", query=query)["engagements"]

    def tasks(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_mock/tasks")["tasks"]

    def task(self, task_id: str) -> dict[str, Any]:
        return self._call("GET", f"/_mock/tasks/{urllib.parse.quote(task_id)}")

    # -- task control ----------------------------------------------------------------
    def advance(self, task_id: str, items: int | None = None) -> dict[str, Any]:
        body = {} if items is None else {"items": items}
        return self._call("POST", f"/_mock/tasks/{urllib.parse.quote(task_id)}/advance", body)

    def complete(self, task_id: str) -> dict[str, Any]:
        return self._call("POST", f"/_mock/tasks/{urllib.parse.quote(task_id)}/complete", {})

    def fail(self, task_id: str, error: int = 500, error_text: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"error": error}
        if error_text is not None:
            body["error_text"] = error_text
        return self._call("POST", f"/_mock/tasks/{urllib.parse.quote(task_id)}/fail", body)

    def set_progression(
        self,
        default: Mapping[str, Any] | None = None,
        workflows: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> Any:
        body: dict[str, Any] = {}
        if default is not None:
            body["default"] = dict(default)
        if workflows:
            body["workflows"] = {str(k): dict(v) for k, v in workflows.items()}
        return self._call("PUT", "/_mock/progression", body)

    def set_task_progression(self, task_id: str, mode: str, **params: Any) -> dict[str, Any]:
        path = f"/_mock/tasks/{urllib.parse.quote(task_id)}/progression"
        return self._call("PUT", path, {"mode": mode, **params})

    def wait_for_task(
        self,
        task_id: str,
        status: str | Sequence[str] | None = FINISHED,
        timeout: float = 10.0,
        *,
        progress: int | None = None,
    ) -> dict[str, Any]:
        """Wait on the server until the task has `status` (any of several; default:
        finished) and, if given, `progress` percent or more; returns its control view.
        Never advances a `polls` task the way `tasks/status` does. Raises
        TaskWaitTimeout after `timeout` seconds, and ControlError (409) at once when
        the task can never get there (it failed, waiting for `completed`)."""
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = status if isinstance(status, str) else list(status)
        if progress is not None:
            body["progress"] = progress
        path = f"/_mock/tasks/{urllib.parse.quote(task_id)}/wait"
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            wait = min(left, SERVER_WAIT_LIMIT)
            body["timeout"] = wait
            task = self._call("POST", path, body, timeout=wait + WAIT_ANSWER_MARGIN)
            if not task.pop("timed_out"):
                return task
            if left <= SERVER_WAIT_LIMIT:
                wanted = [f"status {body['status']!r}"] if "status" in body else []
                wanted += [f"progress >= {progress}"] if progress is not None else []
                raise TaskWaitTimeout(
                    f"task {task_id} is {task['status']!r} at {task['progress']}%, not"
                    f" {' and '.join(wanted)}, after {timeout}s",
                    task,
                )

    # -- the clock (--clock virtual) ----------------------------------------------------
    def clock(self) -> dict[str, Any]:
        """The server's time and clock mode: `{"mode", "now", "start"}`."""
        return self._call("GET", "/_mock/clock")

    def advance_clock(self, by: float | str) -> dict[str, Any]:
        """Move a virtual clock forward by seconds or a duration (`"90s"`, `"1h30m"`);
        the `rate` work that makes due is done when this returns."""
        return self._call("POST", "/_mock/clock", {"advance": by})

    def set_clock(self, to: str | datetime) -> dict[str, Any]:
        """Move a virtual clock forward to a time (never backwards)."""
        moment = to.isoformat() if isinstance(to, datetime) else to
        return self._call("POST", "/_mock/clock", {"set": moment})

    # -- faults ------------------------------------------------------------------------
    def add_fault(self, action: str, *, match: Mapping[str, Any] | None = None, **rule: Any) -> Any:
        """Add a fault rule, e.g. `add_fault("error", error=503, times=1)`."""
        body: dict[str, Any] = {"action": action, **rule}
        if match:
            body["match"] = dict(match)
        return self._call("POST", "/_mock/faults", body)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_mock/faults")["faults"]

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/_mock/faults/{urllib.parse.quote(fault_id)}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/_mock/faults")


class MockServerProcess:
    """The real server as a child process on a free port; a context manager.

    `args` are `serve` flags and `db` the store (`:memory:`, or a file that
    outlives the process: `restart()` starts again on it). The child gets this
    process's environment plus `env`; with `isolated_env=True`, without any
    `ALTCRAFT_MOCK_*` setting of this process first. What the server logs
    (stderr) goes to a file per start, read back with `stderr()`: in `log_dir`
    when given (kept), else a temporary file (removed when the context ends).

    Stopping: `stop()` sends SIGTERM and falls back to SIGKILL after `timeout`
    (what leaving the context does); `terminate()` sends SIGTERM and waits at
    most `timeout` for the exit status; `kill()` is a crash (SIGKILL).
    """

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        db: str = ":memory:",
        startup_timeout: float = 20.0,
        env: Mapping[str, str] | None = None,
        isolated_env: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.args = list(args)
        self.db = db
        self.startup_timeout = startup_timeout
        self.env = env
        self.isolated_env = isolated_env
        self.cwd = cwd
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.stderr_path: Path | None = None
        self._temporary_logs: list[Path] = []
        # Temporary logs go when the context ends (close()), or else with the object.
        weakref.finalize(self, _remove_files, self._temporary_logs)
        self._reader: threading.Thread | None = None

    @property
    def command(self) -> list[str]:
        """The command line `start()` runs."""
        serve = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db", self.db]
        return [*serve, *self.args]

    def environment(self) -> dict[str, str]:
        """The environment `start()` gives the server."""
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not (self.isolated_env and name.startswith("ALTCRAFT_MOCK_"))
        }
        environment = {**inherited, **(self.env or {})}
        environment.pop("ALTCRAFT_MOCK_PORT", None)  # --port 0 wins anyway; keep it explicit
        return environment

    def start(self) -> MockServerProcess:
        if self.alive():
            raise RuntimeError(f"altcraft-mock is already running at {self.url}")
        self._release_pipe()  # of an earlier run
        self.stderr_path = self._new_log()
        with self.stderr_path.open("w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd=self.cwd,
                env=self.environment(),
            )
        self.url = self._read_url()
        self.client().health()
        return self

    def restart(self, timeout: float = 10.0) -> MockServerProcess:
        """Stop the server if it runs (`stop()`) and start it again with the same
        flags and store, on a new free port (`url` changes)."""
        self.stop(timeout)
        return self.start()

    def _new_log(self) -> Path:
        if self.log_dir is not None:
            return self.log_dir / f"altcraft-mock-{time.monotonic_ns()}.log"
        handle, name = tempfile.mkstemp(prefix="altcraft-mock-", suffix=".log")
        os.close(handle)
        self._temporary_logs.append(Path(name))
        return Path(name)

    def _read_url(self) -> str:
        """The URL of the `listening on` line. stdout is read to its end by a thread,
        so the start-up deadline holds and the server never blocks on a full pipe."""
        assert self.process is not None and self.process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        stdout = self.process.stdout

        def reader() -> None:
            for line in stdout:
                lines.put(line)
            lines.put(None)

        self._reader = threading.Thread(target=reader, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.startup_timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            if line.startswith("listening on "):
                return line.split()[-1]
        self.stop()
        problem = RuntimeError(
            f"altcraft-mock did not start (no 'listening on' line; exit status "
            f"{self.process.returncode}): {self.stderr()[-2000:]}"
        )
        self.close()
        raise problem

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urllib.parse.urlsplit(self.url).port or 0

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stderr(self) -> str:
        """What the server logged since its last start."""
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def client(self, **kwargs: Any) -> ControlClient:
        return ControlClient(self.url, **kwargs)

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, and the exit status; `subprocess.TimeoutExpired` if the server
        is still running after `timeout` seconds."""
        if self.process is None:
            raise RuntimeError("altcraft-mock was never started")
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self, timeout: float = 15.0) -> int | None:
        """SIGKILL: a crash, nothing gets to finish."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait(timeout)

    def close(self) -> None:
        """The process gone (SIGKILL if it still runs), its pipe closed, temporary
        logs removed."""
        self.kill()
        self._release_pipe()
        _remove_files(self._temporary_logs)

    def _release_pipe(self) -> None:
        """Once the process has ended: its stdout read to the end, then closed."""
        if self.process is None or self.process.poll() is None:
            return
        if self._reader is not None:
            self._reader.join(timeout=5)
            self._reader = None
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> MockServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.close()


def _remove_files(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
    paths.clear()


def _journal_filters(
    path: str | None,
    method: str | None,
    account: str | None,
    token: str | None,
    error: int | None,
    since: int | str | None,
) -> dict[str, Any]:
    """The journal's filters as `GET /_mock/requests` takes them (None: not given)."""
    return {
        "path": path,
        "method": method,
        "account": account,
        "token": token,
        "error": error,
        "since": since,
    }
