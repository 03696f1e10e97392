"""The rest of the endpoint family (SPEC §8), on the batch task's domain, store and engine.

Per endpoint: its success shape and each of its errors, whole envelopes.
Then what a client team checks black-box: what the batch task imported reads
back through `profiles/get` with exactly the imported fields and ids; the
synchronous batch and the single import give the same profiles as the task
for the same input; `workflows/start` on an unknown profile creates nothing;
a deactivated workflow refuses imports, also after a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mockserver.config import ProgressionMode
from mockserver.domain.values import INVALID_PHONE
from mockserver.errors import (
    ACCESS_DENIED_TEXT,
    INVALID_REQUEST_TEXT,
    OK_TEXT,
    PROFILE_NOT_FOUND_TEXT,
    WORKFLOW_NOT_FOUND_TEXT,
)
from tests.helpers import BATCH_TASK, ApiClient, ok_body, person

SYNC_BATCH = "workflows/import_and_start_batch"
SINGLE = "workflows/import_and_start"
START = "workflows/start"
LIST = "workflows/list"
ACTIVATE = "workflows/activate"
DEACTIVATE = "workflows/deactivate"
IMPORT = "profiles/import"
IMPORT_BATCH = "profiles/import_batch"
GET = "profiles/get"
DATABASES = "databases/list"

TWO_ACCOUNTS = Path(__file__).resolve().parent.parent / "fixtures" / "two_accounts.json"
ALPHA = "alpha-token-0000000000000001"
BETA = "beta-token-0000000000000002"

ANN = "ann@example.com"
BOB = "bob@example.com"
PHONE = "+79000000001"
MISSING_ID = "0123456789abcdef01234567"


def invalid(debug: str) -> dict[str, Any]:
    return {"error": 400, "error_debug": debug, "error_text": INVALID_REQUEST_TEXT}


def profile_not_found(debug: str) -> dict[str, Any]:
    return {"error": 404, "error_debug": debug, "error_text": PROFILE_NOT_FOUND_TEXT}


def workflow_not_found(debug: str) -> dict[str, Any]:
    return {"error": 404, "error_debug": debug, "error_text": WORKFLOW_NOT_FOUND_TEXT}


def success(**fields: Any) -> dict[str, Any]:
    return {"error": 0, "error_text": OK_TEXT, **fields}


async def get_profile(api: ApiClient, **key: Any) -> dict[str, Any]:
    """`profiles/get` in database 1; the profile as answered."""
    return (await ok_body(api, GET, {"db_id": 1, **key}))["data"]


def engagements(api: ApiClient, **wanted: Any) -> list[dict[str, Any]]:
    return [
        record
        for record in api.state.store.engagements()
        if all(record.get(key) == value for key, value in wanted.items())
    ]


def profile_count(api: ApiClient) -> int:
    return api.state.store.count_profiles()


def as_token(api: ApiClient, token: str) -> ApiClient:
    return ApiClient(api.http, token)


def without_createtime(profile: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(profile.pop("_createtime"), str)
    return profile


@pytest.fixture
async def api(make_api) -> ApiClient:
    """Tasks complete before the create call answers (polling is covered elsewhere)."""
    return await make_api(progression=ProgressionMode.INSTANT)


# -- the black-box checks -------------------------------------------------------------


async def test_what_the_batch_task_imported_reads_back_with_exactly_its_fields_and_id(make_api):
    api = await make_api()  # the default `polls` progression, as a client meets it
    items = [person(1), person(2, CRM_ID="A-2", Tags="vip, new")]
    results = await api.import_and_finish(items)
    for item, result in zip(items, results, strict=True):
        profile = await get_profile(api, email=item["data"]["email"])
        assert without_createtime(profile) == {
            **item["data"],
            "phones": [item["data"]["phones"]],  # `phones` is stored as a list
            **({"Tags": ["vip", "new"]} if "Tags" in item["data"] else {}),
            "id": result["profile_id"],
            "db_id": 1,
            "subscriptions": [],
        }


@pytest.mark.parametrize("method", [SYNC_BATCH, SINGLE])
async def test_sync_batch_and_single_import_make_the_profiles_the_task_makes(make_api, method):
    items = [
        person(1),
        person(2, CRM_ID="A-2", Points=7),
        {
            "email": BOB,
            "data": {
                "_fname": "Bob",
                "subscriptions": [{"resource_id": 1, "channel": "email", "email": BOB}],
            },
        },
        {"data": {"email": "not-an-email"}},
    ]
    by_task = await make_api(progression=ProgressionMode.INSTANT)
    task_results = await by_task.import_and_finish(items)
    by_method = await make_api(progression=ProgressionMode.INSTANT)
    if method == SYNC_BATCH:
        answer = await by_method.call(method, {"workflow_id": 2, "data": items})
        method_results = answer.body["result"]
    else:
        method_results = []
        for item in items:
            body = {
                "workflow_id": 2,
                "data": item["data"],
                **{k: v for k, v in item.items() if k != "data"},
            }
            answer = await by_method.call(method, body)
            method_results.append(
                {"profile_id": answer.body["profile_id"]}
                if answer.body["error"] == 0
                else {"error": answer.body["error"]}
            )

    assert [sorted(r) for r in method_results[:3]] == [["profile_id"]] * 3
    assert "profile_id" not in method_results[3] and "profile_id" not in task_results[3]
    for task_result, method_result in zip(task_results[:3], method_results[:3], strict=True):
        from_task = dict(by_task.state.store.profile(task_result["profile_id"]))
        from_method = dict(by_method.state.store.profile(method_result["profile_id"]))
        for stored in (from_task, from_method):
            stored.pop("id"), stored["data"].pop("_createtime")
        assert from_method == from_task
    assert by_method.state.store.count_profiles() == by_task.state.store.count_profiles() == 3


async def test_start_on_an_unknown_profile_creates_nothing(api):
    await api.import_and_finish([person(1)])
    profiles, engaged = profile_count(api), len(engagements(api))
    answer = await api.call(START, {"id": 1, "email": ANN, "data": {"_fname": "Ann"}})
    assert answer.body == profile_not_found(f"email: no profile with email '{ANN}' in database 1")
    assert (profile_count(api), len(engagements(api))) == (profiles, engaged)
    assert [p["data"]["email"] for p in api.state.store.profiles()] == ["profile1@example.com"]


IMPORTS_INTO_WORKFLOW_2 = [
    pytest.param(BATCH_TASK, {"workflow_id": 2, "data": [person(1)]}, "workflow_id", id="task"),
    pytest.param(SYNC_BATCH, {"workflow_id": 2, "data": [person(1)]}, "workflow_id", id="sync"),
    pytest.param(SINGLE, {"workflow_id": 2, "email": ANN}, "workflow_id", id="single"),
    pytest.param(START, {"id": 2, "email": "profile1@example.com"}, "id", id="start"),
]


@pytest.mark.parametrize(("method", "body", "field"), IMPORTS_INTO_WORKFLOW_2)
async def test_a_deactivated_workflow_refuses_imports_until_activated(api, method, body, field):
    await api.import_and_finish([person(1)])
    assert (await api.call(DEACTIVATE, {"id": 2})).body == success(data=None)
    profiles = profile_count(api)
    refused = await api.call(method, body)
    assert refused.body == invalid(f"{field}: workflow 2 is not active")
    assert profile_count(api) == profiles

    assert (await api.call(ACTIVATE, {"id": 2})).body == success(data=None)
    assert (await api.call(method, body)).body["error"] == 0


async def test_deactivation_survives_a_restart_on_a_file_store(make_api, tmp_path):
    db = str(tmp_path / "store.json")
    first = await make_api(db=db)
    await ok_body(first, DEACTIVATE, {"id": 2})
    await ok_body(first, ACTIVATE, {"id": 233})  # already active: stays so

    restarted = await make_api(db=db)
    refused = await restarted.call(BATCH_TASK, {"workflow_id": 2, "data": [person(1)]})
    assert refused.body == invalid("workflow_id: workflow 2 is not active")
    listed = {w["id"]: w["is_active"] for w in (await ok_body(restarted, LIST, {}))["data"]}
    assert listed == {1: True, 2: False, 3: False, 233: True}


async def test_a_reset_returns_workflows_to_their_fixture_state(api):
    await ok_body(api, DEACTIVATE, {"id": 2})
    await ok_body(api, ACTIVATE, {"id": 3})
    assert (await api.control("POST", "/_mock/reset")).status == 200
    listed = {w["id"]: w["is_active"] for w in (await ok_body(api, LIST, {}))["data"]}
    assert listed == {1: True, 2: True, 3: False, 233: True}


async def test_an_account_reset_returns_its_workflows_to_their_fixture_state(make_api):
    alpha = await make_api(fixtures=(str(TWO_ACCOUNTS),), token=ALPHA)
    beta = as_token(alpha, BETA)
    await ok_body(alpha, DEACTIVATE, {"id": 2})
    await ok_body(beta, DEACTIVATE, {"id": 2})
    assert (await alpha.control("POST", "/_mock/reset", json={"account": "alpha"})).status == 200
    assert (await alpha.call(SINGLE, {"workflow_id": 2, "email": ANN})).body["error"] == 0
    refused = await beta.call(SINGLE, {"workflow_id": 2, "email": ANN})
    assert refused.body == invalid("workflow_id: workflow 2 is not active")


@pytest.mark.parametrize(
    ("method", "body"),
    [
        pytest.param(BATCH_TASK, {"workflow_id": 2, "data": [person(1)]}, id="task"),
        pytest.param(SYNC_BATCH, {"workflow_id": 2, "data": [person(1)]}, id="sync"),
        pytest.param(SINGLE, {"workflow_id": 2, "data": person(1)["data"]}, id="single"),
        pytest.param(START, {"id": 2, "email": "profile1@example.com"}, id="start"),
    ],
)
async def test_the_engagement_names_the_method_that_engaged_the_profile(api, method, body):
    await api.call(IMPORT, {"db_id": 1, "data": person(1)["data"]})
    assert engagements(api) == []  # profiles/import engages nothing
    assert (await api.call(method, body)).body["error"] == 0
    [record] = engagements(api)
    assert (record["workflow_id"], record["source"]) == (2, method)
    listed = await api.control("GET", f"/_mock/engagements?source={method}")
    assert listed.body["total"] == 1


# -- workflows/import_and_start_batch -----------------------------------------------


async def test_sync_batch_answers_one_result_per_item_in_request_order(api):
    items = [person(1), {"data": {"email": "x"}}, "not an object", person(1, _fname="Again")]
    answer = await api.call(SYNC_BATCH, {"workflow_id": 2, "matching": "email", "data": items})
    [first, *_] = [p["id"] for p in api.state.store.profiles()]
    assert answer.body == success(
        result=[
            {"profile_id": first},
            {"error": 400, "error_text": 'data[1].data.email: not a valid email: "x"'},
            {"error": 400, "error_text": "data[2]: expected an object, got string"},
            {"profile_id": first},
        ]
    )
    assert (await get_profile(api, matching="profile_id", profile_id=first))["_fname"] == "Again"
    assert [r["profile_id"] for r in engagements(api, source=SYNC_BATCH)] == [first, first]
    assert list(api.state.store.tasks()) == []  # no task: the answer is the result


async def test_sync_batch_items_see_earlier_items_of_the_same_request(api):
    answer = await api.call(
        SYNC_BATCH,
        {"workflow_id": 2, "data": [{"data": {"email": ANN}}, {"data": {"email": ANN.upper()}}]},
    )
    [one, two] = answer.body["result"]
    assert one == two and profile_count(api) == 1


async def test_sync_batch_honours_a_fail_items_fault(api):
    fault = {"action": "fail_items", "pattern": "^bob@", "match": {"method": SYNC_BATCH}}
    assert (await api.control("POST", "/_mock/faults", json=fault)).status == 201
    answer = await api.call(
        SYNC_BATCH, {"workflow_id": 2, "data": [{"email": BOB}, {"email": ANN}]}
    )
    assert answer.body["result"][0] == {"error": 400, "error_text": INVALID_REQUEST_TEXT}
    assert list(answer.body["result"][1]) == ["profile_id"]


SYNC_BATCH_ERRORS = [
    pytest.param(
        {"data": [person(1)]}, invalid("workflow_id: required field is missing"), id="no-workflow"
    ),
    pytest.param(
        {"workflow_id": "2", "data": [person(1)]},
        invalid('workflow_id: expected integer, got string "2"'),
        id="workflow-as-string",
    ),
    pytest.param({"workflow_id": 2}, invalid("data: required field is missing"), id="no-data"),
    pytest.param(
        {"workflow_id": 2, "data": []},
        invalid("data: must have at least 1 item(s), got 0"),
        id="empty-data",
    ),
    pytest.param(
        {"workflow_id": 2, "matching": "custom", "data": [person(1)]},
        invalid("field_name: required when matching is 'custom'"),
        id="custom-without-field-name",
    ),
    pytest.param(
        {"workflow_id": 99, "data": [person(1)]},
        workflow_not_found("workflow_id: no workflow 99 in this account"),
        id="unknown-workflow",
    ),
    pytest.param(
        {"workflow_id": 3, "data": [person(1)]},
        invalid("workflow_id: workflow 3 is not active"),
        id="inactive-workflow",
    ),
]


@pytest.mark.parametrize(("body", "expected"), SYNC_BATCH_ERRORS)
async def test_sync_batch_request_errors(api, body, expected):
    assert (await api.call(SYNC_BATCH, body)).body == expected
    assert profile_count(api) == 0


async def test_sync_batch_unknown_matching_is_the_task_endpoints_400(api):
    body = {"workflow_id": 2, "matching": "nope", "data": [person(1)]}
    task = await api.call(BATCH_TASK, body)
    sync = await api.call(SYNC_BATCH, body)
    assert sync.body == task.body and sync.body["error"] == 400


async def test_sync_batch_over_the_configured_maximum_is_refused(make_api):
    api = await make_api(max_items=1)
    answer = await api.call(SYNC_BATCH, {"workflow_id": 2, "data": [person(1), person(2)]})
    assert answer.body == invalid("data: 2 items, more than the maximum 1 (--max-items)")


# -- workflows/import_and_start -------------------------------------------------------


async def test_single_import_creates_then_updates_one_profile(api):
    created = await api.call(SINGLE, {"workflow_id": 2, "email": ANN, "data": {"_fname": "Ann"}})
    profile_id = created.body["profile_id"]
    assert created.body == success(profile_id=profile_id)
    updated = await api.call(
        SINGLE,
        {
            "workflow_id": 2,
            "email": f"  {ANN.upper()} ",
            "data": {"_lname": "Lee"},
            "content": {"a": 1},
        },
    )
    assert updated.body == success(profile_id=profile_id)
    assert without_createtime(await get_profile(api, email=ANN)) == {
        "_fname": "Ann",
        "_lname": "Lee",
        "email": ANN,  # the root key is carried onto the new profile
        "id": profile_id,
        "db_id": 1,
        "subscriptions": [],
    }
    records = engagements(api, source=SINGLE)
    assert [(r["created"], r["content"]) for r in records] == [(True, None), (False, {"a": 1})]


async def test_single_import_takes_the_key_from_data_when_the_root_has_none(api):
    answer = await api.call(
        SINGLE, {"workflow_id": 2, "matching": "phone", "data": {"phones": [PHONE]}}
    )
    assert (await get_profile(api, matching="phone", phone=PHONE))["id"] == answer.body[
        "profile_id"
    ]


async def test_single_import_by_custom_field_at_the_root(api):
    body = {"workflow_id": 233, "matching": "custom", "field_name": "CRM_ID", "field_value": "42"}
    first = await api.call(SINGLE, {**body, "data": {"_fname": "A"}})
    second = await api.call(SINGLE, {**body, "data": {"_fname": "B"}})
    assert first.body["profile_id"] == second.body["profile_id"]
    got = await get_profile(api, matching="custom", field_name="CRM_ID", field_value="42")
    assert (got["CRM_ID"], got["_fname"]) == ("42", "B")


SINGLE_ERRORS = [
    pytest.param(
        {"email": ANN}, invalid("workflow_id: required field is missing"), id="no-workflow"
    ),
    pytest.param(
        {"workflow_id": 2, "email": "x"},
        invalid('email: not a valid email: "x"'),
        id="bad-root-email",
    ),
    pytest.param(
        {"workflow_id": 2, "email": 5},
        invalid("email: expected string, got integer 5"),
        id="email-type",
    ),
    pytest.param(
        {"workflow_id": 2, "email": ANN, "data": {"Points": "x"}},
        invalid('data.Points: expected int, got string "x"'),
        id="bad-typed-field",
    ),
    pytest.param(
        {"workflow_id": 2, "data": {"_fname": "A"}},
        invalid("data: no email to match by (matching 'email')"),
        id="no-key",
    ),
    pytest.param(
        {"workflow_id": 2, "email": ANN, "data": []},
        invalid("data: expected object, got array []"),
        id="data-not-object",
    ),
    pytest.param(
        {"workflow_id": 2, "matching": "profile_id", "profile_id": MISSING_ID},
        profile_not_found(f"profile_id: no profile {MISSING_ID} in database 1"),
        id="unknown-profile-id",
    ),
    pytest.param(
        {"workflow_id": 99, "email": ANN},
        workflow_not_found("workflow_id: no workflow 99 in this account"),
        id="unknown-workflow",
    ),
    pytest.param(
        {"workflow_id": 3, "email": ANN},
        invalid("workflow_id: workflow 3 is not active"),
        id="inactive-workflow",
    ),
    pytest.param(
        {"workflow_id": 2, "matching": "custom", "field_value": "1"},
        invalid("field_name: required when matching is 'custom'"),
        id="custom-without-field-name",
    ),
]


@pytest.mark.parametrize(("body", "expected"), SINGLE_ERRORS)
async def test_single_import_errors_create_nothing(api, body, expected):
    assert (await api.call(SINGLE, body)).body == expected
    assert profile_count(api) == 0 and engagements(api) == []


# -- workflows/start --------------------------------------------------------------------


@pytest.fixture
async def ann(api) -> str:
    """Ann's profile in database 1 (phone, CRM_ID), made by the batch task."""
    [result] = await api.import_and_finish(
        [{"data": {"email": ANN, "phones": PHONE, "CRM_ID": "7"}}]
    )
    return result["profile_id"]


@pytest.mark.parametrize(
    "key",
    [
        pytest.param({"email": ANN}, id="email"),
        pytest.param({"email": ANN, "matching": "email_profile"}, id="email_profile"),
        pytest.param({"matching": "phone", "phone": PHONE}, id="phone"),
        pytest.param(
            {"matching": "custom", "field_name": "CRM_ID", "field_value": "7"}, id="custom"
        ),
        pytest.param({"custom_request": {"CRM_ID": "7"}}, id="custom_request"),
    ],
)
async def test_start_engages_the_matching_profile(api, ann, key):
    profiles = profile_count(api)
    answer = await api.call(START, {"id": 1, **key})
    assert answer.body == success(profile_id=ann)
    [record] = engagements(api, source=START)
    assert (record["workflow_id"], record["profile_id"], record["created"]) == (1, ann, False)
    assert profile_count(api) == profiles


async def test_start_by_profile_id_records_content_resource_and_subscription_filter(api, ann):
    body = {
        "id": 1,
        "matching": "profile_id",
        "profile_id": ann,
        "content": {"code": "X"},
        "custom_data": {"k": "v"},
        "resource_id": 1,
        "subscription_filter": {"email": ANN, "not_strict": True},
    }
    assert (await api.call(START, body)).body == success(profile_id=ann)
    [record] = engagements(api, source=START)
    assert {
        k: record[k] for k in ("content", "custom_data", "resource_id", "subscription_filter")
    } == {
        "content": {"code": "X"},
        "custom_data": {"k": "v"},
        "resource_id": 1,
        "subscription_filter": {"email": ANN, "not_strict": True},
    }


async def test_start_with_custom_request_engages_the_earliest_matching_profile(api):
    results = await api.import_and_finish(
        [{"data": {"email": ANN, "CRM_ID": "same"}}, {"data": {"email": BOB, "CRM_ID": "same"}}]
    )
    answer = await api.call(START, {"id": 1, "custom_request": {"CRM_ID": "same"}})
    assert answer.body == success(profile_id=results[0]["profile_id"])
    assert len(engagements(api, source=START)) == 1


START_ERRORS = [
    pytest.param({"email": ANN}, invalid("id: required field is missing"), id="no-id"),
    pytest.param(
        {"id": "1", "email": ANN},
        invalid('id: expected integer, got string "1"'),
        id="id-as-string",
    ),
    pytest.param(
        {"id": 99, "email": ANN},
        workflow_not_found("id: no workflow 99 in this account"),
        id="unknown-workflow",
    ),
    pytest.param({"id": 3, "email": ANN}, invalid("id: workflow 3 is not active"), id="inactive"),
    pytest.param({"id": 1}, invalid("email: required for matching 'email'"), id="no-key"),
    pytest.param(
        {"id": 1, "matching": "email_phone"},
        invalid("email or phone: required for matching 'email_phone'"),
        id="no-key-email-phone",
    ),
    pytest.param(
        {"id": 1, "matching": "custom", "field_name": "CRM_ID"},
        invalid("field_value: required for matching 'custom'"),
        id="no-field-value",
    ),
    pytest.param({"id": 1, "email": "x"}, invalid('email: not a valid email: "x"'), id="bad-email"),
    pytest.param(
        {"id": 1, "email": BOB},
        profile_not_found(f"email: no profile with email '{BOB}' in database 1"),
        id="unknown-email",
    ),
    pytest.param(
        {"id": 1, "matching": "profile_id", "profile_id": MISSING_ID},
        profile_not_found(f"profile_id: no profile {MISSING_ID} in database 1"),
        id="unknown-profile-id",
    ),
    pytest.param(
        {"id": 1, "custom_request": {"CRM_ID": "none"}},
        profile_not_found("custom_request: no profile matches in database 1"),
        id="custom-request-matches-nothing",
    ),
    pytest.param(
        {"id": 1, "custom_request": {"$where": "1"}},
        invalid("custom_request.$where: operator $where is not supported"),
        id="unsupported-operator",
    ),
]


@pytest.mark.parametrize(("body", "expected"), START_ERRORS)
async def test_start_errors_engage_and_create_nothing(api, ann, body, expected):
    assert (await api.call(START, body)).body == expected
    assert profile_count(api) == 1 and engagements(api, source=START) == []


async def test_start_does_not_see_another_accounts_profile(make_api):
    alpha = await make_api(fixtures=(str(TWO_ACCOUNTS),), token=ALPHA, progression="instant")
    beta = as_token(alpha, BETA)
    await alpha.import_and_finish([{"data": {"email": ANN}}])
    answer = await beta.call(START, {"id": 2, "email": ANN})
    assert answer.body == profile_not_found(f"email: no profile with email '{ANN}' in database 1")


# -- workflows/list, activate, deactivate ------------------------------------------------


def fixture_workflow(wid: int, name: str, active: bool = True) -> dict[str, Any]:
    return {
        "id": wid,
        "name": name,
        "list_id": 1,
        "is_active": active,
        "ui_tags": [],
        "groups": [],
        "nodes": [],
    }


async def test_list_answers_the_accounts_workflows_in_id_order(api):
    assert (await api.call(LIST, {})).body == success(
        data=[
            fixture_workflow(1, "Welcome series"),
            fixture_workflow(2, "Import and start"),
            fixture_workflow(3, "Paused campaign", active=False),
            fixture_workflow(233, "Custom matching demo"),
        ],
        next_from_id=None,
        total=4,
    )


@pytest.mark.parametrize(
    ("paging", "ids", "next_from_id"),
    [
        pytest.param({"from_id": 2, "limit": 1}, [2], 3, id="one-from-2"),
        pytest.param({"from_id": 3, "limit": 1}, [3], 233, id="next-is-the-next-existing-id"),
        pytest.param({"from_id": 4}, [233], None, id="from-a-gap"),
        pytest.param({"limit": 2}, [1, 2], 3, id="first-page"),
        pytest.param({"from_id": 234}, [], None, id="past-the-end"),
        pytest.param({"from_id": 0, "limit": 0}, [1, 2, 3, 233], None, id="zero-is-default"),
    ],
)
async def test_list_pages_by_id(api, paging, ids, next_from_id):
    body = await ok_body(api, LIST, paging)
    assert [w["id"] for w in body["data"]] == ids
    assert (body["next_from_id"], body["total"]) == (next_from_id, 4)


async def test_list_shows_only_the_callers_workflows(make_api):
    alpha = await make_api(fixtures=(str(TWO_ACCOUNTS),), token=ALPHA)
    beta = as_token(alpha, BETA)
    assert [w["name"] for w in (await ok_body(alpha, LIST, {}))["data"]] == ["Alpha import"]
    beta_list = await ok_body(beta, LIST, {})
    assert ([w["id"] for w in beta_list["data"]], beta_list["total"]) == ([2, 50], 2)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"from_id": "2"}, invalid('from_id: expected integer, got string "2"'), id="from-id"
        ),
        pytest.param({"limit": -1}, invalid("limit: -1 is less than the minimum of 0"), id="limit"),
    ],
)
async def test_list_errors(api, body, expected):
    assert (await api.call(LIST, body)).body == expected


@pytest.mark.parametrize("method", [ACTIVATE, DEACTIVATE])
async def test_activation_of_an_unknown_workflow_is_404(api, method):
    answer = await api.call(method, {"id": 99})
    assert answer.body == workflow_not_found("id: no workflow 99 in this account")


@pytest.mark.parametrize("method", [ACTIVATE, DEACTIVATE])
async def test_activation_needs_an_integer_id(api, method):
    assert (await api.call(method, {})).body == invalid("id: required field is missing")
    assert (await api.call(method, {"id": "2"})).body == invalid(
        'id: expected integer, got string "2"'
    )


async def test_activate_takes_skip_profiles_and_activates(api):
    answer = await api.call(ACTIVATE, {"id": 3, "skip_profiles": True})
    assert answer.body == success(data=None)
    assert (await api.call(SINGLE, {"workflow_id": 3, "email": ANN})).body["error"] == 0


async def test_activation_is_per_account(make_api):
    alpha = await make_api(fixtures=(str(TWO_ACCOUNTS),), token=ALPHA)
    beta = as_token(alpha, BETA)
    await ok_body(alpha, DEACTIVATE, {"id": 2})
    assert (await beta.call(SINGLE, {"workflow_id": 2, "email": ANN})).body["error"] == 0


# -- profiles/import, profiles/import_batch ---------------------------------------------


async def test_profiles_import_adds_then_updates_and_engages_nothing(api):
    created = await api.call(IMPORT, {"db_id": 1, "email": ANN, "data": {"_fname": "Ann"}})
    profile_id = created.body["profile_id"]
    assert created.body == success(profile_id=profile_id)
    updated = await api.call(IMPORT, {"db_id": 1, "data": {"email": ANN, "Points": 3}})
    assert updated.body == success(profile_id=profile_id)
    assert without_createtime(await get_profile(api, email=ANN)) == {
        "_fname": "Ann",
        "email": ANN,
        "Points": 3,
        "id": profile_id,
        "db_id": 1,
        "subscriptions": [],
    }
    assert engagements(api) == []


PROFILES_IMPORT_ERRORS = [
    pytest.param({"email": ANN}, invalid("db_id: required field is missing"), id="no-db"),
    pytest.param(
        {"db_id": 9, "email": ANN}, invalid("db_id: no database 9 in this account"), id="unknown-db"
    ),
    pytest.param(
        {"db_id": 1, "data": {"email": ANN, "_bdate": "yesterday"}},
        invalid('data._bdate: expected a date or an RFC 3339 date-time, got string "yesterday"'),
        id="bad-bdate",
    ),
    pytest.param(
        {"db_id": 1, "data": {"_fname": "A"}},
        invalid("data: no email to match by (matching 'email')"),
        id="no-key",
    ),
    pytest.param(
        {"db_id": 1, "matching": "profile_id", "profile_id": MISSING_ID},
        profile_not_found(f"profile_id: no profile {MISSING_ID} in database 1"),
        id="unknown-profile-id",
    ),
    pytest.param(
        {"db_id": 1, "matching": "fax", "email": ANN},
        invalid(
            'matching: unsupported value "fax", expected one of: email, email_profile, '
            "email_sub, phone, phone_sub, email_phone, email_phone_sub, profile_id, custom"
        ),
        id="unknown-matching",
    ),
]


@pytest.mark.parametrize(("body", "expected"), PROFILES_IMPORT_ERRORS)
async def test_profiles_import_errors_create_nothing(api, body, expected):
    assert (await api.call(IMPORT, body)).body == expected
    assert profile_count(api) == 0


async def test_profiles_import_batch_answers_per_item_in_request_order(api):
    answer = await api.call(
        IMPORT_BATCH,
        {
            "db_id": 1,
            "matching": "email",
            "data": [
                {"email": ANN, "_fname": "Ann"},
                {"email": "bad"},
                {"email": ANN, "_lname": "L"},
            ],
        },
    )
    [profile_id] = [p["id"] for p in api.state.store.profiles()]
    assert answer.body == success(
        result=[
            {"error": 0, "error_text": OK_TEXT, "profile_id": profile_id},
            {"error": 400, "error_text": 'data[1].email: not a valid email: "bad"'},
            {"error": 0, "error_text": OK_TEXT, "profile_id": profile_id},
        ]
    )
    got = await get_profile(api, email=ANN)
    assert (got["_fname"], got["_lname"]) == ("Ann", "L")
    assert engagements(api) == []


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [("content", "x", "string"), ("custom_data", [1], "array")],
)
async def test_profiles_import_batch_refuses_a_request_level_extra_that_is_not_an_object(
    api, name, value, expected
):
    # The method's schema does not declare content/custom_data: each item fails.
    body = {"db_id": 1, "matching": "email", "data": [{"email": ANN}], name: value}
    answer = await api.call(IMPORT_BATCH, body)
    assert answer.body["result"] == [
        {"error": 400, "error_text": f"data[0].{name}: expected an object, got {expected}"}
    ]
    assert profile_count(api) == 0


async def test_profiles_import_batch_matches_by_custom_field(api):
    body = {"db_id": 1, "matching": "custom", "field_name": "CRM_ID"}
    first = await ok_body(api, IMPORT_BATCH, {**body, "data": [{"CRM_ID": "1", "_fname": "A"}]})
    again = await ok_body(api, IMPORT_BATCH, {**body, "data": [{"CRM_ID": "1", "_fname": "B"}]})
    assert first["result"][0]["profile_id"] == again["result"][0]["profile_id"]
    assert profile_count(api) == 1


PROFILES_IMPORT_BATCH_ERRORS = [
    pytest.param(
        {"data": [{"email": ANN}]}, invalid("db_id: required field is missing"), id="no-db"
    ),
    pytest.param(
        {"db_id": 9, "data": [{"email": ANN}]},
        invalid("db_id: no database 9 in this account"),
        id="unknown-db",
    ),
    pytest.param({"db_id": 1}, invalid("data: required field is missing"), id="no-data"),
    pytest.param(
        {"db_id": 1, "data": []}, invalid("data: must have at least 1 item(s), got 0"), id="empty"
    ),
    pytest.param(
        {"db_id": 1, "data": {"email": ANN}},
        invalid('data: expected array, got object {"email":"ann@example.com"}'),
        id="not-an-array",
    ),
    pytest.param(
        {"db_id": 1, "matching": "custom", "data": [{"CRM_ID": "1"}]},
        invalid("field_name: required when matching is 'custom'"),
        id="custom-without-field-name",
    ),
]


@pytest.mark.parametrize(("body", "expected"), PROFILES_IMPORT_BATCH_ERRORS)
async def test_profiles_import_batch_errors_create_nothing(api, body, expected):
    assert (await api.call(IMPORT_BATCH, body)).body == expected
    assert profile_count(api) == 0


# -- profiles/get ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param({"email": ANN.upper()}, id="email"),
        pytest.param({"matching": "phone", "phone": PHONE}, id="phone"),
        pytest.param(
            {"matching": "custom", "field_name": "CRM_ID", "field_value": "7"}, id="custom"
        ),
        pytest.param({"custom_request": {"phones": PHONE}}, id="custom_request"),
        pytest.param({"email": ANN, "resource_id": 1}, id="resource-id-accepted"),
    ],
)
async def test_get_answers_the_stored_profile_with_id_and_db_id(api, ann, key):
    profile = await get_profile(api, **key)
    assert without_createtime(profile) == {
        "CRM_ID": "7",
        "db_id": 1,
        "email": ANN,
        "id": ann,
        "phones": [PHONE],
        "subscriptions": [],
    }
    assert list(profile) == sorted(profile)  # the vendor's key order


@pytest.mark.parametrize(
    "key",
    [
        pytest.param({"profile_id": "<ann>"}, id="profile_id"),
        pytest.param({"phone": PHONE}, id="phone"),
        pytest.param({"field_name": "CRM_ID", "field_value": "7"}, id="custom"),
    ],
)
async def test_a_lookup_without_matching_matches_by_the_key_it_carries(api, ann, key):
    key = {name: ann if value == "<ann>" else value for name, value in key.items()}
    assert (await get_profile(api, **key))["id"] == ann
    assert (await api.call(START, {"id": 1, **key})).body == success(profile_id=ann)


async def test_a_lookup_with_an_email_and_another_key_matches_by_email(api, ann):
    answer = await api.call(GET, {"db_id": 1, "email": BOB, "profile_id": ann})
    assert answer.body == profile_not_found(f"email: no profile with email '{BOB}' in database 1")


async def test_get_by_profile_id_shows_subscriptions_and_no_internal_keys(api):
    sub = {"resource_id": 1, "channel": "email", "email": ANN}
    [result] = await api.import_and_finish([{"data": {"email": ANN, "subscriptions": [sub]}}])
    answer = await api.call(
        GET, {"db_id": 1, "matching": "profile_id", "profile_id": result["profile_id"]}
    )
    data = answer.body["data"]
    assert data["subscriptions"] == [{**sub, "status": "subscribed"}]
    assert "account" not in data and "seq" not in data and "data" not in data


GET_ERRORS = [
    pytest.param({"email": ANN}, invalid("db_id: required field is missing"), id="no-db"),
    pytest.param(
        {"db_id": "1", "email": ANN},
        invalid('db_id: expected integer, got string "1"'),
        id="db-as-string",
    ),
    pytest.param(
        {"db_id": 9, "email": ANN}, invalid("db_id: no database 9 in this account"), id="unknown-db"
    ),
    pytest.param({"db_id": 1}, invalid("email: required for matching 'email'"), id="no-key"),
    pytest.param(
        {"db_id": 1, "matching": "phone", "phone": "123"},
        invalid(f'phone: {INVALID_PHONE}: "123"'),
        id="bad-phone",
    ),
    pytest.param(
        {"db_id": 1, "email": BOB},
        profile_not_found(f"email: no profile with email '{BOB}' in database 1"),
        id="unknown-email",
    ),
    pytest.param(
        {"db_id": 1, "matching": "phone", "phone": "+79999999999"},
        profile_not_found("phone: no profile with phone '+79999999999' in database 1"),
        id="unknown-phone",
    ),
    pytest.param(
        {"db_id": 1, "matching": "custom", "field_name": "CRM_ID", "field_value": "8"},
        profile_not_found("field_value: no profile with CRM_ID = '8' in database 1"),
        id="unknown-custom",
    ),
    pytest.param(
        {"db_id": 1, "matching": "profile_id", "profile_id": MISSING_ID},
        profile_not_found(f"profile_id: no profile {MISSING_ID} in database 1"),
        id="unknown-profile-id",
    ),
]


@pytest.mark.parametrize(("body", "expected"), GET_ERRORS)
async def test_get_errors(api, ann, body, expected):
    assert (await api.call(GET, body)).body == expected


async def test_get_does_not_see_another_accounts_profile(make_api):
    alpha = await make_api(fixtures=(str(TWO_ACCOUNTS),), token=ALPHA, progression="instant")
    beta = as_token(alpha, BETA)
    [result] = await alpha.import_and_finish([{"data": {"email": ANN}}])
    by_email = await beta.call(GET, {"db_id": 1, "email": ANN})
    assert by_email.body["error"] == 404
    by_id = await beta.call(
        GET, {"db_id": 1, "matching": "profile_id", "profile_id": result["profile_id"]}
    )
    assert by_id.body == profile_not_found(
        f"profile_id: no profile {result['profile_id']} in database 1"
    )


# -- databases/list -------------------------------------------------------------------------


async def test_databases_list_answers_the_fixture_databases(api):
    assert (await api.call(DATABASES, {})).body == success(
        data=[
            {
                "id": 1,
                "name": "Customers",
                "fields": [
                    {"name": "CRM_ID", "type": "string"},
                    {"name": "New_field_1", "type": "string"},
                    {"name": "Points", "type": "int"},
                    {"name": "Tags", "type": "tags"},
                ],
                "ui_tags": [],
                "groups": [],
            },
            {"id": 5, "name": "Leads", "fields": [], "ui_tags": [], "groups": []},
        ],
        next_from_id=None,
        total_count=2,
    )


async def test_databases_list_pages_with_next_from_id_and_counts_all(api):
    # The vendor page's answer: `next_from_id` for the next page, `total_count`.
    first = await ok_body(api, DATABASES, {"limit": 1})
    assert ([d["id"] for d in first["data"]], first["next_from_id"], first["total_count"]) == (
        [1],
        5,
        2,
    )
    rest = await ok_body(api, DATABASES, {"from_id": first["next_from_id"]})
    assert ([d["id"] for d in rest["data"]], rest["next_from_id"]) == ([5], None)


async def test_databases_list_pages_and_shows_only_the_callers_databases(make_api):
    alpha = await make_api(fixtures=(str(TWO_ACCOUNTS),), token=ALPHA)
    beta = as_token(alpha, BETA)
    assert [d["name"] for d in (await ok_body(alpha, DATABASES, {}))["data"]] == ["Alpha customers"]
    assert [d["name"] for d in (await ok_body(beta, DATABASES, {"limit": 5}))["data"]] == [
        "Beta customers"
    ]
    assert (await ok_body(beta, DATABASES, {"from_id": 2}))["data"] == []


async def test_databases_list_errors(api):
    answer = await api.call(DATABASES, {"limit": "10"})
    assert answer.body == invalid('limit: expected integer, got string "10"')


@pytest.mark.parametrize(
    "method",
    [SYNC_BATCH, SINGLE, START, LIST, ACTIVATE, DEACTIVATE, IMPORT, IMPORT_BATCH, GET, DATABASES],
)
async def test_every_family_method_needs_a_known_token(api, method):
    answer = await api.call(method, {"token": "unknown-token"})
    assert (answer.body["error"], answer.body["error_text"]) == (403, ACCESS_DENIED_TEXT)


async def test_list_paging_accepts_whole_numbers_written_as_floats(api):
    # JSON Schema counts 13.0 as an integer; found by the schemathesis run.
    workflows = await api.call("workflows/list", {"from_id": 1.0, "limit": 2.0})
    databases = await api.call("databases/list", {"from_id": 1.0, "limit": 10.0})

    assert [w["id"] for w in workflows.body["data"]] == [1, 2]
    assert workflows.body["next_from_id"] == 3
    assert [d["id"] for d in databases.body["data"]] == [1, 5]
