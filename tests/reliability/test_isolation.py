"""Isolation and exposure (issue 7, item 5).

- Accounts never see each other's tasks, profiles or journal entries, tried
  through every vendor method (the route table: a new method without a check
  here fails the suite) and through the control API's per-token views. The two
  accounts share database and workflow ids and even emails, so nothing can
  line up by accident.
- The server binds 127.0.0.1 unless told otherwise.
- With `--admin-token`, no `/_mock/` call but health (and the dashboard's static
  files, which hold no data) succeeds without it, however the path is spelled,
  and nothing changes.
- Tokens, vendor and admin, are masked in the log and in the journal.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from mockserver.api import API_METHODS
from mockserver.config import Settings
from mockserver.control.table import CONTROL_ROUTES
from mockserver.http.access import OPEN_CONTROL_PATHS
from tests.helpers import ApiClient
from tests.reliability.helpers import ServerProcess, figure, other_address, raw_exchange, status_of

ALPHA = "alpha-secret-token-1111111111"
BETA = "beta-secret-token-2222222222"
ADMIN = "admin-secret-token-3333333333"
SHARED_EMAIL = "same@example.com"

FIXTURE = {
    "accounts": [
        {
            "name": "alpha",
            "tokens": [ALPHA],
            "databases": [
                {"db_id": 1, "name": "Alpha", "fields": {"CRM_ID": "string"}},
                {"db_id": 5, "name": "Alpha only", "fields": {}},
            ],
            "workflows": [
                {"id": 2, "name": "Alpha import", "db_id": 1, "is_active": True},
                {"id": 77, "name": "Alpha only", "db_id": 1, "is_active": True},
            ],
            "triggers": [{"id": 78, "name": "Alpha only", "db_id": 1}],
        },
        {
            "name": "beta",
            "tokens": [BETA],
            "databases": [{"db_id": 1, "name": "Beta", "fields": {"CRM_ID": "string"}}],
            "workflows": [{"id": 2, "name": "Beta import", "db_id": 1, "is_active": True}],
            "triggers": [{"id": 9, "name": "Beta trigger", "db_id": 1}],
        },
    ]
}


@pytest.fixture
def fixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(FIXTURE))
    return path


# -- accounts ----------------------------------------------------------------------------


async def call(api: ApiClient, method: str, token: str, **body: Any) -> dict[str, Any]:
    answer = await api.call(method, {"token": token, **body})
    return answer.body


async def test_accounts_never_see_each_others_data_through_any_vendor_method(
    make_api, fixture_file
):
    api = await make_api(fixtures=(str(fixture_file),), progression="instant")
    items = [{"data": {"email": SHARED_EMAIL, "CRM_ID": "alpha-1"}}]
    alpha_task = (
        await call(api, "workflows/import_and_start_batch_task", ALPHA, workflow_id=2, data=items)
    )["task_id"]
    alpha_id = (await call(api, "tasks/status", ALPHA, task_id=alpha_task))["data"]["result"][
        "result"
    ][0]["profile_id"]
    tried: set[str] = set()

    async def beta(method: str, **body: Any) -> dict[str, Any]:
        tried.add(method)
        return await call(api, method, BETA, **body)

    # Alpha's task and profile id, seen from beta: not found, nothing engaged or made.
    assert (await beta("tasks/status", task_id=alpha_task))["error_text"] == "Task not found"
    by_id = {"matching": "profile_id", "profile_id": alpha_id}
    assert (await beta("profiles/get", db_id=1, **by_id))["error"] == 404
    assert (await beta("workflows/start", id=2, **by_id))["error"] == 404
    assert (await beta("workflows/import_and_start", workflow_id=2, data={}, **by_id))[
        "error"
    ] == 404
    assert (await beta("profiles/import", db_id=1, data={}, **by_id))["error"] == 404
    batch = [{"profile_id": alpha_id, "data": {"CRM_ID": "beta-was-here"}}]
    result = await beta(
        "workflows/import_and_start_batch", workflow_id=2, matching="profile_id", data=batch
    )
    assert result["result"][0]["error"] == 404
    task = (
        await beta(
            "workflows/import_and_start_batch_task",
            workflow_id=2,
            matching="profile_id",
            data=batch,
        )
    )["task_id"]
    assert (await beta("tasks/status", task_id=task))["data"]["result"]["result"][0]["error"] == 404
    flat = [{"profile_id": alpha_id, "CRM_ID": "beta-was-here"}]
    result = await beta("profiles/import_batch", db_id=1, matching="profile_id", data=flat)
    assert "profile_id" not in result["result"][0], result  # an item error, never alpha's
    assert (await beta("profiles/delete", db_id=1, **by_id))["error"] == 404
    assert (await beta("campaigns/triggers/start", id=9, **by_id))["error"] == 404
    assert (await beta("campaigns/triggers/import_and_start", trigger_id=9, data={}, **by_id))[
        "error"
    ] == 404
    for method, id_field in (
        ("campaigns/triggers/start_batch", "trigger_id"),
        ("campaigns/triggers/import_and_start_batch", "trigger_id"),
    ):
        result = await beta(method, matching="profile_id", data=batch, **{id_field: 9})
        assert result["result"][0]["error"] == 404, method
    for method, id_field in (
        ("campaigns/triggers/start_batch_task", "id"),
        ("campaigns/triggers/import_and_start_batch_task", "trigger_id"),
    ):
        task = (await beta(method, matching="profile_id", data=batch, **{id_field: 9}))["task_id"]
        status = await beta("tasks/status", task_id=task)
        assert status["data"]["result"]["result"][0]["error"] == 404, method
    assert (await beta("campaigns/triggers/start", id=78, email=SHARED_EMAIL))[
        "error_text"
    ] == "Trigger not found"
    assert [t["id"] for t in (await beta("campaigns/triggers/list"))["data"]] == [9]
    query = {"custom_request": {"id": alpha_id}}
    assert (await beta("profiles/get", db_id=1, **query))["error"] == 404
    # The same email in beta is beta's own profile, never alpha's.
    assert (await beta("profiles/get", db_id=1, email=SHARED_EMAIL))["error"] == 404
    mine = await beta("profiles/import", db_id=1, email=SHARED_EMAIL, data={"CRM_ID": "beta-1"})
    assert mine["profile_id"] != alpha_id
    # Alpha's own workflow and database are not beta's to see or switch.
    listed = await beta("workflows/list")
    assert [workflow["id"] for workflow in listed["data"]] == [2]
    assert (await beta("workflows/deactivate", id=77))["error_text"] == "Workflow not found"
    assert (await beta("workflows/activate", id=77))["error_text"] == "Workflow not found"
    assert [db["id"] for db in (await beta("databases/list"))["data"]] == [1]
    assert tried == {method.name for method in API_METHODS}, "a vendor method is not tried here"

    # Alpha's profile is untouched; alpha's workflow 77 still active.
    profile = (await call(api, "profiles/get", ALPHA, db_id=1, email=SHARED_EMAIL))["data"]
    assert (profile["id"], profile["CRM_ID"]) == (alpha_id, "alpha-1")
    assert 77 in [
        w["id"] for w in (await call(api, "workflows/list", ALPHA))["data"] if w["is_active"]
    ]

    # The control API's per-token views show each account only its own.
    await beta(
        "workflows/import_and_start_batch", workflow_id=2, data=[{"data": {"email": SHARED_EMAIL}}]
    )
    for token, other in ((BETA, ALPHA), (ALPHA, BETA)):
        for path in ("/_mock/profiles", "/_mock/engagements", "/_mock/requests"):
            view = (await api.control("GET", f"{path}?token={token}&limit=1000")).body
            text = json.dumps(view)
            entries = next(value for key, value in view.items() if isinstance(value, list))
            owner = "alpha" if token == ALPHA else "beta"
            assert entries and all(entry["account"] == owner for entry in entries), (path, view)
            assert other[:8] not in text
    figure("isolation-accounts", vendor_methods=len(tried), control_views=3, leaks=0)


# -- binding --------------------------------------------------------------------------------


def _reachable(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.e2e
def test_the_server_binds_loopback_unless_told(tmp_path):
    assert Settings().host == "127.0.0.1"
    other = other_address()
    with ServerProcess(tmp_path) as server:
        assert server.host == "127.0.0.1"
        assert _reachable("127.0.0.1", server.port)
        if other is not None:
            assert not _reachable(other, server.port), "reachable from outside loopback"
    if other is not None:  # and the check can tell: told otherwise, it is reachable
        with ServerProcess(tmp_path, "--host", "0.0.0.0") as server:
            assert _reachable(other, server.port)
    figure("binding", default_host="127.0.0.1", checked_from=other or "loopback only")


# -- the admin token --------------------------------------------------------------------------

#: Spellings of protected paths that a lax check might let through.
PATH_VARIANTS = (
    "{path}",
    "{path}/",
    "/{path}",
    "{path}?x=/_mock/health",
    "/_mock/health/../{tail}",
    "/_mock/health/%2e%2e/{tail}",
    "/%5Fmock/{tail}",
    "/_mock/./{tail}",
    "/_mock//{tail}",
    "/_MOCK/{tail}",
    "{path}%00",
)


def _concrete(path: str) -> str:
    return path.replace("{task_id}", "no-such-task").replace("{fault_id}", "fault_1")


@pytest.mark.e2e
def test_with_an_admin_token_no_control_call_but_health_succeeds_without_it(tmp_path):
    with ServerProcess(tmp_path, "--admin-token", ADMIN, "--progression", "instant") as server:
        server.api(
            "workflows/import_and_start_batch",
            {"workflow_id": 2, "data": [{"data": {"email": "a@b.io"}}]},
        )
        admin = {"Authorization": f"Bearer {ADMIN}"}
        before = server.control("GET", "/_mock/health")["counts"]
        journal_before = server.control("GET", "/_mock/requests", **admin)["total"]
        tried = 0
        for route in CONTROL_ROUTES:
            path = _concrete(route.path)
            if path in OPEN_CONTROL_PATHS:
                continue
            body = {} if route.method in ("POST", "PUT") else None
            for variant in PATH_VARIANTS:
                target = variant.format(path=path, tail=path.removeprefix("/_mock/"))
                for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN}):
                    status, answer = server.request(route.method, target, body, headers)
                    tried += 1
                    assert status in (401, 403, 404, 405) or (
                        status == 200
                        and isinstance(answer, dict)
                        and answer.get("error") in (404, 405)
                    ), (route.method, target, headers, status, answer)
        assert server.control("GET", "/_mock/health")["counts"] == before
        assert server.control("GET", "/_mock/requests", **admin)["total"] >= journal_before
        assert server.control("GET", "/_mock/faults", **admin)["faults"] == []
        # Health stays open (a container's HEALTHCHECK has no token); the dashboard's
        # static files are open too and carry no data.
        for path in sorted(OPEN_CONTROL_PATHS):
            status, answer = server.request("GET", path)
            assert status == 200, path
            assert ALPHA not in str(answer) and "a@b.io" not in str(answer)
        assert server.crash_lines() == []
    figure("admin-token", control_routes=len(CONTROL_ROUTES), requests=tried, succeeded=0)


# -- tokens in the log and the journal -----------------------------------------------------------


@pytest.mark.e2e
def test_tokens_are_masked_in_the_log_and_in_the_journal(tmp_path, fixture_file):
    args = ("--fixtures", str(fixture_file), "--admin-token", ADMIN, "--journal-control", "true")
    with ServerProcess(tmp_path, *args, "--log-level", "DEBUG", "--access-log", "true") as server:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        body = {"workflow_id": 2, "data": [{"data": {"email": "a@b.io"}}]}
        server.request(
            "POST", "/api/v1.1/workflows/import_and_start_batch_task", {"token": ALPHA, **body}
        )
        server.request(
            "POST",
            "/api/v1.1/workflows/import_and_start_batch_task",
            body,
            {"Authorization": f"Bearer {ALPHA}"},
        )
        server.request(
            "POST", f"/api/v1.1/workflows/import_and_start_batch_task?token={ALPHA}", body
        )
        server.request(
            "POST",
            "/api/v1.1/tasks/status",
            f"token={ALPHA}&task_id=1".encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        server.request(
            "POST", "/api/v1.1/tasks/status", f'{{"token": "{ALPHA}", "task_id": '.encode()
        )
        server.request(
            "POST", "/api/v1.1/tasks/status", f'{{"token": "{ALPHA}", "token": "{BETA}"}}'.encode()
        )
        server.request(
            "POST",
            "/_mock/faults",
            {"action": "delay", "delay_ms": 0, "match": {"token": BETA}},
            admin,
        )
        server.request("GET", "/_mock/faults", None, admin)
        server.request("GET", f"/_mock/profiles?token={BETA}", None, admin)
        server.request("POST", "/_mock/reset", {"token": BETA, "scopes": ["faults"]}, admin)
        server.request(
            "POST",
            "/_mock/fixtures",
            {"accounts": [{"name": "gamma", "tokens": ["gamma-secret-token-4444444444"]}]},
            admin,
        )
        bad = f"GET /_mock/requests?token={ALPHA} HTTP/1.1\r\nHost: x\r\nX-Bad: \x01\r\n\r\n"
        raw_exchange(server.host, server.port, bad.encode())
        status, journal = server.request("GET", "/_mock/requests?limit=1000", None, admin)
        assert status == 200 and len(journal["requests"]) >= 11
        secrets = (ALPHA, BETA, ADMIN, "gamma-secret-token-4444444444")
        journal_text, log_text = json.dumps(journal, ensure_ascii=False), server.stderr()
        assert "aiohttp.access" in log_text  # the request lines are logged, masked
        for secret in secrets:
            assert secret not in journal_text, secret
            assert secret not in log_text, secret
        assert ALPHA[:4] + "…" in journal_text and ALPHA[:4] + "…" in log_text
        assert server.crash_lines() == []
    figure("token-masking", secrets=len(secrets), requests=13, leaks=0)


@pytest.mark.e2e
def test_tokens_are_masked_whatever_the_query_calls_them(tmp_path, fixture_file):
    """Issue 17 item 18: a parameter name is judged decoded (`?%74oken=` is the `token`
    the server reads), secret-looking names (`access_token`, `authorization=Bearer …`)
    are masked, and so is any query value that is a known token, whatever its name."""
    args = ("--fixtures", str(fixture_file), "--admin-token", ADMIN, "--journal-control", "true")
    encoded_alpha = "".join(f"%{byte:02X}" for byte in ALPHA.encode())
    with ServerProcess(tmp_path, *args, "--log-level", "DEBUG", "--access-log", "true") as server:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        vendor = [
            f"/api/v1.1/databases/list?%74oken={ALPHA}",
            f"/api/v1.1/databases/list?%74%6F%6B%65%6E={BETA}",
            f"/api/v1.1/databases/list?token={encoded_alpha}",
            f"/api/v1.1/databases/list?%74oken={ALPHA}&api_key={BETA}&access_token={ALPHA}",
        ]
        for path in vendor:
            status, answer = server.request("POST", path, {})
            assert (status, answer["error"]) == (200, 0), (path, answer)  # authenticated
        control = [
            f"/_mock/requests?access_token={ADMIN}",
            f"/_mock/requests?authorization=Bearer%20{ADMIN}",
            f"/_mock/requests?authorization=Bearer+{ADMIN}",
            f"/_mock/requests?Authorization=bearer%20{ADMIN}",
            f"/_mock/faults?x={ADMIN}",
            f"/_mock/faults?q={ALPHA}&r={BETA}",
            f"/_mock/faults?q={encoded_alpha}",
            f"/_mock/faults?%71=%20{BETA}%20",
            f"/_mock/profiles?%74oken={BETA}",
        ]
        for path in control:
            server.request("GET", path, None, admin)
            server.request("GET", path)  # refused without the admin token: logged too
        status, journal = server.request("GET", "/_mock/requests?limit=1000", None, admin)
        assert status == 200
        journal_text, log_text = json.dumps(journal, ensure_ascii=False), server.stderr()
        assert log_text.count("aiohttp.access") >= len(vendor) + 2 * len(control)
        for secret in (ALPHA, BETA, ADMIN, encoded_alpha):
            assert secret not in journal_text, secret
            assert secret not in log_text, secret
        for shown in (f"%74oken={ALPHA[:4]}…", f"access_token={ADMIN[:4]}…", f"x={ADMIN[:4]}…"):
            assert shown in log_text, shown
        masked = [entry["query"] for entry in journal["requests"] if entry["query"]]
        assert {"access_token": ADMIN[:4] + "…"} in masked
        assert {"authorization": f"Bearer {ADMIN[:4]}…"} in masked
        assert {"q": ALPHA[:4] + "…", "r": BETA[:4] + "…"} in masked
        assert server.crash_lines() == []
    figure("token-masking-query", secrets=3, requests=len(vendor) + 2 * len(control), leaks=0)


@pytest.mark.e2e
def test_a_raw_request_line_with_a_token_is_not_echoed_in_the_log(tmp_path):
    with ServerProcess(tmp_path) as server:
        answer = raw_exchange(
            server.host,
            server.port,
            f"POST /api/v1.1/tasks/status?token={ALPHA} HTTP/9.9\r\nHost: x\r\n\r\n".encode(),
        )
        assert status_of(answer) == 400
        assert ALPHA not in server.stderr()
