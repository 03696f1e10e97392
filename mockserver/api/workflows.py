"""`workflows/*` endpoints: the batch task and the rest of its family (SPEC §3, §8).

Every import goes through the same domain rules and the same unit of work
(`Importer.apply_slice`): the task runs it step by step, the synchronous
methods run it once and flush before they answer. Each engagement records
which of these methods engaged the profile (`source`).
"""

from __future__ import annotations

from typing import Any

from mockserver.api.importing import (
    check_item_count,
    engagement,
    import_items,
    import_one,
    recorded_details,
    start_one,
)
from mockserver.api.router import ApiCall, ApiMethod
from mockserver.domain.catalog import page_by_id
from mockserver.http.answers import ok
from mockserver.importer.options import parse_import_options, parse_lookup_options
from mockserver.tasks.engine import NewTask

BATCH_TASK = "workflows/import_and_start_batch_task"
BATCH = "workflows/import_and_start_batch"
SINGLE = "workflows/import_and_start"
START = "workflows/start"
LIST = "workflows/list"
ACTIVATE = "workflows/activate"
DEACTIVATE = "workflows/deactivate"

#: `workflows/list` defaults, from the vendor's page. A 0 counts as absent:
#: the vendor's server appears to be Go (its body-limit message is Go's), where
#: an absent int and 0 read the same, and Go clients (goaltcraft) send zeros.
DEFAULT_FROM_ID = 1
DEFAULT_LIMIT = 1000
#: What `workflows/start` records with the engagement, as sent.
START_DETAILS = ("resource_id", "subscription_filter")


async def import_and_start_batch_task(call: ApiCall) -> dict[str, Any]:
    """Add or update many profiles and engage them; answer at once with a task id."""
    body = call.body
    options = parse_import_options(body)
    items = body["data"]
    check_item_count(call, len(items))
    # JSON Schema counts 1.0 as an integer; ids are stored as ints.
    workflow = call.services.accounts.active_workflow(call.account, int(body["workflow_id"]))
    task = await call.services.engine.submit(
        NewTask(
            account=call.account,
            workflow_id=workflow.id,
            db_id=workflow.db_id,
            options=options,
            items=items,
            source=BATCH_TASK,
            progression=call.services.progressions.for_workflow(workflow),
            request_id=call.journal_id,
            faults=call.faults,
        )
    )
    return ok(task_id=task.task_id)


async def import_and_start_batch(call: ApiCall) -> dict[str, Any]:
    """The batch task's request, done before the answer: one result per item, in order."""
    body = call.body
    options = parse_import_options(body)
    items = body["data"]
    check_item_count(call, len(items))
    workflow = call.services.accounts.active_workflow(call.account, int(body["workflow_id"]))
    outcomes = await import_items(
        call,
        call.account.ensure_database(workflow.db_id),
        options,
        items,
        workflow_id=workflow.id,
        engaged=engagement(call, BATCH, options, workflow_id=workflow.id),
    )
    return ok(result=[outcome.to_result() for outcome in outcomes])


async def import_and_start(call: ApiCall) -> dict[str, Any]:
    """One profile (matching key at the root, `data` the profile), imported and engaged."""
    body = call.body
    options = parse_import_options(body)
    workflow = call.services.accounts.active_workflow(call.account, int(body["workflow_id"]))
    imported = await import_one(
        call,
        call.account.ensure_database(workflow.db_id),
        options,
        workflow_id=workflow.id,
        engaged=engagement(call, SINGLE, options, workflow_id=workflow.id),
    )
    return ok(profile_id=imported.profile_id)


async def start(call: ApiCall) -> dict[str, Any]:
    """Engage an existing profile; the workflow is `id` here. No match: 404, nothing created.

    (pick) `custom_request` engages the earliest created profile it selects,
    as an import with that query would update it: one profile per call.
    """
    body = call.body
    workflow = call.services.accounts.active_workflow(call.account, int(body["id"]), field="id")
    engaged = engagement(
        call,
        START,
        parse_lookup_options(body),
        workflow_id=workflow.id,
        details=recorded_details(body, START_DETAILS),
    )
    profile_id = await start_one(call, call.account.ensure_database(workflow.db_id), engaged)
    return ok(profile_id=profile_id)


async def list_workflows(call: ApiCall) -> dict[str, Any]:
    """The caller's workflows, paged by id (`from_id`, `limit`); `total` counts them all."""
    workflows = call.account.workflows.values()
    shown, next_from_id = page_by_id(
        workflows,
        lambda workflow: workflow.id,
        call.body.get("from_id") or DEFAULT_FROM_ID,
        call.body.get("limit") or DEFAULT_LIMIT,
    )
    return ok(
        data=[workflow.to_vendor() for workflow in shown],
        next_from_id=next_from_id,
        total=len(workflows),
    )


async def activate(call: ApiCall) -> dict[str, Any]:
    """Imports into the workflow work again. `skip_profiles` is accepted; no
    profiles queue up while a mock workflow is inactive, so there are none to skip."""
    return await _set_active(call, True)


async def deactivate(call: ApiCall) -> dict[str, Any]:
    """Imports into the workflow are refused (400, SPEC §3) until it is activated."""
    return await _set_active(call, False)


async def _set_active(call: ApiCall, active: bool) -> dict[str, Any]:
    call.services.accounts.set_workflow_active(call.account, int(call.body["id"]), active)
    await call.services.store.flush()
    return ok(data=None)


METHODS = [
    ApiMethod(
        BATCH_TASK,
        import_and_start_batch_task,
        "workflows/import_and_start_batch_task.request",
        "workflows/import_and_start_batch_task.response",
        "Task for batch import and engaging profiles in the scenario",
    ),
    ApiMethod(
        BATCH,
        import_and_start_batch,
        "workflows/import_and_start_batch.request",
        "workflows/import_and_start_batch.response",
        "Batch import and engage profiles in a scenario",
    ),
    ApiMethod(
        SINGLE,
        import_and_start,
        "workflows/import_and_start.request",
        "workflows/import_and_start.response",
        "Import and engage profile in scenario",
    ),
    ApiMethod(
        START,
        start,
        "workflows/start.request",
        "workflows/start.response",
        "Engage profile in scenario",
    ),
    ApiMethod(
        LIST,
        list_workflows,
        "workflows/list.request",
        "workflows/list.response",
        "Get scenarios list",
    ),
    ApiMethod(
        ACTIVATE,
        activate,
        "workflows/activate.request",
        "workflows/activate.response",
        "Activate scenario",
    ),
    ApiMethod(
        DEACTIVATE,
        deactivate,
        "workflows/deactivate.request",
        "workflows/deactivate.response",
        "Deactivate scenario",
    ),
]
