"""`tasks/status`."""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.api.router import ApiCall, ApiMethod
from mockserver.http.answers import KeptAnswer, ok


async def status(call: ApiCall) -> dict[str, Any] | KeptAnswer:
    """The reference page's shape; in `polls` mode each call advances the task a step.
    A task that has ended answers the same from then on: written once, kept."""
    task = await call.services.engine.poll(call.body["task_id"], call.account.name)
    if task.finished_answer is not None:
        return KeptAnswer(task.finished_answer)
    answer = ok(
        data={
            "status": call.services.settings.status_name(task.status.value),
            "progress": task.progress,
            "result": task.result_payload(),
        }
    )
    if task.finished:
        # In a block of its own size (orjson's output keeps the buffer it was
        # written in): the journal keeps these very bytes for every poll.
        task.finished_answer = memoryview(orjson.dumps(answer)).tobytes()
        return KeptAnswer(task.finished_answer, answer)
    return answer


METHODS = [
    ApiMethod(
        "tasks/status",
        status,
        "tasks/status.request",
        "tasks/status.response",
        "Checking the status of the task",
    ),
]
