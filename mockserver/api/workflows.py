"""`workflows/*` endpoints."""

from __future__ import annotations

import logging
from typing import Any

from mockserver.app_keys import API_WARNING, JOURNAL_ID
from mockserver.domain.imports import parse_import_options
from mockserver.envelope import ok
from mockserver.errors import InvalidRequest
from mockserver.routing import ApiCall, ApiMethod
from mockserver.tasks.engine import NewTask

log = logging.getLogger(__name__)

#: The reference page: "It is not recommended to transmit more than 10,000
#: profiles per request." Accepted, with a warning.
RECOMMENDED_MAX_ITEMS = 10_000

BATCH_TASK = "workflows/import_and_start_batch_task"


async def import_and_start_batch_task(call: ApiCall) -> dict[str, Any]:
    """Add or update many profiles and engage them; answer at once with a task id."""
    state, body = call.state, call.body
    options = parse_import_options(body)
    items = body["data"]
    _check_item_count(len(items), state.settings.max_items, call)
    # JSON Schema counts 1.0 as an integer; ids are stored as ints.
    workflow = state.active_workflow(call.account, int(body["workflow_id"]))
    task = await state.engine.submit(
        NewTask(
            account=call.account,
            workflow_id=workflow.id,
            db_id=workflow.db_id,
            options=options,
            items=items,
            source=BATCH_TASK,
            progression=state.progression_for(workflow),
            request_id=call.request.get(JOURNAL_ID),
            fault_plans=call.fault_plans,
        )
    )
    return ok(task_id=task.task_id)


def _check_item_count(count: int, hard_limit: int | None, call: ApiCall) -> None:
    if hard_limit is not None and count > hard_limit:
        raise InvalidRequest(f"data: {count} items, more than the configured maximum {hard_limit}")
    if count > RECOMMENDED_MAX_ITEMS:
        warning = (
            f"data: {count} items, more than the {RECOMMENDED_MAX_ITEMS} the vendor recommends"
        )
        call.request[API_WARNING] = warning
        log.warning(warning)


METHODS = [
    ApiMethod(
        BATCH_TASK,
        import_and_start_batch_task,
        "workflows/import_and_start_batch_task.request",
        "workflows/import_and_start_batch_task.response",
        "Task for batch import and engaging profiles in the scenario",
    ),
]
