"""`POST /_mock/fixtures`: load more fixture data at run time (validated)."""

from __future__ import annotations

from aiohttp import web

from mockserver.control.common import read_control_json
from mockserver.control.routes import ControlRoute
from mockserver.errors import InvalidRequest
from mockserver.http.answers import json_response
from mockserver.keys import BACKEND
from mockserver.store.fixtures import FixtureError


async def load_fixture(request: web.Request) -> web.Response:
    body = await read_control_json(request)
    backend = request.app[BACKEND]
    try:
        added = backend.add_fixture(body)
    except FixtureError as exc:
        raise InvalidRequest(str(exc)) from None
    await backend.store.flush()
    return json_response({"status": "ok", **added})


ROUTES = (
    ControlRoute(
        "POST",
        "/_mock/fixtures",
        load_fixture,
        "Load more fixture data at run time",
        "fixtures.schema",
        "control/ok.response",
    ),
)
