"""Garbage-collector settings for a server that keeps its whole store in memory.

CPython's cyclic collector walks every container it tracks. A store of 200,000
profiles is about a million dicts and lists, so each full collection costs more
as the store grows, and a batch that happens to trigger one pays for the whole
store (measured: the time per 10,000-profile batch grew 1.4x from 0 to 200,000
profiles). Stored documents never form reference cycles, so once a unit of
work is committed its documents are moved out of the collector's sight
(`gc.freeze`), and young collections run less often. Only `serve` does this:
a test process that embeds the app keeps the interpreter's defaults.
"""

from __future__ import annotations

import gc

#: Allocations between two young collections (CPython's default is 700): an
#: import allocates a few objects per item, so the default collects every
#: hundred items or so.
YOUNG_THRESHOLD = 20_000


def tune_for_server() -> None:
    """Collect less often; `settle` is called after each commit."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    gc.collect()
    gc.freeze()  # what start-up loaded (modules, fixtures, the store) stays


def settle() -> None:
    """After a commit: collect the youngest garbage, then freeze what survives.

    The youngest generation first, so the garbage of the requests in flight is
    not frozen with the documents; a reference cycle that survived a young
    collection is held until a reset (`release`). Collecting the middle
    generation too cost ~27 ms per 10,000-profile import (profiled), ~8% of it.
    Freezing costs the same whatever the heap's size."""
    gc.collect(0)
    gc.freeze()


def release() -> None:
    """After a reset: let the collector see everything again (what the reset
    dropped is reclaimed by the next full collection)."""
    gc.unfreeze()
