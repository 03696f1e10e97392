"""Task control: `POST /_mock/tasks/{id}/advance|complete|fail|wait`, `GET /_mock/tasks[/{id}]`.

SPEC §5-6: `manual` tasks stay queued until a test moves them; any task can
be advanced, completed or failed on demand, and waited for on the server
(`tasks/waiting.py`) instead of in a polling loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from mockserver.control.common import DEFAULT_WAIT_SECONDS, read_control_json
from mockserver.control.faults.rules import public_plans
from mockserver.control.routes import ControlRoute
from mockserver.errors import Conflict, InvalidRequest, TaskNotFound, text_for_code
from mockserver.http.answers import json_response
from mockserver.keys import BACKEND
from mockserver.tasks.model import Task, TaskStatus
from mockserver.tasks.waiting import TaskGoal, WaitOutcome

if TYPE_CHECKING:
    from mockserver.config import Settings


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


async def wait(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/task_wait")
    backend = request.app[BACKEND]
    task_id = request.match_info["task_id"]
    if "status" not in body and "progress" not in body:
        raise InvalidRequest("status, progress: give one or both (what to wait for)")
    wanted = body.get("status", [])
    goal = TaskGoal(
        frozenset(wanted_status(name, backend.settings) for name in _as_list(wanted)),
        body.get("progress"),
    )
    timeout = body.get("timeout", DEFAULT_WAIT_SECONDS)
    result = await backend.engine.wait(task_id, goal, timeout, task_view)
    if result.outcome is WaitOutcome.OUT_OF_REACH:
        raise Conflict(result.reason)
    if result.outcome is WaitOutcome.GONE:
        raise TaskNotFound(f"task_id: task {task_id!r} was removed by a reset while waited on")
    return json_response({**result.view, "timed_out": result.outcome is WaitOutcome.TIMED_OUT})


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def wanted_status(name: str, settings: Settings) -> TaskStatus:
    """A status as the server names it (`--status-names`), or by its canonical name."""
    known = {alias: canonical for canonical, alias in settings.status_names.items()}
    known.update({status.value: status.value for status in TaskStatus})
    if name not in known:
        names = ", ".join(sorted(known))
        raise InvalidRequest(f"status: unknown task status {name!r} (one of {names})")
    return TaskStatus(known[name])


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
    ControlRoute(
        "POST",
        "/_mock/tasks/{task_id}/wait",
        wait,
        "Wait until the task has a status or progress (or a timeout); never moves it",
        "control/task_wait",
        "control/task_wait.response",
    ),
)
