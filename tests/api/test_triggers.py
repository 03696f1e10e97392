"""Trigger campaigns (`campaigns/triggers/*`): launched for existing or imported
profiles, on the same import path as workflows, with the same faults, journal
and tasks. Shapes from the vendor's trigger pages; the shipped fixture has the
pages' trigger ids (1, 8, 13, 455, 5511 active, 6 inactive)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import STATUS, ApiClient, add_fault, engagements, entries, ok_body, reset, task

START = "campaigns/triggers/start"
IMPORT_AND_START = "campaigns/triggers/import_and_start"
START_BATCH = "campaigns/triggers/start_batch"
START_BATCH_TASK = "campaigns/triggers/start_batch_task"
IMPORT_BATCH = "campaigns/triggers/import_and_start_batch"
IMPORT_BATCH_TASK = "campaigns/triggers/import_and_start_batch_task"
LIST = "campaigns/triggers/list"


async def existing(api: ApiClient, email: str = "zaycev@example.com") -> str:
    body = {"db_id": 1, "email": email, "data": {"_fname": "Ivan"}}
    return (await ok_body(api, "profiles/import", body))["profile_id"]


async def test_start_launches_the_trigger_for_an_existing_profile(api):
    profile_id = await existing(api)
    # The user guide's example ("launching trigger campaign #1").
    body = {"id": 1, "matching": "email", "email": "zaycev@example.com", "content": {"a": 1}}
    assert (await api.call(START, body)).body == {
        "error": 0,
        "error_text": "Successful operation",
        "profile_id": profile_id,
    }
    [record] = (await engagements(api, trigger_id=1))["engagements"]
    assert record["workflow_id"] is None
    assert (record["trigger_id"], record["profile_id"], record["source"], record["created"]) == (
        1,
        profile_id,
        START,
        False,
    )
    assert record["content"] == {"a": 1}


async def test_start_takes_the_pages_string_id(api):
    await existing(api)
    await ok_body(api, START, {"id": "5511", "email": "zaycev@example.com"})
    assert (await engagements(api, trigger_id=5511))["total"] == 1


async def test_start_never_creates_a_profile(api):
    answer = await api.call(START, {"id": 1, "email": "nobody@example.com"})
    assert (answer.body["error"], answer.body["error_text"]) == (404, "Profile not found")
    assert api.state.store.count_profiles() == 0


@pytest.mark.parametrize(
    ("method", "body"),
    [
        (START, {"id": 6, "email": "zaycev@example.com"}),
        (IMPORT_AND_START, {"trigger_id": 6, "email": "zaycev@example.com", "data": {}}),
        (START_BATCH, {"trigger_id": 6, "data": [{"email": "zaycev@example.com"}]}),
        (START_BATCH_TASK, {"id": 6, "data": [{"email": "zaycev@example.com"}]}),
        (IMPORT_BATCH, {"trigger_id": 6, "data": [{"data": {"email": "zaycev@example.com"}}]}),
        (IMPORT_BATCH_TASK, {"trigger_id": 6, "data": [{"data": {"email": "z@example.com"}}]}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_an_inactive_trigger_is_refused_like_an_inactive_workflow(api, method, body):
    field = "id" if "id" in body else "trigger_id"
    answer = await api.call(method, body)
    assert answer.body == {
        "error": 400,
        "error_debug": f"{field}: trigger campaign 6 is not active",
        "error_text": "Invalid request",
    }
    assert api.state.store.count_profiles() == 0
    assert (await engagements(api))["total"] == 0


@pytest.mark.parametrize(
    ("method", "body"),
    [
        (START, {"id": 404, "email": "zaycev@example.com"}),
        (IMPORT_AND_START, {"trigger_id": 404, "email": "zaycev@example.com", "data": {}}),
        (IMPORT_BATCH_TASK, {"trigger_id": 404, "data": [{"data": {"email": "z@example.com"}}]}),
    ],
    ids=[START, IMPORT_AND_START, IMPORT_BATCH_TASK],
)
async def test_an_unknown_trigger_is_not_found(api, method, body):
    field = "id" if "id" in body else "trigger_id"
    answer = await api.call(method, body)
    assert answer.body == {
        "error": 404,
        "error_debug": f"{field}: no trigger campaign 404 in this account",
        "error_text": "Trigger not found",
    }


@pytest.mark.parametrize(
    ("method", "body", "debug"),
    [
        (START, {"email": "a@example.com"}, "id"),
        (START, {"id": "five", "email": "a@example.com"}, "id"),
        (IMPORT_AND_START, {"email": "a@example.com", "data": {}}, "trigger_id"),
        (IMPORT_AND_START, {"trigger_id": "thirteen", "data": {}}, "trigger_id"),
        (START, {"id": "99999999999999999999999999", "email": "a@example.com"}, "id"),
        (START, {"id": 0, "email": "a@example.com"}, "id"),
        (START, {"id": "-5", "email": "a@example.com"}, "id"),
        (IMPORT_BATCH_TASK, {"trigger_id": -5, "data": [{"data": {}}]}, "trigger_id"),
        (START_BATCH, {"trigger_id": 8, "data": []}, "data"),
        (IMPORT_BATCH_TASK, {"trigger_id": 13}, "data"),
    ],
)
async def test_a_malformed_launch_is_a_400_naming_the_field(api, method, body, debug):
    answer = await api.call(method, body)
    assert (answer.body["error"], answer.body["error_text"]) == (400, "Invalid request")
    assert answer.body["error_debug"].startswith(debug), answer.body


async def test_import_and_start_imports_then_launches(api):
    body = {
        "trigger_id": 13,
        "matching": "email",
        "email": "john@example.com",
        "data": {"_fname": "John", "phones": "79000000000"},
        "timeout": {"days": 0, "hours": 0, "minutes": 5},
        "custom_data": {"sending_time": "12:31:12"},
        "attach": [{"data": "data:text/csv;base64,SEVMTE8K", "name": "Attach.txt"}],
    }
    profile_id = (await ok_body(api, IMPORT_AND_START, body))["profile_id"]
    profile = (await ok_body(api, "profiles/get", {"db_id": 1, "email": "john@example.com"}))[
        "data"
    ]
    assert (profile["id"], profile["_fname"], profile["phones"]) == (
        profile_id,
        "John",
        ["+79000000000"],
    )
    [record] = (await engagements(api, trigger_id=13))["engagements"]
    assert (record["source"], record["created"], record["timeout"]) == (
        IMPORT_AND_START,
        True,
        {"days": 0, "hours": 0, "minutes": 5},
    )
    assert record["attach"] == [
        {"name": "Attach.txt", "file_key": None, "mimetype": "text/csv", "size": 6}
    ]


async def test_import_and_start_batch_answers_per_item(api):
    items = [
        {"data": {"_fname": "John", "email": "profile4@example.com", "phones": "+790000000000"}},
        {"data": {"email": "not-an-email"}},
    ]
    body = await ok_body(api, IMPORT_BATCH, {"trigger_id": 13, "data": items})
    first, second = body["result"]
    assert set(first) == {"profile_id"}
    assert second["error"] == 400
    [record] = (await engagements(api, trigger_id=13))["engagements"]
    assert (record["profile_id"], record["source"]) == (first["profile_id"], IMPORT_BATCH)


async def test_import_and_start_batch_task_runs_as_a_task(api):
    answer = await ok_body(
        api, IMPORT_BATCH_TASK, {"trigger_id": 13, "data": [{"data": {"email": "a@example.com"}}]}
    )
    task_id = answer["task_id"]
    assert (await engagements(api))["total"] == 0  # polls: nothing before the first poll
    data = await api.run_to_end(task_id)
    assert data["status"] == "completed"
    [record] = (await engagements(api, task_id=task_id))["engagements"]
    assert (record["trigger_id"], record["workflow_id"], record["source"]) == (
        13,
        None,
        IMPORT_BATCH_TASK,
    )
    view = await task(api, task_id)
    assert (view["trigger_id"], view["workflow_id"], view["source"]) == (
        13,
        None,
        IMPORT_BATCH_TASK,
    )


async def test_start_batch_launches_for_existing_profiles_only(api):
    profile_id = await existing(api, "profile1@example.com")
    body = {
        "trigger_id": 8,
        "format": "json",
        "matching": "email",
        "data": [{"email": "profile1@example.com"}, {"email": "profile2@example.com"}],
    }
    assert (await ok_body(api, START_BATCH, body))["result"] == [
        {"profile_id": profile_id},
        {"error": 404, "error_text": "Profile not found"},
    ]
    assert api.state.store.count_profiles() == 1  # nothing created
    [record] = (await engagements(api, trigger_id=8))["engagements"]
    assert (record["profile_id"], record["created"]) == (profile_id, False)


async def test_start_batch_changes_no_profile_field(api):
    await existing(api, "profile1@example.com")
    body = {"trigger_id": 8, "data": [{"email": "profile1@example.com", "_fname": "Changed"}]}
    await ok_body(api, START_BATCH, body)
    profile = await ok_body(api, "profiles/get", {"db_id": 1, "email": "profile1@example.com"})
    assert profile["data"]["_fname"] == "Ivan"


async def test_start_batch_by_custom_field(api):
    body = {"db_id": 1, "email": "a@example.com", "data": {"New_field_1": "A-1"}}
    profile_id = (await ok_body(api, "profiles/import", body))["profile_id"]
    launch = {
        "trigger_id": 455,
        "matching": "custom",
        "field_name": "New_field_1",
        "data": [{"New_field_1": "A-1"}],
    }
    assert (await ok_body(api, START_BATCH, launch))["result"] == [{"profile_id": profile_id}]


async def test_start_batch_task_names_the_trigger_id(api):
    profile_id = await existing(api, "profile1@example.com")
    answer = await ok_body(
        api, START_BATCH_TASK, {"id": 1, "data": [{"email": "profile1@example.com"}]}
    )
    data = await api.run_to_end(answer["task_id"])
    assert data["result"]["result"] == [{"profile_id": profile_id}]
    [record] = (await engagements(api, source=START_BATCH_TASK))["engagements"]
    assert record["trigger_id"] == 1


async def test_list_answers_the_pages_shape_paged_by_id(api):
    assert (await api.call(LIST, {"limit": 2})).body == {
        "data": [
            {
                "id": 1,
                "name": "API call trigger",
                "type": "api_call",
                "is_active": True,
                "for_confirm": False,
                "ui_tags": [],
                "groups": [],
            },
            {
                "id": 6,
                "name": "Paused trigger",
                "type": "api_call",
                "is_active": False,
                "for_confirm": False,
                "ui_tags": [],
                "groups": [],
            },
        ],
        "error": 0,
        "error_text": "Successful operation",
        "total_count": 6,
    }
    later = await ok_body(api, LIST, {"from_id": 9, "is_active": True})
    assert ([t["id"] for t in later["data"]], later["total_count"]) == ([13, 455, 5511], 5)


async def test_faults_and_the_journal_see_trigger_calls(api):
    await existing(api)
    await add_fault(api, match={"method": START}, action="error", error=503, times=1)
    refused = await api.call(START, {"id": 1, "email": "zaycev@example.com"})
    assert refused.body["error"] == 503
    await ok_body(api, START, {"id": 1, "email": "zaycev@example.com"})
    recorded = await entries(api, method=START)
    assert [entry["error"] for entry in recorded] == [503, 0]


async def test_fail_items_faults_apply_to_trigger_batches(api):
    await add_fault(
        api, match={"method": IMPORT_BATCH}, action="fail_items", pattern="^bad", error=500
    )
    items = [{"data": {"email": "bad@example.com"}}, {"data": {"email": "good@example.com"}}]
    result = (await ok_body(api, IMPORT_BATCH, {"trigger_id": 13, "data": items}))["result"]
    assert result[0]["error"] == 500 and "profile_id" in result[1]


async def test_permissive_mode_creates_an_unknown_trigger_on_first_use(make_api):
    api = await make_api(mode="permissive", token="some-new-token")
    body = {"trigger_id": 777, "email": "a@example.com", "data": {}}
    await ok_body(api, IMPORT_AND_START, body)
    listed = await ok_body(api, LIST, {})
    assert 777 in [t["id"] for t in listed["data"]]


async def test_a_reset_brings_back_the_fixture_triggers(api):
    await existing(api)
    await ok_body(api, START, {"id": 1, "email": "zaycev@example.com"})
    await reset(api)
    assert (await engagements(api))["total"] == 0
    assert (await ok_body(api, LIST, {}))["total_count"] == 6


async def test_a_trigger_task_progresses_by_polls_like_a_workflow_task(api):
    items = [{"data": {"email": "a@example.com"}}, {"data": {"email": "b@example.com"}}]
    answer = await ok_body(api, IMPORT_BATCH_TASK, {"trigger_id": 13, "data": items})
    first = await api.call(STATUS, {"task_id": answer["task_id"]})
    assert (first.body["data"]["status"], first.body["data"]["progress"]) == ("processing", 50)
    assert (await engagements(api, trigger_id=13))["total"] == 1


@pytest.mark.parametrize(
    ("method", "field"),
    [(IMPORT_AND_START, "trigger_id"), (START_BATCH_TASK, "id"), (IMPORT_BATCH, "trigger_id")],
)
async def test_every_trigger_id_may_be_a_string_of_digits(api, method, field):
    await existing(api)
    body: dict[str, Any] = {field: "13"}
    if method == IMPORT_AND_START:
        body.update(email="zaycev@example.com", data={})
    else:
        body["data"] = [{"email": "zaycev@example.com"}]
    await ok_body(api, method, body)
    if method == START_BATCH_TASK:
        task_id = (await api.call(method, body)).body["task_id"]
        await api.run_to_end(task_id)
    assert (await engagements(api, trigger_id=13))["total"] >= 1


async def test_permissive_mode_refuses_ids_it_could_not_store(make_api):
    api = await make_api(mode="permissive", token="some-new-token")
    answer = await api.call(START, {"id": "99999999999999999999999999", "email": "a@example.com"})
    assert answer.body["error"] == 400
    # The store still takes writes afterwards.
    await ok_body(api, IMPORT_AND_START, {"trigger_id": 5, "email": "a@example.com", "data": {}})


async def test_a_fault_can_match_one_trigger(api):
    await existing(api)
    await add_fault(api, match={"trigger_id": 13}, action="error", error=503)
    refused = await api.call(START, {"id": "13", "email": "zaycev@example.com"})
    assert refused.body["error"] == 503
    await ok_body(api, START, {"id": 1, "email": "zaycev@example.com"})
