"""The OpenAPI 3.1 document, generated from `schemas/` and the route tables.

Schemas are embedded under `components/schemas` (one component per schema
file, named by its path with dots) and their `$ref`s rewritten to point there,
so the document is self-contained: no reference leaves it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urldefrag, urljoin

from mockserver import package_version
from mockserver.api.router import ApiMethod
from mockserver.control.routes import ControlRoute
from mockserver.http.paths import API_PREFIX
from mockserver.schemas import SchemaSet

VENDOR_ERROR_CODES = (400, 401, 403, 404, 405, 429, 500, 503)
CONTROL_ERROR_CODES = (400, 401, 403, 404)
_PATH_PARAM = re.compile(r"{([a-z_]+)}")


def component_name(schema_name: str) -> str:
    return schema_name.replace("/", ".")


def component_ref(schema_name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{component_name(schema_name)}"}


def _components(schemas: SchemaSet) -> dict[str, Any]:
    by_id = {doc["$id"]: name for name, doc in schemas.documents.items()}
    components = {}
    for name, doc in schemas.documents.items():
        embedded = copy.deepcopy(doc)
        base = embedded.pop("$id")
        embedded.pop("$schema", None)
        components[component_name(name)] = _rewrite_refs(embedded, base, by_id)
    return components


def _rewrite_refs(node: Any, base: str, by_id: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        rewritten = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                target, fragment = urldefrag(urljoin(base, value))
                rewritten[key] = f"#/components/schemas/{component_name(by_id[target])}{fragment}"
            else:
                rewritten[key] = _rewrite_refs(value, base, by_id)
        return rewritten
    if isinstance(node, list):
        return [_rewrite_refs(entry, base, by_id) for entry in node]
    return node


def _json_content(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": dict(schema)}}


def _vendor_operation(method: ApiMethod) -> dict[str, Any]:
    error = component_ref("error.response")
    success = component_ref(method.response_schema)
    responses: dict[str, Any] = {
        "200": {
            "description": "Success, or (default `always_200` policy) an error in the envelope",
            "content": _json_content({"oneOf": [success, error]}),
        }
    }
    for code in VENDOR_ERROR_CODES:
        responses[str(code)] = {
            "description": f"Error {code} with `--http-status mirror`",
            "content": _json_content(error),
        }
    return {
        "operationId": method.name.replace("/", "_"),
        "summary": method.summary or method.name,
        "tags": [method.name.split("/")[0]],
        "requestBody": {
            "required": True,
            "content": _json_content(component_ref(method.request_schema)),
        },
        "responses": responses,
    }


def _control_operation(route: ControlRoute) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(route.path)
    ]
    parameters += [
        {
            "name": p.shown,
            "in": "query",
            "description": p.description,
            "schema": {"type": p.type},
        }
        for p in route.query
    ]
    if route.content_type != "application/json":
        content = {route.content_type: {"schema": {"type": "string"}}}
    else:
        answer = (
            component_ref(route.response_schema) if route.response_schema else {"type": "object"}
        )
        content = _json_content(answer)
    responses: dict[str, Any] = {
        str(route.status): {"description": route.summary, "content": content}
    }
    for code in CONTROL_ERROR_CODES:
        responses[str(code)] = {
            "description": f"Error {code}",
            "content": _json_content(component_ref("error.response")),
        }
    operation: dict[str, Any] = {
        "operationId": "mock_"
        + re.sub(r"[^a-z0-9]+", "_", f"{route.method} {route.path}".lower()).strip("_"),
        "summary": route.summary,
        "tags": ["control"],
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if route.request_schema:
        operation["requestBody"] = {
            "required": False,
            "content": _json_content(component_ref(route.request_schema)),
        }
    return operation


def build_document(
    schemas: SchemaSet, api_methods: Iterable[ApiMethod], control_routes: Iterable[ControlRoute]
) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method in api_methods:
        paths[f"{API_PREFIX}{method.name}"] = {"post": _vendor_operation(method)}
    for route in control_routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _control_operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "altcraft-mock",
            "version": package_version(),
            "description": (
                "A local emulator of the Altcraft batch profile-import API (vendor paths under "
                f"{API_PREFIX}) and its own control API (under /_mock/). Vendor errors are "
                "answered with HTTP 200 and the code in the body unless the server runs with "
                "`--http-status mirror`."
            ),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "tags": [
            {"name": "workflows", "description": "Vendor API: workflows"},
            {"name": "tasks", "description": "Vendor API: tasks"},
            {"name": "control", "description": "The mock's own API"},
        ],
        "paths": paths,
        "components": {"schemas": _components(schemas)},
    }
