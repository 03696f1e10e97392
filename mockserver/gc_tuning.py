"""Garbage-collector settings for a server that keeps its whole store in memory.

CPython's cyclic collector walks every container it tracks. A store of 200,000
profiles is about a million dicts and lists, so each full collection costs more
as the store grows, and a batch that happens to trigger one pays for the whole
store. Stored documents never form reference cycles, so once a unit of
work is committed its documents are moved out of the collector's sight
(`gc.freeze`), and young collections run less often. Only `serve` does this:
a test process that embeds the app keeps the interpreter's defaults.

Freezing also catches whatever else is alive at that moment, such as an open
connection's transport, which sits in a reference cycle: once the client closes
it, the cycle is garbage the collector no longer sees. So when what is frozen
has doubled since the last full pass, everything is unfrozen, collected and
frozen again: the cost stays proportional to the growth, and frozen garbage
never outgrows what was live at the last pass (bench/README.md has the figures
behind these choices). A pass that may fall due while requests keep committing
(and the exact count that decides it, a walk of the whole frozen heap) waits for
a moment without commits (at most MAX_DEFERRAL_SECONDS), so a status poll
answered during a burst of imports waits for neither.

A unit of import work (`bulk_work`) allocates what the store keeps: tens of
thousands of documents, lists and index sets per 10,000 items, none of them
garbage. Young collections during it would walk each of them once for
nothing (~10-40 ms per 10,000-profile import, measured), so the collector
takes the young garbage of other requests first, then rests while the work
runs, and what the work made is frozen as soon as it is done.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between two young collections (CPython's default is 700): an
#: import allocates a few objects per item, so the default collects every
#: hundred items or so.
YOUNG_THRESHOLD = 20_000
#: A full pass once the frozen objects have grown by this share since the last
#: (doubled): passes at geometric intervals cost O(1) per object overall, and a
#: store growing to 200,000 profiles sees three of them (at a quarter, a
#: third... not in its last batches); CPython's own 0.25 passes far more often.
FULL_PASS_GROWTH = 1.0
#: ... and by at least this many objects, so a small store is not paused for
#: a full pass every few imports (a pass on a small heap still costs ~0.1 s,
#: which a status poll would wait for); frozen garbage up to this many objects
#: (~100 MB of closed connections at worst) waits for it.
FULL_PASS_MIN_OBJECTS = 500_000
#: An exact count that finds no pass due is not taken again before the
#: estimate has grown by this share (1/16) of the heap.
RECOUNT_SHARE = 16
#: A reset that dropped at least this many documents reclaims them at once.
RELEASE_MIN_DOCUMENTS = 10_000
#: A full pass that falls due while the server works waits until no commit has
#: come for this long: it pauses every request for the time it walks the heap
#: (~0.1 s per 100,000 profiles), so it runs between bursts, not in one.
IDLE_SECONDS = 0.5
#: ... but no longer than this while commits keep coming.
MAX_DEFERRAL_SECONDS = 30.0


class _Passes:
    #: Objects frozen so far, counted as they are frozen: `gc.get_freeze_count()`
    #: walks the whole frozen list, which a commit must not pay. Frozen objects
    #: that die (a request body that was in flight at a commit) are not
    #: subtracted, so this runs ahead of the heap; once it says a pass may be
    #: due, the exact count decides.
    frozen = 0
    frozen_after_last = 0
    #: After an exact count that found no pass due, the next one waits until the
    #: estimate has grown by a share of the heap: a store that stopped growing
    #: just under the threshold would otherwise be walked at every commit.
    recount_at = 0
    #: When a pass that may be due (its exact count decides) began to wait for an
    #: idle moment (None: none is waiting).
    due_since: float | None = None
    idle_timer: asyncio.TimerHandle | None = None


def tune_for_server() -> None:
    """Collect less often; `settle` is called after each commit."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    # What start-up loaded (modules, fixtures, the store) stays: frozen as it is.
    # A full pass first would find a few dozen objects of garbage for ~20 ms (far
    # more over a big store), a tenth of the start-up; the next full pass finds them.
    gc.freeze()
    _Passes.frozen = _Passes.frozen_after_last = gc.get_freeze_count()
    _Passes.recount_at = 0


def settle() -> None:
    """After a commit: collect the youngest garbage, then freeze what survives.

    The youngest generation first, so most garbage of the requests in flight is
    not frozen with the documents. Collecting the middle generation too cost
    ~27 ms per 10,000-profile import (profiled), ~8% of it. Counting and
    freezing cost what the commit added, whatever the heap's size (a `rate`
    task commits every tick); the occasional full pass is `_full_pass`."""
    gc.collect(0)
    # Everything not frozen yet now sits in the two older generations: counting
    # them costs what this commit added, not what the store holds.
    _Passes.frozen += len(gc.get_objects(1)) + len(gc.get_objects(2))
    gc.freeze()
    if _Passes.due_since is not None:
        # A pass may be due already: a commit only moves the idle moment later.
        _pass_when_idle()
    elif _Passes.frozen >= _Passes.recount_at and _pass_due(_Passes.frozen):
        # The estimate says a pass may be due. The exact count walks the whole
        # frozen heap (~70 ms at two million objects), so it waits for the idle
        # moment too: taken at a commit, it stalled every request in flight, and
        # at each commit of the burst while a due pass waited (the mixed load's
        # 100-230 ms stalls).
        _pass_when_idle()


@contextmanager
def bulk_work() -> Iterator[None]:
    """Around a unit of import work (a slice, written to the store): the young
    garbage of other requests is collected first, no collection runs during the
    work, and everything then alive is frozen at once (the work's documents, and
    what `settle` would freeze at the next commit anyway). A reference cycle the
    work left behind is frozen with them, and reclaimed by the next full pass,
    as `settle` does with the cycles of requests in flight."""
    gc.collect(0)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        _Passes.frozen += sum(len(gc.get_objects(generation)) for generation in range(3))
        gc.freeze()
        if enabled:
            gc.enable()


def _pass_when_idle() -> None:
    """Count the frozen heap exactly, and run the full pass if it is due, once no
    commit has come for IDLE_SECONDS (at once outside an event loop, or when it has
    waited MAX_DEFERRAL_SECONDS)."""
    now = time.monotonic()
    if _Passes.due_since is None:
        _Passes.due_since = now
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None or now - _Passes.due_since >= MAX_DEFERRAL_SECONDS:
        _count_then_pass()
        return
    if _Passes.idle_timer is not None:
        _Passes.idle_timer.cancel()
    _Passes.idle_timer = loop.call_later(IDLE_SECONDS, _count_then_pass)


def _count_then_pass() -> None:
    _Passes.frozen = gc.get_freeze_count()
    if _pass_due(_Passes.frozen):
        _full_pass()
        return
    if _Passes.idle_timer is not None:
        _Passes.idle_timer.cancel()
    _Passes.due_since = _Passes.idle_timer = None
    # Not due (frozen objects that died since): the next exact count waits until
    # the estimate has grown by a share of the heap.
    _Passes.recount_at = _Passes.frozen + _Passes.frozen // RECOUNT_SHARE


def _pass_due(frozen: int) -> bool:
    grown = frozen - _Passes.frozen_after_last
    return grown > max(FULL_PASS_MIN_OBJECTS, _Passes.frozen_after_last * FULL_PASS_GROWTH)


def release(documents: int) -> None:
    """After a reset that dropped this many stored documents: a big store is reclaimed
    at once; a small one (a test's few profiles, reset before every test) is left to
    the growth rule, since a full pass costs tens of milliseconds whatever it finds."""
    if documents >= RELEASE_MIN_DOCUMENTS:
        _full_pass()


def _full_pass() -> None:
    if _Passes.idle_timer is not None:
        _Passes.idle_timer.cancel()
    _Passes.due_since = _Passes.idle_timer = None
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _Passes.frozen = _Passes.frozen_after_last = gc.get_freeze_count()
    _Passes.recount_at = 0
