"""A plain vendor call recorded as raw values (`RecordedCall`, made an entry when
read) against the same call made an entry at once (`_entry`, the general
recording): the same entry, field for field, and the same size, over awkward
inputs (bodies and answers at the journal's limit and past it, headers past it,
non-ASCII values, tokens, warnings, kept answers)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import make_mocked_request

from mockserver.clock import VirtualClock
from mockserver.control.journal.model import Journal, JournalFilter
from mockserver.control.journal.recorder import _entry, _recorded_call
from mockserver.http.answers import Answer
from mockserver.keys import RequestNotes

LIMIT = 120
_ALL = JournalFilter()
TOKEN = "abcdefghijklmnqrstuvwxyz"


def backend() -> Any:
    return SimpleNamespace(
        journal=Journal(100, LIMIT), clock=VirtualClock(), is_known_token=lambda _: False
    )


def notes(raw: bytes, **fields: Any) -> RequestNotes:
    noted = RequestNotes(journal_id=7, api_method="tasks/status", account="main", token=TOKEN)
    noted.raw_body, noted.body = raw, orjson.loads(raw)
    for name, value in fields.items():
        setattr(noted, name, value)
    return noted


STATUS_BODY = orjson.dumps({"token": TOKEN, "task_id": "3f2b"})
ANSWER = orjson.dumps(
    {"data": {"progress": 100, "result": [], "status": "completed"}, "error": 0, "error_text": "ok"}
)
CASES = {
    "a finished task's kept answer": (STATUS_BODY, ANSWER, {"answer_is_kept": True}, {}),
    "an answer written now": (STATUS_BODY, ANSWER, {}, {}),
    "an error answer": (
        orjson.dumps({"token": "wrong"}),
        b'{"error":403,"error_text":"Access denied","error_debug":"token: unknown"}',
        {"token": "wrong", "account": None},
        {},
    ),
    "no token, a warning": (b"{}", ANSWER, {"token": None, "warning": "odd"}, {}),
    "a body at the limit": (b'{"token":"' + b"t" * (LIMIT - 12) + b'"}', ANSWER, {}, {}),
    "a body past the limit": (b'{"token":"' + b"t" * (LIMIT - 11) + b'"}', ANSWER, {}, {}),
    "an answer past the limit": (STATUS_BODY, ANSWER + b" " * LIMIT, {}, {}),
    "headers past the limit": (STATUS_BODY, ANSWER, {}, {"X-Long": "é" * LIMIT}),
    "non-ASCII headers and body": (
        orjson.dumps({"token": TOKEN, "task_id": "ж"}),
        ANSWER,
        {},
        {"X-Name": "Пётр", "Authorization": f"Bearer {TOKEN}"},
    ),
    "fault rules fired": (STATUS_BODY, ANSWER, {"faults": [{"id": 1}]}, {}),
    "no body read": (STATUS_BODY, ANSWER, {"raw_body": None, "body": None}, {}),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("path", ["/api/v1.1/tasks/status", "/api/v1.1/tasks/status?"])
def test_a_call_recorded_raw_reads_as_the_entry_recorded_at_once(case: str, path: str) -> None:
    raw, payload, fields, headers = CASES[case]
    request = make_mocked_request(
        "POST", path, headers={"Host": "127.0.0.1", "Content-Type": "application/json", **headers}
    )
    answer = Answer(payload, 403 if b'"error":403' in payload else 200)
    raw_backend, general_backend = backend(), backend()
    call = _recorded_call(raw_backend, request, notes(raw, **fields), answer, 0.0015)
    entry = _entry(general_backend, request, notes(raw, **fields), answer, 0.0015, False)
    if call is None:  # not the plain case: recorded the general way
        assert case in {
            "a body past the limit",
            "an answer past the limit",
            "fault rules fired",
            "no body read",
        }
        return
    assert call.size == entry.size
    assert call.account == entry.account  # what a clear by account looks at
    assert orjson.dumps(call.settle().to_public()) == orjson.dumps(entry.to_public())
    assert call.settle() is call.settle()


def test_a_read_replaces_raw_calls_in_the_ring_and_keeps_the_counts() -> None:
    shared = backend()
    journal = shared.journal
    request = make_mocked_request("POST", "/api/v1.1/tasks/status", headers={"Host": "h"})
    for _ in range(3):
        noted = notes(STATUS_BODY, journal_id=journal.new_id())
        call = _recorded_call(shared, request, noted, Answer(ANSWER), 0.0)
        assert call is not None
        journal.record(call)
    size = journal.bytes
    first = journal.entries(where=_ALL)
    assert [entry.id for entry in first] == [1, 2, 3]
    assert all(type(entry).__name__ == "JournalEntry" for entry in journal._entries)
    assert journal.entries(where=_ALL) == first
    assert journal.bytes == size == sum(entry.size for entry in first)
    journal.clear(["main"])
    assert len(journal) == 0 and journal.bytes == 0
