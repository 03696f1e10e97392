"""A batch task and its answer shape (SPEC §4).

The status answer is the reference page's: `{"status", "progress",
"result"}` where `result` is null until the task ends, then
`{"error", "error_text", "result": [one entry per item, in request order]}`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mockserver.domain.importing import CompactResult, expand_result
from mockserver.domain.items import ImportOptions
from mockserver.errors import INTERNAL_ERROR_TEXT
from mockserver.importer.item_failures import ItemFailurePlan
from mockserver.tasks.progression import Progression


class TaskStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED)


def internal_failure() -> dict[str, Any]:
    """A failed task's answer when nothing more is known (an error of the mock's own
    while importing, or a failure stored without its reason): the vendor's 500."""
    return {"error": 500, "error_text": INTERNAL_ERROR_TEXT}


@dataclass(frozen=True, slots=True)
class TaskFailurePlan:
    """The task fails once it has processed `at_progress` percent of its items, with
    `error` / `error_text` as its result (a `fail_task` fault rule, named by `rule`)."""

    rule: str
    at_progress: int
    error: int
    error_text: str

    def fail_at(self, total: int) -> int:
        """The item count at which the task fails."""
        return math.ceil(total * self.at_progress / 100)

    def to_doc(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "at_progress": self.at_progress,
            "error": self.error,
            "error_text": self.error_text,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> TaskFailurePlan:
        return cls(doc["rule"], doc["at_progress"], doc["error"], doc["error_text"])


@dataclass(frozen=True, slots=True)
class FaultPlans:
    """What the fault rules that fired for a request leave to the work it starts."""

    task_failure: TaskFailurePlan | None = None
    item_failures: tuple[ItemFailurePlan, ...] = ()


NO_FAULT_PLANS = FaultPlans()


@dataclass(slots=True)
class Task:
    task_id: str
    account: str
    workflow_id: int | None  # None for a trigger campaign's task
    db_id: int
    source: str  # the vendor method that created it
    created: str
    progression: Progression
    options: ImportOptions
    items: list[Any] | None
    total: int
    processed: int = 0
    steps_taken: int = 0
    status: TaskStatus = TaskStatus.QUEUED
    #: One entry per processed item, compact (`domain.importing.compact_result`);
    #: `result_entries` gives the answer's form.
    results: list[CompactResult] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    finished_at: str | None = None
    request_id: int | None = None
    #: What fault rules planned for the task when it was created (kept across restarts).
    faults: FaultPlans = NO_FAULT_PLANS
    #: How many of `results` the store holds already (results are saved by the
    #: step that adds them, apart from the task's document: `Store.add_task_results`).
    results_saved: int = 0
    trigger_id: int | None = None
    #: Once the task has ended, its status answer as written the first time: a
    #: poller asking again gets the same bytes, not 10,000 results expanded anew.
    finished_answer: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def progress(self) -> int:
        """SPEC §4: an int 0-100, the share of items processed."""
        if self.status is TaskStatus.COMPLETED:
            return 100
        if self.total == 0:
            return 0
        share = self.processed * 100 // self.total
        # An unfinished task never shows 100: clients read 100 as done.
        return share if self.status is TaskStatus.FAILED else min(99, share)

    @property
    def finished(self) -> bool:
        return self.status.finished

    def result_entries(self) -> list[dict[str, Any]]:
        """SPEC §4: `{"profile_id"}` or `{"error", "error_text"}` per item, in order."""
        return [expand_result(entry) for entry in self.results]

    def result_payload(self) -> dict[str, Any] | None:
        if self.status is TaskStatus.COMPLETED:
            return {"error": 0, "error_text": "", "result": self.result_entries()}
        if self.status is TaskStatus.FAILED:
            failure = self.failure or internal_failure()
            return {"error": failure["error"], "error_text": failure["error_text"], "result": []}
        return None

    def to_doc(self) -> dict[str, Any]:
        """The task's own document: everything but its items and results, which
        the store keeps apart (saved once, not at every step)."""
        return {
            "task_id": self.task_id,
            "account": self.account,
            "workflow_id": self.workflow_id,
            "trigger_id": self.trigger_id,
            "db_id": self.db_id,
            "source": self.source,
            "created": self.created,
            "progression": self.progression.to_doc(),
            "options": self.options.to_doc(),
            "total": self.total,
            "processed": self.processed,
            "steps_taken": self.steps_taken,
            "status": self.status.value,
            "failure": self.failure,
            "finished_at": self.finished_at,
            "request_id": self.request_id,
            "task_failure": (
                None if self.faults.task_failure is None else self.faults.task_failure.to_doc()
            ),
            "item_failures": [plan.to_doc() for plan in self.faults.item_failures],
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Task:
        """The task of its document, without its items and results (the store keeps
        them apart; the engine adds them when it needs them)."""
        return cls(
            task_id=doc["task_id"],
            account=doc["account"],
            workflow_id=doc["workflow_id"],
            trigger_id=doc.get("trigger_id"),
            db_id=doc["db_id"],
            source=doc["source"],
            created=doc["created"],
            progression=Progression.from_doc(doc["progression"]),
            options=ImportOptions.from_doc(doc["options"]),
            items=None,
            total=doc["total"],
            processed=doc["processed"],
            steps_taken=doc.get("steps_taken", 0),
            status=TaskStatus(doc["status"]),
            failure=doc.get("failure"),
            finished_at=doc.get("finished_at"),
            request_id=doc.get("request_id"),
            faults=FaultPlans(
                task_failure=(
                    None
                    if doc.get("task_failure") is None
                    else TaskFailurePlan.from_doc(doc["task_failure"])
                ),
                item_failures=tuple(
                    ItemFailurePlan.from_doc(plan) for plan in doc.get("item_failures") or ()
                ),
            ),
        )
