"""`GET /_mock/openapi.json`: the OpenAPI 3.1 document of both APIs."""

from __future__ import annotations

from aiohttp import web

from mockserver.app_keys import STATE
from mockserver.control.routes import ControlRoute
from mockserver.envelope import json_response


async def openapi_document(request: web.Request) -> web.Response:
    from mockserver.api import API_METHODS
    from mockserver.control import CONTROL_ROUTES
    from mockserver.openapi import build_document

    state = request.app[STATE]
    return json_response(build_document(state.schemas, API_METHODS, CONTROL_ROUTES))


ROUTES = (
    ControlRoute("GET", "/_mock/openapi.json", openapi_document, "This OpenAPI 3.1 document"),
)
