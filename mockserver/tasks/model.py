"""A batch task and its answer shape (SPEC §4).

The status answer is the reference page's: `{"status", "progress",
"result"}` where `result` is null until the task ends, then
`{"error", "error_text", "result": [one entry per item, in request order]}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mockserver.domain.imports import CompactResult, expand_result
from mockserver.domain.items import ImportOptions
from mockserver.tasks.progression import Progression


class TaskStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED)


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
    #: One entry per processed item, compact (`domain.imports.compact_result`);
    #: `result_entries` gives the answer's form.
    results: list[CompactResult] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    finished_at: str | None = None
    request_id: int | None = None
    #: Fault plans carried by the task (fail_task / fail_items), kept across restarts.
    fault_plans: list[dict[str, Any]] = field(default_factory=list)
    #: How many of `results` the store holds already (results are saved by the
    #: step that adds them, apart from the task's document: `Store.add_task_results`).
    results_saved: int = 0
    trigger_id: int | None = None

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
            failure = self.failure or {"error": 500, "error_text": "Internal server error"}
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
            "fault_plans": self.fault_plans,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Task:
        """The task of a document; `items` and `results` are read only from a
        document stored before they were kept apart (the engine adds them)."""
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
            items=doc.get("items"),
            total=doc["total"],
            processed=doc["processed"],
            steps_taken=doc.get("steps_taken", 0),
            status=TaskStatus(doc["status"]),
            results=list(doc.get("results") or []),
            failure=doc.get("failure"),
            finished_at=doc.get("finished_at"),
            request_id=doc.get("request_id"),
            fault_plans=list(doc.get("fault_plans") or []),
        )
