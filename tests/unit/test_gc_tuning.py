"""serve's garbage-collector policy (mockserver/gc_tuning.py), in a child process:
it freezes the interpreter's heap, which a test process must not do to itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from mockserver.gc_tuning import FULL_PASS_GROWTH

CHILD = textwrap.dedent(
    """
    import gc
    from mockserver import gc_tuning as heap

    heap.FULL_PASS_MIN_OBJECTS = 100_000  # the rule, at a test's scale
    heap.tune_for_server()
    kept = []  # stored documents: live, no cycles
    for commit in range(400):
        kept.extend({"id": n, "data": {"email": "a@x.io"}} for n in range(1_000))
        open_connections = []  # alive at the commit, closed after it
        for _ in range(500):
            transport = {}
            transport["self"] = transport  # a cycle, as an asyncio transport is
            open_connections.append(transport)
        heap.settle()
        del open_connections  # the cycles are garbage now, and frozen
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    garbage = gc.collect()
    print(frozen, garbage, len(kept))
    """
)


def test_frozen_garbage_stays_a_fraction_of_the_heap():
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    frozen, garbage, kept = map(int, out)
    assert kept == 400_000
    # 400 commits left 200,000 cycles behind; full passes reclaimed those frozen
    # before the last one (without them every one would still be frozen).
    assert garbage < 200_000 / 2
    assert garbage <= (frozen - garbage) * FULL_PASS_GROWTH


SETTLE_COST = textwrap.dedent(
    """
    import gc
    from mockserver import gc_tuning as heap

    heap.tune_for_server()
    store = [{"id": n, "data": [n]} for n in range(300_000)]  # a big frozen heap
    heap.settle()
    walks = []
    heap.gc.get_freeze_count = lambda: walks.append(1) or 0  # walks the whole frozen list
    for commit in range(50):  # a `rate` task's ticks: small commits
        store.extend({"id": n, "data": [n]} for n in range(100))
        heap.settle()
    print(len(walks))
    """
)


def test_a_small_commit_does_not_walk_the_frozen_heap():
    """`gc.get_freeze_count()` walks every frozen object (~70 ms at 2,000,000): a
    commit that added a hundred documents must not pay for the whole store."""
    out = subprocess.run(
        [sys.executable, "-c", SETTLE_COST], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == ["0"]


IN_FLIGHT = textwrap.dedent(
    """
    from mockserver import gc_tuning as heap

    heap.FULL_PASS_MIN_OBJECTS = 100_000  # the rule, at a test's scale
    heap.tune_for_server()
    store = [{"id": n, "data": [n]} for n in range(100_000)]
    heap.settle()
    passes = []
    full_pass = heap._full_pass
    heap._full_pass = lambda: passes.append(1) or full_pass()
    for commit in range(100):
        body = [{"item": [n]} for n in range(10_000)]  # another request's, in flight
        store.append({"id": commit})
        heap.settle()
        del body  # answered: freed, frozen or not
    print(len(passes))
    """
)


def test_request_bodies_in_flight_at_commits_do_not_bring_full_passes():
    """What is frozen and then freed (a body another request was still reading at a
    commit) is not the heap growing: 2,000,000 such objects, no full pass."""
    out = subprocess.run(
        [sys.executable, "-c", IN_FLIGHT], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == ["0"]


STEADY = textwrap.dedent(
    """
    from mockserver import gc_tuning as heap

    heap.tune_for_server()  # the real rule: a pass after 500,000 new objects
    store = [[n] for n in range(heap.FULL_PASS_MIN_OBJECTS - 2_000)]  # just under it
    heap.settle()
    walks = []
    count = heap.gc.get_freeze_count
    heap.gc.get_freeze_count = lambda: walks.append(1) or count()
    for commit in range(200):  # each commit replaces 3,000 documents, adds none
        for i in range(3_000):
            store[i] = [i]
        heap.settle()
    print(len(walks))
    """
)


def test_a_store_that_stopped_growing_is_not_counted_at_every_commit():
    """Just under the full-pass threshold, with documents replaced but none added,
    the estimate crosses the threshold at every commit; the exact count (a walk
    of the frozen heap) is taken again only after a share of the heap."""
    out = subprocess.run(
        [sys.executable, "-c", STEADY], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert int(out[0]) < 40, out


IDLE_PASS = textwrap.dedent(
    """
    import asyncio
    from mockserver import gc_tuning as heap

    heap.FULL_PASS_MIN_OBJECTS = 50_000
    heap.IDLE_SECONDS = 0.05

    async def main():
        heap.tune_for_server()
        kept = []
        passes = []
        real_pass = heap._full_pass
        heap._full_pass = lambda: passes.append(1) or real_pass()
        for commit in range(40):  # a burst of commits: the pass falls due, and waits
            kept.extend({"id": n, "data": [n]} for n in range(5_000))
            heap.settle()
        during = len(passes)
        waiting = heap._Passes.due_since is not None
        await asyncio.sleep(0.2)  # no commit for longer than IDLE_SECONDS
        print(during, waiting, len(passes), heap._Passes.due_since is None)

    asyncio.run(main())
    """
)


def test_a_due_full_pass_waits_for_a_moment_without_commits():
    """Under an event loop a full pass does not pause the burst that made it due:
    it runs once no commit has come for IDLE_SECONDS."""
    out = subprocess.run(
        [sys.executable, "-c", IDLE_PASS], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == ["0", "True", "1", "True"]


BULK = textwrap.dedent(
    """
    import gc
    from mockserver import gc_tuning as heap

    heap.tune_for_server()
    garbage = {}
    garbage["self"] = garbage  # another request's cycle, young and dead
    del garbage
    collections = []
    gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info))
    with heap.bulk_work():
        during = gc.isenabled()
        kept = [{"id": n, "data": [n]} for n in range(50_000)]  # far over the threshold
    frozen_at_once = gc.get_freeze_count()
    print(during, gc.isenabled(), len(collections), frozen_at_once >= 100_000,
          len(gc.get_objects(0)) < 1_000, gc.collect() == 0)
    """
)


def test_bulk_work_collects_first_then_freezes_what_it_made():
    """The young garbage of others is collected before the work (one collection,
    the cycle among it), none runs during it however much it allocates, and what
    it made is frozen once it is done."""
    out = subprocess.run(
        [sys.executable, "-c", BULK], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == ["False", "True", "1", "True", "True", "True"]


WAITING_PASS = textwrap.dedent(
    """
    import asyncio
    from mockserver import gc_tuning as heap

    heap.FULL_PASS_MIN_OBJECTS = 50_000

    async def main():
        heap.tune_for_server()
        kept = []
        for commit in range(20):  # the pass falls due, and waits for an idle moment
            kept.extend({"id": n, "data": [n]} for n in range(5_000))
            heap.settle()
        due = heap._Passes.due_since is not None
        walks = []
        count = heap.gc.get_freeze_count
        heap.gc.get_freeze_count = lambda: walks.append(1) or count()
        for commit in range(30):  # the burst goes on while the pass waits
            kept.extend({"id": n, "data": [n]} for n in range(5_000))
            heap.settle()
        print(due, len(walks), heap._Passes.due_since is not None)

    asyncio.run(main())
    """
)


def test_commits_while_a_due_pass_waits_do_not_walk_the_frozen_heap():
    """Once a full pass is due, a commit only puts it off: the exact count (a walk of
    the whole frozen heap, ~0.1 s at a million objects) is not taken again at every
    commit of the burst, which stalled every request at each import's commit."""
    out = subprocess.run(
        [sys.executable, "-c", WAITING_PASS],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert out == ["True", "0", "True"]
