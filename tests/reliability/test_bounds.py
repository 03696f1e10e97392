"""Bounds on what one request can cost (issue items 10-12).

- A `fail_items` fault's `pattern` has `custom_request`'s `$regex` guard: a
  pattern that can backtrack without end is a 400 naming `pattern`; one that
  passes the check runs under the same time bound (a match cut short counts
  as no match, logged once).
- `--max-items` is 100,000 by default: a 10 MB body of one-character items
  (5.2 million) is refused in the vendor envelope at the cost of parsing it,
  never processed, stored or answered item by item.
- The journal is bounded in bytes: each entry keeps at most
  `--journal-body-limit` bytes of body, of answer and of headers (objects cut
  to their first keys, like lists), and the whole journal at most
  `--journal-max-bytes` (oldest dropped first).

Wall-clock time is asserted only as a generous bound that proves there is no
multi-second stall; memory as a bound far under what the issue measured.
"""

from __future__ import annotations

import dataclasses
import gc
import http.client
import json
import logging
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mockserver.errors import INVALID_REQUEST_TEXT
from mockserver.importer.item_failures import ItemFailurePlan, item_veto
from tests.helpers import BATCH_TASK, STATUS, TOKEN, ApiClient
from tests.reliability.helpers import SYNC_BATCH, ServerProcess, figure

BATCH_PATH = f"/api/v1.1/{BATCH_TASK}"
TEN_MB = 10 * 1024 * 1024
#: The issue's figures: what each item cost before (15.6 s, 4.4 GB, 130 MB an entry).
NO_STALL_SECONDS = 5.0


def envelope(debug: str) -> dict[str, Any]:
    return {"error": 400, "error_debug": debug, "error_text": INVALID_REQUEST_TEXT}


def batch_of(data: bytes, *, token: bool = True) -> bytes:
    """A batch request body around a raw `data` array."""
    head = b'{"token":"' + TOKEN.encode() + b'",' if token else b"{"
    return head + b'"workflow_id":2,"data":' + data + b"}"


def filled(unit: bytes, size: int = TEN_MB - 100) -> tuple[bytes, int]:
    """A batch body of `unit` items up to `size` bytes, and its item count."""
    count = (size - 60) // (len(unit) + 1)
    return batch_of(b"[" + b",".join([unit] * count) + b"]"), count


def vm(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) // 1024
    return values


class Poller(threading.Thread):
    """Another client, asking for health all along: its longest wait is the stall."""

    def __init__(self, server: ServerProcess) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.longest = 0.0
        self.answers = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.server.host, self.server.port, timeout=60)
        while not self.stopped.is_set():
            started = time.perf_counter()
            connection.request("GET", "/_mock/health")
            connection.getresponse().read()
            self.longest = max(self.longest, time.perf_counter() - started)
            self.answers += 1
            time.sleep(0.005)
        connection.close()

    def __enter__(self) -> Poller:
        self.start()
        time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.join(timeout=60)


def post_raw(server: ServerProcess, path: str, raw: bytes) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        connection.request("POST", path, body=raw, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


@pytest.fixture
def process(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path) as running:
        yield running
        assert running.alive()
        assert running.crash_lines() == []


# -- 10. fail_items patterns ------------------------------------------------------------------

REFUSED_PATTERNS = [
    ("^(a+)+$", "can take exponential time"),  # the issue's: 15.6 s on 29 a's
    ("(\\w+\\s?)*$", "can take exponential time"),
    ("((ab)*c?)+$", "can take exponential time"),
    ("a" * 600, "pattern of 600 characters, at most 512"),
    ("(unclosed", "invalid regular expression"),
]


@pytest.mark.parametrize(
    ("pattern", "reason"), REFUSED_PATTERNS, ids=[p[:20] for p, _ in REFUSED_PATTERNS]
)
async def test_a_fail_items_pattern_that_can_backtrack_without_end_is_refused(api, pattern, reason):
    answer = await api.control(
        "POST", "/_mock/faults", json={"action": "fail_items", "pattern": pattern}
    )
    assert answer.status == 400, answer.body
    assert answer.body["error_debug"].startswith("pattern: "), answer.body
    assert reason in answer.body["error_debug"]
    assert (await api.control("GET", "/_mock/faults")).body["total"] == 0


async def test_a_fail_items_pattern_that_passes_the_check_is_cut_short(api, caplog):
    """`(a|aa)+$` has no nested quantifier, so it passes, but backtracks exponentially
    on `aaa…!`: each match stops at its bound and counts as no match, logged once;
    the request answers in bounded time and the other items are judged as usual."""
    rule = {"action": "fail_items", "pattern": "(a|aa)+$", "match": {"method": SYNC_BATCH}}
    assert (await api.control("POST", "/_mock/faults", json=rule)).status == 201
    values = ["aaa", *["a" * 5000 + f"!{n}" for n in range(8)], "baa"]
    body = {
        "workflow_id": 2,
        "matching": "custom",
        "field_name": "CRM_ID",
        "data": [{"data": {"CRM_ID": value}} for value in values],
    }
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="mockserver.domain.queries"):
        answer = await api.call(SYNC_BATCH, body)
    took = time.perf_counter() - started
    results = answer.body["result"]
    assert results[0]["error"] == 400  # matched: failed by the fault
    assert all("profile_id" in result for result in results[1:-1])  # cut short: no match
    assert took < NO_STALL_SECONDS, took
    cut = [r for r in caplog.records if "cut short by its time bound" in r.getMessage()]
    assert len(cut) == 1 and "fail_items pattern" in cut[0].getMessage()
    figure("fail_items_time_bound", values=len(values), seconds=round(took, 2))


def test_a_rule_stored_before_the_guard_is_still_time_bounded():
    """A task persisted by an earlier version may carry `^(a+)+$`: its veto runs
    under the bound (the issue's 29 a's took 15.6 s with `re`)."""
    plan = ItemFailurePlan(rule="fault_1", pattern="^(a+)+$", error=400, error_text="x")
    veto = item_veto([plan])
    assert veto is not None
    item: Any = SimpleNamespace(key=None, fields={"email": "a" * 29 + "@example.com"})
    started = time.perf_counter()
    assert [veto(item) for _ in range(50)] == [None] * 50
    assert time.perf_counter() - started < NO_STALL_SECONDS
    ordinary = item_veto([dataclasses.replace(plan, pattern="^a+@")])
    assert ordinary is not None and ordinary(item) is not None


# -- 11. --max-items by default ----------------------------------------------------------------


@pytest.mark.parametrize("method", [BATCH_TASK, SYNC_BATCH, "profiles/import_batch"])
async def test_more_than_100000_items_are_refused_by_default(api, method):
    items = b"[" + b",".join([b'{"email":"a@b.io"}'] * 100_001) + b"]"
    key = b'"db_id":1,' if method.startswith("profiles/") else b'"workflow_id":2,'
    raw = b'{"token":"' + TOKEN.encode() + b'",' + key + b'"data":' + items + b"}"
    answer = await api.raw("POST", f"/api/v1.1/{method}", data=raw, method_name=method)
    assert answer.body == envelope("data: 100001 items, more than the maximum 100000 (--max-items)")
    assert api.state.store.count_profiles() == 0
    assert list(api.state.store.tasks()) == []


@pytest.mark.slow  # big load: 100,000 items
async def test_exactly_100000_items_are_accepted_by_default(make_api):
    api = await make_api(progression="manual")
    raw = batch_of(b"[" + b",".join([b'{"data":{"email":"a@b.io"}}'] * 100_000) + b"]")
    answer = await api.raw("POST", BATCH_PATH, data=raw, method_name=BATCH_TASK)
    assert answer.body["error"] == 0, answer.body


@pytest.mark.e2e
@pytest.mark.parametrize("unit", [b"1", b"{}"], ids=["one-character", "empty-object"])
def test_a_10_mb_body_of_tiny_items_is_refused_with_bounded_memory_and_stall(process, unit):
    """The issue's body: 5.2 million `1` items (and `{}`, the costliest item to parse
    per byte). Before: accepted, 9.4 s, 8.7 s stall, 4.4 GB peak, 418 MB status."""
    raw, count = filled(unit)
    before = vm(process.proc.pid)  # type: ignore[union-attr]
    with Poller(process) as poller:
        started = time.perf_counter()
        status, answer = post_raw(process, BATCH_PATH, raw)
        took = time.perf_counter() - started
    after = vm(process.proc.pid)  # type: ignore[union-attr]
    assert (status, answer) == (
        200,
        envelope(f"data: {count} items, more than the maximum 100000 (--max-items)"),
    )
    assert process.control("GET", "/_mock/tasks")["tasks"] == []
    assert process.control("GET", "/_mock/profiles")["total"] == 0
    peak = after["VmHWM"] - before["VmRSS"]
    assert peak < 1024, after  # MB over the idle server: parsing the body, bounded by its bytes
    assert poller.longest < NO_STALL_SECONDS and took < NO_STALL_SECONDS
    figure(
        "max_items_default",
        unit=unit.decode(),
        items=count,
        body_mb=round(len(raw) / 1e6, 1),
        seconds=round(took, 2),
        longest_other_wait_ms=round(poller.longest * 1000),
        idle_rss_mb=before["VmRSS"],
        peak_rss_mb=after["VmHWM"],
    )


# -- 12. the journal, in bytes -----------------------------------------------------------------


def big_object(keys: int) -> bytes:
    return b"{" + b",".join(b'"k%d":1' % n for n in range(keys)) + b"}"


async def journal(api: ApiClient, **query: Any) -> tuple[dict[str, Any], int]:
    async with api.http.get("/_mock/requests", params=query) as response:
        raw = await response.read()
    return json.loads(raw), len(raw)


def retained(before: tracemalloc.Snapshot) -> int:
    """Bytes allocated since `before` and still alive, reference cycles collected."""
    gc.collect()
    after = tracemalloc.take_snapshot()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


@pytest.mark.slow  # a 9 MB body three times, under tracemalloc
async def test_an_object_of_780000_keys_is_kept_as_its_first_keys(api):
    """The issue's 9.2 MB one-object body, with no token (a 401): ~130 MB per entry
    before. Now its first 100 keys and a note, and the entry weighs its summary."""
    raw = big_object(780_000)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(3):
            answer = await api.raw("POST", f"/api/v1.1/{STATUS}", data=raw, method_name=STATUS)
            assert answer.body["error"] == 401
        found, answer_bytes = await journal(api)
        kept = retained(before)
    finally:
        tracemalloc.stop()
    entry = found["requests"][-1]
    assert len(entry["body"]) == 101
    assert entry["body"]["…"] == "779900 more keys not kept"
    assert entry["body_note"].startswith(f"summarised: {len(raw)} bytes")
    assert answer_bytes < 3 * 64 * 1024
    assert api.state.journal.bytes < 3 * 16 * 1024
    assert kept < 2 * 1024 * 1024, kept  # three entries, the journal's answer included
    figure("journal_object_body", body_mb=round(len(raw) / 1e6, 1), kept_bytes_3_entries=kept)


async def test_headers_are_kept_within_the_body_limit(api):
    """110 headers of 8 KB (~1 MB) were kept whole; now the first ones up to
    `--journal-body-limit` bytes, and a note of the rest."""
    headers = {f"X-Filler-{n}": "v" * 8000 for n in range(110)}
    headers["Authorization"] = f"Bearer {TOKEN}"
    answer = await api.call("workflows/list", {"limit": 1}, headers=headers)
    assert answer.body["error"] == 0
    found, answer_bytes = await journal(api)
    [entry] = found["requests"]
    shown = entry["headers"]
    assert sum(len(name) + len(value) for name, value in shown.items()) < 64 * 1024 + 1024
    assert shown["…"].endswith("bytes in all)") and "more headers not kept" in shown["…"]
    assert answer_bytes < 2 * 64 * 1024
    assert TOKEN not in json.dumps(found)
    assert api.state.journal.bytes < 2 * 64 * 1024


async def test_the_journal_keeps_at_most_its_max_bytes_dropping_the_oldest(make_api):
    api = await make_api(journal_max_bytes=1_000_000)
    # Under 64 KiB, so kept whole (the answer, which names the task, too).
    raw = json.dumps({"token": TOKEN, "task_id": "x" * 60_000}).encode()
    for _ in range(40):
        await api.raw("POST", f"/api/v1.1/{STATUS}", data=raw, method_name=STATUS)
    journal_ = api.state.journal
    assert journal_.bytes <= 1_000_000
    found, answer_bytes = await journal(api)
    ids = [entry["id"] for entry in found["requests"]]
    assert ids == list(range(41 - len(ids), 41))  # the newest, in order
    assert found["dropped"] == 40 - len(ids)
    # No more dropped than needed: one more entry would not have fitted.
    assert journal_.bytes + journal_.bytes / len(ids) > 1_000_000
    assert answer_bytes < 1_100_000
    assert found["requests"][-1]["body"]["task_id"] == "x" * 60_000


@pytest.mark.slow  # eight 64 KB bodies of 20,000 items, under tracemalloc
async def test_a_read_entry_weighs_its_json_not_its_parsed_objects(make_api):
    """A body under the limit is kept as its bytes and, once read, as JSON: 64 KiB of
    `{}` would be ~1.5 MB of Python objects."""
    api = await make_api(journal_size=20, progression="manual")
    raw = batch_of(b"[" + b",".join([b"{}"] * 20_000) + b"]")
    assert len(raw) < 64 * 1024
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(8):
            await api.raw("POST", BATCH_PATH, data=raw, method_name=BATCH_TASK)
        kept_unread = retained(before)
        found, _ = await journal(api, limit=1)  # every entry is read (filtered)
        shown = len(found["requests"][0]["body"]["data"])
        del found
        kept_read = retained(before)
    finally:
        tracemalloc.stop()
    assert shown == 20_000
    journal_bytes = api.state.journal.bytes
    assert journal_bytes < 8 * (len(raw) + 4096)
    # Whatever else the 8 tasks hold, reading the journal adds next to nothing: the
    # bytes an entry kept became the JSON it shows (what grows is the last answer,
    # ~64 KB, kept by the connection). Parsed, they were ~1.4 MB an entry.
    growth = kept_read - kept_unread
    assert growth < journal_bytes / 2, (kept_unread, kept_read, journal_bytes)


@pytest.mark.e2e
def test_hostile_headers_keep_the_process_rss_bounded(process):
    """The issue's headers through the real process: 1,000 requests with 120 headers
    of 8 KB. Before: ~1.45 MB an entry, a 962 MB `GET /_mock/requests`."""
    filler = "".join(f"X-Filler-{n}: {'v' * 8000}\r\n" for n in range(120)).encode()
    body = json.dumps({"token": TOKEN, "limit": 1}).encode()
    head = (
        b"POST /api/v1.1/workflows/list HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    )
    before = vm(process.proc.pid)  # type: ignore[union-attr]
    connection = http.client.HTTPConnection(process.host, process.port, timeout=60)
    connection.connect()
    assert connection.sock is not None
    for _ in range(1000):
        connection.sock.sendall(head + filler + b"\r\n" + body)
        response = http.client.HTTPResponse(connection.sock)
        response.begin()
        assert json.loads(response.read())["error"] == 0
    connection.close()
    grown = vm(process.proc.pid)  # type: ignore[union-attr]
    status, listing = process.request("GET", "/_mock/requests?limit=1")
    assert status == 200 and listing["total"] == 1
    answered = vm(process.proc.pid)  # type: ignore[union-attr]
    per_entry_kb = (grown["VmRSS"] - before["VmRSS"]) * 1024 / 1000
    assert grown["VmRSS"] - before["VmRSS"] < 256, (before, grown)  # 64 MB journal + slack
    assert per_entry_kb < 512
    figure(
        "journal_headers",
        requests=1000,
        rss_before_mb=before["VmRSS"],
        rss_after_mb=grown["VmRSS"],
        rss_after_reading_mb=answered["VmRSS"],
        per_entry_kb=round(per_entry_kb),
    )
