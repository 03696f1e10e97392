"""Shared helpers of the reliability suite: the real server as a process, plain
HTTP to it, and the figures RELIABILITY.md reports.

`ServerProcess` is `mockserver.testing.MockServerProcess` run from the test's
folder: it starts `python -m mockserver serve --port 0`, keeps its stderr (the
log) in a file there so a test can check it for tracebacks and leaked tokens,
and can be killed with SIGKILL like a crash. `figure()` appends one JSON line
per test to `$RELIABILITY_FIGURES` when that is set (see RELIABILITY.md).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from mockserver.testing import MockServerProcess

TOKEN = "abcdefghijklmnqrstuvwxyz"  # the shipped fixture's token
BATCH_TASK = "workflows/import_and_start_batch_task"
SYNC_BATCH = "workflows/import_and_start_batch"
STATUS = "tasks/status"
START_TIMEOUT = 20.0
#: What the server logs when something escapes its error handling (a client's
#: malformed request is one WARNING line, not this).
CRASH_MARKS = (" ERROR ", " CRITICAL ", "Traceback")


def figure(test: str, **values: Any) -> None:
    """Record a test's figures (inputs tried, faults survived, ...) for RELIABILITY.md."""
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"test": test, **values}) + "\n")


def other_address() -> str | None:
    """An address of this machine that is not loopback, if it has one (a UDP
    "connect" only picks the route: nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def clean_env(**extra: str) -> dict[str, str]:
    """The runner's environment without any ALTCRAFT_MOCK_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALTCRAFT_MOCK_")}
    env.update(extra)
    return env


class ServerProcess(MockServerProcess):
    """One `mockserver serve` process run from `workdir` (its log kept there, no
    ALTCRAFT_MOCK_* setting of the runner's), with the plain-HTTP calls these tests
    make; a context manager that never leaves it running: leaving it is a SIGKILL,
    so what a test left on disk is what the server had written, not a clean stop."""

    def __init__(self, workdir: Path, *args: str, db: str = ":memory:") -> None:
        super().__init__(
            args,
            db=db,
            startup_timeout=START_TIMEOUT,
            isolated_env=True,
            cwd=workdir,
            log_dir=workdir,
        )
        self.workdir = workdir

    @property
    def proc(self) -> subprocess.Popen[str] | None:
        return self.process

    def crash_lines(self) -> list[str]:
        return [line for line in self.stderr().splitlines() if any(m in line for m in CRASH_MARKS)]

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP ------------------------------------------------------------------------
    def connection(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, Any]:
        """One request on a fresh connection: the status and the parsed JSON answer."""
        connection = self.connection(timeout)
        try:
            return send(connection, method, path, body, headers)
        finally:
            connection.close()

    def api(self, method: str, body: dict[str, Any], token: str = TOKEN) -> dict[str, Any]:
        status, answer = self.request("POST", f"/api/v1.1/{method}", {"token": token, **body})
        assert status == 200, answer
        return answer

    def control(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        status, answer = self.request(method, path, body, headers or None)
        assert status == 200, (status, answer)
        return answer

    def wait_for_task(self, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            view = self.control("GET", f"/_mock/tasks/{task_id}")
            if view["status"] in ("completed", "failed"):
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} still {view['status']} after {timeout}s")
            time.sleep(0.05)


def send(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """A request on an open (kept-alive) connection: the status and the parsed answer."""
    payload = None
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=payload, headers=sent)
    answer = connection.getresponse()
    raw = answer.read()
    try:
        return answer.status, json.loads(raw)
    except ValueError:
        return answer.status, raw


def raw_exchange(host: str, port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes (any HTTP, broken or not) and read until the server closes.

    A request that parses should say `Connection: close`; one that does not is
    answered and the connection closed by the server. `timeout` only guards the
    test against a server that never answers.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0: no answer)."""
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    return int(match.group(1)) if match else 0


def body_of(answer: bytes) -> Any:
    """The JSON body of a raw HTTP answer, or its raw bytes."""
    _, _, body = answer.partition(b"\r\n\r\n")
    try:
        return json.loads(body)
    except ValueError:
        return body


def people(count: int, offset: int = 0, **extra: Any) -> list[dict[str, Any]]:
    """Items in the reference page's shape, one distinct email each."""
    return [
        {
            "data": {
                "_fname": f"Name{n}",
                "_lname": "Lambert",
                "email": f"profile{n}@example.com",
                "phones": f"+7900{n:07d}",
                **extra,
            }
        }
        for n in range(offset, offset + count)
    ]
