"""Slices of import work take turns, so no import stalls every other client."""

from __future__ import annotations

import asyncio

#: Items imported between two chances for other requests to run (about 10 ms
#: of work; bench/README.md has the figures behind the choice).
SLICE_ITEMS = 500
#: Loop turns left to everyone else after each slice. A status poll needs a few
#: turns (its bytes arrive, its handler runs, its answer is written): with one
#: turn, a poll behind busy importers waited for a slice at each of its steps.
#: With three, 8 clients importing back to back leave polls a p99 of ~50 ms
#: instead of ~90 (bench/README.md); with nobody else waiting, a turn costs
#: microseconds beside a slice's ~10 ms.
TURNS_BETWEEN_SLICES = 3


class SliceTurns:
    """Slices of import work take turns: at most one runs per event-loop turn.

    A slice runs without awaiting. Were several imports left to yield on their
    own, asyncio would run one slice of each in every loop turn, and a status
    poll would wait for all of them at each step it takes. The turn is held
    through TURNS_BETWEEN_SLICES loop turns after the slice (a lock taken and
    released without awaiting in between would never make anyone wait), so the
    next slice, of this import or another, runs in a later loop turn, and any
    other request waits for one slice at a time. Leaving the block yields to
    the loop.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(self, *exc: object) -> None:
        try:
            for _ in range(TURNS_BETWEEN_SLICES):
                await asyncio.sleep(0)
        finally:
            self._lock.release()
