"""The request journal: what each client sent and what the mock answered.

SPEC §6: every vendor call (and, with `--journal-control`, every control call)
is recorded: time, method, path, query, headers, parsed body, response status
and body, the fault applied, the duration. Tokens are masked wherever they
appear. The journal is a bounded ring (`--journal-size` entries,
`--journal-max-bytes` bytes in all), and an entry keeps at most
`--journal-body-limit` bytes of body, of answer and of headers (a summary, or
the first headers, past it), so a long CI run never grows memory without limit.

Recording is lazy (a poller sends thousands of requests a second and most
entries are never read): an entry keeps what the request arrived with (its
time, the read-only header and query views, body and answer bytes) and masks,
formats and parses it when the journal is read. Only immutable things are
kept that way, so what is read is what was sent.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import orjson
from multidict import MultiDict, MultiDictProxy

from mockserver.clock import iso
from mockserver.control.journal.masking import (
    masked_body,
    masked_headers,
    masked_query,
    masked_text,
    token_fingerprint,
)
from mockserver.errors import InvalidRequest
from mockserver.http.parsing import parse_json_object
from mockserver.http.paths import normalize_path

KEPT_LIST_ITEMS = 5
#: Big answers sent again whose summaries are kept (`Journal.keep_big_answer`).
KEPT_ANSWERS = 8
#: CUT_KEY), and this many characters of a string.
KEPT_OBJECT_KEYS = 100
KEPT_STRING_CHARS = 256
CUT_KEY = "…"
#: What an entry costs beside the bytes it keeps (its Python objects: the entry,
#: its strings, the header and query views): ~1 KB (bench/README.md).
ENTRY_OVERHEAD_BYTES = 1024
#: `--journal-max-bytes`' default: entries past it are dropped, oldest first.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def shrink(value: Any, budget: int, size: int | None = None) -> tuple[Any, bool]:
    """`value` if its JSON fits `budget` bytes, else a summary that does.

    Lists are cut to their first few entries and objects to their first keys,
    each with a note of how many were dropped, strings to their first 256
    characters, recursively; and the walk stops where the summary would outgrow
    `budget`. So a 10,000-item batch is kept as its top-level fields plus a
    sample of items, an object of 780,000 keys as its first 100, and the walk
    costs what it keeps, not what the value holds.
    """
    if size is None:
        size = len(orjson.dumps(value, default=str))
    if size <= budget:
        return value, False
    return _summary(value, budget, size), True


def _summary(value: Any, budget: int, size: int) -> Any:
    for share in (budget, budget // 4):  # the walk's estimate is rough for odd text
        summary = _shrunk(value, [share])
        if len(orjson.dumps(summary, default=str)) <= budget:
            return summary
    return f"… {size} bytes not kept"


def _shrunk(value: Any, left: list[int]) -> Any:
    """`value` summarised; `left[0]`: the bytes of JSON it may still take (estimated)."""
    if isinstance(value, list):
        left[0] -= 2
        kept: list[Any] = []
        for n, entry in enumerate(value):
            if n == KEPT_LIST_ITEMS or left[0] <= 0:
                kept.append(f"… {len(value) - n} more not kept")
                left[0] -= 24
                break
            kept.append(_shrunk(entry, left))
            left[0] -= 1
        return kept
    if isinstance(value, dict):
        left[0] -= 2
        members: dict[str, Any] = {}
        for n, (key, entry) in enumerate(value.items()):
            if n == KEPT_OBJECT_KEYS or left[0] <= 0:
                members[CUT_KEY] = f"{len(value) - n} more keys not kept"
                left[0] -= 32
                break
            name = _cut_text(key, left[0])
            left[0] -= len(name) + 4
            members[name] = _shrunk(entry, left)
        return members
    if isinstance(value, str):
        text = _cut_text(value, left[0])
        left[0] -= len(text) + 2
        return text
    left[0] -= 8  # a number, true, false, null
    return value


def _cut_text(text: str, left: int) -> str:
    keep = max(0, min(KEPT_STRING_CHARS, left))
    return text if len(text) <= keep else text[:keep] + f"… ({len(text)} characters)"


def _frozen(value: Any) -> tuple[orjson.Fragment, int]:
    """A body or an answer as an entry keeps it, and its size: its JSON bytes, which
    the journal's answer writes as they are. Kept parsed, 64 KiB of `{},` is ~1.5
    MB of Python objects; kept as JSON, an entry weighs what it shows."""
    text = compact(orjson.dumps(value, default=str))
    return orjson.Fragment(text), len(text)


def compact(data: bytes) -> bytes:
    """`data` in a block of its own size: orjson's output keeps the buffer it was
    written in (4 KB for a 100-byte answer), which an entry would hold for good."""
    return memoryview(data).tobytes()


def keep_body(entry: JournalEntry, raw: bytes, body: Any, limit: int) -> int:
    """A parsed body as the journal shows it: token masked, summarised past `limit`,
    kept as JSON. Answers the bytes kept."""
    # Tokens below the top level: in control bodies, or when the raw body names one twice.
    deep = entry.control or raw.count(b'token"') > 1
    value, cut = shrink(masked_body(body, deep=deep), limit, len(raw))
    entry.body, kept = _frozen(value)
    if cut:
        entry.body_note = f"summarised: {len(raw)} bytes, lists and objects cut"
    return kept


def keep_unparsed_body(
    entry: JournalEntry, raw: bytes, known: Callable[[str], bool] | None = None
) -> None:
    """`known`: whether a value is a token the server knows (masked whatever its name)."""
    entry.body_note = "not JSON"
    # Masked before it is cut: a token the cut would halve is no longer known.
    entry.body = masked_text(raw[:4096].decode("utf-8", errors="replace"), known)[:1024]


def keep_answer(entry: JournalEntry, payload: bytes, limit: int, answer: Any = None) -> int:
    """An answer as the journal shows it: its error code, tokens masked, summarised,
    kept as JSON. `answer`: the value `payload` was written from, when known (it
    spares parsing the bytes again). Answers the bytes kept."""
    value = answer
    if value is None:
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError:
            entry.response = masked_text(payload[:1024].decode("utf-8", errors="replace"))
            entry.response_note = "not JSON"
            return len(entry.response)
    # A control answer may carry an `error` field (a fault rule's code) and still
    # be a success: there, only an error status makes it an error.
    is_error = not entry.control or (entry.status or 0) >= 400
    if is_error and isinstance(value, dict) and isinstance(value.get("error"), int):
        entry.error = value["error"]
    shown, cut = shrink(masked_body(value, deep=entry.control), limit, len(payload))
    entry.response, kept = _frozen(shown)
    if cut:
        entry.response_note = f"summarised: {len(payload)} bytes, lists and objects cut"
    return kept


def kept_headers(headers: Mapping[str, str], budget: int) -> tuple[Mapping[str, str], int]:
    """A request's headers as its entry keeps them, and their size in bytes (names
    and values): the read-only view itself when they fit `budget`, else the first
    ones that fit and a note member (CUT_KEY) of what was left out. A value is
    never cut: masking judges it whole."""
    size = sum(len(name) + len(value) for name, value in headers.items())
    if size <= budget:
        return headers, size
    kept: dict[str, str] = {}
    left = budget
    for n, (name, value) in enumerate(headers.items()):
        left -= len(name) + len(value)
        if left < 0:
            kept[CUT_KEY] = f"{len(headers) - n} more headers not kept ({size} bytes in all)"
            break
        kept[str(name)] = value
    return kept, sum(len(name) + len(value) for name, value in kept.items())


@dataclass(slots=True)
class Deferred:
    """What a request left for its entry, as it arrived; `JournalEntry.settle` turns it
    into the entry's fields. Everything here is immutable: a datetime, aiohttp's
    read-only header and query views, and bytes."""

    moment: datetime
    query: Mapping[str, str]
    #: The request's view when they fit the body limit, else a cut copy
    #: (`kept_headers`): an entry is bounded in bytes, headers included.
    headers: Mapping[str, str]
    #: A vendor call's JSON body within the body limit: parsed again when read
    #: (parsing is deterministic, and the bytes cannot change the way a dict can).
    body: bytes | None = None
    #: An answer within the body limit.
    response: bytes | None = None
    #: The query values that were known tokens when the request arrived.
    secrets: frozenset[str] = frozenset()


@dataclass(slots=True)
class JournalEntry:
    id: int
    method: str
    path: str
    time: str = ""
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    body_bytes: int = 0
    body_note: str | None = None  # "not JSON", "too large: not read", "summarised"
    api_method: str | None = None
    account: str | None = None
    token_fingerprint: str | None = None
    status: int | None = None
    response: Any = None
    response_note: str | None = None
    error: int | None = None
    fault: dict[str, Any] | None = None
    warning: str | None = None
    duration_ms: float = 0.0
    control: bool = False
    deferred: Deferred | None = None
    #: The bytes the entry holds, as `Journal.record` counts them (set when recorded).
    size: int = 0

    def settle(self) -> JournalEntry:
        """Fill in the fields recording deferred (once; every reader comes through here)."""
        deferred, self.deferred = self.deferred, None
        if deferred is None:
            return self
        self.time = iso(deferred.moment)
        self.query = masked_query(deferred.query, deferred.secrets.__contains__)
        self.headers = masked_headers(deferred.headers)
        if deferred.body is not None:
            try:
                body = parse_json_object(deferred.body)
            except InvalidRequest:  # it parsed when it arrived; never expected here
                keep_unparsed_body(self, deferred.body)
            else:
                keep_body(self, deferred.body, body, len(deferred.body))
        if deferred.response is not None:
            keep_answer(self, deferred.response, len(deferred.response))
        return self

    def to_public(self) -> dict[str, Any]:
        self.settle()
        return {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "api_method": self.api_method,
            "query": self.query,
            "headers": self.headers,
            "account": self.account,
            "body": self.body,
            "body_bytes": self.body_bytes,
            "body_note": self.body_note,
            "status": self.status,
            "error": self.error,
            "response": self.response,
            "response_note": self.response_note,
            "fault": self.fault,
            "warning": self.warning,
            "duration_ms": round(self.duration_ms, 3),
        }


class RecordedCall:
    """A plain vendor call as recorded: raw values only, no entry yet. A poller
    sends thousands a second and most are never read, so the `JournalEntry`
    (its fields, the token's fingerprint, the time as text, then the masking and
    parsing of `JournalEntry.settle`) is made when the journal is read. Its size
    is counted when recorded, as the entry's would be.

    Only the common case is recorded this way (`recorded_call` says which): a
    vendor call with no query, its JSON body and its answer within the body
    limit, no fault rule fired; anything else is made an entry at once."""

    __slots__ = (
        "account",
        "api_method",
        "body",
        "elapsed",
        "headers",
        "id",
        "kept",
        "method",
        "moment",
        "path",
        "response",
        "settled",
        "size",
        "status",
        "token",
        "warning",
    )

    def __init__(
        self,
        entry_id: int,
        method: str,
        path: str,
        moment: datetime,
        headers: Mapping[str, str],
        size: int,
    ) -> None:
        self.id = entry_id
        self.method = method
        self.path = path
        self.moment = moment
        #: As `kept_headers` keeps them (the request's read-only view when they fit).
        self.headers = headers
        self.size = size
        self.api_method: str | None = None
        self.account: str | None = None
        self.token: str | None = None
        self.warning: str | None = None
        self.elapsed = 0.0
        #: The request's JSON body and the answer, as bytes (compact already).
        self.body = b""
        self.status = 0
        self.response = b""
        self.settled: JournalEntry | None = None

    def settle(self) -> JournalEntry:
        """The entry (made once): what the general recording makes of the same call."""
        entry = self.settled
        if entry is not None:
            return entry
        token = self.token
        entry = self.settled = JournalEntry(
            id=self.id,
            method=self.method,
            path=self.path,
            api_method=self.api_method,
            account=self.account,
            token_fingerprint=None if token is None else token_fingerprint(token),
            warning=self.warning,
            duration_ms=self.elapsed * 1000,
            body_bytes=len(self.body),
            status=self.status,
            deferred=Deferred(self.moment, NO_QUERY, self.headers, self.body, self.response),
            size=self.size,
        )
        return entry.settle()


#: aiohttp's view of no query at all (what a request without one shows).
NO_QUERY: Mapping[str, str] = MultiDictProxy(MultiDict())


@dataclass(frozen=True, slots=True)
class JournalFilter:
    #: In normal form: it finds the requests sent to that path however written
    #: (`/api/v1.1//tasks/status/` too).
    path: str | None = None
    api_method: str | None = None
    account: str | None = None
    token: str | None = None
    error: int | None = None
    since_id: int | None = None
    since_time: str | None = None
    before_id: int | None = None
    control: bool | None = None

    def matches(self, entry: JournalEntry) -> bool:
        checks = (
            self.path is None or normalize_path(unquote(entry.path)) == self.path,
            self.api_method is None or entry.api_method == self.api_method,
            self.account is None or entry.account == self.account,
            self.token is None or entry.token_fingerprint == token_fingerprint(self.token),
            self.error is None or entry.error == self.error,
            self.since_id is None or entry.id > self.since_id,
            self.since_time is None or entry.time >= self.since_time,
            self.before_id is None or entry.id < self.before_id,
            self.control is None or entry.control == self.control,
        )
        return all(checks)


class Journal:
    def __init__(self, size: int, body_limit: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        #: Entries, and calls recorded as raw values (made entries when first read).
        self._entries: deque[JournalEntry | RecordedCall] = deque(maxlen=size)
        #: Whether `_entries` holds a RecordedCall (a reader replaces them).
        self._raw = False
        #: Whether the recorder may keep plain calls as raw values (`RecordedCall`);
        #: off, every entry is made when recorded (the differential test's general path).
        self.raw_calls = True
        self._next_id = 1
        self.body_limit = body_limit
        #: `--journal-max-bytes`: the entries' `size` in all.
        self.max_bytes = max_bytes
        self.bytes = 0
        self.dropped = 0
        #: The summaries of the last answers written once and sent again (a finished
        #: task's status): by the identity of their bytes, which the task keeps.
        self._kept_answers: OrderedDict[int, tuple[bytes, Any, str | None, int | None, int]]
        self._kept_answers = OrderedDict()
        #: Entries recorded since the start, and clears: what a waiter has seen.
        self.recorded = 0
        self.clears = 0
        #: Set (and dropped) when an entry is recorded, only while someone waits.
        self._news: asyncio.Event | None = None

    def keep_big_answer(
        self, entry: JournalEntry, payload: bytes, answer: Any = None, *, kept: bool = False
    ) -> int:
        """`keep_answer` for an answer over the body limit. The summary of bytes a
        handler keeps and sends again (`kept`: a finished task's status) is made
        once, from `answer` when given, and found by the bytes' identity after."""
        if not kept or entry.control:
            return keep_answer(entry, payload, self.body_limit, answer)
        known = self._kept_answers.get(id(payload))
        if known is not None and known[0] is payload:
            _, entry.response, entry.response_note, entry.error, size = known
            return size
        size = keep_answer(entry, payload, self.body_limit, answer)
        summary = (payload, entry.response, entry.response_note, entry.error, size)
        self._kept_answers[id(payload)] = summary
        if len(self._kept_answers) > KEPT_ANSWERS:
            self._kept_answers.popitem(last=False)
        return size

    def continue_after(self, entry_id: int) -> None:
        """Number new entries after `entry_id` (one an earlier run of the server gave)."""
        self._next_id = max(self._next_id, entry_id + 1)

    def new_id(self) -> int:
        entry_id = self._next_id
        self._next_id += 1
        return entry_id

    def record(self, entry: JournalEntry | RecordedCall) -> None:
        """Keep the entry; drop the oldest past `--journal-size` entries, or past
        `--journal-max-bytes` bytes in all (the newest entry is always kept)."""
        if type(entry) is RecordedCall:
            self._raw = True
        entries = self._entries
        if len(entries) == entries.maxlen:
            self.dropped += 1
            self.bytes -= entries[0].size
        entries.append(entry)
        self.bytes += entry.size
        self.recorded += 1
        if self._news is not None:
            self._tell_waiters()
        while self.bytes > self.max_bytes and len(entries) > 1:
            self.bytes -= entries.popleft().size
            self.dropped += 1

    def entries(self, where: JournalFilter, limit: int | None = None) -> list[JournalEntry]:
        # Filters look at settled fields (the time, the answer's error code).
        settled = [entry.settle() for entry in self._entries]
        if self._raw:  # read once: the ring keeps the entries, not the raw values too
            self._entries = deque(settled, maxlen=self._entries.maxlen)
            self._raw = False
        found = [entry for entry in settled if where.matches(entry)]
        return found[-limit:] if limit else found

    def _tell_waiters(self) -> None:
        assert self._news is not None
        self._news.set()
        self._news = None

    async def wait_for(self, where: JournalFilter, count: int, timeout: float) -> bool:
        """Wait until the journal holds `count` entries matching `where`: True then,
        False after `timeout` (real) seconds. Woken by each entry recorded, a waiter
        looks only at the entries new since it last looked."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        matched = len(self.entries(where))
        seen, clears = self.recorded, self.clears
        while matched < count:
            left = deadline - loop.time()
            if left <= 0:
                return False
            if self._news is None:
                self._news = asyncio.Event()
            try:
                await asyncio.wait_for(self._news.wait(), left)
            except TimeoutError:
                return False
            new = self.recorded - seen
            if clears != self.clears or new > len(self._entries):
                matched = len(self.entries(where))
            else:
                fresh = [self._entries[-n] for n in range(new, 0, -1)]  # the newest `new`
                matched += sum(1 for entry in fresh if where.matches(entry.settle()))
                if matched >= count:  # the oldest may have left the ring meanwhile
                    matched = len(self.entries(where))
            seen, clears = self.recorded, self.clears
        return True

    def clear(self, accounts: Iterable[str] | None = None) -> None:
        self._kept_answers.clear()
        self.clears += 1
        if self._news is not None:
            self._tell_waiters()
        if accounts is None:
            self._entries.clear()
            self.bytes = 0
            return
        drop = set(accounts)
        kept = [entry for entry in self._entries if entry.account not in drop]
        self._entries.clear()
        self._entries.extend(kept)
        self.bytes = sum(entry.size for entry in kept)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def capacity(self) -> int:
        return self._entries.maxlen or 0
