"""`profiles/delete` (the vendor's "Delete profile" page; a Java client calls it).

The profile the key selects is gone for every later lookup and match; a later
import creates a new one; its engagements stay in the history, marked.
"""

from __future__ import annotations

import pytest

from tests.helpers import ApiClient, engagements, ok_body, profiles, reset

DELETE = "profiles/delete"
NOT_FOUND = "Profile not found"


async def ann(api: ApiClient) -> str:
    body = {
        "workflow_id": 1,
        "email": "ann@example.com",
        "data": {"phones": "+79001234567", "CRM_ID": "crm-1", "Tags": "vip, new"},
    }
    return (await ok_body(api, "workflows/import_and_start", body))["profile_id"]


@pytest.mark.parametrize(
    "key",
    [
        {"matching": "email", "email": "ann@example.com"},
        {"email": "ANN@example.com "},  # email is the vendor's default matching
        {"matching": "phone", "phone": "79001234567"},
        {"matching": "custom", "field_name": "CRM_ID", "field_value": "crm-1"},
        {"matching": "custom", "field_name": "Tags", "field_value": "new, vip"},
        {"matching": "profile_id", "profile_id": "ID"},
    ],
    ids=["email", "default-email", "phone", "custom", "tags", "profile-id"],
)
async def test_delete_by_any_key_answers_the_pages_shape_and_removes_the_profile(api, key):
    profile_id = await ann(api)
    body = {"db_id": 1, **{k: (profile_id if v == "ID" else v) for k, v in key.items()}}
    assert (await api.call(DELETE, body)).body == {
        "data": {"profile_id": profile_id},
        "error": 0,
        "error_text": "Successful operation",
    }
    # Gone for every lookup: by each key, in the inspection API and the indexes.
    for lookup in (
        {"email": "ann@example.com"},
        {"matching": "phone", "phone": "+79001234567"},
        {"matching": "profile_id", "profile_id": profile_id},
        {"matching": "custom", "field_name": "CRM_ID", "field_value": "crm-1"},
    ):
        answer = await api.call("profiles/get", {"db_id": 1, **lookup})
        assert (answer.body["error"], answer.body["error_text"]) == (404, NOT_FOUND), lookup
    assert (await profiles(api))["total"] == 0
    assert api.state.store.profile(profile_id) is None


async def test_a_later_import_with_the_same_email_creates_a_new_profile(api):
    old_id = await ann(api)
    await ok_body(api, DELETE, {"db_id": 1, "email": "ann@example.com"})
    [result] = await api.import_and_finish([{"data": {"email": "ann@example.com"}}])
    assert result["profile_id"] != old_id
    profile = api.state.store.profile(result["profile_id"])
    assert profile is not None and "CRM_ID" not in profile["data"]  # nothing of the old one


async def test_workflows_start_and_profile_id_matching_no_longer_find_it(api):
    profile_id = await ann(api)
    await ok_body(api, DELETE, {"db_id": 1, "matching": "profile_id", "profile_id": profile_id})
    start = await api.call("workflows/start", {"id": 1, "email": "ann@example.com"})
    assert (start.body["error"], start.body["error_text"]) == (404, NOT_FOUND)
    [result] = await api.import_and_finish(
        [{"profile_id": profile_id, "data": {"_fname": "Ann"}}], matching="profile_id"
    )
    assert result == {"error": 404, "error_text": NOT_FOUND}


async def test_engagements_of_a_deleted_profile_stay_marked(api):
    profile_id = await ann(api)
    bob = (
        await ok_body(
            api,
            "workflows/import_and_start",
            {"workflow_id": 1, "email": "bob@example.com", "data": {}},
        )
    )["profile_id"]
    await ok_body(api, DELETE, {"db_id": 1, "email": "ann@example.com"})
    records = (await engagements(api))["engagements"]
    assert [(r["profile_id"], r.get("profile_deleted")) for r in records] == [
        (profile_id, True),
        (bob, None),
    ]


@pytest.mark.parametrize(
    ("key", "debug"),
    [
        (
            {"email": "nobody@example.com"},
            "email: no profile with email 'nobody@example.com' in database 1",
        ),
        (
            {"matching": "profile_id", "profile_id": "0" * 24},
            f"profile_id: no profile {'0' * 24} in database 1",
        ),
    ],
)
async def test_deleting_what_does_not_exist_is_not_found(api, key, debug):
    await ann(api)
    answer = await api.call(DELETE, {"db_id": 1, **key})
    assert answer.body == {"error": 404, "error_debug": debug, "error_text": NOT_FOUND}
    assert (await profiles(api))["total"] == 1


async def test_deleting_twice_is_not_found_the_second_time(api):
    await ann(api)
    await ok_body(api, DELETE, {"db_id": 1, "email": "ann@example.com"})
    answer = await api.call(DELETE, {"db_id": 1, "email": "ann@example.com"})
    assert answer.body["error"] == 404


@pytest.mark.parametrize(
    ("body", "debug"),
    [
        ({"email": "ann@example.com"}, "db_id: required"),
        ({"db_id": 9, "email": "ann@example.com"}, "db_id: no database 9 in this account"),
        ({"db_id": 1, "matching": "phone"}, "phone: required for matching 'phone'"),
        ({"db_id": 1, "email": "not-an-email"}, 'email: not a valid email: "not-an-email"'),
    ],
)
async def test_a_bad_delete_request_is_a_400_naming_the_field(api, body, debug):
    await ann(api)
    answer = await api.call(DELETE, body)
    assert answer.body["error"] == 400, answer.body
    assert debug in answer.body["error_debug"]
    assert (await profiles(api))["total"] == 1


async def test_a_deletion_survives_a_restart_on_a_file_store(make_api, tmp_path):
    db = str(tmp_path / "store.json")
    first = await make_api(db=db)
    profile_id = await ann(first)
    await ok_body(first, DELETE, {"db_id": 1, "email": "ann@example.com"})
    restarted = await make_api(db=db)
    answer = await restarted.call("profiles/get", {"db_id": 1, "email": "ann@example.com"})
    assert answer.body["error"] == 404
    [record] = (await engagements(restarted))["engagements"]
    assert (record["profile_id"], record["profile_deleted"]) == (profile_id, True)


async def test_a_reset_forgets_deletions(api):
    await ann(api)
    await ok_body(api, DELETE, {"db_id": 1, "email": "ann@example.com"})
    await reset(api)
    assert (await engagements(api))["total"] == 0
    assert (await profiles(api))["total"] == 0
