"""The request journal: what each client sent and what the mock answered.

SPEC §6 / issue 3: every vendor call (and, with `--journal-control`, every
control call) is recorded: time, method, path, query, headers, parsed body,
response status and body, the fault applied, the duration. Tokens are masked
wherever they appear. The journal is a bounded ring (`--journal-size`), and a
body over `--journal-body-limit` bytes is kept as a summary, so a long CI run
never grows memory without limit.

Recording is lazy (issue 6: a poller sends thousands of requests a second and
most entries are never read): an entry keeps what the request arrived with
(its time, the read-only header and query views, body and answer bytes) and
masks, formats and parses it when the journal is read. Only immutable things
are kept that way, so what is read is what was sent.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import orjson

from mockserver.clock import iso
from mockserver.envelope import parse_json_object
from mockserver.errors import InvalidRequest
from mockserver.paths import normalize_path

MASKED_HEADERS = frozenset({"authorization", "cookie", "x-admin-token"})
KEPT_LIST_ITEMS = 5


def mask_token(token: str) -> str:
    """`abcd…` : enough to recognise a token, never enough to reuse it."""
    return token[:4] + "…" if len(token) > 4 else "…"


@lru_cache(maxsize=256)  # a client sends the same few tokens on every call
def token_fingerprint(token: str) -> str:
    """A stable, non-reversible name for a token (journal filters compare these)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def masked_query(query: Mapping[str, str]) -> dict[str, str]:
    """The query string as a mapping (the last of repeated names), `token` masked."""
    return {key: (mask_token(value) if key == "token" else value) for key, value in query.items()}


def masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    shown = {}
    for name, value in headers.items():
        if name.lower() in MASKED_HEADERS:
            scheme, _, secret = value.partition(" ")
            value = f"{scheme} {mask_token(secret)}" if secret else mask_token(value)
        shown[str(name)] = value  # header names are `istr`, which orjson does not take as keys
    return shown


#: Keys whose string values are secrets wherever they sit in a journaled body or
#: answer (`tokens`: a fixture account's token list, masked entry by entry).
SECRET_KEYS = frozenset({"token", "admin_token"})
SECRET_LIST_KEYS = frozenset({"tokens"})

_RAW_TOKEN = re.compile(
    r'((?:^|[?&\s])(?:admin_)?token=|"(?:admin_)?token"\s*:\s*"|(?i:\bbearer)\s+)([^&"\s]+)'
)


def mask_secrets(text: str) -> str:
    """Text (a body that is not JSON, a log line) with every token in it masked:
    `token=` in a query or a form, `"token": "…"` in JSON text, `Bearer …`."""
    return _RAW_TOKEN.sub(lambda m: m.group(1) + mask_token(m.group(2)), text)


masked_text = mask_secrets  # the journal's name for it: a body that is not JSON


def masked_body(body: Any, deep: bool = False) -> Any:
    """The body with its token masked; `deep`: at every level (control calls, whose
    bodies and answers carry fault rules' `match.token` and fixtures' `tokens`)."""
    if deep:
        return _masked_deep(body)
    if isinstance(body, dict) and isinstance(body.get("token"), str):
        body = {**body, "token": mask_token(body["token"])}
    return body


def _masked_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _masked_member(key, entry) for key, entry in value.items()}
    if isinstance(value, list):
        return [_masked_deep(entry) for entry in value]
    return value


def _masked_member(key: str, value: Any) -> Any:
    if key in SECRET_KEYS and isinstance(value, str):
        return mask_token(value)
    if key in SECRET_LIST_KEYS and isinstance(value, list):
        return [mask_token(entry) if isinstance(entry, str) else entry for entry in value]
    return _masked_deep(value)


def shrink(value: Any, budget: int, size: int | None = None) -> tuple[Any, bool]:
    """`value` if its JSON fits `budget` bytes, else a summary that does.

    Lists are cut to their first few entries with a note of how many were
    dropped, recursively, so a 10,000-item batch is kept as its top-level
    fields plus a sample of items.
    """
    if size is None:
        size = len(orjson.dumps(value, default=str))
    if size <= budget:
        return value, False
    return _shrunk(value), True


def _shrunk(value: Any) -> Any:
    if isinstance(value, list):
        kept = [_shrunk(entry) for entry in value[:KEPT_LIST_ITEMS]]
        if len(value) > KEPT_LIST_ITEMS:
            kept.append(f"… {len(value) - KEPT_LIST_ITEMS} more not kept")
        return kept
    if isinstance(value, dict):
        return {key: _shrunk(entry) for key, entry in value.items()}
    if isinstance(value, str) and len(value) > 256:
        return value[:256] + f"… ({len(value)} characters)"
    return value


def keep_body(entry: JournalEntry, raw: bytes, body: Any, limit: int) -> None:
    """A parsed body as the journal shows it: token masked, summarised past `limit`."""
    # Tokens below the top level: in control bodies, or when the raw body names one twice.
    deep = entry.control or raw.count(b'token"') > 1
    entry.body, cut = shrink(masked_body(body, deep=deep), limit, len(raw))
    if cut:
        entry.body_note = f"summarised: {len(raw)} bytes, lists cut"


def keep_unparsed_body(entry: JournalEntry, raw: bytes) -> None:
    entry.body_note = "not JSON"
    entry.body = masked_text(raw[:1024].decode("utf-8", errors="replace"))


def keep_response(entry: JournalEntry, payload: bytes, limit: int) -> None:
    """An answer as the journal shows it: its error code, tokens masked, summarised."""
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        entry.response = masked_text(payload[:1024].decode("utf-8", errors="replace"))
        entry.response_note = "not JSON"
        return
    # A control answer may carry an `error` field (a fault rule's code) and still
    # be a success: there, only an error status makes it an error.
    is_error = not entry.control or (entry.status or 0) >= 400
    if is_error and isinstance(value, dict) and isinstance(value.get("error"), int):
        entry.error = value["error"]
    entry.response, cut = shrink(masked_body(value, deep=entry.control), limit, len(payload))
    if cut:
        entry.response_note = f"summarised: {len(payload)} bytes, lists cut"


@dataclass(slots=True)
class Deferred:
    """What a request left for its entry, as it arrived; `JournalEntry.settle` turns it
    into the entry's fields. Everything here is immutable: a datetime, aiohttp's
    read-only header and query views, and bytes."""

    moment: datetime
    query: Mapping[str, str]
    headers: Mapping[str, str]
    #: A vendor call's JSON body within the body limit: parsed again when read
    #: (parsing is deterministic, and the bytes cannot change the way a dict can).
    body: bytes | None = None
    #: An answer within the body limit.
    response: bytes | None = None


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
    extra: dict[str, Any] = field(default_factory=dict)
    deferred: Deferred | None = None

    def settle(self) -> JournalEntry:
        """Fill in the fields recording deferred (once; every reader comes through here)."""
        deferred, self.deferred = self.deferred, None
        if deferred is None:
            return self
        self.time = iso(deferred.moment)
        self.query = masked_query(deferred.query)
        self.headers = masked_headers(deferred.headers)
        if deferred.body is not None:
            try:
                body = parse_json_object(deferred.body)
            except InvalidRequest:  # it parsed when it arrived; never expected here
                keep_unparsed_body(self, deferred.body)
            else:
                keep_body(self, deferred.body, body, len(deferred.body))
        if deferred.response is not None:
            keep_response(self, deferred.response, len(deferred.response))
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
    def __init__(self, size: int, body_limit: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._next_id = 1
        self.body_limit = body_limit
        self.dropped = 0

    def continue_after(self, entry_id: int) -> None:
        """Number new entries after `entry_id` (one an earlier run of the server gave)."""
        self._next_id = max(self._next_id, entry_id + 1)

    def new_id(self) -> int:
        entry_id = self._next_id
        self._next_id += 1
        return entry_id

    def record(self, entry: JournalEntry) -> None:
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append(entry)

    def entries(self, where: JournalFilter, limit: int | None = None) -> list[JournalEntry]:
        # Filters look at settled fields (the time, the answer's error code).
        found = [entry for entry in self._entries if where.matches(entry.settle())]
        return found[-limit:] if limit else found

    def clear(self, accounts: Iterable[str] | None = None) -> None:
        if accounts is None:
            self._entries.clear()
            return
        drop = set(accounts)
        kept = [entry for entry in self._entries if entry.account not in drop]
        self._entries.clear()
        self._entries.extend(kept)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def capacity(self) -> int:
        return self._entries.maxlen or 0
