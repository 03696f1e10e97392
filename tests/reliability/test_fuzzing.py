"""Schema-driven fuzzing (issue 7, item 1): schemathesis against the server's own
OpenAPI document.

The real server runs as a process; schemathesis loads `GET /_mock/openapi.json`
from it and, for every operation, sends a fixed number of generated requests,
valid and invalid ones, with a fixed seed. Every answer must have a documented
status and content type and fit the documented response schema (the vendor
envelope on errors); no answer may be a server error, either as an HTTP 5xx
or as `error` >= 500 in an HTTP-200 envelope (no fault is injected here); and
the process must still be up, with no traceback in its log, at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from mockserver.api import API_METHODS
from mockserver.control.table import CONTROL_ROUTES
from mockserver.openapi import build_document
from mockserver.schemas import shipped_schemas
from tests.reliability.helpers import TOKEN, ServerProcess, figure

pytestmark = pytest.mark.e2e

SEED = 20_240_607
EXAMPLES_PER_OPERATION = 15

#: Workflow and database ids the fixture knows (2 active, 3 inactive) and one it does
#: not: generated ids are folded onto these so requests get past "not found".
WORKFLOW_IDS = (1, 2, 233, 3, 999)
DB_IDS = (1, 7)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "phases": {
            "examples": {"enabled": True},
            "fuzzing": {"enabled": True},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
        "generation": {
            "mode": "all",  # schema-valid and schema-violating requests
            "max-examples": EXAMPLES_PER_OPERATION,
            "database": "none",
        },
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    }
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("fuzz")
    with ServerProcess(workdir, "--seed", "7", "--progression", "instant") as running:
        yield running
        assert running.alive(), "the server died during fuzzing"
        assert running.crash_lines() == [], running.crash_lines()
        # One line per pytest-xdist worker (each fuzzes its share of the operations).
        figure(
            "fuzzing",
            operations=len(_SENT),
            requests=sum(_SENT.values()),
            examples_per_operation=EXAMPLES_PER_OPERATION,
            seed=SEED,
            server_errors=0,
        )


def _document() -> dict[str, Any]:
    """The document `GET /_mock/openapi.json` answers, built by the same call the
    handler makes (schemathesis needs the operations when tests are collected);
    `test_the_fuzzed_document_is_the_served_one` checks the two are equal."""
    return build_document(shipped_schemas(), API_METHODS, CONTROL_ROUTES)


schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)

_SENT: dict[str, int] = {}


def no_server_error_in_the_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Under the default `always_200` policy a vendor failure is HTTP 200 with `error`: 500."""
    if not case.path.startswith("/api/"):
        return None  # control answers use real statuses (and fault rules carry `error`)
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, int) and not isinstance(error, bool) and error >= 500:
        raise AssertionError(f"server error in the envelope: {body}")
    return None


CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    no_server_error_in_the_envelope,
]


def _steer(body: Any, path: str) -> None:
    """Give a vendor call the fixture's token and fold ids onto known ones, so the
    generated requests reach matching, merging and tasks instead of stopping at 403."""
    if not isinstance(body, dict) or not path.startswith("/api/"):
        return
    body["token"] = TOKEN
    for key, known in (("workflow_id", WORKFLOW_IDS), ("id", WORKFLOW_IDS), ("db_id", DB_IDS)):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            body[key] = known[value % len(known)]


@schema.parametrize()
def test_every_operation_answers_within_its_contract(case: Any, server: ServerProcess) -> None:
    _steer(case.body, case.path)
    with requests.Session() as session:
        case.call_and_validate(base_url=server.url, session=session, checks=CHECKS, timeout=30)
        _SENT[case.operation.label] = _SENT.get(case.operation.label, 0) + 1
        # Side effects that would leak into later cases: injected faults (they answer
        # 5xx on purpose) and deactivated workflows. Both go back to the fixtures.
        if case.path == "/_mock/faults" and case.method.upper() == "POST":
            session.delete(server.url + "/_mock/faults", timeout=30)
        if case.path.endswith("/deactivate"):
            session.post(server.url + "/_mock/reset", json={"scopes": ["data"]}, timeout=30)


def test_the_fuzzed_document_is_the_served_one(server: ServerProcess) -> None:
    assert server.control("GET", "/_mock/openapi.json") == _document()


def test_the_server_survived_the_fuzzing(server: ServerProcess) -> None:
    """Still answering, nothing logged as a crash (the fixture checks again at the end)."""
    assert server.control("GET", "/_mock/health")["status"] == "ok"
    assert server.crash_lines() == []
