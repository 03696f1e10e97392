"""`POST /_mock/reset`: everything back to the fixtures."""

from __future__ import annotations

from aiohttp import web

from mockserver.app_keys import STATE
from mockserver.envelope import json_response


async def reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.reset()
    await state.store.flush()
    return json_response({"status": "ok", "profiles": state.store.count_profiles()})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_mock/reset", reset)
