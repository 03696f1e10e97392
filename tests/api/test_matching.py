"""Matching: how an item of a batch finds its profile (SPEC §3, "Semantics per item").

Each matching mode creates a profile when nothing matches and updates the same
profile (same id) when one does: a given field replaces the stored one, fields
not given are kept. Then the keys themselves: emails compare case-insensitively
and trimmed, phones by digits and from `phones`, `phone` or the item; item-level
keys; tags; subscription-only emails and phones; several matches (the earliest
created wins); `profile_id` (update only) and `custom_request`.

The `api` fixture of this module runs tasks instantly (polling is covered
elsewhere). Tests assert whole per-item results and whole stored profiles.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockserver.config import ProgressionMode
from mockserver.schemas import fixtures_dir
from tests.helpers import BATCH_TASK, ApiClient

ANN = "ann@example.com"
BOB = "bob@example.com"
PHONE = "+79000000001"
PHONE_2 = "+79000000002"


def email_sub(email: str) -> dict[str, Any]:
    return {"resource_id": 1, "channel": "email", "email": email}


def sms_sub(phone: str) -> dict[str, Any]:
    return {"resource_id": 1, "channel": "sms", "phone": phone}


def subscribed(sub: dict[str, Any]) -> dict[str, Any]:
    """A subscription as stored: status `subscribed` unless given."""
    return {**sub, "status": "subscribed"}


# -- fixtures and helpers ----------------------------------------------------------


@pytest.fixture
async def api(make_api) -> ApiClient:
    """This module's client: tasks complete before the create call answers."""
    return await make_api(progression=ProgressionMode.INSTANT)


@pytest.fixture
def api_with_profiles(make_api, tmp_path):
    """`await api_with_profiles(profile, ...)`: the shipped fixtures plus profiles
    pre-loaded into db 1 in the order given (so in that creation order)."""

    async def build(*profiles: dict[str, Any]) -> ApiClient:
        extra = tmp_path / "profiles.json"
        profile_docs = [{"db_id": 1, **profile} for profile in profiles]
        extra.write_text(
            json.dumps({"accounts": [{"name": "default", "profiles": profile_docs}]}),
            encoding="utf-8",
        )
        return await make_api(
            progression=ProgressionMode.INSTANT, fixtures=(str(fixtures_dir()), str(extra))
        )

    return build


def stored(api: ApiClient, profile_id: str) -> dict[str, Any]:
    """A stored profile's fields, without the store-set `_createtime`."""
    profile = api.state.store.profile(profile_id)
    assert profile is not None, f"profile {profile_id} is not stored"
    return {name: value for name, value in profile["data"].items() if name != "_createtime"}


def stored_subscriptions(api: ApiClient, profile_id: str) -> list[dict[str, Any]]:
    profile = api.state.store.profile(profile_id)
    assert profile is not None, f"profile {profile_id} is not stored"
    return profile["subscriptions"]


def profile_count(api: ApiClient) -> int:
    return api.state.store.count_profiles()


async def import_one(api: ApiClient, item: Any, **request: Any) -> str:
    """Import one item that must succeed; return the id of its profile."""
    [result] = await api.import_and_finish([item], **request)
    assert list(result) == ["profile_id"], result
    return result["profile_id"]


async def import_by_query(
    api: ApiClient, items: list[Any], query: dict[str, Any]
) -> list[dict[str, Any]]:
    """Import with `custom_request` and no `matching`; return the per-item results."""
    answer = await api.call(BATCH_TASK, {"workflow_id": 2, "custom_request": query, "data": items})
    assert answer.body["error"] == 0, answer.body
    data = await api.run_to_end(answer.body["task_id"])
    assert data["status"] == "completed", data
    return data["result"]["result"]


# -- every mode: create when nothing matches, update the same profile when one does --

# (mode, extra request fields, the key as profile fields, subscriptions the mode
# needs to find the profile again, the key as stored)
MODES = [
    pytest.param("email", {}, {"email": ANN}, [], {"email": ANN}, id="email"),
    pytest.param("email_profile", {}, {"email": ANN}, [], {"email": ANN}, id="email_profile"),
    pytest.param("email_sub", {}, {"email": ANN}, [email_sub(ANN)], {"email": ANN}, id="email_sub"),
    pytest.param("phone", {}, {"phones": PHONE}, [], {"phones": [PHONE]}, id="phone"),
    pytest.param(
        "phone_sub", {}, {"phones": PHONE}, [sms_sub(PHONE)], {"phones": [PHONE]}, id="phone_sub"
    ),
    pytest.param(
        "email_phone",
        {},
        {"email": ANN, "phones": PHONE},
        [],
        {"email": ANN, "phones": [PHONE]},
        id="email_phone",
    ),
    pytest.param(
        "email_phone_sub",
        {},
        {"email": ANN, "phones": PHONE},
        [email_sub(ANN)],
        {"email": ANN, "phones": [PHONE]},
        id="email_phone_sub",
    ),
    pytest.param(
        "custom",
        {"field_name": "CRM_ID"},
        {"CRM_ID": "42"},
        [],
        {"CRM_ID": "42"},
        id="custom",
    ),
]


@pytest.mark.parametrize(("mode", "request_fields", "key", "subs", "stored_key"), MODES)
async def test_each_mode_creates_a_profile_when_nothing_matches(
    api, mode, request_fields, key, subs, stored_key
):
    item = {"data": {"_fname": "Ann", "_lname": "Lee", **key, "subscriptions": subs}}

    profile_id = await import_one(api, item, matching=mode, **request_fields)

    assert profile_count(api) == 1
    assert stored(api, profile_id) == {"_fname": "Ann", "_lname": "Lee", **stored_key}
    assert stored_subscriptions(api, profile_id) == [subscribed(sub) for sub in subs]


@pytest.mark.parametrize(("mode", "request_fields", "key", "subs", "stored_key"), MODES)
async def test_each_mode_updates_the_same_profile_when_one_matches(
    api, mode, request_fields, key, subs, stored_key
):
    first = {"data": {"_fname": "Ann", "_lname": "Lee", **key, "subscriptions": subs}}
    created = await import_one(api, first, matching=mode, **request_fields)

    second = {"data": {"_fname": "Anna", "Points": 7, **key}}
    updated = await import_one(api, second, matching=mode, **request_fields)

    assert updated == created
    assert profile_count(api) == 1
    # _fname given: replaced; _lname not given: kept; Points new: added.
    assert stored(api, created) == {"_fname": "Anna", "_lname": "Lee", "Points": 7, **stored_key}
    assert stored_subscriptions(api, created) == [subscribed(sub) for sub in subs]


async def test_profile_id_matching_updates_the_profile_with_that_id(api):
    created = await import_one(api, {"data": {"_fname": "Ann", "_lname": "Lee", "email": ANN}})

    item = {"profile_id": created, "data": {"_fname": "Anna"}}
    updated = await import_one(api, item, matching="profile_id")

    assert updated == created
    assert profile_count(api) == 1
    assert stored(api, created) == {"_fname": "Anna", "_lname": "Lee", "email": ANN}


async def test_profile_id_matching_with_an_unknown_id_is_an_item_error_and_creates_nothing(api):
    item = {"profile_id": "0123456789abcdef01234567", "data": {"_fname": "Ann", "email": ANN}}

    results = await api.import_and_finish([item], matching="profile_id")

    assert results == [{"error": 404, "error_text": "Profile not found"}]
    assert profile_count(api) == 0
    assert list(api.state.store.engagements()) == []


async def test_custom_request_creates_a_profile_when_the_query_selects_none(api):
    item = {"data": {"_fname": "Ann", "CRM_ID": "42"}}

    [result] = await import_by_query(api, [item], {"CRM_ID": "42"})

    assert list(result) == ["profile_id"]
    assert profile_count(api) == 1
    assert stored(api, result["profile_id"]) == {"_fname": "Ann", "CRM_ID": "42"}


async def test_custom_request_updates_the_profile_the_query_selects(api):
    first = {"data": {"_fname": "Ann", "_lname": "Lee", "CRM_ID": "42"}}
    created = await import_one(api, first, matching="custom", field_name="CRM_ID")

    results = await import_by_query(api, [{"data": {"_fname": "Anna"}}], {"CRM_ID": "42"})

    assert results == [{"profile_id": created}]
    assert profile_count(api) == 1
    assert stored(api, created) == {"_fname": "Anna", "_lname": "Lee", "CRM_ID": "42"}


async def test_custom_request_with_a_regex_selects_only_the_profiles_it_matches(api):
    bert = await import_one(api, {"data": {"_fname": "Bert", "email": BOB}})
    herbert = await import_one(api, {"data": {"_fname": "Herbert", "email": ANN}})

    query = {"_fname": {"$regex": "^Her"}}
    results = await import_by_query(api, [{"data": {"_lname": "Lambert"}}], query)

    assert results == [{"profile_id": herbert}]
    assert stored(api, herbert) == {"_fname": "Herbert", "email": ANN, "_lname": "Lambert"}
    assert stored(api, bert) == {"_fname": "Bert", "email": BOB}


# -- the item's key: where it comes from and how it is compared ----------------------

# (mode, extra request fields, item-level key, the key as stored)
ITEM_LEVEL_KEYS = [
    pytest.param("email", {}, {"email": ANN}, {"email": ANN}, id="email"),
    pytest.param("email_profile", {}, {"email": ANN}, {"email": ANN}, id="email_profile"),
    pytest.param("email_sub", {}, {"email": ANN}, {"email": ANN}, id="email_sub"),
    pytest.param("phone", {}, {"phone": PHONE}, {"phones": [PHONE]}, id="phone"),
    pytest.param("phone_sub", {}, {"phone": PHONE}, {"phones": [PHONE]}, id="phone_sub"),
    pytest.param("email_phone", {}, {"email": ANN}, {"email": ANN}, id="email_phone"),
    pytest.param("email_phone_sub", {}, {"phone": PHONE}, {"phones": [PHONE]}, id="e_p_sub"),
    pytest.param(
        "custom",
        {"field_name": "CRM_ID"},
        {"field_value": "42"},
        {"CRM_ID": "42"},
        id="custom",
    ),
]


@pytest.mark.parametrize(("mode", "request_fields", "item_key", "stored_key"), ITEM_LEVEL_KEYS)
async def test_a_new_profile_carries_its_item_level_key_and_the_same_item_finds_it_again(
    api, mode, request_fields, item_key, stored_key
):
    item = {**item_key, "data": {"_fname": "A"}}

    created = await import_one(api, item, matching=mode, **request_fields)
    again = await import_one(api, item, matching=mode, **request_fields)

    assert stored(api, created) == {"_fname": "A", **stored_key}
    assert again == created, "the same item sent again created a second profile"
    assert profile_count(api) == 1


async def test_an_item_level_email_wins_over_the_email_in_data_for_a_new_profile(api):
    item = {"email": ANN, "data": {"_fname": "A", "email": BOB}}

    created = await import_one(api, item)

    assert stored(api, created) == {"_fname": "A", "email": ANN}


async def test_emails_match_case_insensitively_and_trimmed(api):
    created = await import_one(api, {"data": {"_fname": "Ann", "email": ANN}})

    updated = await import_one(api, {"data": {"_fname": "Anna", "email": "  Ann@EXAMPLE.com "}})

    assert updated == created
    assert stored(api, created) == {"_fname": "Anna", "email": "Ann@EXAMPLE.com"}


async def test_a_new_profile_stores_its_email_trimmed(api):
    created = await import_one(api, {"data": {"email": f"  {ANN}\t"}})

    assert stored(api, created) == {"email": ANN}


async def test_a_new_profile_stores_its_phone_trimmed_and_the_trimmed_phone_matches(api):
    created = await import_one(api, {"data": {"phones": f" {PHONE}  "}}, matching="phone")
    again = await import_one(api, {"data": {"phones": PHONE}}, matching="phone")

    assert again == created
    assert stored(api, created) == {"phones": [PHONE]}


async def test_the_phone_of_a_phones_list_that_matches_is_its_first(api):
    created = await import_one(api, {"data": {"phones": PHONE}}, matching="phone")

    item = {"data": {"_fname": "Ann", "phones": [PHONE, PHONE_2]}}
    updated = await import_one(api, item, matching="phone")

    assert updated == created
    assert stored(api, created) == {"_fname": "Ann", "phones": [PHONE, PHONE_2]}


async def test_a_phone_later_in_a_phones_list_is_not_matched_by(api):
    existing = await import_one(api, {"data": {"phones": PHONE_2}}, matching="phone")

    created = await import_one(api, {"data": {"phones": [PHONE, PHONE_2]}}, matching="phone")

    assert created != existing
    assert profile_count(api) == 2


async def test_a_phone_in_data_phone_is_matched_by_and_stored_as_phones(api):
    item = {"data": {"_fname": "Ann", "phone": PHONE}}

    created = await import_one(api, item, matching="phone")
    again = await import_one(api, item, matching="phone")

    assert again == created
    assert stored(api, created) == {"_fname": "Ann", "phones": [PHONE]}


async def test_phone_matching_finds_a_profile_by_any_of_its_phones(api):
    item = {"data": {"_fname": "Ann", "phones": [PHONE_2, PHONE]}}
    created = await import_one(api, item, matching="phone")

    updated = await import_one(api, {"data": {"_lname": "Lee", "phone": PHONE}}, matching="phone")

    assert updated == created
    assert stored(api, created) == {"_fname": "Ann", "phones": [PHONE], "_lname": "Lee"}


async def test_phones_compare_by_digits(api_with_profiles):
    api = await api_with_profiles(
        {
            "id": "aaaaaaaaaaaaaaaaaaaaaaaa",
            "data": {"_fname": "Ann", "phones": ["+7 (900) 000-00-01"]},
        }
    )

    updated = await import_one(api, {"data": {"_lname": "Lee", "phones": PHONE}}, matching="phone")

    assert updated == "aaaaaaaaaaaaaaaaaaaaaaaa"
    assert profile_count(api) == 1
    assert stored(api, updated) == {"_fname": "Ann", "_lname": "Lee", "phones": [PHONE]}


async def test_custom_matching_takes_an_item_level_field_value_over_the_data(api):
    first = {"data": {"_fname": "Ann", "CRM_ID": "42"}}
    created = await import_one(api, first, matching="custom", field_name="CRM_ID")

    item = {"field_value": "42", "data": {"_fname": "Anna"}}
    updated = await import_one(api, item, matching="custom", field_name="CRM_ID")

    assert updated == created
    assert stored(api, created) == {"_fname": "Anna", "CRM_ID": "42"}


# -- tags --------------------------------------------------------------------------


async def test_custom_tags_value_matches_the_profile_holding_all_those_tags(api):
    by_crm = {"matching": "custom", "field_name": "CRM_ID"}
    one_tag = await import_one(api, {"data": {"CRM_ID": "a", "Tags": "tag-1"}}, **by_crm)
    all_tags = await import_one(
        api, {"data": {"CRM_ID": "b", "Tags": "tag-1, tag-2, tag-3"}}, **by_crm
    )

    item = {"field_value": "tag-1, tag-2", "data": {"_fname": "Tagged"}}
    updated = await import_one(api, item, matching="custom", field_name="Tags")

    assert updated == all_tags
    assert profile_count(api) == 2
    assert stored(api, all_tags) == {
        "CRM_ID": "b",
        "Tags": ["tag-1", "tag-2", "tag-3"],
        "_fname": "Tagged",
    }
    assert stored(api, one_tag) == {"CRM_ID": "a", "Tags": ["tag-1"]}


async def test_custom_tags_value_does_not_match_a_profile_holding_only_one_of_the_tags(api):
    one_tag = await import_one(
        api, {"data": {"CRM_ID": "a", "Tags": "tag-1"}}, matching="custom", field_name="CRM_ID"
    )

    item = {"data": {"_fname": "Tagged", "Tags": "tag-1, tag-2"}}
    created = await import_one(api, item, matching="custom", field_name="Tags")

    assert created != one_tag
    assert profile_count(api) == 2
    assert stored(api, created) == {"_fname": "Tagged", "Tags": ["tag-1", "tag-2"]}
    assert stored(api, one_tag) == {"CRM_ID": "a", "Tags": ["tag-1"]}


# -- emails and phones that live only in a subscription --------------------------------


async def test_email_matching_finds_a_profile_whose_email_is_only_in_a_subscription(api):
    seed = {"data": {"_fname": "Sub", "phones": PHONE, "subscriptions": [email_sub(ANN)]}}
    created = await import_one(api, seed, matching="phone")

    updated = await import_one(api, {"data": {"_lname": "Lee", "email": ANN.upper()}})

    assert updated == created
    assert profile_count(api) == 1
    assert stored(api, created) == {
        "_fname": "Sub",
        "phones": [PHONE],
        "_lname": "Lee",
        "email": ANN.upper(),
    }


async def test_email_profile_matching_ignores_an_email_that_is_only_in_a_subscription(api):
    seed = {"data": {"_fname": "Sub", "phones": PHONE, "subscriptions": [email_sub(ANN)]}}
    existing = await import_one(api, seed, matching="phone")

    created = await import_one(
        api, {"data": {"_lname": "Lee", "email": ANN}}, matching="email_profile"
    )

    assert created != existing
    assert profile_count(api) == 2
    assert stored(api, created) == {"_lname": "Lee", "email": ANN}
    assert stored(api, existing) == {"_fname": "Sub", "phones": [PHONE]}


async def test_phone_matching_finds_a_profile_whose_phone_is_only_in_an_sms_subscription(api):
    seed = {"data": {"_fname": "Sub", "email": ANN, "subscriptions": [sms_sub(PHONE)]}}
    created = await import_one(api, seed)

    updated = await import_one(api, {"data": {"_lname": "Lee", "phones": PHONE}}, matching="phone")

    assert updated == created
    assert profile_count(api) == 1
    assert stored(api, created) == {
        "_fname": "Sub",
        "email": ANN,
        "_lname": "Lee",
        "phones": [PHONE],
    }


async def test_email_phone_matching_falls_back_to_the_phone_when_the_email_matches_none(api):
    created = await import_one(api, {"data": {"_fname": "Ann", "phones": PHONE}}, matching="phone")

    item = {"data": {"_lname": "Lee", "email": ANN, "phones": PHONE}}
    updated = await import_one(api, item, matching="email_phone")

    assert updated == created
    assert profile_count(api) == 1
    assert stored(api, created) == {
        "_fname": "Ann",
        "phones": [PHONE],
        "_lname": "Lee",
        "email": ANN,
    }


async def test_email_phone_matching_prefers_the_email_match_over_the_phone_match(api):
    by_email = await import_one(api, {"data": {"_fname": "Ann", "email": ANN}})
    by_phone = await import_one(api, {"data": {"_fname": "Bob", "phones": PHONE}}, matching="phone")

    item = {"data": {"_lname": "Lee", "email": ANN, "phones": PHONE}}
    updated = await import_one(api, item, matching="email_phone")

    assert updated == by_email
    assert stored(api, by_email) == {
        "_fname": "Ann",
        "email": ANN,
        "_lname": "Lee",
        "phones": [PHONE],
    }
    assert stored(api, by_phone) == {"_fname": "Bob", "phones": [PHONE]}


# -- several matches, and matches within one batch -----------------------------------

FIRST_ID = "ffffffffffffffffffffffff"  # created first, though its id sorts last
SECOND_ID = "000000000000000000000001"


@pytest.mark.parametrize(
    "request_fields",
    [
        pytest.param({"matching": "email"}, id="email"),
        pytest.param({"matching": "custom", "field_name": "CRM_ID"}, id="custom"),
    ],
)
async def test_when_several_profiles_match_the_earliest_created_is_updated(
    api_with_profiles, request_fields
):
    twin = {"email": ANN, "CRM_ID": "42"}
    api = await api_with_profiles(
        {"id": FIRST_ID, "data": {"_fname": "First", **twin}},
        {"id": SECOND_ID, "data": {"_fname": "Second", **twin}},
    )

    item = {"data": {"_lname": "Lee", **twin}}
    updated = await import_one(api, item, **request_fields)

    assert updated == FIRST_ID
    assert stored(api, FIRST_ID) == {"_fname": "First", "_lname": "Lee", **twin}
    assert stored(api, SECOND_ID) == {"_fname": "Second", **twin}


async def test_when_a_custom_request_selects_several_profiles_the_earliest_created_is_updated(
    api_with_profiles,
):
    api = await api_with_profiles(
        {"id": FIRST_ID, "data": {"_fname": "First", "CRM_ID": "42"}},
        {"id": SECOND_ID, "data": {"_fname": "Second", "CRM_ID": "42"}},
    )

    results = await import_by_query(api, [{"data": {"_lname": "Lee"}}], {"CRM_ID": "42"})

    assert results == [{"profile_id": FIRST_ID}]
    assert stored(api, FIRST_ID) == {"_fname": "First", "CRM_ID": "42", "_lname": "Lee"}
    assert stored(api, SECOND_ID) == {"_fname": "Second", "CRM_ID": "42"}


async def test_a_custom_request_batch_updates_the_profile_its_first_item_created(api):
    items = [{"data": {"_fname": "Ann", "CRM_ID": "42"}}, {"data": {"_lname": "Lee"}}]

    first, second = await import_by_query(api, items, {"CRM_ID": "42"})

    assert first == second
    assert profile_count(api) == 1
    assert stored(api, first["profile_id"]) == {"_fname": "Ann", "CRM_ID": "42", "_lname": "Lee"}


async def test_a_custom_request_item_that_unselects_its_profile_moves_later_items_on(
    api_with_profiles,
):
    """Within one batch, an item that changes the selected profile so the query no
    longer selects it hands the next item the next earliest profile."""
    api = await api_with_profiles(
        {"id": FIRST_ID, "data": {"_fname": "First", "CRM_ID": "42"}},
        {"id": SECOND_ID, "data": {"_fname": "Second", "CRM_ID": "42"}},
    )
    items = [{"data": {"CRM_ID": "43"}}, {"data": {"CRM_ID": "43"}}, {"data": {"_lname": "New"}}]

    results = await import_by_query(api, items, {"CRM_ID": "42"})

    assert results[:2] == [{"profile_id": FIRST_ID}, {"profile_id": SECOND_ID}]
    assert results[2]["profile_id"] not in (FIRST_ID, SECOND_ID)  # none left: created
    assert stored(api, results[2]["profile_id"]) == {"_lname": "New"}
    assert profile_count(api) == 3


async def test_a_later_item_of_a_polled_batch_finds_the_profile_an_earlier_item_created(
    make_api,
):
    api = await make_api()  # polls, 2 steps: the two items are processed by different polls
    items = [
        {"data": {"_fname": "Ann", "email": ANN}},
        {"data": {"_lname": "Lee", "email": ANN.upper()}},
    ]

    first, second = await api.import_and_finish(items)

    assert second == first
    assert profile_count(api) == 1
    assert stored(api, first["profile_id"]) == {
        "_fname": "Ann",
        "_lname": "Lee",
        "email": ANN.upper(),
    }
