"""The task engine: creates tasks, moves them forward, persists every step.

Each step is one unit of work: import a slice of items through the domain,
write profiles, engagements and the task in one batch, then flush the store
file once. Nothing awaits between importing and writing, so concurrent
requests never see half a step.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.accounts import Accounts
from mockserver.clock import Clock, ClockMode, iso
from mockserver.domain.catalog import Account
from mockserver.domain.importing import ImportJob, ItemVeto
from mockserver.domain.items import ImportOptions
from mockserver.errors import StoreUnavailable, TaskNotFound
from mockserver.ids import IdGenerator, TaskIdFormat
from mockserver.importer.item_failures import item_veto
from mockserver.importer.turns import SLICE_ITEMS
from mockserver.importer.work import Importer
from mockserver.store.engagements import Engagement
from mockserver.store.repository import Store
from mockserver.tasks.model import NO_FAULT_PLANS, FaultPlans, Task, TaskStatus, internal_failure
from mockserver.tasks.progression import Progression, ProgressionMode
from mockserver.tasks.waiting import Snapshot, TaskGoal, TaskWaiters, WaitResult

log = logging.getLogger(__name__)

#: The background worker of `rate` mode wakes this often ...
RATE_TICK_SECONDS = 0.02
#: ... and imports at most this many items before letting other requests run:
#: a status poll during a `rate` task waits for one such slice at most (~3 ms),
#: not for everything the clock allowed since the last tick.
RATE_SLICE_ITEMS = 100
#: Any other step (instant, polls, control) yields between slices of this size.
MAX_ITEMS_PER_SLICE = SLICE_ITEMS
#: What `_work_to` gives once it has nothing left to do.
_FINISHED = object()
#: How often the rate worker tries the store again while it cannot be written.
STORE_RETRY_SECONDS = 1.0
#: Finished tasks kept in memory for polling (their documents stay in the store).
FINISHED_KEPT = 256


@dataclass(frozen=True, slots=True)
class NewTask:
    account: Account
    workflow_id: int | None
    db_id: int
    options: ImportOptions
    items: list[Any]
    source: str
    progression: Progression
    request_id: int | None = None
    faults: FaultPlans = NO_FAULT_PLANS
    #: A trigger campaign's launch (`campaigns/triggers/*`) instead of a workflow's.
    trigger_id: int | None = None


class TaskEngine:
    def __init__(
        self,
        store: Store,
        importer: Importer,
        accounts: Accounts,
        clock: Clock,
        ids: IdGenerator,
        task_id_format: TaskIdFormat,
    ) -> None:
        self._store = store
        self._importer = importer
        self._accounts = accounts
        self._clock = clock
        self._ids = ids
        self._task_id_format = task_id_format
        self._active: dict[str, Task] = {}
        # Finished tasks read lately, so a client polling a task that has ended
        # does not rebuild it from its stored document on every call.
        self._finished: OrderedDict[str, Task] = OrderedDict()
        self._rate_started: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._wakeup = asyncio.Event()
        self._waiters = TaskWaiters()

    # -- lifecycle ---------------------------------------------------------------
    def resume(self) -> int:
        """Load unfinished tasks from the store (SPEC §7: they resume after a restart)."""
        self._active.clear()
        self._finished.clear()
        self._rate_started.clear()
        accounts = self._accounts.catalog.accounts
        for doc in self._store.tasks():
            if not TaskStatus(doc["status"]).finished:
                task = self._load(doc)
                if task.account not in accounts:
                    self._orphaned(task)
                    continue
                self._active[task.task_id] = task
                self._start_clock(task)
        if self._active:
            log.info("resuming %d unfinished task(s)", len(self._active))
            self._wakeup.set()
        return len(self._active)

    def _orphaned(self, task: Task) -> None:
        """A stored task whose account the fixtures no longer declare: it fails,
        saying so, rather than resuming into an account that is not there."""
        log.warning(
            "task %s: account %r is gone from the fixtures: failed", task.task_id, task.account
        )
        task.failure = {
            "error": 500,
            "error_text": f"the task's account {task.account!r} is not in the fixtures any more",
        }
        self._finish(task, TaskStatus.FAILED)

    def _start_clock(self, task: Task) -> None:
        if task.progression.mode is ProgressionMode.RATE:
            # Resume at the rate's pace from where the task stopped.
            already = task.processed / task.progression.rate
            self._rate_started[task.task_id] = self._clock.monotonic() - already

    def restart_rate_clocks(self) -> None:
        """The clock was set back (a reset of a virtual clock): each `rate` task goes
        on at its pace from where it is, not from a start now in the future."""
        for task in self._active.values():
            self._start_clock(task)

    # -- creating ------------------------------------------------------------------
    async def submit(self, new: NewTask) -> Task:
        """Create a task and persist it before the caller answers with its id."""
        task = Task(
            task_id=self._ids.task_id(self._task_id_format, taken=self._store.task_id_taken),
            account=new.account.name,
            workflow_id=new.workflow_id,
            trigger_id=new.trigger_id,
            db_id=new.db_id,
            source=new.source,
            created=iso(self._clock.now()),
            progression=new.progression,
            options=new.options,
            items=new.items,
            total=len(new.items),
            request_id=new.request_id,
            faults=new.faults,
        )
        self._active[task.task_id] = task
        # Stored before any of its slices: another request may flush between two
        # slices of an `instant` task, and a kill then must find the task that
        # engaged those profiles (it resumes), never engagements of no task. An
        # instant task that ends before any flush never writes its items.
        self._store.save_task_items(task.task_id, new.items)
        self._save(task)
        if task.progression.mode is ProgressionMode.INSTANT:
            await self._process_to_yielding(task, task.total)
        else:
            self._start_clock(task)
            if task.progression.mode is ProgressionMode.RATE:
                self._wakeup.set()
        await self._store.flush()
        return task

    # -- the stored form ------------------------------------------------------------
    def _save(self, task: Task) -> None:
        """The task's document, and the results added since it was last saved."""
        self._store.save_task(task.to_doc())
        if len(task.results) > task.results_saved:
            new_results = task.results[task.results_saved :]
            self._store.add_task_results(task.task_id, task.results_saved, new_results)
            task.results_saved = len(task.results)
        self._waiters.changed(task)  # every state a task is saved in, its waiters see

    def _load(self, doc: Mapping[str, Any]) -> Task:
        """A task from the store: its document, items and results."""
        task = Task.from_doc(doc)
        task.results = self._store.task_results(task.task_id)
        task.results_saved = len(task.results)
        task.items = None if task.finished else self._store.task_items(task.task_id)
        return task

    # -- reading -----------------------------------------------------------------
    def get(self, task_id: str, account: str | None = None) -> Task:
        """The task, or TaskNotFound; another account's task is not found."""
        task = self._active.get(task_id) or self._finished.get(task_id)
        if task is None:
            doc = self._store.task(task_id)
            if doc is not None:
                task = self._load(doc)
                if task.finished:
                    self._remember_finished(task)
        if task is None or (account is not None and task.account != account):
            raise TaskNotFound(f"task_id: no task {task_id!r}")
        return task

    def all_tasks(self) -> list[Task]:
        """Every stored task, oldest first, as the engine knows it; one that is not in
        memory is read from its document alone (its items and results stay stored)."""
        return [
            self._active.get(doc["task_id"])
            or self._finished.get(doc["task_id"])
            or Task.from_doc(doc)
            for doc in self._store.tasks()
        ]

    async def wait(
        self, task_id: str, goal: TaskGoal, timeout: float, snapshot: Snapshot
    ) -> WaitResult:
        """Control API: wait until the task reaches `goal` (or cannot any more), at most
        `timeout` seconds; never moves the task (TaskNotFound for an unknown one)."""
        return await self._waiters.wait(self.get(task_id), goal, timeout, snapshot)

    async def poll(self, task_id: str, account: str) -> Task:
        """`tasks/status`: in `polls` mode every call is one step (SPEC §5)."""
        task = self.get(task_id, account)
        if not task.finished and task.progression.mode is ProgressionMode.POLLS:
            await self._step(task)
            await self._store.flush()
        return task

    # -- moving forward --------------------------------------------------------------
    async def _step(self, task: Task) -> None:
        task.steps_taken += 1
        target = task.progression.target_after_step(task.total, task.steps_taken)
        await self._process_to_yielding(task, target)

    async def advance(self, task_id: str, items: int | None = None) -> Task:
        """Control API: one step, or `items` more items."""
        task = self.get(task_id)
        if not task.finished:
            if items is None:
                await self._step(task)
            else:
                # From where the task is once this call's turn comes (a `rate`
                # tick may be moving it meanwhile), not from where it was.
                await self._process_to_yielding(task, lambda: task.processed + items)
            await self._store.flush()
        return task

    async def set_progression(self, task_id: str, progression: Progression) -> Task:
        """Control API: change how one task moves on from now (its steps so far count)."""
        task = self.get(task_id)
        if not task.finished:
            task.progression = progression
            task.steps_taken = 0 if progression.mode is ProgressionMode.POLLS else task.steps_taken
            if progression.mode is ProgressionMode.INSTANT:
                await self._process_to_yielding(task, task.total)
            else:
                self._save(task)
                self._start_clock(task)
                self._wakeup.set()
            await self._store.flush()
        return task

    async def complete(self, task_id: str) -> Task:
        task = self.get(task_id)
        if not task.finished:
            await self._process_to_yielding(task, task.total)
            await self._store.flush()
        return task

    async def fail(self, task_id: str, error: int, error_text: str) -> Task:
        task = self.get(task_id)
        if not task.finished:
            task.failure = {"error": error, "error_text": error_text}
            self._finish(task, TaskStatus.FAILED)
            await self._store.flush()
        return task

    async def _process_to_yielding(
        self,
        task: Task,
        target: int | Callable[[], int],
        slice_items: int = MAX_ITEMS_PER_SLICE,
    ) -> None:
        """Import items up to `target` (or what it gives once the task's lock is
        held), letting other requests run between slices, so a status poll is
        never stuck behind a whole 10,000-item batch."""
        async with self._lock(task.task_id):
            goal = target() if callable(target) else target
            work = self._work_to(task, goal, slice_items)
            finished = False
            while not finished:
                async with self._importer.turns:
                    try:
                        finished = next(work, _FINISHED) is _FINISHED
                    except Exception:
                        self._fail_on_error(task)
                        raise

    def _fail_on_error(self, task: Task) -> None:
        """An error of the mock's own while importing: the task ends failed, as a
        vendor task that hits an internal error does, rather than staying queued or
        processing for good (and meeting the same error again after a restart)."""
        if self._is_current(task):
            task.failure = internal_failure()
            self._finish(task, TaskStatus.FAILED)

    def _lock(self, task_id: str) -> asyncio.Lock:
        # One task is processed by one caller at a time (a poll and a control
        # call may race between slices).
        return self._locks.setdefault(task_id, asyncio.Lock())

    def _is_current(self, task: Task) -> bool:
        """Whether `task` is still the engine's to move: a reset, an account reset
        or a `fail` between two slices ends the step (it must not write a cleared
        store again, nor overwrite a failure with its progress)."""
        return self._active.get(task.task_id) is task

    def _work_to(self, task: Task, target: int, slice_items: int) -> Iterator[None]:
        """Import up to `target`, one unit of work per iteration, then save the task."""
        target = min(task.total, max(target, task.processed))
        failure = task.faults.task_failure
        if failure is not None:
            # Planned to fail once it reaches a given progress.
            fail_at = failure.fail_at(task.total)
            if target >= fail_at:
                yield from self._slices_to(task, fail_at, slice_items)
                if not self._is_current(task):
                    return
                task.failure = {"error": failure.error, "error_text": failure.error_text}
                self._finish(task, TaskStatus.FAILED)
                return
        yield from self._slices_to(task, target, slice_items)
        if not self._is_current(task):
            return
        if task.processed >= task.total:
            self._finish(task, TaskStatus.COMPLETED)
        else:
            if task.processed > 0:
                task.status = TaskStatus.PROCESSING
            self._save(task)

    def _slices_to(self, task: Task, target: int, slice_items: int) -> Iterator[None]:
        if task.processed >= target or task.finished:
            return
        job, engagement, veto = self._job(task)
        while task.processed < target and self._is_current(task):
            stop = min(target, task.processed + slice_items)
            outcome = self._importer.apply_slice(
                job, task.processed, stop, engagement=engagement, veto=veto
            )
            task.results.extend(outcome.results())
            task.processed = stop
            if self._store.task_id_taken(task.task_id):
                # A stored task is saved with each slice: whoever flushes next
                # (any request may, between two slices) writes the slice's
                # profiles, engagements, results and progress in one line, so a
                # kill never leaves profiles engaged that the task will redo.
                # (A task processed within its create call is stored when it ends.)
                if task.status is TaskStatus.QUEUED:
                    task.status = TaskStatus.PROCESSING
                self._save(task)
            yield

    def _job(self, task: Task) -> tuple[ImportJob, Engagement, ItemVeto | None]:
        """What importing the task's items needs (built once per step, not per slice)."""
        account = self._accounts.catalog.accounts[task.account]
        job = self._importer.job(
            account,
            account.ensure_database(task.db_id),
            task.options,
            task.items or [],
            workflow_id=task.workflow_id,
        )
        engagement = self._importer.engagement(
            account,
            task.source,
            task.options,
            workflow_id=task.workflow_id,
            trigger_id=task.trigger_id,
            task_id=task.task_id,
        )
        return job, engagement, item_veto(task.faults.item_failures)

    def _finish(self, task: Task, status: TaskStatus) -> None:
        task.status = status
        task.finished_at = iso(self._clock.now())
        task.items = None  # the request body is not needed once the task has ended
        self._store.drop_task_items(task.task_id)
        self._save(task)
        self._active.pop(task.task_id, None)
        self._rate_started.pop(task.task_id, None)
        self._locks.pop(task.task_id, None)
        self._remember_finished(task)

    def _remember_finished(self, task: Task) -> None:
        self._finished[task.task_id] = task
        if len(self._finished) > FINISHED_KEPT:
            self._finished.popitem(last=False)

    # -- rate mode -----------------------------------------------------------------
    def _rate_target(self, task: Task) -> int:
        """How many items of a `rate` task the clock allows by now."""
        started = self._rate_started.setdefault(task.task_id, self._clock.monotonic())
        return task.progression.target_at(task.total, self._clock.monotonic() - started)

    async def rate_tick(self) -> bool:
        """Process what the clock allows for every `rate` task; True if any work is left."""
        pending = False
        for task in list(self._active.values()):
            if task.progression.mode is not ProgressionMode.RATE or not self._is_current(task):
                continue  # (or dropped by a reset during an earlier task's slices)
            target = self._rate_target(task)
            if target > task.processed and not self._lock(task.task_id).locked():
                await self._process_to_yielding(task, target, RATE_SLICE_ITEMS)
            pending = pending or (self._is_current(task) and not task.finished)
        return pending

    async def catch_up(self) -> None:
        """Process every `rate` task up to what the clock allows now, waiting for any
        step in flight (unlike a tick, which leaves a busy task to the next one): after
        a virtual clock moves, the next status poll sees exactly where the tasks are."""
        for task in list(self._active.values()):
            if task.progression.mode is ProgressionMode.RATE and self._is_current(task):
                target = functools.partial(self._rate_target, task)  # once its turn comes
                await self._process_to_yielding(task, target, RATE_SLICE_ITEMS)
        await self._store.flush()

    async def run_rate_worker(self) -> None:
        """Background worker (started by the app's cleanup context)."""
        while True:
            # Cleared before looking for work: a task submitted while this tick
            # awaits the store flush sets it again, so its wake-up is never lost.
            self._wakeup.clear()
            failed_write = False
            try:
                pending = await self.rate_tick()
                await self._store.flush()
            except StoreUnavailable:  # the store logs it; the work stays pending
                pending = failed_write = True
            except Exception:  # keep the worker alive; the failure is logged
                log.exception("rate worker step failed")
                pending = True
            if failed_write:
                # While the disk refuses writes, try again now and then, not 50 times a second.
                await asyncio.sleep(STORE_RETRY_SECONDS)
            elif pending and self._clock.mode is ClockMode.REAL:
                await asyncio.sleep(RATE_TICK_SECONDS)
            else:
                # Nothing to do, or a virtual clock: it moves only by `POST /_mock/clock`,
                # which runs the work due itself (`catch_up`).
                await self._wakeup.wait()

    def active_count(self) -> int:
        return len(self._active)

    def waiter_count(self) -> int:
        return self._waiters.count()

    def reset(self) -> None:
        self._waiters.gone()
        self._active.clear()
        self._finished.clear()
        self._rate_started.clear()
        self._locks.clear()  # a step still running keeps its own, and stops

    def forget_account(self, account: str) -> None:
        for task_id in [t.task_id for t in self._active.values() if t.account == account]:
            self._waiters.gone([task_id])
            self._active.pop(task_id, None)
            self._rate_started.pop(task_id, None)
            self._locks.pop(task_id, None)
        for task_id in [t.task_id for t in self._finished.values() if t.account == account]:
            del self._finished[task_id]
