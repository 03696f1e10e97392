"""Transport and envelope (SPEC §1), plus the settings that shape answers.

Where the token comes from, unknown paths and methods, path normalisation
without redirects, the HTTP status policy, the streaming body limit, content
types, and the task id / status name / seed settings. Every error test asserts
the whole answer body.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from mockserver.config import DEFAULT_STATUS_NAMES, HttpStatusPolicy
from mockserver.errors import (
    ACCESS_DENIED_TEXT,
    BODY_TOO_LARGE_DEBUG,
    INVALID_REQUEST_TEXT,
    METHOD_NOT_ALLOWED_TEXT,
    METHOD_NOT_FOUND_TEXT,
    OK_TEXT,
    TASK_NOT_FOUND_TEXT,
    TOKEN_REQUIRED_TEXT,
    WORKFLOW_NOT_FOUND_TEXT,
)
from mockserver.ids import TaskIdFormat
from tests.helpers import (
    BATCH_TASK,
    STATUS,
    TOKEN,
    Answer,
    ApiClient,
    check_against_contract,
    person,
)

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TASK_PREFIXED = re.compile(
    r"^task_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
PROFILE_ID = re.compile(r"^[0-9a-f]{24}$")
MB = 1024 * 1024
DEFAULT_LIMIT = 10 * MB
TOO_LARGE = {"error": 400, "error_debug": BODY_TOO_LARGE_DEBUG, "error_text": INVALID_REQUEST_TEXT}
DENIED = {"error": 403, "error_debug": "token: unknown API token", "error_text": ACCESS_DENIED_TEXT}
BATCH_PATH = f"/api/v1.1/{BATCH_TASK}"
STATUS_PATH = f"/api/v1.1/{STATUS}"


def batch_body(**fields: Any) -> dict[str, Any]:
    return {"workflow_id": 2, "matching": "email", "data": [person(1)], **fields}


async def post(api: ApiClient, path: str, body: Any = None, **kwargs: Any) -> Answer:
    """POST a JSON body to any path, never following a redirect."""
    return await api.raw(
        "POST", path, json=body, allow_redirects=False, method_name=_method_of(path), **kwargs
    )


def _method_of(path: str) -> str | None:
    parts = [part for part in path.split("?")[0].split("/") if part]
    return "/".join(parts[2:]) if parts[:2] == ["api", "v1.1"] else None


def not_found(path: str) -> dict[str, Any]:
    return {
        "error": 404,
        "error_debug": f"path: no API method at {path}",
        "error_text": METHOD_NOT_FOUND_TEXT,
    }


def not_allowed(http_method: str) -> dict[str, Any]:
    return {
        "error": 405,
        "error_debug": f"method: {http_method} is not allowed, use POST",
        "error_text": METHOD_NOT_ALLOWED_TEXT,
    }


# -- where the token comes from --------------------------------------------------


async def test_token_in_the_body_is_accepted(api):
    answer = await post(api, BATCH_PATH, {"token": TOKEN, **batch_body()})
    assert answer.body["error"] == 0, answer.body
    assert UUID4.match(answer.body["task_id"])


async def test_token_as_bearer_header_is_accepted(api):
    answer = await post(api, BATCH_PATH, batch_body(), headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.body["error"] == 0, answer.body


async def test_bearer_scheme_is_case_insensitive(api):
    answer = await post(api, BATCH_PATH, batch_body(), headers={"Authorization": f"bearer {TOKEN}"})
    assert answer.body["error"] == 0, answer.body


async def test_token_in_the_query_is_accepted(api):
    answer = await post(api, f"{BATCH_PATH}?token={TOKEN}", batch_body())
    assert answer.body["error"] == 0, answer.body


async def test_token_as_bearer_header_works_for_tasks_status(api):
    task_id = await api.import_batch([person(1)])
    answer = await post(
        api, STATUS_PATH, {"task_id": task_id}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.body["error"] == 0, answer.body


async def test_authorization_without_bearer_scheme_is_not_a_token(api):
    answer = await post(api, BATCH_PATH, batch_body(), headers={"Authorization": TOKEN})
    assert answer.body == {
        "error": 401,
        "error_debug": "token: missing (send it in the body, as Bearer or as ?token=)",
        "error_text": TOKEN_REQUIRED_TEXT,
    }


async def test_body_token_wins_over_header(api):
    answer = await post(
        api,
        BATCH_PATH,
        {"token": "wrong-body-token", **batch_body()},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.body == DENIED


async def test_valid_body_token_wins_over_a_wrong_header(api):
    answer = await post(
        api,
        BATCH_PATH,
        {"token": TOKEN, **batch_body()},
        headers={"Authorization": "Bearer wrong-header-token"},
    )
    assert answer.body["error"] == 0, answer.body


async def test_header_token_wins_over_query(api):
    answer = await post(
        api,
        f"{BATCH_PATH}?token={TOKEN}",
        batch_body(),
        headers={"Authorization": "Bearer wrong-header-token"},
    )
    assert answer.body == DENIED


async def test_valid_header_token_wins_over_a_wrong_query(api):
    answer = await post(
        api,
        f"{BATCH_PATH}?token=wrong-query-token",
        batch_body(),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.body["error"] == 0, answer.body


async def test_body_token_wins_over_query(api):
    answer = await post(
        api, f"{BATCH_PATH}?token={TOKEN}", {"token": "wrong-body-token", **batch_body()}
    )
    assert answer.body == DENIED


# -- unknown paths and wrong HTTP methods ------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1.1/workflows/no_such_method",
        "/api/v1.1/tasks",
        "/api/v1.1/",
        "/api/v1.0/tasks/status",
        "/api/tasks/status",
    ],
)
async def test_unknown_api_path_is_404_method_not_found(api, path):
    answer = await post(api, path, {"token": TOKEN})
    assert answer.body == not_found(path.rstrip("/"))
    assert answer.status == 200


@pytest.mark.parametrize("path", ["/", "/index.html", "/v1.1/tasks/status", "/favicon.ico"])
async def test_path_outside_the_api_is_404_in_the_envelope(api, path):
    answer = await post(api, path, {"token": TOKEN})
    assert answer.body == not_found(path)
    assert answer.status == 200


async def test_get_on_an_unknown_path_is_404_in_the_envelope(api):
    answer = await api.raw("GET", "/robots.txt", allow_redirects=False)
    assert answer.body == not_found("/robots.txt")
    assert answer.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("http_method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", [BATCH_PATH, STATUS_PATH])
async def test_other_http_methods_on_an_api_path_are_405(api, http_method, path):
    answer = await api.raw(
        http_method, path, json={"token": TOKEN}, allow_redirects=False, method_name=None
    )
    assert answer.body == not_allowed(http_method)
    assert answer.status == 200
    assert list(api.state.store.tasks()) == []


async def test_get_with_query_token_is_still_405(api):
    answer = await api.raw("GET", f"{STATUS_PATH}?token={TOKEN}&task_id=x", allow_redirects=False)
    assert answer.body == not_allowed("GET")


# -- path normalisation, never a redirect ------------------------------------------


async def _status_at(api: ApiClient, url: str, task_id: str) -> Answer:
    """POST tasks/status to a URL as written (the test client would resolve `//x` as a host)."""
    async with api.http.session.request(
        "POST", url, json={"token": TOKEN, "task_id": task_id}, allow_redirects=False
    ) as response:
        body = await response.json(content_type=None)
        check_against_contract(STATUS, body)
        return Answer(response.status, body, response.headers)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1.1/tasks/status/",
        "/api/v1.1//tasks/status",
        "/api//v1.1/tasks/status",
        "//api/v1.1/tasks/status",
        "/api/v1.1/tasks//status//",
        "///api///v1.1///tasks///status",
    ],
)
async def test_repeated_and_trailing_slashes_are_accepted_without_redirect(api, path):
    task_id = await api.import_batch([person(1), person(2)])
    root = str(api.http.make_url("/")).rstrip("/")
    answer = await _status_at(api, root + path, task_id)
    assert not 300 <= answer.status < 400
    assert answer.status == 200
    assert "Location" not in answer.headers
    assert answer.body == {
        "data": {"progress": 50, "result": None, "status": "processing"},
        "error": 0,
        "error_text": OK_TEXT,
    }


async def test_trailing_slash_on_the_batch_task_is_accepted(api):
    answer = await post(api, BATCH_PATH + "/", {"token": TOKEN, **batch_body()})
    assert not 300 <= answer.status < 400
    assert answer.body["error"] == 0, answer.body
    assert UUID4.match(answer.body["task_id"])


async def test_repeated_slashes_on_the_batch_task_are_accepted(api):
    answer = await post(
        api, "/api/v1.1//workflows//import_and_start_batch_task", {"token": TOKEN, **batch_body()}
    )
    assert not 300 <= answer.status < 400
    assert answer.body["error"] == 0, answer.body


async def test_unknown_path_with_repeated_slashes_names_the_collapsed_path(api):
    answer = await post(api, "/api/v1.1//no//such/", {"token": TOKEN})
    assert not 300 <= answer.status < 400
    assert answer.body == not_found("/api/v1.1/no/such")


# -- HTTP status policy ----------------------------------------------------------


def _invalid(debug: str) -> dict[str, Any]:
    return {"error": 400, "error_debug": debug, "error_text": INVALID_REQUEST_TEXT}


ERROR_CASES = {  # name: (path, HTTP method, body, expected answer)
    "401-no-token": (
        BATCH_PATH,
        "POST",
        batch_body(),
        {
            "error": 401,
            "error_debug": "token: missing (send it in the body, as Bearer or as ?token=)",
            "error_text": TOKEN_REQUIRED_TEXT,
        },
    ),
    "403-unknown-token": (BATCH_PATH, "POST", {"token": "nope", **batch_body()}, DENIED),
    "400-bad-request": (
        BATCH_PATH,
        "POST",
        {"token": TOKEN, **batch_body(workflow_id="1")},
        _invalid('workflow_id: expected integer, got string "1"'),
    ),
    "400-inactive": (
        BATCH_PATH,
        "POST",
        {"token": TOKEN, **batch_body(workflow_id=3)},
        _invalid("workflow_id: workflow 3 is not active"),
    ),
    "404-workflow": (
        BATCH_PATH,
        "POST",
        {"token": TOKEN, **batch_body(workflow_id=999)},
        {
            "error": 404,
            "error_debug": "workflow_id: no workflow 999 in this account",
            "error_text": WORKFLOW_NOT_FOUND_TEXT,
        },
    ),
    "404-task": (
        STATUS_PATH,
        "POST",
        {"token": TOKEN, "task_id": "missing"},
        {
            "error": 404,
            "error_debug": "task_id: no task 'missing'",
            "error_text": TASK_NOT_FOUND_TEXT,
        },
    ),
    "404-method": ("/api/v1.1/nope", "POST", {"token": TOKEN}, not_found("/api/v1.1/nope")),
    "405-method": (STATUS_PATH, "GET", {"token": TOKEN}, not_allowed("GET")),
}


async def _send_case(api: ApiClient, case: str) -> Answer:
    path, http_method, body, _ = ERROR_CASES[case]
    return await api.raw(
        http_method, path, json=body, allow_redirects=False, method_name=_method_of(path)
    )


@pytest.mark.parametrize("case", list(ERROR_CASES))
async def test_errors_are_http_200_by_default(api, case):
    answer = await _send_case(api, case)
    assert answer.body == ERROR_CASES[case][3]
    assert answer.status == 200


@pytest.mark.parametrize("case", list(ERROR_CASES))
async def test_mirror_policy_answers_errors_with_the_error_code_as_http_status(make_api, case):
    api = await make_api(http_status=HttpStatusPolicy.MIRROR)
    answer = await _send_case(api, case)
    expected = ERROR_CASES[case][3]
    assert answer.body == expected
    assert answer.status == expected["error"]


async def test_mirror_policy_answers_success_with_200(make_api):
    api = await make_api(http_status=HttpStatusPolicy.MIRROR)
    answer = await post(api, BATCH_PATH, {"token": TOKEN, **batch_body()})
    assert answer.status == 200
    assert answer.body["error"] == 0, answer.body


async def test_mirror_policy_answers_body_too_large_with_400(make_api):
    api = await make_api(http_status=HttpStatusPolicy.MIRROR, max_body_bytes=100)
    answer = await api.raw(
        "POST",
        BATCH_PATH,
        data=b" " * 101,
        headers={"Content-Type": "application/json"},
        method_name=BATCH_TASK,
    )
    assert answer.status == 400
    assert answer.body == TOO_LARGE


# -- body limit ----------------------------------------------------------------


def padded_json(body: dict[str, Any], size: int) -> bytes:
    """A JSON object padded with trailing whitespace to exactly `size` bytes."""
    raw = orjson.dumps(body)
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


async def test_body_one_byte_over_the_default_limit_is_refused(api):
    raw = padded_json({"token": TOKEN, **batch_body()}, DEFAULT_LIMIT + 1)
    answer = await api.raw(
        "POST",
        BATCH_PATH,
        data=io.BytesIO(raw),
        headers={"Content-Type": "application/json"},
        method_name=BATCH_TASK,
    )
    assert answer.body == TOO_LARGE
    assert answer.status == 200
    assert list(api.state.store.tasks()) == []


async def test_body_of_exactly_the_default_limit_is_accepted(api):
    raw = padded_json({"token": TOKEN, **batch_body()}, DEFAULT_LIMIT)
    answer = await api.raw(
        "POST",
        BATCH_PATH,
        data=io.BytesIO(raw),
        headers={"Content-Type": "application/json"},
        method_name=BATCH_TASK,
    )
    assert answer.body["error"] == 0, answer.body


async def test_configured_body_limit_is_applied(make_api):
    api = await make_api(max_body_bytes=100)
    raw = padded_json({"token": TOKEN}, 101)
    answer = await api.raw(
        "POST",
        STATUS_PATH,
        data=io.BytesIO(raw),
        headers={"Content-Type": "application/json"},
        method_name=STATUS,
    )
    assert answer.body == TOO_LARGE


async def test_chunked_body_over_the_limit_is_refused_while_it_streams(api):
    """The server answers once the limit is passed, without waiting for the end.

    The upload sends 1 MB chunks past the 10 MB limit and then never ends: a
    server that read the body whole before answering would never answer.
    """
    never = asyncio.Event()
    sent = 0

    async def endless_upload() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"token": "' + TOKEN.encode() + b'", "padding": "'
        while sent <= DEFAULT_LIMIT + MB:
            sent += MB
            yield b"x" * MB
        await never.wait()  # the body never ends
        yield b'"}'

    answer = await asyncio.wait_for(
        api.raw(
            "POST",
            BATCH_PATH,
            data=endless_upload(),
            headers={"Content-Type": "application/json"},
            method_name=BATCH_TASK,
        ),
        timeout=20,
    )
    assert answer.body == TOO_LARGE
    assert answer.status == 200
    assert list(api.state.store.tasks()) == []


# -- content types -------------------------------------------------------------


async def test_missing_content_type_is_tolerated(api):
    answer = await api.raw(
        "POST",
        BATCH_PATH,
        data=orjson.dumps({"token": TOKEN, **batch_body()}),
        skip_auto_headers=["Content-Type"],
        method_name=BATCH_TASK,
    )
    assert answer.body["error"] == 0, answer.body


async def test_curl_form_content_type_is_tolerated_for_a_json_body(api):
    answer = await api.raw(
        "POST",
        BATCH_PATH,
        data=orjson.dumps({"token": TOKEN, **batch_body()}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method_name=BATCH_TASK,
    )
    assert answer.body["error"] == 0, answer.body


async def test_json_content_type_with_charset_is_accepted(api):
    answer = await api.raw(
        "POST",
        BATCH_PATH,
        data=orjson.dumps({"token": TOKEN, **batch_body()}),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method_name=BATCH_TASK,
    )
    assert answer.body["error"] == 0, answer.body


async def test_answers_are_json(api):
    answer = await post(api, BATCH_PATH, {"token": TOKEN, **batch_body()})
    assert answer.headers["Content-Type"].startswith("application/json")


async def test_success_answer_is_exactly_the_reference_shape(api):
    answer = await post(api, BATCH_PATH, {"token": TOKEN, **batch_body()})
    assert set(answer.body) == {"error", "error_text", "task_id"}
    assert answer.body["error"] == 0
    assert answer.body["error_text"] == OK_TEXT


# -- settings that shape answers ---------------------------------------------------


async def test_task_ids_are_uuid4_by_default(api):
    task_id = await api.import_batch([person(1)])
    assert UUID4.match(task_id), task_id


async def test_task_prefixed_format_gives_task_underscore_uuid4(make_api):
    api = await make_api(task_id_format=TaskIdFormat.TASK_PREFIXED)
    task_id = await api.import_batch([person(1)])
    assert TASK_PREFIXED.match(task_id), task_id


async def test_task_prefixed_ids_work_with_tasks_status(make_api):
    api = await make_api(task_id_format=TaskIdFormat.TASK_PREFIXED)
    task_id = await api.import_batch([person(1)])
    data = await api.run_to_end(task_id)
    assert data["status"] == "completed"


async def test_status_names_mapping_renames_completed(make_api):
    api = await make_api(status_names={**DEFAULT_STATUS_NAMES, "completed": "success"})
    task_id = await api.import_batch([person(1), person(2)])
    first = await api.status(task_id)
    second = await api.status(task_id)
    assert first["status"] == "processing"
    assert second["status"] == "success"
    assert second["progress"] == 100
    profile_ids = [entry["profile_id"] for entry in second["result"]["result"]]
    assert len(profile_ids) == 2
    assert all(PROFILE_ID.match(profile_id) for profile_id in profile_ids)


async def _ids_of_one_run(api: ApiClient) -> tuple[list[str], list[str]]:
    task_ids = [await api.import_batch([person(1), person(2)]) for _ in range(2)]
    results = []
    for task_id in task_ids:
        data = await api.run_to_end(task_id)
        results.extend(entry["profile_id"] for entry in data["result"]["result"])
    return task_ids, results


async def test_seed_gives_the_same_task_and_profile_ids_in_two_fresh_servers(make_api):
    first = await _ids_of_one_run(await make_api(seed=1))
    second = await _ids_of_one_run(await make_api(seed=1))
    assert first == second
    task_ids, profile_ids = first
    assert len(set(task_ids)) == 2
    assert all(UUID4.match(task_id) for task_id in task_ids)
    assert all(PROFILE_ID.match(profile_id) for profile_id in profile_ids)
