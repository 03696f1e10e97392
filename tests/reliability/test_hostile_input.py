"""Hostile input (issue 7, item 2): a clear 400 and nothing stored.

Bodies (in-process, every answer checked against the contract): nesting far
past any real body, numbers past 64 bits, invalid UTF-8, a Content-Type that
says another format, NUL characters, duplicate keys, 100,000 tiny items,
compression bombs, `custom_request` operators that run code or backtrack
without end. Then HTTP itself (the real process, raw sockets): header and URL
abuse, and slow clients, which are cut off by `--read-timeout` while the
server keeps answering everybody else.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from mockserver.errors import INVALID_REQUEST_TEXT
from tests.helpers import BATCH_TASK, TOKEN, Answer, ApiClient, check_against_contract
from tests.reliability.helpers import (
    ServerProcess,
    body_of,
    figure,
    raw_exchange,
    status_of,
)

BATCH_PATH = f"/api/v1.1/{BATCH_TASK}"
TEN_MB = 10 * 1024 * 1024


def batch_raw(data_json: bytes, extra: bytes = b"", workflow: bytes = b"2") -> bytes:
    """A batch request body around a raw `data` value (bytes spliced in as they are)."""
    head = b'{"token":"' + TOKEN.encode() + b'","workflow_id":' + workflow
    return head + extra + b',"data":' + data_json + b"}"


def item_raw(fields: bytes) -> bytes:
    return b'[{"data":{"email":"ann@example.com"' + fields + b"}}]"


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


async def post(api: ApiClient, raw: bytes, content_type: str = "application/json") -> Answer:
    return await api.raw(
        "POST", BATCH_PATH, data=raw, headers={"Content-Type": content_type}, method_name=BATCH_TASK
    )


def assert_nothing_stored(api: ApiClient) -> None:
    store = api.state.store
    assert (store.count_profiles(), list(store.tasks()), store.count_engagements()) == (0, [], 0)


def assert_refused(api: ApiClient, answer: Answer, reason: str) -> None:
    assert answer.body["error"] == 400, answer.body
    assert answer.body["error_text"] == INVALID_REQUEST_TEXT
    assert reason in answer.body["error_debug"], answer.body
    assert_nothing_stored(api)


@pytest.fixture(scope="module")
def process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("hostile")
    with ServerProcess(workdir, "--read-timeout", "1", "--progression", "instant") as running:
        yield running
        # After everything this module threw at it: no traceback, no token in the log.
        assert running.alive()
        assert running.crash_lines() == []
        assert TOKEN not in running.stderr()


# -- bodies ------------------------------------------------------------------------------

#: (id, raw body, what error_debug says). The body is a batch request unless it
#: cannot be one (the point is that it is malformed).
BODIES = [
    (
        "nested-10000-levels",
        batch_raw(item_raw(b',"x":' + nested(10_000))),
        "nested deeper than 64",
    ),
    ("nested-1000-levels", batch_raw(item_raw(b',"x":' + nested(1000))), "nested deeper than 64"),
    ("nested-65-levels", batch_raw(item_raw(b',"x":' + nested(61))), "nested deeper than 64"),
    ("object-nested-10000", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested deeper than 64"),
    ("int-past-64-bits", batch_raw(item_raw(b""), workflow=b"1" * 30), "workflow_id: number 1111"),
    ("field-int-past-64-bits", batch_raw(item_raw(b',"Points":' + b"9" * 40)), "64-bit range"),
    ("int-2-to-the-63", batch_raw(item_raw(b',"Points":9223372036854775808')), "64-bit range"),
    (
        "int-below-minus-2-to-the-63",
        batch_raw(item_raw(b',"Points":-9223372036854775809')),
        "64-bit",
    ),
    ("int-of-5000-digits", batch_raw(item_raw(b',"Points":' + b"7" * 5000)), "64-bit range"),
    ("float-infinite", batch_raw(item_raw(b',"Score":1e400')), "data[0].data.Score: number 1e400"),
    ("float-past-64-bits", batch_raw(item_raw(b',"Score":-1e300')), "64-bit range"),
    (
        "invalid-utf8",
        batch_raw(item_raw(b',"_fname":"\xff\xfe"')),
        "not valid JSON: not UTF-8 at byte 105 (a sequence starting 0xff: invalid start byte)",
    ),
    ("overlong-utf8", batch_raw(item_raw(b',"_fname":"\xc0\xaf"')), "UTF-8"),
    ("lone-surrogate", batch_raw(item_raw(b',"_fname":"\\ud800"')), "surrogate"),
    ("utf16-body", json.dumps({"token": TOKEN}).encode("utf-16"), "not valid JSON"),
    (
        "byte-order-mark",
        b"\xef\xbb\xbf" + batch_raw(item_raw(b"")),
        "not valid JSON: UTF-8 byte order mark (BOM)",
    ),
    ("nul-in-a-value", batch_raw(item_raw(b',"_fname":"Ann\\u0000Lee"')), "data[0].data._fname"),
    ("nul-in-an-email", batch_raw(b'[{"data":{"email":"a\\u0000@example.com"}}]'), "NUL"),
    ("nul-in-a-key", batch_raw(item_raw(b',"x\\u0000":1')), "NUL character"),
    ("raw-nul-byte", batch_raw(item_raw(b',"_fname":"a\x00b"')), "not valid JSON"),
    ("nul-after-the-body", batch_raw(item_raw(b"")) + b"\x00", "not valid JSON"),
    ("duplicate-root-key", batch_raw(item_raw(b""), b',"workflow_id":233'), "duplicate key"),
    (
        "duplicate-key-in-an-item",
        batch_raw(b'[{"data":{"email":"a@example.com","email":"b@example.com"}}]'),
        "data[0].data: duplicate key 'email'",
    ),
    (
        "duplicate-key-spelled-with-an-escape",
        batch_raw(b'[{"data":{"email":"a@example.com","\\u0065mail":"b@example.com"}}]'),
        "duplicate key 'email'",
    ),
    ("duplicate-token", batch_raw(item_raw(b""), b',"token":"other"'), "duplicate key 'token'"),
    ("two-documents", batch_raw(item_raw(b"")) + b"{}", "not valid JSON"),
    ("not-an-object", b"[" + batch_raw(item_raw(b"")) + b"]", "expected a JSON object"),
    ("empty", b"", "empty"),
]


def refused_by_the_process(
    process: ServerProcess, raw: bytes, reason: str, content_type: str = "application/json"
) -> None:
    """Posted to the real server: a 400 in the envelope, journaled, nothing stored."""
    status, body = process.request("POST", BATCH_PATH, raw, {"Content-Type": content_type})
    check_against_contract(BATCH_TASK, body)
    assert (status, body["error"], body["error_text"]) == (200, 400, INVALID_REQUEST_TEXT), body
    assert reason in body["error_debug"], body
    counts = process.control("GET", "/_mock/health")["counts"]
    assert (counts["profiles"], counts["tasks"], counts["engagements"]) == (0, 0, 0)
    [entry] = process.control("GET", "/_mock/requests?limit=1")["requests"]
    assert (entry["status"], entry["error"], entry["body_bytes"]) == (200, 400, len(raw))
    assert TOKEN not in json.dumps(entry, ensure_ascii=False)


@pytest.mark.e2e
@pytest.mark.parametrize(("raw", "reason"), [b[1:] for b in BODIES], ids=[b[0] for b in BODIES])
def test_hostile_body_is_400_and_stores_nothing(process, raw, reason):
    refused_by_the_process(process, raw, reason)


async def test_the_same_batch_without_the_hostile_part_is_accepted(make_api):
    """The bodies above differ from a valid request only in their hostile part."""
    api = await make_api(progression="instant")
    answer = await post(
        api, batch_raw(item_raw(b',"Points":9223372036854775807,"x":' + nested(60)))
    )
    assert answer.body["error"] == 0, answer.body
    assert api.state.store.count_profiles() == 1


async def test_a_whole_number_written_as_a_float_is_read_as_that_int(make_api):
    """`2.0` is the JSON number 2 (JSON Schema's `integer` says so too): paging and
    ids get an int, never a float that breaks a slice."""
    api = await make_api(progression="instant")
    answer = await api.call("workflows/list", {"limit": 2.0, "from_id": 1e0})
    assert answer.body["error"] == 0
    assert len(answer.body["data"]) == 2
    answer = await post(api, batch_raw(item_raw(b',"Points":1.5e3'), workflow=b"2.0"))
    assert answer.body["error"] == 0
    [profile] = api.state.store.profiles()
    assert profile["data"]["Points"] == 1500 and isinstance(profile["data"]["Points"], int)


CONTENT_TYPES = [
    ("text/xml", b"<import><workflow_id>2</workflow_id></import>"),
    ("application/xml", batch_raw(item_raw(b""))),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
    ),
    ("image/png", batch_raw(item_raw(b""))),
    ("text/html", b"<html></html>"),
]


@pytest.mark.e2e
@pytest.mark.parametrize(("content_type", "raw"), CONTENT_TYPES, ids=[c[0] for c in CONTENT_TYPES])
def test_a_content_type_of_another_format_is_400(process, content_type, raw):
    reason = "Content-Type: '" + content_type.split(";")[0] + "' is not JSON"
    refused_by_the_process(process, raw, reason, content_type)


@pytest.mark.e2e
def test_a_form_body_under_the_form_type_is_400_naming_the_type(process):
    raw = f"token={TOKEN}&workflow_id=2".encode()
    reason = "(Content-Type is 'application/x-www-form-urlencoded')"
    refused_by_the_process(process, raw, reason, "application/x-www-form-urlencoded")


# -- big and compressed bodies ------------------------------------------------------------


@pytest.mark.slow  # big load: 100,000 items
async def test_100000_tiny_items_within_10_mb_are_taken_without_falling_over(make_api):
    """(pick) Over the vendor's recommended 10,000 is accepted with a warning; the
    task is processed in slices like any other."""
    api = await make_api(progression="manual")
    raw = orjson.dumps(
        {
            "token": TOKEN,
            "workflow_id": 2,
            "data": [{"data": {"email": f"u{n}@x.io"}} for n in range(100_000)],
        }
    )
    assert len(raw) < TEN_MB
    answer = await post(api, raw)
    assert answer.body["error"] == 0, answer.body
    task_id = answer.body["task_id"]
    view = (await api.control("POST", f"/_mock/tasks/{task_id}/advance", json={"items": 2000})).body
    assert (view["total"], view["processed"], view["status"]) == (100_000, 2000, "processing")
    assert api.state.store.count_profiles() == 2000
    [entry] = (await api.control("GET", f"/_mock/requests?method={BATCH_TASK}")).body["requests"]
    assert "more than the 10000 the vendor recommends" in entry["warning"]


@pytest.mark.slow  # big load: 100,000 items
async def test_100000_empty_items_are_100000_item_errors_and_nothing_stored(make_api):
    api = await make_api(progression="instant")
    answer = await post(api, batch_raw(b"[" + b",".join([b"{}"] * 100_000) + b"]"))
    assert answer.body["error"] == 0
    task = api.state.engine.get(answer.body["task_id"])
    assert task.status.value == "completed" and len(task.results) == 100_000
    assert all(result["error"] == 400 for result in task.result_entries())
    assert api.state.store.count_profiles() == 0


@pytest.mark.slow  # big load: 100,000 items
async def test_100000_items_over_max_items_is_400_and_stores_nothing(make_api):
    api = await make_api(max_items=10_000)
    answer = await post(
        api, batch_raw(b"[" + b",".join([b'{"data":{"email":"a@b.io"}}'] * 100_000) + b"]")
    )
    assert_refused(api, answer, "100000 items, more than the maximum 10000 (--max-items)")


@pytest.mark.slow  # big load: 64 MB inflated
async def test_a_compression_bomb_is_refused_while_it_inflates(api):
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))  # 64 MB of spaces in ~64 KB
    async with api.http.post(
        BATCH_PATH,
        data=bomb,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    ) as response:
        body = await response.json(content_type=None)
    assert body == {
        "error": 400,
        "error_debug": "http: request body too large",
        "error_text": INVALID_REQUEST_TEXT,
    }
    assert_nothing_stored(api)


async def test_a_body_that_does_not_decode_is_400(api):
    async with api.http.post(
        BATCH_PATH, data=b"not gzip at all", headers={"Content-Encoding": "gzip"}
    ) as response:
        body = await response.json(content_type=None)
    assert body["error"] == 400 and "request body unreadable" in body["error_debug"], body
    assert_nothing_stored(api)


# -- custom_request -----------------------------------------------------------------------

QUERIES = [
    ({"$where": "sleep(100000)"}, "operator $where is not supported"),
    ({"email": {"$function": {"body": "x"}}}, "operator $function is not supported"),
    ({"$expr": {"$gt": ["$a", 1]}}, "operator $expr is not supported"),
    ({"email": {"$regex": "(a+)+$"}}, "can take exponential time"),
    ({"email": {"$regex": "^(\\w+\\s?)*$"}}, "can take exponential time"),
    ({"email": {"$not": {"$regex": "((ab)*c?)+$"}}}, "can take exponential time"),
    ({"email": {"$regex": "a" * 600}}, "at most 512"),
    ({"email": {"$regex": "(unclosed"}}, "invalid regular expression"),
    ({"email": {"$regex": "/x/g"}}, ""),  # an unknown flag: the pattern is taken literally
]


@pytest.mark.parametrize(("query", "reason"), QUERIES, ids=[str(q[0])[:40] for q in QUERIES])
async def test_expensive_custom_request_is_refused_before_anything_runs(api, query, reason):
    body = {"workflow_id": 2, "custom_request": query, "data": [{"data": {"_fname": "A"}}]}
    answer = await api.call(BATCH_TASK, body)
    if not reason:
        assert answer.body["error"] == 0
        return
    assert_refused(api, answer, reason)


async def test_a_backtracking_regex_that_passes_the_check_is_cut_short(make_api):
    """`(a|aa)+$` is not refused (no nested quantifier) but backtracks exponentially
    on `aaa…!`: each match stops at its time bound and counts as no match."""
    api = await make_api(progression="instant")
    victims = [
        {"data": {"email": f"v{n}@example.com", "_fname": "a" * 5000 + "!"}} for n in range(5)
    ]
    await api.import_and_finish(victims)
    answer = await api.call(
        "profiles/get", {"db_id": 1, "custom_request": {"_fname": {"$regex": "(a|aa)+$"}}}
    )
    assert answer.body["error"] == 404, answer.body  # nothing matched within the bound
    answer = await api.call(
        "profiles/get", {"db_id": 1, "custom_request": {"_fname": {"$regex": "^a{5000}!$"}}}
    )
    assert answer.body["error"] == 0  # an ordinary pattern still matches


# -- HTTP itself: the real process -----------------------------------------------------------

HOST = b"Host: 127.0.0.1\r\n"
CLOSE = b"Connection: close\r\n"

#: (id, raw request, acceptable statuses). 400s here come from aiohttp's own parser
#: (plain text) or from the API (the envelope); 404s from the API, in the envelope.
RAW_REQUESTS = [
    (
        "request-line-over-8-kib",
        b"POST /api/v1.1/" + b"a" * 9000 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
        {400},
    ),
    (
        "header-over-8-kib",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + b"X-A: " + b"a" * 9000 + b"\r\n\r\n",
        {400},
    ),
    (
        "bearer-token-over-8-kib",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n"
        + HOST
        + b"Authorization: Bearer "
        + b"t" * 9000
        + b"\r\n\r\n",
        {400},
    ),
    (
        "200-headers",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n"
        + HOST
        + b"".join(b"X-%d: a\r\n" % i for i in range(200))
        + b"\r\n",
        {400},
    ),
    (
        "control-bytes-in-a-header",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + b"X-Bad: \x01\x02\r\n\r\n",
        {400},
    ),
    (
        "header-injection",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + b"X-A: a\rX-B: b\r\n\r\n",
        {400},
    ),
    (
        "content-length-and-chunked",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n"
        + HOST
        + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        {400},
    ),
    (
        "negative-content-length",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + b"Content-Length: -1\r\n\r\n",
        {400},
    ),
    (
        "two-content-lengths",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n"
        + HOST
        + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
        {400},
    ),
    (
        "content-length-of-a-terabyte",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n"
        + HOST
        + CLOSE
        + b"Content-Length: 1099511627776\r\n\r\n",
        {200},
    ),
    (
        "bad-chunk-size",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n"
        + HOST
        + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        {400},
    ),
    (
        "unknown-content-encoding",
        b"POST /api/v1.1/tasks/status HTTP/1.1\r\n"
        + HOST
        + b"Content-Encoding: br\r\nContent-Length: 2\r\n\r\n{}",
        {400},
    ),
    ("no-host", b"GET /_mock/health HTTP/1.1\r\n\r\n", {400}),
    ("http-9", b"GET /_mock/health HTTP/9.9\r\n" + HOST + b"\r\n", {400}),
    ("not-http", b"GARBAGE\r\n\r\n", {400}),
    ("tls-hello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40, {400}),
    (
        "nul-in-the-path",
        b"POST /api/v1.1/tasks%00/status HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n",
        {200},
    ),
    ("bad-percent-escape", b"POST /api/v1.1/%zz HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n", {200}),
    (
        "dot-segments",
        b"POST /api/v1.1/../../../etc/passwd HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n",
        {200, 404},
    ),
    (
        "path-of-8000-bytes",
        b"POST /api/v1.1/" + b"x/" * 4000 + b" HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n",
        {200},
    ),
    (
        "query-of-1000-parameters",
        b"POST /api/v1.1/tasks/status?"
        + b"&".join(b"t%d=1" % i for i in range(1000))
        + b" HTTP/1.1\r\n"
        + HOST
        + CLOSE
        + b"Content-Length: 2\r\n\r\n{}",
        {200},
    ),
    (
        "token-repeated-in-the-query",
        b"POST /api/v1.1/tasks/status?token=a&token=b&token=c HTTP/1.1\r\n"
        + HOST
        + CLOSE
        + b"Content-Length: 2\r\n\r\n{}",
        {200},
    ),
    (
        "unicode-path",
        "POST /api/v1.1/задачи/статус HTTP/1.1\r\n".encode() + HOST + CLOSE + b"\r\n",
        {200, 400},
    ),
    (
        "absolute-uri",
        b"GET http://evil.example/_mock/tasks/x HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n",
        {404},
    ),
    ("asterisk-target", b"OPTIONS * HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n", {200, 404}),
    (
        "unknown-method",
        b"PROPFIND /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n",
        {200},
    ),
    (
        "lowercase-method",
        b"post /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n",
        {200, 400},
    ),
    (
        "task-id-of-8000-characters",
        b"GET /_mock/tasks/" + b"9" * 8000 + b" HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n",
        {404},
    ),
]


@pytest.mark.e2e
def test_header_and_url_abuse_is_answered_and_changes_nothing(process):
    for name, raw, statuses in RAW_REQUESTS:
        answer = raw_exchange(process.host, process.port, raw, timeout=30)
        assert status_of(answer) in statuses, (name, answer[:300])
        body = body_of(answer)
        if isinstance(body, dict):  # the API's answers are the envelope, never a 5xx
            assert isinstance(body.get("error"), int) and body["error"] < 500, (name, body)
    assert process.alive()
    counts = process.control("GET", "/_mock/health")["counts"]
    assert (counts["profiles"], counts["tasks"], counts["engagements"]) == (0, 0, 0)
    assert process.crash_lines() == []
    figure("hostile-http", requests=len(RAW_REQUESTS), server_errors=0, stored=0)


@pytest.mark.e2e
def test_malformed_http_is_answered_in_the_vendor_envelope(process):
    """A request aiohttp cannot parse gets the envelope (HTTP 400, `error_debug`
    saying what was wrong), never a plain-text page, and never echoes the bytes
    it choked on (a header over the limit may be a token)."""
    malformed = [
        *((name, raw) for name, raw, statuses in RAW_REQUESTS if statuses == {400}),
        ("space-in-the-method", b"GE T /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + b"\r\n"),
        (
            "header-without-colon",
            b"POST /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + b"Bad\r\n\r\n",
        ),
        (
            "token-in-an-over-long-request-line",
            b"POST /api/v1.1/databases/list?token="
            + TOKEN.encode()
            + b"&pad="
            + b"a" * 9000
            + b" HTTP/1.1\r\n"
            + HOST
            + b"\r\n",
        ),
    ]
    for name, raw in malformed:
        answer = raw_exchange(process.host, process.port, raw, timeout=30)
        body = body_of(answer)
        assert status_of(answer) == 400, (name, answer[:300])
        assert isinstance(body, dict), (name, answer[:300])
        assert (body["error"], body["error_text"]) == (400, INVALID_REQUEST_TEXT), (name, body)
        assert body["error_debug"], (name, body)
        assert b"tttttttt" not in answer and TOKEN.encode() not in answer, name
        assert b"Content-Type: application/json" in answer, (name, answer[:300])
    assert process.alive()
    assert process.crash_lines() == []


@pytest.mark.e2e
def test_malformed_http_says_what_was_wrong_in_full(process):
    """aiohttp's reason is kept whole where it quotes no request bytes: a header's
    name (`'Host'`) and an apostrophe (`can't`) are words, not the bytes it choked
    on (they cut the reason short: `http: Missing`, `http: Transfer-Encoding can`)."""
    cases = [
        (
            b"POST /api/v1.1/tasks/status HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            "http: Missing 'Host' header in request",
        ),
        (
            b"POST /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + b"Content-Length: 2\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "http: Transfer-Encoding can't be present with Content-Length",
        ),
        (
            b"abcdefghijklmnqrstuvwxyz /api/v1.1/tasks/status HTTP/1.1\r\n" + HOST + b"\r\n",
            None,  # the bytes it choked on (a token here) are never repeated
        ),
        # aiohttp's reason for a bad target is the target itself, unquoted.
        (b"GET http:///?token=abcdefghijklmnqrstuvwxyz HTTP/1.1\r\n" + HOST + b"\r\n", None),
        (b"GET http://[it'sabcdefghijklmnqrstuvwxyz/ HTTP/1.1\r\n" + HOST + b"\r\n", None),
        (b"GET http://[abcdefghijklmnqrstuvwxyz/ HTTP/1.1\r\n" + HOST + b"\r\n", None),
    ]
    for raw, reason in cases:
        answer = raw_exchange(process.host, process.port, raw, timeout=30)
        body = body_of(answer)
        assert status_of(answer) == 400, answer[:300]
        if reason is not None:
            assert body["error_debug"] == reason, body
        assert b"abcdefghijklmnqrstuvwxyz" not in answer, answer[:300]


def _trickle(
    process: ServerProcess, head: bytes, body: bytes, seconds_per_byte: float
) -> dict[str, Any]:
    """Send `head` at once, then `body` one byte at a time; note when the server ends it."""
    sent, answer = 0, b""
    started = time.monotonic()
    with socket.create_connection((process.host, process.port), timeout=30) as sock:
        try:
            sock.sendall(head)
            for byte in body:
                sock.settimeout(seconds_per_byte)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    chunk = None
                if chunk == b"":
                    break  # closed by the server
                if chunk:
                    answer += chunk
                    break
                sock.sendall(bytes([byte]))
                sent += 1
            sock.settimeout(30)
            while chunk := sock.recv(65536):
                answer += chunk
        except (BrokenPipeError, ConnectionResetError):
            pass
    return {"sent": sent, "answer": answer, "seconds": time.monotonic() - started}


def _others_are_served(process: ServerProcess, stop: threading.Event, served: list[Any]) -> None:
    """Another client, polling health on a kept-alive connection until `stop`."""
    connection = process.connection(timeout=30)
    try:
        while not stop.is_set():
            connection.request("GET", "/_mock/health")
            answer = connection.getresponse()
            served.append(answer.status == 200 and bool(answer.read()))
    except Exception as exc:  # reported by the test, not lost in the thread
        served.append(exc)
    finally:
        connection.close()


@pytest.mark.e2e
@pytest.mark.parametrize("part", ["head", "body"])
def test_a_client_sending_a_byte_a_second_is_cut_off_and_blocks_nobody(process, part):
    """`--read-timeout 1`: a head trickling in is dropped; a body trickling in gets a 400.
    Meanwhile another client keeps being answered."""
    body = batch_raw(item_raw(b""))
    request_head = (
        f"POST {BATCH_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    if part == "head":
        head, trickled = b"", request_head.encode() + body
    else:
        head, trickled = request_head.encode(), body
    stop, served = threading.Event(), []
    other = threading.Thread(target=_others_are_served, args=(process, stop, served))
    other.start()
    try:
        outcome = _trickle(process, head, trickled, seconds_per_byte=1.0)
    finally:
        stop.set()
        other.join(timeout=30)
    assert outcome["sent"] < len(trickled), "the slow client was never cut off"
    if part == "body":
        assert status_of(outcome["answer"]) == 200
        assert body_of(outcome["answer"]) == {
            "error": 400,
            "error_debug": "http: request body not received within 1 s (--read-timeout)",
            "error_text": INVALID_REQUEST_TEXT,
        }
    else:
        assert outcome["answer"] == b""  # the connection is closed, nothing is answered
    assert served and all(entry is True for entry in served), served[-3:]
    assert process.control("GET", "/_mock/health")["counts"]["tasks"] == 0
    figure(f"slow-client-{part}", bytes_before_cutoff=outcome["sent"], others_served=len(served))


@pytest.mark.e2e
def test_many_idle_connections_do_not_stop_the_server(process):
    """Connections that never send a byte are closed after the read timeout."""
    idle = [socket.create_connection((process.host, process.port), timeout=30) for _ in range(200)]
    try:
        assert process.control("GET", "/_mock/health")["status"] == "ok"
        closed = 0
        for sock in idle:
            sock.settimeout(30)
            try:
                closed += sock.recv(1) == b""
            except ConnectionResetError:
                closed += 1
        assert closed == len(idle)
    finally:
        for sock in idle:
            sock.close()
    figure("idle-connections", connections=len(idle), closed=len(idle))


def test_every_hostile_case_is_distinct_and_says_what_it_expects() -> None:
    """The tables above: one id per case, and a reason each answer must give."""
    assert len({name for name, _, _ in BODIES}) == len(BODIES)
    assert all(reason for _, _, reason in BODIES)
    assert len({name for name, _, _ in RAW_REQUESTS}) == len(RAW_REQUESTS)
    figure(
        "hostile-bodies",
        bodies=len(BODIES),
        content_types=len(CONTENT_TYPES) + 1,
        queries=len(QUERIES) + 1,
        big_bodies=5,
        stored=0,
    )
