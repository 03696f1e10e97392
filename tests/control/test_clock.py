"""The clock a test can move (issue 17 item 2): `--clock virtual`, `GET/POST /_mock/clock`.

Time stands still until the control API moves it; every timestamp the mock
writes comes from it, and `rate` tasks progress by it exactly, the work done
before `POST /_mock/clock` answers. The real clock cannot be moved.
"""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.errors import CONFLICT_TEXT
from tests.helpers import (
    ApiClient,
    ApiClientFactory,
    engagements,
    entries,
    envelope,
    ok,
    person,
    profiles,
    refused,
    reset,
    task,
)

START = "2026-01-01T00:00:00.000000Z"


async def clock(api: ApiClient) -> dict[str, Any]:
    return await ok(api, "GET", "/_mock/clock", "control/clock.response")


async def move(api: ApiClient, **body: Any) -> dict[str, Any]:
    return await ok(api, "POST", "/_mock/clock", "control/clock.response", json=body)


async def virtual(make_api: ApiClientFactory, **settings: Any) -> ApiClient:
    return await make_api(clock="virtual", **settings)


async def test_a_virtual_clock_starts_at_a_fixed_instant_and_stands_still(make_api):
    api = await virtual(make_api)
    assert await clock(api) == {"mode": "virtual", "now": START, "start": START}
    await api.import_and_finish([person(1)])
    assert (await clock(api))["now"] == START


async def test_clock_start_moves_where_it_starts(make_api):
    api = await virtual(make_api, clock_start="2030-05-01T12:00:00+02:00")
    start = "2030-05-01T10:00:00.000000Z"
    assert await clock(api) == {"mode": "virtual", "now": start, "start": start}


@pytest.mark.parametrize(
    ("advance", "now"),
    [
        ("90s", "2026-01-01T00:01:30.000000Z"),
        ("1.5s", "2026-01-01T00:00:01.500000Z"),
        ("250ms", "2026-01-01T00:00:00.250000Z"),
        ("2m", "2026-01-01T00:02:00.000000Z"),
        ("1h", "2026-01-01T01:00:00.000000Z"),
        ("1h30m", "2026-01-01T01:30:00.000000Z"),
        ("1d", "2026-01-02T00:00:00.000000Z"),
        (2.5, "2026-01-01T00:00:02.500000Z"),
        ("42", "2026-01-01T00:00:42.000000Z"),
        (0, START),
    ],
)
async def test_advance_takes_durations_and_seconds(make_api, advance, now):
    api = await virtual(make_api)
    assert await move(api, advance=advance) == {"mode": "virtual", "now": now, "start": START}
    assert (await clock(api))["now"] == now


async def test_set_moves_to_a_time_and_never_backwards(make_api):
    api = await virtual(make_api)
    assert (await move(api, set="2026-03-01T00:00:00Z"))["now"] == "2026-03-01T00:00:00.000000Z"
    assert (await move(api, set="2026-03-01T00:00:00Z"))["now"] == "2026-03-01T00:00:00.000000Z"
    body = await refused(api, "POST", "/_mock/clock", 400, json={"set": "2026-02-01T00:00:00Z"})
    assert body == envelope(
        400,
        "set: 2026-02-01T00:00:00.000000Z is before the clock's time 2026-03-01T00:00:00.000000Z:"
        " the virtual clock never goes backwards (POST /_mock/reset returns it to its start)",
    )
    assert (await clock(api))["now"] == "2026-03-01T00:00:00.000000Z"


@pytest.mark.parametrize(
    ("body", "debug"),
    [
        (
            {"advance": "-1s"},
            "advance: must be at least 0 (the clock never goes backwards), got '-1s'",
        ),
        ({"advance": -2}, "advance: must be at least 0 (the clock never goes backwards), got -2"),
        (
            {"advance": "soon"},
            "advance: expected a duration such as '90s', '1.5s', '250ms', '2m', '1h' or '1h30m',"
            " got 'soon'",
        ),
        ({"advance": True}, "advance: expected number or string, got boolean true"),
        (
            {"advance": "99999999d"},
            "advance: 8639999913600.0 seconds from 2026-01-01T00:00:00.000000Z is past year 9999",
        ),
        (
            {"set": "tomorrow"},
            "set: expected an ISO time such as 2026-01-01T00:00:00Z, got 'tomorrow'",
        ),
        ({}, "advance, set: give exactly one (how far, or to what time)"),
        ({"advance": 1, "set": START}, "advance, set: give exactly one (how far, or to what time)"),
        ({"advance": 1, "by": 2}, "unknown field(s): by"),
    ],
)
async def test_a_bad_move_is_a_400_naming_the_field_and_moves_nothing(make_api, body, debug):
    api = await virtual(make_api)
    answer = await refused(api, "POST", "/_mock/clock", 400, json=body)
    assert answer == envelope(400, debug)
    assert (await clock(api))["now"] == START


async def test_the_real_clock_cannot_be_moved(api):
    now = await clock(api)
    assert (now["mode"], now["start"]) == ("real", None)
    body = await refused(api, "POST", "/_mock/clock", 409, json={"advance": "1s"})
    assert body == envelope(
        409,
        "advance: the server runs on the real clock (--clock real), which no call can move;"
        " start it with --clock virtual (ALTCRAFT_MOCK_CLOCK=virtual)",
        CONFLICT_TEXT,
    )


async def test_every_timestamp_the_mock_writes_comes_from_the_virtual_clock(make_api):
    api = await virtual(make_api, progression="manual")
    await move(api, set="2026-02-03T04:05:06Z")
    task_id = await api.import_batch([person(1)])
    await move(api, advance="1m")
    await ok(api, "POST", f"/_mock/tasks/{task_id}/complete", "control/task.response")

    view = await task(api, task_id)
    assert (view["created"], view["finished_at"]) == (
        "2026-02-03T04:05:06.000000Z",
        "2026-02-03T04:06:06.000000Z",
    )
    [profile] = (await profiles(api, email=person(1)["data"]["email"]))["profiles"]
    assert profile["data"]["_createtime"] == "2026-02-03T04:06:06.000000Z"
    [engagement] = (await engagements(api, task_id=task_id))["engagements"]
    assert "2026-02-03T04:06:06.000000Z" in engagement.values()
    times = [(entry["time"], entry["duration_ms"]) for entry in await entries(api)]
    assert times == [("2026-02-03T04:05:06.000000Z", 0.0)]


async def test_a_rate_task_progresses_by_the_virtual_clock_exactly(make_api):
    """The issue's example: 10,000 items at 5,000/s are half done after 1 s, done after 2."""
    api = await virtual(make_api, progression="rate", rate=5000)
    task_id = await api.import_batch([person(n) for n in range(10_000)])
    assert (await api.status(task_id)) == {"status": "queued", "progress": 0, "result": None}

    await move(api, advance="1s")
    view = await task(api, task_id)
    assert (view["status"], view["processed"]) == ("processing", 5000)
    assert await api.status(task_id) == {"status": "processing", "progress": 50, "result": None}

    await move(api, advance="1s")
    data = await api.status(task_id)
    assert (data["status"], data["progress"], len(data["result"]["result"])) == (
        "completed",
        100,
        10_000,
    )


async def test_small_advances_add_up_exactly(make_api):
    api = await virtual(make_api, progression="rate", rate=5000)
    task_id = await api.import_batch([person(n) for n in range(2000)])
    for _ in range(3):
        await move(api, advance=0.1)
    assert (await task(api, task_id))["processed"] == 1500
    await move(api, advance="100ms")
    assert (await task(api, task_id))["status"] == "completed"


async def test_a_reset_rewinds_the_virtual_clock_and_a_data_reset_does_not(make_api):
    api = await virtual(make_api)
    await move(api, advance="1h")
    await reset(api, scopes=["data"])
    assert (await clock(api))["now"] == "2026-01-01T01:00:00.000000Z"
    await reset(api)
    assert (await clock(api))["now"] == START


async def test_a_clock_reset_lets_a_rate_task_go_on_from_where_it_is(make_api):
    api = await virtual(make_api, progression="rate", rate=100)
    task_id = await api.import_batch([person(n) for n in range(300)])
    await move(api, advance="1s")
    await reset(api, scopes=["clock"])
    assert (await task(api, task_id))["processed"] == 100
    await move(api, advance="1s")
    assert (await task(api, task_id))["processed"] == 200


async def test_health_shows_the_clock(make_api):
    api = await virtual(make_api)
    await move(api, advance="5s")
    health = await ok(api, "GET", "/_mock/health", "control/health.response")
    assert health["clock"] == {
        "mode": "virtual",
        "now": "2026-01-01T00:00:05.000000Z",
        "start": START,
    }
    assert health["settings"]["clock"] == "virtual"


@pytest.mark.parametrize("advance", ["1e303", "1_000", "٣s", "inf"])
async def test_an_advance_the_clock_cannot_take_is_a_400_naming_it(make_api, advance):
    api = await make_api(clock="virtual")
    answer = await api.control("POST", "/_mock/clock", json={"advance": advance})
    assert answer.status == 400, answer.body
    assert answer.body["error_debug"].startswith("advance: ")
    assert (await api.control("GET", "/_mock/clock")).body["now"] == "2026-01-01T00:00:00.000000Z"
