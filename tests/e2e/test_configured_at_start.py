"""Configured at start (issue 16, item 4): the real process, set up by its environment
only (as a service container is) or by flags.

`ALTCRAFT_MOCK_LATENCY` / `--latency` delays vendor methods; `ALTCRAFT_MOCK_FAULTS` /
`--faults FILE` sets fault rules before the first request, restored by a reset. A bad
value of either refuses the start with one line naming it and exit status 2. Time is
only ever checked as a lower bound the configured delay guarantees.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from mockserver.testing import ControlClient, MockServerProcess

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "faults.json"
BATCH = "workflows/import_and_start_batch_task"
STATUS = "tasks/status"
UNAVAILABLE_ONCE = {"action": "error", "error": 503, "times": 1, "match": {"method": BATCH}}
STATUS_DELAY_MS = 150


def write_rules(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def server(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> MockServerProcess:
    """A server run from the test's folder with none of the runner's ALTCRAFT_MOCK_*."""
    return MockServerProcess(args, env=env, isolated_env=True, cwd=tmp_path, log_dir=tmp_path)


def import_batch(client: ControlClient) -> dict[str, Any]:
    return client.api(BATCH, {"workflow_id": 2, "data": [{"data": {"email": "a@example.com"}}]})


def timed_status_call(client: ControlClient) -> float:
    started = time.monotonic()
    answer = client.api(STATUS, {"task_id": "no-such-task"})
    elapsed = time.monotonic() - started
    assert answer["error"] == 404, answer
    return elapsed


def counts(client: ControlClient) -> list[tuple[str, int, int]]:
    return [(rule["id"], rule["matched"], rule["fired"]) for rule in client.faults()]


def test_the_environment_alone_configures_latency_and_faults(tmp_path):
    path = write_rules(tmp_path, [UNAVAILABLE_ONCE])
    env = {
        "ALTCRAFT_MOCK_LATENCY": f"{STATUS}={STATUS_DELAY_MS}",
        "ALTCRAFT_MOCK_FAULTS": path,
    }
    with server(tmp_path, env=env) as running:
        client = running.client()
        settings = client.health()["settings"]
        assert settings["latency"] == [
            {"method": STATUS, "min_ms": STATUS_DELAY_MS, "max_ms": STATUS_DELAY_MS}
        ]
        assert (settings["faults_file"], settings["startup_faults"]) == (path, 1)

        # The first matching request meets the file's rule; the next one passes.
        assert import_batch(client) == {"error": 503, "error_text": "Service unavailable"}
        assert import_batch(client)["error"] == 0
        assert timed_status_call(client) >= STATUS_DELAY_MS / 1000

        # A reset brings the rule back with its counts at zero; the latency stays.
        client.reset()
        assert counts(client) == [("fault_1", 0, 0)]
        assert import_batch(client)["error"] == 503
        assert timed_status_call(client) >= STATUS_DELAY_MS / 1000


def test_flags_configure_the_same_as_the_environment(tmp_path):
    path = write_rules(tmp_path, {"faults": [UNAVAILABLE_ONCE]})
    flags = ("--latency", "10-20,tasks/status=0.15s", "--faults", path)
    with server(tmp_path, *flags) as running:
        client = running.client()
        settings = client.health()["settings"]
        assert settings["latency"] == [
            {"method": None, "min_ms": 10, "max_ms": 20},
            {"method": STATUS, "min_ms": 150, "max_ms": 150},
        ]
        assert (settings["faults_file"], settings["startup_faults"]) == (path, 1)
        assert import_batch(client)["error"] == 503
        assert timed_status_call(client) >= 0.15


def test_the_shipped_example_file_configures_a_server(tmp_path):
    with server(tmp_path, env={"ALTCRAFT_MOCK_FAULTS": str(EXAMPLE)}) as running:
        client = running.client()
        assert client.health()["settings"]["startup_faults"] == 3
        assert import_batch(client) == {"error": 503, "error_text": "Service unavailable"}


# -- refused at start ---------------------------------------------------------------------


def refused_start(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    """`serve` run to its end: a refused start ends at once."""
    process = server(tmp_path, *args, env=env)
    finished = subprocess.run(
        process.command,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        env=process.environment(),
        stdin=subprocess.DEVNULL,
    )
    assert finished.returncode == 2, finished
    assert "listening on" not in finished.stdout
    assert "Traceback" not in finished.stderr
    return finished.stderr


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (("--latency", "50-20"), None, "--latency: invalid value '50-20'"),
        ((), {"ALTCRAFT_MOCK_LATENCY": "fast"}, "ALTCRAFT_MOCK_LATENCY: invalid value 'fast'"),
        ((), {"ALTCRAFT_MOCK_LATENCY": "tasks/stats=5"}, "unknown vendor method 'tasks/stats'"),
    ],
)
def test_a_bad_latency_is_refused_naming_its_source(tmp_path, args, env, named):
    assert named in refused_start(tmp_path, *args, env=env)


@pytest.mark.parametrize("source", ["flag", "env"])
def test_a_bad_faults_file_is_refused_naming_the_file_the_rule_and_the_field(tmp_path, source):
    path = write_rules(tmp_path, [UNAVAILABLE_ONCE, {"action": "error", "match": {"method": 5}}])
    args, env = (
        (("--faults", path), None) if source == "flag" else ((), {"ALTCRAFT_MOCK_FAULTS": path})
    )

    stderr = refused_start(tmp_path, *args, env=env)

    assert f"cannot start: faults file {path}: rule 1: match.method: expected string" in stderr


def test_a_missing_faults_file_is_refused_naming_it(tmp_path):
    missing = str(tmp_path / "no-such-faults.json")

    stderr = refused_start(tmp_path, env={"ALTCRAFT_MOCK_FAULTS": missing})

    assert f"faults file {missing}: cannot be read" in stderr
