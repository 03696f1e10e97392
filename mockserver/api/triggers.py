"""`campaigns/triggers/*` endpoints: launch a trigger campaign for profiles.

The vendor's trigger pages: a trigger campaign of the "API call" type is
launched for one existing profile (`start`), for one profile imported first
(`import_and_start`), and in batch forms, answered at once or as a task. They
share the workflows' import path, faults and journal; an engagement records
the `trigger_id` (no workflow) and the method as its `source`. Only an active
trigger can be launched: unknown is 404 "Trigger not found", inactive 400, as
for workflows.

The pages name the trigger `trigger_id` in `import_and_start`, `start_batch`
and the import batches, and `id` in `start` and `start_batch_task`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mockserver.api.importing import (
    check_item_count,
    engagement,
    import_items,
    import_one,
    recorded_details,
    start_one,
)
from mockserver.api.router import ApiCall, ApiHandler, ApiMethod
from mockserver.domain.catalog import Trigger, page_by_id
from mockserver.domain.items import ImportOptions
from mockserver.http.answers import ok
from mockserver.importer.options import parse_import_options, parse_lookup_options
from mockserver.tasks.engine import NewTask

PREFIX = "campaigns/triggers/"
START = PREFIX + "start"
IMPORT_AND_START = PREFIX + "import_and_start"
START_BATCH = PREFIX + "start_batch"
START_BATCH_TASK = PREFIX + "start_batch_task"
IMPORT_AND_START_BATCH = PREFIX + "import_and_start_batch"
IMPORT_AND_START_BATCH_TASK = PREFIX + "import_and_start_batch_task"
LIST = PREFIX + "list"

#: What a launch records with the engagement, as sent (the pages' trigger options).
LAUNCH_DETAILS = ("resource_id", "subscription_filter", "timeout")
#: `campaigns/triggers/list` defaults, from the vendor's page.
DEFAULT_FROM_ID = 1
DEFAULT_LIMIT = 1000


def _trigger(call: ApiCall, field: str) -> Trigger:
    # `start`'s page types `id` as a string (its example sends a number): both pass.
    return call.services.accounts.active_trigger(call.account, int(call.body[field]), field)


async def start(call: ApiCall) -> dict[str, Any]:
    """Launch the trigger for an existing profile (`id`); no match: 404, nothing created.

    (pick) `custom_request` launches it for the earliest created profile it
    selects, as `workflows/start` does: one profile per call."""
    trigger = _trigger(call, "id")
    engaged = engagement(
        call,
        START,
        parse_lookup_options(call.body),
        trigger_id=trigger.id,
        details=recorded_details(call.body, LAUNCH_DETAILS),
    )
    profile_id = await start_one(call, call.account.ensure_database(trigger.db_id), engaged)
    return ok(profile_id=profile_id)


async def import_and_start(call: ApiCall) -> dict[str, Any]:
    """Import one profile (key at the root, `data` the profile), then launch the trigger."""
    trigger = _trigger(call, "trigger_id")
    options = parse_import_options(call.body)
    imported = await import_one(
        call,
        call.account.ensure_database(trigger.db_id),
        options,
        engaged=engagement(
            call,
            IMPORT_AND_START,
            options,
            trigger_id=trigger.id,
            details=recorded_details(call.body, LAUNCH_DETAILS),
        ),
    )
    return ok(profile_id=imported.profile_id)


async def import_and_start_batch(call: ApiCall) -> dict[str, Any]:
    """Many profiles imported and launched before the answer: one result per item."""
    return await _batch_now(call, IMPORT_AND_START_BATCH, parse_import_options(call.body))


async def start_batch(call: ApiCall) -> dict[str, Any]:
    """Launch for many existing profiles (`data`: each item names one by its key);
    `result` per item: the profile id, or 404 "Profile not found"."""
    return await _batch_now(call, START_BATCH, _launch_only(call))


async def import_and_start_batch_task(call: ApiCall) -> dict[str, Any]:
    """The import batch as a task: answered at once with its id (`tasks/status`)."""
    options = parse_import_options(call.body)
    return await _batch_task(call, IMPORT_AND_START_BATCH_TASK, "trigger_id", options)


async def start_batch_task(call: ApiCall) -> dict[str, Any]:
    """The launch batch as a task; its page names the trigger `id`."""
    return await _batch_task(call, START_BATCH_TASK, "id", _launch_only(call))


def _launch_only(call: ApiCall) -> ImportOptions:
    return replace(parse_import_options(call.body), existing_only=True)


def _batch(call: ApiCall, field: str) -> tuple[Trigger, list[Any]]:
    """The batch's trigger (named by `field`) and its items, within the item cap."""
    trigger = _trigger(call, field)
    items = call.body["data"]
    check_item_count(call, len(items))
    return trigger, items


async def _batch_now(call: ApiCall, source: str, options: ImportOptions) -> dict[str, Any]:
    trigger, items = _batch(call, "trigger_id")
    outcomes = await import_items(
        call,
        call.account.ensure_database(trigger.db_id),
        options,
        items,
        engaged=engagement(
            call,
            source,
            options,
            trigger_id=trigger.id,
            details=recorded_details(call.body, LAUNCH_DETAILS),
        ),
    )
    return ok(result=[outcome.to_result() for outcome in outcomes])


async def _batch_task(
    call: ApiCall, source: str, field: str, options: ImportOptions
) -> dict[str, Any]:
    trigger, items = _batch(call, field)
    task = await call.services.engine.submit(
        NewTask(
            account=call.account,
            workflow_id=None,
            trigger_id=trigger.id,
            db_id=trigger.db_id,
            options=options,
            items=items,
            source=source,
            progression=call.services.progressions.for_trigger(),
            request_id=call.journal_id,
            faults=call.faults,
        )
    )
    return ok(task_id=task.task_id)


async def list_triggers(call: ApiCall) -> dict[str, Any]:
    """The caller's trigger campaigns, paged by id; `is_active` filters. The page's
    answer counts them in `total_count`."""
    triggers = list(call.account.triggers.values())
    if call.body.get("is_active") is not None:
        triggers = [t for t in triggers if t.is_active is call.body["is_active"]]
    shown, _ = page_by_id(
        triggers,
        lambda trigger: trigger.id,
        call.body.get("from_id") or DEFAULT_FROM_ID,
        call.body.get("limit") or DEFAULT_LIMIT,
    )
    return ok(data=[trigger.to_vendor() for trigger in shown], total_count=len(triggers))


def _method(name: str, handler: ApiHandler, summary: str) -> ApiMethod:
    return ApiMethod(name, handler, f"{name}.request", f"{name}.response", summary)


METHODS = [
    _method(START, start, "Trigger launch (API call)"),
    _method(IMPORT_AND_START, import_and_start, "Profile import + trigger campaign launch"),
    _method(START_BATCH, start_batch, "Bulk trigger launch"),
    _method(START_BATCH_TASK, start_batch_task, "Task for bulk trigger launch"),
    _method(
        IMPORT_AND_START_BATCH,
        import_and_start_batch,
        "Bulk profiles import + trigger campaign launch",
    ),
    _method(
        IMPORT_AND_START_BATCH_TASK,
        import_and_start_batch_task,
        "Task for bulk profiles import + trigger launch",
    ),
    _method(LIST, list_triggers, "Get trigger campaigns list"),
]
