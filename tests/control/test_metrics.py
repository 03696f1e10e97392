"""`GET /_mock/metrics`: Prometheus' text format, read back with prometheus-client's
own parser, so a scraper reads what these tests read."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import (
    BATCH_TASK,
    STATUS,
    ApiClient,
    add_fault,
    person,
    reset,
    status_call,
)

TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


async def scrape(api: ApiClient, accept: str | None = None) -> dict[str, dict[tuple, float]]:
    """Every sample as {metric name: {sorted labels: value}}."""
    headers = {"Accept": accept} if accept else {}
    async with api.http.get("/_mock/metrics", headers=headers) as response:
        assert response.status == 200
        text = await response.text()
        if accept is None:
            assert response.headers["Content-Type"] == TEXT_FORMAT
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def value(samples: dict[str, dict[tuple, float]], name: str, **labels: Any) -> float:
    return samples[name].get(tuple(sorted(labels.items())), 0.0)


async def test_vendor_requests_are_counted_by_method_error_and_status(api):
    task_id = await api.import_batch([person(1), person(2)])
    await api.run_to_end(task_id)  # two polls: processing, completed
    await status_call(api)  # a 404 envelope (HTTP 200 by default)
    await api.raw("POST", "/api/v1.1/no/such/method", json={"token": api.token})
    samples = await scrape(api)
    requests = "altcraft_mock_requests_total"
    assert value(samples, requests, method=STATUS, error="0", status="200") == 2
    assert value(samples, requests, method=STATUS, error="404", status="200") == 1
    batch = "workflows/import_and_start_batch_task"
    assert value(samples, requests, method=batch, error="0", status="200") == 1
    assert value(samples, requests, method="unknown", error="404", status="200") == 1
    assert sum(samples[requests].values()) == 5  # control calls are not counted


async def test_latency_histograms_count_every_vendor_request(api):
    for _ in range(3):
        await status_call(api)
    samples = await scrape(api)
    buckets = samples["altcraft_mock_request_duration_seconds_bucket"]
    mine = {dict(labels)["le"]: count for labels, count in buckets.items()}
    assert mine["+Inf"] == 3
    counts = [mine[le] for le in sorted(mine, key=lambda le: float(le))]
    assert counts == sorted(counts)  # cumulative
    assert value(samples, "altcraft_mock_request_duration_seconds_count", method=STATUS) == 3
    assert value(samples, "altcraft_mock_request_duration_seconds_sum", method=STATUS) > 0


async def test_tasks_items_store_and_journal_are_shown(api):
    await add_fault(api, action="fail_items", pattern="^profile2@", match={"method": BATCH_TASK})
    task_id = await api.import_batch([person(1), person(2), person(3)])
    await api.run_to_end(task_id)
    samples = await scrape(api)
    assert value(samples, "altcraft_mock_tasks", status="completed") == 1
    assert value(samples, "altcraft_mock_tasks_active") == 0
    assert value(samples, "altcraft_mock_items_processed_total", result="imported") == 2
    assert value(samples, "altcraft_mock_items_processed_total", result="failed") == 1
    counts = (await api.control("GET", "/_mock/health")).body["counts"]
    assert value(samples, "altcraft_mock_store_profiles") == counts["profiles"]
    assert value(samples, "altcraft_mock_store_engagements") == counts["engagements"]
    assert value(samples, "altcraft_mock_journal_entries") == 3  # the import and 2 polls
    assert value(samples, "altcraft_mock_journal_bytes") > 0
    assert value(samples, "altcraft_mock_faults_fired_total", action="fail_items") == 1
    assert value(samples, "altcraft_mock_build_info", version=_version(samples)) == 1
    assert value(samples, "process_resident_memory_bytes") > 0


async def test_faults_fired_are_counted_by_action(api):
    await add_fault(api, action="error", error=503, times=2)
    await add_fault(api, action="malformed", match={"method": "databases/list"}, times=1)
    for _ in range(3):
        await status_call(api)
    async with api.http.post("/api/v1.1/databases/list", json={"token": api.token}) as answer:
        assert answer.status == 200
    samples = await scrape(api)
    assert value(samples, "altcraft_mock_faults_fired_total", action="error") == 2
    assert value(samples, "altcraft_mock_faults_fired_total", action="malformed") == 1
    requests = "altcraft_mock_requests_total"
    assert value(samples, requests, method=STATUS, error="503", status="200") == 2
    assert value(samples, requests, method=STATUS, error="404", status="200") == 1
    # A malformed answer carries no envelope to read a code from.
    assert value(samples, requests, method="databases/list", error="none", status="200") == 1


async def test_a_reset_leaves_the_counters_alone(api):
    await status_call(api)
    await reset(api)
    samples = await scrape(api)
    assert value(samples, "altcraft_mock_requests_total", method=STATUS, error="404", status="200")
    assert value(samples, "altcraft_mock_journal_entries") == 0  # the journal itself is reset


async def test_openmetrics_when_the_scraper_asks_for_it(api):
    await status_call(api)
    async with api.http.get(
        "/_mock/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    ) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        text = await response.text()
    assert text.rstrip().endswith("# EOF")
    assert 'altcraft_mock_requests_total{error="404",method="tasks/status",status="200"} 1' in text


def _version(samples: dict[str, dict[tuple, float]]) -> str:
    (labels,) = samples["altcraft_mock_build_info"]
    return dict(labels)["version"]
