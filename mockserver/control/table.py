"""Every /_mock route, as data: the app adds them, the OpenAPI document describes them."""

from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import web

from mockserver.control import (
    clock,
    fixtures,
    health,
    inspect,
    openapi,
    progression,
    reset,
    tasks,
    ui,
)
from mockserver.control.common import SHOWN_VALUE
from mockserver.control.faults import endpoints as faults
from mockserver.control.journal import endpoints as journal
from mockserver.control.journal.masking import mask_token
from mockserver.control.metrics import endpoints as metrics
from mockserver.control.routes import ControlRoute
from mockserver.errors import InvalidRequest, MethodNotAllowed
from mockserver.keys import BACKEND

CONTROL_ROUTES: tuple[ControlRoute, ...] = (
    *health.ROUTES,
    *reset.ROUTES,
    *fixtures.ROUTES,
    *journal.ROUTES,
    *inspect.ROUTES,
    *tasks.ROUTES,
    *progression.ROUTES,
    *clock.ROUTES,
    *faults.ROUTES,
    *metrics.ROUTES,
    *openapi.ROUTES,
    *ui.ROUTES,
)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_control_routes(app: web.Application, wrap: Callable[[Handler], Handler]) -> None:
    """Each route's handler as `wrap` makes it; another method on a control path is
    answered 405 (in the envelope, as every refusal is)."""
    allowed: dict[str, set[str]] = {}
    for route in CONTROL_ROUTES:
        handler = partial(_declared_query_only, route) if route.query else route.handler
        app.router.add_route(route.method, route.path, wrap(handler))
        allowed.setdefault(route.path, set()).add(route.method)
    for path, methods in allowed.items():
        app.router.add_route("*", path, wrap(partial(_not_allowed, frozenset(methods))))


async def _declared_query_only(route: ControlRoute, request: web.Request) -> web.StreamResponse:
    """A route's handler, once every query parameter is one it reads: a filter with a
    typo (`?emial=`) is refused, not ignored into an answer that filters nothing."""
    # `_` is the cache-buster some HTTP clients add to every GET (`?_=1712345678`).
    unknown = route.unknown_parameter(name for name in request.query if name != "_")
    if unknown is not None:
        name = unknown
        if request.app[BACKEND].is_known_token(name):
            name = mask_token(name)  # a token pasted where a name goes is not echoed
        elif len(name) > SHOWN_VALUE:
            name = f"{name[:SHOWN_VALUE]}… ({len(name)} characters)"
        raise InvalidRequest(
            f"{name}: not a query parameter of {route.method} {route.path} "
            f"(it takes {route.known_parameters()})"
        )
    return await route.handler(request)


async def _not_allowed(methods: frozenset[str], request: web.Request) -> web.StreamResponse:
    use = " or ".join(sorted(methods))
    raise MethodNotAllowed(f"method: {request.method} is not allowed on {request.path}, use {use}")
