"""The emulator's own API under /_mock/ (SPEC §6): not part of the vendor API."""

from aiohttp import web

from mockserver.control import (
    faults,
    fixtures,
    health,
    inspect,
    journal,
    openapi,
    progression,
    reset,
    tasks,
    ui,
)
from mockserver.control.routes import ControlRoute

CONTROL_ROUTES: tuple[ControlRoute, ...] = (
    *health.ROUTES,
    *reset.ROUTES,
    *fixtures.ROUTES,
    *journal.ROUTES,
    *inspect.ROUTES,
    *tasks.ROUTES,
    *progression.ROUTES,
    *faults.ROUTES,
    *openapi.ROUTES,
    *ui.ROUTES,
)


def add_control_routes(app: web.Application) -> None:
    for route in CONTROL_ROUTES:
        app.router.add_route(route.method, route.path, route.handler)
