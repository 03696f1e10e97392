"""`create_app(settings, backend)`: the aiohttp application, its keys, middlewares,
routes and background work."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import SystemRoute, _default_expect_handler

from mockserver.api import API_METHODS
from mockserver.api.router import ApiMethod, ApiRouter
from mockserver.backend import Backend
from mockserver.config import Settings, general_path_only
from mockserver.control.journal.recorder import journal
from mockserver.control.table import CONTROL_ROUTES, add_control_routes
from mockserver.errors import StoreUnavailable
from mockserver.http.answers import Answer
from mockserver.http.body import Uploads
from mockserver.http.envelope import AnsweringHandler, error_envelope
from mockserver.http.hot_path import HotPath
from mockserver.http.hot_path import supported as hot_path_supported
from mockserver.http.paths import API_PREFIX
from mockserver.keys import BACKEND, OPENAPI, REQUEST_HANDLER, SETTINGS, UPLOADS
from mockserver.openapi import build_document

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(settings: Settings, backend: Backend | None = None) -> web.Application:
    backend = backend or Backend(settings)
    # Every route's handler is wrapped once, here (`guarded`); the one middleware
    # only catches what no route answers (aiohttp's own 404 for a CONNECT's
    # authority-form target, which no path pattern can match).
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[_unrouted])
    app[SETTINGS] = settings
    app[BACKEND] = backend
    app[UPLOADS] = Uploads(settings.max_uploading_bytes)
    document: Callable[[], dict[str, Any]] = functools.cache(partial(openapi_document, backend))
    app[OPENAPI] = document
    router = ApiRouter(API_METHODS)
    services = backend.api_services()

    async def answer_vendor_call(request: web.Request) -> Answer | web.StreamResponse:
        return await router.answer(services, request)

    def vendor_method(method: ApiMethod) -> AnsweringHandler:
        async def answer_method(request: web.Request) -> Answer | web.StreamResponse:
            return await router.answer(services, request, method)

        return answering(answer_method, control=False)

    hot_path = HotPath(
        app._handle,
        quiet=lambda: not services.faults and services.latency is None,
        max_body=settings.max_body_bytes,
    )
    # Each vendor method's own path first: aiohttp finds it at once, where the
    # catch-all is reached only after walking every shorter prefix of the path.
    for method in API_METHODS:
        path = API_PREFIX + method.name
        answer_method = vendor_method(method)
        route = app.router.add_route(
            "*", path, responding(answer_method), expect_handler=_expect_continue
        )
        hot_path.add(app, path, route, answer_method)
    general_only = general_path_only()  # the differential test's switch: no fast path at all
    # The access log needs aiohttp's path; so does an aiohttp release not checked.
    if not settings.access_log and not general_only and hot_path_supported():
        app[REQUEST_HANDLER] = hot_path
    backend.journal.raw_calls = not general_only
    add_control_routes(app, functools.partial(guarded, control=True))
    # Last: everything else, so unknown paths get the envelope, never a redirect.
    app.router.add_route(
        "*", "/{tail:.*}", guarded(answer_vendor_call), expect_handler=_expect_continue
    )
    app.cleanup_ctx.append(_background_work)
    return app


def guarded(handler: AnsweringHandler, control: bool | None = None) -> Handler:
    """`handler` inside the journal's recorder and the error envelope (which asks
    `access.refusal` first): what every request goes through, in that order.
    `control`: the route serves only the mock's own API (True) or only the
    vendor's (False); None: the path decides (the catch-all)."""
    return responding(answering(handler, control))


def answering(handler: AnsweringHandler, control: bool | None) -> AnsweringHandler:
    """`guarded`'s layers, answering bytes where the handler did (the hot path
    writes them; a route `responding`)."""
    enveloped = functools.partial(error_envelope, handler=handler, control=control)
    return functools.partial(journal, handler=enveloped, control=control)


def responding(handler: AnsweringHandler) -> Handler:
    """A route's handler: `handler`'s answer as aiohttp's response object."""

    async def respond(request: web.Request) -> web.StreamResponse:
        answer = await handler(request)
        return answer.response() if isinstance(answer, Answer) else answer

    return respond


@web.middleware
async def _unrouted(request: web.Request, handler: Handler) -> web.StreamResponse:
    if isinstance(request.match_info.route, SystemRoute):
        return await guarded(handler)(request)
    return await handler(request)


def openapi_document(backend: Backend) -> dict[str, Any]:
    """The OpenAPI document of both route tables (only the app knows them both)."""
    return build_document(backend.schemas, API_METHODS, CONTROL_ROUTES)


async def _expect_continue(request: web.Request) -> None:
    """`Expect: 100-continue`: a body declared over the limit gets no `100
    Continue`, so the client never uploads it; the handler then refuses it
    unread (the reference page's body-too-large answer)."""
    declared = request.content_length
    if declared is not None and declared > request.app[SETTINGS].max_body_bytes:
        return
    await _default_expect_handler(request)


async def _background_work(app: web.Application) -> AsyncIterator[None]:
    """The `rate` worker runs while the app runs; on stop the store is flushed.

    A new `--db` gets its first snapshot (with the seed fixtures) here, before
    the server listens: the file is valid from the first moment a client could
    reach the server, even if it is killed before it answers anything."""
    backend = app[BACKEND]
    await backend.store.flush()
    worker = asyncio.create_task(backend.engine.run_rate_worker(), name="rate-worker")
    yield
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    try:
        await backend.store.flush(compact=True)
    except StoreUnavailable as exc:
        # What was acknowledged is on disk already; only the last unacknowledged
        # changes (and the folding of the log into the snapshot) are lost.
        log.error("stopping: the store could not be written at the stop: %s", exc.debug)
    finally:
        backend.store.close()
