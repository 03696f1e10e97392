"""`altcraft-mock drift` as a user runs it: a process, against a "real service"
that is a second mock process.

Against a mock started like the one drift starts for itself, nothing differs
(exit 0). Against one started with other picks (`--http-status mirror`,
`--status-names completed=success`, `--task-id-format task_prefixed`,
`--mode permissive`) and a few faults (a malformed body, a dropped connection,
failed items), every difference kind those can cause is named in the report;
`json_type` is not among them (no pick of the mock changes a member's type), it is
covered in tests/unit/test_drift.py, and `task_end` by a task that never ends.
The token is never printed, `--json` parses with one shape, and a URL where
nothing listens is exit 2 with a message saying so.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.drift.compare import DifferenceKind
from mockserver.drift.report import REPORT_FORMAT
from mockserver.testing import MockServerProcess

pytestmark = pytest.mark.e2e

TOKEN = "drift-test-secret-token-7f3a9c"
STAND_IN_FIXTURE = {
    "accounts": [
        {
            "name": "real-account",
            "tokens": [TOKEN],
            "databases": [{"db_id": 1, "name": "Customers", "fields": {"CRM_ID": "string"}}],
            "workflows": [
                {"id": 3, "name": "Paused", "db_id": 1, "is_active": False},
                {"id": 7, "name": "Welcome", "db_id": 1, "is_active": True},
            ],
        }
    ]
}
DIFFERENT_PICKS = [
    "--http-status",
    "mirror",
    "--status-names",
    "completed=success",
    "--task-id-format",
    "task_prefixed",
    "--mode",
    "permissive",
]
ALL_PROBES = [
    "databases-list",
    "workflows-list",
    "profile-absent",
    "task-unknown",
    "malformed-body",
    "body-over-limit",
    "wrong-token",
    "no-token",
    "unknown-method",
    "import-profile",
    "task-status",
    "profile-get",
    "profile-delete",
]


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ALTCRAFT_MOCK_")}


def drift(*args: str) -> subprocess.CompletedProcess[str]:
    finished = subprocess.run(
        [sys.executable, "-m", "mockserver", "drift", "--token", TOKEN, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_environment(),
    )
    assert TOKEN not in finished.stdout + finished.stderr, "the token was printed"
    return finished


@pytest.fixture(scope="module")
def fixture_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drift") / "real-account.json"
    path.write_text(json.dumps(STAND_IN_FIXTURE), encoding="utf-8")
    return path


def stand_in(fixture_file: Path, *picks: str) -> Iterator[MockServerProcess]:
    args = ["--fixtures", str(fixture_file), *picks]
    with MockServerProcess(args, isolated_env=True) as server:
        yield server


@pytest.fixture(scope="module")
def alike(fixture_file: Path) -> Iterator[MockServerProcess]:
    """The real service, as the mock drift starts for itself answers."""
    yield from stand_in(fixture_file)


@pytest.fixture(scope="module")
def different(fixture_file: Path) -> Iterator[MockServerProcess]:
    """The real service, with other picks than the mock's defaults."""
    yield from stand_in(fixture_file, *DIFFERENT_PICKS)


def misbehave(server: MockServerProcess) -> None:
    """Faults for the kinds no flag causes: a body that is not JSON (the absent
    profile's lookup), a connection closed without an answer (the unknown task's
    status) and failed items (the throw-away import: other member names in its
    task's result)."""
    control = server.client()
    control.reset()
    control.add_fault("malformed", times=1, match={"method": "profiles/get"})
    control.add_fault("drop", times=1, match={"method": "tasks/status"})
    control.add_fault("fail_items", pattern=r"^altcraft-mock-drift\+")


def report_of(finished: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document = json.loads(finished.stdout)
    assert isinstance(document, dict)
    return document


def test_against_an_alike_service_nothing_differs(alike):
    finished = drift("--real", alike.url, "--allow-writes")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = finished.stdout.splitlines()
    assert lines[-1] == "no differences in 13 probes"
    for probe in ALL_PROBES:
        [row] = [line for line in lines if line.startswith(probe + " ")]
        assert row.split()[1] == "same", row
    # The ids were taken from the real lists: database 1, the first active workflow.
    assert "ids: db 1, workflow 7 (imports into db 1); writes allowed" in finished.stdout


def test_read_only_by_default_the_writes_are_skipped(alike):
    before = alike.client().requests(method="workflows/import_and_start_batch_task")
    finished = drift("--real", alike.url, "--json")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = report_of(finished)
    skipped = [p["name"] for p in report["probes"] if p["skipped"]]
    assert skipped == ["import-profile", "task-status", "profile-get", "profile-delete"]
    assert all(p["skipped"] == "needs --allow-writes" for p in report["probes"] if p["skipped"])
    assert report["summary"]["skipped"] == 4
    after = alike.client().requests(method="workflows/import_and_start_batch_task")
    assert after == before, "a read-only run imported something"


def test_every_difference_kind_is_named(different):
    misbehave(different)
    finished = drift("--real", different.url, "--allow-writes", "--json")
    assert finished.returncode == 1, finished.stdout + finished.stderr
    report = report_of(finished)
    by_kind = report["summary"]["by_kind"]
    expected = set(DifferenceKind) - {DifferenceKind.JSON_TYPE, DifferenceKind.TASK_END}
    assert {kind for kind, count in by_kind.items() if count} == expected, by_kind
    found = {
        (probe["name"], d["kind"], d["path"], d["real"], d["mock"])
        for probe in report["probes"]
        for d in probe["differences"]
    }
    # --http-status mirror: the refusals carry their code as the HTTP status.
    assert ("no-token", "http_status", "", "HTTP 401", "HTTP 200") in found
    # --mode permissive: the unknown token is an account of its own there.
    assert ("wrong-token", "error", "error", "0", "403") in found
    assert (
        "wrong-token",
        "error_text",
        "error_text",
        "'Successful operation'",
        "'Access denied'",
    ) in found
    assert ("wrong-token", "envelope_keys", "data", "array", "absent") in found
    # --task-id-format task_prefixed, --status-names completed=success.
    assert ("import-profile", "id_shape", "task_id", "task_<uuid>", "<uuid>") in found
    assert ("task-status", "status_name", "data.status", "'success'", "'completed'") in found
    # The failed item's entry: error and error_text where the mock has profile_id.
    assert (
        "task-status",
        "field_names",
        "data.result.result[*].profile_id",
        "absent",
        "string",
    ) in found
    assert (
        "task-status",
        "field_names",
        "data.result.result[*].error",
        "integer",
        "absent",
    ) in found
    # The faults: a body that is not JSON, a connection closed without an answer.
    kinds_of = {(name, kind) for name, kind, *_ in found}
    assert ("profile-absent", "body_format") in kinds_of
    assert ("task-unknown", "no_answer") in kinds_of


def test_the_text_report_names_each_difference_side_by_side(different):
    misbehave(different)
    finished = drift("--real", different.url, "--allow-writes")
    assert finished.returncode == 1, finished.stdout + finished.stderr
    text = finished.stdout
    header = [line for line in text.splitlines() if line.startswith("probe ")]
    assert header and "real" in header[0] and "mock" in header[0]
    assert "task_id  real: task_<uuid>  |  mock: <uuid>" in text
    assert "real: 'success'  |  mock: 'completed'" in text
    for kind in set(DifferenceKind) - {DifferenceKind.JSON_TYPE, DifferenceKind.TASK_END}:
        assert f"    {kind.value} " in text, kind
    assert re.fullmatch(r"\d+ differences in \d+ of 13 probes \(.*\)", text.splitlines()[-1])


def test_a_task_that_never_ends_there_is_reported(fixture_file):
    for server in stand_in(fixture_file, "--progression", "manual"):
        finished = drift("--real", server.url, "--allow-writes", "--task-timeout", "1", "--json")
    assert finished.returncode == 1, finished.stdout + finished.stderr
    [status] = [p for p in report_of(finished)["probes"] if p["name"] == "task-status"]
    assert [d["kind"] for d in status["differences"]] == ["task_end"]
    assert status["differences"][0]["real"].startswith("still 'queued' after ")
    assert status["real"]["task_status"] == "queued"


def test_the_json_report_has_a_stable_shape(alike, different):
    misbehave(different)
    same = report_of(drift("--real", alike.url, "--allow-writes", "--json"))
    differs = report_of(drift("--real", different.url, "--allow-writes", "--json"))

    def keys(document: Any) -> Any:
        if isinstance(document, dict):
            return {k: keys(v) for k, v in document.items() if k != "differences"}
        if isinstance(document, list):
            return [keys(v) for v in document]
        return None

    assert keys(same) == keys(differs)
    assert same["format"] == REPORT_FORMAT
    assert [p["name"] for p in same["probes"]] == ALL_PROBES
    assert set(same) == {
        "format",
        "real",
        "mock",
        "ids",
        "allow_writes",
        "probes",
        "summary",
        "exit_status",
    }
    assert set(same["probes"][0]) == {
        "name",
        "method",
        "sends",
        "skipped",
        "real",
        "mock",
        "differences",
    }
    assert set(same["probes"][0]["real"]) == {
        "not_sent",
        "answers",
        "http_status",
        "error",
        "error_text",
        "task_status",
        "problem",
    }
    assert same["summary"]["differences"] == 0 and same["exit_status"] == 0
    assert differs["exit_status"] == 1
    for probe in differs["probes"]:
        for difference in probe["differences"]:
            assert set(difference) == {"kind", "path", "real", "mock"}
            assert all(isinstance(difference[key], str) for key in difference)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_url_where_nothing_listens_is_exit_2_with_a_clear_message():
    url = f"http://127.0.0.1:{free_port()}"
    finished = drift("--real", url)
    assert finished.returncode == 2
    assert finished.stdout == ""
    assert f"altcraft-mock drift: cannot connect to {url}: " in finished.stderr
    as_json = drift("--real", url, "--json")
    assert as_json.returncode == 2
    assert report_of(as_json)["exit_status"] == 2
    assert report_of(as_json)["failure"].startswith(f"cannot connect to {url}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--real", "ftp://example.test"], "--real: expected an http:// or https:// URL"),
        (
            ["--real", f"http://127.0.0.1:1/?token={TOKEN}"],
            "--real: the URL must not carry a query",
        ),
        (
            ["--real", "http://127.0.0.1:1", "--mock-arg=--rate=nan"],
            "--mock-arg: --rate: invalid value 'nan'",
        ),
        (["--real", "http://127.0.0.1:1", "--db-id", "0"], "--db-id: must be at least 1"),
        (["--real", "http://127.0.0.1:1", "--token", " "], "--token: empty"),
    ],
)
def test_bad_values_are_refused_before_anything_is_sent(args, message):
    finished = drift(*args)
    assert finished.returncode == 2
    assert message in finished.stderr


def test_a_mock_that_cannot_start_stops_the_check_after_the_lists(alike, tmp_path):
    """Only the two read-only lists (they tell the ids the mock needs) reach the
    real service before the mock is started; a mock that cannot start is exit 2."""
    alike.client().clear_requests()
    missing = tmp_path / "no-such-fixture.json"
    finished = drift("--real", alike.url, "--allow-writes", f"--mock-arg=--fixtures={missing}")
    assert finished.returncode == 2
    assert "altcraft-mock drift: the mock did not start" in finished.stderr
    assert "no-such-fixture.json" in finished.stderr
    sent = [entry["api_method"] for entry in alike.client().requests()]
    assert sent == ["databases/list", "workflows/list"]


def test_the_mock_can_be_started_as_your_tests_run_it(different):
    """--mock-arg passes serve flags to the mock: with the same picks as the
    stand-in (no faults), nothing differs."""
    different.client().reset()
    picks = [f"--mock-arg={flag}" for flag in DIFFERENT_PICKS]
    finished = drift("--real", different.url, "--allow-writes", *picks)
    assert finished.returncode == 0, finished.stdout + finished.stderr
