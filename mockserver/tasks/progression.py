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
from dataclasses import dataclass
from typing import Any

from mockserver.config import ProgressionMode, Settings
from mockserver.domain.catalog import ProgressionOverride


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
        """`rate` mode: how many items are processed after this much time."""
        return min(total, math.floor(max(0.0, elapsed_seconds) * self.rate))

    def to_doc(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "steps": self.steps, "rate": self.rate}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Progression:
        return cls(ProgressionMode(doc["mode"]), int(doc["steps"]), float(doc["rate"]))


def default_progression(settings: Settings) -> Progression:
    return Progression(settings.progression, settings.steps, settings.rate)


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
