"""Imports take turns: one slice per event-loop turn, other requests in between."""

from __future__ import annotations

import asyncio
import itertools

from mockserver.importer.turns import SliceTurns


async def test_slices_of_concurrent_imports_never_share_a_loop_turn():
    turns, events = SliceTurns(), []

    async def importer(name: str) -> None:
        for _ in range(3):
            async with turns:
                events.append(name)  # a slice: synchronous work

    async def other_request() -> None:
        while len([e for e in events if e != "other"]) < 9:
            events.append("other")
            await asyncio.sleep(0)

    await asyncio.gather(importer("a"), importer("b"), importer("c"), other_request())

    slices = [i for i, event in enumerate(events) if event != "other"]
    assert len(slices) == 9
    # Between any two slices, the other request got a turn.
    assert all(later - earlier > 1 for earlier, later in itertools.pairwise(slices))
    assert sorted(events[i] for i in slices) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3


async def test_a_turn_is_given_back_when_its_holder_is_cancelled():
    turns, ran = SliceTurns(), []

    async def a_slice(name: str) -> None:
        async with turns:
            ran.append(name)

    holder = asyncio.ensure_future(a_slice("holder"))
    waiter = asyncio.ensure_future(a_slice("waiter"))  # queued behind the holder
    await asyncio.sleep(0)  # the holder inside the turn's closing yield, the waiter waiting
    assert ran == ["holder"]
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)
    assert holder.cancelled()

    # Not stuck: the queued slice, then a new one, get the turn (a hang fails here).
    await asyncio.wait_for(waiter, timeout=5)
    await asyncio.wait_for(a_slice("after"), timeout=5)
    assert ran == ["holder", "waiter", "after"]
