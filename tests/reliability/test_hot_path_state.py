"""The hot path against aiohttp's general path while the server's state changes
under an open keep-alive connection: the clock moves between calls, a fault rule
is set, fires and is cleared, a reset drops the journal between a call and its
read. `test_hot_path.py` compares fixed requests; this compares what a test
suite does between them. The journal is compared with its times (entries
recorded as raw values are made when first read: their time must be the call's,
not the read's), and read with filters before anything else reads it."""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from typing import Any

import orjson
import pytest

from mockserver.config import GENERAL_PATH_ONLY_ENV
from mockserver.http.hot_path import PLAIN_BODY_LIMIT, supported
from mockserver.testing import MockServerProcess
from tests.reliability.test_hot_path import TOKEN, call, read_answer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not supported(), reason="the hot path is off on this aiohttp release"),
]

START = "2026-01-01T00:00:00.000000Z"
LATER = "2026-01-01T00:01:30.000000Z"


def control(url: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else orjson.dumps(body)
    sent = urllib.request.Request(
        url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(sent, timeout=10) as answer:
        return orjson.loads(answer.read())


def entries(url: str, query: str) -> list[dict[str, Any]]:
    found = control(url, "GET", "/_mock/requests" + query)["requests"]
    for entry in found:
        entry.pop("duration_ms")  # real time spent: differs run to run
    return list(found)


def script(server: MockServerProcess) -> dict[str, Any]:
    """Polls on one connection, the state changed between them over others."""
    url = server.url
    port = int(url.rsplit(":", 1)[1])
    created = call(
        "workflows/import_and_start_batch_task", workflow_id=2, data=[{"email": "a@b.io"}]
    )
    poll: bytes = b""
    seen: dict[str, Any] = {"answers": [], "reads": []}
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")

        def send(raw: bytes) -> bytes:
            sock.sendall(raw)
            answer: bytes = read_answer(reader, head_only=False)
            seen["answers"].append(answer)
            return answer

        task_id = orjson.loads(send(created).partition(b"\r\n\r\n")[2])["task_id"]
        poll = call("tasks/status", task_id=task_id)
        send(poll)
        control(url, "POST", "/_mock/clock", {"advance": "90s"})
        send(poll)  # finished now: its answer is kept and sent again below
        send(poll)
        fault = {"action": "error", "error": 503, "times": 1, "match": {"method": "tasks/status"}}
        control(url, "POST", "/_mock/faults", fault)
        send(poll)  # the fault fires
        send(poll)  # spent, still listed
        seen["reads"].append(entries(url, f"?token={TOKEN}"))  # the first read of them all
        seen["reads"].append(entries(url, f"?since={LATER}&error=0"))
        control(url, "DELETE", "/_mock/faults")
        send(poll)
        send(poll)
        seen["reads"].append(entries(url, "?method=tasks/status&limit=3"))
        control(url, "POST", "/_mock/reset", {"scopes": ["journal"]})
        send(poll)
        seen["reads"].append(entries(url, ""))
        send(poll)
    seen["reads"].append(entries(url, "?limit=1000"))
    seen["dropped"] = control(url, "GET", "/_mock/requests")["dropped"]
    return seen


@pytest.mark.parametrize(
    "flags",
    [[], ["--latency", "tasks/status=1"], ["--journal-size", "3", "--http-status", "mirror"]],
    ids=["plain", "latency", "small-journal"],
)
def test_state_changed_between_calls_on_one_connection(tmp_path: Any, flags: list[str]) -> None:
    seen = []
    for name, env in (("hot", {}), ("general", {GENERAL_PATH_ONLY_ENV: "1"})):
        args = ["--seed", "7", "--clock", "virtual", "--clock-start", START, *flags]
        with MockServerProcess(args, db=str(tmp_path / f"{name}.json"), env=env) as server:
            seen.append(script(server))
    hot, general = seen
    assert hot == general
    # What the script means to show: the fault fired once, and entries carry the
    # time of their call, recorded before the clock moved or after.
    assert sum(b'"error":503' in answer for answer in hot["answers"]) == 1
    if "--journal-size" not in flags:
        first_read = [entry["time"] for entry in hot["reads"][0]]
        assert first_read == [START, START, LATER, LATER, LATER, LATER]
        assert {entry["time"] for entry in hot["reads"][1]} == {LATER}


def resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the server's RSS")
def test_a_client_that_pipelines_and_never_reads_is_not_answered_into_memory() -> None:
    """aiohttp waits for a full socket buffer to drain after each answer (its
    writer's `drain`), so a client that pipelines polls and reads none of the
    answers holds the server at the socket's buffers; the hot path waits too."""
    with MockServerProcess(["--progression", "instant"]) as server:
        people = [{"email": f"user{n}@example.com"} for n in range(1500)]
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            reader = sock.makefile("rb")
            sock.sendall(call("workflows/import_and_start_batch_task", workflow_id=2, data=people))
            created = read_answer(reader, head_only=False).partition(b"\r\n\r\n")[2]
            poll = call("tasks/status", task_id=orjson.loads(created)["task_id"])
            sock.sendall(poll)
            answer = read_answer(reader, head_only=False)
            assert 40_000 < len(answer) <= PLAIN_BODY_LIMIT + 1000  # a finished task's, kept
            assert server.pid is not None
            before = resident_kib(server.pid)
            for _ in range(20):
                sock.sendall(poll * 100)  # 2,000 answers of ~63 KB: ~125 MB if all kept
            deadline = time.monotonic() + 10
            last = None
            while time.monotonic() < deadline:  # until the server stops answering them
                time.sleep(0.5)
                newest = control(server.url, "GET", "/_mock/requests?limit=1")["requests"][-1]
                if newest["id"] == last:
                    break
                last = newest["id"]
            grown_mib = (resident_kib(server.pid) - before) / 1024
        assert grown_mib < 40, f"the server grew by {grown_mib:.0f} MiB for answers never read"
