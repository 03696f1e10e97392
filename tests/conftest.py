"""Shared test helpers.

`api_client` builds the real app in-process (pytest-aiohttp) and returns an
`ApiClient` whose every answer is checked against the response schemas in
`schemas/`: a success against the method's response schema, an error against
the error envelope. A test therefore cannot pass on an answer outside the
contract.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mockserver.api import API_METHODS
from mockserver.app import create_app
from mockserver.app_keys import STATE
from mockserver.config import settings_for_tests
from mockserver.schemas import shipped_schemas
from mockserver.state import MockState

pytest_plugins = ["pytester"]

TOKEN = "abcdefghijklmnqrstuvwxyz"  # the reference page's token, in the default fixture
BATCH_TASK = "workflows/import_and_start_batch_task"
STATUS = "tasks/status"

_SCHEMAS = shipped_schemas()
_RESPONSE_SCHEMA = {m.name: m.response_schema for m in API_METHODS}


def check_against_contract(method: str | None, body: Any) -> None:
    """Assert an answer fits the response schemas (the suite's contract check)."""
    assert isinstance(body, dict), body
    if body.get("error") == 0 and method in _RESPONSE_SCHEMA:
        problems = _SCHEMAS[_RESPONSE_SCHEMA[method]].problems(body)
    else:
        problems = _SCHEMAS["error.response"].problems(body)
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
    def state(self) -> MockState:
        return self.http.server.app[STATE]

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


@pytest.fixture
def make_api(aiohttp_client: Any) -> ApiClientFactory:
    """`await make_api(progression="instant", ...)`: a client on a fresh in-memory server."""

    async def build(*, token: str = TOKEN, **settings: Any) -> ApiClient:
        app = create_app(settings_for_tests(**settings))
        return ApiClient(await aiohttp_client(app), token)

    return build


@pytest.fixture
async def api(make_api: ApiClientFactory) -> ApiClient:
    """A client on a fresh in-memory server with default settings (polls, 2 steps)."""
    return await make_api()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts the real server as a process (`e2e`) is `slow`, whatever
    its folder (examples/ included: the plugin's fixtures start the process);
    heavy in-process tests carry `slow` themselves. `make test-fast` runs the rest."""
    for item in items:
        if item.get_closest_marker("e2e") or "altcraft_mock_server" in item.fixturenames:
            item.add_marker(pytest.mark.slow)


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
