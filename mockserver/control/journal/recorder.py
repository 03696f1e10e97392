"""The journal's recorder: the outermost layer around every handler (app.py's
`guarded`), so it sees every answer (faults and errors included) and the
requests whose connection was dropped. Vendor requests are also counted for
the metrics (`control/metrics`) here, from the same observation."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mockserver.control.journal.masking import KNOWN_TOKEN, known_values, token_fingerprint
from mockserver.control.journal.model import (
    ENTRY_OVERHEAD_BYTES,
    NO_QUERY,
    Deferred,
    JournalEntry,
    RecordedCall,
    compact,
    keep_body,
    keep_unparsed_body,
    kept_headers,
)
from mockserver.http.answers import Answer, ConnectionDropped
from mockserver.http.paths import is_control_path
from mockserver.keys import BACKEND, NOTES, SETTINGS, RequestNotes

if TYPE_CHECKING:
    from mockserver.backend import Backend

#: A handler inside the recorder: an `Answer` (bytes) or a response object.
AnsweringHandler = Callable[[web.Request], Awaitable[Answer | web.StreamResponse]]


@web.middleware
async def journal(
    request: web.Request, handler: AnsweringHandler, control: bool | None = None
) -> Answer | web.StreamResponse:
    """Record the request and its answer (vendor calls; control calls on request).
    `control`: whether the path is the mock's own API, when the route knows."""
    backend = request.app[BACKEND]
    # For `serve`'s log filter: a query value that is a known token is masked in the
    # lines this request logs (its access line, a traceback), whatever its name.
    KNOWN_TOKEN.set(backend.is_known_token)
    if control is None:
        control = is_control_path(request.path)
    if control and not request.app[SETTINGS].journal_control:
        return await handler(request)
    noted = request[NOTES] = RequestNotes(journal_id=backend.journal.new_id())
    # On the server's clock: a virtual one records the time it was moved by during
    # the call (0 for most), so two runs of one script journal the same bytes.
    clock = backend.clock
    started, real_started = clock.monotonic(), time.perf_counter()
    response: Answer | web.StreamResponse | None = None
    try:
        response = await handler(request)
        return response
    except ConnectionDropped:
        # The transport is already aborted: this answer is never sent; returning
        # it keeps aiohttp from logging a dropped connection as a server error.
        return web.Response(status=499)
    finally:
        # Recorded even when the connection was dropped (response is None).
        elapsed = clock.monotonic() - started
        raw = backend.journal.raw_calls and not control
        call = _recorded_call(backend, request, noted, response, elapsed) if raw else None
        if call is not None:
            backend.journal.record(call)
        else:
            backend.journal.record(_entry(backend, request, noted, response, elapsed, control))
        if not control:  # counted for /_mock/metrics, in real seconds whatever the clock
            status = 499 if response is None else response.status
            took = time.perf_counter() - real_started
            backend.request_counters.observe(noted.api_method, noted.error_code, status, took)


def _recorded_call(
    backend: Backend,
    request: web.Request,
    noted: RequestNotes,
    response: Answer | web.StreamResponse | None,
    elapsed: float,
) -> RecordedCall | None:
    """The common vendor call as raw values (`RecordedCall`), else None: no query,
    no fault fired, a JSON body and an answer of bytes within the body limit. Its
    entry, when read, is the one `_entry` would make now."""
    raw, payload = noted.raw_body, getattr(response, "body", None)
    if raw is None or noted.body is None or type(payload) is not bytes or noted.faults:
        return None
    limit = backend.journal.body_limit
    if request.query_string or len(raw) > limit or len(payload) > limit:
        return None
    assert response is not None and noted.journal_id is not None
    raw_path = request.raw_path
    headers, header_bytes = kept_headers(request.headers, limit)
    size = ENTRY_OVERHEAD_BYTES + len(raw_path) + header_bytes + len(raw) + len(payload)
    path = raw_path.partition("?")[0]
    call = RecordedCall(noted.journal_id, request.method, path, backend.clock.now(), headers, size)
    call.api_method, call.account, call.token = noted.api_method, noted.account, noted.token
    call.warning, call.elapsed, call.status = noted.warning, elapsed, response.status
    call.body = raw
    # An answer kept by its handler (a finished task's) is compact already.
    call.response = payload if noted.answer_is_kept else compact(payload)
    return call


def _entry(
    backend: Backend,
    request: web.Request,
    noted: RequestNotes,
    response: Answer | web.StreamResponse | None,
    elapsed: float,
    control: bool,
) -> JournalEntry:
    """The entry, with masking, formatting and parsing deferred to its first reader."""
    limit = backend.journal.body_limit
    headers, header_bytes = kept_headers(request.headers, limit)
    if request.query_string:
        deferred = Deferred(backend.clock.now(), request.query, headers)
        # Values that are tokens, masked whatever they are called.
        deferred.secrets = known_values(request.query, backend.is_known_token)
    else:  # most calls: aiohttp's parsed view of no query is not built for them
        deferred = Deferred(backend.clock.now(), NO_QUERY, headers)
    assert noted.journal_id is not None
    entry = JournalEntry(
        id=noted.journal_id,
        method=request.method,
        # SPEC §6: the path exactly as the client sent it (`//databases/list`
        # stays visible), beside the vendor method it resolved to.
        path=request.raw_path.partition("?")[0],
        api_method=noted.api_method,
        account=noted.account,
        token_fingerprint=None if noted.token is None else token_fingerprint(noted.token),
        warning=noted.warning,
        duration_ms=elapsed * 1000,
        control=control,
        deferred=deferred,
    )
    entry.fault = {"rules": noted.faults} if noted.faults else None
    # What the entry holds, in bytes (`Journal.record` drops the oldest past
    # `--journal-max-bytes`): each of body, answer and headers within the body limit.
    entry.size = ENTRY_OVERHEAD_BYTES + len(request.raw_path) + header_bytes
    entry.size += _record_body(noted, request, entry, deferred, limit, backend.is_known_token)
    if response is None:
        entry.response_note = "connection dropped: no answer"
        return entry
    entry.status = response.status
    payload = getattr(response, "body", None)
    if type(payload) is bytes and len(payload) <= limit:
        # An answer kept by its handler (a finished task's) is compact already.
        deferred.response = payload if noted.answer_is_kept else compact(payload)
        entry.size += len(payload)
    elif isinstance(payload, bytes | bytearray):
        # Summarised now (big bytes are not kept), from the answer as the handler
        # returned it when the router noted it, else from the bytes.
        entry.size += backend.journal.keep_big_answer(
            entry, bytes(payload), noted.answer, kept=noted.answer_is_kept
        )
    return entry


def _record_body(
    noted: RequestNotes,
    request: web.Request,
    entry: JournalEntry,
    deferred: Deferred,
    limit: int,
    known: Callable[[str], bool],
) -> int:
    """Keep the request's body for its entry; answers the bytes kept. `known`: whether
    a value is a token the server knows (masked in a body that is not JSON)."""
    raw = noted.raw_body
    if raw is None:
        entry.body_bytes = request.content_length or 0
        entry.body_note = noted.body_note
        return 0
    entry.body_bytes = len(raw)
    body: Any = noted.body
    if body is None:
        if raw:
            keep_unparsed_body(entry, raw, known)
        return min(len(raw), 1024)
    if not entry.control and len(raw) <= limit:
        # A vendor body is exactly what its bytes parse to; a control body may be
        # `{}` for no bytes at all, so it is kept as parsed.
        deferred.body = raw
        return len(raw)
    return keep_body(entry, raw, body, limit)
