"""`tasks/status`."""

from __future__ import annotations

from typing import Any

from mockserver.api.router import ApiCall, ApiMethod
from mockserver.http.answers import ok


async def status(call: ApiCall) -> dict[str, Any]:
    """The reference page's shape; in `polls` mode each call advances the task a step."""
    task = await call.services.engine.poll(call.body["task_id"], call.account.name)
    return ok(
        data={
            "status": call.services.settings.status_name(task.status.value),
            "progress": task.progress,
            "result": task.result_payload(),
        }
    )


METHODS = [
    ApiMethod(
        "tasks/status",
        status,
        "tasks/status.request",
        "tasks/status.response",
        "Checking the status of the task",
    ),
]
