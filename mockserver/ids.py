"""Identifiers: profile ids (24 lowercase hex, the vendor's shape) and task ids.

One RNG per server; with a seed, the same run gives the same ids. Callers pass
a `taken` check so a seeded run restarted on an existing store never reissues
an id that is already stored.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from enum import StrEnum


class TaskIdFormat(StrEnum):
    UUID = "uuid"
    TASK_PREFIXED = "task_prefixed"


class IdGenerator:
    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)

    @property
    def rng(self) -> random.Random:
        """The server's one RNG (fault probabilities draw from it too)."""
        return self._rng

    def profile_id(self, taken: Callable[[str], bool] = lambda _: False) -> str:
        while True:
            candidate = f"{self._rng.getrandbits(96):024x}"
            if not taken(candidate):
                return candidate

    def profile_ids(self, count: int, taken: Callable[[str], bool] = lambda _: False) -> list[str]:
        """What `count` calls of `profile_id` give, drawn in one call of the RNG per
        round: the same ids in the same order, and the RNG left in the same state.

        `getrandbits` fills its result 32 bits at a time from the least significant
        end, so one draw of 96 x n bits is n draws of 96 bits, the first one lowest:
        the last 24 hex digits. A candidate that is taken (or drawn twice) is passed
        over as `profile_id` passes over it, and only the ids still missing are drawn
        again, so no candidate is drawn that the calls one by one would not draw."""
        ids: list[str] = []
        drawn: set[str] = set()
        while len(ids) < count:
            missing = count - len(ids)
            text = f"{self._rng.getrandbits(96 * missing):0{24 * missing}x}"
            for end in range(24 * missing, 0, -24):
                candidate = text[end - 24 : end]
                if candidate not in drawn and not taken(candidate):
                    drawn.add(candidate)
                    ids.append(candidate)
        return ids

    def task_id(
        self, id_format: TaskIdFormat, taken: Callable[[str], bool] = lambda _: False
    ) -> str:
        while True:
            value = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            candidate = f"task_{value}" if id_format is TaskIdFormat.TASK_PREFIXED else value
            if not taken(candidate):
                return candidate
