"""State at the edges (RELIABILITY.md promises 25-29): run-time fixtures across
a restart, tasks whose account is gone, duplicate profile ids, resets during a
synchronous import, instant tasks stored before their slices, clients that
hang up mid-body, `Expect: 100-continue` over the limit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import time
from pathlib import Path

import pytest

from mockserver.schemas import shipped_schemas
from mockserver.store.fixtures import FixtureError, load_fixtures
from mockserver.store.repository import Store
from tests.helpers import BATCH_TASK, person
from tests.reliability.helpers import body_of, raw_exchange, status_of

#: A request head to the status method, its headers to be completed.
HEAD = b"POST /api/v1.1/tasks/status HTTP/1.1\r\nHost: localhost\r\n"
RUNTIME_TOKEN = "runtime-token-0000000000001"
RUNTIME_FIXTURE = {
    "accounts": [
        {
            "name": "runtime",
            "tokens": [RUNTIME_TOKEN],
            "databases": [{"db_id": 1, "name": "Run time"}],
            "workflows": [{"id": 7, "name": "Run time", "db_id": 1}],
            "triggers": [{"id": 70, "name": "Run time trigger", "db_id": 1}],
        }
    ]
}


async def test_accounts_loaded_at_run_time_survive_a_restart(make_api, tmp_path):
    db = str(tmp_path / "store.json")
    first = await make_api(db=db, token=RUNTIME_TOKEN)
    loaded = await first.control("POST", "/_mock/fixtures", json=RUNTIME_FIXTURE)
    assert loaded.status == 200, loaded.body
    answer = await first.call(BATCH_TASK, {"workflow_id": 7, "data": [person(1)]})
    task_id = answer.body["task_id"]

    restarted = await make_api(db=db, token=RUNTIME_TOKEN)
    assert (await restarted.run_to_end(task_id))["status"] == "completed"
    launched = await restarted.call(
        "campaigns/triggers/start", {"id": 70, "email": "profile1@example.com"}
    )
    assert launched.body["error"] == 0, launched.body


async def test_a_stored_task_whose_account_is_gone_fails_cleanly(make_api, tmp_path):
    db = str(tmp_path / "store.json")
    fixture = tmp_path / "gone.json"
    fixture.write_text(json.dumps(RUNTIME_FIXTURE))
    default = str(Path(__file__).resolve().parents[2] / "fixtures" / "default.json")
    first = await make_api(db=db, fixtures=(default, str(fixture)), progression="rate", rate=1)
    answer = await first.call(
        BATCH_TASK,
        {"token": RUNTIME_TOKEN, "workflow_id": 7, "data": [person(n) for n in range(50)]},
    )
    task_id = answer.body["task_id"]

    restarted = await make_api(db=db, progression="rate", rate=1)  # that account is not declared
    view = await restarted.control("GET", f"/_mock/tasks/{task_id}")
    assert view.body["status"] == "failed"
    assert view.body["failure"] == {
        "error": 500,
        "error_text": "the task's account 'runtime' is not in the fixtures any more",
    }
    # The worker still serves the other tasks.
    other = await restarted.call(BATCH_TASK, {"workflow_id": 2, "data": [person(1)]})
    assert other.body["error"] == 0


def test_a_profile_id_declared_twice_is_refused_at_load(tmp_path):
    shared = "a" * 24
    document = {
        "accounts": [
            {
                "name": "one",
                "tokens": ["t-one"],
                "profiles": [{"db_id": 1, "id": shared, "data": {}}],
            },
            {
                "name": "two",
                "tokens": ["t-two"],
                "profiles": [{"db_id": 1, "id": shared, "data": {}}],
            },
        ]
    }
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(document))
    with pytest.raises(
        FixtureError, match=f"profile id '{shared}' of account 'two' is declared already"
    ):
        load_fixtures([path], shipped_schemas())


async def test_a_profile_id_taken_is_refused_at_run_time(api):
    document = {
        "accounts": [{"name": "default", "profiles": [{"db_id": 1, "id": "b" * 24, "data": {}}]}]
    }
    assert (await api.control("POST", "/_mock/fixtures", json=document)).status == 200
    other = {
        "accounts": [
            {
                "name": "other",
                "tokens": ["t-other"],
                "profiles": [{"db_id": 1, "id": "b" * 24, "data": {}}],
            }
        ]
    }
    refused = await api.control("POST", "/_mock/fixtures", json=other)
    assert refused.status == 400
    assert "exists already" in refused.body["error_debug"]
    assert "other" not in api.state.accounts.catalog.accounts  # nothing of it was loaded


async def test_a_reset_stops_a_synchronous_import_in_flight(api):
    items = [person(n) for n in range(20_000)]
    running = asyncio.create_task(
        api.call("workflows/import_and_start_batch", {"workflow_id": 2, "data": items})
    )
    while api.state.store.count_profiles() == 0:
        await asyncio.sleep(0)
    reset = await api.control("POST", "/_mock/reset", json={})
    assert reset.status == 200
    answer = await running
    assert (answer.body["error"], answer.body["error_text"]) == (503, "Service unavailable")
    assert "reset" in answer.body["error_debug"]
    assert api.state.store.count_profiles() == 0
    assert api.state.store.count_engagements() == 0


async def test_an_instant_task_is_stored_before_any_of_its_slices(make_api, tmp_path):
    db = tmp_path / "store.json"
    api = await make_api(db=str(db), progression="instant")
    items = [person(n) for n in range(5_000)]
    running = asyncio.create_task(api.call(BATCH_TASK, {"workflow_id": 2, "data": items}))
    while api.state.store.count_profiles() == 0:
        await asyncio.sleep(0)
    await api.state.store.flush()  # another client's flush, between two slices
    task_ids = {record["task_id"] for record in api.state.store.engagements()}
    # What is on disk now: every engagement names a task that is on disk too.
    on_disk = Store(db, api.state.clock, api.state.ids)
    assert task_ids and all(on_disk.task(task_id) is not None for task_id in task_ids)
    on_disk.close()
    assert (await running).body["error"] == 0


@pytest.mark.e2e
def test_a_client_hanging_up_mid_body_is_one_warning_line(tmp_path):
    from tests.reliability.helpers import ServerProcess

    with ServerProcess(tmp_path) as server:
        for close in ("close", "half-close"):
            sock = socket.create_connection((server.host, server.port), timeout=10)
            sock.sendall(HEAD + b"Content-Length: 1000\r\n\r\n{")
            time.sleep(0.2)
            if close == "half-close":
                sock.shutdown(socket.SHUT_WR)
                time.sleep(0.3)
            sock.close()
        time.sleep(0.5)
        log = server.stderr()
        assert server.crash_lines() == []
        assert '" 500 ' not in log
        assert log.count("disconnected during its POST /api/v1.1/tasks/status body") == 2
        [entry, _] = server.control("GET", "/_mock/requests")["requests"]
        assert entry["body_note"].startswith("client disconnected after")


@pytest.mark.e2e
def test_expect_100_continue_over_the_limit_is_refused_before_the_body(tmp_path):
    from tests.reliability.helpers import ServerProcess

    with ServerProcess(tmp_path) as server:
        head = (
            HEAD + b"Content-Length: 20000000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        answer = raw_exchange(server.host, server.port, head, timeout=30)
        assert b"100 Continue" not in answer
        assert status_of(answer) == 200
        assert body_of(answer) == {
            "error": 400,
            "error_debug": "http: request body too large",
            "error_text": "Invalid request",
        }
        small = head.replace(b"20000000", b"2").replace(b"\r\n\r\n", b"\r\n\r\n{}")
        assert b"100 Continue" in raw_exchange(server.host, server.port, small, timeout=30)


def _start_upload(server, declared: int, sent: bytes) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=30)
    sock.sendall(
        HEAD
        + b"Content-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % declared
        + sent
    )
    return sock


@pytest.mark.e2e
def test_uploads_in_flight_share_one_byte_budget(tmp_path):
    from tests.reliability.helpers import ServerProcess

    with ServerProcess(tmp_path, "--max-uploading-bytes", "1000000") as server:
        held = [_start_upload(server, 2_000_000, b" " * 400_000) for _ in range(2)]
        time.sleep(0.5)  # both are being received: 800,000 bytes held
        third = _start_upload(server, 2_000_000, b" " * 400_000)
        third.settimeout(30)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := third.recv(65536):
                answer += chunk
        body = body_of(answer)
        assert (body["error"], body["error_text"]) == (503, "Service unavailable"), answer[:300]
        assert "--max-uploading-bytes" in body["error_debug"]
        for sock in (*held, third):
            sock.close()
        assert server.control("GET", "/_mock/health")["status"] == "ok"
        assert server.crash_lines() == []


@pytest.mark.e2e
def test_sigterm_cuts_off_an_unfinished_upload_instead_of_waiting_for_it(tmp_path):
    from tests.reliability.helpers import ServerProcess

    server = ServerProcess(tmp_path, "--read-timeout", "120", db=str(tmp_path / "store.json"))
    server.start()
    try:
        stuck = _start_upload(server, 1000, b'{"token":')
        time.sleep(0.3)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        # Waiting for the stuck client would take the read timeout (120 s).
        assert server.proc.wait(timeout=30) == 0
        stuck.close()
        assert "upload(s) cut off" in server.stderr()
        assert server.crash_lines() == []
    finally:
        server.kill()
