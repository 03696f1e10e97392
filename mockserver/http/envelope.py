"""The error envelope around every handler (app.py wraps each route's once): every
failure becomes the vendor envelope, access refusals included.

DESIGN "The flow of one import": any AltcraftError, aiohttp's own HTTP errors
(404, 405, 413) and unexpected exceptions are answered in the envelope; nothing
escapes as HTML or a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from mockserver.errors import (
    BODY_TOO_LARGE_DEBUG,
    AltcraftError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    MethodNotFound,
)
from mockserver.http.access import refusal
from mockserver.http.answers import Answer, ConnectionDropped, error_answer
from mockserver.http.body import ClientDisconnected
from mockserver.http.paths import is_control_path
from mockserver.keys import NOTES, SETTINGS

log = logging.getLogger(__name__)

#: A handler inside the envelope: an `Answer` (bytes) or a response object.
AnsweringHandler = Callable[[web.Request], Awaitable[Answer | web.StreamResponse]]


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
async def error_envelope(
    request: web.Request, handler: AnsweringHandler, control: bool | None = None
) -> Answer | web.StreamResponse:
    """Every failure becomes the vendor envelope; nothing escapes as HTML or a traceback.
    Access is decided first (`access.refusal`), inside the envelope: one middleware
    fewer on every request."""
    try:
        refused = refusal(request, control)
        if refused is not None:
            return refused
        return await handler(request)
    except AltcraftError as exc:
        error = exc
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = _as_altcraft_error(exc)
    except (asyncio.CancelledError, ConnectionResetError, ConnectionDropped):
        raise
    except ClientDisconnected:
        return web.Response(status=499)  # never sent: the client has gone
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        error = InternalError("server: unexpected error (see the server log)")
    # The traceback holds the frames, and they the request and its parsed body:
    # cut it, or an error answer keeps a 10 MB body alive until a full GC pass.
    error.__traceback__ = None
    noted = request.get(NOTES)
    if noted is not None:
        noted.error_code = error.code
    if control is None:
        control = is_control_path(request.path)
    return error_answer(error, request.app[SETTINGS].http_status, control)
