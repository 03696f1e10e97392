"""The example client, tested with the plugin's `altcraft_mock` fixture only."""

from __future__ import annotations

import pytest
from altcraft_client import AltcraftClient, AltcraftError, TaskFailed

BATCH = "workflows/import_and_start_batch_task"
PEOPLE = [
    {"_fname": "Herbert", "email": "herbert@example.com"},
    {"_fname": "Bert", "email": "bert@example.com"},
]


@pytest.fixture
def client(altcraft_mock):
    client = AltcraftClient(altcraft_mock.url, altcraft_mock.token, retries=3)
    client.sleep = lambda seconds: None  # no real waiting in tests
    return client


def test_import_polls_the_task_and_creates_the_profiles(client, altcraft_mock):
    report = client.import_profiles(2, PEOPLE)

    assert report.item_errors == {}
    stored = {p["data"]["email"]: p["id"] for p in altcraft_mock.profiles()}
    assert report.profile_ids == [stored["herbert@example.com"], stored["bert@example.com"]]
    statuses = altcraft_mock.requests(method="tasks/status")
    assert [e["response"]["data"]["status"] for e in statuses] == ["processing", "completed"]


def test_a_503_is_retried(client, altcraft_mock):
    altcraft_mock.add_fault("error", error=503, times=2, match={"method": BATCH})

    client.import_profiles(2, PEOPLE)

    assert [e["error"] for e in altcraft_mock.requests(method=BATCH)] == [503, 503, 0]


def test_a_400_is_not_retried(client, altcraft_mock):
    with pytest.raises(AltcraftError) as error:
        client.import_profiles(3, PEOPLE)  # workflow 3 is inactive in the fixture
    assert error.value.code == 400
    assert len(altcraft_mock.requests(method=BATCH)) == 1


def test_rate_limit_honours_retry_after(client, altcraft_mock):
    waits = []
    client.sleep = waits.append
    altcraft_mock.add_fault("rate_limit", retry_after=7, times=1, match={"method": BATCH})

    client.import_profiles(2, PEOPLE)

    assert 7.0 in waits
    assert [e["status"] for e in altcraft_mock.requests(method=BATCH)] == [429, 200]


def test_a_slow_answer_within_the_timeout_is_fine(client, altcraft_mock):
    altcraft_mock.add_fault("delay", delay_ms=[10, 30], times=1)

    client.import_profiles(2, PEOPLE)

    assert altcraft_mock.faults()[0]["fired"] == 1


def test_a_dropped_connection_before_processing_is_retried_once(client, altcraft_mock):
    altcraft_mock.add_fault("drop", times=1, match={"method": BATCH})

    client.import_profiles(2, PEOPLE)

    journal = altcraft_mock.requests(method=BATCH)
    assert [e["status"] for e in journal] == [None, 200]
    assert len(altcraft_mock.tasks()) == 1  # the dropped request created nothing


def test_a_dropped_answer_after_processing_makes_a_retry_import_twice(client, altcraft_mock):
    # The realistic nasty case: the import happened but the answer was lost, so
    # the retry imports again. Email matching keeps the profiles unique.
    altcraft_mock.add_fault("drop", when="after", times=1, match={"method": BATCH})

    client.import_profiles(2, PEOPLE)

    assert len(altcraft_mock.tasks()) == 2
    assert len(altcraft_mock.profiles()) == 2


def test_a_malformed_answer_is_retried(client, altcraft_mock):
    altcraft_mock.add_fault("malformed", times=1, match={"method": "tasks/status"})

    report = client.import_profiles(2, PEOPLE)

    assert len(report.profile_ids) == 2
    assert altcraft_mock.requests(method="tasks/status")[0]["response_note"] == "not JSON"


def test_a_truncated_answer_is_retried(client, altcraft_mock):
    altcraft_mock.add_fault("truncate", times=1, match={"method": BATCH})

    client.import_profiles(2, PEOPLE)

    assert len(altcraft_mock.tasks()) == 2  # the truncated call had been processed


def test_a_failed_task_is_reported(client, altcraft_mock):
    altcraft_mock.add_fault("fail_task", at_progress=50, error=500, error_text="Workflow crashed")

    with pytest.raises(TaskFailed) as failure:
        client.import_profiles(2, PEOPLE)

    assert (failure.value.code, failure.value.text) == (500, "Workflow crashed")


def test_item_failures_are_reported_per_item(client, altcraft_mock):
    altcraft_mock.add_fault("fail_items", pattern=r"^bert@", error_text="Mailbox unavailable")

    report = client.import_profiles(2, PEOPLE)

    assert report.item_errors == {1: "Mailbox unavailable"}
    assert report.profile_ids[1] is None
    assert [p["data"]["email"] for p in altcraft_mock.profiles()] == ["herbert@example.com"]


def test_giving_up_after_the_retries(client, altcraft_mock):
    altcraft_mock.add_fault("error", error=503)

    with pytest.raises(AltcraftError, match="gave up after 4 attempts"):
        client.start_import(2, PEOPLE)
