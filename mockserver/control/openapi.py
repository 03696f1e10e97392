"""`GET /_mock/openapi.json`: the OpenAPI 3.1 document of both APIs."""

from __future__ import annotations

from aiohttp import web

from mockserver.control.routes import ControlRoute
from mockserver.http.answers import json_response
from mockserver.keys import OPENAPI


async def openapi_document(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI]())


ROUTES = (
    ControlRoute("GET", "/_mock/openapi.json", openapi_document, "This OpenAPI 3.1 document"),
)
