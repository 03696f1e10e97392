"""Concurrency (issue 7, item 4), against the real process.

Fifty clients import at once, half as background tasks (`rate` mode, so their
slices interleave), half with the synchronous batch method, all drawing from
the same 400 emails. When every task has finished: one profile per email, and
each profile holds exactly the fields of the last import that touched it (the
last engagement recorded for it says which client that was: engagements are
written in the same unit of work as the profile).

Then the status endpoint during a 10,000-item import: it keeps answering, and
answers while the task is under way. How fast it answers (p99 against idle p99)
is a figure of `make bench` (bench/run.py, `mixed`), not an assertion: the suite
asserts no wall-clock time.
"""

from __future__ import annotations

import random
import threading
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

POLLERS = 4  # a few clients polling their tasks, as a test suite's workers would


def _poll(
    server: ServerProcess, body: dict[str, Any], stop: threading.Event
) -> list[dict[str, Any]]:
    """Sequential `tasks/status` calls on one kept-alive connection until `stop`: every
    answer a success, its `data` kept."""
    seen: list[dict[str, Any]] = []
    connection = server.connection(timeout=60)
    try:
        while not stop.is_set():
            status, answer = send(connection, "POST", f"/api/v1.1/{STATUS}", body)
            assert status == 200 and answer["error"] == 0, answer
            seen.append(answer["data"])
    finally:
        connection.close()
    return seen


def test_status_keeps_answering_during_a_big_import(tmp_path):
    """Four clients poll a 10,000-item task while it is processed in `rate` mode: every
    poll is answered, some while the task is under way (not only once it is done),
    and no client ever sees its progress go back."""
    stop = threading.Event()
    results: list[list[dict[str, Any]]] = []
    with ServerProcess(tmp_path, "--progression", "rate") as server:
        task_id = server.api(BATCH_TASK, {"workflow_id": 2, "data": people(10_000)})["task_id"]
        body = {"token": TOKEN, "task_id": task_id}

        def poller() -> None:
            results.append(_poll(server, body, stop))

        threads = [threading.Thread(target=poller) for _ in range(POLLERS)]
        for thread in threads:
            thread.start()
        try:
            final = server.wait_for_task(task_id, timeout=120)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
        assert server.crash_lines() == []
    assert final["status"] == "completed", final
    assert len(results) == POLLERS, "a poller failed"
    for seen in results:
        progress = [data["progress"] for data in seen]
        assert progress == sorted(progress), progress
    under_way = [d for seen in results for d in seen if d["status"] == "processing"]
    assert any(0 < data["progress"] < 100 for data in under_way), results
