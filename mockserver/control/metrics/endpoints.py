"""`GET /_mock/metrics`: Prometheus' text format (or OpenMetrics when the scraper
asks for it), built when scraped from the counters and the state of each part.

`prometheus_client` writes the exposition: it is imported on the first scrape,
so a server nobody scrapes pays nothing for it at start-up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mockserver import package_version
from mockserver.control.routes import ControlRoute
from mockserver.keys import BACKEND

if TYPE_CHECKING:
    from mockserver.backend import Backend

PREFIX = "altcraft_mock_"


def _families(backend: Backend) -> Iterator[Any]:
    """Every metric family of the mock, as of now."""
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        InfoMetricFamily,
    )

    yield InfoMetricFamily(PREFIX + "build", "The mock's version", {"version": package_version()})
    uptime = GaugeMetricFamily(PREFIX + "uptime_seconds", "Seconds since the server started")
    uptime.add_metric([], backend.uptime())
    yield uptime

    counters = backend.request_counters
    requests = CounterMetricFamily(
        PREFIX + "requests",
        "Vendor API requests answered, by vendor method, Altcraft error code "
        "('none': no envelope was sent) and HTTP status",
        labels=["method", "error", "status"],
    )
    for (method, error, status), count in sorted(counters.requests.items()):
        requests.add_metric([method, error, str(status)], count)
    yield requests
    latency = HistogramMetricFamily(
        PREFIX + "request_duration_seconds",
        "Time to answer a vendor API request, by vendor method",
        labels=["method"],
    )
    for method, histogram in sorted(counters.latency.items()):
        latency.add_metric([method], histogram.cumulative(), histogram.total_seconds)
    yield latency

    by_status = Counter(str(doc.get("status")) for doc in backend.store.tasks())
    tasks = GaugeMetricFamily(PREFIX + "tasks", "Stored tasks by status", labels=["status"])
    for task_status, tasks_with_it in sorted(by_status.items()):
        tasks.add_metric([task_status], tasks_with_it)
    yield tasks
    active = GaugeMetricFamily(PREFIX + "tasks_active", "Tasks not yet finished")
    active.add_metric([], backend.engine.active_count())
    yield active

    items = CounterMetricFamily(
        PREFIX + "items_processed",
        "Profiles (import items) processed since start, by result",
        labels=["result"],
    )
    failed = backend.importer.items_failed
    items.add_metric(["imported"], backend.importer.items_processed - failed)
    items.add_metric(["failed"], failed)
    yield items

    store = backend.store
    for name, help_text, value in (
        ("store_profiles", "Profiles stored", store.count_profiles()),
        ("store_engagements", "Workflow and trigger engagements stored", store.count_engagements()),
        ("store_bytes", "Size of the store's files on disk (0: in memory)", store.disk_bytes()),
        ("journal_entries", "Requests the journal holds", len(backend.journal)),
        ("journal_bytes", "Bytes the journal's entries hold", backend.journal.bytes),
    ):
        gauge = GaugeMetricFamily(PREFIX + name, help_text)
        gauge.add_metric([], value)
        yield gauge
    dropped = CounterMetricFamily(
        PREFIX + "journal_dropped", "Journal entries dropped past its size or byte limit"
    )
    dropped.add_metric([], backend.journal.dropped)
    yield dropped

    faults = CounterMetricFamily(
        PREFIX + "faults_fired", "Fault rules fired since start, by action", labels=["action"]
    )
    for action, count in sorted(backend.faults.fired_by_action.items()):
        faults.add_metric([action.value], count)
    yield faults


class _MockCollector:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def collect(self) -> Iterator[Any]:
        return _families(self._backend)


async def metrics(request: web.Request) -> web.Response:
    from prometheus_client import CollectorRegistry, ProcessCollector
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_MockCollector(request.app[BACKEND]))
    ProcessCollector(registry=registry)  # process_resident_memory_bytes, CPU seconds, fds
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    answer = web.Response(body=encode(registry))
    answer.headers["Content-Type"] = content_type
    return answer


ROUTES = (
    ControlRoute(
        "GET",
        "/_mock/metrics",
        metrics,
        "Prometheus metrics: requests by vendor method and error code, latency "
        "histograms, tasks by status, items processed, store and journal size, "
        "faults fired (not reset by /_mock/reset)",
        content_type="text/plain",
    ),
)
