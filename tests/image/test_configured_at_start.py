"""A service container is configured by its environment only: simulated
latency (ALTCRAFT_MOCK_LATENCY) and fault rules from a file
(ALTCRAFT_MOCK_FAULTS) are live from the first request and shown by health."""

from __future__ import annotations

import json
import time

from mockserver.testing import DEFAULT_TOKEN, ControlClient
from tests.image.containers import Containers, post

BATCH = "workflows/import_and_start_batch_task"
FAULTS = [{"action": "error", "error": 503, "times": 1, "match": {"method": BATCH}}]


def test_latency_and_faults_come_from_the_environment(built, containers: Containers, tmp_path):
    rules = tmp_path / "faults.json"
    rules.write_text(json.dumps(FAULTS))
    mock = containers.run(
        built.image,
        env={
            "ALTCRAFT_MOCK_LATENCY": "tasks/status=300",
            "ALTCRAFT_MOCK_FAULTS": "/etc/altcraft-mock-faults.json",
        },
        files={"/etc/altcraft-mock-faults.json": rules},
    )
    mock.wait_healthy()

    settings = ControlClient(mock.url).health()["settings"]
    assert settings["latency"] == [{"method": "tasks/status", "min_ms": 300, "max_ms": 300}]
    assert settings["faults_file"] == "/etc/altcraft-mock-faults.json"
    assert settings["startup_faults"] == 1

    body = {"token": DEFAULT_TOKEN, "workflow_id": 2, "data": [{"data": {"email": "a@b.test"}}]}
    first = post(f"{mock.url}/api/v1.1/{BATCH}", body)
    assert (first["error"], first["error_text"]) == (503, "Service unavailable")  # the file's rule
    second = post(f"{mock.url}/api/v1.1/{BATCH}", body)
    assert second["error"] == 0, second

    began = time.monotonic()
    status = post(
        f"{mock.url}/api/v1.1/tasks/status", {"token": DEFAULT_TOKEN, "task_id": second["task_id"]}
    )
    assert status["error"] == 0
    assert time.monotonic() - began >= 0.3  # the lower bound the configured delay guarantees
