"""What the server counts while it answers, cheaply: plain integers and lists
bumped on the hot path, turned into Prometheus metric families only when
scraped (`endpoints`). A status poll pays one dict update and one bisect.

Counters live as long as the process, as Prometheus expects: a reset of the
mock's data does not reset them (a scrape after a reset is not a restart).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

#: Latency buckets in seconds: a poll answers in well under a millisecond, a
#: 10,000-profile POST in tens of milliseconds, a delay fault in seconds.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
#: The label of a request no vendor method answered (an unknown path).
UNKNOWN_METHOD = "unknown"
#: The `error` label of an answer that carries no envelope (dropped, malformed, cut).
NO_ENVELOPE = "none"


@dataclass(slots=True)
class LatencyHistogram:
    #: Per bucket, the requests that took at most its bound and more than the
    #: previous one; the last slot counts those past every bound (+Inf).
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total_seconds: float = 0.0

    def cumulative(self) -> list[tuple[str, int]]:
        """(`le`, requests at most that long) in Prometheus' order, +Inf last."""
        running, rows = 0, []
        for bound, count in zip((*map(str, LATENCY_BUCKETS), "+Inf"), self.counts, strict=True):
            running += count
            rows.append((bound, running))
        return rows


class RequestCounters:
    """Vendor requests by method, Altcraft error code and HTTP status, with their latency."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.latency: dict[str, LatencyHistogram] = {}

    def observe(self, method: str | None, error: int | None, status: int, seconds: float) -> None:
        method = method or UNKNOWN_METHOD
        self.requests[method, NO_ENVELOPE if error is None else str(error), status] += 1
        histogram = self.latency.get(method)
        if histogram is None:
            histogram = self.latency[method] = LatencyHistogram()
        histogram.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        histogram.total_seconds += seconds
