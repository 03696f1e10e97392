"""Middlewares, outermost first: journal -> error envelope -> admin token.

DESIGN §"The flow of one import": the journal sees every answer (faults and
errors included); the envelope middleware turns any AltcraftError, aiohttp's
own HTTP errors and unexpected exceptions into the vendor envelope.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mockserver.app_keys import (
    API_ACCOUNT,
    API_BODY,
    API_METHOD,
    API_RAW_BODY,
    API_TOKEN,
    API_WARNING,
    BODY_NOTE,
    FAULT_APPLIED,
    JOURNAL_ID,
    SETTINGS,
    STATE,
)
from mockserver.envelope import error_response
from mockserver.errors import (
    BODY_TOO_LARGE_DEBUG,
    AccessDenied,
    AltcraftError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    MethodNotFound,
    TokenRequired,
)
from mockserver.fault_effects import ConnectionDropped
from mockserver.journal import (
    Deferred,
    JournalEntry,
    keep_body,
    keep_response,
    keep_unparsed_body,
)
from mockserver.routing import normal_path
from mockserver.state import MockState

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_mock/"
#: Open without the admin token: health, and the dashboard's page and assets
#: (they hold no data; the page asks for the token before it reads any).
OPEN_CONTROL_PATHS = frozenset(
    {"/_mock/health", "/_mock/ui", "/_mock/ui/app.js", "/_mock/ui/style.css"}
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_control_path(path: str) -> bool:
    return (normal_path(path) + "/").startswith(CONTROL_PREFIX)


def _as_altcraft_error(exc: web.HTTPException) -> AltcraftError:
    """aiohttp's own errors, in the vendor's words."""
    match exc.status:
        case 404:
            return MethodNotFound("path: not found")
        case 405:
            return MethodNotAllowed(f"method: {exc.reason}")
        case 413:
            return InvalidRequest(BODY_TOO_LARGE_DEBUG)
        case _:
            return InvalidRequest(f"http: {exc.reason}")


@web.middleware
async def error_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes the vendor envelope; nothing escapes as HTML or a traceback."""
    try:
        return await handler(request)
    except AltcraftError as exc:
        error = exc
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = _as_altcraft_error(exc)
    except (asyncio.CancelledError, ConnectionResetError, ConnectionDropped):
        raise
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        error = InternalError("server: unexpected error (see the server log)")
    return error_response(error, request.app[SETTINGS].http_status, is_control_path(request.path))


@web.middleware
async def admin_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With `--admin-token`, every /_mock/ call must present it as Bearer, except
    OPEN_CONTROL_PATHS: health, and the dashboard's files (they hold no data)."""
    expected = request.app[SETTINGS].admin_token
    if not expected:
        return await handler(request)
    path = normal_path(request.path)
    if is_control_path(path) and path not in OPEN_CONTROL_PATHS:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if not given or scheme.lower() != "bearer":
            raise TokenRequired("Authorization: admin token required (Bearer)")
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise AccessDenied("Authorization: wrong admin token")
    return await handler(request)


@web.middleware
async def journal(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record the request and its answer (vendor calls; control calls on request)."""
    state = request.app[STATE]
    control = is_control_path(request.path)
    if control and not request.app[SETTINGS].journal_control:
        return await handler(request)
    entry_id = state.journal.new_id()
    request[JOURNAL_ID] = entry_id
    started = time.perf_counter()
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        return response
    except ConnectionDropped:
        # The transport is already aborted: this answer is never sent; returning
        # it keeps aiohttp from logging a dropped connection as a server error.
        return web.Response(status=499)
    finally:
        # Recorded even when the connection was dropped (response is None).
        elapsed = time.perf_counter() - started
        state.journal.record(_entry(state, request, entry_id, response, elapsed, control))


def _entry(
    state: MockState,
    request: web.Request,
    entry_id: int,
    response: web.StreamResponse | None,
    elapsed: float,
    control: bool,
) -> JournalEntry:
    """The entry, with masking, formatting and parsing deferred to its first reader."""
    limit = state.journal.body_limit
    deferred = Deferred(state.clock.now(), request.query, request.headers)
    entry = JournalEntry(
        id=entry_id,
        method=request.method,
        # SPEC §6: the path exactly as the client sent it (`//databases/list`
        # stays visible), beside the vendor method it resolved to.
        path=request.raw_path.partition("?")[0],
        api_method=request.get(API_METHOD),
        account=request.get(API_ACCOUNT),
        token_fingerprint=request.get(API_TOKEN),
        warning=request.get(API_WARNING),
        duration_ms=elapsed * 1000,
        control=control,
        deferred=deferred,
    )
    faults = request.get(FAULT_APPLIED)
    entry.fault = {"rules": faults} if faults else None
    _record_body(request, entry, deferred, limit)
    if response is None:
        entry.response_note = "connection dropped: no answer"
        return entry
    entry.status = response.status
    payload = getattr(response, "body", None)
    if type(payload) is bytes and len(payload) <= limit:
        deferred.response = payload
    elif isinstance(payload, bytes | bytearray):
        keep_response(entry, bytes(payload), limit)  # summarised now: big bytes are not kept
    return entry


def _record_body(request: web.Request, entry: JournalEntry, deferred: Deferred, limit: int) -> None:
    raw = request.get(API_RAW_BODY)
    if raw is None:
        entry.body_bytes = request.content_length or 0
        entry.body_note = request.get(BODY_NOTE)
        return
    entry.body_bytes = len(raw)
    body: Any = request.get(API_BODY)
    if body is None:
        if raw:
            keep_unparsed_body(entry, raw)
        return
    if not entry.control and len(raw) <= limit:
        # A vendor body is exactly what its bytes parse to; a control body may be
        # `{}` for no bytes at all, so it is kept as parsed.
        deferred.body = raw
        return
    keep_body(entry, raw, body, limit)
