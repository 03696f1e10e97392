"""Every vendor page's example request, sent as the page shows it, to the shipped fixture.

One row per example: the page it comes from (URL), the path as the page writes
it (trailing slash or not), the body as bytes copied from the page (the stored
page text loses indentation, so the bodies are unindented), what must exist
first ("given", set up through `POST /_mock/fixtures` or a vendor call, as the
page implies), and what the answer must be (`error` 0 and the fields the
page's response example shows, plus what the page implies about the state).
Each row runs on a fresh server with `fixtures/default.json` and the default
progression (`polls`). The examples come from a research report of the
vendor's pages (guides.altcraft.com, docs.altcraft.com, easy.altcraft.com).

Not served by the mock, so their examples are not sent: `subscriptions/set`
(the Subscription status object example), `subscriptions/list`,
`campaigns/activate`, `campaigns/deactivate`, `campaigns/triggers/get`,
`databases/get`, `file_upload`, `profiles/add_batch`.

Served, but no example request is visible on their pages: `workflows/deactivate`,
`workflows/import_and_start_batch`, `workflows/import_and_start_batch_task`
(see `test_reference_page.py`), `campaigns/triggers/start_batch_task`,
`campaigns/triggers/import_and_start_batch_task`, `tasks/status`, and the
developer pages of `workflows/start` and `campaigns/triggers/start` (their
user-guide companions' examples are sent).

Known differences, not sent (README, LIMITATIONS): the XML variant of the
`profiles/delete` example (only `format: "json"` is served); `workflows/list`
entries carry no `mode` and `ui_tags` does not filter (tags are not
modelled); `databases/list` answers `groups` where that page alone writes
`Groups` with `Id`/`Name` (the trigger list page writes `groups`).

Not sent: start_batch's older custom-field rendering (trigger 96, cut off inside
`field_name`, so the field is unknown) and its XML variant (trigger 85, not
shown in full).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from tests.helpers import TOKEN, ApiClient, check_against_contract

OK = {"error": 0, "error_text": "Successful operation"}
PROFILE_ID = re.compile(r"^[0-9a-f]{24}$")
JSON = "application/json"


@dataclass
class Reply:
    status: int
    text: str
    body: Any  # the parsed JSON answer, or None when the answer is not JSON


Step = Callable[[ApiClient], Awaitable[None]]
Check = Callable[[ApiClient, Reply], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    id: str
    page: str  # the vendor page the example is copied from
    method: str  # the vendor method (its response schema checks the answer)
    path: str  # as the page writes it
    body: bytes  # as the page shows it
    checks: tuple[Check, ...]
    given: tuple[Step, ...] = ()
    content_type: str = JSON


# --- given steps -------------------------------------------------------------


def seed(*profiles: dict[str, Any]) -> Step:
    """Pre-load profiles into the `default` account (control API)."""

    async def step(api: ApiClient) -> None:
        document = {"accounts": [{"name": "default", "profiles": list(profiles)}]}
        answer = await api.control("POST", "/_mock/fixtures", json=document)
        assert answer.body["status"] == "ok", answer.body
        assert answer.body["profiles"] == len(profiles), answer.body

    return step


def vendor(path: str, body: dict[str, Any]) -> Step:
    """A plain vendor call that must succeed."""

    async def step(api: ApiClient) -> None:
        answer = await api.raw(
            "POST",
            path,
            data=orjson.dumps(body),
            headers={"Content-Type": JSON},
            method_name=path.removeprefix("/api/v1.1/").rstrip("/"),
        )
        assert answer.body["error"] == 0, answer.body

    return step


def activate_workflow(token: str, workflow_id: int) -> Step:
    # The user guide: "In order to run a profile in a scenario, the scenario must
    # be created and activated." (workflows/activate page's request shape)
    return vendor("/api/v1.1/workflows/activate", {"token": token, "id": workflow_id})


# --- checks ------------------------------------------------------------------


def ok() -> Check:
    async def check(api: ApiClient, reply: Reply) -> None:
        assert reply.status == 200, reply.text
        assert isinstance(reply.body, dict), reply.text
        assert reply.body["error"] == 0, reply.body
        assert reply.body["error_text"] == "Successful operation", reply.body

    return check


def refused() -> Check:
    async def check(api: ApiClient, reply: Reply) -> None:
        assert isinstance(reply.body, dict), reply.text
        assert reply.body["error"] != 0, reply.body

    return check


def answer_is(expected: dict[str, Any]) -> Check:
    async def check(api: ApiClient, reply: Reply) -> None:
        assert reply.body == expected

    return check


def answer_keys(*keys: str) -> Check:
    async def check(api: ApiClient, reply: Reply) -> None:
        assert sorted(reply.body) == sorted(keys), reply.body

    return check


def answer_profile_id(expected: str | None = None) -> Check:
    """The generic answer of the API interaction page: a top-level `profile_id`."""

    async def check(api: ApiClient, reply: Reply) -> None:
        profile_id = reply.body["profile_id"]
        assert PROFILE_ID.match(profile_id), reply.body
        if expected is not None:
            assert profile_id == expected, reply.body

    return check


def answer_data(predicate: Callable[[Any], None]) -> Check:
    async def check(api: ApiClient, reply: Reply) -> None:
        predicate(reply.body["data"])

    return check


def batch_result(*expected: str | None) -> Check:
    """`result`: one success entry per item, in order (an id, or None for any new id)."""

    async def check(api: ApiClient, reply: Reply) -> None:
        result = reply.body["result"]
        assert len(result) == len(expected), reply.body
        for entry, want in zip(result, expected, strict=True):
            assert entry.get("error", 0) == 0, entry
            assert PROFILE_ID.match(entry["profile_id"]), entry
            if want is not None:
                assert entry["profile_id"] == want, entry

    return check


async def stored_profiles(api: ApiClient, **query: Any) -> list[dict[str, Any]]:
    answer = await api.control("GET", "/_mock/profiles?" + urlencode(query))
    return answer.body["profiles"]


def stored(predicate: Callable[[dict[str, Any]], None], **query: Any) -> Check:
    """Exactly one stored profile fits the query, and the predicate holds for it."""

    async def check(api: ApiClient, reply: Reply) -> None:
        profiles = await stored_profiles(api, **query)
        assert len(profiles) == 1, profiles
        predicate(profiles[0])

    return check


def gone(**query: Any) -> Check:
    async def check(api: ApiClient, reply: Reply) -> None:
        assert await stored_profiles(api, **query) == []

    return check


async def engagements(
    api: ApiClient, workflow_id: int | None, trigger_id: int | None
) -> list[dict[str, Any]]:
    query = {"workflow_id": workflow_id, "trigger_id": trigger_id}
    wanted = {key: value for key, value in query.items() if value is not None}
    answer = await api.control("GET", "/_mock/engagements?" + urlencode(wanted))
    assert answer.body["total"] == len(answer.body["engagements"]), answer.body
    return answer.body["engagements"]


def engaged(*, count: int, workflow_id: int | None = None, trigger_id: int | None = None) -> Check:
    """`count` engagements recorded for the workflow or trigger campaign, for the
    profiles the answer names (`profile_id`, or the ids in `result`)."""

    async def check(api: ApiClient, reply: Reply) -> None:
        records = await engagements(api, workflow_id, trigger_id)
        assert len(records) == count, records
        named = (
            [reply.body["profile_id"]]
            if "profile_id" in reply.body
            else [entry["profile_id"] for entry in reply.body["result"]]
        )
        assert sorted(r["profile_id"] for r in records) == sorted(named), records

    return check


def engagement_has(
    *, workflow_id: int | None = None, trigger_id: int | None = None, **fields: Any
) -> Check:
    """The (one) engagement recorded what the request carried."""

    async def check(api: ApiClient, reply: Reply) -> None:
        records = await engagements(api, workflow_id, trigger_id)
        assert len(records) == 1, records
        for key, value in fields.items():
            assert records[0][key] == value, (key, records[0])

    return check


def nobody_engaged(workflow_id: int) -> Check:
    async def check(api: ApiClient, reply: Reply) -> None:
        assert await engagements(api, workflow_id, None) == []

    return check


def has_subscription(resource_id: int, email: str, **extra: Any) -> Callable[[dict], None]:
    def predicate(profile: dict[str, Any]) -> None:
        subs = [s for s in profile["subscriptions"] if s["resource_id"] == resource_id]
        assert len(subs) == 1, profile["subscriptions"]
        assert subs[0]["channel"] == "email", subs
        assert subs[0]["email"] == email, subs
        for key, value in extra.items():
            assert subs[0][key] == value, subs

    return predicate


def has_fields(**fields: Any) -> Callable[[dict], None]:
    def predicate(profile: dict[str, Any]) -> None:
        for key, value in fields.items():
            assert profile["data"].get(key) == value, (key, profile["data"])

    return predicate


def all_of(*predicates: Callable[[dict], None]) -> Callable[[dict], None]:
    def predicate(profile: dict[str, Any]) -> None:
        for p in predicates:
            p(profile)

    return predicate


# --- pages -------------------------------------------------------------------

USER_GUIDE_SCENARIO = "https://guides.altcraft.com/en/user-guide/api/api-scenario"
WF_IMPORT_AND_START = "https://guides.altcraft.com/en/developer-guide/automation-scenarios/28934227"
WF_LIST = "https://guides.altcraft.com/en/developer-guide/automation-scenarios/95715617"
WF_ACTIVATE = (
    "https://guides.altcraft.com/en/developer-guide/automation-scenarios/activate-workflow"
)
USER_GUIDE_IMPORT = "https://guides.altcraft.com/en/user-guide/api/api-import"
API_INTERACTION = "https://guides.altcraft.com/en/developer-guide/api-interaction"
PROFILE_DATA_OBJECT = (
    "https://guides.altcraft.com/en/developer-guide/objects/Profile-data-object_3116008"
)
IMPORT_BATCH = "https://guides.altcraft.com/en/developer-guide/profiles/2195504"
PROFILES_GET = "https://guides.altcraft.com/en/developer-guide/profiles/2195482"
PROFILES_DELETE = "https://guides.altcraft.com/en/developer-guide/profiles/28936545"
DATABASES_LIST = "https://guides.altcraft.com/en/developer-guide/databases/2195563"
USER_GUIDE_TRIGGER = "https://guides.altcraft.com/en/user-guide/api/api-trigger"
START_BATCH = "https://guides.altcraft.com/en/developer-guide/campaigns/trigger-campaigns/37847471"
IMPORT_AND_START_BATCH = (
    "https://guides.altcraft.com/en/developer-guide/campaigns/trigger-campaigns/37847473"
)
TRIGGER_IMPORT_AND_START = (
    "https://guides.altcraft.com/en/developer-guide/campaigns/trigger-campaigns/22708362"
)
TRIGGERS_LIST = "https://guides.altcraft.com/en/developer-guide/campaigns/trigger-campaigns/2195915"

# --- the examples, as the pages show them ------------------------------------

SCENARIO_START = b"""{
"token": "abcdefghklmnopqrstzxc",
"id": 3,
"matching": "profile_id",
"profile_id": "66acb337240d5213037986d8"
}"""

# Both renderings are cut off inside `content` (before `workflow_id`): completed
# minimally with a short `content` (its values from the page's own table /
# the other rendering) and the table's `"workflow_id": 1`.
WF_IMPORT_AND_START_A = b"""{
"token": "abcdefghkijlmnopqrstuv0123456789",
"data": {
"subscriptions": [{
"email": "example001@example.com",
"resource_id": 1
}]
},
"db_id": 1,
"matching": "email",
"email": "example001@example.com",
"content": {
"one": "My email = example001@example.com"
},
"workflow_id": 1
}"""

WF_IMPORT_AND_START_B = b"""{
"token": "abcdefghkijlmnopqrstuv0123456789",
"data": {
"subscriptions": [
{
"email": "example001@example.com",
"resource_id": 7
}
]
},
"matching": "email",
"email": "example001@example.com",
"content": {
"one": "My email = example001@example.com",
"two": "Timestamp: 1595512477"
},
"workflow_id": 1
}"""

WORKFLOWS_LIST = b"""{
"token": "2fefb577533d4cae919350c450755239",
"from_id": 10,
"limit": 1,
"ui_tags": [
"B2C"
]
}"""

WORKFLOWS_ACTIVATE = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"id": 1,
"skip_profiles": true
}"""

IMPORT_USER_GUIDE = b"""{
"token": "abcdefghklmnopqrstzxc",
"db_id": 5,
"matching": "email",
"email": "i.petrov@example.com",
"data": {
"email": "i.petrov@example.com"
}
}"""

IMPORT_API_INTERACTION = b"""{
"token": "bfc505684d774e52b188fa1f003cd5ed",
"db_id": 1,
"resource_id": 1,
"matching": "email",
"email": "example@example.com",
"data": {
"_status": 0,
"_fname": "Jim",
"_lname": "Jones",
"email": "example@example.com",
"phones": ["+79000000000"]
}
}"""

# The page's object (`{"data": {...}}`) sent through profiles/import: token,
# db_id 1 and resource_id 1 added at the root. The page misses a comma after
# `"custom_field": "custom_value"`; only that comma is added.
IMPORT_PROFILE_DATA_OBJECT = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"db_id": 1,
"resource_id": 1,
"data": {
"_regcountry": "US",
"_regcity": "New York",
"_regip": "94.231.119.122",
"_regurl": "www.example.com",
"_regdate": "2019-03-14T22:00:00Z",
"_bdate": "1990-02-22T21:00:00Z",
"_browser": "Thunderbird",
"_city": "Ryazan",
"_country": "RU",
"_fname": "Olly",
"_ip": "94.231.119.122",
"_lname": "Lambert",
"_postal_code": "390000",
"_region": "Ryazan Oblast",
"_vendor": "form_#31",
"_sex": 0,
"_status": 0,
"_tz": "Europe/Moscow",
"email": "example@altcraft.com",
"phones": ["+790000000000"],
"custom_field": "custom_value",
"subscriptions": [
{
"channel": "email",
"email": "boris.yudaev@altcraft.com",
"priority": 0,
"resource_id": 1,
"status": 0
}
]
}
}"""

# The page shows no request example: its table's `data` example (verbatim) with
# the table's required token and `db_id` 1.
IMPORT_BATCH_TABLE = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"db_id": 1,
"data": [
   {
      "_fname": "John",
      "_lname": "Doe",
      "custom_id": "abcdefghijklmnqrstuvwxyz",
      "email": "john@example.com",
      "subscriptions": [
         {
             "channel": "email",
             "email_data": {
                 "email": "john@example.com"
             },
            "resource_id": 1
         }
      ]
   }
]
}"""

PROFILES_GET_A = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"db_id": 1,
"email": "example@example.com"
}"""

PROFILES_GET_B = b'{"db_id": 1, "email": "john@example.com", "token": "abcdefghijklmnqrstuvwxyz"}'

PROFILES_DELETE_A = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"db_id": 1,
"matching": "email",
"email": "example@example.com"
}"""

PROFILES_DELETE_B = b"""{
"db_id": 1,
"matching": "email",
"email": "john@example.com",
"token": "abcdefghijklmnqrstuvwxyz"
}"""

DATABASES_LIST_EXAMPLE = b"""{
"limit": 2,
"token": "abcdefghijklmnqrstuvwxyz"
}"""

TRIGGER_START_USER_GUIDE = b"""{
"token": "abcdefghklmnopqrstzxc",
"id": 1,
"matching": "email",
"email": "zaycev@example.com"
}"""

START_BATCH_EMAIL = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"trigger_id": 8,
"format": "json",
"matching": "email",
"data": [
{"email": "profile1@example.com"},
{"email": "profile2@example.com"}
]
}"""

# The older rendering of the same page: the same request with these two emails.
START_BATCH_EMAIL_OLDER = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"trigger_id": 8,
"format": "json",
"matching": "email",
"data": [
{"email": "example1@example.com"},
{"email": "example2@example.com"}
]
}"""

# Cut off at `"data": [`: completed minimally with one item naming the field.
START_BATCH_CUSTOM = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"trigger_id": 455,
"format": "json",
"skip_triggers": false,
"matching": "custom",
"field_name": "New_field_1",
"data": [{"New_field_1": "A-1"}]
}"""

# No request example is visible: the table's required fields with its example
# values (`trigger_id` 13, its `data` array verbatim).
IMPORT_AND_START_BATCH_TABLE = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"trigger_id": 13,
"data": [
   {
      "data": {
         "_fname": "John",
         "_lname": "Lambert",
         "email": "profile4@example.com",
         "phones": "+790000000000"
      }
   },
   {
      "data": {
         "_fname": "Tom",
         "_lname": "Hard",
         "email": "profile3@example.com",
         "phones": "+790000000001"
      }
   }
]
}"""

# No request example is visible: the table's example values (token, data,
# email, trigger_id) and its `attach` example, a data URI, in an array as the
# table's type says ("JSON objects array").
TRIGGER_IMPORT_AND_START_ATTACH = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"trigger_id": 13,
"matching": "email",
"email": "john@example.com",
"data": {"_fname": "John", "_lname": "Doe"},
"attach": [
{
"data": "data:text/csv;base64,SEVMTE8K",
"name": "Attach.txt"
}
]
}"""

TRIGGERS_LIST_EXAMPLE = b"""{
"token": "abcdefghijklmnqrstuvwxyz",
"limit": 2
}"""

# --- data checks -------------------------------------------------------------


def is_profile(profile_id: str, email: str) -> Callable[[Any], None]:
    def predicate(data: Any) -> None:
        assert data["id"] == profile_id, data
        assert data["db_id"] == 1, data
        assert data["email"] == email, data
        assert isinstance(data["subscriptions"], list), data

    return predicate


def workflows_page(data: Any) -> None:
    # from_id 10, limit 1: at most one workflow, its id at least 10.
    assert len(data) <= 1, data
    assert all(workflow["id"] >= 10 for workflow in data), data


def first_two_databases(data: Any) -> None:
    assert [database["id"] for database in data] == [1, 5], data
    assert all(isinstance(database["name"], str) for database in data), data


def first_two_triggers(data: Any) -> None:
    assert [trigger["id"] for trigger in data] == [1, 6], data
    page_fields = {"id", "name", "type", "is_active", "for_confirm", "ui_tags", "groups"}
    for trigger in data:
        assert page_fields <= set(trigger), trigger
        assert trigger["type"] == "api_call", trigger


def workflow_active(workflow_id: int) -> Check:
    async def check(api: ApiClient, reply: Reply) -> None:
        answer = await api.call("workflows/list", {"from_id": workflow_id, "limit": 1})
        assert answer.body["data"][0]["id"] == workflow_id, answer.body
        assert answer.body["data"][0]["is_active"] is True, answer.body

    return check


SCENARIO_PROFILE = {"db_id": 1, "id": "66acb337240d5213037986d8", "data": {}}
DELETED_ID = "5f33d33ece94481aa9382110"  # the delete page's answer
GET_ID = "5a61f87d69d42678a8dc6dd9"  # the get page's answer (`data.id`)
# The pages name no id for these existing subscribers: ids chosen here.
ZAYCEV_ID = "66acb337240d5213037986d9"
BATCH_IDS = ("5f4fa1a5ce9448665fef5481", "5f4fa1a5ce9448665fef5482")

ROWS = [
    Row(
        id="user-guide-scenario-start",
        page=USER_GUIDE_SCENARIO,
        method="workflows/start",
        path="/api/v1.1/workflows/start/",
        body=SCENARIO_START,
        given=(seed(SCENARIO_PROFILE), activate_workflow("abcdefghklmnopqrstzxc", 3)),
        checks=(ok(), answer_profile_id(SCENARIO_PROFILE["id"]), engaged(count=1, workflow_id=3)),
    ),
    Row(
        id="user-guide-scenario-start-not-activated",
        page=USER_GUIDE_SCENARIO,
        method="workflows/start",
        path="/api/v1.1/workflows/start/",
        body=SCENARIO_START,
        given=(seed(SCENARIO_PROFILE),),  # scenario 3 left inactive, as shipped
        checks=(refused(), nobody_engaged(3)),
    ),
    Row(
        id="workflows-import-and-start-rendering-a",
        page=WF_IMPORT_AND_START + "/",
        method="workflows/import_and_start",
        path="/api/v1.1/workflows/import_and_start",
        body=WF_IMPORT_AND_START_A,
        checks=(
            ok(),
            answer_profile_id(),
            stored(has_subscription(1, "example001@example.com"), email="example001@example.com"),
            engaged(count=1, workflow_id=1),
            engagement_has(workflow_id=1, content={"one": "My email = example001@example.com"}),
        ),
    ),
    Row(
        id="workflows-import-and-start-rendering-b",
        page=WF_IMPORT_AND_START,
        method="workflows/import_and_start",
        path="/api/v1.1/workflows/import_and_start",
        body=WF_IMPORT_AND_START_B,
        checks=(
            ok(),
            answer_profile_id(),
            stored(has_subscription(7, "example001@example.com"), email="example001@example.com"),
            engaged(count=1, workflow_id=1),
            engagement_has(
                workflow_id=1,
                content={
                    "one": "My email = example001@example.com",
                    "two": "Timestamp: 1595512477",
                },
            ),
        ),
    ),
    Row(
        id="workflows-list",
        page=WF_LIST,
        method="workflows/list",
        path="/api/v1.1/workflows/list",
        body=WORKFLOWS_LIST,
        checks=(
            ok(),
            answer_keys("data", "error", "error_text", "next_from_id", "total"),
            answer_data(workflows_page),
        ),
    ),
    Row(
        id="workflows-activate",
        page=WF_ACTIVATE,
        method="workflows/activate",
        path="/api/v1.1/workflows/activate",
        body=WORKFLOWS_ACTIVATE,
        # Workflow 1 is active as shipped: deactivated first, so the call has work to do.
        given=(vendor("/api/v1.1/workflows/deactivate", {"token": TOKEN, "id": 1}),),
        checks=(answer_is({"data": None, **OK}), workflow_active(1)),
    ),
    Row(
        id="user-guide-import",
        page=USER_GUIDE_IMPORT,
        method="profiles/import",
        path="/api/v1.1/profiles/import",
        body=IMPORT_USER_GUIDE,
        checks=(
            ok(),
            answer_profile_id(),
            stored(has_fields(email="i.petrov@example.com"), db_id=5, email="i.petrov@example.com"),
        ),
    ),
    Row(
        id="api-interaction-import",
        page=API_INTERACTION,
        method="profiles/import",
        path="/api/v1.1/profiles/import",
        body=IMPORT_API_INTERACTION,
        checks=(
            ok(),
            answer_keys("error", "error_text", "profile_id"),
            answer_profile_id(),
            stored(
                has_fields(_fname="Jim", _lname="Jones", _status=0, phones=["+79000000000"]),
                db_id=1,
                email="example@example.com",
            ),
        ),
    ),
    Row(
        id="profile-data-object-import",
        page=PROFILE_DATA_OBJECT,
        method="profiles/import",
        path="/api/v1.1/profiles/import",
        body=IMPORT_PROFILE_DATA_OBJECT,
        checks=(
            ok(),
            answer_profile_id(),
            stored(
                all_of(
                    has_fields(
                        _fname="Olly",
                        _sex=0,
                        _status=0,
                        _regcity="New York",
                        _regcountry="US",
                        _vendor="form_#31",
                        phones=["+790000000000"],
                        custom_field="custom_value",
                    ),
                    # "status": 0 is "subscribed" (Subscription status page).
                    has_subscription(1, "boris.yudaev@altcraft.com", status="subscribed"),
                ),
                db_id=1,
                email="example@altcraft.com",
            ),
        ),
    ),
    Row(
        id="profiles-import-batch-table-data",
        page=IMPORT_BATCH,
        method="profiles/import_batch",
        path="/api/v1.1/profiles/import_batch",
        body=IMPORT_BATCH_TABLE,
        checks=(
            ok(),
            batch_result(None),
            stored(
                all_of(
                    has_fields(_fname="John", custom_id="abcdefghijklmnqrstuvwxyz"),
                    has_subscription(1, "john@example.com"),
                ),
                db_id=1,
                email="john@example.com",
            ),
        ),
    ),
    Row(
        id="profiles-get-rendering-a",
        page=PROFILES_GET,
        method="profiles/get",
        path="/api/v1.1/profiles/get/",
        body=PROFILES_GET_A,
        given=(seed({"db_id": 1, "id": GET_ID, "data": {"email": "example@example.com"}}),),
        checks=(ok(), answer_data(is_profile(GET_ID, "example@example.com"))),
    ),
    Row(
        id="profiles-get-rendering-b",
        page=PROFILES_GET + "/",
        method="profiles/get",
        path="/api/v1.1/profiles/get/",
        body=PROFILES_GET_B,
        given=(seed({"db_id": 1, "id": GET_ID, "data": {"email": "john@example.com"}}),),
        checks=(ok(), answer_data(is_profile(GET_ID, "john@example.com"))),
    ),
    Row(
        id="profiles-delete-rendering-a",
        page=PROFILES_DELETE,
        method="profiles/delete",
        path="/api/v1.1/profiles/delete",
        body=PROFILES_DELETE_A,
        given=(seed({"db_id": 1, "id": DELETED_ID, "data": {"email": "example@example.com"}}),),
        checks=(answer_is({"data": {"profile_id": DELETED_ID}, **OK}), gone(profile_id=DELETED_ID)),
    ),
    Row(
        id="profiles-delete-rendering-b",
        page=PROFILES_DELETE + "/",
        method="profiles/delete",
        path="/api/v1.1/profiles/delete",
        body=PROFILES_DELETE_B,
        given=(seed({"db_id": 1, "id": DELETED_ID, "data": {"email": "john@example.com"}}),),
        checks=(answer_is({"data": {"profile_id": DELETED_ID}, **OK}), gone(profile_id=DELETED_ID)),
    ),
    Row(
        id="databases-list",
        page=DATABASES_LIST,
        method="databases/list",
        path="/api/v1.1/databases/list/",
        body=DATABASES_LIST_EXAMPLE,
        checks=(ok(), answer_data(first_two_databases)),
    ),
    Row(
        id="databases-list-paging-fields",
        page=DATABASES_LIST,
        method="databases/list",
        path="/api/v1.1/databases/list/",
        body=DATABASES_LIST_EXAMPLE,
        checks=(ok(), answer_keys("data", "error", "error_text", "next_from_id", "total_count")),
    ),
    Row(
        id="user-guide-trigger-start",
        page=USER_GUIDE_TRIGGER,
        method="campaigns/triggers/start",
        path="/api/v1.1/campaigns/triggers/start",
        body=TRIGGER_START_USER_GUIDE,
        given=(seed({"db_id": 1, "id": ZAYCEV_ID, "data": {"email": "zaycev@example.com"}}),),
        checks=(ok(), answer_profile_id(ZAYCEV_ID), engaged(count=1, trigger_id=1)),
    ),
    Row(
        id="start-batch-email",
        page=START_BATCH,
        method="campaigns/triggers/start_batch",
        path="/api/v1.1/campaigns/triggers/start_batch",
        body=START_BATCH_EMAIL,
        given=(
            seed(
                {"db_id": 1, "id": BATCH_IDS[0], "data": {"email": "profile1@example.com"}},
                {"db_id": 1, "id": BATCH_IDS[1], "data": {"email": "profile2@example.com"}},
            ),
        ),
        checks=(ok(), batch_result(*BATCH_IDS), engaged(count=2, trigger_id=8)),
    ),
    Row(
        id="start-batch-email-older-rendering",
        page=START_BATCH,
        method="campaigns/triggers/start_batch",
        path="/api/v1.1/campaigns/triggers/start_batch",
        body=START_BATCH_EMAIL_OLDER,
        given=(
            seed(
                {"db_id": 1, "id": BATCH_IDS[0], "data": {"email": "example1@example.com"}},
                {"db_id": 1, "id": BATCH_IDS[1], "data": {"email": "example2@example.com"}},
            ),
        ),
        checks=(ok(), batch_result(*BATCH_IDS), engaged(count=2, trigger_id=8)),
    ),
    Row(
        id="start-batch-custom",
        page=START_BATCH,
        method="campaigns/triggers/start_batch",
        path="/api/v1.1/campaigns/triggers/start_batch",
        body=START_BATCH_CUSTOM,
        given=(seed({"db_id": 1, "id": BATCH_IDS[0], "data": {"New_field_1": "A-1"}}),),
        checks=(ok(), batch_result(BATCH_IDS[0]), engaged(count=1, trigger_id=455)),
    ),
    Row(
        id="import-and-start-batch-table-data",
        page=IMPORT_AND_START_BATCH,
        method="campaigns/triggers/import_and_start_batch",
        path="/api/v1.1/campaigns/triggers/import_and_start_batch",
        body=IMPORT_AND_START_BATCH_TABLE,
        checks=(
            ok(),
            batch_result(None, None),
            engaged(count=2, trigger_id=13),
            stored(
                has_fields(_fname="Tom", phones=["+790000000001"]),
                db_id=1,
                email="profile3@example.com",
            ),
        ),
    ),
    Row(
        id="trigger-import-and-start-attach",
        page=TRIGGER_IMPORT_AND_START,
        method="campaigns/triggers/import_and_start",
        path="/api/v1.1/campaigns/triggers/import_and_start",
        body=TRIGGER_IMPORT_AND_START_ATTACH,
        checks=(
            ok(),
            answer_profile_id(),
            engaged(count=1, trigger_id=13),
            # The data URI is taken as a file: "HELLO\n", 6 bytes of text/csv.
            engagement_has(
                trigger_id=13,
                attach=[
                    {"name": "Attach.txt", "file_key": None, "mimetype": "text/csv", "size": 6}
                ],
            ),
            stored(has_fields(_fname="John", _lname="Doe"), db_id=1, email="john@example.com"),
        ),
    ),
    Row(
        id="triggers-list",
        page=TRIGGERS_LIST,
        method="campaigns/triggers/list",
        path="/api/v1.1/campaigns/triggers/list/",
        body=TRIGGERS_LIST_EXAMPLE,
        checks=(
            ok(),
            answer_keys("data", "error", "error_text", "total_count"),
            answer_data(first_two_triggers),
        ),
    ),
]


def _param(row: Row) -> Any:
    return pytest.param(row, id=row.id)


async def _send(api: ApiClient, row: Row) -> Reply:
    headers = {"Content-Type": row.content_type}
    async with api.http.post(row.path, data=row.body, headers=headers) as response:
        text = await response.text()
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError:
            body = None
        if body is not None:
            check_against_contract(row.method, body)
        return Reply(response.status, text, body)


@pytest.mark.parametrize("row", [_param(row) for row in ROWS])
async def test_vendor_page_example(api: ApiClient, row: Row) -> None:
    assert row.page.startswith("https://"), row.page
    for step in row.given:
        await step(api)

    reply = await _send(api, row)

    for check in row.checks:
        await check(api, reply)
