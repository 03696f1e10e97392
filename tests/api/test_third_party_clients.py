"""Requests real third-party Altcraft clients send, answered as they expect.

Three public client code bases (not in this repository) call the endpoint
family of SPEC §8. Their code is not copied here: each test sends the exact
request a client sends (path, headers, body bytes, field names and value
types as its serialiser writes them) and asserts what the client then reads.

- edenisn/goaltcraft (Go): `api.go` builds `https://HOST/api/v1.1/` and joins
  the method with another `/`, so it posts to `/api/v1.1//databases/list`;
  `databases.go` sends `{"token", "from_id", "limit"}` (the README's example
  uses from_id 1, limit 3) through `json.Encoder` (a trailing newline) with
  `Content-Type: application/json`, and decodes `data[].id`, `name`,
  `ui_tags`, `groups`.
- aalenkin-uzum/altcraft-profiles-import (bash + psql): `send_profiles.sh`
  posts `{"token":"T","db_id":1,"matching":"phone","data":<file>}` with curl
  to `profiles/import_batch`, where each file is the `psql -t` output of
  `script_select.sql`: a `json_agg` of `jsonb_strip_nulls` rows (jsonb's
  key order and spacing, a leading space and a trailing newline) with
  `_sex` as an int (1/2), `_bdate` a date, `phones` a list, `user_id` and
  `order_address` ints, timestamps as ISO strings.
- RuslonPy/Failure (Java, Spring Boot `RestTemplate`):
  `altcraft/UserAltcraft.java` posts `UserAltcraftRequest` to
  `profiles/import` (`altcraft/UserAltcraftRequest.java`: `db_id`, `token`,
  `data`, `matching: "phone"`, `field_name: "phone"`, `detect_geo: true`;
  `model/ListenerMapper.java` sets `db_id` 1; `model/ListenerDto.java`:
  `user_ID`, `phones`, `lang`, `appVersion`, `identification`, `_regdate` as
  epoch millis, `_city`, `_bdate` a `java.sql.Timestamp`, which Spring Boot's
  Jackson writes as an ISO date-time; nulls are written). It reads `error`,
  `error_text`, `profile_id` and treats `error != 0` as a failure to retry.

What they revealed (fixed in the server): the vendor documents `_sex` as an
int gender code and `_bdate` as an RFC 3339 date-time; the mock took `_sex`
only as a string and `_bdate` only as `YYYY-MM-DD`, so both clients' profiles
were refused as item errors.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from mockserver.config import ProgressionMode
from mockserver.errors import INVALID_REQUEST_TEXT, OK_TEXT
from tests.helpers import TOKEN, Answer, ApiClient


@pytest.fixture
async def api(make_api) -> ApiClient:
    return await make_api(progression=ProgressionMode.INSTANT)


async def post(
    api: ApiClient, path: str, raw: bytes, method: str, content_type: str = "application/json"
) -> Answer:
    return await api.raw(
        "POST", path, data=raw, headers={"Content-Type": content_type}, method_name=method
    )


async def read_back(api: ApiClient, phone: str) -> dict[str, Any]:
    answer = await api.call("profiles/get", {"db_id": 1, "matching": "phone", "phone": phone})
    assert answer.body["error"] == 0, answer.body
    data = dict(answer.body["data"])
    del data["_createtime"], data["id"]
    return data


# -- edenisn/goaltcraft: databases/list ------------------------------------------------


async def test_goaltcraft_lists_databases_through_its_double_slash_path(api):
    body = b'{"token":"' + TOKEN.encode() + b'","from_id":1,"limit":3}\n'
    answer = await post(api, "/api/v1.1//databases/list", body, "databases/list")
    assert answer.status == 200
    assert answer.body["error"] == 0
    database, leads = answer.body["data"]
    assert leads["id"] == 5  # the user guide's import example's database
    # The fields its DatabasesList struct decodes (`Groups` matches `groups`).
    assert (database["id"], database["name"], database["ui_tags"], database["groups"]) == (
        1,
        "Customers",
        [],
        [],
    )


async def test_goaltcraft_zero_values_mean_the_defaults(api):
    # GetDatabasesList(0, 0): Go sends the zero values, which the vendor's Go
    # server cannot tell from absent fields.
    body = b'{"token":"' + TOKEN.encode() + b'","from_id":0,"limit":0}\n'
    answer = await post(api, "/api/v1.1//databases/list", body, "databases/list")
    assert [database["id"] for database in answer.body["data"]] == [1, 5]


# -- aalenkin-uzum/altcraft-profiles-import: profiles/import_batch -----------------------

# One exported file as `psql -t` prints it: jsonb orders keys by length, then
# bytes, and writes `": "` and `", "`; NULL columns are stripped.
PSQL_EXPORT = (
    b' [{"_sex": 1, "email": "ann@example.com", "_bdate": "1990-05-01", "_fname": "Ann",'
    b' "_lname": "Lee", "phones": ["+998901234567"], "user_id": 101, "uzum_id": "U-101",'
    b' "_regdate": "2023-05-01T12:34:56.789123", "language": "uz", "last_order":'
    b' "2024-01-05T10:00:00.123456", "order_address": [17, 42]}, {"_sex": 2, "_fname": "Bea",'
    b' "phones": ["+998907654321", "+998901111111"], "user_id": 102,'
    b' "_regdate": "2023-06-02T08:00:00", "language": "ru"}]\n'
)


def send_profiles_body(export: bytes) -> bytes:
    """The body `send_profiles.sh` builds around one exported file."""
    return (
        b'{"token":"' + TOKEN.encode() + b'","db_id":1,"matching":"phone","data":' + export + b"}"
    )


async def test_profiles_import_script_batch_is_imported_whole(api):
    answer = await post(
        api,
        "/api/v1.1/profiles/import_batch",
        send_profiles_body(PSQL_EXPORT),
        "profiles/import_batch",
    )
    assert answer.body["error"] == 0, answer.body
    assert [entry["error"] for entry in answer.body["result"]] == [0, 0]
    assert [entry["error_text"] for entry in answer.body["result"]] == [OK_TEXT, OK_TEXT]
    assert await read_back(api, "+998901234567") == {
        "_sex": 1,
        "email": "ann@example.com",
        "_bdate": "1990-05-01",
        "_fname": "Ann",
        "_lname": "Lee",
        "phones": ["+998901234567"],
        "user_id": 101,
        "uzum_id": "U-101",
        "language": "uz",
        "_regdate": "2023-05-01T12:34:56.789123",
        "last_order": "2024-01-05T10:00:00.123456",
        "order_address": [17, 42],
        "db_id": 1,
        "subscriptions": [],
    }
    bea = await read_back(api, "+998901111111")  # any of the profile's phones matches
    assert (bea["_fname"], bea["_sex"]) == ("Bea", 2)


async def test_profiles_import_script_rerun_updates_the_same_profiles(api):
    path, body = "/api/v1.1/profiles/import_batch", send_profiles_body(PSQL_EXPORT)
    first = await post(api, path, body, "profiles/import_batch")
    again = await post(api, path, body, "profiles/import_batch")
    assert again.body == first.body
    assert api.state.store.count_profiles() == 2


async def test_profiles_import_script_empty_last_batch_is_a_400_envelope(api):
    # The script exports count/size + 1 batches; json_agg over no rows is NULL,
    # which `psql -t` prints as an empty line: the body is not JSON.
    answer = await post(
        api, "/api/v1.1/profiles/import_batch", send_profiles_body(b" \n"), "profiles/import_batch"
    )
    assert (answer.status, answer.body["error"], answer.body["error_text"]) == (
        200,
        400,
        INVALID_REQUEST_TEXT,
    )
    assert answer.body["error_debug"].startswith("body: not valid JSON")


# -- RuslonPy/Failure: profiles/import ---------------------------------------------------


def user_altcraft_request(**dto: Any) -> bytes:
    """`UserAltcraftRequest` as Spring Boot's Jackson writes it (nulls included)."""
    data = {
        "user_ID": 1001,
        "phones": ["+998901234567"],
        "lang": "UZ",
        "appVersion": "2.4.1",
        "identification": ["Kapitalbank", "Apelsin"],
        "_regdate": 1690000000000,
        "_city": "Tashkent",
        "_bdate": "1995-06-15T00:00:00.000+00:00",
        **dto,
    }
    return orjson.dumps(
        {
            "db_id": 1,
            "token": TOKEN,
            "data": data,
            "matching": "phone",
            "field_name": "phone",
            "detect_geo": True,
        }
    )


async def test_failure_service_imports_a_listener(api):
    answer = await post(
        api, "/api/v1.1/profiles/import", user_altcraft_request(), "profiles/import"
    )
    # UserAltcraftResponse: error, error_text, profile_id; error != 0 would be retried.
    assert answer.body == {
        "error": 0,
        "error_text": OK_TEXT,
        "profile_id": answer.body["profile_id"],
    }
    assert await read_back(api, "+998901234567") == {
        "user_ID": 1001,
        "phones": ["+998901234567"],
        "lang": "UZ",
        "appVersion": "2.4.1",
        "identification": ["Kapitalbank", "Apelsin"],
        "_regdate": 1690000000000,
        "_city": "Tashkent",
        "_bdate": "1995-06-15T00:00:00.000+00:00",
        "db_id": 1,
        "subscriptions": [],
    }


async def test_failure_service_listener_with_nulls_and_its_retry(api):
    # A listener without birthday, language or city: Jackson writes nulls. The
    # scheduler re-sends failed listeners; a re-send updates the same profile.
    body = user_altcraft_request(_bdate=None, lang=None, _city=None, appVersion=None)
    first = await post(api, "/api/v1.1/profiles/import", body, "profiles/import")
    retry = await post(api, "/api/v1.1/profiles/import", body, "profiles/import")
    assert first.body["error"] == retry.body["error"] == 0
    assert retry.body["profile_id"] == first.body["profile_id"]
    assert api.state.store.count_profiles() == 1
