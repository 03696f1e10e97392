"""Request-level errors (SPEC §1 and §3 "Request-level errors").

Each is answered at once in the vendor envelope, with `error_debug` saying what
failed, and no task is created. Every test asserts the whole answer body.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from mockserver.errors import (
    ACCESS_DENIED_TEXT,
    INVALID_REQUEST_TEXT,
    TOKEN_REQUIRED_TEXT,
    WORKFLOW_NOT_FOUND_TEXT,
)
from tests.helpers import BATCH_TASK, STATUS, TOKEN, Answer, ApiClient, person

MATCHING_MODES = (
    "email, email_profile, email_sub, phone, phone_sub, "
    "email_phone, email_phone_sub, profile_id, custom"
)
TOKEN_MISSING_DEBUG = "token: missing (send it in the body, as Bearer or as ?token=)"


def batch(**fields: Any) -> dict[str, Any]:
    """A valid batch request (the reference page's shape) with fields replaced."""
    body: dict[str, Any] = {
        "token": TOKEN,
        "workflow_id": 2,
        "matching": "email",
        "data": [person(1)],
    }
    body.update(fields)
    return body


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in names}


async def post_json(api: ApiClient, method: str, body: Any) -> Answer:
    """POST any JSON value (not only an object) with the JSON content type."""
    return await post_raw(api, method, orjson.dumps(body))


async def post_raw(api: ApiClient, method: str, raw: bytes) -> Answer:
    return await api.raw(
        "POST",
        f"/api/v1.1/{method}",
        data=raw,
        headers={"Content-Type": "application/json"},
        method_name=method,
    )


def invalid(debug: str) -> dict[str, Any]:
    return {"error": 400, "error_debug": debug, "error_text": INVALID_REQUEST_TEXT}


def assert_refused(api: ApiClient, answer: Answer, expected: dict[str, Any]) -> None:
    """The whole envelope, HTTP 200 (the default policy), and no task created."""
    assert answer.body == expected
    assert answer.status == 200
    assert list(api.state.store.tasks()) == []


# -- token ---------------------------------------------------------------------


async def test_token_missing_everywhere_is_401(api):
    answer = await post_json(api, BATCH_TASK, without(batch(), "token"))
    assert_refused(
        api,
        answer,
        {"error": 401, "error_debug": TOKEN_MISSING_DEBUG, "error_text": TOKEN_REQUIRED_TEXT},
    )


async def test_token_null_counts_as_missing(api):
    answer = await post_json(api, BATCH_TASK, batch(token=None))
    assert_refused(
        api,
        answer,
        {"error": 401, "error_debug": TOKEN_MISSING_DEBUG, "error_text": TOKEN_REQUIRED_TEXT},
    )


async def test_token_empty_string_counts_as_missing(api):
    answer = await post_json(api, BATCH_TASK, batch(token=""))
    assert_refused(
        api,
        answer,
        {"error": 401, "error_debug": TOKEN_MISSING_DEBUG, "error_text": TOKEN_REQUIRED_TEXT},
    )


async def test_token_missing_on_tasks_status_is_401(api):
    answer = await post_json(api, STATUS, {"task_id": "30421978-7f6d-4f39-913f-fb6cad8e2477"})
    assert_refused(
        api,
        answer,
        {"error": 401, "error_debug": TOKEN_MISSING_DEBUG, "error_text": TOKEN_REQUIRED_TEXT},
    )


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        (12345, "integer"),
        (1.5, "number"),
        (True, "boolean"),
        ([TOKEN], "array"),
        ({"value": TOKEN}, "object"),
    ],
    ids=["integer", "number", "boolean", "array", "object"],
)
async def test_token_not_a_string_is_400(api, token, kind):
    answer = await post_json(api, BATCH_TASK, batch(token=token))
    assert_refused(api, answer, invalid(f"token: expected string, got {kind}"))


async def test_token_not_a_string_is_400_even_with_a_valid_bearer_header(api):
    answer = await api.raw(
        "POST",
        f"/api/v1.1/{BATCH_TASK}",
        json=batch(token=12345),
        headers={"Authorization": f"Bearer {TOKEN}"},
        method_name=BATCH_TASK,
    )
    assert_refused(api, answer, invalid("token: expected string, got integer"))


async def test_unknown_token_is_403(api):
    answer = await post_json(api, BATCH_TASK, batch(token="no-such-token"))
    assert_refused(
        api,
        answer,
        {"error": 403, "error_debug": "token: unknown API token", "error_text": ACCESS_DENIED_TEXT},
    )


async def test_unknown_token_on_tasks_status_is_403(api):
    answer = await post_json(
        api, STATUS, {"token": "no-such-token", "task_id": "30421978-7f6d-4f39-913f-fb6cad8e2477"}
    )
    assert_refused(
        api,
        answer,
        {"error": 403, "error_debug": "token: unknown API token", "error_text": ACCESS_DENIED_TEXT},
    )


# -- workflow_id ---------------------------------------------------------------


async def test_workflow_id_missing_is_400(api):
    answer = await post_json(api, BATCH_TASK, without(batch(), "workflow_id"))
    assert_refused(api, answer, invalid("workflow_id: required field is missing"))


async def test_workflow_id_as_a_string_is_400(api):
    answer = await post_json(api, BATCH_TASK, batch(workflow_id="1"))
    assert_refused(api, answer, invalid('workflow_id: expected integer, got string "1"'))


@pytest.mark.parametrize(
    ("value", "described"),
    [(1.5, "number 1.5"), (None, "null"), (True, "boolean true"), ([1], "array [1]")],
    ids=["float", "null", "boolean", "array"],
)
async def test_workflow_id_of_another_type_is_400(api, value, described):
    answer = await post_json(api, BATCH_TASK, batch(workflow_id=value))
    assert_refused(api, answer, invalid(f"workflow_id: expected integer, got {described}"))


async def test_unknown_workflow_is_404(api):
    answer = await post_json(api, BATCH_TASK, batch(workflow_id=999))
    assert_refused(
        api,
        answer,
        {
            "error": 404,
            "error_debug": "workflow_id: no workflow 999 in this account",
            "error_text": WORKFLOW_NOT_FOUND_TEXT,
        },
    )


async def test_inactive_workflow_is_400_saying_it_is_not_active(api):
    answer = await post_json(api, BATCH_TASK, batch(workflow_id=3))
    assert_refused(api, answer, invalid("workflow_id: workflow 3 is not active"))


# -- matching ------------------------------------------------------------------


async def test_unknown_matching_mode_is_400(api):
    answer = await post_json(api, BATCH_TASK, batch(matching="fuzzy"))
    assert_refused(
        api,
        answer,
        invalid(f'matching: unsupported value "fuzzy", expected one of: {MATCHING_MODES}'),
    )


async def test_matching_not_a_string_is_400(api):
    answer = await post_json(api, BATCH_TASK, batch(matching=1))
    assert_refused(
        api, answer, invalid(f"matching: unsupported value 1, expected one of: {MATCHING_MODES}")
    )


async def test_custom_matching_without_field_name_is_400(api):
    answer = await post_json(api, BATCH_TASK, batch(workflow_id=233, matching="custom"))
    assert_refused(api, answer, invalid("field_name: required when matching is 'custom'"))


async def test_custom_matching_with_an_empty_field_name_is_400(api):
    answer = await post_json(
        api, BATCH_TASK, batch(workflow_id=233, matching="custom", field_name="")
    )
    assert_refused(api, answer, invalid("field_name: must not be shorter than 1 character(s)"))


# -- custom_request ------------------------------------------------------------


async def test_custom_request_with_where_operator_is_400(api):
    body = without(batch(custom_request={"$where": "this.email == 'a@b.io'"}), "matching")
    answer = await post_json(api, BATCH_TASK, body)
    assert_refused(api, answer, invalid("custom_request.$where: operator $where is not supported"))


async def test_custom_request_with_a_nested_unsupported_operator_is_400(api):
    body = without(batch(custom_request={"$and": [{"_fname": {"$text": "x"}}]}), "matching")
    answer = await post_json(api, BATCH_TASK, body)
    assert_refused(
        api, answer, invalid("custom_request.$and[0]._fname.$text: operator $text is not supported")
    )


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"Points": {"$in": 5}}, "custom_request.Points.$in: $in needs an array, got integer"),
        ({"$or": {"email": "a@b.io"}}, "custom_request.$or: $or needs an array, got object"),
        ({"Tags": {"$all": "vip"}}, "custom_request.Tags.$all: $all needs an array, got string"),
        (
            {"Points": {"$not": 5}},
            "custom_request.Points.$not: $not needs an object, got integer",
        ),
        ({"$or": []}, "custom_request.$or: $or needs a nonempty array"),
        ({"$and": []}, "custom_request.$and: $and needs a nonempty array"),
        ({"$or": [5]}, "custom_request.$or[0]: expected an object, got integer"),
        (
            {"Points": {"$mod": [2]}},
            "custom_request.Points.$mod: $mod needs [divisor, remainder], a nonzero divisor",
        ),
        (
            {"Tags": {"$size": "a"}},
            "custom_request.Tags.$size: $size needs a whole number, got string",
        ),
        (
            {"Points": {"$not": {}}},
            "custom_request.Points.$not: $not needs a nonempty object",
        ),
    ],
)
async def test_custom_request_with_an_operand_mongodb_refuses_is_400(api, query, problem):
    """MongoDB refuses these ("$in needs an array"); evaluated anyway, they would
    select nothing, and every item would create a new profile."""
    body = without(batch(custom_request=query), "matching")
    answer = await post_json(api, BATCH_TASK, body)
    assert_refused(api, answer, invalid(problem))


async def test_custom_request_with_an_empty_elem_match_is_taken(api):
    """MongoDB takes `$elemMatch: {}` (any element that is an object)."""
    body = without(batch(custom_request={"Tags": {"$elemMatch": {}}}), "matching")
    answer = await post_json(api, BATCH_TASK, body)
    assert answer.status == 200 and answer.body["error"] == 0, answer.body


async def test_custom_request_with_a_bad_regex_is_400(api):
    with pytest.raises(re.error) as reason:
        re.compile("(unclosed")
    body = without(batch(custom_request={"email": {"$regex": "(unclosed"}}), "matching")
    answer = await post_json(api, BATCH_TASK, body)
    assert_refused(
        api,
        answer,
        invalid(f"custom_request.email.$regex: invalid regular expression: {reason.value}"),
    )


async def test_custom_request_with_a_non_string_regex_is_400(api):
    body = without(batch(custom_request={"email": {"$regex": 5}}), "matching")
    answer = await post_json(api, BATCH_TASK, body)
    assert_refused(api, answer, invalid("custom_request.email.$regex: expected a string pattern"))


async def test_custom_request_not_an_object_is_400(api):
    body = without(batch(custom_request="email == 'a@b.io'"), "matching")
    answer = await post_json(api, BATCH_TASK, body)
    assert_refused(
        api, answer, invalid("custom_request: expected object, got string \"email == 'a@b.io'\"")
    )


# -- data ----------------------------------------------------------------------


async def test_data_missing_is_400(api):
    answer = await post_json(api, BATCH_TASK, without(batch(), "data"))
    assert_refused(api, answer, invalid("data: required field is missing"))


async def test_data_empty_is_400(api):
    answer = await post_json(api, BATCH_TASK, batch(data=[]))
    assert_refused(api, answer, invalid("data: must have at least 1 item(s), got 0"))


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ({"data": {"email": "a@b.io"}}, 'object {"data":{"email":"a@b.io"}}'),
        ("a@b.io", 'string "a@b.io"'),
        (None, "null"),
        (7, "integer 7"),
    ],
    ids=["object", "string", "null", "integer"],
)
async def test_data_not_an_array_is_400(api, value, described):
    answer = await post_json(api, BATCH_TASK, batch(data=value))
    assert_refused(api, answer, invalid(f"data: expected array, got {described}"))


async def test_more_items_than_max_items_is_400(make_api):
    api = await make_api(max_items=3)
    answer = await post_json(api, BATCH_TASK, batch(data=[person(n) for n in range(4)]))
    assert_refused(api, answer, invalid("data: 4 items, more than the maximum 3 (--max-items)"))


async def test_exactly_max_items_is_accepted(make_api):
    api = await make_api(max_items=3)
    answer = await post_json(api, BATCH_TASK, batch(data=[person(n) for n in range(3)]))
    assert answer.body["error"] == 0, answer.body
    assert len(list(api.state.store.tasks())) == 1


# -- format --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["xml", "JSON", ""], ids=["xml", "upper-case", "empty"])
async def test_format_other_than_json_is_400(api, value):
    answer = await post_json(api, BATCH_TASK, batch(format=value))
    assert_refused(
        api, answer, invalid(f'format: unsupported value "{value}", expected one of: json')
    )


async def test_format_json_is_accepted(api):
    answer = await post_json(api, BATCH_TASK, batch(format="json"))
    assert answer.body["error"] == 0, answer.body


async def test_format_other_than_json_is_400_on_tasks_status(api):
    task_id = await api.import_batch([person(1)])
    answer = await post_json(api, STATUS, {"token": TOKEN, "task_id": task_id, "format": "xml"})
    assert answer.body == invalid('format: unsupported value "xml", expected one of: json')


# -- tasks/status fields ---------------------------------------------------------


async def test_task_id_missing_on_tasks_status_is_400(api):
    answer = await post_json(api, STATUS, {"token": TOKEN})
    assert_refused(api, answer, invalid("task_id: required field is missing"))


async def test_task_id_not_a_string_on_tasks_status_is_400(api):
    answer = await post_json(api, STATUS, {"token": TOKEN, "task_id": 5})
    assert_refused(api, answer, invalid("task_id: expected string, got integer 5"))


# -- the body itself -----------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"token": "abc", "workflow_id": 2,', b"{'token': 'single quotes'}", b"not json at all"],
    ids=["truncated", "single-quotes", "text"],
)
async def test_malformed_json_is_400_naming_the_parse_problem(api, raw):
    with pytest.raises(orjson.JSONDecodeError) as reason:
        orjson.loads(raw)
    answer = await post_raw(api, BATCH_TASK, raw)
    assert_refused(api, answer, invalid(f"body: not valid JSON: {reason.value}"))


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ([batch()], "array"),
        ("token", "string"),
        (42, "number"),
        (4.2, "number"),
        (True, "boolean"),
        (None, "null"),
    ],
    ids=["array", "string", "integer", "float", "boolean", "null"],
)
async def test_json_that_is_not_an_object_is_400(api, value, kind):
    answer = await post_json(api, BATCH_TASK, value)
    assert_refused(api, answer, invalid(f"body: expected a JSON object, got {kind}"))


@pytest.mark.parametrize("raw", [b"", b"  \n\t "], ids=["empty", "whitespace"])
async def test_empty_body_is_400(api, raw):
    answer = await post_raw(api, BATCH_TASK, raw)
    assert_refused(api, answer, invalid("body: empty, expected a JSON object"))


async def test_body_errors_come_before_token_errors(api):
    """A body that does not parse is refused as such, even with no token anywhere."""
    with pytest.raises(orjson.JSONDecodeError) as reason:
        orjson.loads(b"[")
    answer = await post_raw(api, BATCH_TASK, b"[")
    assert_refused(api, answer, invalid(f"body: not valid JSON: {reason.value}"))


async def test_malformed_body_with_a_declared_non_json_type_names_the_type(api):
    with pytest.raises(orjson.JSONDecodeError) as reason:
        orjson.loads(b"a=1&b=2")
    answer = await api.raw(
        "POST",
        f"/api/v1.1/{BATCH_TASK}",
        data=b"a=1&b=2",
        headers={"Content-Type": "text/plain"},
        method_name=BATCH_TASK,
    )
    assert_refused(
        api,
        answer,
        invalid(f"body: not valid JSON: {reason.value} (Content-Type is 'text/plain')"),
    )


# -- what is not an error --------------------------------------------------------


async def test_unknown_top_level_fields_are_ignored(api):
    answer = await post_json(
        api, BATCH_TASK, batch(callback_url="https://example.com/hook", extra={"a": 1}, x=None)
    )
    assert answer.body["error"] == 0, answer.body
    assert len(list(api.state.store.tasks())) == 1


async def test_unknown_top_level_fields_are_ignored_on_tasks_status(api):
    task_id = await api.import_batch([person(1)])
    answer = await post_json(api, STATUS, {"token": TOKEN, "task_id": task_id, "verbose": True})
    assert answer.body["error"] == 0, answer.body


async def test_matching_absent_without_custom_request_defaults_to_email(api):
    answer = await post_json(api, BATCH_TASK, without(batch(), "matching"))
    assert answer.body["error"] == 0, answer.body
