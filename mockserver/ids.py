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

    def task_id(
        self, id_format: TaskIdFormat, taken: Callable[[str], bool] = lambda _: False
    ) -> str:
        while True:
            value = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            candidate = f"task_{value}" if id_format is TaskIdFormat.TASK_PREFIXED else value
            if not taken(candidate):
                return candidate
