"""The contract: every schema compiles, and violations name the field path."""

from __future__ import annotations

import json

import jsonschema
import pytest

from mockserver.errors import InvalidRequest
from mockserver.schemas import SchemaError, SchemaSet, shipped_schemas

SCHEMAS = shipped_schemas()
BATCH = "workflows/import_and_start_batch_task.request"


def debug_for(name, body):
    with pytest.raises(InvalidRequest) as error:
        SCHEMAS[name].check(body)
    return error.value.debug


def test_every_schema_compiles_with_an_id():
    assert {"common", "error.response", "fixtures.schema", "tasks/status.request"} <= set(
        SCHEMAS.names()
    )
    for name in SCHEMAS.names():
        assert SCHEMAS.documents[name]["$id"].endswith(".json")


def test_every_schema_is_valid_and_compiles_with_both_validators():
    """Start-up checks the meta-schema and every `$ref`; the validators are compiled
    on first use, so here every one is, with both engines."""
    for name in SCHEMAS.names():
        jsonschema.Draft202012Validator.check_schema(SCHEMAS.documents[name])
        assert SCHEMAS[name].fast is not None and SCHEMAS[name].reference is not None


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"type": "nonsense"}, "broken"),
        ({"$ref": "other.json#/$defs/missing"}, "$ref 'other.json#/$defs/missing'"),
        ({"$defs": {"a": {}}, "$ref": "#/$defs/b"}, "$ref '#/$defs/b' does not resolve"),
    ],
)
def test_a_broken_schema_stops_start_up(tmp_path, document, problem):
    (tmp_path / "other.json").write_text(json.dumps({"$id": "https://x.test/other.json"}))
    (tmp_path / "broken.json").write_text(
        json.dumps({"$id": "https://x.test/broken.json", **document})
    )
    with pytest.raises(SchemaError) as error:
        SchemaSet(tmp_path)
    assert "schema broken" in str(error.value)
    if problem != "broken":
        assert problem in str(error.value)


@pytest.mark.parametrize(
    ("body", "debug"),
    [
        ({"data": [{}]}, "workflow_id: required field is missing"),
        ({"workflow_id": 1}, "data: required field is missing"),
        ({"workflow_id": "1", "data": [{}]}, 'workflow_id: expected integer, got string "1"'),
        ({"workflow_id": 1, "data": {}}, "data: expected array, got object {}"),
        ({"workflow_id": 1, "data": []}, "data: must have at least 1 item(s), got 0"),
        (
            {"workflow_id": 1, "data": [{}], "format": "xml"},
            'format: unsupported value "xml", expected one of: json',
        ),
        (
            {"workflow_id": 1, "data": [{}], "skip_triggers": "yes"},
            'skip_triggers: expected boolean, got string "yes"',
        ),
        (
            {"workflow_id": 1, "data": [{}], "attach": [{"name": 5}]},
            "attach[0].name: expected string, got integer 5",
        ),
    ],
)
def test_violations_name_the_field(body, debug):
    assert debug_for(BATCH, body) == debug


def test_fast_and_reference_validators_agree_on_these_bodies():
    bodies = [
        {"workflow_id": 1, "data": [1, "x", None]},
        {"workflow_id": 1.0, "data": [{}]},
        {"workflow_id": True, "data": [{}]},
        {"workflow_id": 1, "data": [{}], "custom_request": []},
    ]
    compiled = SCHEMAS[BATCH]
    for body in bodies:
        assert compiled.fast.is_valid(body) == compiled.reference.is_valid(body), body
