"""Issue 17 items 1-2 from outside, as a user: a real server process and real HTTP.

A client test that waits on the server with no sleep and no loop; a `rate` task
driven only by advances of the virtual clock; and the same scripted session
run twice against two fresh virtual-clock servers, answers and journals diffed
byte for byte.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

import pytest

from mockserver.testing import (
    ControlClient,
    MockServerProcess,
    RequestsWaitTimeout,
    TaskWaitTimeout,
)

pytestmark = pytest.mark.slow

TOKEN = "abcdefghijklmnqrstuvwxyz"


def people(count: int) -> list[dict[str, Any]]:
    return [{"data": {"email": f"person{n}@example.com", "_fname": f"P{n}"}} for n in range(count)]


def import_task(mock: ControlClient, count: int) -> str:
    answer = mock.api(
        "workflows/import_and_start_batch_task", {"workflow_id": 2, "data": people(count)}
    )
    assert answer["error"] == 0, answer
    return answer["task_id"]


def test_a_client_test_waits_on_the_server_with_no_sleep():
    with MockServerProcess(["--progression", "rate", "--rate", "2000"]) as server:
        mock = server.client()
        task_id = import_task(mock, 1000)
        view = mock.wait_for_task(task_id, "completed", timeout=60)
        assert (view["status"], view["processed"]) == ("completed", 1000)

        # Code under test that sends in the background, awaited the same way.
        sender = threading.Thread(
            target=lambda: [mock.api("tasks/status", {"task_id": task_id}) for _ in range(5)]
        )
        sender.start()
        polls = mock.wait_for_requests(5, method="tasks/status", timeout=60)
        sender.join()
        assert [entry["api_method"] for entry in polls] == ["tasks/status"] * 5


def test_the_client_surfaces_a_timed_out_wait_and_one_that_cannot_end_well():
    with MockServerProcess(["--progression", "manual"]) as server:
        mock = server.client()
        task_id = import_task(mock, 3)
        with pytest.raises(TaskWaitTimeout) as timed_out:
            mock.wait_for_task(task_id, "completed", timeout=0.2)
        assert str(timed_out.value) == (
            f"task {task_id} is 'queued' at 0%, not status 'completed', after 0.2s"
        )
        assert timed_out.value.task["status"] == "queued"
        with pytest.raises(RequestsWaitTimeout, match=r"holds 0 request\(s\) matching"):
            mock.wait_for_requests(1, method="tasks/status", timeout=0.1)
        mock.fail(task_id)
        with pytest.raises(Exception) as never:
            mock.wait_for_task(task_id, "completed")
        assert getattr(never.value, "status", None) == 409
        assert "it can never become completed" in str(never.value)


def test_a_rate_task_driven_only_by_clock_advances():
    flags = ["--clock", "virtual", "--progression", "rate", "--rate", "5000"]
    flags += ["--status-names", "processing=in_progress,completed=success"]
    with MockServerProcess(flags) as server:
        mock = server.client()
        task_id = import_task(mock, 10_000)
        assert mock.advance_clock("1s")["now"] == "2026-01-01T00:00:01.000000Z"
        status = mock.api("tasks/status", {"task_id": task_id})["data"]
        assert status == {"status": "in_progress", "progress": 50, "result": None}
        assert mock.task(task_id)["processed"] == 5000

        mock.advance_clock(1)
        status = mock.api("tasks/status", {"task_id": task_id})["data"]
        assert (status["status"], status["progress"], len(status["result"]["result"])) == (
            "success",
            100,
            10_000,
        )
        assert mock.wait_for_task(task_id, "success", timeout=0)["finished_at"] == (
            "2026-01-01T00:00:02.000000Z"
        )


def scripted_session(url: str) -> list[Any]:
    """The same calls, the same advances: every answer, then the journal."""

    def call(method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url + path,
            data=data,
            method=method,
            # Both servers are named alike: the journal keeps the Host header.
            headers={"Host": "localhost", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()

    def api(method: str, body: dict[str, Any]) -> Any:
        return call("POST", f"/api/v1.1/{method}", {"token": TOKEN, **body})

    answers: list[Any] = []
    created = api("workflows/import_and_start_batch_task", {"workflow_id": 2, "data": people(300)})
    answers.append(created)
    task_id = json.loads(created[1])["task_id"]
    answers.append(call("POST", "/_mock/clock", {"advance": "250ms"}))
    answers.append(api("tasks/status", {"task_id": task_id}))
    answers.append(
        api("workflows/import_and_start", {"workflow_id": 1, "email": "solo@example.com"})
    )
    answers.append(
        api(
            "workflows/import_and_start_batch",
            {"workflow_id": 2, "data": [{"data": {"email": "x"}}]},
        )
    )
    answers.append(call("POST", "/_mock/clock", {"set": "2026-01-01T00:10:00Z"}))
    answers.append(api("tasks/status", {"task_id": task_id}))
    answers.append(api("profiles/get", {"db_id": 1, "email": "person7@example.com"}))
    answers.append(api("tasks/status", {"task_id": "no-such-task"}))
    answers.append(call("GET", f"/_mock/tasks/{task_id}"))
    answers.append(call("GET", "/_mock/engagements?limit=3"))
    answers.append(call("GET", "/_mock/requests"))
    return answers


def test_same_seed_same_requests_same_advances_give_the_same_bytes():
    flags = ["--clock", "virtual", "--progression", "rate", "--rate", "1000", "--seed", "7"]
    runs = []
    for _ in range(2):
        with MockServerProcess(flags) as server:
            runs.append(scripted_session(server.url))
    first, second = runs
    assert first == second
    journal = json.loads(first[-1][1])["requests"]
    assert len(journal) == 7  # the vendor calls
    assert {entry["duration_ms"] for entry in journal} == {0.0}
    assert json.loads(first[6][1])["data"]["status"] == "completed"
