"""The pytest plugin, used the way a client team uses it: small test files run by
pytester in a subprocess, with only the installed package's entry point."""

from __future__ import annotations

import os

import pytest

from mockserver.testing import MockServerProcess

pytestmark = pytest.mark.e2e

IMPORT_AND_CHECK = """
import json, urllib.request

def post(url, method, body):
    req = urllib.request.Request(f"{url}/api/v1.1/{method}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())

def import_one(mock, email):
    return post(mock.url, "workflows/import_and_start_batch_task",
                {"token": mock.token, "workflow_id": 2, "data": [{"data": {"email": email}}]})
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_altcraft_mock_fixture_gives_a_reset_server(pytester):
    pytester.makepyfile(
        IMPORT_AND_CHECK
        + """
def test_first_imports(altcraft_mock):
    answer = import_one(altcraft_mock, "a@example.com")
    assert answer["error"] == 0
    altcraft_mock.complete(answer["task_id"])
    assert [p["data"]["email"] for p in altcraft_mock.profiles()] == ["a@example.com"]

def test_second_sees_a_fresh_server(altcraft_mock):
    assert altcraft_mock.profiles() == []
    assert altcraft_mock.requests() == []
"""
    )
    run(pytester).assert_outcomes(passed=2)


def test_server_args_come_from_the_overridable_fixture(pytester):
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="session")
def altcraft_mock_args():
    return ["--progression", "instant"]
"""
    )
    pytester.makepyfile(
        IMPORT_AND_CHECK
        + """
def test_instant(altcraft_mock):
    task_id = import_one(altcraft_mock, "a@example.com")["task_id"]
    assert altcraft_mock.task(task_id)["status"] == "completed"
"""
    )
    run(pytester).assert_outcomes(passed=1)


def test_server_args_come_from_the_command_line(pytester):
    pytester.makepyfile(
        IMPORT_AND_CHECK
        + """
def test_manual(altcraft_mock):
    task_id = import_one(altcraft_mock, "a@example.com")["task_id"]
    for _ in range(3):
        post(altcraft_mock.url, "tasks/status", {"token": altcraft_mock.token, "task_id": task_id})
    assert altcraft_mock.task(task_id)["status"] == "queued"
"""
    )
    run(pytester, "--altcraft-mock-arg=--progression=manual").assert_outcomes(passed=1)


def test_server_is_stopped_even_when_tests_fail(pytester, tmp_path):
    pid_file = tmp_path / "pid"
    pytester.makepyfile(
        f"""
def test_fails(altcraft_mock):
    open({str(pid_file)!r}, "w").write(str(altcraft_mock.health()["pid"]))
    assert False, "a failing test"
"""
    )
    run(pytester).assert_outcomes(failed=1)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_an_already_running_server_is_used_with_the_url_option(pytester):
    with MockServerProcess() as server:
        pytester.makepyfile(
            IMPORT_AND_CHECK
            + """
def test_uses_it(altcraft_mock):
    assert import_one(altcraft_mock, "shared@example.com")["error"] == 0
"""
        )
        run(pytester, f"--altcraft-mock-url={server.url}").assert_outcomes(passed=1)
        journal = server.client().requests(method="workflows/import_and_start_batch_task")
        assert len(journal) == 1


PARALLEL_TESTS = (
    IMPORT_AND_CHECK
    + """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_isolated(altcraft_mock, n):
    email = f"user{n}@example.com"
    task_id = import_one(altcraft_mock, email)["task_id"]
    altcraft_mock.complete(task_id)
    # Only this test's profile: other workers' imports are invisible.
    assert [p["data"]["email"] for p in altcraft_mock.profiles()] == [email]
    assert len(altcraft_mock.requests(method="workflows/import_and_start_batch_task",
                                      token=altcraft_mock.token)) == 1
"""
)


def test_xdist_workers_each_get_their_own_server(pytester):
    pytester.makepyfile(PARALLEL_TESTS)
    run(pytester, "-p", "xdist", "-n", "2").assert_outcomes(passed=6)


def test_xdist_workers_share_a_permissive_server_with_their_own_tokens(pytester):
    with MockServerProcess(["--mode", "permissive"]) as server:
        pytester.makepyfile(PARALLEL_TESTS)
        result = run(pytester, "-p", "xdist", "-n", "2", f"--altcraft-mock-url={server.url}")
        result.assert_outcomes(passed=6)
        accounts = {p["account"] for p in server.client().profiles()}
        assert len(accounts) == 2  # one per worker


def test_async_variant_for_pytest_aiohttp_users(pytester):
    pytester.makepyfile(
        """
import pytest

@pytest.mark.asyncio
async def test_in_process(altcraft_mock_aio):
    answer = await altcraft_mock_aio.post("/api/v1.1/workflows/import_and_start_batch_task",
        json={"token": "abcdefghijklmnqrstuvwxyz", "workflow_id": 2,
              "data": [{"data": {"email": "aio@example.com"}}]})
    body = await answer.json()
    assert body["error"] == 0
    health = await (await altcraft_mock_aio.get("/_mock/health")).json()
    assert health["counts"]["tasks"] == 1
"""
    )
    run(pytester).assert_outcomes(passed=1)
