"""Helpers the tests import (fixtures live in conftest.py, which nothing imports).

`ApiClient` sends vendor API calls over real HTTP to an in-process server and
checks every answer against the response schemas in `schemas/`: a success
against the method's response schema, an error against the error envelope.
Control calls go through `ok()` or `refused()`, which check the HTTP status and
the body against `schemas/control/*.response.json` or the error envelope. A
test therefore cannot pass on an answer outside the contract.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

import mockserver.domain.batch
from mockserver.api import API_METHODS
from mockserver.backend import Backend
from mockserver.keys import BACKEND
from mockserver.schemas import shipped_schemas

#: The import core runs compiled: a wheel's build is on PYTHONPATH (`make test`'s
#: second pass, `make test-compiled`). Its functions and classes are then native code.
COMPILED = not str(mockserver.domain.batch.__file__).endswith(".py")
#: A test that replaces a function or method of the import core (monkeypatch) to
#: watch or break it: compiled code calls the original directly.
replaces_core_code = pytest.mark.skipif(
    COMPILED, reason="replaces a function of the import core, which runs compiled here"
)


def load_script(name: str) -> ModuleType:
    """One of scripts/*.py (not a package) as a module."""
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(name, root / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOKEN = "abcdefghijklmnqrstuvwxyz"  # the reference page's token, in the default fixture
BATCH_TASK = "workflows/import_and_start_batch_task"
STATUS = "tasks/status"

SCHEMAS = shipped_schemas()
_RESPONSE_SCHEMA = {m.name: m.response_schema for m in API_METHODS}


def check_against_contract(method: str | None, body: Any) -> None:
    """Assert an answer fits the response schemas (the suite's contract check)."""
    assert isinstance(body, dict), body
    if body.get("error") == 0 and method in _RESPONSE_SCHEMA:
        problems = SCHEMAS[_RESPONSE_SCHEMA[method]].problems(body)
    else:
        problems = SCHEMAS["error.response"].problems(body)
    assert not problems, f"answer outside the contract: {problems}: {body}"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: Any


class ApiClient:
    """Sends vendor API calls over real HTTP to an in-process server."""

    def __init__(self, client: TestClient, token: str = TOKEN) -> None:
        self.http = client
        self.token = token

    @property
    def state(self) -> Backend:
        return self.http.server.app[BACKEND]

    async def call(
        self, method: str, body: dict[str, Any] | None = None, *, token: bool = True, **kwargs: Any
    ) -> Answer:
        payload = dict(body or {})
        if token and "token" not in payload:
            payload["token"] = self.token
        return await self.raw(
            "POST", f"/api/v1.1/{method}", json=payload, method_name=method, **kwargs
        )

    async def raw(
        self, http_method: str, path: str, *, method_name: str | None = None, **kwargs: Any
    ) -> Answer:
        async with self.http.request(http_method, path, **kwargs) as response:
            body = await response.json(content_type=None)
            check_against_contract(method_name, body)
            return Answer(response.status, body, response.headers)

    async def import_batch(self, items: list[Any], **fields: Any) -> str:
        body = {"workflow_id": 2, "matching": "email", "data": items, **fields}
        answer = await self.call(BATCH_TASK, body)
        assert answer.body["error"] == 0, answer.body
        return answer.body["task_id"]

    async def status(self, task_id: str) -> dict[str, Any]:
        answer = await self.call(STATUS, {"task_id": task_id})
        assert answer.body["error"] == 0, answer.body
        return answer.body["data"]

    async def run_to_end(self, task_id: str, max_polls: int = 50) -> dict[str, Any]:
        for _ in range(max_polls):
            data = await self.status(task_id)
            if data["status"] in ("completed", "failed"):
                return data
        raise AssertionError(f"task {task_id} did not finish in {max_polls} polls")

    async def import_and_finish(self, items: list[Any], **fields: Any) -> list[dict[str, Any]]:
        """Import a batch, poll it to the end, return the per-item results."""
        data = await self.run_to_end(await self.import_batch(items, **fields))
        assert data["status"] == "completed", data
        return data["result"]["result"]

    async def control(self, http_method: str, path: str, **kwargs: Any) -> Answer:
        async with self.http.request(http_method, path, **kwargs) as response:
            return Answer(response.status, await response.json(content_type=None), response.headers)


async def ok_body(api: ApiClient, method: str, body: dict[str, Any]) -> dict[str, Any]:
    """A vendor call that must succeed; its answer's body."""
    answer = await api.call(method, body)
    assert answer.body["error"] == 0, answer.body
    return answer.body


ApiClientFactory = Callable[..., Awaitable[ApiClient]]


def person(n: int, **extra: Any) -> dict[str, Any]:
    """An item in the reference page's shape."""
    return {
        "data": {
            "_fname": f"Name{n}",
            "_lname": "Lambert",
            "email": f"profile{n}@example.com",
            "phones": f"+7900000{n:04d}",
            **extra,
        }
    }


# -- the control API (/_mock) ------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TWO_ACCOUNTS = str(FIXTURES / "two_accounts.json")
ALPHA = "alpha-token-0000000000000001"
BETA = "beta-token-0000000000000002"
BETA_SECOND = "beta-token-0000000000000003"
BATCH_PATH = f"/api/v1.1/{BATCH_TASK}"
STATUS_PATH = f"/api/v1.1/{STATUS}"
#: `clock.iso`: UTC, microseconds, `Z`.
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
INVALID_REQUEST_TEXT = "Invalid request"


def check_schema(schema: str, body: Any) -> None:
    problems = SCHEMAS[schema].problems(body)
    assert not problems, f"answer outside {schema}: {problems}: {body}"


async def ok(
    api: ApiClient, http_method: str, path: str, schema: str, *, status: int = 200, **kwargs: Any
) -> dict[str, Any]:
    """A control call that must succeed; its body, checked against `schema`."""
    answer = await api.control(http_method, path, **kwargs)
    assert answer.status == status, (answer.status, answer.body)
    check_schema(schema, answer.body)
    return answer.body


async def refused(
    api: ApiClient, http_method: str, path: str, status: int, **kwargs: Any
) -> dict[str, Any]:
    """A control call that must fail with a real HTTP status and the envelope."""
    answer = await api.control(http_method, path, **kwargs)
    assert answer.status == status, (answer.status, answer.body)
    check_schema("error.response", answer.body)
    assert answer.body["error"] == status, answer.body
    return answer.body


def envelope(code: int, debug: str, text: str = INVALID_REQUEST_TEXT) -> dict[str, Any]:
    return {"error": code, "error_debug": debug, "error_text": text}


async def journal(api: ApiClient, **query: Any) -> dict[str, Any]:
    params = {key: str(value) for key, value in query.items()}
    return await ok(api, "GET", "/_mock/requests", "control/requests.response", params=params)


async def entries(api: ApiClient, **query: Any) -> list[dict[str, Any]]:
    return (await journal(api, **query))["requests"]


async def profiles(api: ApiClient, **query: Any) -> dict[str, Any]:
    params = {key: str(value) for key, value in query.items()}
    return await ok(api, "GET", "/_mock/profiles", "control/profiles.response", params=params)


async def engagements(api: ApiClient, **query: Any) -> dict[str, Any]:
    params = {key: str(value) for key, value in query.items()}
    return await ok(api, "GET", "/_mock/engagements", "control/engagements.response", params=params)


async def tasks(api: ApiClient) -> dict[str, Any]:
    return await ok(api, "GET", "/_mock/tasks", "control/tasks.response")


async def task(api: ApiClient, task_id: str) -> dict[str, Any]:
    return await ok(api, "GET", f"/_mock/tasks/{task_id}", "control/task.response")


async def health_counts(api: ApiClient) -> dict[str, int]:
    return (await ok(api, "GET", "/_mock/health", "control/health.response"))["counts"]


async def add_fault(api: ApiClient, **rule: Any) -> dict[str, Any]:
    return await ok(api, "POST", "/_mock/faults", "control/fault.response", status=201, json=rule)


async def list_faults(api: ApiClient) -> dict[str, Any]:
    """`GET /_mock/faults`: every rule and the total."""
    return await ok(api, "GET", "/_mock/faults", "control/faults.response")


async def faults(api: ApiClient) -> list[dict[str, Any]]:
    return (await list_faults(api))["faults"]


async def get_fault(api: ApiClient, fault_id: str) -> dict[str, Any]:
    return await ok(api, "GET", f"/_mock/faults/{fault_id}", "control/fault.response")


async def reset(api: ApiClient, **body: Any) -> dict[str, Any]:
    return await ok(api, "POST", "/_mock/reset", "control/ok.response", json=body)


async def status_call(api: ApiClient, **fields: Any) -> Answer:
    """A cheap vendor call never faulted by itself: `tasks/status` of a task that
    does not exist (a 404 unless a fault rule answers instead)."""
    return await api.call(STATUS, {"task_id": "no-such-task", **fields})


async def status_of_unknown(api: ApiClient, **fields: Any) -> None:
    """`status_call`, answered with its 404."""
    answer = await status_call(api, **fields)
    assert answer.body["error"] == 404, answer.body


def write_fixture(directory: Path, document: dict[str, Any], name: str = "seed.json") -> str:
    path = directory / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def without(record: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in keys}


# -- the browser (tests/ui, tests/reliability/test_cross_site.py) ---------------------------

BROWSER_ENV = "ALTCRAFT_MOCK_CHROMIUM"  # a Chromium binary to use instead of the one on PATH
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """Debian's `chromium` (or `$ALTCRAFT_MOCK_CHROMIUM`), never one Playwright downloads."""
    wanted = os.environ.get(BROWSER_ENV)
    if wanted:
        return wanted if Path(wanted).exists() else shutil.which(wanted)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None
