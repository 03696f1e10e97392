"""One unit of work over the store: the path every import takes, task or not.

A task's step (`TaskEngine`) and the synchronous endpoints of SPEC §8
(`workflows/import_and_start_batch`, `workflows/import_and_start`,
`profiles/import`, `profiles/import_batch`) run the same `apply_slice`: items
are prepared, matched and merged by the domain over one `ProfileSession`, the
session is written in one batch, and engagements are recorded. Nothing awaits
in between, so a concurrent request never sees half of it. The synchronous
endpoints then flush the store before they answer (SPEC §7: acknowledged work
is on disk).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mockserver.clock import iso
from mockserver.domain.imports import (
    Engagement,
    ImportJob,
    ItemOutcome,
    ItemVeto,
    SliceResult,
    run_slice,
)
from mockserver.domain.items import AttachmentSummary, ItemFailure, PreparedItem
from mockserver.domain.queries import RegexBudget
from mockserver.errors import InterruptedByReset
from mockserver.store.repository import Store

#: Items imported between two chances for other requests to run (about 10 ms
#: of work). Measured with `SliceTurns` (`make bench`'s mixed scenario: 8
#: clients importing 1,000-profile batches while 32 poll): status p99 4.7x
#: idle at 500 items, 3.7x at 200 (but a third fewer imports done), 2.6x at 50
#: (a third of the imports done); without turns it was 23x at 500.
SLICE_ITEMS = 500


class SliceTurns:
    """Slices of import work take turns: at most one runs per event-loop turn.

    A slice runs without awaiting. Were several imports left to yield on their
    own, asyncio would run one slice of each in every loop turn, and a status
    poll would wait for all of them at each step it takes. The turn is held
    through one loop turn after the slice (a lock taken and released without
    awaiting in between would never make anyone wait), so the next slice, of
    this import or another, runs in a later loop turn, and any other request
    waits for one slice at a time. Leaving the block yields to the loop.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(self, *exc: object) -> None:
        try:
            await asyncio.sleep(0)
        finally:
            self._lock.release()


def apply_slice(
    store: Store,
    job: ImportJob,
    start: int,
    stop: int,
    *,
    engagement: Engagement | None,
    veto: ItemVeto | None = None,
) -> SliceResult:
    """Import items [start, stop) of a job in one unit of work; engage them if asked.

    `engagement` is None for the `profiles/*` imports, which add or update
    profiles without engaging them in any workflow.
    """
    session = store.session(job.account.name)
    outcome = run_slice(job, start, stop, session, veto)
    session.apply()
    if engagement is not None and outcome.engaged:
        at = iso(store.clock.now())
        store.add_engagements([engagement.of_imports(outcome.engaged, job.options, at)])
    return outcome


async def import_now(
    store: Store,
    turns: SliceTurns,
    job: ImportJob,
    *,
    engagement: Engagement | None = None,
    veto: ItemVeto | None = None,
) -> list[ItemOutcome]:
    """Import every item of a job and flush the store: one outcome per item, in order.

    Slice by slice, taking turns with other imports and letting other requests
    run in between (as a task's step does), so one 10,000-item synchronous batch
    never stalls every other client."""
    outcomes: list[ItemOutcome] = []
    began = store.reset_mark(job.account.name)
    for start in range(0, len(job.items), SLICE_ITEMS):
        stop = min(len(job.items), start + SLICE_ITEMS)
        async with turns:
            if store.reset_mark(job.account.name) != began:
                # The slices before went with the reset; none after it may land.
                raise InterruptedByReset(
                    f"data: the mock was reset after {start} of {len(job.items)} items; "
                    "nothing of this request was kept"
                )
            done = apply_slice(store, job, start, stop, engagement=engagement, veto=veto)
        outcomes += done.outcomes
    await store.flush()
    return outcomes


async def engage_now(
    store: Store,
    engagement: Engagement,
    profile_id: str,
    *,
    content: Mapping[str, Any] | None,
    custom_data: Mapping[str, Any] | None,
    attach: Sequence[AttachmentSummary],
) -> None:
    """Engage an existing profile (`workflows/start`) and flush the store."""
    at = iso(store.clock.now())
    store.add_engagements(
        [
            engagement.record(
                profile_id,
                created=False,
                content=content,
                custom_data=custom_data,
                attach=attach,
                at=at,
            )
        ]
    )
    await store.flush()


def item_veto(fault_plans: Iterable[Mapping[str, Any]]) -> ItemVeto | None:
    """A `fail_items` fault: items whose matching value matches the pattern fail."""
    plans = [p for p in fault_plans if p["action"] == "fail_items"]
    if not plans:
        return None
    # Run by `regex` under the `custom_request` time bound (one budget per request or
    # task step): a match cut short counts as no match, logged once.
    budget = RegexBudget("fail_items pattern", slashed=False)
    failures = [(p["pattern"], ItemFailure(p["error"], p["error_text"])) for p in plans]

    def veto(item: PreparedItem) -> ItemFailure | None:
        value = item.key.describe() if item.key is not None else item.fields.get("email") or ""
        for pattern, failure in failures:
            if budget.search(pattern, value):
                return failure
        return None

    return veto
