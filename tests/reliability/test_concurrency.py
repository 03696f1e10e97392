"""Concurrency (issue 7, item 4), against the real process.

Fifty clients import at once, half as background tasks (`rate` mode, so their
slices interleave), half with the synchronous batch method, all drawing from
the same 400 emails. When every task has finished: one profile per email, and
each profile holds exactly the fields of the last import that touched it (the
last engagement recorded for it says which client that was: engagements are
written in the same unit of work as the profile).

Then the status endpoint during a 10,000-item import: its p99 latency stays
within 10x its idle p99, both measured in the same test on the same server
(this is the one test that times anything: see `test_status_p99_...`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.helpers import (
    BATCH_TASK,
    STATUS,
    SYNC_BATCH,
    TOKEN,
    ServerProcess,
    figure,
    people,
    percentile,
    send,
)

pytestmark = pytest.mark.e2e

CLIENTS = 50
EMAILS = 400
ITEMS_PER_CLIENT = 120


def client_items(client: int) -> list[dict[str, Any]]:
    """This client's batch: distinct emails from the shared pool, fields naming the client."""
    emails = random.Random(client).sample(range(EMAILS), ITEMS_PER_CLIENT)
    return [
        {
            "data": {
                "email": f"shared{n}@example.com",
                "_fname": f"C{client}",
                "CRM_ID": f"C{client}-{n}",
                "Points": client,
            }
        }
        for n in emails
    ]


@pytest.fixture
def server(tmp_path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path, "--progression", "rate", "--rate", "600") as running:
        yield running
        assert running.crash_lines() == []


def test_fifty_clients_with_overlapping_batches_leave_one_profile_per_email(server):
    barrier = threading.Barrier(CLIENTS)
    answers: dict[int, Any] = {}

    def client(number: int) -> None:
        method = BATCH_TASK if number % 2 else SYNC_BATCH
        body = {
            "token": TOKEN,
            "workflow_id": 2,
            "matching": "email",
            "custom_data": {"client": number},  # recorded on every engagement
            "data": client_items(number),
        }
        connection = server.connection(timeout=120)
        try:
            barrier.wait(timeout=60)
            answers[number] = send(connection, "POST", f"/api/v1.1/{method}", body)
        except Exception as exc:  # reported below, not lost in the thread
            answers[number] = (0, repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert all(status == 200 and body["error"] == 0 for status, body in answers.values()), answers
    for number, (_, body) in answers.items():
        if "task_id" in body:
            assert server.wait_for_task(body["task_id"], timeout=120)["status"] == "completed"
        else:
            assert all("profile_id" in entry for entry in body["result"]), number

    listing = server.control("GET", "/_mock/profiles?limit=10000")
    profiles = listing["profiles"]
    emails = [profile["data"]["email"] for profile in profiles]
    assert len(emails) == len(set(emails)) == listing["total"] == EMAILS

    last_client: dict[str, int] = {}
    engagements = server.control("GET", "/_mock/engagements?limit=10000")
    assert engagements["total"] == CLIENTS * ITEMS_PER_CLIENT
    for record in engagements["engagements"]:  # in the order they were written
        last_client[record["profile_id"]] = record["custom_data"]["client"]
    for profile in profiles:
        client = last_client[profile["id"]]
        number = profile["data"]["email"].removeprefix("shared").split("@")[0]
        expected = {"_fname": f"C{client}", "CRM_ID": f"C{client}-{number}", "Points": client}
        assert {name: profile["data"][name] for name in expected} == expected, profile
    figure(
        "concurrency",
        clients=CLIENTS,
        requests=CLIENTS,
        items=CLIENTS * ITEMS_PER_CLIENT,
        profiles=EMAILS,
        duplicated=0,
        stale_fields=0,
    )


# -- the status endpoint under load ---------------------------------------------------------

IDLE_SECONDS = 2.0
ATTEMPTS = 5  # a shared 2-core VM: one attempt in three or four can be spoilt under load
BOUND = 10.0
POLLERS = 4  # a few clients polling their tasks, as a test suite's workers would


def _poll(server: ServerProcess, body: dict[str, Any], stop: threading.Event) -> list[float]:
    """Sequential `tasks/status` calls on one kept-alive connection until `stop`."""
    latencies: list[float] = []
    connection = server.connection(timeout=60)
    try:
        while not stop.is_set():
            started = time.perf_counter()
            status, answer = send(connection, "POST", f"/api/v1.1/{STATUS}", body)
            latencies.append(time.perf_counter() - started)
            assert status == 200 and answer["error"] == 0, answer
    finally:
        connection.close()
    return latencies


def _measure(server: ServerProcess, body: dict[str, Any], busy_with: Any) -> list[float]:
    """Latencies of POLLERS clients polling status while `busy_with()` runs."""
    stop = threading.Event()
    results: list[list[float]] = []

    def poller() -> None:
        results.append(_poll(server, body, stop))

    threads = [threading.Thread(target=poller) for _ in range(POLLERS)]
    for thread in threads:
        thread.start()
    try:
        busy_with()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert len(results) == POLLERS, "a poller failed"
    return [latency for result in results for latency in result]


def test_status_p99_during_a_big_import_stays_within_10x_idle(tmp_path):
    """The issue's benchmark figure, measured here too: p99 of `tasks/status` while a
    10,000-item task is processed in `rate` mode, against p99 while the server is
    idle (just before and just after), one server, four clients polling, over a
    thousand samples each.

    The only wall-clock assertion of the suite. A noisy neighbour on a shared CI
    machine can spoil one measurement, so the pair is measured again, at most
    five times, before the bound counts as broken; every attempt is reported."""
    attempts = []
    with ServerProcess(tmp_path, "--progression", "rate") as server:
        small = server.api(BATCH_TASK, {"workflow_id": 2, "data": people(2)})["task_id"]
        server.wait_for_task(small)
        body = {"token": TOKEN, "task_id": small}
        _measure(server, body, lambda: time.sleep(0.3))  # warm-up, not counted
        for attempt in range(ATTEMPTS):

            def big_import(offset: int = 100_000 * (attempt + 1)) -> None:
                answer = server.api(
                    BATCH_TASK, {"workflow_id": 2, "data": people(10_000, offset=offset)}
                )
                server.wait_for_task(answer["task_id"], timeout=120)

            before = _measure(server, body, lambda: time.sleep(IDLE_SECONDS / 2))
            busy = _measure(server, body, big_import)
            after = _measure(server, body, lambda: time.sleep(IDLE_SECONDS / 2))
            idle = before + after
            idle_p99, busy_p99 = percentile(idle, 0.99), percentile(busy, 0.99)
            attempts.append(
                {
                    "idle_samples": len(idle),
                    "busy_samples": len(busy),
                    "idle_p99_ms": round(idle_p99 * 1000, 2),
                    "busy_p99_ms": round(busy_p99 * 1000, 2),
                    "ratio": round(busy_p99 / idle_p99, 2),
                }
            )
            assert len(idle) >= 200 and len(busy) >= 200, attempts[-1]
            if busy_p99 <= BOUND * idle_p99:
                break
        assert server.crash_lines() == []
    figure("status-p99", attempts=attempts, bound=BOUND)
    assert attempts[-1]["ratio"] <= BOUND, attempts
