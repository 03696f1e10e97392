"""Helpers shared by the control-plane tests (journal, inspection, reset, progression).

Every control answer goes through `ok()` or `refused()`, which check the HTTP
status and the body against `schemas/control/*.response.json` or the error
envelope, so a test cannot pass on an answer outside the contract.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mockserver.schemas import shipped_schemas
from tests.conftest import BATCH_TASK, STATUS, ApiClient

SCHEMAS = shipped_schemas()
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
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


async def faults(api: ApiClient) -> list[dict[str, Any]]:
    return (await ok(api, "GET", "/_mock/faults", "control/faults.response"))["faults"]


async def reset(api: ApiClient, **body: Any) -> dict[str, Any]:
    return await ok(api, "POST", "/_mock/reset", "control/ok.response", json=body)


async def status_of_unknown(api: ApiClient, **fields: Any) -> None:
    """A cheap vendor call: `tasks/status` of a task that does not exist (error 404)."""
    answer = await api.call(STATUS, {"task_id": "no-such-task", **fields})
    assert answer.body["error"] == 404, answer.body


def write_fixture(directory: Path, document: dict[str, Any], name: str = "seed.json") -> str:
    path = directory / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def without(record: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in keys}
