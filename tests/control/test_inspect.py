"""State inspection (SPEC §6, issue 3 item 2): profiles, engagements, tasks.

`GET /_mock/profiles` filters by account (or token), db_id, email, phone,
profile_id and custom fields (`field.NAME=value`) and pages with
limit/offset; `GET /_mock/engagements` shows who was engaged in which
workflow with the content, custom_data, attachment summaries and
skip_triggers of the import; `GET /_mock/tasks[/{id}]` shows tasks with their
progress, item results and the journal id of the call that created them.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.helpers import (
    BATCH_TASK,
    ISO_TIME,
    ApiClient,
    engagements,
    entries,
    envelope,
    ok,
    person,
    profiles,
    refused,
    task,
    tasks,
    without,
    write_fixture,
)

NORTH, SOUTH = "north-token-0000000000001", "south-token-0000000000002"
CREATED = "2025-01-01T00:00:00.000000Z"
P1, P2, P3, P4, P5 = (f"{n:024x}" for n in range(1, 6))

SEED: dict[str, Any] = {
    "accounts": [
        {
            "name": "north",
            "tokens": [NORTH],
            "databases": [
                {"db_id": 1, "name": "People", "fields": {"CRM_ID": "string", "Tags": "tags"}},
                {"db_id": 2, "name": "Partners"},
            ],
            "resources": [{"resource_id": 1, "db_id": 1, "channels": ["email"]}],
            "workflows": [{"id": 2, "db_id": 1}, {"id": 5, "db_id": 1}],
            "profiles": [
                {
                    "db_id": 1,
                    "id": P1,
                    "data": {
                        "email": "ann@example.com",
                        "phones": ["+79000000001"],
                        "CRM_ID": "42",
                        "Tags": ["vip", "early"],
                        "_createtime": CREATED,
                    },
                },
                {
                    "db_id": 1,
                    "id": P2,
                    "data": {
                        "email": "bob@example.com",
                        "phones": ["+79000000002", "+79000000003"],
                        "CRM_ID": "43",
                        "Tags": ["early"],
                        "_createtime": CREATED,
                    },
                },
                {
                    "db_id": 2,
                    "id": P3,
                    "data": {"email": "ann@example.com", "CRM_ID": "42", "_createtime": CREATED},
                },
            ],
        },
        {
            "name": "south",
            "tokens": [SOUTH],
            "databases": [{"db_id": 1, "name": "People", "fields": {"CRM_ID": "string"}}],
            "workflows": [{"id": 2, "db_id": 1}],
            "profiles": [
                {
                    "db_id": 1,
                    "id": P4,
                    "data": {"email": "ann@example.com", "CRM_ID": "42", "_createtime": CREATED},
                },
                {
                    "db_id": 1,
                    "id": P5,
                    "data": {"email": "cy@example.com", "CRM_ID": "7", "_createtime": CREATED},
                },
            ],
        },
    ]
}


def stored(profile_id: str, account: str, db_id: int, **data: Any) -> dict[str, Any]:
    return {
        "id": profile_id,
        "account": account,
        "db_id": db_id,
        "data": {**data, "_createtime": CREATED},
        "subscriptions": [],
    }


ANN = stored(
    P1,
    "north",
    1,
    email="ann@example.com",
    phones=["+79000000001"],
    CRM_ID="42",
    Tags=["vip", "early"],
)
BOB = stored(
    P2,
    "north",
    1,
    email="bob@example.com",
    phones=["+79000000002", "+79000000003"],
    CRM_ID="43",
    Tags=["early"],
)
ANN_PARTNER = stored(P3, "north", 2, email="ann@example.com", CRM_ID="42")
ANN_SOUTH = stored(P4, "south", 1, email="ann@example.com", CRM_ID="42")
CY = stored(P5, "south", 1, email="cy@example.com", CRM_ID="7")
EVERYONE = [ANN, BOB, ANN_PARTNER, ANN_SOUTH, CY]


@pytest.fixture
async def seeded(make_api, tmp_path) -> ApiClient:
    """A server with the SEED fixture; vendor calls as north, instant tasks."""
    return await make_api(
        fixtures=(write_fixture(tmp_path, SEED),), token=NORTH, progression="instant"
    )


def ids(found: dict[str, Any]) -> list[str]:
    return sorted(profile["id"] for profile in found["profiles"])


# -- profiles ------------------------------------------------------------------------------


async def test_profiles_lists_every_stored_profile_with_a_total(seeded):
    found = await profiles(seeded)
    assert found["total"] == 5
    assert sorted(found["profiles"], key=lambda p: p["id"]) == EVERYONE


async def test_profiles_filter_by_account(seeded):
    assert await profiles(seeded, account="south") == {"profiles": [ANN_SOUTH, CY], "total": 2}


async def test_profiles_filter_by_token_means_that_tokens_account(seeded):
    assert await profiles(seeded, token=SOUTH) == {"profiles": [ANN_SOUTH, CY], "total": 2}


async def test_profiles_filter_by_unknown_token_finds_nothing(seeded):
    assert await profiles(seeded, token="nobody-token") == {"profiles": [], "total": 0}


async def test_profiles_filter_by_db_id(seeded):
    assert await profiles(seeded, account="north", db_id=2) == {
        "profiles": [ANN_PARTNER],
        "total": 1,
    }


async def test_profiles_filter_by_email_ignores_case(seeded):
    found = await profiles(seeded, email="ANN@Example.COM")
    assert ids(found) == [P1, P3, P4]
    assert found["total"] == 3


async def test_profiles_filter_by_phone_compares_digits(seeded):
    assert await profiles(seeded, phone="+7 (900) 000-00-03") == {"profiles": [BOB], "total": 1}


async def test_profiles_filter_by_profile_id(seeded):
    assert await profiles(seeded, profile_id=P4) == {"profiles": [ANN_SOUTH], "total": 1}


async def test_profiles_filter_by_custom_field(seeded):
    assert ids(await profiles(seeded, **{"field.CRM_ID": "42"})) == [P1, P3, P4]


async def test_profiles_filter_by_tags_field_matches_one_tag(seeded):
    assert await profiles(seeded, **{"field.Tags": "vip"}) == {"profiles": [ANN], "total": 1}


async def test_profiles_filters_combine(seeded):
    found = await profiles(seeded, account="north", db_id=1, **{"field.CRM_ID": "42"})
    assert found == {"profiles": [ANN], "total": 1}


async def test_profiles_filter_matching_nothing_is_an_empty_list(seeded):
    assert await profiles(seeded, email="nobody@example.com") == {"profiles": [], "total": 0}


async def test_profiles_page_with_limit_and_offset(seeded):
    everything = (await profiles(seeded))["profiles"]
    pages = [await profiles(seeded, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [page["total"] for page in pages] == [5, 5, 5]
    assert [len(page["profiles"]) for page in pages] == [2, 2, 1]
    assert [p for page in pages for p in page["profiles"]] == everything


async def test_profiles_offset_past_the_end_is_an_empty_page(seeded):
    assert await profiles(seeded, offset=10) == {"profiles": [], "total": 5}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"limit": "many"}, "limit"),
        ({"db_id": "one"}, "db_id"),
    ],
)
async def test_profiles_bad_query_is_refused_with_http_400_naming_the_parameter(
    seeded, query, field
):
    refusal = await refused(seeded, "GET", "/_mock/profiles", 400, params=query)
    assert (refusal["error_text"], refusal["error_debug"].split(":")[0]) == (
        "Invalid request",
        field,
    )


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/_mock/profiles", {"emial": "ann@example.com"}, "emial"),
        ("/_mock/profiles", {"CRM_ID": "42"}, "CRM_ID"),  # a custom field is `field.CRM_ID`
        ("/_mock/engagements", {"workflow": "2"}, "workflow"),
        ("/_mock/requests", {"methods": "tasks/status"}, "methods"),
    ],
)
async def test_a_filter_with_an_unknown_name_is_refused_not_ignored(seeded, path, query, field):
    """A typo would otherwise filter nothing: every profile, every entry."""
    refusal = await refused(seeded, "GET", path, 400, params=query)
    debug = refusal["error_debug"]
    assert debug.startswith(f"{field}: not a query parameter of GET {path} (it takes "), debug
    assert "limit" in debug


async def test_an_unknown_filter_named_by_a_token_or_at_length_is_not_echoed(seeded):
    token = NORTH
    refusal = await refused(seeded, "GET", "/_mock/profiles", 400, params={token: "1"})
    assert token not in refusal["error_debug"] and refusal["error_debug"].startswith(token[:4])
    refusal = await refused(seeded, "GET", "/_mock/profiles", 400, params={"x" * 5000: "1"})
    assert len(refusal["error_debug"]) < 400, refusal


async def test_a_cache_buster_is_taken(seeded):
    assert (await profiles(seeded, _="1712345678"))["total"] == 5


async def test_profile_created_by_an_import_is_shown_as_stored(seeded):
    [result] = await seeded.import_and_finish([person(9, CRM_ID="99")])
    [shown] = (await profiles(seeded, **{"field.CRM_ID": "99"}))["profiles"]
    assert without(shown, "data") == {
        "id": result["profile_id"],
        "account": "north",
        "db_id": 1,
        "subscriptions": [],
    }
    assert without(shown["data"], "_createtime") == {
        "_fname": "Name9",
        "_lname": "Lambert",
        "email": "profile9@example.com",
        "phones": ["+79000000009"],
        "CRM_ID": "99",
    }
    assert ISO_TIME.match(shown["data"]["_createtime"])


# -- engagements ---------------------------------------------------------------------------

ATTACHMENT = {
    "name": "terms.txt",
    "data": base64.b64encode(b"hello").decode(),
    "mimetype": "text/plain",
}


async def import_finished(api: ApiClient, items: list[Any], **fields: Any) -> tuple[str, list]:
    task_id = await api.import_batch(items, **fields)
    view = await task(api, task_id)
    assert view["status"] == "completed", view
    return task_id, view["results"]


def engagement(**fields: Any) -> dict[str, Any]:
    base = {
        "account": "north",
        "workflow_id": 2,
        "created": False,
        "source": BATCH_TASK,
        "content": None,
        "custom_data": None,
        "attach": [],
        "skip_triggers": False,
    }
    return {**base, **fields}


def timeless(found: dict[str, Any]) -> list[dict[str, Any]]:
    for record in found["engagements"]:
        assert ISO_TIME.match(record["time"]), record
    return [without(record, "time") for record in found["engagements"]]


async def test_engagement_records_content_custom_data_attachments_and_skip_triggers(seeded):
    task_id, [result] = await import_finished(
        seeded,
        [person(1)],
        content={"promo": "SPRING"},
        custom_data={"order": 17},
        attach=[ATTACHMENT],
        skip_triggers=True,
    )
    assert timeless(await engagements(seeded, workflow_id=2)) == [
        engagement(
            profile_id=result["profile_id"],
            created=True,
            task_id=task_id,
            content={"promo": "SPRING"},
            custom_data={"order": 17},
            attach=[{"name": "terms.txt", "file_key": None, "mimetype": "text/plain", "size": 5}],
            skip_triggers=True,
        )
    ]


async def test_engagement_keeps_an_items_own_content_and_custom_data(seeded):
    own = {**person(1), "content": {"promo": "OWN"}, "custom_data": {"order": 1}}
    _, results = await import_finished(
        seeded, [own, person(2)], content={"promo": "ALL"}, custom_data={"order": 0}
    )
    found = timeless(await engagements(seeded, workflow_id=2))
    assert [(e["profile_id"], e["content"], e["custom_data"]) for e in found] == [
        (results[0]["profile_id"], {"promo": "OWN"}, {"order": 1}),
        (results[1]["profile_id"], {"promo": "ALL"}, {"order": 0}),
    ]


async def test_engagement_of_an_existing_profile_is_not_created(seeded):
    task_id, [result] = await import_finished(seeded, [{"data": {"email": "ann@example.com"}}])
    assert result == {"profile_id": P1}
    assert timeless(await engagements(seeded, workflow_id=2)) == [
        engagement(profile_id=P1, created=False, task_id=task_id)
    ]


async def test_failed_items_are_not_engaged(seeded):
    _, results = await import_finished(seeded, [person(1), {"data": {"_fname": "No key"}}])
    assert "error" in results[1]
    found = await engagements(seeded, workflow_id=2)
    assert [e["profile_id"] for e in found["engagements"]] == [results[0]["profile_id"]]


async def engaged_twice(api: ApiClient) -> dict[str, Any]:
    """north: workflow 2 (ann), workflow 5 (bob); south: workflow 2 (cy)."""
    first, _ = await import_finished(api, [{"data": {"email": "ann@example.com"}}])
    second, _ = await import_finished(api, [{"data": {"email": "bob@example.com"}}], workflow_id=5)
    third, _ = await import_finished(
        ApiClient(api.http, SOUTH), [{"data": {"email": "cy@example.com"}}]
    )
    return {"first": first, "second": second, "third": third}


async def test_engagements_filter_by_workflow_id(seeded):
    await engaged_twice(seeded)
    found = await engagements(seeded, workflow_id=5)
    assert ([e["profile_id"] for e in found["engagements"]], found["total"]) == ([P2], 1)


async def test_engagements_without_a_workflow_id_lists_all(seeded):
    await engaged_twice(seeded)
    found = await engagements(seeded)
    assert ([e["profile_id"] for e in found["engagements"]], found["total"]) == ([P1, P2, P5], 3)


async def test_engagements_filter_by_account(seeded):
    await engaged_twice(seeded)
    found = await engagements(seeded, workflow_id=2, account="south")
    assert [e["profile_id"] for e in found["engagements"]] == [P5]


async def test_engagements_filter_by_token(seeded):
    await engaged_twice(seeded)
    found = await engagements(seeded, token=SOUTH)
    assert [e["profile_id"] for e in found["engagements"]] == [P5]


async def test_engagements_filter_by_profile_id(seeded):
    await engaged_twice(seeded)
    found = await engagements(seeded, profile_id=P2)
    assert [(e["profile_id"], e["workflow_id"]) for e in found["engagements"]] == [(P2, 5)]


async def test_engagements_filter_by_task_id(seeded):
    made = await engaged_twice(seeded)
    found = await engagements(seeded, task_id=made["third"])
    assert [(e["profile_id"], e["task_id"]) for e in found["engagements"]] == [(P5, made["third"])]


async def test_engagements_filter_by_source(seeded):
    await engaged_twice(seeded)
    assert (await engagements(seeded, source=BATCH_TASK))["total"] == 3
    assert await engagements(seeded, source="profiles/import") == {"engagements": [], "total": 0}


async def test_engagements_page_with_limit_and_offset(seeded):
    await engaged_twice(seeded)
    found = await engagements(seeded, limit=1, offset=1)
    assert ([e["profile_id"] for e in found["engagements"]], found["total"]) == ([P2], 3)


async def test_engagements_bad_workflow_id_is_refused_with_http_400(seeded):
    assert await refused(
        seeded, "GET", "/_mock/engagements", 400, params={"workflow_id": "two"}
    ) == envelope(400, "workflow_id: expected an integer, got 'two'")


# -- tasks ----------------------------------------------------------------------------------


async def test_task_view_has_status_progress_results_and_request_id(make_api, tmp_path):
    api = await make_api(fixtures=(write_fixture(tmp_path, SEED),), token=NORTH)
    task_id = await api.import_batch([{"data": {"email": "ann@example.com"}}, person(1)])
    await api.status(task_id)  # polls, 2 steps: the first poll processes 1 of 2
    [created] = await entries(api, method=BATCH_TASK)
    view = await task(api, task_id)
    assert ISO_TIME.match(view["created"])
    assert without(view, "created") == {
        "task_id": task_id,
        "account": "north",
        "workflow_id": 2,
        "trigger_id": None,
        "db_id": 1,
        "source": BATCH_TASK,
        "status": "processing",
        "progress": 50,
        "processed": 1,
        "total": 2,
        "progression": {"mode": "polls", "steps": 2, "rate": 5000.0},
        "finished_at": None,
        "request_id": created["id"],
        "failure": None,
        "fault_plans": [],
        "results": [{"profile_id": P1}],
    }


async def test_task_view_of_a_finished_task_has_every_result(seeded):
    task_id = await seeded.import_batch([{"data": {"email": "bob@example.com"}}, person(1)])
    view = await task(seeded, task_id)
    assert (view["status"], view["progress"], view["processed"]) == ("completed", 100, 2)
    assert ISO_TIME.match(view["finished_at"])
    assert view["results"][0] == {"profile_id": P2}
    assert len(view["results"]) == 2


async def test_reading_a_task_view_never_moves_the_task(make_api):
    api = await make_api()
    task_id = await api.import_batch([person(1), person(2)])
    for _ in range(3):
        assert (await task(api, task_id))["status"] == "queued"


async def test_tasks_lists_every_task_without_results(seeded):
    first = await seeded.import_batch([person(1)])
    second = await ApiClient(seeded.http, SOUTH).import_batch([person(2)])
    found = await tasks(seeded)
    assert found["total"] == 2
    assert [(t["task_id"], t["account"], t["status"]) for t in found["tasks"]] == [
        (first, "north", "completed"),
        (second, "south", "completed"),
    ]
    assert all("results" not in t for t in found["tasks"])
    assert found["tasks"][0] == without(await task(seeded, first), "results")


async def test_tasks_on_a_fresh_server_is_empty(api):
    assert await tasks(api) == {"tasks": [], "total": 0}


async def test_unknown_task_is_http_404_in_the_envelope(api):
    assert await refused(api, "GET", "/_mock/tasks/no-such-task", 404) == envelope(
        404, "task_id: no task 'no-such-task'", "Task not found"
    )


@pytest.mark.parametrize("action", ["advance", "complete", "fail"])
async def test_controlling_an_unknown_task_is_http_404(api, action):
    assert await refused(api, "POST", f"/_mock/tasks/no-such-task/{action}", 404) == envelope(
        404, "task_id: no task 'no-such-task'", "Task not found"
    )


async def test_unknown_control_path_is_http_404_in_the_envelope(api):
    answer = await refused(api, "GET", "/_mock/no-such-thing", 404)
    assert answer["error_text"] == "Method not found"


async def test_engaged_profile_is_the_one_the_task_result_names(seeded):
    task_id, [result] = await import_finished(seeded, [person(3)])
    [record] = (await engagements(seeded, task_id=task_id))["engagements"]
    [profile] = (await profiles(seeded, profile_id=result["profile_id"]))["profiles"]
    assert (record["profile_id"], profile["data"]["email"]) == (
        result["profile_id"],
        "profile3@example.com",
    )


async def test_control_answers_are_json_with_real_statuses(api):
    answer = await api.control("GET", "/_mock/profiles")
    assert (answer.status, answer.headers["Content-Type"]) == (200, "application/json")
    assert await ok(api, "GET", "/_mock/engagements", "control/engagements.response") == {
        "engagements": [],
        "total": 0,
    }


@pytest.mark.parametrize(
    ("http_method", "path", "allowed"),
    [
        ("POST", "/_mock/health", "GET"),
        ("DELETE", "/_mock/profiles", "GET"),
        ("PUT", "/_mock/reset", "POST"),
        ("PATCH", "/_mock/faults", "DELETE or GET or POST"),
    ],
)
async def test_another_method_on_a_control_path_is_a_405_envelope(api, http_method, path, allowed):
    answer = await api.control(http_method, path, json={})
    assert answer.status == 405
    assert answer.body == {
        "error": 405,
        "error_text": "Method not allowed",
        "error_debug": f"method: {http_method} is not allowed on {path}, use {allowed}",
    }
