"""Items of a batch: errors, shapes, merges and what engaging records (SPEC §3).

Item-level errors never fail the request: the item gets an error entry in the
task result, in request order, and is neither stored nor engaged. Then flat
items, subscription merging, `detect_geo`, what each engagement records
(`content`, `custom_data`, `attach`, `skip_triggers`) and `_createtime`.

The `api` fixture of this module runs tasks instantly; the mixed batch runs
with the default polling. Tests assert whole per-item results, whole stored
profiles and whole engagement records (their timestamp aside).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import pytest

from mockserver.config import ProgressionMode
from mockserver.domain.values import INVALID_PHONE
from tests.helpers import BATCH_TASK, ApiClient, person

ANN = "ann@example.com"
BOB = "bob@example.com"
PHONE = "+79000000001"


@pytest.fixture
async def api(make_api) -> ApiClient:
    """This module's client: tasks complete before the create call answers."""
    return await make_api(progression=ProgressionMode.INSTANT)


def stored(api: ApiClient, profile_id: str) -> dict[str, Any]:
    """A stored profile's fields, without the store-set `_createtime`."""
    profile = api.state.store.profile(profile_id)
    assert profile is not None, f"profile {profile_id} is not stored"
    return {name: value for name, value in profile["data"].items() if name != "_createtime"}


def stored_subscriptions(api: ApiClient, profile_id: str) -> list[dict[str, Any]]:
    profile = api.state.store.profile(profile_id)
    assert profile is not None, f"profile {profile_id} is not stored"
    return sorted(profile["subscriptions"], key=lambda s: (s["resource_id"], s["channel"]))


def profile_count(api: ApiClient) -> int:
    return api.state.store.count_profiles()


def engagements(api: ApiClient) -> list[dict[str, Any]]:
    """The engagement records, oldest first, without their timestamp."""
    records = []
    for record in api.state.store.engagements():
        record = dict(record)
        assert isinstance(record.pop("time"), str), record
        records.append(record)
    return records


def engagement(
    profile_id: str,
    task_id: str,
    *,
    created: bool = True,
    content: Any = None,
    custom_data: Any = None,
    attach: list[dict[str, Any]] | None = None,
    skip_triggers: bool = False,
) -> dict[str, Any]:
    """An engagement record of workflow 2 by the batch task (timestamp aside)."""
    return {
        "account": "default",
        "workflow_id": 2,
        "profile_id": profile_id,
        "created": created,
        "task_id": task_id,
        "source": BATCH_TASK,
        "content": content,
        "custom_data": custom_data,
        "attach": attach or [],
        "skip_triggers": skip_triggers,
    }


async def run_batch(api: ApiClient, items: list[Any], **request: Any) -> tuple[str, list[Any]]:
    """Import a batch to the end; return its task id and per-item results."""
    task_id = await api.import_batch(items, **request)
    data = await api.run_to_end(task_id)
    assert data["status"] == "completed", data
    return task_id, data["result"]["result"]


async def import_one(api: ApiClient, item: Any, **request: Any) -> str:
    """Import one item that must succeed; return the id of its profile."""
    [result] = await api.import_and_finish([item], **request)
    assert list(result) == ["profile_id"], result
    return result["profile_id"]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# -- item-level errors -------------------------------------------------------------

SUB_PATH = "invalid subscription: data[0].data.subscriptions[0]"

# (request fields, the item, the item's error_text)
ITEM_ERRORS = [
    pytest.param({}, "ann@example.com", "data[0]: expected an object, got string", id="string"),
    pytest.param({}, [person(1)], "data[0]: expected an object, got array", id="array"),
    pytest.param({}, None, "data[0]: expected an object, got null", id="null"),
    pytest.param(
        {}, {"data": "x"}, "data[0].data: expected an object, got string", id="data-not-object"
    ),
    pytest.param(
        {},
        {"data": {"_fname": "Ann"}},
        "data[0].data: no email to match by (matching 'email')",
        id="no-email",
    ),
    pytest.param(
        {"matching": "phone"},
        {"data": {"_fname": "Ann", "email": ANN}},
        "data[0].data: no phones to match by (matching 'phone')",
        id="no-phone",
    ),
    pytest.param(
        {"matching": "email_phone"},
        {"data": {"_fname": "Ann"}},
        "data[0].data: no email or phones to match by (matching 'email_phone')",
        id="no-email-or-phone",
    ),
    pytest.param(
        {"matching": "custom", "field_name": "CRM_ID"},
        {"data": {"_fname": "Ann", "email": ANN}},
        "data[0].data.CRM_ID: no value to match by (matching 'custom')",
        id="no-custom-value",
    ),
    pytest.param(
        {"matching": "profile_id"},
        {"data": {"_fname": "Ann", "email": ANN}},
        "data[0].profile_id: required for matching 'profile_id'",
        id="no-profile-id",
    ),
    pytest.param(
        {},
        {"data": {"email": "ann@example"}},
        'data[0].data.email: not a valid email: "ann@example"',
        id="invalid-email",
    ),
    pytest.param(
        {},
        {"email": "ann at example.com", "data": {"_fname": "Ann"}},
        'data[0].email: not a valid email: "ann at example.com"',
        id="invalid-item-email",
    ),
    pytest.param(
        {},
        {"data": {"email": 42}},
        "data[0].data.email: expected a string, got integer",
        id="email-not-string",
    ),
    pytest.param(
        {"matching": "phone"},
        {"data": {"phones": "8900000000a"}},
        f'data[0].data.phones: {INVALID_PHONE}: "8900000000a"',
        id="phone-with-a-letter",
    ),
    pytest.param(
        {"matching": "phone"},
        {"data": {"phones": "+123456"}},
        f'data[0].data.phones: {INVALID_PHONE}: "+123456"',
        id="phone-too-short",
    ),
    pytest.param(
        {"matching": "phone"},
        {"data": {"phones": [PHONE, "+7 900 00"]}},
        f'data[0].data.phones[1]: {INVALID_PHONE}: "+7 900 00"',
        id="phone-in-list",
    ),
    pytest.param(
        {"matching": "phone"},
        {"phone": "call me", "data": {"_fname": "Ann"}},
        f'data[0].phone: {INVALID_PHONE}: "call me"',
        id="invalid-item-phone",
    ),
    pytest.param(
        {},
        {"data": {"email": ANN, "Points": "10"}},
        'data[0].data.Points: expected int, got string "10"',
        id="int-as-string",
    ),
    pytest.param(
        {},
        {"data": {"email": ANN, "Points": 1.5}},
        "data[0].data.Points: expected int, got number 1.5",
        id="int-as-float",
    ),
    pytest.param(
        {},
        {"data": {"email": ANN, "Points": True}},
        "data[0].data.Points: expected int, got boolean true",
        id="int-as-bool",
    ),
    pytest.param(
        {},
        {"data": {"email": ANN, "_regip": "999.1.1.1"}},
        'data[0].data._regip: not a valid IP address: "999.1.1.1"',
        id="invalid-ip",
    ),
    pytest.param(
        {},
        {"data": {"email": ANN}, "content": "hello"},
        "data[0].content: expected an object, got string",
        id="item-content-not-object",
    ),
    pytest.param(
        {},
        {"data": {"email": ANN}, "attach": [{"name": "a.txt", "data": "not base64!"}]},
        "data[0].attach[0].data: not valid base64",
        id="item-attach-not-base64",
    ),
    pytest.param(
        {},
        {"data": {"email": ANN, "subscriptions": [{"resource_id": 9, "channel": "email"}]}},
        f"{SUB_PATH}.resource_id: no resource 9 in database 1",
        id="unknown-resource",
    ),
    pytest.param(
        {},
        {"data": {"email": ANN, "subscriptions": [{"resource_id": 1, "channel": "telegram"}]}},
        f'{SUB_PATH}.channel: resource 1 has channels email, push, sms, got "telegram"',
        id="unknown-channel",
    ),
    pytest.param(
        {},
        {
            "data": {
                "email": ANN,
                "subscriptions": [{"resource_id": 1, "channel": "email", "email": "nope"}],
            }
        },
        f'{SUB_PATH}.email: not a valid email: "nope"',
        id="subscription-email",
    ),
]


@pytest.mark.parametrize(("request_fields", "item", "error_text"), ITEM_ERRORS)
async def test_an_invalid_item_is_an_item_error_and_is_neither_stored_nor_engaged(
    api, request_fields, item, error_text
):
    results = await api.import_and_finish([item], **request_fields)

    assert results == [{"error": 400, "error_text": error_text}]
    assert profile_count(api) == 0
    assert engagements(api) == []


async def test_a_mixed_batch_gets_one_result_per_item_in_request_order(make_api):
    api = await make_api()  # polls, 2 steps: the items are processed over two polls
    items = [
        person(1),
        "not an item",
        {"data": {"email": "bad@", "_fname": "Bad"}},
        person(2),
        {"data": {"email": BOB, "Points": "many"}},
        person(3),
    ]

    task_id, results = await run_batch(api, items)

    ok_1, ok_2, ok_3 = (
        results[0]["profile_id"],
        results[3]["profile_id"],
        results[5]["profile_id"],
    )
    assert results == [
        {"profile_id": ok_1},
        {"error": 400, "error_text": "data[1]: expected an object, got string"},
        {"error": 400, "error_text": 'data[2].data.email: not a valid email: "bad@"'},
        {"profile_id": ok_2},
        {"error": 400, "error_text": 'data[4].data.Points: expected int, got string "many"'},
        {"profile_id": ok_3},
    ]
    assert len({ok_1, ok_2, ok_3}) == 3
    assert sorted(p["data"]["email"] for p in api.state.store.profiles()) == [
        "profile1@example.com",
        "profile2@example.com",
        "profile3@example.com",
    ]
    assert engagements(api) == [
        engagement(ok_1, task_id),
        engagement(ok_2, task_id),
        engagement(ok_3, task_id),
    ]


async def test_an_invalid_subscription_is_dropped_with_skip_invalid_subscriptions(api):
    good = {"resource_id": 1, "channel": "email", "email": ANN}
    item = {
        "data": {
            "email": ANN,
            "subscriptions": [
                {"resource_id": 9, "channel": "email", "email": ANN},
                good,
                {"resource_id": 1, "channel": "telegram"},
                {"resource_id": 1, "channel": "sms", "phone": "123"},
            ],
        }
    }

    profile_id = await import_one(api, item, skip_invalid_subscriptions=True)

    assert stored(api, profile_id) == {"email": ANN}
    assert stored_subscriptions(api, profile_id) == [{**good, "status": "subscribed"}]


# -- item shapes and merges ----------------------------------------------------------


async def test_a_flat_item_is_taken_as_profile_fields(api):
    flat = {"_fname": "Flat", "_lname": "Item", "email": ANN, "CRM_ID": "7"}

    created = await import_one(api, flat)
    again = await import_one(api, {"_fname": "Flatter", "email": ANN})

    assert again == created
    assert stored(api, created) == {
        "_fname": "Flatter",
        "_lname": "Item",
        "email": ANN,
        "CRM_ID": "7",
    }


async def test_a_flat_items_profile_id_is_its_key_not_a_field(api):
    """A flat item (profiles/import_batch's shape) names its profile by `profile_id`
    as a wrapped item does beside `data`: matched by it, never stored as a field."""
    created = await import_one(api, {"_fname": "Flat", "email": ANN})

    again = await import_one(
        api, {"profile_id": created, "_fname": "Renamed"}, matching="profile_id"
    )
    by_email = await import_one(api, {"profile_id": created, "_lname": "Item", "email": ANN})

    assert again == by_email == created
    assert stored(api, created) == {"_fname": "Renamed", "email": ANN, "_lname": "Item"}


async def test_subscriptions_merge_by_resource_and_channel(api):
    first = {
        "data": {
            "email": ANN,
            "subscriptions": [
                {"resource_id": 1, "channel": "email", "email": ANN},
                {"resource_id": 1, "channel": "sms", "phone": PHONE},
            ],
        }
    }
    created = await import_one(api, first)

    second = {
        "data": {
            "email": ANN,
            "subscriptions": [
                {"resource_id": 1, "channel": "email", "email": BOB, "status": "unsubscribed"},
                {"resource_id": 1, "channel": "push"},
            ],
        }
    }
    updated = await import_one(api, second)

    assert updated == created
    assert stored_subscriptions(api, created) == [
        {"resource_id": 1, "channel": "email", "email": BOB, "status": "unsubscribed"},
        {"resource_id": 1, "channel": "push", "status": "subscribed"},
        {"resource_id": 1, "channel": "sms", "phone": PHONE, "status": "subscribed"},
    ]


async def test_an_update_without_subscriptions_keeps_the_stored_ones(api):
    sub = {"resource_id": 1, "channel": "email", "email": ANN}
    created = await import_one(api, {"data": {"email": ANN, "subscriptions": [sub]}})

    await import_one(api, {"data": {"email": ANN, "_fname": "Ann"}})

    assert stored_subscriptions(api, created) == [{**sub, "status": "subscribed"}]


# -- detect_geo ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ips", "city", "country"),
    [
        pytest.param({"_regip": "77.88.1.2"}, "Moscow", "Russia", id="regip"),
        pytest.param({"_ip": "8.8.8.8"}, "Mountain View", "United States", id="ip"),
        pytest.param({"_regip": "2a02:6b8::1"}, "Moscow", "Russia", id="ipv6"),
        pytest.param(
            {"_regip": "77.88.1.2", "_ip": "8.8.8.8"}, "Moscow", "Russia", id="regip-first"
        ),
    ],
)
async def test_detect_geo_fills_city_and_country_from_the_fixture_table(api, ips, city, country):
    created = await import_one(api, {"data": {"email": ANN, **ips}}, detect_geo=True)

    assert stored(api, created) == {"email": ANN, **ips, "_city": city, "_country": country}


async def test_without_detect_geo_city_and_country_are_not_filled(api):
    created = await import_one(api, {"data": {"email": ANN, "_regip": "77.88.1.2"}})

    assert stored(api, created) == {"email": ANN, "_regip": "77.88.1.2"}


async def test_detect_geo_fills_nothing_for_an_ip_outside_the_table(api):
    item = {"data": {"email": ANN, "_regip": "192.0.2.1"}}

    created = await import_one(api, item, detect_geo=True)

    assert stored(api, created) == {"email": ANN, "_regip": "192.0.2.1"}


# -- what an engagement records ----------------------------------------------------


async def test_an_engagement_records_the_workflow_profile_and_task(api):
    create_task, [created] = await run_batch(api, [{"data": {"email": ANN}}])
    update_task, [updated] = await run_batch(api, [{"data": {"email": ANN, "_fname": "Ann"}}])

    assert updated == created
    assert engagements(api) == [
        engagement(created["profile_id"], create_task, created=True),
        engagement(created["profile_id"], update_task, created=False),
    ]


async def test_root_content_is_recorded_with_every_engagement(api):
    content = {"one": "My email = importStart9219@example.com", "two": "Timestamp: 1595512477"}

    task_id, results = await run_batch(api, [person(1), person(2)], content=content)

    assert engagements(api) == [
        engagement(results[0]["profile_id"], task_id, content=content),
        engagement(results[1]["profile_id"], task_id, content=content),
    ]


async def test_an_item_content_wins_over_the_root_content(api):
    items = [{**person(1), "content": {"one": "mine"}}, person(2)]

    task_id, results = await run_batch(api, items, content={"one": "root"})

    assert engagements(api) == [
        engagement(results[0]["profile_id"], task_id, content={"one": "mine"}),
        engagement(results[1]["profile_id"], task_id, content={"one": "root"}),
    ]


async def test_an_item_custom_data_wins_over_the_root_custom_data(api):
    items = [{**person(1), "custom_data": {"field": "item"}}, person(2)]

    task_id, results = await run_batch(api, items, custom_data={"field": "root", "other": 1})

    assert engagements(api) == [
        engagement(results[0]["profile_id"], task_id, custom_data={"field": "item"}),
        engagement(results[1]["profile_id"], task_id, custom_data={"field": "root", "other": 1}),
    ]


async def test_attachments_are_recorded_as_name_mimetype_and_decoded_size(api):
    root_file = b64(b"hello, world")
    item_file = b64(bytes(range(256)) * 4)
    attach = [{"name": "a.txt", "file_key": "k1", "data": root_file, "mimetype": "text/plain"}]
    items = [
        person(1),
        {**person(2), "attach": [{"name": "b.bin", "data": item_file}]},
    ]

    task_id, results = await run_batch(api, items, attach=attach)

    assert engagements(api) == [
        engagement(
            results[0]["profile_id"],
            task_id,
            attach=[{"name": "a.txt", "file_key": "k1", "mimetype": "text/plain", "size": 12}],
        ),
        engagement(
            results[1]["profile_id"],
            task_id,
            attach=[
                {
                    "name": "b.bin",
                    "file_key": None,
                    "mimetype": "application/octet-stream",
                    "size": 1024,
                }
            ],
        ),
    ]


async def test_an_item_attachment_whose_file_key_is_not_a_string_fails_that_item(api):
    # Only the request's own `attach` is checked by the schema; an item's is
    # checked by the import (the compiled build once answered a 500 here).
    bad = {"name": "a.txt", "data": b64(b"hi"), "file_key": 5}
    items = [{**person(1), "attach": [bad]}, person(2)]

    _, results = await run_batch(api, items)

    assert results[0] == {
        "error": 400,
        "error_text": "data[0].attach[0].file_key: expected a string, got integer",
    }
    assert "profile_id" in results[1]


async def test_attachment_data_is_not_kept_once_the_task_has_ended(api):
    root_file = b64(b"root attachment body")
    item_file = b64(b"item attachment body")
    items = [{**person(1), "attach": [{"name": "b.txt", "data": item_file}]}]

    await run_batch(api, items, attach=[{"name": "a.txt", "data": root_file}])

    kept = json.dumps([list(api.state.store.tasks()), list(api.state.store.engagements())])
    assert root_file not in kept
    assert item_file not in kept


@pytest.mark.parametrize("skip_triggers", [True, False])
async def test_skip_triggers_is_recorded_on_each_engagement(api, skip_triggers):
    task_id, results = await run_batch(api, [person(1), person(2)], skip_triggers=skip_triggers)

    assert engagements(api) == [
        engagement(results[0]["profile_id"], task_id, skip_triggers=skip_triggers),
        engagement(results[1]["profile_id"], task_id, skip_triggers=skip_triggers),
    ]


# -- _createtime ---------------------------------------------------------------------


async def test_the_store_sets_createtime_on_a_new_profile(api):
    created = await import_one(api, {"data": {"email": ANN}})

    createtime = api.state.store.profile(created)["data"]["_createtime"]
    assert isinstance(createtime, str)
    assert createtime.endswith("Z")
    assert datetime.fromisoformat(createtime.replace("Z", "+00:00")).year >= 2024


async def test_a_client_createtime_is_ignored_on_create(api):
    item = {"data": {"email": ANN, "_createtime": "2001-02-03T04:05:06Z"}}

    created = await import_one(api, item)

    data = api.state.store.profile(created)["data"]
    assert data["_createtime"] != "2001-02-03T04:05:06Z"
    assert stored(api, created) == {"email": ANN}


async def test_a_client_createtime_is_ignored_on_update(api):
    created = await import_one(api, {"data": {"email": ANN}})
    original = api.state.store.profile(created)["data"]["_createtime"]

    item = {"data": {"email": ANN, "_fname": "Ann", "_createtime": "2001-02-03T04:05:06Z"}}
    await import_one(api, item)

    assert api.state.store.profile(created)["data"] == {
        "email": ANN,
        "_fname": "Ann",
        "_createtime": original,
    }
