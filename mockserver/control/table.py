"""Every /_mock route, as data: the app adds them, the OpenAPI document describes them."""

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
from mockserver.control.faults import endpoints as faults
from mockserver.control.journal import endpoints as journal
from mockserver.control.routes import ControlRoute

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
    *openapi.ROUTES,
    *ui.ROUTES,
)


def add_control_routes(app: web.Application) -> None:
    for route in CONTROL_ROUTES:
        app.router.add_route(route.method, route.path, route.handler)
