"""`create_app(settings)`: the aiohttp application, its middlewares and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.web_urldispatcher import _default_expect_handler

from mockserver.api import API_METHODS
from mockserver.app_keys import SETTINGS, STATE, UPLOADS
from mockserver.config import Settings
from mockserver.control import add_control_routes
from mockserver.envelope import Uploads
from mockserver.errors import StoreUnavailable
from mockserver.middleware import access, error_envelope, journal
from mockserver.routing import ApiRouter
from mockserver.state import MockState

log = logging.getLogger(__name__)


def create_app(settings: Settings, state: MockState | None = None) -> web.Application:
    state = state or MockState(settings)
    app = web.Application(
        middlewares=[journal, error_envelope, access],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[STATE] = state
    app[UPLOADS] = Uploads(settings.max_uploading_bytes)
    router = ApiRouter(API_METHODS)

    async def vendor_api(request: web.Request) -> web.StreamResponse:
        return await router.answer(request.app[STATE], request)

    add_control_routes(app)
    # Last: everything else, so unknown paths get the envelope, never a redirect.
    app.router.add_route("*", "/{tail:.*}", vendor_api, expect_handler=_expect_continue)
    app.cleanup_ctx.append(_background_work)
    return app


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
    state = app[STATE]
    await state.store.flush()
    worker = asyncio.create_task(state.engine.run_rate_worker(), name="rate-worker")
    yield
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    try:
        await state.store.flush(compact=True)
    except StoreUnavailable as exc:
        # What was acknowledged is on disk already; only the last unacknowledged
        # changes (and the folding of the log into the snapshot) are lost.
        log.error("stopping: the store could not be written at the stop: %s", exc.debug)
    finally:
        state.store.close()
