"""The import path every import takes, task or not: one way to build a job and its
engagement, one unit of work over the store.

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

from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.accounts import Accounts
from mockserver.clock import iso
from mockserver.domain.batch import run_slice
from mockserver.domain.catalog import Account, Database
from mockserver.domain.importing import (
    ImportJob,
    ItemOutcome,
    ItemVeto,
    SliceResult,
)
from mockserver.domain.items import ImportOptions, ItemContext, PreparedItem
from mockserver.domain.lookups import find_existing
from mockserver.errors import InterruptedByReset
from mockserver.importer.turns import SLICE_ITEMS, SliceTurns
from mockserver.store.engagements import Engagement
from mockserver.store.repository import Store


class Importer:
    """Jobs, engagements and the unit of work, for handlers and the task engine alike."""

    def __init__(self, store: Store, accounts: Accounts, turns: SliceTurns) -> None:
        self._store = store
        self._accounts = accounts
        #: Every import's slices take turns, tasks' and synchronous ones.
        self.turns = turns
        #: Items imported since start, and those of them that failed (any import).
        self.items_processed = 0
        self.items_failed = 0

    # -- what an import is -------------------------------------------------------------
    def job(
        self,
        account: Account,
        database: Database,
        options: ImportOptions,
        items: Sequence[Any],
        *,
        workflow_id: int | None = None,
        single: bool = False,
    ) -> ImportJob:
        """The items of one request (or task) to import into `database`, in order;
        `single`: a one-profile request, whose item is the request itself."""
        return ImportJob(
            account=account,
            database=database,
            workflow_id=workflow_id,
            options=options,
            items=items,
            geo=self._accounts.geo,
            single=single,
        )

    @staticmethod
    def engagement(
        account: Account,
        source: str,
        options: ImportOptions,
        *,
        workflow_id: int | None = None,
        trigger_id: int | None = None,
        task_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Engagement:
        """How the profiles an import or a launch selects are engaged: in a workflow or
        a trigger campaign; `source` names the vendor method."""
        return Engagement(
            account=account.name,
            workflow_id=workflow_id,
            trigger_id=trigger_id,
            source=source,
            task_id=task_id,
            skip_triggers=options.skip_triggers,
            details=details or {},
        )

    # -- the unit of work ----------------------------------------------------------------
    def apply_slice(
        self,
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
        store = self._store
        with store.bulk_work():
            session = store.session(job.account.name)
            outcome = run_slice(job, start, stop, session, veto)
            session.apply()
            if engagement is not None and len(outcome.failures) < stop - start:
                at = iso(store.clock.now())
                store.add_engagements([engagement.of_imports(outcome, job.options, at)])
        self.items_processed += stop - start
        self.items_failed += len(outcome.failures)
        return outcome

    async def import_now(
        self,
        job: ImportJob,
        *,
        engagement: Engagement | None = None,
        veto: ItemVeto | None = None,
    ) -> list[ItemOutcome]:
        """Import every item of a job and flush the store: one outcome per item, in order.

        Slice by slice, taking turns with other imports and letting other requests
        run in between (as a task's step does), so one 10,000-item synchronous batch
        never stalls every other client."""
        store = self._store
        outcomes: list[ItemOutcome] = []
        began = store.reset_mark(job.account.name)
        for start in range(0, len(job.items), SLICE_ITEMS):
            stop = min(len(job.items), start + SLICE_ITEMS)
            async with self.turns:
                if store.reset_mark(job.account.name) != began:
                    # The slices before went with the reset; none after it may land.
                    raise InterruptedByReset(
                        f"data: the mock was reset after {start} of {len(job.items)} items; "
                        "nothing of this request was kept"
                    )
                done = self.apply_slice(job, start, stop, engagement=engagement, veto=veto)
            outcomes += done.outcomes()
        await store.flush()
        return outcomes

    # -- existing profiles ---------------------------------------------------------------
    def find(
        self,
        account: Account,
        database: Database,
        options: ImportOptions,
        body: Mapping[str, Any],
    ) -> tuple[PreparedItem, str]:
        """The existing profile a lookup request selects (404 when none): reads only."""
        ctx = ItemContext(account, database, options, self._accounts.geo)
        return find_existing(body, ctx, self._store.session(account.name))

    async def engage_now(self, engagement: Engagement, profile_id: str, item: PreparedItem) -> None:
        """Engage an existing profile (`workflows/start`) with what the request carried
        for it, and flush the store."""
        at = iso(self._store.clock.now())
        record = engagement.record(
            profile_id,
            created=False,
            content=item.content,
            custom_data=item.custom_data,
            attach=item.attach,
            at=at,
        )
        self._store.add_engagements([record])
        await self._store.flush()
