"""`mockserver.testing` (issue 3 item 6): ControlClient against the real process.

`MockServerProcess` starts `python -m mockserver serve` on a free port;
`ControlClient` drives its `/_mock/` API with the standard library only. One
server (manual progression) serves the module; every test resets it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.testing import ControlClient, ControlError, MockServerProcess
from tests.helpers import BATCH_TASK, STATUS, person

pytestmark = pytest.mark.e2e

NOT_FOUND = {
    "error": 404,
    "error_debug": "task_id: no task 'no-such-task'",
    "error_text": "Task not found",
}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServerProcess]:
    with MockServerProcess(["--progression", "manual"]) as process:
        yield process


@pytest.fixture
def mock(server: MockServerProcess) -> ControlClient:
    client = server.client()
    client.reset()
    return client


def import_batch(mock: ControlClient, *items: Any) -> str:
    answer = mock.api(BATCH_TASK, {"workflow_id": 2, "matching": "email", "data": list(items)})
    assert answer["error"] == 0, answer
    return answer["task_id"]


def progress(view: dict[str, Any]) -> tuple[str, int, int]:
    return view["status"], view["progress"], view["processed"]


# -- vendor calls and task control --------------------------------------------------------


def test_api_sends_a_vendor_call_with_the_token(mock):
    task_id = import_batch(mock, person(1), person(2))
    assert progress(mock.task(task_id)) == ("queued", 0, 0)


def test_api_returns_a_vendor_error_as_a_body(mock):
    assert mock.api(STATUS, {"task_id": "no-such-task"}) == NOT_FOUND


def test_advance_moves_one_step(mock):
    task_id = import_batch(mock, person(1), person(2))
    assert progress(mock.advance(task_id)) == ("processing", 50, 1)


def test_advance_by_items(mock):
    task_id = import_batch(mock, person(1), person(2), person(3), person(4))
    assert progress(mock.advance(task_id, items=3)) == ("processing", 75, 3)


def test_complete_processes_the_rest(mock):
    task_id = import_batch(mock, person(1), person(2))
    view = mock.complete(task_id)
    assert (progress(view), len(view["results"])) == (("completed", 100, 2), 2)


def test_wait_for_task_returns_the_finished_task(mock):
    task_id = import_batch(mock, person(1))
    mock.complete(task_id)
    view = mock.wait_for_task(task_id)
    assert (view["task_id"], view["status"]) == (task_id, "completed")


def test_wait_for_task_waits_for_a_chosen_status(mock):
    task_id = import_batch(mock, person(1), person(2))
    mock.advance(task_id)
    assert mock.wait_for_task(task_id, status="processing")["processed"] == 1


def test_wait_for_task_never_moves_the_task_and_gives_up(mock):
    task_id = import_batch(mock, person(1))
    with pytest.raises(TimeoutError):
        mock.wait_for_task(task_id, timeout=0.2)
    assert progress(mock.task(task_id)) == ("queued", 0, 0)


def test_fail_ends_the_task(mock):
    task_id = import_batch(mock, person(1))
    view = mock.fail(task_id, error=500, error_text="Workflow crashed")
    assert (view["status"], view["failure"]) == (
        "failed",
        {"error": 500, "error_text": "Workflow crashed"},
    )


def test_tasks_lists_the_tasks(mock):
    first = import_batch(mock, person(1))
    second = import_batch(mock, person(2))
    assert [t["task_id"] for t in mock.tasks()] == [first, second]


def test_set_task_progression_to_instant_completes_it(mock):
    task_id = import_batch(mock, person(1))
    assert mock.set_task_progression(task_id, "instant")["status"] == "completed"


# -- inspection ----------------------------------------------------------------------------


def test_profiles_by_email(mock):
    task_id = import_batch(mock, person(1), person(2))
    mock.complete(task_id)
    [found] = mock.profiles(email="Profile2@Example.com")
    assert (found["account"], found["data"]["email"]) == ("default", "profile2@example.com")


def test_profiles_by_custom_field(mock):
    task_id = import_batch(mock, person(1, CRM_ID="42"), person(2, CRM_ID="43"))
    mock.complete(task_id)
    [found] = mock.profiles(CRM_ID="42")
    assert found["data"]["email"] == "profile1@example.com"
    assert mock.profiles(CRM_ID="44") == []


def test_engagements_by_workflow(mock):
    task_id = import_batch(mock, person(1))
    view = mock.complete(task_id)
    [record] = mock.engagements(2)
    assert (record["profile_id"], record["task_id"]) == (view["results"][0]["profile_id"], task_id)


def test_requests_by_vendor_method(mock):
    task_id = import_batch(mock, person(1))
    mock.api(STATUS, {"task_id": task_id})
    found = mock.requests(method=BATCH_TASK)
    assert [(e["api_method"], e["response"]["task_id"]) for e in found] == [(BATCH_TASK, task_id)]
    assert found[0]["body"]["token"] == "abcd…"


def test_clear_requests_empties_the_journal(mock):
    import_batch(mock, person(1))
    mock.clear_requests()
    assert mock.requests() == []


# -- faults ----------------------------------------------------------------------------------


def test_add_fault_lists_and_fires(mock):
    rule = mock.add_fault("error", error=503, times=1, match={"method": BATCH_TASK})
    assert mock.faults() == [rule]
    answer = mock.api(BATCH_TASK, {"workflow_id": 2, "data": [person(1)]})
    assert answer == {"error": 503, "error_text": "Service unavailable"}
    assert [(r["id"], r["fired"]) for r in mock.faults()] == [(rule["id"], 1)]


def test_remove_fault(mock):
    rule = mock.add_fault("delay", delay_ms=0)
    mock.remove_fault(rule["id"])
    assert mock.faults() == []


def test_remove_unknown_fault_is_a_control_error_404(mock):
    with pytest.raises(ControlError) as caught:
        mock.remove_fault("fault_999")
    assert caught.value.status == 404


# -- reset and errors ------------------------------------------------------------------------


def test_reset_removes_tasks_profiles_journal_and_faults(mock):
    mock.complete(import_batch(mock, person(1)))
    mock.add_fault("delay", delay_ms=0)
    mock.reset()
    assert (mock.tasks(), mock.profiles(), mock.requests(), mock.faults()) == ([], [], [], [])


def test_control_error_carries_the_status_and_the_envelope(mock):
    with pytest.raises(ControlError) as caught:
        mock.task("no-such-task")
    assert (caught.value.status, caught.value.body) == (404, NOT_FOUND)


def test_control_error_for_a_bad_request_is_400(mock):
    with pytest.raises(ControlError) as caught:
        mock.reset(account="nobody")
    assert (caught.value.status, caught.value.body["error_debug"]) == (
        400,
        "account: no account 'nobody'",
    )


def test_health(mock):
    health = mock.health()
    assert (health["status"], health["settings"]["progression"]) == ("ok", "manual")


# -- the process --------------------------------------------------------------------------------


def test_stop_returns_0():
    process = MockServerProcess().start()
    assert process.client().health()["status"] == "ok"
    assert process.stop() == 0


def test_context_manager_stops_the_process():
    with MockServerProcess() as process:
        child = process.process
        assert child is not None and child.poll() is None
    assert child.poll() == 0


def test_admin_token_is_sent_by_the_client():
    with MockServerProcess(["--admin-token", "s3cret"]) as process:
        assert process.client(admin_token="s3cret").tasks() == []
        with pytest.raises(ControlError) as caught:
            process.client().tasks()
        assert caught.value.status == 401
        assert process.client().health()["status"] == "ok"


def test_a_killed_server_restarts_on_the_same_store(tmp_path):
    db = str(tmp_path / "store.json")
    with MockServerProcess(["--progression", "manual"], db=db) as process:
        task_id = import_batch(process.client(), person(1))
        assert process.kill() == -9
        assert not process.alive()
        process.restart()
        assert process.alive()
        assert process.client().task(task_id)["status"] == "queued"
        assert process.terminate() == 0


def test_what_the_server_logs_is_kept_per_start(tmp_path):
    with MockServerProcess(
        ["--log-level", "DEBUG", "--access-log", "true"], log_dir=tmp_path
    ) as process:
        first_log = process.stderr_path
        process.client().health()
        assert "GET /_mock/health" in process.stderr()
        process.restart()
        assert process.stderr_path != first_log
        assert "GET /_mock/health" in first_log.read_text(encoding="utf-8")
    assert sorted(tmp_path.iterdir()) == sorted([first_log, process.stderr_path])


def test_a_temporary_log_goes_with_the_context():
    with MockServerProcess() as process:
        log = process.stderr_path
        assert log is not None and log.exists()
    assert not log.exists()


def test_env_adds_settings_and_isolated_env_drops_the_runners(monkeypatch):
    monkeypatch.setenv("ALTCRAFT_MOCK_PROGRESSION", "instant")
    with MockServerProcess() as process:
        assert process.client().health()["settings"]["progression"] == "instant"
    with MockServerProcess(isolated_env=True) as process:
        assert process.client().health()["settings"]["progression"] == "polls"
    env = {"ALTCRAFT_MOCK_PROGRESSION": "manual"}
    with MockServerProcess(env=env, isolated_env=True) as process:
        assert process.client().health()["settings"]["progression"] == "manual"


def test_a_refused_start_raises_naming_the_reason():
    with pytest.raises(RuntimeError) as caught:
        MockServerProcess(["--rate", "nan"]).start()
    assert "exit status 2" in str(caught.value)
    assert "--rate: invalid value 'nan'" in str(caught.value)
