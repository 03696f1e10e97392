"""The hot path (`http/hot_path.py`) against aiohttp's general path: the same
requests, byte for byte over raw sockets, to a server with the hot path and to
one forced onto the general path (a private environment switch), compared on
everything a client and the control API can see: status line, headers (but
Date and Server), body, the journal as `GET /_mock/requests` shows it, and the
metrics' counts."""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from mockserver.api import API_METHODS
from mockserver.config import GENERAL_PATH_ONLY_ENV
from mockserver.http.hot_path import PLAIN_BODY_LIMIT, supported
from mockserver.testing import MockServerProcess

pytestmark = [
    pytest.mark.slow,
    # On another aiohttp release both servers take aiohttp's path: nothing to compare.
    pytest.mark.skipif(not supported(), reason="the hot path is off on this aiohttp release"),
]

TOKEN = "abcdefghijklmnqrstuvwxyz"  # the shipped fixture's
STATUS = "/api/v1.1/tasks/status"
IMPORT = "/api/v1.1/workflows/import_and_start_batch_task"


def request(
    path: str,
    body: bytes | None = None,
    method: str = "POST",
    headers: tuple[str, ...] = ("Content-Type: application/json",),
    version: str = "HTTP/1.1",
) -> bytes:
    head = [f"{method} {path} {version}", "Host: 127.0.0.1", *headers]
    if body is not None:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")


def call(method: str, **fields: Any) -> bytes:
    return request(f"/api/v1.1/{method}", orjson.dumps({"token": TOKEN, **fields}))


def person(n: int) -> dict[str, Any]:
    return {"email": f"user{n}@example.com", "fields": {"_fname": f"User {n}"}}


def corpus(task_id: str, finished_id: str, big_id: str) -> Iterator[list[bytes]]:
    """Groups of requests; each group is sent on one connection, in order."""
    status = orjson.dumps({"token": TOKEN, "task_id": task_id})
    for method in API_METHODS:  # every method, with a body it refuses or answers
        yield [call(method.name)]
        yield [call(method.name, id=1, workflow_id=2, trigger_id=1, db_id=1)]
    yield [call("workflows/import_and_start_batch_task", workflow_id=2, data=[person(3)])]
    yield [request(STATUS, status)] * 3  # unfinished, then finished, keep-alive
    yield [call("tasks/status", task_id=finished_id)] * 3
    yield [call("tasks/status", task_id=big_id)] * 3  # an answer over PLAIN_BODY_LIMIT
    yield [call("tasks/status", task_id="00000000-0000-4000-8000-000000000000")]
    yield [call("tasks/status", task_id=17)]
    yield [call("tasks/status")]
    yield [request(STATUS, orjson.dumps({"token": "wrong", "task_id": task_id}))]
    yield [request(STATUS, orjson.dumps({"task_id": task_id}))]
    yield [request(STATUS, b'{"token": "' + TOKEN.encode() + b'", "task_id": ')]
    yield [request(STATUS, b"not json at all")]
    yield [request(STATUS, b'{"token": 1, "token": 2}')]
    yield [request(STATUS, b"")]
    yield [request(STATUS, status, headers=())]  # no Content-Type
    yield [request(STATUS, status, headers=("Content-Type: text/plain",))]
    yield [request(STATUS, status, headers=("Content-Type: application/json", "X-Extra: 1"))]
    yield [
        request(STATUS, status, headers=(f"Authorization: Bearer {TOKEN}",)),
        request(STATUS, orjson.dumps({"task_id": finished_id}), headers=(f"Token: {TOKEN}",)),
    ]
    yield [request(STATUS + "?token=" + TOKEN, orjson.dumps({"task_id": finished_id}))]
    yield [request(STATUS + "?", status)]  # an empty query: journaled as no query
    long_header = "X-Long: " + "v" * 400  # past the mirror run's journal body limit
    yield [request(STATUS, status, headers=("Content-Type: application/json", long_header))]
    yield [request("/api/v1.1//tasks/status/", status)]
    yield [request("/api/v1.1/tasks/Status", status)]
    yield [request("/api/v1.1/no/such/method", status)]
    for verb in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS"):
        yield [request(STATUS, status if verb == "PUT" else None, method=verb)]
    yield [request(STATUS, status, headers=("Connection: close",))]
    yield [request(STATUS, status, version="HTTP/1.0")]
    yield [request(STATUS, status, headers=("Connection: keep-alive",), version="HTTP/1.0")]
    yield [request(STATUS, status, headers=("Expect: 100-continue",))]
    yield [request(STATUS, status, headers=("Host: evil.example",))]
    big = orjson.dumps({"token": TOKEN, "workflow_id": 2, "data": [person(n) for n in range(900)]})
    yield [request(IMPORT, big)]
    yield [request(STATUS, b" " * 70_000 + status)]  # big: parsed in turn with slices
    yield [request(STATUS, b" " * 400_001 + status, headers=("Connection: close",))]  # too big
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(status), status)
    yield [
        f"POST {STATUS} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/json\r\n\r\n".encode()
        + chunked
    ]
    yield [request(STATUS, status[:10]), request(STATUS, status)]  # pipelined, odd lengths


def exchange(port: int, group: list[bytes]) -> list[bytes]:
    """Send the group's requests on one connection; answer each raw answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        answers = []
        for raw in group:
            sock.sendall(raw)
            answers.append(read_answer(reader, head_only=raw.startswith(b"HEAD ")))
        return answers


def read_answer(reader: Any, head_only: bool) -> bytes:
    lines = []
    while True:
        line = reader.readline()
        if line in (b"\r\n", b""):
            break
        lines.append(line)
    length = 0
    closes = False
    for line in lines[1:]:
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
        if name.lower() == "connection" and value.strip().lower() == "close":
            closes = True
    if head_only:
        body = b""
    elif closes and length == 0:
        body = reader.read()
    else:
        body = reader.read(length)
    kept = [line for line in lines if not re.match(rb"(?i)(date|server):", line)]
    return b"".join(kept) + b"\r\n" + body


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return bytes(answer.read())


def journal(url: str) -> list[dict[str, Any]]:
    entries = orjson.loads(get(url + "/_mock/requests?limit=1000"))["requests"]
    for entry in entries:
        entry.pop("time")
        entry.pop("duration_ms")
    return list(entries)


def counts(url: str) -> list[str]:
    """The metrics' lines that do not depend on timing."""
    timing = re.compile(r"uptime|_bucket|_sum|_created")
    return [
        line
        for line in get(url + "/_mock/metrics").decode().splitlines()
        if line.startswith("altcraft_mock_") and not timing.search(line)
    ]


def observe(server: MockServerProcess) -> dict[str, Any]:
    port = int(server.url.rsplit(":", 1)[1])
    created = [
        orjson.loads(
            exchange(port, [call("workflows/import_and_start_batch_task", **fields)])[0].partition(
                b"\r\n\r\n"
            )[2]
        )["task_id"]
        for fields in (
            {"workflow_id": 2, "data": [person(1)]},
            {"workflow_id": 2, "data": [person(2)]},
            {"workflow_id": 2, "data": [person(n) for n in range(10, 2510)]},
        )
    ]
    finishing = call("tasks/status", task_id=created[1])
    exchange(port, [finishing, finishing, finishing])
    answers = [exchange(port, group) for group in corpus(*created)]
    return {
        "answers": answers,
        "journal": journal(server.url),
        "metrics": counts(server.url),
    }


@pytest.mark.parametrize("policy", ["always_200", "mirror"])
def test_the_hot_path_answers_and_records_what_the_general_path_does(
    tmp_path: Any, policy: str
) -> None:
    seen = []
    for name, env in (("hot", {}), ("general", {GENERAL_PATH_ONLY_ENV: "1"})):
        args = ["--seed", "7", "--max-body-bytes", "400000", "--http-status", policy]
        if policy == "mirror":  # bodies, answers and headers past the journal's limit too
            args += ["--journal-body-limit", "300"]
        with MockServerProcess(args, db=str(tmp_path / f"{name}.json"), env=env) as server:
            seen.append(observe(server))
    hot, general = seen
    assert len(hot["answers"]) == len(general["answers"])
    for n, (ours, theirs) in enumerate(zip(hot["answers"], general["answers"], strict=True)):
        assert ours == theirs, f"group {n}"
    assert hot["journal"] == general["journal"]
    assert hot["metrics"] == general["metrics"]
    # The corpus is what it means to be: plain calls, errors, and the general path's cases.
    statuses = {answer.split(b" ", 2)[1] for group in hot["answers"] for answer in group}
    assert {b"200", b"400"} <= statuses
    if policy == "mirror":
        assert {b"403", b"404", b"405"} <= statuses
    bodies = b"".join(answer for group in hot["answers"] for answer in group)
    for code in (b"403", b"404", b"405"):
        assert b'"error":' + code in bodies
    assert b'"status":"completed"' in bodies
    longest = max(len(answer) for group in hot["answers"] for answer in group)
    assert longest > PLAIN_BODY_LIMIT


def test_the_hot_path_is_the_default_and_steps_aside_for_the_access_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mockserver.app import create_app
    from mockserver.config import load_settings
    from mockserver.keys import BACKEND, REQUEST_HANDLER

    monkeypatch.delenv(GENERAL_PATH_ONLY_ENV, raising=False)
    plain = {"db": ":memory:"}
    assert REQUEST_HANDLER in create_app(load_settings(plain, environ={}))
    assert REQUEST_HANDLER not in create_app(load_settings({**plain, "access_log": True}, {}))
    monkeypatch.setenv(GENERAL_PATH_ONLY_ENV, "1")
    assert REQUEST_HANDLER not in create_app(load_settings(plain, environ={}))
    assert not create_app(load_settings(plain, environ={}))[BACKEND].journal.raw_calls
