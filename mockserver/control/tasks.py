"""Task control: `POST /_mock/tasks/{id}/advance|complete|fail`, `GET /_mock/tasks[/{id}]`.

SPEC §5-6: `manual` tasks stay queued until a test moves them; any task can
be advanced, completed or failed on demand.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mockserver.control.common import read_control_json
from mockserver.control.faults.rules import public_plans
from mockserver.control.routes import ControlRoute
from mockserver.errors import text_for_code
from mockserver.http.answers import json_response
from mockserver.keys import BACKEND
from mockserver.tasks.model import Task


def task_view(task: Task, *, with_results: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "task_id": task.task_id,
        "account": task.account,
        "workflow_id": task.workflow_id,
        "trigger_id": task.trigger_id,
        "db_id": task.db_id,
        "source": task.source,
        "status": task.status.value,
        "progress": task.progress,
        "processed": task.processed,
        "total": task.total,
        "progression": task.progression.to_doc(),
        "created": task.created,
        "finished_at": task.finished_at,
        "request_id": task.request_id,
        "failure": task.failure,
        "fault_plans": public_plans(task.faults),
    }
    if with_results:
        view["results"] = task.result_entries()
    return view


async def list_tasks(request: web.Request) -> web.Response:
    tasks = [
        task_view(task, with_results=False) for task in request.app[BACKEND].engine.all_tasks()
    ]
    return json_response({"tasks": tasks, "total": len(tasks)})


async def get_task(request: web.Request) -> web.Response:
    task = request.app[BACKEND].engine.get(request.match_info["task_id"])
    return json_response(task_view(task))


async def advance(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/advance")
    task = await request.app[BACKEND].engine.advance(
        request.match_info["task_id"], body.get("items")
    )
    return json_response(task_view(task))


async def complete(request: web.Request) -> web.Response:
    task = await request.app[BACKEND].engine.complete(request.match_info["task_id"])
    return json_response(task_view(task))


async def fail(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/fail")
    error = body.get("error", 500)
    text = body.get("error_text", text_for_code(error))
    task = await request.app[BACKEND].engine.fail(request.match_info["task_id"], error, text)
    return json_response(task_view(task))


ROUTES = (
    ControlRoute(
        "GET",
        "/_mock/tasks",
        list_tasks,
        "All tasks (without item results)",
        response_schema="control/tasks.response",
    ),
    ControlRoute(
        "GET",
        "/_mock/tasks/{task_id}",
        get_task,
        "One task with its item results",
        response_schema="control/task.response",
    ),
    ControlRoute(
        "POST",
        "/_mock/tasks/{task_id}/advance",
        advance,
        "One step, or N more items",
        "control/advance",
        "control/task.response",
    ),
    ControlRoute(
        "POST",
        "/_mock/tasks/{task_id}/complete",
        complete,
        "Process the rest now",
        response_schema="control/task.response",
    ),
    ControlRoute(
        "POST",
        "/_mock/tasks/{task_id}/fail",
        fail,
        "End the task as failed",
        "control/fail",
        "control/task.response",
    ),
)
