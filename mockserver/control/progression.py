"""Progression overrides at run time: `PUT/GET /_mock/progression` (a default and
per-workflow entries) and `PUT /_mock/tasks/{id}/progression` (one task)."""

from __future__ import annotations

from aiohttp import web

from mockserver.control.common import read_control_json
from mockserver.control.routes import ControlRoute
from mockserver.control.tasks import task_view
from mockserver.domain.catalog import ProgressionOverride
from mockserver.http.answers import json_response
from mockserver.keys import BACKEND


def _override(doc: dict) -> ProgressionOverride:
    return ProgressionOverride(doc["mode"], doc.get("steps"), doc.get("rate"))


async def put_progression(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/progression")
    backend = request.app[BACKEND]
    backend.progressions.set(
        _override(body["default"]) if "default" in body else None,
        {int(wid): _override(doc) for wid, doc in (body.get("workflows") or {}).items()},
    )
    return json_response(backend.progressions.view())


async def get_progression(request: web.Request) -> web.Response:
    return json_response(request.app[BACKEND].progressions.view())


async def put_task_progression(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/task_progression")
    backend = request.app[BACKEND]
    progression = backend.progressions.with_override(_override(body))
    task = await backend.engine.set_progression(request.match_info["task_id"], progression)
    return json_response(task_view(task))


ROUTES = (
    ControlRoute(
        "PUT",
        "/_mock/progression",
        put_progression,
        "Progression of new tasks",
        "control/progression",
        "control/progression.response",
    ),
    ControlRoute(
        "GET",
        "/_mock/progression",
        get_progression,
        "Effective progression",
        response_schema="control/progression.response",
    ),
    ControlRoute(
        "PUT",
        "/_mock/tasks/{task_id}/progression",
        put_task_progression,
        "Change one task's progression",
        "control/task_progression",
        "control/task.response",
    ),
)
