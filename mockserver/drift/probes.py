"""The documented probe set: the requests `altcraft-mock drift` sends, the same
bytes to the real service and to the mock.

Read-only probes come first and change nothing in the account: lists, lookups of
things that do not exist, requests the service must refuse. The write probes run
only with `--allow-writes`: one throw-away profile whose email says where it
came from (`altcraft-mock-drift+<random>@example.invalid`: `.invalid` can never
receive mail), its task polled to the end, read back and deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Need(StrEnum):
    """What a probe needs before it can be sent."""

    DATABASE = "a database id (--db-id, or one databases/list answers)"
    WORKFLOW = "a workflow id (--workflow-id, or one workflows/list answers)"
    WRITES = "--allow-writes"


@dataclass(frozen=True, slots=True)
class ProbeContext:
    """The values every probe is built from, the same for both targets."""

    token: str
    marker: str  # random hex, in every value the probes make up
    db_id: int | None
    workflow_id: int | None
    workflow_db_id: int | None  # the database the workflow imports into
    over_limit_bytes: int

    @property
    def absent_email(self) -> str:
        return f"altcraft-mock-drift-absent+{self.marker}@example.invalid"

    @property
    def throwaway_email(self) -> str:
        return f"altcraft-mock-drift+{self.marker}@example.invalid"

    @property
    def wrong_token(self) -> str:
        return f"altcraft-mock-drift-wrong-token-{self.marker}"

    @property
    def unknown_task_id(self) -> str:
        """A uuid4 nobody issued (the marker fills its random part)."""
        digits = (self.marker * 6)[:32]
        return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-8{digits[17:20]}-{digits[20:32]}"

    @property
    def import_db_id(self) -> int | None:
        return self.workflow_db_id if self.workflow_db_id is not None else self.db_id


@dataclass(frozen=True, slots=True)
class Probe:
    """One request of the set. `payload` builds the body from the context and the
    task id an earlier probe got from this target (None when it got none)."""

    name: str
    method: str  # the path after /api/v1.1/
    sends: str  # what it sends, as --help and the report say it
    payload: Callable[[ProbeContext, str | None], bytes]
    needs: frozenset[Need] = frozenset()
    starts_task: bool = False  # its answer's `task_id` is polled by `polls_task`
    polls_task: bool = False  # sent again until the task ends (or --task-timeout)


def _json(**members: Any) -> bytes:
    return json.dumps(members, ensure_ascii=False).encode()


def _over_limit(context: ProbeContext, _task: str | None) -> bytes:
    head = _json(token=context.token, padding="")[:-2]  # ends with `"padding": "`
    padding = max(0, context.over_limit_bytes - len(head) - 2)
    return head + b"x" * padding + b'"}'


def _malformed(context: ProbeContext, _task: str | None) -> bytes:
    return _json(token=context.token, limit=10)[:-4]  # cut off inside the object


PROBES: tuple[Probe, ...] = (
    Probe(
        "databases-list",
        "databases/list",
        "the account's databases",
        lambda c, _: _json(token=c.token),
    ),
    Probe(
        "workflows-list",
        "workflows/list",
        "the account's workflows",
        lambda c, _: _json(token=c.token),
    ),
    Probe(
        "profile-absent",
        "profiles/get",
        "a lookup of an email no profile has (altcraft-mock-drift-absent+<random>@example.invalid)",
        lambda c, _: _json(token=c.token, db_id=c.db_id, email=c.absent_email),
        needs=frozenset({Need.DATABASE}),
    ),
    Probe(
        "task-unknown",
        "tasks/status",
        "the status of a task id nobody issued (a random uuid4)",
        lambda c, _: _json(token=c.token, task_id=c.unknown_task_id),
    ),
    Probe(
        "malformed-body",
        "databases/list",
        "a body cut off in the middle of its JSON",
        _malformed,
    ),
    Probe(
        "body-over-limit",
        "databases/list",
        "a JSON body 1 KiB over the body limit (the larger of 10 MiB and the mock's)",
        _over_limit,
    ),
    Probe(
        "wrong-token",
        "databases/list",
        "a token no account has",
        lambda c, _: _json(token=c.wrong_token),
    ),
    Probe(
        "no-token",
        "databases/list",
        "no token at all",
        lambda c, _: _json(),
    ),
    Probe(
        "unknown-method",
        "altcraft-mock-drift/no-such-method",
        "a method path that does not exist",
        lambda c, _: _json(token=c.token),
    ),
    Probe(
        "import-profile",
        "workflows/import_and_start_batch_task",
        "one throw-away profile (altcraft-mock-drift+<random>@example.invalid) into the workflow",
        lambda c, _: _json(
            token=c.token,
            workflow_id=c.workflow_id,
            matching="email",
            data=[{"data": {"email": c.throwaway_email}}],
        ),
        needs=frozenset({Need.WRITES, Need.WORKFLOW}),
        starts_task=True,
    ),
    Probe(
        "task-status",
        "tasks/status",
        "that import's task, polled until it ends (at most --task-timeout seconds)",
        lambda c, task: _json(token=c.token, task_id=task),
        needs=frozenset({Need.WRITES, Need.WORKFLOW}),
        polls_task=True,
    ),
    Probe(
        "profile-get",
        "profiles/get",
        "the throw-away profile, read back from the workflow's database",
        lambda c, _: _json(token=c.token, db_id=c.import_db_id, email=c.throwaway_email),
        needs=frozenset({Need.WRITES, Need.WORKFLOW}),
    ),
    Probe(
        "profile-delete",
        "profiles/delete",
        "the throw-away profile, deleted (the clean-up)",
        lambda c, _: _json(token=c.token, db_id=c.import_db_id, email=c.throwaway_email),
        needs=frozenset({Need.WRITES, Need.WORKFLOW}),
    ),
)


def missing_needs(probe: Probe, context: ProbeContext, allow_writes: bool) -> list[Need]:
    """What keeps `probe` from being sent (empty: it can be)."""
    have = {
        Need.DATABASE: context.db_id is not None,
        Need.WORKFLOW: context.workflow_id is not None,
        Need.WRITES: allow_writes,
    }
    return [need for need in Need if need in probe.needs and not have[need]]


def probe_table() -> str:
    """The probe set as --help and the README list it."""
    width = max(len(probe.name) for probe in PROBES)
    lines = []
    for probe in PROBES:
        writes = " [--allow-writes]" if Need.WRITES in probe.needs else ""
        lines.append(f"  {probe.name:<{width}}  {probe.method}: {probe.sends}{writes}")
    return "\n".join(lines)
