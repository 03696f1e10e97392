"""Progression at run time (SPEC §5-6, issue 3 item 4).

`PUT /_mock/progression` sets how NEW tasks move: a `default` and
per-workflow entries (run-time workflow entry > fixture workflow entry >
run-time default > server flags); `GET` shows the effective settings; a
task keeps the progression it was created with. `PUT
/_mock/tasks/{id}/progression` changes one task from now on. A reset puts
the server's own default back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ApiClient, envelope, ok, person, refused, reset, task

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PROGRESSION_FIXTURE = str(FIXTURES / "progression.json")
PROGRESSION_TOKEN = "progression-fixture-token"
MANUAL_WORKFLOW = 10  # progression.json: {"mode": "manual"}
PLAIN_WORKFLOW = 13  # progression.json: no progression of its own


def full(mode: str, steps: int = 2, rate: float = 5000.0) -> dict[str, Any]:
    return {"mode": mode, "steps": steps, "rate": rate}


SERVER_DEFAULT = {"default": full("polls"), "workflows": {}}


async def put(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    return await ok(api, "PUT", "/_mock/progression", "control/progression.response", json=body)


async def get(api: ApiClient) -> dict[str, Any]:
    return await ok(api, "GET", "/_mock/progression", "control/progression.response")


async def put_task(api: ApiClient, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
    path = f"/_mock/tasks/{task_id}/progression"
    return await ok(api, "PUT", path, "control/task.response", json=body)


async def statuses(api: ApiClient, task_id: str, polls: int) -> list[tuple[str, int]]:
    """`tasks/status` polled `polls` times: (status, progress) each time."""
    seen = []
    for _ in range(polls):
        data = await api.status(task_id)
        seen.append((data["status"], data["progress"]))
    return seen


TWO_POLLS = [("processing", 50), ("completed", 100)]
STAYS_QUEUED = [("queued", 0), ("queued", 0), ("queued", 0)]


# -- GET ----------------------------------------------------------------------------------


async def test_get_shows_the_servers_own_default(api):
    assert await get(api) == SERVER_DEFAULT


async def test_get_shows_the_flags_the_server_started_with(make_api):
    api = await make_api(progression="rate", steps=3, rate=250)
    assert await get(api) == {"default": full("rate", 3, 250.0), "workflows": {}}


# -- PUT /_mock/progression -----------------------------------------------------------------


async def test_put_answers_with_the_effective_progression(api):
    body = {"default": {"mode": "manual"}, "workflows": {"2": {"mode": "polls", "steps": 3}}}
    expected = {"default": full("manual"), "workflows": {"2": full("polls", 3)}}
    assert await put(api, body) == expected
    assert await get(api) == expected


async def test_workflow_entry_takes_unset_parameters_from_the_default(api):
    body = {"default": {"mode": "polls", "steps": 4}, "workflows": {"1": {"mode": "polls"}}}
    assert (await put(api, body))["workflows"] == {"1": full("polls", 4)}


async def test_put_replaces_the_previous_overrides(api):
    await put(api, {"default": {"mode": "manual"}, "workflows": {"2": {"mode": "instant"}}})
    assert await put(api, {"workflows": {"1": {"mode": "instant"}}}) == {
        "default": full("polls"),
        "workflows": {"1": full("instant")},
    }


async def test_default_applies_to_new_tasks(api):
    await put(api, {"default": {"mode": "manual"}})
    task_id = await api.import_batch([person(1), person(2)])
    assert await statuses(api, task_id, 3) == STAYS_QUEUED
    assert (await task(api, task_id))["progression"] == full("manual")


async def test_default_does_not_change_a_task_created_before(api):
    task_id = await api.import_batch([person(1), person(2)])
    await put(api, {"default": {"mode": "manual"}})
    assert await statuses(api, task_id, 2) == TWO_POLLS


async def test_default_steps_apply_to_new_tasks(api):
    await put(api, {"default": {"mode": "polls", "steps": 4}})
    task_id = await api.import_batch([person(n) for n in range(4)])
    assert await statuses(api, task_id, 4) == [
        ("processing", 25),
        ("processing", 50),
        ("processing", 75),
        ("completed", 100),
    ]


async def test_workflow_entry_applies_to_that_workflow_only(api):
    await put(api, {"workflows": {"2": {"mode": "instant"}}})
    instant = await api.import_batch([person(1), person(2)], workflow_id=2)
    polled = await api.import_batch([person(3), person(4)], workflow_id=1)
    assert ((await task(api, instant))["status"], await statuses(api, polled, 2)) == (
        "completed",
        TWO_POLLS,
    )


async def test_workflow_entry_beats_the_default(api):
    await put(api, {"default": {"mode": "manual"}, "workflows": {"2": {"mode": "instant"}}})
    on_two = await api.import_batch([person(1)], workflow_id=2)
    on_one = await api.import_batch([person(2)], workflow_id=1)
    assert ((await task(api, on_two))["status"], (await task(api, on_one))["status"]) == (
        "completed",
        "queued",
    )


async def test_fixture_workflow_progression_beats_the_runtime_default(make_api):
    api = await make_api(fixtures=(PROGRESSION_FIXTURE,), token=PROGRESSION_TOKEN)
    await put(api, {"default": {"mode": "instant"}})
    manual = await api.import_batch([person(1)], workflow_id=MANUAL_WORKFLOW)
    plain = await api.import_batch([person(2)], workflow_id=PLAIN_WORKFLOW)
    assert ((await task(api, manual))["status"], (await task(api, plain))["status"]) == (
        "queued",
        "completed",
    )


async def test_runtime_workflow_entry_beats_the_fixture_workflow_progression(make_api):
    api = await make_api(fixtures=(PROGRESSION_FIXTURE,), token=PROGRESSION_TOKEN)
    await put(api, {"workflows": {str(MANUAL_WORKFLOW): {"mode": "instant"}}})
    task_id = await api.import_batch([person(1)], workflow_id=MANUAL_WORKFLOW)
    assert (await task(api, task_id))["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "debug"),
    [
        (
            {"default": {"mode": "fast"}},
            'default.mode: unsupported value "fast", expected one of: polls, instant, rate, manual',
        ),
        ({"default": {"steps": 2}}, "default.mode: required field is missing"),
        (
            {"workflows": {"two": {"mode": "manual"}}},
            "workflows: does not match the pattern ^[0-9]{1,18}$",
        ),
        (
            {"default": {"mode": "polls", "steps": 0}},
            "default.steps: 0 is less than the minimum of 1",
        ),
        ({"everything": {"mode": "manual"}}, "unknown field(s): everything"),
    ],
)
async def test_bad_progression_is_http_400_and_changes_nothing(api, body, debug):
    assert await refused(api, "PUT", "/_mock/progression", 400, json=body) == envelope(400, debug)
    assert await get(api) == SERVER_DEFAULT


# -- PUT /_mock/tasks/{id}/progression --------------------------------------------------------


async def test_switching_a_manual_task_to_instant_completes_it(make_api):
    api = await make_api(progression="manual")
    task_id = await api.import_batch([person(1), person(2)])
    view = await put_task(api, task_id, {"mode": "instant"})
    assert (view["status"], view["progress"], view["processed"], view["progression"]) == (
        "completed",
        100,
        2,
        full("instant"),
    )
    assert len(view["results"]) == 2
    assert (await api.status(task_id))["status"] == "completed"


async def test_switching_a_manual_task_to_polls_lets_polling_finish_it(make_api):
    api = await make_api(progression="manual")
    task_id = await api.import_batch([person(1), person(2)])
    assert await statuses(api, task_id, 2) == [("queued", 0), ("queued", 0)]
    view = await put_task(api, task_id, {"mode": "polls"})
    assert (view["status"], view["progression"]) == ("queued", full("polls"))
    assert await statuses(api, task_id, 2) == TWO_POLLS


async def test_switching_a_polls_task_to_manual_stops_polling_moving_it(api):
    task_id = await api.import_batch([person(1), person(2), person(3), person(4)])
    await put_task(api, task_id, {"mode": "manual"})
    assert await statuses(api, task_id, 3) == STAYS_QUEUED


async def test_switching_one_task_leaves_the_others(make_api):
    api = await make_api(progression="manual")
    switched = await api.import_batch([person(1)])
    other = await api.import_batch([person(2)])
    await put_task(api, switched, {"mode": "instant"})
    assert (await task(api, other))["status"] == "queued"


async def test_task_progression_does_not_change_new_tasks(make_api):
    api = await make_api(progression="manual")
    first = await api.import_batch([person(1)])
    await put_task(api, first, {"mode": "instant"})
    assert await get(api) == {"default": full("manual"), "workflows": {}}


async def test_task_progression_of_an_unknown_task_is_http_404(api):
    refusal = await refused(
        api, "PUT", "/_mock/tasks/no-such-task/progression", 404, json={"mode": "instant"}
    )
    assert refusal == envelope(404, "task_id: no task 'no-such-task'", "Task not found")


async def test_bad_task_progression_is_http_400(make_api):
    api = await make_api(progression="manual")
    task_id = await api.import_batch([person(1)])
    path = f"/_mock/tasks/{task_id}/progression"
    assert await refused(api, "PUT", path, 400, json={"mode": "sometimes"}) == envelope(
        400, 'mode: unsupported value "sometimes", expected one of: polls, instant, rate, manual'
    )
    assert (await task(api, task_id))["progression"] == full("manual")


# -- reset ------------------------------------------------------------------------------------


async def test_full_reset_restores_the_servers_default(api):
    await put(api, {"default": {"mode": "manual"}, "workflows": {"2": {"mode": "instant"}}})
    await reset(api)
    assert await get(api) == SERVER_DEFAULT


async def test_progression_scope_restores_the_started_flags(make_api):
    api = await make_api(progression="instant", steps=5)
    await put(api, {"default": {"mode": "manual"}, "workflows": {"1": {"mode": "polls"}}})
    await reset(api, scopes=["progression"])
    assert await get(api) == {"default": full("instant", 5), "workflows": {}}


async def test_new_tasks_follow_the_servers_default_after_reset(api):
    await put(api, {"default": {"mode": "manual"}})
    await reset(api)
    task_id = await api.import_batch([person(1), person(2)])
    assert await statuses(api, task_id, 2) == TWO_POLLS


async def test_data_reset_keeps_the_progression_overrides(api):
    await put(api, {"default": {"mode": "manual"}})
    await reset(api, scopes=["data"])
    assert (await get(api))["default"] == full("manual")
