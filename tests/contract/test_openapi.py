"""The OpenAPI document: valid, complete, and true to what the server answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.api import API_METHODS
from tests.helpers import BATCH_TASK, STATUS, person

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.json"


@pytest.fixture
async def document(api) -> dict[str, Any]:
    answer = await api.control("GET", "/_mock/openapi.json")
    assert answer.status == 200
    return answer.body


def answer_schema(document: dict[str, Any], path: str, method: str, status: int) -> Any:
    """A validator for the documented answer of one operation and status."""
    assert str(status) in document["paths"][path][method.lower()]["responses"], (path, status)
    # Point into the document itself, so refs inside it resolve against it.
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in (
            "paths",
            path,
            method.lower(),
            "responses",
            str(status),
            "content",
            "application/json",
            "schema",
        )
    )
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:openapi", resource)
    return jsonschema.Draft202012Validator({"$ref": f"urn:openapi#/{pointer}"}, registry=registry)


async def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"] == "3.1.0"


async def test_every_served_route_is_documented_and_nothing_else(api, document):
    served = {
        (route.method, route.resource.canonical)
        for route in api.http.server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/_mock/")
        # The fallback of each control path: other methods get a 405 envelope.
        and route.method != "*"
    }
    served |= {("POST", f"/api/v1.1/{m.name}") for m in API_METHODS}
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert served == documented


async def test_the_committed_openapi_json_is_current(document):
    assert json.loads(COMMITTED.read_text()) == document, "run `make openapi`"


async def test_vendor_answers_match_the_document(api, document):
    batch = await api.call(BATCH_TASK, {"workflow_id": 2, "data": [person(1), person(2)]})
    status = await api.call(STATUS, {"task_id": batch.body["task_id"]})
    refused = await api.call(BATCH_TASK, {"workflow_id": "2", "data": []})
    for path, answer in (
        (f"/api/v1.1/{BATCH_TASK}", batch),
        (f"/api/v1.1/{STATUS}", status),
        (f"/api/v1.1/{BATCH_TASK}", refused),
    ):
        answer_schema(document, path, "POST", answer.status).validate(answer.body)
    assert refused.body["error"] == 400


async def test_control_answers_match_the_document(api, document):
    task_id = await api.import_batch([person(1)])
    calls = [
        ("GET", "/_mock/health", "/_mock/health", None),
        ("GET", "/_mock/tasks", "/_mock/tasks", None),
        ("GET", f"/_mock/tasks/{task_id}", "/_mock/tasks/{task_id}", None),
        ("POST", f"/_mock/tasks/{task_id}/advance", "/_mock/tasks/{task_id}/advance", {}),
        ("GET", "/_mock/requests", "/_mock/requests", None),
        ("GET", "/_mock/profiles", "/_mock/profiles", None),
        ("GET", "/_mock/engagements", "/_mock/engagements", None),
        ("POST", "/_mock/faults", "/_mock/faults", {"action": "delay", "delay_ms": 1}),
        ("GET", "/_mock/faults", "/_mock/faults", None),
        ("GET", "/_mock/progression", "/_mock/progression", None),
        ("PUT", "/_mock/progression", "/_mock/progression", {"default": {"mode": "instant"}}),
        ("POST", "/_mock/reset", "/_mock/reset", {}),
        ("GET", "/_mock/tasks/nope", "/_mock/tasks/{task_id}", None),
    ]
    for method, url, path, body in calls:
        answer = await api.control(method, url, json=body)
        answer_schema(document, path, method, answer.status).validate(answer.body)
