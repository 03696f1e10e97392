"""`--admin-token` (SPEC §6, issue 3 item 5): the control API behind a Bearer token.

With an admin token set, every `/_mock/` call but `/_mock/health` must send
`Authorization: Bearer <admin>`: none is HTTP 401, a wrong one HTTP 403, both
in the vendor envelope. The vendor API is not affected.
"""

from __future__ import annotations

import pytest

from tests.helpers import STATUS, TOKEN, check_schema, envelope, person

ADMIN = "s3cret-admin-token"
RIGHT = {"Authorization": f"Bearer {ADMIN}"}
REQUIRED = envelope(401, "Authorization: admin token required (Bearer)", "API token required")
WRONG = envelope(403, "Authorization: wrong admin token", "Access denied")

#: (HTTP method, path, JSON body) of every kind of control call.
CONTROL_CALLS = [
    ("GET", "/_mock/requests", None),
    ("DELETE", "/_mock/requests", None),
    ("GET", "/_mock/profiles", None),
    ("GET", "/_mock/engagements", None),
    ("GET", "/_mock/tasks", None),
    ("GET", "/_mock/progression", None),
    ("PUT", "/_mock/progression", {"default": {"mode": "polls"}}),
    ("GET", "/_mock/faults", None),
    ("POST", "/_mock/faults", {"action": "delay", "delay_ms": 0}),
    ("DELETE", "/_mock/faults", None),
    ("POST", "/_mock/reset", {"scopes": ["journal"]}),
    ("POST", "/_mock/fixtures", {"accounts": []}),
    ("GET", "/_mock/openapi.json", None),
]
CALL_IDS = [f"{method} {path}" for method, path, _ in CONTROL_CALLS]


@pytest.fixture
async def guarded(make_api):
    return await make_api(admin_token=ADMIN)


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_CALLS, ids=CALL_IDS)
async def test_control_call_without_a_token_is_http_401(guarded, method, path, body):
    answer = await guarded.control(method, path, json=body)
    assert (answer.status, answer.body) == (401, REQUIRED)


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_CALLS, ids=CALL_IDS)
async def test_control_call_with_a_wrong_token_is_http_403(guarded, method, path, body):
    headers = {"Authorization": "Bearer not-the-admin-token"}
    answer = await guarded.control(method, path, json=body, headers=headers)
    assert (answer.status, answer.body) == (403, WRONG)


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_CALLS, ids=CALL_IDS)
async def test_control_call_with_the_right_token_succeeds(guarded, method, path, body):
    answer = await guarded.control(method, path, json=body, headers=RIGHT)
    assert answer.status in (200, 201), answer.body


async def test_task_control_with_the_right_token_reaches_the_task(guarded):
    task_id = await guarded.import_batch([person(1)])
    answer = await guarded.control("POST", f"/_mock/tasks/{task_id}/complete", headers=RIGHT)
    assert (answer.status, answer.body["status"]) == (200, "completed")


async def test_task_control_without_a_token_does_not_touch_the_task(guarded):
    task_id = await guarded.import_batch([person(1), person(2)])
    answer = await guarded.control("POST", f"/_mock/tasks/{task_id}/complete")
    assert (answer.status, answer.body) == (401, REQUIRED)
    view = await guarded.control("GET", f"/_mock/tasks/{task_id}", headers=RIGHT)
    assert view.body["status"] == "queued"


async def test_reset_without_a_token_resets_nothing(guarded):
    await guarded.import_batch([person(1)])
    answer = await guarded.control("POST", "/_mock/reset")
    assert (answer.status, answer.body) == (401, REQUIRED)
    tasks = await guarded.control("GET", "/_mock/tasks", headers=RIGHT)
    assert tasks.body["total"] == 1


async def test_a_scheme_other_than_bearer_is_http_401(guarded):
    answer = await guarded.control(
        "GET", "/_mock/profiles", headers={"Authorization": f"Basic {ADMIN}"}
    )
    assert (answer.status, answer.body) == (401, REQUIRED)


async def test_bearer_with_no_token_is_http_401(guarded):
    answer = await guarded.control("GET", "/_mock/profiles", headers={"Authorization": "Bearer "})
    assert (answer.status, answer.body) == (401, REQUIRED)


async def test_the_scheme_is_case_insensitive(guarded):
    answer = await guarded.control(
        "GET", "/_mock/profiles", headers={"Authorization": f"bearer {ADMIN}"}
    )
    assert answer.status == 200, answer.body


async def test_the_vendor_token_is_not_an_admin_token(guarded):
    answer = await guarded.control(
        "GET", "/_mock/profiles", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert (answer.status, answer.body) == (403, WRONG)


async def test_an_unknown_control_path_is_guarded_too(guarded):
    answer = await guarded.control("GET", "/_mock/no-such-thing")
    assert (answer.status, answer.body) == (401, REQUIRED)


async def test_health_stays_open(guarded):
    answer = await guarded.control("GET", "/_mock/health")
    assert (answer.status, answer.body["status"]) == (200, "ok")
    check_schema("control/health.response", answer.body)


async def test_health_with_a_wrong_token_stays_open(guarded):
    answer = await guarded.control(
        "GET", "/_mock/health", headers={"Authorization": "Bearer wrong"}
    )
    assert answer.status == 200


async def test_vendor_api_needs_no_admin_token(guarded):
    results = await guarded.import_and_finish([person(1)])
    assert list(results[0]) == ["profile_id"]


async def test_vendor_api_takes_its_own_bearer_token_not_the_admin_one(guarded):
    answer = await guarded.call(
        STATUS,
        {"task_id": "no-such-task"},
        token=False,
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert answer.body == envelope(403, "token: unknown API token", "Access denied")


async def test_vendor_error_statuses_are_unchanged_by_the_admin_token(guarded):
    answer = await guarded.call(STATUS, {"task_id": "no-such-task"})
    assert (answer.status, answer.body["error"]) == (200, 404)


async def test_without_an_admin_token_the_control_api_is_open(api):
    answer = await api.control("GET", "/_mock/profiles")
    assert answer.status == 200
