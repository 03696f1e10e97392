"""The request journal (SPEC §6, issue 3 item 1): `GET/DELETE /_mock/requests`.

Every vendor call is recorded as the client sent it (the token masked to
`abcd…` in the body, the headers and the query), with the answer, the
vendor method, the account and the duration. The journal filters by path,
method, account, token, error and since, keeps the newest N, is bounded by
`journal_size`, and keeps a body over `journal_body_limit` as a summary.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from yarl import URL

from mockserver.control.journal import model as journal_model
from tests.helpers import (
    ALPHA,
    BATCH_PATH,
    BATCH_TASK,
    BETA,
    BETA_SECOND,
    ISO_TIME,
    STATUS,
    STATUS_PATH,
    TOKEN,
    TWO_ACCOUNTS,
    ApiClient,
    add_fault,
    entries,
    envelope,
    journal,
    ok,
    person,
    refused,
    status_of_unknown,
    task,
    without,
)

MASKED = "abcd…"  # TOKEN as the journal shows it
TOO_LARGE = envelope(400, "http: request body too large")
VOLATILE = ("time", "duration_ms", "headers")


def masked(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "token": MASKED}


def batch_body(items: list[Any], token: str = TOKEN) -> dict[str, Any]:
    return {"token": token, "workflow_id": 2, "matching": "email", "data": items}


async def post_raw(
    api: ApiClient, path: str, raw: bytes, method: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    answer = await api.raw("POST", path, method_name=method, data=raw, headers=headers, **kwargs)
    return answer.body


async def ids(api: ApiClient, **query: Any) -> list[int]:
    return [entry["id"] for entry in await entries(api, **query)]


# -- what one entry holds ---------------------------------------------------------------


async def test_entry_is_what_the_client_sent_and_what_the_mock_answered(api):
    body = batch_body([person(1)])
    raw = json.dumps(body).encode()
    answer = await post_raw(
        api,
        BATCH_PATH,
        raw,
        BATCH_TASK,
        params={"source": "ci", "token": TOKEN},
        headers={"Authorization": f"Bearer {TOKEN}", "X-Client-Note": "req-7"},
    )
    [entry] = await entries(api)
    assert without(entry, *VOLATILE) == {
        "id": 1,
        "method": "POST",
        "path": BATCH_PATH,
        "api_method": BATCH_TASK,
        "query": {"source": "ci", "token": MASKED},
        "account": "default",
        "body": masked(body),
        "body_bytes": len(raw),
        "body_note": None,
        "status": 200,
        "error": 0,
        "response": answer,
        "response_note": None,
        "fault": None,
        "warning": None,
    }


async def test_entry_headers_are_kept_with_authorization_masked(api):
    raw = json.dumps(batch_body([person(1)])).encode()
    await post_raw(
        api,
        BATCH_PATH,
        raw,
        BATCH_TASK,
        headers={"Authorization": f"Bearer {TOKEN}", "X-Client-Note": "req-7"},
    )
    [entry] = await entries(api)
    shown = {
        name: entry["headers"][name]
        for name in ("Authorization", "X-Client-Note", "Content-Type", "Content-Length")
    }
    assert shown == {
        "Authorization": f"Bearer {MASKED}",
        "X-Client-Note": "req-7",
        "Content-Type": "application/json",
        "Content-Length": str(len(raw)),
    }


async def test_the_token_never_appears_anywhere_in_the_journal(api):
    raw = json.dumps(batch_body([person(1)])).encode()
    await post_raw(
        api, BATCH_PATH, raw, BATCH_TASK, params={"token": TOKEN}, headers={"X-Token": "none"}
    )
    # The token only as Bearer and as ?token= (the body has none).
    await api.raw(
        "POST",
        STATUS_PATH,
        method_name=STATUS,
        json={"task_id": "no-such-task"},
        params={"token": TOKEN},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    dumped = json.dumps(await journal(api), ensure_ascii=False)
    assert TOKEN not in dumped
    # Masked where it was: body and query of the first, query and Bearer of the second.
    assert dumped.count(MASKED) == 4


async def test_entry_has_an_iso_time_and_a_duration(api):
    await status_of_unknown(api)
    [entry] = await entries(api)
    assert ISO_TIME.match(entry["time"]), entry["time"]
    assert isinstance(entry["duration_ms"], float | int)
    assert entry["duration_ms"] >= 0


async def test_error_answer_is_recorded_with_its_code_and_envelope(api):
    await status_of_unknown(api)
    [entry] = await entries(api)
    assert (entry["api_method"], entry["account"], entry["status"], entry["error"]) == (
        STATUS,
        "default",
        200,
        404,
    )
    assert entry["response"] == envelope(404, "task_id: no task 'no-such-task'", "Task not found")


async def test_refused_token_is_recorded_without_an_account(api):
    answer = await api.call(STATUS, {"task_id": "x", "token": "wrong-token-123"})
    [entry] = await entries(api)
    assert (entry["account"], entry["error"], entry["body"]["token"], entry["response"]) == (
        None,
        403,
        "wron…",
        answer.body,
    )


async def test_entries_are_oldest_first_with_increasing_ids(api):
    task_id = await api.import_batch([person(1)])
    await api.status(task_id)
    await status_of_unknown(api)
    found = await entries(api)
    assert [(e["id"], e["api_method"]) for e in found] == [
        (1, BATCH_TASK),
        (2, STATUS),
        (3, STATUS),
    ]
    assert [e["time"] for e in found] == sorted(e["time"] for e in found)


# -- filters ---------------------------------------------------------------------------


async def five_calls(make_api) -> ApiClient:
    """1 alpha import, 2 beta 404, 3 beta (second token) import, 4 alpha 404, 5 bad token."""
    alpha = await make_api(fixtures=(TWO_ACCOUNTS,), token=ALPHA)
    beta, beta_second = ApiClient(alpha.http, BETA), ApiClient(alpha.http, BETA_SECOND)
    await alpha.import_batch([person(1)])
    await status_of_unknown(beta)
    await beta_second.import_batch([person(2)])
    await status_of_unknown(alpha)
    answer = await alpha.call(STATUS, {"task_id": "x", "token": "nobody-token"})
    assert answer.body["error"] == 403
    return alpha


async def test_filter_by_path(make_api):
    api = await five_calls(make_api)
    assert await ids(api, path=STATUS_PATH) == [2, 4, 5]


async def test_filter_by_path_is_normalised_like_the_router(make_api):
    api = await five_calls(make_api)
    assert await ids(api, path="/api/v1.1//workflows/import_and_start_batch_task/") == [1, 3]


async def test_filter_by_vendor_method_name(make_api):
    api = await five_calls(make_api)
    assert await ids(api, method=BATCH_TASK) == [1, 3]


async def test_filter_by_account(make_api):
    api = await five_calls(make_api)
    assert await ids(api, account="beta") == [2, 3]


async def test_filter_by_token_selects_that_token_only(make_api):
    api = await five_calls(make_api)
    assert (await ids(api, token=BETA), await ids(api, token=BETA_SECOND)) == ([2], [3])


async def test_filter_by_error_code(make_api):
    api = await five_calls(make_api)
    assert (await ids(api, error=404), await ids(api, error=0), await ids(api, error=403)) == (
        [2, 4],
        [1, 3],
        [5],
    )


async def test_filter_since_an_entry_id(make_api):
    api = await five_calls(make_api)
    assert await ids(api, since=3) == [4, 5]


async def test_filter_since_a_time_keeps_entries_at_or_after_it(make_api):
    api = await five_calls(make_api)
    everything = await entries(api)
    since = everything[2]["time"]
    found = await ids(api, since=since)
    assert found == [e["id"] for e in everything if e["time"] >= since]
    assert found[-3:] == [3, 4, 5]


async def test_filter_since_a_later_time_finds_nothing(make_api):
    api = await five_calls(make_api)
    assert await ids(api, since="2999-01-01T00:00:00.000000Z") == []


async def test_filter_since_a_time_with_an_offset_compares_instants(make_api):
    """`since` is a point in time: 06:00+03:00 is 03:00Z, whatever the text says."""
    api = await five_calls(make_api)
    everything = await entries(api)
    first = datetime.strptime(everything[0]["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    moscow = timezone(timedelta(hours=3))
    since = (first - timedelta(seconds=1)).astimezone(moscow).isoformat()
    assert await ids(api, since=since) == [1, 2, 3, 4, 5]


async def test_filter_since_something_that_is_neither_id_nor_time_is_http_400(make_api):
    api = await five_calls(make_api)
    refusal = await refused(api, "GET", "/_mock/requests", 400, params={"since": "yesterday"})
    assert (refusal["error_text"], refusal["error_debug"].split(":")[0]) == (
        "Invalid request",
        "since",
    )


async def test_limit_keeps_the_newest(make_api):
    api = await five_calls(make_api)
    assert await ids(api, limit=2) == [4, 5]


async def test_filters_combine(make_api):
    api = await five_calls(make_api)
    assert await ids(api, account="alpha", method=STATUS) == [4]


async def test_filtered_answer_counts_the_matches_only(make_api):
    api = await five_calls(make_api)
    found = await journal(api, account="alpha")
    assert without(found, "requests") == {"total": 2, "capacity": 1000, "dropped": 0}


async def test_a_non_integer_error_filter_is_refused_with_http_400(api):
    assert await refused(api, "GET", "/_mock/requests", 400, params={"error": "abc"}) == (
        envelope(400, "error: expected an integer, got 'abc'")
    )


@pytest.mark.parametrize("limit", ["0", "-1"])
async def test_a_limit_below_one_is_refused_with_http_400(make_api, limit):
    api = await five_calls(make_api)
    refusal = await refused(api, "GET", "/_mock/requests", 400, params={"limit": limit})
    assert (refusal["error_text"], refusal["error_debug"].startswith("limit")) == (
        "Invalid request",
        True,
    )


# -- clearing and bounds ---------------------------------------------------------------


async def test_delete_clears_the_journal(api):
    await api.import_batch([person(1)])
    await status_of_unknown(api)
    assert await ok(api, "DELETE", "/_mock/requests", "control/ok.response") == {"status": "ok"}
    assert await journal(api) == {"requests": [], "total": 0, "capacity": 1000, "dropped": 0}


async def test_journal_keeps_the_newest_journal_size_entries(make_api):
    api = await make_api(journal_size=10)
    for _ in range(50):
        await status_of_unknown(api)
    found = await journal(api)
    assert without(found, "requests") == {"total": 10, "capacity": 10, "dropped": 40}
    assert [entry["id"] for entry in found["requests"]] == list(range(41, 51))


@pytest.mark.slow  # 2,000 requests
async def test_journal_stays_at_its_size_over_many_requests(make_api):
    """Memory stays flat: 2,000 requests through a journal of 100 keep 100 entries."""
    api = await make_api(journal_size=100)
    for n in range(2000):
        answer = await api.call(STATUS, {"task_id": f"task-{n}"})
        assert answer.body["error"] == 404
    assert len(api.state.journal) == 100
    found = await journal(api)
    assert without(found, "requests") == {"total": 100, "capacity": 100, "dropped": 1900}
    assert found["requests"][-1]["body"] == {"token": MASKED, "task_id": "task-1999"}


# -- bodies ------------------------------------------------------------------------------


async def test_body_over_the_journal_limit_is_summarised_with_lists_cut(make_api):
    api = await make_api(journal_body_limit=2000)
    items = [person(n) for n in range(40)]
    raw = json.dumps(batch_body(items)).encode()
    assert len(raw) > 2000
    await post_raw(api, BATCH_PATH, raw, BATCH_TASK)
    [entry] = await entries(api)
    assert entry["body"] == masked(batch_body([*items[:5], "… 35 more not kept"]))
    assert entry["body_note"].startswith("summarised")
    assert entry["body_bytes"] == len(raw)


async def test_body_under_the_journal_limit_is_kept_whole(make_api):
    api = await make_api(journal_body_limit=2000)
    items = [person(n) for n in range(6)]
    raw = json.dumps(batch_body(items)).encode()
    assert len(raw) < 2000
    await post_raw(api, BATCH_PATH, raw, BATCH_TASK)
    [entry] = await entries(api)
    assert (entry["body"], entry["body_note"], entry["body_bytes"]) == (
        masked(batch_body(items)),
        None,
        len(raw),
    )


async def test_default_journal_body_limit_is_64_kib(api):
    items = [person(n) for n in range(700)]
    raw = json.dumps(batch_body(items)).encode()
    assert len(raw) > 64 * 1024
    await post_raw(api, BATCH_PATH, raw, BATCH_TASK)
    [entry] = await entries(api)
    assert entry["body"]["data"] == [*items[:5], "… 695 more not kept"]
    assert entry["body_note"].startswith("summarised")


async def test_body_that_is_not_json_is_noted(api):
    await api.raw(
        "POST",
        STATUS_PATH,
        method_name=STATUS,
        data=b"not json{",
        headers={"Content-Type": "text/plain"},
    )
    [entry] = await entries(api)
    assert (entry["body"], entry["body_note"], entry["body_bytes"], entry["error"]) == (
        "not json{",
        "not JSON",
        9,
        400,
    )


@pytest.mark.parametrize(
    "raw",
    [
        f'{{"token": "{TOKEN}", "task_id": '.encode(),  # cut-off JSON
        f"token={TOKEN}&task_id=1".encode(),  # a form body
        f"{{'token': '{TOKEN}', 'task_id': 'x'}}".encode(),  # a Python dict's repr
        f"token: {TOKEN}\ntask_id: x".encode(),  # YAML
        f"{{'auth': '{TOKEN}'}}".encode(),  # a known token, whatever it is called
        f"Authorization: Basic {TOKEN}".encode(),  # a header line with a scheme
        f"auth:\n  token: {TOKEN}".encode(),  # nested YAML
        f"{{token: '{TOKEN}'}}".encode(),  # a JavaScript object
        f"<auth>{TOKEN}</auth>".encode(),  # a known token standing alone
        f"my token is {TOKEN}. See https://x.io/api/{TOKEN}/ and key_{TOKEN}".encode(),
        ("y" * 1000 + f" {TOKEN}").encode(),  # halved by the 1,024-character cut
    ],
    ids=[
        "cut-off-json",
        "form",
        "python-repr",
        "yaml",
        "known-token",
        "header-line",
        "nested-yaml",
        "javascript",
        "bare-known-token",
        "known-token-touching-punctuation",
        "known-token-at-the-cut",
    ],
)
async def test_token_in_a_body_that_is_not_json_is_masked_too(api, raw):
    await api.raw("POST", STATUS_PATH, method_name=STATUS, data=raw)
    [entry] = await entries(api)
    assert entry["body_note"] == "not JSON"
    # Not even a part of it past the mask's `abcd…` (a cut may halve a token).
    assert TOKEN[:5] not in json.dumps(entry, ensure_ascii=False)


async def test_response_over_the_journal_limit_is_summarised(make_api):
    api = await make_api(journal_body_limit=2000, progression="instant")
    task_id = await api.import_batch([person(n) for n in range(60)])
    answer = await api.call(STATUS, {"task_id": task_id})
    [entry] = await entries(api, limit=1)
    kept = answer.body["data"]["result"]["result"]
    assert entry["response"]["data"]["result"]["result"] == [*kept[:5], "… 55 more not kept"]
    assert entry["response_note"].startswith("summarised")


async def test_a_finished_tasks_big_answer_is_summarised_once_without_parsing_it(
    make_api, monkeypatch
):
    """The answer is written once when the task ends and sent as those bytes on every
    later poll; the journal summarises it from the value it was written from, once,
    and never parses the bytes back."""
    api = await make_api(journal_body_limit=2000, progression="instant")
    task_id = await api.import_batch([person(n) for n in range(60)])
    parsed: list[bytes] = []
    spying = SimpleNamespace(**{name: getattr(orjson, name) for name in dir(orjson)})
    spying.loads = lambda data: parsed.append(data) or orjson.loads(data)
    monkeypatch.setattr(journal_model, "orjson", spying)
    answers = [await api.call(STATUS, {"task_id": task_id}) for _ in range(3)]
    assert answers[0].body == answers[1].body == answers[2].body
    kept = answers[0].body["data"]["result"]["result"]
    found = await entries(api, limit=3)
    for entry in found:
        assert entry["response"]["data"]["result"]["result"] == [*kept[:5], "… 55 more not kept"]
        assert entry["response_note"].startswith("summarised")
    assert not [data for data in parsed if b'"profile_id"' in data]


async def test_spoiled_polls_of_a_finished_task_leave_its_kept_summary_alone(make_api, monkeypatch):
    """A fault that cuts a finished task's answer sends bytes of its own: the journal
    summarises them as they are and does not remember them in place of the answer
    the task keeps (eight of them would push it out, and stay in memory)."""
    api = await make_api(journal_body_limit=2000, progression="instant")
    task_id = await api.import_batch([person(n) for n in range(200)])
    kept = orjson.dumps((await api.call(STATUS, {"task_id": task_id})).body)
    await add_fault(api, action="truncate", times=8, match={"method": STATUS})
    status_body = {"token": TOKEN, "task_id": task_id}
    for _ in range(8):
        async with api.http.post(STATUS_PATH, json=status_body) as response:
            assert len(await response.read()) < len(kept)
    parsed: list[bytes] = []
    spying = SimpleNamespace(**{name: getattr(orjson, name) for name in dir(orjson)})
    spying.loads = lambda data: parsed.append(data) or orjson.loads(data)
    monkeypatch.setattr(journal_model, "orjson", spying)
    assert orjson.dumps((await api.call(STATUS, {"task_id": task_id})).body) == kept
    *spoiled, entry = await entries(api, limit=9)  # oldest first
    assert entry["response_note"].startswith("summarised")
    assert [cut["response_note"] for cut in spoiled] == ["not JSON"] * 8
    assert kept not in parsed


async def test_body_over_max_body_bytes_is_noted_too_large_and_not_read(make_api):
    api = await make_api(max_body_bytes=100)
    raw = json.dumps({"token": TOKEN, "task_id": "x" * 300}).encode()
    assert await post_raw(api, STATUS_PATH, raw, STATUS) == TOO_LARGE
    [entry] = await entries(api)
    assert (entry["body"], entry["body_note"], entry["body_bytes"], entry["response"]) == (
        None,
        "too large: not read",
        len(raw),
        TOO_LARGE,
    )


async def test_chunked_body_over_max_body_bytes_is_noted_too_large_and_not_read(make_api):
    api = await make_api(max_body_bytes=100)

    async def chunks():
        yield json.dumps({"token": TOKEN, "task_id": "y" * 300}).encode()

    assert await post_raw(api, STATUS_PATH, chunks(), STATUS) == TOO_LARGE
    [entry] = await entries(api)
    assert (entry["body"], entry["body_note"], entry["response"]) == (
        None,
        "too large: not read",
        TOO_LARGE,
    )


# -- control calls -------------------------------------------------------------------------


async def control_then_vendor(api: ApiClient) -> None:
    await ok(api, "GET", "/_mock/health", "control/health.response")
    await ok(api, "GET", "/_mock/profiles", "control/profiles.response")
    await add_fault(api, action="delay", delay_ms=0)
    await status_of_unknown(api)


async def test_control_calls_are_not_journaled_by_default(api):
    await control_then_vendor(api)
    assert [(e["method"], e["path"]) for e in await entries(api)] == [("POST", STATUS_PATH)]


async def test_control_calls_are_journaled_with_journal_control(make_api):
    api = await make_api(journal_control=True)
    await control_then_vendor(api)
    found = await entries(api)
    assert [(e["method"], e["path"], e["api_method"], e["status"]) for e in found] == [
        ("GET", "/_mock/health", None, 200),
        ("GET", "/_mock/profiles", None, 200),
        ("POST", "/_mock/faults", None, 201),
        ("POST", STATUS_PATH, STATUS, 200),
    ]


async def test_journaled_control_call_keeps_its_body(make_api):
    api = await make_api(journal_control=True)
    rule = {"action": "error", "error": 503, "times": 1}
    await add_fault(api, **rule)
    [entry] = await entries(api, path="/_mock/faults")
    assert (entry["body"], entry["body_note"]) == (rule, None)


async def test_journaled_successful_control_call_has_no_error_code(make_api):
    """A fault rule's answer has a field named `error` (the code it injects);
    the call itself succeeded, so neither the entry nor `?error=` calls it one."""
    api = await make_api(journal_control=True)
    await add_fault(api, action="delay", delay_ms=0)
    [entry] = await entries(api, path="/_mock/faults")
    assert (entry["status"], entry["error"]) == (201, None)
    assert await entries(api, error=500) == []


async def test_journaled_control_call_masks_the_admin_token(make_api):
    api = await make_api(journal_control=True, admin_token="s3cret-admin")
    admin = {"Authorization": "Bearer s3cret-admin"}
    await ok(api, "GET", "/_mock/profiles", "control/profiles.response", headers=admin)
    found = await ok(api, "GET", "/_mock/requests", "control/requests.response", headers=admin)
    [entry] = found["requests"]
    assert entry["headers"]["Authorization"] == "Bearer s3cr…"
    assert "s3cret-admin" not in json.dumps(found, ensure_ascii=False)


# -- tasks point back at their journal entry ------------------------------------------------


async def test_task_request_id_is_the_journal_id_of_its_create_call(api):
    await status_of_unknown(api)
    await status_of_unknown(api)
    task_id = await api.import_batch([person(1)])
    [created] = await entries(api, method=BATCH_TASK)
    assert created["id"] == 3
    assert (await task(api, task_id))["request_id"] == created["id"]
    assert created["response"]["task_id"] == task_id


async def test_an_entry_shows_the_path_exactly_as_sent_beside_the_method(api):
    # The goaltcraft Go client posts to `/api/v1.1//databases/list`.
    answer = await api.raw(
        "POST",
        "/api/v1.1//databases/list/?x=1",
        json={"token": api.token},
        method_name="databases/list",
    )
    assert answer.body["error"] == 0
    [entry] = await entries(api)
    assert (entry["path"], entry["api_method"], entry["query"]) == (
        "/api/v1.1//databases/list/",
        "databases/list",
        {"x": "1"},
    )
    # Filtering by the path in normal form still finds it.
    assert [e["id"] for e in await entries(api, path="/api/v1.1/databases/list")] == [entry["id"]]


async def test_the_path_filter_finds_percent_encoded_paths_too(api):
    for path in ("/api/v1.1/data%62ases/list", "/api/v1.1/databases%2Flist"):
        # As sent: yarl would decode `%62` on its own.
        url = URL(str(api.http.make_url("/")).rstrip("/") + path, encoded=True)
        async with api.http.session.post(url, json={"token": api.token}) as response:
            assert (await response.json())["error"] == 0
    found = await entries(api, path="/api/v1.1/databases/list")
    assert [e["path"] for e in found] == [
        "/api/v1.1/data%62ases/list",
        "/api/v1.1/databases%2Flist",
    ]


async def test_waiting_for_more_requests_than_the_journal_keeps_is_a_409_at_once(make_api):
    api = await make_api(journal_size=3)
    answer = await api.control("GET", "/_mock/requests?wait=4&timeout=30")
    assert answer.status == 409
    assert answer.body["error_debug"] == (
        "wait: 4 requests can never be in the journal at once: it keeps the last 3 (--journal-size)"
    )
