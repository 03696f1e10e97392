"""`create_app(settings)`: the aiohttp application, its middlewares and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from mockserver.api import API_METHODS
from mockserver.app_keys import SETTINGS, STATE
from mockserver.config import Settings
from mockserver.control import health, reset, tasks
from mockserver.envelope import http_status_for, json_response
from mockserver.errors import (
    BODY_TOO_LARGE_DEBUG,
    AltcraftError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    MethodNotFound,
)
from mockserver.routing import ApiRouter, normalize_path
from mockserver.state import MockState

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_mock/"
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
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        error = InternalError("server: unexpected error (see the server log)")
    control = is_control_path(request.path)
    # The control API uses real HTTP statuses; the vendor API follows the policy.
    status = (
        error.code if control else http_status_for(error.code, request.app[SETTINGS].http_status)
    )
    return json_response(error.envelope(), status=status)


def create_app(settings: Settings, state: MockState | None = None) -> web.Application:
    state = state or MockState(settings)
    app = web.Application(
        middlewares=[error_envelope],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[STATE] = state
    router = ApiRouter(API_METHODS)

    async def vendor_api(request: web.Request) -> web.StreamResponse:
        _, body = await router.call(request.app[STATE], request)
        return json_response(body)

    health.add_routes(app)
    reset.add_routes(app)
    tasks.add_routes(app)
    # Last: everything else, so unknown paths get the envelope, never a redirect.
    app.router.add_route("*", "/{tail:.*}", vendor_api)
    app.cleanup_ctx.append(_background_work)
    return app


async def _background_work(app: web.Application) -> AsyncIterator[None]:
    """The `rate` worker runs while the app runs; on stop the store is flushed."""
    state = app[STATE]
    worker = asyncio.create_task(state.engine.run_rate_worker(), name="rate-worker")
    yield
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    await state.store.flush()
    state.store.close()
