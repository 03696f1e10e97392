"""Inputs as real clients send them (SPEC §3): phones as people write them,
subscription statuses as numbers, attachments as data URIs.

Each shape was sent by a public third-party client or is shown on a vendor
page; each is accepted on the one import path, whatever the method.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from mockserver.domain.values import INVALID_PHONE
from tests.helpers import BATCH_TASK, ApiClient, engagements, ok_body, profiles

CANONICAL = "+79001234567"
#: How the same phone arrives: a Java client's bare digits, CRM exports.
WRITTEN = ["79001234567", "+7 (900) 123-45-67", "7-900-123-45-67", " 7.900.123.45.67", CANONICAL]


async def stored(api: ApiClient, **lookup: Any) -> dict[str, Any]:
    return (await ok_body(api, "profiles/get", {"db_id": 1, **lookup}))["data"]


# -- phones --------------------------------------------------------------------------


@pytest.mark.parametrize("written", WRITTEN)
async def test_a_written_phone_is_stored_and_read_back_canonical(api, written):
    imported = await ok_body(
        api, "profiles/import", {"db_id": 1, "matching": "phone", "phone": written, "data": {}}
    )
    profile = await stored(api, matching="phone", phone=CANONICAL)
    assert (profile["id"], profile["phones"]) == (imported["profile_id"], [CANONICAL])


@pytest.mark.parametrize(
    "mode", ["phone", "phone_sub", "email_phone", "email_phone_sub"], ids=lambda m: m
)
async def test_every_phone_mode_matches_the_same_phone_however_written(api, mode):
    # The first item creates the profile (by its SMS subscription for *_sub),
    # every later one finds it.
    items = [
        {
            "phone": written,
            "data": {
                "subscriptions": [
                    {"resource_id": 1, "channel": "sms", "phone": written, "status": 0}
                ]
            },
        }
        for written in WRITTEN
    ]
    results = await api.import_and_finish(items, matching=mode)
    assert len({result["profile_id"] for result in results}) == 1, results


@pytest.mark.parametrize(
    ("where", "item"),
    [
        ("data.phones", {"data": {"email": "a@example.com", "phones": "79001234567"}}),
        ("data.phones list", {"data": {"email": "a@example.com", "phones": ["8 (900) 1234567"]}}),
        ("item phone", {"phone": "7 900 123 45 67", "data": {"email": "a@example.com"}}),
        ("data.phone", {"data": {"email": "a@example.com", "phone": "7-900-123-45-67"}}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_phones_are_canonical_wherever_the_item_carries_them(api, where, item):
    matching = "phone" if where in ("item phone", "data.phone") else "email"
    [result] = await api.import_and_finish([item], matching=matching)
    profile = api.state.store.profile(result["profile_id"])
    assert profile is not None
    assert all(phone.startswith("+") and phone[1:].isdigit() for phone in profile["data"]["phones"])


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "viber"])
async def test_phone_subscriptions_are_stored_canonical(api, channel):
    # Resource 24 of the shipped fixture offers every phone channel.
    subscription = {"resource_id": 24, "channel": channel, "phone": "8 (900) 123-45-67"}
    body = {"db_id": 1, "email": "ann@example.com", "data": {"subscriptions": [subscription]}}
    await ok_body(api, "profiles/import", body)
    [sub] = (await stored(api, email="ann@example.com"))["subscriptions"]
    assert (sub["channel"], sub["phone"]) == (channel, "+89001234567")


async def test_a_root_phone_of_a_one_profile_request_is_canonical(api):
    body = {"workflow_id": 1, "matching": "phone", "phone": "79001234567", "data": {}}
    created = await ok_body(api, "workflows/import_and_start", body)
    again = await ok_body(api, "workflows/import_and_start", {**body, "phone": CANONICAL})
    assert created["profile_id"] == again["profile_id"]
    listed = await profiles(api, phone="7 900 123 45 67")
    assert [p["data"]["phones"] for p in listed["profiles"]] == [[CANONICAL]]


@pytest.mark.parametrize(
    "bad",
    ["+7 900 CALL-ME", "12345", "1234567890123456", "+7900+1234567", "+٣٣٣٣٣٣٣٣", "()"],
)
async def test_letters_or_a_digit_count_outside_7_to_15_are_item_errors(api, bad):
    results = await api.import_and_finish(
        [{"data": {"email": "a@example.com", "phones": bad}}, {"data": {"email": "b@example.com"}}]
    )
    assert results[0] == {
        "error": 400,
        "error_text": f"data[0].data.phones: {INVALID_PHONE}: {_json(bad)}",
    }
    assert "profile_id" in results[1]


async def test_a_bad_root_phone_is_the_request_error(api):
    body = {"db_id": 1, "matching": "phone", "phone": "call me", "data": {}}
    answer = await api.call("profiles/import", body)
    assert answer.body == {
        "error": 400,
        "error_debug": f'phone: {INVALID_PHONE}: "call me"',
        "error_text": "Invalid request",
    }


def _json(value: str) -> str:
    return orjson.dumps(value).decode()


# -- subscription status -------------------------------------------------------------

#: The vendor's "Subscription status" object: "Both word and numeric values are valid."
STATUS_CODES = [
    (0, "subscribed"),
    (1, "unsubscribed"),
    (2, "complained"),
    (3, "hardbounced"),
    (4, "unconfirmed"),
    (5, "suspended"),
    (6, "invalid"),
]


@pytest.mark.parametrize("sent", ["code", "word"])
@pytest.mark.parametrize(("code", "word"), STATUS_CODES)
async def test_a_status_code_or_word_is_stored_as_the_word(api, code, word, sent):
    status = code if sent == "code" else word
    sub = {"resource_id": 1, "channel": "email", "email": "ann@example.com", "status": status}
    await ok_body(
        api,
        "profiles/import",
        {"db_id": 1, "data": {"email": "ann@example.com", "subscriptions": [sub]}},
    )
    [kept] = (await stored(api, email="ann@example.com"))["subscriptions"]
    assert kept["status"] == word


@pytest.mark.parametrize("bad", [7, -1, "0", True, "active", 1.5, [0]])
async def test_an_unknown_status_is_an_item_error_naming_the_field(api, bad):
    sub = {"resource_id": 1, "channel": "email", "email": "ann@example.com", "status": bad}
    [result] = await api.import_and_finish(
        [{"data": {"email": "ann@example.com", "subscriptions": [sub]}}]
    )
    assert result["error"] == 400
    assert result["error_text"].startswith(
        "invalid subscription: data[0].data.subscriptions[0].status: expected a status word or code"
    ), result
    assert "0 (subscribed)" in result["error_text"]


async def test_an_unknown_status_is_dropped_with_skip_invalid_subscriptions(api):
    sub = {"resource_id": 1, "channel": "email", "email": "ann@example.com", "status": 9}
    [result] = await api.import_and_finish(
        [{"data": {"email": "ann@example.com", "subscriptions": [sub]}}],
        skip_invalid_subscriptions=True,
    )
    profile = api.state.store.profile(result["profile_id"])
    assert profile is not None and profile["subscriptions"] == []


async def test_a_subscription_without_channel_takes_it_from_its_address(api):
    # The vendor's workflows/import_and_start example subscribes by email with no
    # channel; its profiles/import_batch example nests the address in `email_data`.
    subs = [
        {"email": "Ann@Example.com ", "resource_id": 7},
        {"email_data": {"email": "ann@example.com"}, "resource_id": 2},
        {"phone": "79001234567", "resource_id": 24},
    ]
    await ok_body(
        api,
        "profiles/import",
        {"db_id": 1, "email": "ann@example.com", "data": {"subscriptions": subs}},
    )
    kept = (await stored(api, email="ann@example.com"))["subscriptions"]
    assert [(s["resource_id"], s["channel"], s.get("email") or s.get("phone")) for s in kept] == [
        (7, "email", "Ann@Example.com"),
        (2, "email", "ann@example.com"),
        (24, "sms", CANONICAL),
    ]
    # Found again by the subscription's email.
    found = await stored(api, matching="email_sub", email="ann@example.com")
    assert found["subscriptions"] == kept


# -- attachments ---------------------------------------------------------------------

PDF = b"%PDF-1.4 tiny"
PDF_B64 = base64.b64encode(PDF).decode()


@pytest.mark.parametrize(
    ("attachment", "mimetype"),
    [
        ({"name": "a.pdf", "data": f"data:application/pdf;base64,{PDF_B64}"}, "application/pdf"),
        ({"name": "a.pdf", "data": PDF_B64, "mimetype": "application/pdf"}, "application/pdf"),
        ({"name": "a.bin", "data": PDF_B64}, "application/octet-stream"),
        # An explicit mimetype wins over the URI's.
        (
            {
                "name": "a.pdf",
                "data": f"data:text/plain;base64,{PDF_B64}",
                "mimetype": "application/pdf",
            },
            "application/pdf",
        ),
        (
            {"name": "a.pdf", "data": f"data:application/pdf;name=a.pdf;base64,{PDF_B64}"},
            "application/pdf",
        ),
        ({"name": "a.pdf", "data": f"data:;base64,{PDF_B64}"}, "application/octet-stream"),
        # MIME encoders wrap base64 at 76 columns.
        ({"name": "a.pdf", "data": f"{PDF_B64[:8]}\r\n{PDF_B64[8:]}"}, "application/octet-stream"),
    ],
    ids=[
        "data-uri",
        "bare",
        "bare-no-type",
        "explicit-type-wins",
        "uri-params",
        "uri-no-type",
        "wrapped",
    ],
)
async def test_an_attachment_is_taken_as_a_data_uri_or_bare_base64(api, attachment, mimetype):
    body = {"workflow_id": 1, "email": "ann@example.com", "data": {}, "attach": [attachment]}
    await ok_body(api, "workflows/import_and_start", body)
    [record] = (await engagements(api, source="workflows/import_and_start"))["engagements"]
    assert record["attach"] == [
        {"name": attachment["name"], "file_key": None, "mimetype": mimetype, "size": len(PDF)}
    ]


BROKEN_URIS = [
    (
        "data:application/pdf,JVBERi0=",
        "attach[0].data: a data URI must be base64 (data:<mimetype>;base64,...)",
    ),
    (
        "data:application/pdf;base64",
        "attach[0].data: not a valid data URI (data:<mimetype>;base64,<payload>)",
    ),
    ("data:application/pdf;base64,JVBER!!", "attach[0].data: not valid base64"),
    ("not base64 at all", "attach[0].data: not valid base64"),
]


@pytest.mark.parametrize(("data", "debug"), BROKEN_URIS)
async def test_a_broken_attachment_is_a_400_naming_the_field(api, data, debug):
    body = {
        "workflow_id": 1,
        "email": "ann@example.com",
        "data": {},
        "attach": [{"name": "a", "data": data}],
    }
    answer = await api.call("workflows/import_and_start", body)
    assert answer.body == {"error": 400, "error_debug": debug, "error_text": "Invalid request"}
    assert (await profiles(api))["total"] == 0


@pytest.mark.parametrize(("data", "debug"), BROKEN_URIS)
async def test_a_broken_item_attachment_is_an_item_error_of_the_task(api, data, debug):
    items = [
        {"data": {"email": "ann@example.com"}, "attach": [{"name": "a", "data": data}]},
        {
            "data": {"email": "bob@example.com"},
            "attach": [{"name": "b", "data": f"data:application/pdf;base64,{PDF_B64}"}],
        },
    ]
    answer = await api.call(BATCH_TASK, {"workflow_id": 2, "data": items})
    results = (await api.run_to_end(answer.body["task_id"]))["result"]["result"]
    assert results[0] == {
        "error": 400,
        "error_text": debug.replace("attach[0]", "data[0].attach[0]"),
    }
    assert "profile_id" in results[1]


# -- found by a black-box review ------------------------------------------------------


async def test_a_data_phone_is_one_more_canonical_phone_whatever_the_matching(api):
    body = {"db_id": 1, "data": {"email": "b6@example.com", "phone": "+7 (900) 000-00-66"}}
    await ok_body(api, "profiles/import", body)
    profile = await stored(api, matching="phone", phone="79000000066")
    assert (profile["email"], profile["phones"]) == ("b6@example.com", ["+79000000066"])
    assert "phone" not in profile


async def test_a_data_phone_with_letters_is_an_item_error(api):
    body = {"workflow_id": 1, "email": "a@example.com", "data": {"phone": "abc"}}
    answer = await api.call("workflows/import_and_start", body)
    assert answer.body["error_debug"] == f'data.phone: {INVALID_PHONE}: "abc"'


async def test_phones_written_twice_are_kept_once_and_numbers_are_phones(api):
    phones = ["79001239999", "+7 900 123 99 99", 79001230000]
    await ok_body(
        api, "profiles/import", {"db_id": 1, "email": "a@example.com", "data": {"phones": phones}}
    )
    assert (await stored(api, email="a@example.com"))["phones"] == ["+79001239999", "+79001230000"]


@pytest.mark.parametrize("bad", [True, 7.5, -79001234567, {"n": 1}])
async def test_a_phone_of_another_type_is_refused_naming_it(api, bad):
    body = {"db_id": 1, "email": "a@example.com", "data": {"phones": [bad]}}
    answer = await api.call("profiles/import", body)
    assert answer.body["error"] == 400
    assert answer.body["error_debug"].startswith("data.phones[0]: expected a string"), answer.body


async def test_a_null_status_is_subscribed_like_an_absent_one(api):
    sub = {"resource_id": 1, "channel": "email", "email": "ann@example.com", "status": None}
    await ok_body(
        api,
        "profiles/import",
        {"db_id": 1, "data": {"email": "ann@example.com", "subscriptions": [sub]}},
    )
    [kept] = (await stored(api, email="ann@example.com"))["subscriptions"]
    assert kept["status"] == "subscribed"


@pytest.mark.parametrize(
    "data",
    [f"DATA:application/pdf;BASE64,{PDF_B64}", f"  data:application/pdf;base64,{PDF_B64} "],
)
async def test_a_data_uri_is_read_whatever_the_case_and_surrounding_space(api, data):
    body = {
        "workflow_id": 1,
        "email": "a@example.com",
        "data": {},
        "attach": [{"name": "a", "data": data}],
    }
    await ok_body(api, "workflows/import_and_start", body)
    [record] = (await engagements(api))["engagements"]
    assert record["attach"][0]["mimetype"] == "application/pdf"


async def test_a_data_uri_with_a_malformed_mimetype_is_refused(api):
    attach = [{"name": "a", "data": "data:not a mime;base64,SEVMTE8K"}]
    body = {"workflow_id": 1, "email": "a@example.com", "data": {}, "attach": attach}
    answer = await api.call("workflows/import_and_start", body)
    assert (
        answer.body["error_debug"] == 'attach[0].data: not a valid data URI: mimetype "not a mime"'
    )


async def test_fixture_subscriptions_are_stored_as_imports_store_them(make_api, tmp_path):
    profile = {
        "db_id": 1,
        "data": {"email": "fx@example.com"},
        "subscriptions": [
            {"resource_id": 24, "channel": "whatsapp", "phone": "7 900 111 00 98", "status": 3}
        ],
    }
    api = await make_api()
    answer = await api.control(
        "POST", "/_mock/fixtures", json={"accounts": [{"name": "default", "profiles": [profile]}]}
    )
    assert answer.status == 200, answer.body
    [sub] = (await stored(api, email="fx@example.com"))["subscriptions"]
    assert (sub["phone"], sub["status"]) == ("+79001110098", "hardbounced")
