"""What the import handlers share: one-profile imports, lookups, launches of existing
profiles and the item-count check. Thin glue between an `ApiCall` and the import
path (`importer`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.api.router import ApiCall
from mockserver.domain.catalog import Database
from mockserver.domain.importing import Imported, ItemOutcome, single_outcome
from mockserver.domain.items import ImportOptions, PreparedItem, root_item
from mockserver.errors import InvalidRequest
from mockserver.importer.item_failures import item_veto
from mockserver.importer.options import parse_lookup_options
from mockserver.keys import notes
from mockserver.store.engagements import Engagement

log = logging.getLogger(__name__)

#: The reference page: "It is not recommended to transmit more than 10,000
#: profiles per request." Accepted, with a warning.
RECOMMENDED_MAX_ITEMS = 10_000


def check_item_count(call: ApiCall, count: int) -> None:
    """`--max-items` (100,000 by default) refuses the request; over the vendor's
    advice warns.

    The default bounds what one accepted request costs: a task keeps its items
    and one result per item, and a status poll answers them all. 100,000 keeps
    RELIABILITY.md's promise of 100,000 tiny items. The items are counted once
    parsed: what parsing a body costs depends on its bytes, not its item count,
    and `--max-body-bytes` bounds those (README, `--max-items`: the figures).
    """
    hard_limit = call.services.settings.max_items
    if hard_limit is not None and count > hard_limit:
        raise InvalidRequest(
            f"data: {count} items, more than the maximum {hard_limit} (--max-items)"
        )
    if count > RECOMMENDED_MAX_ITEMS:
        warning = (
            f"data: {count} items, more than the {RECOMMENDED_MAX_ITEMS} the vendor recommends"
        )
        notes(call.request).warning = warning
        log.warning(warning)


def engagement(
    call: ApiCall,
    source: str,
    options: ImportOptions,
    *,
    workflow_id: int | None = None,
    trigger_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> Engagement:
    """How the profiles a call imports or starts are engaged: in a workflow or a
    trigger campaign; `source` names the method."""
    return call.services.importer.engagement(
        call.account,
        source,
        options,
        workflow_id=workflow_id,
        trigger_id=trigger_id,
        details=details,
    )


def recorded_details(body: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The request fields an engagement records as they came (`resource_id`, ...)."""
    return {name: body[name] for name in names if name in body}


async def import_items(
    call: ApiCall,
    database: Database,
    options: ImportOptions,
    items: Sequence[Any],
    *,
    workflow_id: int | None = None,
    engaged: Engagement | None = None,
    single: bool = False,
) -> list[ItemOutcome]:
    """Import a request's items now, through the same path as a task's step."""
    importer = call.services.importer
    job = importer.job(
        call.account, database, options, items, workflow_id=workflow_id, single=single
    )
    veto = item_veto(call.faults.item_failures)
    return await importer.import_now(job, engagement=engaged, veto=veto)


async def import_one(
    call: ApiCall,
    database: Database,
    options: ImportOptions,
    *,
    workflow_id: int | None = None,
    engaged: Engagement | None = None,
) -> Imported:
    """A one-profile import (key at the root); its item problem is the request's error."""
    outcomes = await import_items(
        call,
        database,
        options,
        [root_item(call.body)],
        workflow_id=workflow_id,
        engaged=engaged,
        single=True,
    )
    return single_outcome(outcomes[0])


async def start_one(call: ApiCall, database: Database, engaged: Engagement) -> str:
    """Engage the existing profile the request's key selects (`workflows/start`,
    `campaigns/triggers/start`); 404 when none, nothing is created."""
    item, profile_id = find_one(call, database, parse_lookup_options(call.body))
    await call.services.importer.engage_now(engaged, profile_id, item)
    return profile_id


def find_one(call: ApiCall, database: Database, options: ImportOptions) -> tuple[PreparedItem, str]:
    """The existing profile a lookup selects (404 when none): reads, never writes."""
    return call.services.importer.find(call.account, database, options, call.body)
