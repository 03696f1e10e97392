"""One request item made ready to import (mockserver/domain/items.py; SPEC §3 "Items",
§8 for the one-profile requests): valid shapes and what they become, and every
refusal with its exact text and field path. Pure functions: no server."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.domain.catalog import Account, Database, FieldType, GeoEntry, Resource
from mockserver.domain.items import (
    AttachmentSummary,
    ImportOptions,
    ItemContext,
    ItemFailure,
    PreparedItem,
    fields_for_new_profile,
    prepare_item,
    root_item,
    root_key_problem,
    subscription_status,
    summarize_attachments,
)
from mockserver.domain.matching import MatchingMode, MatchKey
from mockserver.domain.values import ValueProblem

EMAIL, PHONE, CUSTOM = MatchingMode.EMAIL, MatchingMode.PHONE, MatchingMode.CUSTOM
MAIN = Database(
    1, "Main", {"Points": FieldType.INT, "tags": FieldType.TAGS, "CRM_ID": FieldType.STRING}
)
#: A database that declares its own `phone` field (then not one more of `phones`).
OWN_PHONE = Database(2, "Own phone", {"phone": FieldType.STRING})
ACCOUNT = Account(
    "default",
    ("token",),
    databases={1: MAIN, 2: OWN_PHONE},
    resources={
        3: Resource(3, 1, "SMS", frozenset({"sms"})),
        1: Resource(1, 1, "Mail and SMS", frozenset({"email", "sms"})),
        2: Resource(2, 2, "Mail of the other database", frozenset({"email"})),
    },
)
GEO = (GeoEntry("10.0.0.0/8", "Moscow", "Russia"),)
STATUS_CHOICES = (
    "one of 0 (subscribed), 1 (unsubscribed), 2 (complained), 3 (hardbounced), "
    "4 (unconfirmed), 5 (suspended), 6 (invalid)"
)
PHONE_RULE = "not a valid phone (7-15 digits; + ( ) - . and spaces allowed)"


def context(database: Database = MAIN, **options: Any) -> ItemContext:
    return ItemContext(ACCOUNT, database, ImportOptions(**options), GEO)


def by_email(email: str) -> MatchKey:
    return MatchKey(EMAIL, email=email)


def prepared(fields: dict[str, Any], key: MatchKey | None, **rest: Any) -> PreparedItem:
    """What prepare_item returns, with the defaults of an item that carries only `data`."""
    return PreparedItem(
        fields,
        rest.pop("subscriptions", []),
        key,
        rest.pop("content", None),
        rest.pop("custom_data", None),
        **rest,
    )


# -- prepare_item: valid items -----------------------------------------------------------

REQUEST_ATTACH = (AttachmentSummary("request.txt", "text/plain", 2),)

VALID = [
    (
        "reference-shape",
        {"data": {"_fname": "Herbert", "email": "profile5@example.com", "phones": "+79000000000"}},
        {},
        prepared(
            {"_fname": "Herbert", "email": "profile5@example.com", "phones": ["+79000000000"]},
            by_email("profile5@example.com"),
        ),
    ),
    (
        "trimmed-and-canonical",
        {"data": {"email": " A@Example.com ", "_fname": " Ann ", "phones": ["7 (900) 123-45-67"]}},
        {},
        prepared(
            {"email": "A@Example.com", "_fname": "Ann", "phones": ["+79001234567"]},
            by_email("A@Example.com"),
        ),
    ),
    (
        "flat-fields",  # profiles/import_batch: no `data`, the item is the profile
        {"email": "a@x.io", "_fname": "Flat"},
        {},
        prepared({"email": "a@x.io", "_fname": "Flat"}, by_email("a@x.io")),
    ),
    (
        "createtime-ignored",
        {"data": {"email": "a@x.io", "_createtime": "2020-01-01"}},
        {},
        prepared({"email": "a@x.io"}, by_email("a@x.io")),
    ),
    (
        "undeclared-field-as-given",
        {"data": {"email": "a@x.io", "Anything": {"nested": [1]}}},
        {},
        prepared({"email": "a@x.io", "Anything": {"nested": [1]}}, by_email("a@x.io")),
    ),
    (
        "typed-custom-field",
        {"data": {"email": "a@x.io", "Points": 5, "tags": "a, b"}},
        {},
        prepared({"email": "a@x.io", "Points": 5, "tags": ["a", "b"]}, by_email("a@x.io")),
    ),
    (
        "sex-int-or-string",
        {"data": {"email": "a@x.io", "_sex": 0, "_lname": None}},
        {},
        prepared({"email": "a@x.io", "_sex": 0, "_lname": None}, by_email("a@x.io")),
    ),
    (
        "phone-field-joins-phones",
        {"data": {"email": "a@x.io", "phones": ["+79000000001"], "phone": "79000000002"}},
        {},
        prepared(
            {"email": "a@x.io", "phones": ["+79000000001", "+79000000002"]}, by_email("a@x.io")
        ),
    ),
    (
        "phone-field-already-in-phones",
        {"data": {"email": "a@x.io", "phones": "+79000000001", "phone": "+7 900 000 00 01"}},
        {},
        prepared({"email": "a@x.io", "phones": ["+79000000001"]}, by_email("a@x.io")),
    ),
    (
        "item-email-wins-over-data",
        {"email": " b@x.io ", "data": {"email": "a@x.io"}},
        {},
        prepared({"email": "a@x.io"}, by_email("b@x.io")),
    ),
    (
        "phone-from-first-of-phones",
        {"data": {"phones": ["+79000000001", "+79000000002"]}},
        {"matching": PHONE},
        prepared(
            {"phones": ["+79000000001", "+79000000002"]}, MatchKey(PHONE, phone="+79000000001")
        ),
    ),
    (
        "phone-from-data-phone",
        {"data": {"phone": "8 900 000-00-01"}},
        {"matching": PHONE},
        prepared({"phones": ["+89000000001"]}, MatchKey(PHONE, phone="+89000000001")),
    ),
    (
        "item-phone",
        {"phone": "79000000003", "data": {"_fname": "P"}},
        {"matching": PHONE},
        prepared({"_fname": "P"}, MatchKey(PHONE, phone="+79000000003")),
    ),
    (
        "email-phone-either",
        {"data": {"phones": "+79000000001"}},
        {"matching": MatchingMode.EMAIL_PHONE},
        prepared(
            {"phones": ["+79000000001"]},
            MatchKey(MatchingMode.EMAIL_PHONE, phone="+79000000001"),
        ),
    ),
    (
        "profile-id-lowered",
        {"profile_id": " ABCDEF ", "data": {}},
        {"matching": MatchingMode.PROFILE_ID},
        prepared({}, MatchKey(MatchingMode.PROFILE_ID, profile_id="abcdef")),
    ),
    (
        "custom-from-data",
        {"data": {"CRM_ID": "c-1"}},
        {"matching": CUSTOM, "field_name": "CRM_ID"},
        prepared({"CRM_ID": "c-1"}, MatchKey(CUSTOM, field="CRM_ID", field_value="c-1")),
    ),
    (
        "custom-field-value-typed",  # a tags field is searched by "tag-1, tag-2"
        {"field_value": "tag-1, tag-2", "data": {}},
        {"matching": CUSTOM, "field_name": "tags"},
        prepared({}, MatchKey(CUSTOM, field="tags", field_value=["tag-1", "tag-2"])),
    ),
    (
        "custom-request-no-key",
        {"data": {"_fname": "Q"}},
        {"matching": None, "custom_request": {"_fname": "Q"}},
        prepared({"_fname": "Q"}, None),
    ),
    (
        "email-sub-subscribes-new-profiles",  # on the database's first resource with email
        {"data": {"email": "a@x.io"}},
        {"matching": MatchingMode.EMAIL_SUB},
        prepared(
            {"email": "a@x.io"},
            MatchKey(MatchingMode.EMAIL_SUB, email="a@x.io"),
            key_subscription={
                "resource_id": 1,
                "channel": "email",
                "email": "a@x.io",
                "status": "subscribed",
            },
        ),
    ),
    (
        "phone-sub-subscribes-new-profiles",  # resource 1 before 3: the lowest id
        {"data": {"phones": "+79000000001"}},
        {"matching": MatchingMode.PHONE_SUB},
        prepared(
            {"phones": ["+79000000001"]},
            MatchKey(MatchingMode.PHONE_SUB, phone="+79000000001"),
            key_subscription={
                "resource_id": 1,
                "channel": "sms",
                "phone": "+79000000001",
                "status": "subscribed",
            },
        ),
    ),
    (
        "subscriptions-checked-and-completed",
        {
            "data": {
                "email": "a@x.io",
                "subscriptions": [
                    {"resource_id": 1, "email": " s@x.io "},  # channel implied by the address
                    {"resource_id": 1, "email_data": {"email": "d@x.io"}, "status": 2},
                    {"resource_id": 3, "channel": "sms", "phone": "79000000001", "status": None},
                ],
            }
        },
        {},
        prepared(
            {"email": "a@x.io"},
            by_email("a@x.io"),
            subscriptions=[
                {"resource_id": 1, "channel": "email", "email": "s@x.io", "status": "subscribed"},
                {
                    "resource_id": 1,
                    "email_data": {"email": "d@x.io"},
                    "channel": "email",
                    "email": "d@x.io",
                    "status": "complained",
                },
                {
                    "resource_id": 3,
                    "channel": "sms",
                    "phone": "+79000000001",
                    "status": "subscribed",
                },
            ],
        ),
    ),
    (
        "invalid-subscription-skipped",
        {"data": {"email": "a@x.io", "subscriptions": [{"resource_id": 9}, {"resource_id": 1}]}},
        {"skip_invalid_subscriptions": True},
        prepared({"email": "a@x.io"}, by_email("a@x.io")),
    ),
    (
        "request-extras-shared",
        {"data": {"email": "a@x.io"}},
        {"content": {"c": 1}, "custom_data": {"d": 2}, "attach": REQUEST_ATTACH},
        prepared(
            {"email": "a@x.io"},
            by_email("a@x.io"),
            content={"c": 1},
            custom_data={"d": 2},
            attach=REQUEST_ATTACH,
        ),
    ),
    (
        "item-extras-win",
        {
            "data": {"email": "a@x.io"},
            "custom_data": {"mine": True},
            "attach": [{"name": "item.txt", "data": "aGVsbG8="}],
        },
        {"content": {"c": 1}, "custom_data": {"d": 2}, "attach": REQUEST_ATTACH},
        prepared(
            {"email": "a@x.io"},
            by_email("a@x.io"),
            content={"c": 1},
            custom_data={"mine": True},
            attach=(AttachmentSummary("item.txt", "application/octet-stream", 5),),
        ),
    ),
    (
        "detect-geo-from-regip",
        {"data": {"email": "a@x.io", "_regip": "10.1.2.3"}},
        {"detect_geo": True},
        prepared(
            {"email": "a@x.io", "_regip": "10.1.2.3", "_city": "Moscow", "_country": "Russia"},
            by_email("a@x.io"),
        ),
    ),
    (
        "detect-geo-keeps-a-given-city",
        {"data": {"email": "a@x.io", "_ip": "10.9.9.9", "_city": "Tver"}},
        {"detect_geo": True},
        prepared(
            {"email": "a@x.io", "_ip": "10.9.9.9", "_city": "Tver", "_country": "Russia"},
            by_email("a@x.io"),
        ),
    ),
    (
        "detect-geo-unknown-network",
        {"data": {"email": "a@x.io", "_regip": "192.0.2.1"}},
        {"detect_geo": True},
        prepared({"email": "a@x.io", "_regip": "192.0.2.1"}, by_email("a@x.io")),
    ),
]


@pytest.mark.parametrize(
    ("raw", "options", "expected"),
    [case[1:] for case in VALID],
    ids=[case[0] for case in VALID],
)
def test_a_valid_item_is_prepared(raw, options, expected):
    assert prepare_item(raw, "data[0]", context(**options)) == expected


def test_a_database_with_its_own_phone_field_keeps_it_as_a_field():
    raw = {"data": {"email": "a@x.io", "phone": "any text"}}
    assert prepare_item(raw, "data[0]", context(OWN_PHONE)) == prepared(
        {"email": "a@x.io", "phone": "any text"}, by_email("a@x.io")
    )


def test_phone_sub_without_an_sms_resource_subscribes_nobody():
    raw = {"data": {"phones": "+79000000001"}}
    item = prepare_item(raw, "data[0]", context(OWN_PHONE, matching=MatchingMode.PHONE_SUB))
    assert isinstance(item, PreparedItem)
    assert item.key_subscription is None


# -- prepare_item: refusals (SPEC §3 item-level errors: a 400 naming the field) ----------

REFUSED = [
    ("not-an-object", 5, {}, "data[0]: expected an object, got integer"),
    ("data-not-an-object", {"data": [1]}, {}, "data[0].data: expected an object, got array"),
    (
        "no-email",
        {"data": {"_fname": "A"}},
        {},
        "data[0].data: no email to match by (matching 'email')",
    ),
    (
        "no-phone",
        {"data": {"email": "a@x.io"}},
        {"matching": PHONE},
        "data[0].data: no phones to match by (matching 'phone')",
    ),
    (
        "no-email-or-phone",
        {"data": {}},
        {"matching": MatchingMode.EMAIL_PHONE},
        "data[0].data: no email or phones to match by (matching 'email_phone')",
    ),
    (
        "flat-no-email",
        {"_fname": "A"},
        {},
        "data[0]: no email to match by (matching 'email')",
    ),
    (
        "invalid-email",
        {"data": {"email": "name@domain"}},
        {},
        'data[0].data.email: not a valid email: "name@domain"',
    ),
    (
        "email-not-a-string",
        {"data": {"email": 5}},
        {},
        "data[0].data.email: expected a string, got integer",
    ),
    (
        "invalid-item-email",
        {"email": "bad", "data": {"email": "a@x.io"}},
        {},
        'data[0].email: not a valid email: "bad"',
    ),
    (
        "invalid-phone-letters",
        {"data": {"email": "a@x.io", "phones": ["+7900abc4567"]}},
        {},
        f'data[0].data.phones[0]: {PHONE_RULE}: "+7900abc4567"',
    ),
    (
        "invalid-item-phone",
        {"phone": "123456", "data": {}},
        {"matching": PHONE},
        f'data[0].phone: {PHONE_RULE}: "123456"',
    ),
    (
        "invalid-data-phone",
        {"data": {"email": "a@x.io", "phone": "12"}},
        {},
        f'data[0].data.phone: {PHONE_RULE}: "12"',
    ),
    (
        "typed-field",
        {"data": {"email": "a@x.io", "Points": "ten"}},
        {},
        'data[0].data.Points: expected int, got string "ten"',
    ),
    (
        "system-string",
        {"data": {"email": "a@x.io", "_fname": 5}},
        {},
        "data[0].data._fname: expected a string, got integer",
    ),
    (
        "sex-boolean",
        {"data": {"email": "a@x.io", "_sex": True}},
        {},
        "data[0].data._sex: expected an integer or a string, got boolean true",
    ),
    (
        "ip",
        {"data": {"email": "a@x.io", "_regip": "999.1.1.1"}},
        {},
        'data[0].data._regip: not a valid IP address: "999.1.1.1"',
    ),
    (
        "birth-date",
        {"data": {"email": "a@x.io", "_bdate": "yesterday"}},
        {},
        'data[0].data._bdate: expected a date or an RFC 3339 date-time, got string "yesterday"',
    ),
    (
        "subscriptions-not-a-list",
        {"data": {"email": "a@x.io", "subscriptions": {}}},
        {},
        "data[0].data.subscriptions: expected an array, got object",
    ),
    (
        "subscription-not-an-object",
        {"data": {"email": "a@x.io", "subscriptions": [5]}},
        {},
        "invalid subscription: data[0].data.subscriptions[0]: expected an object, got integer",
    ),
    (
        "subscription-resource-not-an-integer",
        {"data": {"email": "a@x.io", "subscriptions": [{"resource_id": "1"}]}},
        {},
        "invalid subscription: data[0].data.subscriptions[0].resource_id: required, an integer",
    ),
    (
        "subscription-resource-of-another-database",
        {"data": {"email": "a@x.io", "subscriptions": [{"resource_id": 2, "email": "a@x.io"}]}},
        {},
        "invalid subscription: data[0].data.subscriptions[0].resource_id: "
        "no resource 2 in database 1",
    ),
    (
        "subscription-channel-of-no-resource",
        {"data": {"email": "a@x.io", "subscriptions": [{"resource_id": 3, "channel": "push"}]}},
        {},
        "invalid subscription: data[0].data.subscriptions[0].channel: "
        'resource 3 has channels sms, got "push"',
    ),
    (
        "subscription-without-a-channel-or-address",
        {"data": {"email": "a@x.io", "subscriptions": [{"resource_id": 1}]}},
        {},
        "invalid subscription: data[0].data.subscriptions[0].channel: "
        "resource 1 has channels email, sms, got null",
    ),
    (
        "subscription-email",
        {"data": {"email": "a@x.io", "subscriptions": [{"resource_id": 1, "email": "x"}]}},
        {},
        'invalid subscription: data[0].data.subscriptions[0].email: not a valid email: "x"',
    ),
    (
        "subscription-email-data",
        {
            "data": {
                "email": "a@x.io",
                "subscriptions": [{"resource_id": 1, "email_data": {"email": "x"}}],
            }
        },
        {},
        "invalid subscription: data[0].data.subscriptions[0].email_data.email: "
        'not a valid email: "x"',
    ),
    (
        "subscription-phone",
        {"data": {"email": "a@x.io", "subscriptions": [{"resource_id": 3, "phone": "1"}]}},
        {},
        f'invalid subscription: data[0].data.subscriptions[0].phone: {PHONE_RULE}: "1"',
    ),
    (
        "subscription-status",
        {
            "data": {
                "email": "a@x.io",
                "subscriptions": [{"resource_id": 1, "email": "a@x.io", "status": 7}],
            }
        },
        {},
        "invalid subscription: data[0].data.subscriptions[0].status: "
        f"expected a status word or code, {STATUS_CHOICES}; got 7",
    ),
    (
        "profile-id-missing",
        {"data": {"email": "a@x.io"}},
        {"matching": MatchingMode.PROFILE_ID},
        "data[0].profile_id: required for matching 'profile_id'",
    ),
    (
        "profile-id-blank",
        {"profile_id": "  ", "data": {}},
        {"matching": MatchingMode.PROFILE_ID},
        "data[0].profile_id: required for matching 'profile_id'",
    ),
    (
        "profile-id-a-number",
        {"profile_id": 5, "data": {}},
        {"matching": MatchingMode.PROFILE_ID},
        "data[0].profile_id: expected string, got integer",
    ),
    (
        "flat-profile-id-a-number",
        {"profile_id": 5, "_fname": "Ann"},
        {"matching": MatchingMode.PROFILE_ID},
        "data[0].profile_id: expected string, got integer",
    ),
    (
        "custom-no-value",
        {"data": {"CRM_ID": ""}},
        {"matching": CUSTOM, "field_name": "CRM_ID"},
        "data[0].data.CRM_ID: no value to match by (matching 'custom')",
    ),
    (
        "custom-item-value-empty",
        {"field_value": [], "data": {}},
        {"matching": CUSTOM, "field_name": "Undeclared"},
        "data[0].field_value: no value to match by (matching 'custom')",
    ),
    (
        "custom-item-value-typed",
        {"field_value": 5, "data": {}},
        {"matching": CUSTOM, "field_name": "tags"},
        'data[0].field_value: expected tags as a list of strings or "a, b", got 5',
    ),
    (
        "item-custom-data",
        {"data": {"email": "a@x.io"}, "custom_data": "text"},
        {},
        "data[0].custom_data: expected an object, got string",
    ),
    (
        "item-content",
        {"data": {"email": "a@x.io"}, "content": [1]},
        {},
        "data[0].content: expected an object, got array",
    ),
    (
        "request-content-not-an-object",  # a method whose schema does not declare it
        {"data": {"email": "a@x.io"}},
        {"content": [1]},
        "data[0].content: expected an object, got array",
    ),
    (
        "item-attach",
        {"data": {"email": "a@x.io"}, "attach": [{"name": "a.txt"}]},
        {},
        "data[0].attach[0].data: required, a base64 string or a data URI",
    ),
]


@pytest.mark.parametrize(
    ("raw", "options", "text"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_an_invalid_item_is_a_400_naming_the_field(raw, options, text):
    failure = prepare_item(raw, "data[0]", context(**options))
    assert failure == ItemFailure(400, text, invalid=True)
    assert failure.to_result() == {"error": 400, "error_text": text}


def test_the_path_starts_where_the_caller_says():
    """A one-profile request's item is at the root: paths have no `data[i]` prefix."""
    assert prepare_item({"data": {"email": "bad"}}, "", context()) == ItemFailure(
        400, 'data.email: not a valid email: "bad"', invalid=True
    )


# -- attachments ------------------------------------------------------------------------------

ATTACHMENTS = [
    ("absent", None, ()),
    ("empty", [], ()),
    (
        "bare-base64",
        [{"name": "a.txt", "data": "aGVsbG8=", "mimetype": "text/plain"}],
        (AttachmentSummary("a.txt", "text/plain", 5),),
    ),
    (
        "wrapped-base64",  # MIME encoders break lines at 76 columns
        [{"name": "a.txt", "data": "aGVs\r\nbG8=\n"}],
        (AttachmentSummary("a.txt", "application/octet-stream", 5),),
    ),
    (
        "data-uri-fills-the-mimetype",
        [{"name": "a.pdf", "data": "data:application/pdf;base64,aGVsbG8="}],
        (AttachmentSummary("a.pdf", "application/pdf", 5),),
    ),
    (
        "data-uri-any-case",
        [{"name": "a.csv", "data": "DATA:text/csv;charset=utf-8;BASE64,aGk="}],
        (AttachmentSummary("a.csv", "text/csv", 2),),
    ),
    (
        "given-mimetype-wins",
        [{"name": "a", "data": "data:text/csv;base64,aGk=", "mimetype": "text/plain"}],
        (AttachmentSummary("a", "text/plain", 2),),
    ),
    (
        "data-uri-without-mimetype",
        [{"name": "a", "data": "data:;base64,aGk="}],
        (AttachmentSummary("a", "application/octet-stream", 2),),
    ),
    (
        "file-key-and-the-pages-spelling",  # the reference page spells it "flie_key"
        [
            {"name": "a", "data": "aGk=", "file_key": "k1"},
            {"name": "b", "data": "aGk=", "flie_key": "k2"},
            {"name": "c", "data": "aGk=", "file_key": "k3", "flie_key": "ignored"},
        ],
        (
            AttachmentSummary("a", "application/octet-stream", 2, "k1"),
            AttachmentSummary("b", "application/octet-stream", 2, "k2"),
            AttachmentSummary("c", "application/octet-stream", 2, "k3"),
        ),
    ),
]


@pytest.mark.parametrize(
    ("value", "summary"),
    [case[1:] for case in ATTACHMENTS],
    ids=[case[0] for case in ATTACHMENTS],
)
def test_attachments_are_summarised_never_kept(value, summary):
    assert summarize_attachments(value, "attach") == summary


ATTACHMENT_REFUSALS = [
    ("not-a-list", {"name": "a"}, "attach: expected an array, got object"),
    ("entry-not-an-object", ["a"], "attach[0]: expected an object, got string"),
    ("no-name", [{"data": "aGk="}], "attach[0].name: required, a non-empty string"),
    ("empty-name", [{"name": "", "data": "aGk="}], "attach[0].name: required, a non-empty string"),
    (
        "no-data",
        [{"name": "a"}],
        "attach[0].data: required, a base64 string or a data URI",
    ),
    (
        "data-not-a-string",
        [{"name": "a", "data": 5}],
        "attach[0].data: required, a base64 string or a data URI",
    ),
    ("not-base64", [{"name": "a", "data": "a"}], "attach[0].data: not valid base64"),
    (
        "file-key-not-a-string",
        [{"name": "a", "data": "aGk=", "file_key": 5}],
        "attach[0].file_key: expected a string, got integer",
    ),
    (
        "flie-key-not-a-string",
        [{"name": "a", "data": "aGk=", "flie_key": ["k"]}],
        "attach[0].flie_key: expected a string, got array",
    ),
    (
        "second-entry",
        [{"name": "a", "data": "aGk="}, {"name": "b", "data": "**"}],
        "attach[1].data: not valid base64",
    ),
    (
        "data-uri-shape",
        [{"name": "a", "data": "data:text/plain"}],
        "attach[0].data: not a valid data URI (data:<mimetype>;base64,<payload>)",
    ),
    (
        "data-uri-not-base64",
        [{"name": "a", "data": "data:text/plain,hello"}],
        "attach[0].data: a data URI must be base64 (data:<mimetype>;base64,...)",
    ),
    (
        "data-uri-mimetype",
        [{"name": "a", "data": "data:text plain;base64,aGk="}],
        'attach[0].data: not a valid data URI: mimetype "text plain"',
    ),
    (
        "data-uri-payload",
        [{"name": "a", "data": "data:text/plain;base64,!!"}],
        "attach[0].data: not valid base64",
    ),
]


@pytest.mark.parametrize(
    ("value", "text"),
    [case[1:] for case in ATTACHMENT_REFUSALS],
    ids=[case[0] for case in ATTACHMENT_REFUSALS],
)
def test_an_invalid_attachment_names_its_entry(value, text):
    with pytest.raises(ValueProblem) as problem:
        summarize_attachments(value, "attach")
    assert str(problem.value) == text


# -- subscription status: the vendor's word or its number --------------------------------

STATUS_WORDS = [
    "subscribed",
    "unsubscribed",
    "complained",
    "hardbounced",
    "unconfirmed",
    "suspended",
    "invalid",
]


@pytest.mark.parametrize(
    ("value", "word"),
    [(None, "subscribed")]
    + [(word, word) for word in STATUS_WORDS]
    + [(code, word) for code, word in enumerate(STATUS_WORDS)],
)
def test_a_subscription_status_is_stored_as_its_word(value, word):
    assert subscription_status(value, "status") == word


@pytest.mark.parametrize(
    ("value", "shown"),
    [(7, "7"), (-1, "-1"), (True, "true"), (1.5, "1.5"), ("bogus", '"bogus"'), ([0], "[0]")],
)
def test_an_unknown_subscription_status_lists_the_choices(value, shown):
    with pytest.raises(ValueProblem) as problem:
        subscription_status(value, "subscriptions[0].status")
    assert str(problem.value) == (
        f"subscriptions[0].status: expected a status word or code, {STATUS_CHOICES}; got {shown}"
    )


# -- one-profile requests (SPEC §8): the item at the root ----------------------------------


@pytest.mark.parametrize(
    ("body", "item"),
    [
        (
            {"token": "t", "id": 2, "email": "a@x.io", "data": {"_fname": "A"}, "content": {}},
            {"data": {"_fname": "A"}, "email": "a@x.io"},
        ),
        ({"token": "t", "phone": "+79000000001"}, {"data": {}, "phone": "+79000000001"}),
        ({"data": None, "profile_id": "p"}, {"data": {}, "profile_id": "p"}),
        (
            {"field_name": "CRM_ID", "field_value": "c-1", "data": {"CRM_ID": "c-1"}},
            {"data": {"CRM_ID": "c-1"}, "field_value": "c-1"},
        ),
    ],
    ids=["email-and-data", "no-data", "null-data", "field-value"],
)
def test_root_item_takes_the_profile_and_the_root_keys(body, item):
    assert root_item(body) == item


ROOT_KEY_PROBLEMS = [
    (EMAIL, {}, "email: required for matching 'email'"),
    (EMAIL, {"email": ""}, "email: required for matching 'email'"),
    (EMAIL, {"email": None, "phone": "+79000000001"}, "email: required for matching 'email'"),
    (EMAIL, {"email": "a@x.io"}, None),
    (MatchingMode.EMAIL_PROFILE, {}, "email: required for matching 'email_profile'"),
    (MatchingMode.EMAIL_SUB, {"email": "a@x.io"}, None),
    (PHONE, {"email": "a@x.io"}, "phone: required for matching 'phone'"),
    (PHONE, {"phone": "+79000000001"}, None),
    (MatchingMode.PHONE_SUB, {}, "phone: required for matching 'phone_sub'"),
    (MatchingMode.EMAIL_PHONE, {}, "email or phone: required for matching 'email_phone'"),
    (MatchingMode.EMAIL_PHONE, {"phone": "+79000000001"}, None),
    (MatchingMode.EMAIL_PHONE_SUB, {"email": "a@x.io"}, None),
    (
        MatchingMode.EMAIL_PHONE_SUB,
        {"email": ""},
        "email or phone: required for matching 'email_phone_sub'",
    ),
    (
        MatchingMode.PROFILE_ID,
        {"email": "a@x.io"},
        "profile_id: required for matching 'profile_id'",
    ),
    (MatchingMode.PROFILE_ID, {"profile_id": "p"}, None),
    (CUSTOM, {"email": "a@x.io"}, "field_value: required for matching 'custom'"),
    (CUSTOM, {"field_value": 0}, None),  # 0 is a value
    (None, {}, None),  # custom_request selects the profile
]


@pytest.mark.parametrize(("mode", "body", "problem"), ROOT_KEY_PROBLEMS)
def test_a_lookup_without_data_needs_its_modes_root_key(mode, body, problem):
    assert root_key_problem(body, ImportOptions(matching=mode)) == problem


# -- a new profile carries the value it was matched by (SPEC §3) --------------------------

NEW_PROFILES = [
    ("no-key", {"_fname": "A"}, None, {"_fname": "A"}),
    ("email-key", {"_fname": "A"}, by_email("a@x.io"), {"_fname": "A", "email": "a@x.io"}),
    ("email-key-wins", {"email": "old@x.io"}, by_email("a@x.io"), {"email": "a@x.io"}),
    (
        "phone-key-first",
        {"phones": ["+79000000002"]},
        MatchKey(PHONE, phone="+79000000001"),
        {"phones": ["+79000000001", "+79000000002"]},
    ),
    (
        "phone-key-already-there",
        {"phones": ["+79000000002", "+79000000001"]},
        MatchKey(PHONE, phone="+79000000001"),
        {"phones": ["+79000000002", "+79000000001"]},
    ),
    ("phone-key-no-phones", {}, MatchKey(PHONE, phone="+7900000000"), {"phones": ["+7900000000"]}),
    (
        "custom-key",
        {"_fname": "A"},
        MatchKey(CUSTOM, field="CRM_ID", field_value="c-1"),
        {"_fname": "A", "CRM_ID": "c-1"},
    ),
    (
        "profile-id-key",
        {"_fname": "A"},
        MatchKey(MatchingMode.PROFILE_ID, profile_id="p"),
        {"_fname": "A"},
    ),
]


@pytest.mark.parametrize(
    ("fields", "key", "stored"),
    [case[1:] for case in NEW_PROFILES],
    ids=[case[0] for case in NEW_PROFILES],
)
def test_a_new_profile_carries_its_matching_value(fields, key, stored):
    item = prepared(dict(fields), key)
    assert fields_for_new_profile(item) == stored
    assert item.fields == fields  # the prepared item itself is left as it was


# -- import options as stored with a task ---------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        ImportOptions(),
        ImportOptions(matching=None, custom_request={"_fname": "A"}),
        ImportOptions(
            matching=CUSTOM,
            field_name="CRM_ID",
            skip_triggers=True,
            skip_invalid_subscriptions=True,
            detect_geo=True,
            content={"c": 1},
            custom_data={"d": 2},
            attach=(AttachmentSummary("a.txt", "text/plain", 2, "k"),),
            existing_only=True,
        ),
    ],
    ids=["defaults", "custom-request", "everything"],
)
def test_import_options_survive_being_stored(options):
    assert ImportOptions.from_doc(options.to_doc()) == options
