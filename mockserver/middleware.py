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

import orjson
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
from mockserver.clock import iso
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
    JournalEntry,
    mask_token,
    masked_body,
    masked_headers,
    masked_text,
    shrink,
)
from mockserver.paths import normalize_path

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_mock/"
#: Open without the admin token: health, and the dashboard's page and assets
#: (they hold no data; the page asks for the token before it reads any).
OPEN_CONTROL_PATHS = frozenset(
    {"/_mock/health", "/_mock/ui", "/_mock/ui/app.js", "/_mock/ui/style.css"}
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_control_path(path: str) -> bool:
    return (normalize_path(path) + "/").startswith(CONTROL_PREFIX)


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
    path = normalize_path(request.path)
    if expected and is_control_path(path) and path not in OPEN_CONTROL_PATHS:
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
        state.journal.record(
            _entry(request, entry_id, response, time.perf_counter() - started, control)
        )


def _entry(
    request: web.Request,
    entry_id: int,
    response: web.StreamResponse | None,
    elapsed: float,
    control: bool,
) -> JournalEntry:
    state = request.app[STATE]
    limit = state.journal.body_limit
    query = {
        key: (mask_token(value) if key == "token" else value)
        for key, value in request.query.items()
    }
    entry = JournalEntry(
        id=entry_id,
        time=iso(state.clock.now()),
        method=request.method,
        path=normalize_path(request.path),
        query=query,
        headers=masked_headers(request.headers),
        api_method=request.get(API_METHOD),
        account=request.get(API_ACCOUNT),
        token_fingerprint=request.get(API_TOKEN),
        warning=request.get(API_WARNING),
        duration_ms=elapsed * 1000,
        control=control,
    )
    faults = request.get(FAULT_APPLIED)
    entry.fault = {"rules": faults} if faults else None
    _record_body(request, entry, limit)
    if response is None:
        entry.response_note = "connection dropped: no answer"
        return entry
    entry.status = response.status
    payload = getattr(response, "body", None)
    if isinstance(payload, bytes | bytearray):
        _record_response(bytes(payload), entry, limit)
    return entry


def _record_body(request: web.Request, entry: JournalEntry, limit: int) -> None:
    raw = request.get(API_RAW_BODY)
    body: Any = request.get(API_BODY)
    if raw is None:
        entry.body_bytes = request.content_length or 0
        entry.body_note = request.get(BODY_NOTE)
        return
    entry.body_bytes = len(raw)
    if body is None:
        if raw:
            entry.body_note = "not JSON"
            entry.body = masked_text(raw[:1024].decode("utf-8", errors="replace"))
        return
    # Tokens below the top level: in control bodies, or when the raw body names one twice.
    deep = entry.control or raw.count(b'token"') > 1
    entry.body, cut = shrink(masked_body(body, deep=deep), limit, len(raw))
    if cut:
        entry.body_note = f"summarised: {len(raw)} bytes, lists cut"


def _record_response(payload: bytes, entry: JournalEntry, limit: int) -> None:
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
