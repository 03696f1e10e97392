"""Control routes as data: the router and the OpenAPI document both read these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    description: str
    type: str = "string"


@dataclass(frozen=True, slots=True)
class ControlRoute:
    method: str
    path: str
    handler: Handler
    summary: str
    request_schema: str | None = None
    response_schema: str | None = None
    status: int = 200
    query: tuple[QueryParam, ...] = ()
    content_type: str = "application/json"  # the dashboard's files are not JSON
