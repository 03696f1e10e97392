"""How a task moves forward (SPEC §5), deterministic so polling loops are testable.

- `polls`: each `tasks/status` call is one step; step k of n processes the
  items up to ceil(total*k/n). With the default n=2 the first poll shows
  `processing` at 50 and the second `completed` at 100.
- `instant`: done before the create call answers.
- `rate`: processed in the background at `rate` items per second.
- `manual`: stays queued until the control API advances or completes it.

A task's progression is fixed when it is created: a per-task override, else
its workflow's (fixture), else the server default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mockserver.domain.catalog import ProgressionOverride, Workflow


class ProgressionMode(StrEnum):
    POLLS = "polls"
    INSTANT = "instant"
    RATE = "rate"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Progression:
    mode: ProgressionMode
    steps: int = 2
    rate: float = 5000.0

    def target_after_step(self, total: int, step: int) -> int:
        """How many items are processed once `step` steps are taken."""
        step = min(step, self.steps)
        return min(total, math.ceil(total * step / self.steps))

    def target_at(self, total: int, elapsed_seconds: float) -> int:
        """`rate` mode: how many items are processed after this much time. Counted to
        a millionth of an item first, so the float error of a difference of clock
        readings never costs an item (0.3 s - 0.1 s at 5,000/s is 1,000, not 999)."""
        return min(total, math.floor(round(max(0.0, elapsed_seconds) * self.rate, 6)))

    def to_doc(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "steps": self.steps, "rate": self.rate}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Progression:
        return cls(ProgressionMode(doc["mode"]), int(doc["steps"]), float(doc["rate"]))


def resolve(base: Progression, *overrides: ProgressionOverride | None) -> Progression:
    """The most specific override wins; unset parameters come from `base`."""
    for override in overrides:
        if override is not None:
            return Progression(
                ProgressionMode(override.mode),
                override.steps or base.steps,
                override.rate or base.rate,
            )
    return base


class Progressions:
    """Which progression a new task gets: a run-time per-workflow override
    (`PUT /_mock/progression`) > the workflow's fixture entry > the run-time
    default > the server's flags (`base`)."""

    def __init__(self, base: Progression) -> None:
        self._base = base
        self._default: ProgressionOverride | None = None
        self._workflows: dict[int, ProgressionOverride] = {}

    def for_workflow(self, workflow: Workflow) -> Progression:
        return resolve(self.default(), self._workflows.get(workflow.id), workflow.progression)

    def for_trigger(self) -> Progression:
        """A trigger campaign's task: the run-time default, else the server's flags."""
        return self.default()

    def default(self) -> Progression:
        return resolve(self._base, self._default)

    def with_override(self, override: ProgressionOverride) -> Progression:
        """The override over the default, as one task's progression."""
        return resolve(self.default(), override)

    def set(
        self,
        default: ProgressionOverride | None,
        workflows: Mapping[int, ProgressionOverride],
    ) -> None:
        self._default = default
        self._workflows = dict(workflows)

    def reset(self) -> None:
        self.set(None, {})

    def view(self) -> dict[str, object]:
        """`GET /_mock/progression`: the effective default and per-workflow entries."""
        return {
            "default": self.default().to_doc(),
            "workflows": {
                str(wid): resolve(self.default(), override).to_doc()
                for wid, override in sorted(self._workflows.items())
            },
        }
