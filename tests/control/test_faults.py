"""Fault injection (SPEC §6, issue 3 item 5): `/_mock/faults` rules and their effects.

A rule matches vendor requests on method, account, token and workflow_id, lets
`after` matches pass, fires at most `times` times or with a seeded
`probability`, and carries out one action: an error envelope, a delay, HTTP
429, a dropped connection, a malformed or truncated body, a failed task, or
failed items. Every test asserts whole answers; none asserts on wall-clock time.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import orjson
import pytest

from mockserver.config import HttpStatusPolicy
from mockserver.errors import (
    INTERNAL_ERROR_TEXT,
    INVALID_REQUEST_TEXT,
    OK_TEXT,
    SERVICE_UNAVAILABLE_TEXT,
    TASK_NOT_FOUND_TEXT,
    TOKEN_REQUIRED_TEXT,
    TOO_MANY_REQUESTS_TEXT,
)
from tests.helpers import (
    ALPHA,
    BATCH_PATH,
    BATCH_TASK,
    BETA,
    BETA_SECOND,
    STATUS,
    STATUS_PATH,
    TOKEN,
    TWO_ACCOUNTS,
    Answer,
    ApiClient,
    add_fault,
    engagements,
    entries,
    get_fault,
    list_faults,
    ok,
    person,
    profiles,
    refused,
    reset,
    status_call,
    tasks,
)
from tests.helpers import task as task_view

UNAVAILABLE = {"error": 503, "error_text": SERVICE_UNAVAILABLE_TEXT}
RATE_LIMITED = {"error": 429, "error_text": TOO_MANY_REQUESTS_TEXT}
DROPPED = "connection dropped: no answer"
FAULT_NOT_FOUND_TEXT = "Fault not found"


# -- helpers -------------------------------------------------------------------------


async def counters(api: ApiClient, fault_id: str) -> dict[str, int]:
    rule = await get_fault(api, fault_id)
    return {"matched": rule["matched"], "fired": rule["fired"]}


def batch(*items: Any, workflow_id: int = 2) -> dict[str, Any]:
    return {"workflow_id": workflow_id, "matching": "email", "data": list(items or [person(1)])}


async def import_call(api: ApiClient, **fields: Any) -> Answer:
    body = batch(workflow_id=fields.pop("workflow_id", 2))
    return await api.call(BATCH_TASK, {**body, **fields})


def task_not_found() -> dict[str, Any]:
    return {
        "error": 404,
        "error_debug": "task_id: no task 'no-such-task'",
        "error_text": TASK_NOT_FOUND_TEXT,
    }


def fault_not_found(fault_id: str) -> dict[str, Any]:
    return {
        "error": 404,
        "error_debug": f"fault_id: no fault {fault_id!r}",
        "error_text": FAULT_NOT_FOUND_TEXT,
    }


def bad_rule(debug: str) -> dict[str, Any]:
    return {"error": 400, "error_debug": debug, "error_text": INVALID_REQUEST_TEXT}


def succeeded(answer: Answer) -> bool:
    return answer.status == 200 and answer.body["error"] == 0


async def raw_post(api: ApiClient, path: str, body: dict[str, Any]) -> tuple[int, bytes, Any]:
    """POST and read the bytes, whatever they are (no JSON parsing, no contract check)."""
    async with api.http.post(path, json=body) as response:
        return response.status, await response.read(), response.headers


def is_json(payload: bytes) -> bool:
    try:
        json.loads(payload)
    except ValueError:
        return False
    return True


async def two_account_api(make_api: Any) -> tuple[ApiClient, ApiClient]:
    alpha = await make_api(fixtures=(str(TWO_ACCOUNTS),), token=ALPHA)
    return alpha, ApiClient(alpha.http, BETA)


# -- the rule as the control API shows it ------------------------------------------------


async def test_post_answers_201_with_the_whole_rule_and_zero_counters(api):
    rule = await add_fault(api, action="error", error=503, times=1, match={"method": BATCH_TASK})
    assert rule == {
        "id": "fault_1",
        "action": "error",
        "match": {"method": BATCH_TASK},
        "after": 0,
        "times": 1,
        "probability": None,
        "error": 503,
        "error_text": SERVICE_UNAVAILABLE_TEXT,
        "error_debug": None,
        "http_status": None,
        "delay_ms": [0.0, 0.0],
        "retry_after": 1,
        "when": "before",
        "at_progress": 0,
        "pattern": None,
        "matched": 0,
        "fired": 0,
    }


async def test_get_lists_every_rule_with_a_total(api):
    first = await add_fault(api, action="delay", delay_ms=1)
    second = await add_fault(api, action="rate_limit", times=2)
    assert await list_faults(api) == {"faults": [first, second], "total": 2}


async def test_get_lists_nothing_on_a_fresh_server(api):
    assert await list_faults(api) == {"faults": [], "total": 0}


async def test_get_one_rule_by_id(api):
    await add_fault(api, action="delay", delay_ms=1)
    second = await add_fault(api, action="truncate")
    assert await get_fault(api, second["id"]) == second


async def test_get_unknown_rule_is_404_fault_not_found(api):
    body = await refused(api, "GET", "/_mock/faults/fault_9", 404)
    assert body == fault_not_found("fault_9")


async def test_a_rules_token_is_never_shown(api):
    rule = await add_fault(api, action="error", match={"token": TOKEN, "workflow_id": 2})
    assert rule["match"] == {"token": "…", "workflow_id": 2}
    assert TOKEN not in json.dumps(await list_faults(api))


# -- removing rules -----------------------------------------------------------------------


async def test_delete_one_rule_removes_only_that_rule(api):
    first = await add_fault(api, action="error", error=503)
    second = await add_fault(api, action="delay", delay_ms=1)
    answer = await ok(api, "DELETE", f"/_mock/faults/{first['id']}", "control/ok.response")
    assert answer == {"status": "ok"}
    assert await list_faults(api) == {"faults": [second], "total": 1}
    assert succeeded(await import_call(api))


async def test_a_deleted_rule_is_404_for_get_and_delete(api):
    rule = await add_fault(api, action="error", error=503)
    await ok(api, "DELETE", f"/_mock/faults/{rule['id']}", "control/ok.response")
    got = await refused(api, "GET", f"/_mock/faults/{rule['id']}", 404)
    deleted_again = await refused(api, "DELETE", f"/_mock/faults/{rule['id']}", 404)
    assert got == fault_not_found(rule["id"])
    assert deleted_again == fault_not_found(rule["id"])


async def test_delete_all_rules(api):
    await add_fault(api, action="error", error=503)
    await add_fault(api, action="rate_limit")
    answer = await ok(api, "DELETE", "/_mock/faults", "control/ok.response")
    assert answer == {"status": "ok"}
    assert await list_faults(api) == {"faults": [], "total": 0}
    assert succeeded(await import_call(api))


async def test_reset_removes_every_rule(api):
    await add_fault(api, action="error", error=503)
    await ok(api, "POST", "/_mock/reset", "control/ok.response")  # no body: every scope
    assert await list_faults(api) == {"faults": [], "total": 0}
    assert succeeded(await import_call(api))


async def test_reset_without_the_faults_scope_keeps_the_rules(api):
    rule = await add_fault(api, action="error", error=503)
    await reset(api, scopes=["data", "journal"])
    assert await list_faults(api) == {"faults": [rule], "total": 1}
    assert (await import_call(api)).body == UNAVAILABLE


# -- bad rule bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "debug"),
    [
        (
            {"action": "explode"},
            'action: unsupported value "explode", expected one of: error, delay, '
            "rate_limit, drop, malformed, truncate, fail_task, fail_items",
        ),
        ({"match": {"method": BATCH_TASK}}, "action: required field is missing"),
        ({"action": "fail_items"}, "pattern: required field is missing"),
        (
            {"action": "fail_items", "pattern": "(unclosed"},
            "pattern: invalid regular expression: missing ), unterminated subpattern at position 0",
        ),
        ({"action": "error", "probability": 2}, "probability: 2 is greater than the maximum of 1"),
        (
            {"action": "error", "nth": 3, "after": 2},
            "nth: give nth or after, not both (nth is after + 1)",
        ),
        (
            {"action": "error", "match": {"path": "/_mock/health"}},
            "match.path: '/_mock/health' is not a vendor method's path (/api/v1.1/<method>)",
        ),
        (
            {"action": "delay", "delay_ms": [400, 300]},
            "delay_ms: the lower bound 400 ms is above the upper 300 ms",
        ),
        (
            {"action": "error", "nth": 2, "probability": 0.5},
            "nth: fires on the nth match, not with a probability",
        ),
        (
            {"action": "error", "match": {"path": "/api/v1.1/no/such?token=secret-in-a-query"}},
            "match.method: unknown vendor method 'no/such'",
        ),
        (
            {"action": "error", "match": {"method": "tasks/stauts"}},
            "match.method: unknown vendor method 'tasks/stauts' (did you mean 'tasks/status'?)",
        ),
    ],
    ids=[
        "unknown-action",
        "no-action",
        "fail-items-without-pattern",
        "bad-regex",
        "probability-2",
        "nth-and-after",
        "not-a-vendor-path",
        "reversed-delay-range",
        "nth-and-probability",
        "path-of-no-method",
        "unknown-method",
    ],
)
async def test_bad_rule_is_400_naming_the_field(api, rule, debug):
    assert await refused(api, "POST", "/_mock/faults", 400, json=rule) == bad_rule(debug)
    assert await list_faults(api) == {"faults": [], "total": 0}


async def test_rule_body_that_is_not_an_object_is_400(api):
    answer = await refused(api, "POST", "/_mock/faults", 400, json=[{"action": "error"}])
    assert answer == bad_rule("body: expected a JSON object, got array")


# -- error ------------------------------------------------------------------------------------


async def test_error_503_answers_the_envelope_with_the_default_text(api):
    await add_fault(api, action="error", error=503)
    answer = await import_call(api)
    assert (answer.status, answer.body) == (200, UNAVAILABLE)


async def test_error_without_a_code_is_500_internal_server_error(api):
    await add_fault(api, action="error")
    answer = await import_call(api)
    assert (answer.status, answer.body) == (200, {"error": 500, "error_text": INTERNAL_ERROR_TEXT})


async def test_error_with_custom_text_and_debug(api):
    await add_fault(
        api, action="error", error=500, error_text="Database is down", error_debug="db: timeout"
    )
    answer = await import_call(api)
    assert answer.body == {
        "error": 500,
        "error_debug": "db: timeout",
        "error_text": "Database is down",
    }


async def test_error_with_any_code_outside_the_vendor_table(api):
    await add_fault(api, action="error", error=502, error_text="Bad gateway")
    status, payload, _ = await raw_post(api, BATCH_PATH, {"token": TOKEN, **batch()})
    assert (status, orjson.loads(payload)) == (200, {"error": 502, "error_text": "Bad gateway"})


async def test_error_creates_no_task_and_stores_nothing(api):
    await add_fault(api, action="error", error=503)
    await import_call(api)
    assert (await tasks(api))["tasks"] == []
    assert (await profiles(api))["profiles"] == []


async def test_error_is_http_200_under_always_200(make_api):
    api = await make_api(http_status=HttpStatusPolicy.ALWAYS_200)
    await add_fault(api, action="error", error=503)
    answer = await import_call(api)
    assert (answer.status, answer.body) == (200, UNAVAILABLE)


async def test_error_mirrors_the_code_as_http_status_under_mirror(make_api):
    api = await make_api(http_status=HttpStatusPolicy.MIRROR)
    await add_fault(api, action="error", error=503)
    answer = await import_call(api)
    assert (answer.status, answer.body) == (503, UNAVAILABLE)


async def test_error_with_forced_http_status_overrides_always_200(api):
    await add_fault(api, action="error", error=503, http_status=502)
    answer = await import_call(api)
    assert (answer.status, answer.body) == (502, UNAVAILABLE)


async def test_error_with_forced_http_status_overrides_mirror(make_api):
    api = await make_api(http_status=HttpStatusPolicy.MIRROR)
    await add_fault(api, action="error", error=503, http_status=200)
    answer = await import_call(api)
    assert (answer.status, answer.body) == (200, UNAVAILABLE)


async def test_error_fires_before_the_body_is_checked(api):
    """A faulted request with an invalid body gets the fault, not the 400."""
    await add_fault(api, action="error", error=503)
    answer = await api.call(BATCH_TASK, {"workflow_id": "not-an-int"})
    assert answer.body == UNAVAILABLE


async def test_a_request_that_fails_auth_is_not_faulted_and_not_counted(api):
    rule = await add_fault(api, action="error", error=503)
    answer = await api.call(BATCH_TASK, batch(), token=False)
    assert answer.body == {
        "error": 401,
        "error_debug": "token: missing (send it in the body, as Bearer or as ?token=)",
        "error_text": TOKEN_REQUIRED_TEXT,
    }
    assert await counters(api, rule["id"]) == {"matched": 0, "fired": 0}


# -- rate_limit -------------------------------------------------------------------------------


async def test_rate_limit_is_http_429_with_retry_after_under_always_200(api):
    await add_fault(api, action="rate_limit")
    answer = await import_call(api)
    assert (answer.status, answer.body) == (429, RATE_LIMITED)
    assert answer.headers["Retry-After"] == "1"


async def test_rate_limit_is_http_429_under_mirror(make_api):
    api = await make_api(http_status=HttpStatusPolicy.MIRROR)
    await add_fault(api, action="rate_limit", retry_after=30)
    answer = await import_call(api)
    assert (answer.status, answer.body) == (429, RATE_LIMITED)
    assert answer.headers["Retry-After"] == "30"


async def test_rate_limit_retry_after_is_configurable(api):
    await add_fault(api, action="rate_limit", retry_after=7)
    answer = await status_call(api)
    assert (answer.status, answer.body, answer.headers["Retry-After"]) == (429, RATE_LIMITED, "7")


async def test_rate_limit_creates_no_task(api):
    await add_fault(api, action="rate_limit")
    await import_call(api)
    assert (await tasks(api))["tasks"] == []


async def test_an_answer_without_a_fault_has_no_retry_after(api):
    await add_fault(api, action="rate_limit", times=1)
    await import_call(api)
    answer = await import_call(api)
    assert succeeded(answer), answer.body
    assert "Retry-After" not in answer.headers


async def test_spec_words_path_and_nth_fire_on_the_nth_request_to_that_path(api):
    """SPEC §6: rules match on path and request count (`nth`): `match.path` is read
    as its vendor method however it is written, `nth: 2` fires on the second match
    only (after 1, once)."""
    rule = await add_fault(
        api, action="error", error=503, nth=2, match={"path": "/api/v1.1//tasks/%73tatus/?x=1"}
    )
    assert (rule["match"], rule["after"], rule["times"]) == ({"method": "tasks/status"}, 1, 1)
    answers = [(await status_call(api)).body for _ in range(3)]
    assert answers == [task_not_found(), UNAVAILABLE, task_not_found()]
    assert await counters(api, rule["id"]) == {"matched": 3, "fired": 1}


# -- delay ------------------------------------------------------------------------------------


async def test_fixed_delay_then_the_normal_answer(api):
    rule = await add_fault(api, action="delay", delay_ms=2)
    answer = await import_call(api)
    assert succeeded(answer), answer.body
    assert len((await tasks(api))["tasks"]) == 1
    assert await counters(api, rule["id"]) == {"matched": 1, "fired": 1}


async def test_delay_range_then_the_normal_answer(api):
    rule = await add_fault(api, action="delay", delay_ms=[1, 3])
    assert rule["delay_ms"] == [1.0, 3.0]
    for _ in range(3):
        answer = await status_call(api)
        assert answer.body == task_not_found()
    assert await counters(api, rule["id"]) == {"matched": 3, "fired": 3}


# -- drop -------------------------------------------------------------------------------------


async def test_drop_before_gives_the_client_a_connection_error(api):
    await add_fault(api, action="drop")
    with pytest.raises(aiohttp.ClientConnectionError):
        await import_call(api)


async def test_drop_before_stores_nothing(api):
    await add_fault(api, action="drop")
    with pytest.raises(aiohttp.ClientConnectionError):
        await import_call(api)
    assert (await tasks(api))["tasks"] == []
    assert (await profiles(api))["profiles"] == []


async def test_drop_after_processes_the_import_but_sends_no_answer(make_api):
    api = await make_api(progression="instant")
    await add_fault(api, action="drop", when="after")
    with pytest.raises(aiohttp.ClientConnectionError):
        await import_call(api)
    [task] = (await tasks(api))["tasks"]
    assert (task["status"], task["total"]) == ("completed", 1)
    listed = (await profiles(api))["profiles"]
    assert [p["data"]["email"] for p in listed] == ["profile1@example.com"]


async def test_the_server_answers_normally_after_a_dropped_connection(api):
    await add_fault(api, action="drop", times=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await import_call(api)
    assert succeeded(await import_call(api))


async def test_journal_notes_a_dropped_connection(api):
    rule = await add_fault(api, action="drop")
    with pytest.raises(aiohttp.ClientConnectionError):
        await import_call(api)
    [entry] = await entries(api)
    seen = {key: entry[key] for key in ("api_method", "status", "response", "response_note")}
    assert seen == {
        "api_method": BATCH_TASK,
        "status": None,
        "response": None,
        "response_note": DROPPED,
    }
    assert entry["fault"] == {"rules": [{"id": rule["id"], "action": "drop"}]}


# -- malformed --------------------------------------------------------------------------------


async def test_malformed_answers_a_body_that_is_not_json(api):
    await add_fault(api, action="malformed")
    status, payload, headers = await raw_post(api, BATCH_PATH, {"token": TOKEN, **batch()})
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert payload
    assert not is_json(payload)


async def test_malformed_before_creates_no_task(api):
    await add_fault(api, action="malformed")
    await raw_post(api, BATCH_PATH, {"token": TOKEN, **batch()})
    assert (await tasks(api))["tasks"] == []


async def test_malformed_after_processes_the_import(api):
    await add_fault(api, action="malformed", when="after")
    status, payload, _ = await raw_post(api, BATCH_PATH, {"token": TOKEN, **batch()})
    assert (status, is_json(payload)) == (200, False)
    [task] = (await tasks(api))["tasks"]
    assert (task["status"], task["total"]) == ("queued", 1)


async def test_malformed_with_forced_http_status(api):
    await add_fault(api, action="malformed", http_status=502)
    status, payload, _ = await raw_post(api, BATCH_PATH, {"token": TOKEN, **batch()})
    assert (status, is_json(payload)) == (502, False)


async def test_journal_notes_a_malformed_answer(api):
    await add_fault(api, action="malformed")
    await raw_post(api, BATCH_PATH, {"token": TOKEN, **batch()})
    [entry] = await entries(api)
    assert (entry["status"], entry["response_note"]) == (200, "not JSON")


# -- truncate ---------------------------------------------------------------------------------


async def test_truncate_answers_the_first_half_of_the_real_json(api):
    await add_fault(api, action="truncate")
    status, payload, _ = await raw_post(api, BATCH_PATH, {"token": TOKEN, **batch()})
    [task] = (await tasks(api))["tasks"]
    real = orjson.dumps({"error": 0, "error_text": OK_TEXT, "task_id": task["task_id"]})
    assert (status, payload) == (200, real[: len(real) // 2])
    assert not is_json(payload)


async def test_truncate_processes_the_request(make_api):
    api = await make_api(progression="instant")
    await add_fault(api, action="truncate")
    await raw_post(api, BATCH_PATH, {"token": TOKEN, **batch()})
    [task] = (await tasks(api))["tasks"]
    assert task["status"] == "completed"
    listed = (await profiles(api))["profiles"]
    assert [p["data"]["email"] for p in listed] == ["profile1@example.com"]


async def test_truncate_cuts_an_error_answer_too(api):
    """The rule fired (and the journal says so): the answer it spoils is the real one,
    even when the real one is an error envelope."""
    await add_fault(api, action="truncate")
    status, payload, _ = await raw_post(
        api, STATUS_PATH, {"token": TOKEN, "task_id": "no-such-task"}
    )
    real = orjson.dumps(task_not_found())
    assert (status, payload) == (200, real[: len(real) // 2])


# -- fail_task --------------------------------------------------------------------------------


async def test_fail_task_at_progress_0_fails_on_the_first_poll(api):
    await add_fault(api, action="fail_task")
    answer = await import_call(api)
    assert succeeded(answer), answer.body
    data = await api.status(answer.body["task_id"])
    assert data == {
        "status": "failed",
        "progress": 0,
        "result": {"error": 500, "error_text": INTERNAL_ERROR_TEXT, "result": []},
    }


async def test_fail_task_at_progress_0_stores_and_engages_nothing(api):
    await add_fault(api, action="fail_task")
    task_id = await api.import_batch([person(1), person(2)])
    await api.status(task_id)
    assert (await profiles(api))["profiles"] == []
    assert (await engagements(api, workflow_id=2))["engagements"] == []


async def test_fail_task_with_custom_code_and_text(api):
    await add_fault(api, action="fail_task", error=503, error_text="Worker crashed")
    task_id = await api.import_batch([person(1)])
    assert await api.status(task_id) == {
        "status": "failed",
        "progress": 0,
        "result": {"error": 503, "error_text": "Worker crashed", "result": []},
    }


async def test_fail_task_code_alone_takes_the_vendor_text(api):
    await add_fault(api, action="fail_task", error=503)
    task_id = await api.import_batch([person(1)])
    data = await api.status(task_id)
    assert data["result"] == {"error": 503, "error_text": SERVICE_UNAVAILABLE_TEXT, "result": []}


async def test_fail_task_at_50_with_four_polls_processes_then_fails_at_50(make_api):
    api = await make_api(steps=4)
    await add_fault(api, action="fail_task", at_progress=50)
    task_id = await api.import_batch([person(n) for n in range(4)])
    first = await api.status(task_id)
    second = await api.status(task_id)
    assert first == {"status": "processing", "progress": 25, "result": None}
    assert second == {
        "status": "failed",
        "progress": 50,
        "result": {"error": 500, "error_text": INTERNAL_ERROR_TEXT, "result": []},
    }
    stored = sorted(p["data"]["email"] for p in (await profiles(api))["profiles"])
    assert stored == ["profile0@example.com", "profile1@example.com"]


async def test_fail_task_at_50_with_two_polls_fails_on_the_poll_that_reaches_50(api):
    """README: the task "fails when `at_progress` % is processed"; with the default
    two polls the first poll processes half, so it answers failed at 50."""
    await add_fault(api, action="fail_task", at_progress=50)
    task_id = await api.import_batch([person(1), person(2)])
    assert await api.status(task_id) == {
        "status": "failed",
        "progress": 50,
        "result": {"error": 500, "error_text": INTERNAL_ERROR_TEXT, "result": []},
    }


async def test_fail_task_stays_failed_on_later_polls(api):
    await add_fault(api, action="fail_task")
    task_id = await api.import_batch([person(1)])
    first = await api.status(task_id)
    assert await api.status(task_id) == first


async def test_fail_task_in_instant_mode_is_failed_when_first_polled(make_api):
    api = await make_api(progression="instant")
    await add_fault(api, action="fail_task", error=500, error_text="Queue lost")
    task_id = await api.import_batch([person(1)])
    assert (await task_view(api, task_id))["status"] == "failed"
    assert await api.status(task_id) == {
        "status": "failed",
        "progress": 0,
        "result": {"error": 500, "error_text": "Queue lost", "result": []},
    }


async def test_fail_task_only_for_the_faulted_request(api):
    await add_fault(api, action="fail_task", times=1)
    failing = await api.import_batch([person(1)])
    passing = await api.import_batch([person(2)])
    assert (await api.run_to_end(failing))["status"] == "failed"
    assert (await api.run_to_end(passing))["status"] == "completed"


# -- fail_items -------------------------------------------------------------------------------


def bounce(name: str) -> dict[str, Any]:
    return {"data": {"_fname": name, "email": f"{name}@bounce.test"}}


async def test_fail_items_fails_matching_items_in_request_order(api):
    await add_fault(api, action="fail_items", pattern=r"@bounce\.test$")
    items = [person(1), bounce("a"), person(2), bounce("b")]
    results = await api.import_and_finish(items)
    stored = {p["data"]["email"]: p["id"] for p in (await profiles(api))["profiles"]}
    failed = {"error": 400, "error_text": INVALID_REQUEST_TEXT}
    assert results == [
        {"profile_id": stored["profile1@example.com"]},
        failed,
        {"profile_id": stored["profile2@example.com"]},
        failed,
    ]


async def test_fail_items_stores_and_engages_only_the_others(api):
    await add_fault(api, action="fail_items", pattern=r"@bounce\.test$")
    results = await api.import_and_finish([person(1), bounce("a"), person(2), bounce("b")])
    stored = {p["data"]["email"]: p["id"] for p in (await profiles(api))["profiles"]}
    assert stored == {
        "profile1@example.com": results[0]["profile_id"],
        "profile2@example.com": results[2]["profile_id"],
    }
    records = (await engagements(api, workflow_id=2))["engagements"]
    engaged = sorted(e["profile_id"] for e in records)
    assert engaged == sorted([results[0]["profile_id"], results[2]["profile_id"]])


async def test_fail_items_with_custom_code_and_text(api):
    await add_fault(
        api, action="fail_items", pattern="bounce", error=403, error_text="Address blocked"
    )
    results = await api.import_and_finish([bounce("a"), person(1)])
    assert results[0] == {"error": 403, "error_text": "Address blocked"}
    assert sorted(results[1]) == ["profile_id"]


async def test_fail_items_searches_the_item_level_matching_key(api):
    await add_fault(api, action="fail_items", pattern=r"@bounce\.test$")
    item = {"email": "keyed@bounce.test", "data": {"_fname": "Keyed"}}
    results = await api.import_and_finish([item, person(1)])
    assert results[0] == {"error": 400, "error_text": INVALID_REQUEST_TEXT}
    assert sorted(results[1]) == ["profile_id"]


async def test_fail_items_without_a_matching_item_changes_nothing(api):
    await add_fault(api, action="fail_items", pattern=r"@bounce\.test$")
    results = await api.import_and_finish([person(1), person(2)])
    assert [sorted(r) for r in results] == [["profile_id"], ["profile_id"]]


# -- matching: method, account, token, workflow_id -----------------------------------------------


async def test_match_method_faults_only_that_vendor_method(api):
    rule = await add_fault(api, action="error", error=503, match={"method": STATUS})
    task_id = await api.import_batch([person(1)])
    answer = await api.call(STATUS, {"task_id": task_id})
    assert answer.body == UNAVAILABLE
    assert await counters(api, rule["id"]) == {"matched": 1, "fired": 1}


async def test_match_account_faults_only_that_accounts_requests(make_api):
    alpha, beta = await two_account_api(make_api)
    rule = await add_fault(alpha, action="error", error=503, match={"account": "beta"})
    assert succeeded(await import_call(alpha))
    assert (await import_call(beta)).body == UNAVAILABLE
    assert await counters(alpha, rule["id"]) == {"matched": 1, "fired": 1}


async def test_match_token_faults_only_that_token_not_its_whole_account(make_api):
    alpha, beta = await two_account_api(make_api)
    beta_second = ApiClient(alpha.http, BETA_SECOND)
    rule = await add_fault(alpha, action="error", error=503, match={"token": BETA})
    assert (await import_call(beta)).body == UNAVAILABLE
    assert succeeded(await import_call(beta_second))
    assert succeeded(await import_call(alpha))
    assert await counters(alpha, rule["id"]) == {"matched": 1, "fired": 1}


async def test_match_token_given_as_bearer_header(api):
    await add_fault(api, action="error", error=503, match={"token": TOKEN})
    answer = await api.call(
        BATCH_TASK, batch(), token=False, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.body == UNAVAILABLE


async def test_match_workflow_id_faults_only_that_workflows_imports(api):
    rule = await add_fault(api, action="error", error=503, match={"workflow_id": 1})
    assert succeeded(await import_call(api, workflow_id=2))
    assert (await import_call(api, workflow_id=1)).body == UNAVAILABLE
    assert await counters(api, rule["id"]) == {"matched": 1, "fired": 1}


async def test_match_workflow_id_never_matches_a_status_call(api):
    rule = await add_fault(api, action="error", error=503, match={"workflow_id": 2})
    answer = await status_call(api)
    assert answer.body == task_not_found()
    assert await counters(api, rule["id"]) == {"matched": 0, "fired": 0}


async def test_all_match_fields_must_hold(api):
    rule = await add_fault(
        api,
        action="error",
        error=503,
        match={"method": BATCH_TASK, "account": "default", "token": TOKEN, "workflow_id": 233},
    )
    assert succeeded(await import_call(api, workflow_id=2))
    assert (await status_call(api)).body == task_not_found()
    assert (await import_call(api, workflow_id=233)).body == UNAVAILABLE
    assert await counters(api, rule["id"]) == {"matched": 1, "fired": 1}


# -- counting: after, times ---------------------------------------------------------------------


async def test_after_lets_the_first_n_matching_requests_pass(api):
    rule = await add_fault(api, action="error", error=503, after=2)
    bodies = [(await status_call(api)).body for _ in range(4)]
    assert bodies == [task_not_found(), task_not_found(), UNAVAILABLE, UNAVAILABLE]
    assert await counters(api, rule["id"]) == {"matched": 4, "fired": 2}


async def test_times_stops_firing_after_n(api):
    rule = await add_fault(api, action="error", error=503, times=2)
    bodies = [(await status_call(api)).body for _ in range(4)]
    assert bodies == [UNAVAILABLE, UNAVAILABLE, task_not_found(), task_not_found()]
    assert await counters(api, rule["id"]) == {"matched": 4, "fired": 2}


async def test_after_and_times_together_fire_a_window(api):
    rule = await add_fault(api, action="error", error=503, after=1, times=2)
    bodies = [(await status_call(api)).body for _ in range(5)]
    assert bodies == [
        task_not_found(),
        UNAVAILABLE,
        UNAVAILABLE,
        task_not_found(),
        task_not_found(),
    ]
    assert await counters(api, rule["id"]) == {"matched": 5, "fired": 2}


async def test_after_counts_only_matching_requests(api):
    rule = await add_fault(api, action="error", error=503, after=1, match={"method": BATCH_TASK})
    for _ in range(3):
        await status_call(api)
    assert succeeded(await import_call(api))
    assert (await import_call(api)).body == UNAVAILABLE
    assert await counters(api, rule["id"]) == {"matched": 2, "fired": 1}


async def test_every_rule_that_fires_is_counted(api):
    delay = await add_fault(api, action="delay", delay_ms=1)
    error = await add_fault(api, action="error", error=503, times=1)
    assert (await status_call(api)).body == UNAVAILABLE
    assert (await status_call(api)).body == task_not_found()
    assert await counters(api, delay["id"]) == {"matched": 2, "fired": 2}
    assert await counters(api, error["id"]) == {"matched": 2, "fired": 1}


# -- probability (seeded) ------------------------------------------------------------------------


async def fired_indices(api: ApiClient, count: int) -> list[int]:
    fired = []
    for index in range(count):
        answer = await status_call(api)
        assert answer.body in (UNAVAILABLE, task_not_found()), answer.body
        if answer.body == UNAVAILABLE:
            fired.append(index)
    return fired


async def test_same_seed_fires_on_the_same_requests(make_api):
    first = await make_api(seed=42)
    second = await make_api(seed=42)
    runs = []
    for api in (first, second):
        rule = await add_fault(api, action="error", error=503, probability=0.5)
        fired = await fired_indices(api, 30)
        assert await counters(api, rule["id"]) == {"matched": 30, "fired": len(fired)}
        runs.append(fired)
    assert runs[0] == runs[1]
    assert 0 < len(runs[0]) < 30  # a real mix, not all or nothing


async def test_probability_0_never_fires(make_api):
    api = await make_api(seed=42)
    rule = await add_fault(api, action="error", error=503, probability=0)
    assert await fired_indices(api, 20) == []
    assert await counters(api, rule["id"]) == {"matched": 20, "fired": 0}


async def test_probability_1_always_fires(make_api):
    api = await make_api(seed=42)
    rule = await add_fault(api, action="error", error=503, probability=1)
    assert await fired_indices(api, 20) == list(range(20))
    assert await counters(api, rule["id"]) == {"matched": 20, "fired": 20}


# -- the journal ----------------------------------------------------------------------------------


async def test_journal_records_the_fault_applied(api):
    rule = await add_fault(api, action="error", error=503, times=1)
    await import_call(api)
    await import_call(api)
    faulted, clean = await entries(api, method=BATCH_TASK)
    assert {k: faulted[k] for k in ("status", "error", "response", "fault")} == {
        "status": 200,
        "error": 503,
        "response": UNAVAILABLE,
        "fault": {"rules": [{"id": rule["id"], "action": "error"}]},
    }
    assert (clean["error"], clean["fault"]) == (0, None)


async def test_journal_records_every_rule_that_fired_in_order(api):
    delay = await add_fault(api, action="delay", delay_ms=1)
    rate = await add_fault(api, action="rate_limit")
    await import_call(api)
    [entry] = await entries(api)
    assert entry["fault"] == {
        "rules": [
            {"id": delay["id"], "action": "delay"},
            {"id": rate["id"], "action": "rate_limit"},
        ]
    }
    assert (entry["status"], entry["response"]) == (429, RATE_LIMITED)


async def test_journal_records_a_task_fault_on_the_creating_request(api):
    rule = await add_fault(api, action="fail_items", pattern="bounce")
    await import_call(api)
    [entry] = await entries(api)
    assert (entry["error"], entry["fault"]) == (
        0,
        {"rules": [{"id": rule["id"], "action": "fail_items"}]},
    )


# -- a retrying client, tested the way its authors would ----------------------------------------

RETRY_STATUSES = frozenset({429, 503})


async def post_with_retries(
    http: Any, path: str, body: dict[str, Any], *, attempts: int = 3
) -> dict[str, Any]:
    """The client under test: retries 429/503 (HTTP status or envelope code) and lost
    connections, honouring Retry-After, at most `attempts` tries in all."""
    for attempt in range(1, attempts + 1):
        last = attempt == attempts
        try:
            async with http.post(path, json=body) as response:
                answer = await response.json(content_type=None)
                retry_after = float(response.headers.get("Retry-After", 0))
                status = response.status
        except aiohttp.ClientConnectionError:
            if last:
                raise
            continue
        if (status in RETRY_STATUSES or answer.get("error") in RETRY_STATUSES) and not last:
            await asyncio.sleep(retry_after)
            continue
        return answer
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "rate_limit", "retry_after": 0},
        {"action": "error", "error": 503},
        {"action": "drop"},
    ],
    ids=["rate_limit", "error-503", "drop"],
)
async def test_retrying_client_succeeds_on_the_third_try(api, rule):
    fault = await add_fault(api, **rule, times=2, match={"method": BATCH_TASK})
    answer = await post_with_retries(api.http, BATCH_PATH, {"token": TOKEN, **batch()})
    assert answer["error"] == 0, answer
    arrived = await entries(api, method=BATCH_TASK)
    assert [entry["fault"] is not None for entry in arrived] == [True, True, False]
    assert arrived[-1]["response"] == answer
    [task] = (await tasks(api))["tasks"]
    assert task["task_id"] == answer["task_id"]
    assert await counters(api, fault["id"]) == {"matched": 3, "fired": 2}
