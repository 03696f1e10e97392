"""Control routes as data: the router and the OpenAPI document both read these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    description: str
    type: str = "string"
    #: A family of parameters: `name` is their common prefix (`field.` for
    #: `field.CRM_ID`).
    prefix: bool = False

    @property
    def shown(self) -> str:
        """The name as documented (`field.NAME` for the family of `field.`)."""
        return self.name + "NAME" if self.prefix else self.name

    def names(self, parameter: str) -> bool:
        """Whether `parameter` is this one (or one of this family)."""
        return parameter.startswith(self.name) if self.prefix else parameter == self.name


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

    def unknown_parameter(self, parameters: Iterable[str]) -> str | None:
        """The first query parameter the route does not declare, or None. A route that
        declares none takes any (its handler reads none)."""
        if not self.query:
            return None
        for parameter in parameters:
            if not any(declared.names(parameter) for declared in self.query):
                return parameter
        return None

    def known_parameters(self) -> str:
        return ", ".join(p.shown for p in self.query)
