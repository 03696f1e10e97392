"""Waiting on the server (issue 17 item 1): `POST /_mock/tasks/{id}/wait` and
`GET /_mock/requests?wait=N`.

A wait answers as soon as the state is there (signalled by the code that
changes it, never polled), with a clear answer when it can never come, and
after its timeout with `timed_out: true`. It never moves a task.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from mockserver.errors import CONFLICT_TEXT, TASK_NOT_FOUND_TEXT
from tests.helpers import (
    STATUS,
    ApiClient,
    ApiClientFactory,
    envelope,
    ok,
    person,
    refused,
    reset,
    task,
)


async def wait(api: ApiClient, task_id: str, **body: Any) -> dict[str, Any]:
    path = f"/_mock/tasks/{task_id}/wait"
    return await ok(api, "POST", path, "control/task_wait.response", json=body)


async def manual_task(
    make_api: ApiClientFactory, items: int = 4, **settings: Any
) -> tuple[ApiClient, str]:
    api = await make_api(progression="manual", **settings)
    return api, await api.import_batch([person(n) for n in range(items)])


async def started(api: ApiClient, task_id: str, waiters: int = 1) -> None:
    """Until `waiters` waits on the task are registered (a wait answers at once otherwise)."""
    while api.state.engine.waiter_count() < waiters:
        await asyncio.sleep(0.001)  # lets the requests in flight reach the server


async def test_a_wait_answers_when_a_control_call_completes_the_task(make_api):
    api, task_id = await manual_task(make_api)
    waiting = asyncio.create_task(wait(api, task_id, status="completed", timeout=30))
    await started(api, task_id)
    assert not waiting.done()
    await ok(api, "POST", f"/_mock/tasks/{task_id}/complete", "control/task.response")
    view = await waiting
    assert (view["status"], view["processed"], view["timed_out"]) == ("completed", 4, False)
    assert view == {**await task(api, task_id), "timed_out": False}


async def test_a_task_already_there_is_answered_at_once(make_api):
    api = await make_api(progression="instant")
    task_id = await api.import_batch([person(1)])
    assert (await wait(api, task_id, status="completed", timeout=0))["timed_out"] is False


async def test_a_wait_for_progress_answers_at_that_progress(make_api):
    api, task_id = await manual_task(make_api, items=10)
    waiting = asyncio.create_task(wait(api, task_id, progress=50, timeout=30))
    await started(api, task_id)
    await ok(
        api, "POST", f"/_mock/tasks/{task_id}/advance", "control/task.response", json={"items": 3}
    )
    assert not waiting.done()
    await ok(
        api, "POST", f"/_mock/tasks/{task_id}/advance", "control/task.response", json={"items": 3}
    )
    view = await waiting
    assert (view["status"], view["progress"], view["processed"]) == ("processing", 60, 6)


async def test_a_waiter_sees_processing_even_when_one_call_goes_on_to_completed(make_api):
    """Each waiter judges every state the task is saved in, not only where it ends."""
    api, task_id = await manual_task(make_api, items=600)
    waiting = asyncio.create_task(wait(api, task_id, status="processing", timeout=30))
    await started(api, task_id)
    await ok(api, "POST", f"/_mock/tasks/{task_id}/complete", "control/task.response")
    view = await waiting
    assert view["status"] == "processing" and 0 < view["processed"] < 600


async def test_a_timeout_answers_200_with_timed_out_and_where_the_task_is(make_api):
    api, task_id = await manual_task(make_api)
    view = await wait(api, task_id, status="completed", timeout=0.05)
    assert (view["timed_out"], view["status"], view["progress"]) == (True, "queued", 0)


async def test_waiting_never_moves_a_polls_task(make_api):
    api = await make_api()  # polls, 2 steps
    task_id = await api.import_batch([person(1), person(2)])
    view = await wait(api, task_id, status="completed", timeout=0.05)
    assert (view["timed_out"], view["status"], view["processed"]) == (True, "queued", 0)
    waiting = asyncio.create_task(wait(api, task_id, status="completed", timeout=30))
    await started(api, task_id)
    await api.status(task_id)
    await api.status(task_id)  # the client's own polls move it
    assert (await waiting)["status"] == "completed"


async def test_a_status_that_can_never_come_is_a_409_at_once(make_api):
    api, task_id = await manual_task(make_api)
    await ok(api, "POST", f"/_mock/tasks/{task_id}/fail", "control/task.response", json={})
    body = await refused(
        api,
        "POST",
        f"/_mock/tasks/{task_id}/wait",
        409,
        json={"status": "completed", "timeout": 30},
    )
    assert body == envelope(
        409, f"status: task {task_id} is failed: it can never become completed", CONFLICT_TEXT
    )


async def test_a_waiter_is_told_at_once_when_the_task_fails_instead(make_api):
    api, task_id = await manual_task(make_api)
    path = f"/_mock/tasks/{task_id}/wait"
    waiting = asyncio.create_task(
        refused(api, "POST", path, 409, json={"status": "completed", "timeout": 30})
    )
    await started(api, task_id)
    await ok(api, "POST", f"/_mock/tasks/{task_id}/fail", "control/task.response", json={})
    assert (await waiting)["error_debug"].endswith("it can never become completed")


async def test_a_progress_a_failed_task_never_reached_is_a_409(make_api):
    api, task_id = await manual_task(make_api, items=10)
    await ok(
        api, "POST", f"/_mock/tasks/{task_id}/advance", "control/task.response", json={"items": 3}
    )
    await ok(api, "POST", f"/_mock/tasks/{task_id}/fail", "control/task.response", json={})
    body = await refused(api, "POST", f"/_mock/tasks/{task_id}/wait", 409, json={"progress": 50})
    assert (
        body["error_debug"]
        == f"progress: task {task_id} ended failed at 30%: it can never reach 50%"
    )


async def test_any_of_several_statuses(make_api):
    api, task_id = await manual_task(make_api)
    waiting = asyncio.create_task(wait(api, task_id, status=["completed", "failed"], timeout=30))
    await started(api, task_id)
    await ok(api, "POST", f"/_mock/tasks/{task_id}/fail", "control/task.response", json={})
    assert (await waiting)["status"] == "failed"


async def test_statuses_as_configured_and_canonical(make_api):
    api, task_id = await manual_task(make_api, status_names="completed=success")
    await ok(api, "POST", f"/_mock/tasks/{task_id}/complete", "control/task.response")
    assert (await wait(api, task_id, status="success"))["status"] == "completed"
    assert (await wait(api, task_id, status="completed"))["status"] == "completed"


async def test_two_hundred_waiters_on_one_task_all_resolve(make_api):
    api, task_id = await manual_task(make_api, items=10)
    url = api.http.make_url(f"/_mock/tasks/{task_id}/wait")

    async def one_wait(session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.post(url, json={"status": "completed", "timeout": 60}) as answer:
            assert answer.status == 200
            return await answer.json()

    # 200 connections at once (the test client's own session keeps 100 at most).
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        waiting = [asyncio.create_task(one_wait(session)) for _ in range(200)]
        await started(api, task_id, waiters=200)
        await ok(api, "POST", f"/_mock/tasks/{task_id}/complete", "control/task.response")
        views = await asyncio.gather(*waiting)
    outcomes = {(v["status"], v["processed"], v["timed_out"]) for v in views}
    assert outcomes == {("completed", 10, False)}
    assert api.state.engine.waiter_count() == 0


async def test_a_reset_while_waiting_answers_task_not_found(make_api):
    api, task_id = await manual_task(make_api)
    path = f"/_mock/tasks/{task_id}/wait"
    waiting = asyncio.create_task(refused(api, "POST", path, 404, json={"status": "completed"}))
    await started(api, task_id)
    await reset(api)
    assert await waiting == envelope(
        404,
        f"task_id: task {task_id!r} was removed by a reset while waited on",
        TASK_NOT_FOUND_TEXT,
    )


@pytest.mark.parametrize(
    ("body", "debug"),
    [
        (
            {"status": "done"},
            "status: unknown task status 'done' (one of completed, failed, processing, queued)",
        ),
        (
            {"status": "completed", "timeout": 301},
            "timeout: 301 is greater than the maximum of 300",
        ),
        ({"status": "completed", "timeout": -1}, "timeout: -1 is less than the minimum of 0"),
        ({"status": "completed", "timeout": "5"}, 'timeout: expected number, got string "5"'),
        ({"progress": 101}, "progress: 101 is greater than the maximum of 100"),
        ({"timeout": 5}, "status, progress: give one or both (what to wait for)"),
    ],
)
async def test_a_bad_wait_is_a_400_naming_the_field(make_api, body, debug):
    api, task_id = await manual_task(make_api)
    answer = await refused(api, "POST", f"/_mock/tasks/{task_id}/wait", 400, json=body)
    assert answer == envelope(400, debug)


async def test_waiting_for_an_unknown_task_is_a_404(api):
    body = await refused(api, "POST", "/_mock/tasks/nope/wait", 404, json={"status": "completed"})
    assert body == envelope(404, "task_id: no task 'nope'", TASK_NOT_FOUND_TEXT)


# -- the journal ----------------------------------------------------------------------


async def journal_wait(api: ApiClient, **query: Any) -> dict[str, Any]:
    params = {key: str(value) for key, value in query.items()}
    return await ok(api, "GET", "/_mock/requests", "control/requests.response", params=params)


async def test_a_journal_wait_answers_once_n_matching_requests_are_there(api):
    waiting = asyncio.create_task(journal_wait(api, wait=3, method=STATUS, timeout=30))
    await asyncio.sleep(0)
    await api.call("databases/list")  # does not match
    for _ in range(2):
        await api.call(STATUS, {"task_id": "x"})
    assert not waiting.done()
    await api.call(STATUS, {"task_id": "x"})
    answer = await waiting
    assert (answer["timed_out"], answer["total"]) == (False, 3)
    assert {entry["api_method"] for entry in answer["requests"]} == {STATUS}


async def test_a_journal_wait_already_satisfied_answers_at_once(api):
    await api.call("databases/list")
    answer = await journal_wait(api, wait=1, timeout=0)
    assert (answer["timed_out"], answer["total"]) == (False, 1)


async def test_a_journal_wait_times_out_with_what_matched(api):
    await api.call(STATUS, {"task_id": "x"})
    answer = await journal_wait(api, wait=2, method=STATUS, timeout=0.05)
    assert (answer["timed_out"], answer["total"]) == (True, 1)


async def test_a_plain_journal_read_has_no_timed_out(api):
    assert "timed_out" not in await journal_wait(api)


@pytest.mark.parametrize(
    ("query", "debug"),
    [
        ({"wait": "0"}, "wait: must be at least 1, got 0"),
        ({"wait": "x"}, "wait: expected an integer, got 'x'"),
        ({"wait": "1", "timeout": "301"}, "timeout: expected seconds from 0 to 300, got '301'"),
        ({"wait": "1", "timeout": "nan"}, "timeout: expected seconds from 0 to 300, got 'nan'"),
        ({"timeout": "1"}, "timeout: only with wait=N (the number of requests to wait for)"),
    ],
)
async def test_a_bad_journal_wait_is_a_400_naming_the_parameter(api, query, debug):
    body = await refused(api, "GET", "/_mock/requests", 400, params=query)
    assert body == envelope(400, debug)
