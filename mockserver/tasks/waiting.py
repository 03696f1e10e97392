"""Waiting on the server for a task to get somewhere (`POST /_mock/tasks/{id}/wait`).

A client test that polls in a loop with sleeps is slow when the sleeps are long
and flaky when they are short; the mock knows the moment a task changes, so it
answers then. A waiter is a future the engine resolves when it saves the task
(each step, each slice of a step, the end): waiting costs nothing but the
future, however many wait, and each waiter judges every state the task goes
through, so one waiting for `processing` is answered even when a single call
takes the task through `processing` to `completed`.

Waiting never moves a task: a `polls` task waited on stays where it is until
someone polls it (the wait then times out).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mockserver.tasks.model import Task, TaskStatus


class WaitOutcome(StrEnum):
    REACHED = "reached"
    #: The task is where the goal can never come true (it failed; it is past it).
    OUT_OF_REACH = "out_of_reach"
    TIMED_OUT = "timed_out"
    #: A reset removed the task while it was waited on.
    GONE = "gone"


def can_become(current: TaskStatus, wanted: TaskStatus) -> bool:
    """Whether a task in `current` is, or may yet be, in `wanted`: statuses only move
    forward, queued -> processing -> completed or failed (a step may skip processing)."""
    if current is wanted:
        return True
    if current is TaskStatus.QUEUED:
        return True
    return current is TaskStatus.PROCESSING and wanted.finished


@dataclass(frozen=True, slots=True)
class TaskGoal:
    """Where a waiter wants the task: in one of `statuses` (none: any) and at
    `progress` percent or more (None: any)."""

    statuses: frozenset[TaskStatus] = frozenset()
    progress: int | None = None

    def reached(self, task: Task) -> bool:
        in_status = not self.statuses or task.status in self.statuses
        return in_status and (self.progress is None or task.progress >= self.progress)

    def out_of_reach(self, task: Task) -> str | None:
        """Why the task can never get there from where it is, or None."""
        if self.statuses and not any(can_become(task.status, s) for s in self.statuses):
            wanted = " or ".join(sorted(self.statuses))
            return f"status: task {task.task_id} is {task.status}: it can never become {wanted}"
        if self.progress is not None and task.finished and task.progress < self.progress:
            return (
                f"progress: task {task.task_id} ended {task.status} at {task.progress}%:"
                f" it can never reach {self.progress}%"
            )
        return None


@dataclass(frozen=True, slots=True)
class WaitResult:
    outcome: WaitOutcome
    #: What the caller's `snapshot` made of the task when the outcome came.
    view: Any = None
    reason: str | None = None


Snapshot = Callable[[Task], Any]


@dataclass(slots=True)
class _Waiter:
    goal: TaskGoal
    snapshot: Snapshot
    future: asyncio.Future[WaitResult] = field(repr=False)


class TaskWaiters:
    """The waiters of each task; the engine calls `changed` whenever it saves one."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[_Waiter]] = {}

    def changed(self, task: Task) -> None:
        waiters = self._waiting.get(task.task_id)
        if not waiters:
            return
        views: dict[Snapshot, Any] = {}  # one view of this state for every waiter it answers
        still: list[_Waiter] = []
        for waiter in waiters:
            if waiter.future.done():  # timed out or hung up meanwhile
                continue
            result = _judge(task, waiter.goal, waiter.snapshot, views)
            if result is None:
                still.append(waiter)
            else:
                waiter.future.set_result(result)
        if still:
            self._waiting[task.task_id] = still
        else:
            del self._waiting[task.task_id]

    def gone(self, task_ids: Iterable[str] | None = None) -> None:
        """The tasks (None: all) were removed by a reset: their waiters are told so."""
        ids = list(self._waiting) if task_ids is None else [t for t in task_ids]
        for task_id in ids:
            for waiter in self._waiting.pop(task_id, ()):
                if not waiter.future.done():
                    waiter.future.set_result(WaitResult(WaitOutcome.GONE))

    async def wait(
        self, task: Task, goal: TaskGoal, timeout: float, snapshot: Snapshot
    ) -> WaitResult:
        """The outcome as soon as there is one, else TIMED_OUT after `timeout` seconds
        (real seconds: a virtual clock stands still while a test waits)."""
        at_once = _judge(task, goal, snapshot, {})
        if at_once is not None:
            return at_once
        waiter = _Waiter(goal, snapshot, asyncio.get_running_loop().create_future())
        self._waiting.setdefault(task.task_id, []).append(waiter)
        try:
            return await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            return WaitResult(WaitOutcome.TIMED_OUT, snapshot(task))
        finally:
            waiters = self._waiting.get(task.task_id)
            if waiters is not None:
                with contextlib.suppress(ValueError):  # resolved: already dropped
                    waiters.remove(waiter)
                if not waiters:
                    del self._waiting[task.task_id]

    def count(self) -> int:
        return sum(len(waiters) for waiters in self._waiting.values())


def _judge(
    task: Task, goal: TaskGoal, snapshot: Snapshot, views: dict[Snapshot, Any]
) -> WaitResult | None:
    if goal.reached(task):
        outcome, reason = WaitOutcome.REACHED, None
    elif (reason := goal.out_of_reach(task)) is not None:
        outcome = WaitOutcome.OUT_OF_REACH
    else:
        return None
    if snapshot not in views:
        views[snapshot] = snapshot(task)
    return WaitResult(outcome, views[snapshot], reason)
