"""Task progression (SPEC §4, §5): polls, instant, manual, rate, per workflow.

Every test is deterministic: `polls` moves on status calls, `manual` on the
control API, `rate` on a VirtualClock driven by hand. No test sleeps.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from mockserver.app import create_app
from mockserver.backend import Backend
from mockserver.clock import VirtualClock
from mockserver.config import ProgressionMode, settings_for_tests
from mockserver.importer.options import parse_import_options
from mockserver.tasks.engine import MAX_ITEMS_PER_SLICE, RATE_SLICE_ITEMS, NewTask
from mockserver.tasks.model import Task, TaskStatus
from tests.helpers import BATCH_TASK, STATUS, ApiClient, health_counts, person, tasks

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "progression.json"
FIXTURE_TOKEN = "progression-fixture-token"
MANUAL_WORKFLOW, FOUR_POLLS_WORKFLOW, INSTANT_WORKFLOW, DEFAULT_WORKFLOW = 10, 11, 12, 13


# -- helpers -------------------------------------------------------------------------


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [person(n) for n in range(start, start + count)]


async def task_view(api: ApiClient, task_id: str) -> dict[str, Any]:
    """GET /_mock/tasks/{id}: never moves the task."""
    answer = await api.control("GET", f"/_mock/tasks/{task_id}")
    assert answer.status == 200, answer.body
    return answer.body


async def control_post(
    api: ApiClient, task_id: str, action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    kwargs = {"json": body} if body is not None else {}
    answer = await api.control("POST", f"/_mock/tasks/{task_id}/{action}", **kwargs)
    assert answer.status == 200, answer.body
    return answer.body


async def profile_count(api: ApiClient) -> int:
    answer = await api.control("GET", "/_mock/health")
    assert answer.status == 200, answer.body
    return answer.body["counts"]["profiles"]


def stored_by_email(api: ApiClient) -> dict[str, dict[str, Any]]:
    """Every stored profile of the server, by its email."""
    return {p["data"]["email"]: p for p in api.state.store.profiles() if p["data"].get("email")}


def email(n: int) -> str:
    return f"profile{n}@example.com"


def assert_completed(data: dict[str, Any], total: int) -> list[dict[str, Any]]:
    assert data["status"] == "completed", data
    assert data["progress"] == 100
    assert data["result"]["error"] == 0
    results = data["result"]["result"]
    assert len(results) == total
    return results


# -- polls (default) -----------------------------------------------------------------


async def test_polls_default_first_poll_half_second_poll_done(api):
    task_id = await api.import_batch(people(2))

    first = await api.status(task_id)
    second = await api.status(task_id)

    assert first == {"status": "processing", "progress": 50, "result": None}
    results = assert_completed(second, 2)
    assert all("profile_id" in entry for entry in results)


async def test_polls_task_is_queued_before_the_first_poll(api):
    task_id = await api.import_batch(people(4))

    view = await task_view(api, task_id)

    assert view["status"] == "queued"
    assert view["processed"] == 0
    assert view["progress"] == 0
    assert view["total"] == 4
    # Reading through the control API is not a poll: the task has not moved.
    assert (await task_view(api, task_id))["processed"] == 0


async def test_polls_default_processes_ceil_half_on_the_first_poll(api):
    task_id = await api.import_batch(people(5))

    await api.status(task_id)
    assert (await task_view(api, task_id))["processed"] == 3  # ceil(5*1/2)

    await api.status(task_id)
    assert (await task_view(api, task_id))["processed"] == 5


async def test_polls_four_steps_show_quarters(make_api):
    api = await make_api(steps=4)
    task_id = await api.import_batch(people(8))

    seen = []
    for _ in range(4):
        data = await api.status(task_id)
        view = await task_view(api, task_id)
        seen.append((data["status"], data["progress"], view["processed"]))
        if data["status"] != "completed":
            assert data["result"] is None

    assert seen == [
        ("processing", 25, 2),
        ("processing", 50, 4),
        ("processing", 75, 6),
        ("completed", 100, 8),
    ]


@pytest.mark.parametrize(("total", "steps"), [(10, 4), (7, 3), (1, 2), (13, 5)])
async def test_polls_step_k_of_n_processes_ceil_total_k_over_n(make_api, total, steps):
    api = await make_api(steps=steps)
    task_id = await api.import_batch(people(total))

    for k in range(1, steps + 1):
        data = await api.status(task_id)
        view = await task_view(api, task_id)
        expected = math.ceil(total * k / steps)
        assert view["processed"] == expected, f"after poll {k} of {steps}"
        if expected < total:
            assert data["status"] == "processing"
            assert data["result"] is None
            # progress is the share of items processed
            assert abs(data["progress"] - 100 * expected / total) < 1
        else:
            assert_completed(data, total)
            break
    else:
        pytest.fail("task never completed")


async def test_polls_after_completion_do_not_change_anything(api):
    task_id = await api.import_batch(people(2))
    done = await api.run_to_end(task_id)
    before = await profile_count(api)

    again = await api.status(task_id)

    assert again == done
    assert await profile_count(api) == before


async def test_polls_results_are_in_request_order(make_api):
    api = await make_api(steps=3)
    items = [person(0), {"data": {"email": "not-an-email"}}, person(2), person(3)]
    task_id = await api.import_batch(items)

    data = await api.run_to_end(task_id)

    results = assert_completed(data, 4)
    assert "profile_id" in results[0]
    assert results[1]["error"] != 0 and results[1]["error_text"]
    by_email = stored_by_email(api)
    assert results[0]["profile_id"] == by_email[email(0)]["id"]
    assert results[2]["profile_id"] == by_email[email(2)]["id"]
    assert results[3]["profile_id"] == by_email[email(3)]["id"]


async def test_polls_new_profile_exists_only_after_the_step_that_processed_it(api):
    task_id = await api.import_batch(people(2))

    assert email(0) not in stored_by_email(api)
    assert await profile_count(api) == 0

    await api.status(task_id)  # step 1 of 2: item 0
    stored = stored_by_email(api)
    assert email(0) in stored
    assert email(1) not in stored
    assert await profile_count(api) == 1

    await api.status(task_id)  # step 2 of 2: item 1
    stored = stored_by_email(api)
    assert email(1) in stored
    assert await profile_count(api) == 2


async def test_polls_update_of_an_item_is_visible_only_after_its_step(api):
    (first,) = await api.import_and_finish([person(1, _fname="Before")])
    profile_id = first["profile_id"]
    task_id = await api.import_batch([person(2), person(1, _fname="After")])

    assert api.state.store.profile(profile_id)["data"]["_fname"] == "Before"
    await api.status(task_id)  # processes item 0 only
    assert api.state.store.profile(profile_id)["data"]["_fname"] == "Before"
    data = await api.status(task_id)  # processes item 1: the update
    assert api.state.store.profile(profile_id)["data"]["_fname"] == "After"
    assert data["result"]["result"][1] == {"profile_id": profile_id}


async def test_polls_engagements_follow_the_processed_items(api):
    task_id = await api.import_batch(people(4))

    async def engagements() -> int:
        return (await api.control("GET", "/_mock/health")).body["counts"]["engagements"]

    assert await engagements() == 0
    await api.status(task_id)
    assert await engagements() == 2
    await api.status(task_id)
    assert await engagements() == 4


# -- instant -------------------------------------------------------------------------


async def test_instant_is_completed_on_the_first_poll(make_api):
    api = await make_api(progression=ProgressionMode.INSTANT)
    task_id = await api.import_batch(people(3))

    data = await api.status(task_id)

    results = assert_completed(data, 3)
    assert len({entry["profile_id"] for entry in results}) == 3


async def test_instant_profiles_are_visible_before_any_poll(make_api):
    api = await make_api(progression=ProgressionMode.INSTANT)
    task_id = await api.import_batch(people(3))

    assert await profile_count(api) == 3
    assert {email(0), email(1), email(2)} <= set(stored_by_email(api))
    view = await task_view(api, task_id)
    assert view["status"] == "completed"
    assert view["processed"] == 3


@pytest.mark.slow  # big load: 10,000 items
async def test_instant_ten_thousand_items_complete_with_distinct_profiles(make_api):
    api = await make_api(progression=ProgressionMode.INSTANT)
    task_id = await api.import_batch(people(10_000))

    data = await api.status(task_id)

    results = assert_completed(data, 10_000)
    ids = [entry.get("profile_id") for entry in results]
    assert None not in ids, [e for e in results if "profile_id" not in e][:3]
    assert len(set(ids)) == 10_000
    assert await profile_count(api) == 10_000


# -- manual --------------------------------------------------------------------------


async def test_manual_stays_queued_whatever_the_polls(make_api):
    api = await make_api(progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(4))

    for _ in range(20):
        data = await api.status(task_id)
        assert data == {"status": "queued", "progress": 0, "result": None}

    assert (await task_view(api, task_id))["processed"] == 0
    assert await profile_count(api) == 0


async def test_manual_advance_moves_one_step(make_api):
    api = await make_api(progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(10))

    view = await control_post(api, task_id, "advance")

    assert view["processed"] == 5
    assert view["status"] == "processing"
    assert await api.status(task_id) == {"status": "processing", "progress": 50, "result": None}
    # Polling still does not move a manual task.
    assert (await task_view(api, task_id))["processed"] == 5
    assert await profile_count(api) == 5

    view = await control_post(api, task_id, "advance")
    assert view["processed"] == 10
    assert view["status"] == "completed"
    assert_completed(await api.status(task_id), 10)


async def test_manual_advance_with_four_steps(make_api):
    api = await make_api(progression=ProgressionMode.MANUAL, steps=4)
    task_id = await api.import_batch(people(10))

    processed = [(await control_post(api, task_id, "advance"))["processed"] for _ in range(4)]

    assert processed == [3, 5, 8, 10]
    assert_completed(await api.status(task_id), 10)


async def test_manual_advance_by_items(make_api):
    api = await make_api(progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(10))

    view = await control_post(api, task_id, "advance", {"items": 3})
    assert view["processed"] == 3
    assert view["status"] == "processing"
    assert await profile_count(api) == 3
    stored = stored_by_email(api)
    assert {email(0), email(1), email(2)} <= set(stored)
    assert email(3) not in stored

    view = await control_post(api, task_id, "advance", {"items": 4})
    assert view["processed"] == 7
    assert (await api.status(task_id))["progress"] == 70


async def test_manual_advance_past_the_end_completes(make_api):
    api = await make_api(progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(4))

    view = await control_post(api, task_id, "advance", {"items": 100})

    assert view["processed"] == 4
    assert view["status"] == "completed"
    assert_completed(await api.status(task_id), 4)


@pytest.mark.parametrize("items", [0, -1, "3", 1.5, True])
async def test_manual_advance_rejects_a_bad_item_count(make_api, items):
    api = await make_api(progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(4))

    answer = await api.control("POST", f"/_mock/tasks/{task_id}/advance", json={"items": items})

    assert answer.status == 400, answer.body
    assert answer.body["error"] == 400
    assert "items" in answer.body.get("error_debug", "")
    assert (await task_view(api, task_id))["processed"] == 0


async def test_manual_complete_finishes(make_api):
    api = await make_api(progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(6))

    view = await control_post(api, task_id, "complete")

    assert view["status"] == "completed"
    assert view["processed"] == 6
    results = assert_completed(await api.status(task_id), 6)
    assert len({entry["profile_id"] for entry in results}) == 6
    assert await profile_count(api) == 6


async def test_manual_complete_after_a_partial_advance_keeps_every_item_once(make_api):
    api = await make_api(progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(6))
    await control_post(api, task_id, "advance", {"items": 2})

    await control_post(api, task_id, "complete")

    results = assert_completed(await api.status(task_id), 6)
    assert len({entry["profile_id"] for entry in results}) == 6
    assert await profile_count(api) == 6


async def test_manual_fail_gives_a_failed_task_with_the_given_error(make_api):
    api = await make_api(progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(4))

    view = await control_post(
        api, task_id, "fail", {"error": 503, "error_text": "Upstream is down"}
    )
    assert view["status"] == "failed"

    data = await api.status(task_id)
    assert data["status"] == "failed"
    assert data["result"] == {"error": 503, "error_text": "Upstream is down", "result": []}


async def test_a_failed_task_stays_failed(make_api):
    api = await make_api(progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(4))
    await control_post(api, task_id, "advance", {"items": 1})
    await control_post(api, task_id, "fail", {"error": 500, "error_text": "Boom"})

    await control_post(api, task_id, "advance")
    await control_post(api, task_id, "complete")
    data = await api.status(task_id)

    assert data["status"] == "failed"
    assert data["result"] == {"error": 500, "error_text": "Boom", "result": []}
    assert (await task_view(api, task_id))["processed"] == 1


async def test_polls_task_can_be_failed_midway(api):
    task_id = await api.import_batch(people(4))
    await api.status(task_id)

    await control_post(api, task_id, "fail", {"error": 429, "error_text": "Too many requests"})

    for _ in range(3):
        data = await api.status(task_id)
        assert data["status"] == "failed"
        assert data["result"] == {"error": 429, "error_text": "Too many requests", "result": []}


async def test_control_on_an_unknown_task_is_404(api):
    for action in ("advance", "complete", "fail"):
        answer = await api.control("POST", f"/_mock/tasks/no-such-task/{action}")
        assert answer.status == 404, (action, answer.body)
    answer = await api.control("GET", "/_mock/tasks/no-such-task")
    assert answer.status == 404


# -- rate (VirtualClock, no sleeps) -----------------------------------------------------


async def rate_api(
    aiohttp_client: Any, rate: float = 10
) -> tuple[ApiClient, Backend, VirtualClock]:
    clock = VirtualClock()
    settings = settings_for_tests(progression=ProgressionMode.RATE, rate=rate)
    state = Backend(settings, clock=clock)
    client = await aiohttp_client(create_app(settings, state))
    return ApiClient(client), state, clock


async def test_rate_follows_the_clock(aiohttp_client):
    api, state, clock = await rate_api(aiohttp_client, rate=10)
    task_id = await api.import_batch(people(20))

    await state.engine.rate_tick()
    assert (await task_view(api, task_id))["processed"] == 0
    assert (await api.status(task_id))["status"] == "queued"

    clock.advance(0.5)
    await state.engine.rate_tick()
    view = await task_view(api, task_id)
    assert view["processed"] == 5
    data = await api.status(task_id)
    assert data == {"status": "processing", "progress": 25, "result": None}
    assert await profile_count(api) == 5

    clock.advance(1.0)
    await state.engine.rate_tick()
    assert (await task_view(api, task_id))["processed"] == 15
    assert (await api.status(task_id))["progress"] == 75

    clock.advance(1.0)
    await state.engine.rate_tick()
    results = assert_completed(await api.status(task_id), 20)
    assert len({entry["profile_id"] for entry in results}) == 20
    assert await profile_count(api) == 20


async def test_rate_polls_do_not_move_the_task(aiohttp_client):
    api, state, clock = await rate_api(aiohttp_client, rate=10)
    task_id = await api.import_batch(people(20))
    clock.advance(0.3)
    await state.engine.rate_tick()

    for _ in range(10):
        await api.status(task_id)

    assert (await task_view(api, task_id))["processed"] == 3


async def test_rate_profiles_appear_as_the_clock_moves(aiohttp_client):
    api, state, clock = await rate_api(aiohttp_client, rate=10)
    task_id = await api.import_batch(people(20))

    clock.advance(0.2)
    await state.engine.rate_tick()
    stored = stored_by_email(api)
    assert {email(0), email(1)} <= set(stored)
    assert email(2) not in stored
    assert (await task_view(api, task_id))["processed"] == 2


async def test_rate_task_can_still_be_completed_by_the_control_api(aiohttp_client):
    api, state, clock = await rate_api(aiohttp_client, rate=10)
    task_id = await api.import_batch(people(20))
    clock.advance(0.4)
    await state.engine.rate_tick()

    await control_post(api, task_id, "complete")
    clock.advance(5)
    await state.engine.rate_tick()

    results = assert_completed(await api.status(task_id), 20)
    assert len({entry["profile_id"] for entry in results}) == 20
    assert await profile_count(api) == 20


async def submit(state: Backend, items: list[dict[str, Any]]) -> Task:
    """A batch task of the shipped fixture's account, straight through the engine."""
    account = state.accounts.for_token("abcdefghijklmnqrstuvwxyz")
    workflow = state.accounts.active_workflow(account, 2)
    return await state.engine.submit(
        NewTask(
            account=account,
            workflow_id=workflow.id,
            db_id=workflow.db_id,
            options=parse_import_options({"matching": "email", "data": items}),
            items=items,
            source="workflows/import_and_start_batch_task",
            progression=state.progressions.for_workflow(workflow),
        )
    )


async def test_rate_resumes_from_the_store_where_it_stopped(tmp_path):
    db = str(tmp_path / "store.json")
    settings = settings_for_tests(progression=ProgressionMode.RATE, rate=10, db=db)
    clock = VirtualClock()
    state = Backend(settings, clock=clock)
    task = await submit(state, people(20))
    clock.advance(0.6)
    await state.engine.rate_tick()
    await state.store.flush()
    state.store.close()

    reopened_clock = VirtualClock()
    reopened = Backend(settings, clock=reopened_clock)
    assert reopened.engine.get(task.task_id).processed == 6
    assert reopened.store.count_profiles() == 6
    await reopened.engine.rate_tick()
    assert reopened.engine.get(task.task_id).processed == 6  # no jump on resume
    reopened_clock.advance(1.0)
    await reopened.engine.rate_tick()
    assert reopened.engine.get(task.task_id).processed == 16
    reopened_clock.advance(1.0)
    await reopened.engine.rate_tick()
    resumed = reopened.engine.get(task.task_id)
    assert resumed.finished
    assert len({r["profile_id"] for r in resumed.result_entries()}) == 20
    assert reopened.store.count_profiles() == 20
    await reopened.store.flush()
    reopened.store.close()


# -- per workflow (fixture) ----------------------------------------------------------


async def fixture_api(make_api: Any, **settings: Any) -> ApiClient:
    return await make_api(token=FIXTURE_TOKEN, fixtures=(str(FIXTURE),), **settings)


async def test_workflow_manual_progression_overrides_the_server_default(make_api):
    api = await fixture_api(make_api)  # server default: polls
    task_id = await api.import_batch(people(4), workflow_id=MANUAL_WORKFLOW)

    for _ in range(5):
        assert (await api.status(task_id))["status"] == "queued"
    assert (await task_view(api, task_id))["progression"]["mode"] == "manual"

    await control_post(api, task_id, "advance")
    assert (await api.status(task_id))["progress"] == 50
    await control_post(api, task_id, "complete")
    assert_completed(await api.status(task_id), 4)


async def test_workflow_steps_override(make_api):
    api = await fixture_api(make_api)
    task_id = await api.import_batch(people(4), workflow_id=FOUR_POLLS_WORKFLOW)

    progress = [(await api.status(task_id))["progress"] for _ in range(4)]

    assert progress == [25, 50, 75, 100]
    view = await task_view(api, task_id)
    assert view["progression"]["mode"] == "polls"
    assert view["progression"]["steps"] == 4


async def test_workflow_instant_overrides_a_manual_server(make_api):
    api = await fixture_api(make_api, progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(3), workflow_id=INSTANT_WORKFLOW)

    assert await profile_count(api) == 3
    assert_completed(await api.status(task_id), 3)


async def test_workflow_without_progression_follows_the_server(make_api):
    api = await fixture_api(make_api, progression=ProgressionMode.MANUAL)
    task_id = await api.import_batch(people(3), workflow_id=DEFAULT_WORKFLOW)

    for _ in range(3):
        assert (await api.status(task_id))["status"] == "queued"

    api = await fixture_api(make_api)
    task_id = await api.import_batch(people(2), workflow_id=DEFAULT_WORKFLOW)
    assert (await api.status(task_id))["progress"] == 50
    assert_completed(await api.status(task_id), 2)


async def test_workflows_of_one_server_progress_independently(make_api):
    api = await fixture_api(make_api)
    manual = await api.import_batch(people(2), workflow_id=MANUAL_WORKFLOW)
    polled = await api.import_batch(people(2, start=10), workflow_id=DEFAULT_WORKFLOW)

    await api.status(polled)
    await api.status(polled)
    await api.status(manual)

    assert (await task_view(api, polled))["status"] == "completed"
    assert (await task_view(api, manual))["status"] == "queued"


# -- configured status names ---------------------------------------------------------


async def test_configured_status_names_are_answered(make_api):
    api = await make_api(
        status_names={
            "queued": "waiting",
            "processing": "running",
            "completed": "success",
            "failed": "error",
        }
    )
    task_id = await api.import_batch(people(2))

    assert (await api.status(task_id))["status"] == "running"
    assert (await api.status(task_id))["status"] == "success"


async def test_a_rate_tick_lets_other_requests_run_between_small_slices():
    """A tick imports what the clock allows, but yields every RATE_SLICE_ITEMS items:
    a status poll waits for one small slice, not for the whole backlog."""
    clock = VirtualClock()
    state = Backend(settings_for_tests(progression=ProgressionMode.RATE, rate=10_000), clock=clock)
    task = await submit(state, people(1_000))
    clock.advance(1.0)  # the clock allows all 1,000 at once
    seen: list[int] = []

    async def watch() -> None:
        while not task.finished:
            seen.append(task.processed)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    await state.engine.rate_tick()
    await watcher
    assert task.finished
    assert sorted(set(seen)) == list(range(RATE_SLICE_ITEMS, 1_001, RATE_SLICE_ITEMS))


# -- a step interrupted between two slices ----------------------------------------


async def started_step(items: int) -> tuple[Backend, Task, asyncio.Task[Task]]:
    """A manual task of `items` items with a step running through all of them,
    stopped after its first slice."""
    state = Backend(settings_for_tests(progression=ProgressionMode.MANUAL))
    task = await submit(state, people(items))
    step = asyncio.create_task(state.engine.advance(task.task_id, items))
    while task.processed == 0:
        await asyncio.sleep(0)
    assert task.processed == MAX_ITEMS_PER_SLICE and not step.done()
    return state, task, step


async def test_a_reset_between_two_slices_ends_the_running_step():
    state, task, step = await started_step(4 * MAX_ITEMS_PER_SLICE)
    state.reset()
    await step
    assert state.store.count_profiles() == 0
    assert list(state.store.tasks()) == []
    assert state.store.count_engagements() == 0
    assert task.processed == MAX_ITEMS_PER_SLICE  # the step stopped there


async def test_a_failure_between_two_slices_is_not_overwritten_by_the_step():
    state, task, step = await started_step(4 * MAX_ITEMS_PER_SLICE)
    await state.engine.fail(task.task_id, 500, "boom")
    await step
    assert state.engine.get(task.task_id).status is TaskStatus.FAILED
    assert state.store.task(task.task_id)["status"] == "failed"
    assert task.processed < 4 * MAX_ITEMS_PER_SLICE


# -- what a step writes ------------------------------------------------------------


def log_lines(db: Path) -> list[bytes]:
    log = db.with_name(db.name + ".log")
    return log.read_bytes().splitlines() if log.exists() else []


async def manual_state(db: Path) -> Backend:
    return Backend(settings_for_tests(progression=ProgressionMode.MANUAL, db=str(db)))


async def test_a_step_writes_what_it_changed_not_the_whole_request(tmp_path):
    """A task's items are written once; each step writes its own slice of profiles
    and results, so its commit does not grow with the request (a `rate` task
    commits ~50 times a second)."""
    db = tmp_path / "store.json"
    state = await manual_state(db)
    small_step = 10
    for total in (100, 2_000):
        task = await submit(state, people(total, start=total))
        before = len(log_lines(db))
        await state.engine.advance(task.task_id, small_step)
        await state.engine.advance(task.task_id, small_step)
        steps = log_lines(db)[before:]
        assert len(steps) == 2
        sizes = [len(line) for line in steps]
        assert max(sizes) < 10_000, sizes  # ten profiles, their engagement and results
    state.store.close()


async def test_a_resumed_task_keeps_its_items_and_results(tmp_path):
    db = tmp_path / "store.json"
    state = await manual_state(db)
    task = await submit(state, people(30))
    await state.engine.advance(task.task_id, 10)
    first_ids = [entry["profile_id"] for entry in task.result_entries()]
    state.store.close()  # as after a kill: the log is not folded in

    reopened = await manual_state(db)
    resumed = reopened.engine.get(task.task_id)
    assert (resumed.processed, len(resumed.items or [])) == (10, 30)
    await reopened.engine.complete(task.task_id)
    entries = reopened.engine.get(task.task_id).result_entries()
    assert [entry["profile_id"] for entry in entries[:10]] == first_ids
    assert len({entry["profile_id"] for entry in entries}) == 30
    assert reopened.store.task_items(task.task_id) is None  # dropped once the task ended
    reopened.store.close()


# -- a rate tick shares the loop ---------------------------------------------------


async def rate_state(db: Path | None = None, rate: float = 10_000) -> tuple[Backend, VirtualClock]:
    clock = VirtualClock()
    extra = {"db": str(db)} if db is not None else {}
    settings = settings_for_tests(progression=ProgressionMode.RATE, rate=rate, **extra)
    return Backend(settings, clock=clock), clock


async def first_slice_of_a_tick(state: Backend, task: Task) -> asyncio.Task[bool]:
    tick = asyncio.create_task(state.engine.rate_tick())
    while task.processed < RATE_SLICE_ITEMS:
        await asyncio.sleep(0)
    assert not tick.done()
    return tick


async def test_a_flush_between_two_slices_of_a_tick_stores_a_whole_step(tmp_path):
    """Any request may flush the store between two slices of a tick; a kill just
    after must leave the task's progress, results and profiles agreeing, so the
    resumed task neither loses nor repeats an engagement."""
    db = tmp_path / "store.json"
    state, clock = await rate_state(db)
    task = await submit(state, people(3 * RATE_SLICE_ITEMS))
    clock.advance(1.0)
    tick = await first_slice_of_a_tick(state, task)
    await state.store.flush()  # another request's commit
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in (db.name, db.name + ".log"):  # SIGKILL now: what is on disk
        if (tmp_path / name).exists():
            (crashed / name).write_bytes((tmp_path / name).read_bytes())
    await tick
    state.store.close()

    reopened, _ = await rate_state(crashed / db.name)
    resumed = reopened.engine.get(task.task_id)
    assert resumed.processed == len(resumed.results) == RATE_SLICE_ITEMS
    assert reopened.store.count_profiles() == reopened.store.count_engagements()
    await reopened.engine.complete(task.task_id)
    assert reopened.store.count_profiles() == 3 * RATE_SLICE_ITEMS
    assert reopened.store.count_engagements() == 3 * RATE_SLICE_ITEMS
    reopened.store.close()


async def test_advance_during_a_tick_moves_on_from_where_the_tick_left_the_task():
    state, clock = await rate_state(rate=3 * RATE_SLICE_ITEMS)
    task = await submit(state, people(10 * RATE_SLICE_ITEMS))
    clock.advance(1.0)  # the tick is heading for 3 slices
    tick = await first_slice_of_a_tick(state, task)
    await state.engine.advance(task.task_id, 50)
    await tick
    assert task.processed == 3 * RATE_SLICE_ITEMS + 50


@pytest.mark.parametrize("scope", ["all", "account"])
async def test_a_reset_during_a_tick_leaves_nothing_for_the_next(scope):
    state, clock = await rate_state()
    first = await submit(state, people(3 * RATE_SLICE_ITEMS))
    await submit(state, people(3 * RATE_SLICE_ITEMS, start=10_000))
    clock.advance(1.0)
    tick = await first_slice_of_a_tick(state, first)
    state.reset(account=None if scope == "all" else first.account)
    assert await tick is False  # nothing left pending: both tasks are gone
    assert state.store.count_profiles() == 0
    assert await state.engine.rate_tick() is False


class _BreakingImporter:
    """The engine's importer, failing every slice: a bug of the mock's own."""

    def __init__(self, importer: Any) -> None:
        self._importer = importer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._importer, name)

    def apply_slice(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug while importing")


@pytest.mark.parametrize("mode", [ProgressionMode.INSTANT, ProgressionMode.POLLS])
async def test_an_error_of_the_mock_while_importing_fails_the_task(make_api, monkeypatch, mode):
    api = await make_api(progression=mode)
    engine = api.state.engine
    monkeypatch.setattr(engine, "_importer", _BreakingImporter(engine._importer))

    answer = await api.call(BATCH_TASK, {"workflow_id": 2, "data": [person(1)]})
    if mode is ProgressionMode.POLLS:  # answered before any item; the first poll fails
        assert answer.body["error"] == 0
        polled = await api.call(STATUS, {"task_id": answer.body["task_id"]})
        assert polled.body["error"] == 500
    else:
        assert answer.body["error"] == 500

    listed = (await tasks(api))["tasks"]
    assert [(entry["status"], entry["failure"]) for entry in listed] == [
        ("failed", {"error": 500, "error_text": "Internal server error"})
    ]
    assert (await health_counts(api))["active_tasks"] == 0
