"""Configured at start (issue 16, item 4): `--faults FILE` and `--latency`, in process.

A faults file holds rules exactly as `POST /_mock/faults` takes them; they are
live from the first request, listed by `GET /_mock/faults`, and a reset brings
them back with their counts at zero, as it brings back the fixtures. Latency
applies to vendor methods only and is a setting a reset keeps. The process
tests (env only, flags, refusals at start) are in tests/e2e/test_configured_at_start.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from random import Random
from typing import Any

import pytest

from mockserver.api.latency import Latency
from mockserver.control.faults.rules import FaultBook
from mockserver.control.faults.startup import FaultFileError, load_fault_file
from mockserver.errors import SERVICE_UNAVAILABLE_TEXT
from mockserver.schemas import shipped_schemas
from tests.helpers import (
    ALPHA,
    BATCH_TASK,
    BETA,
    STATUS,
    TWO_ACCOUNTS,
    add_fault,
    faults,
    ok,
    person,
    reset,
    status_call,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "faults.json"
UNAVAILABLE_ONCE = {"action": "error", "error": 503, "times": 1, "match": {"method": BATCH_TASK}}
UNAVAILABLE = {"error": 503, "error_text": SERVICE_UNAVAILABLE_TEXT}


def write_rules(tmp_path: Path, document: Any, name: str = "faults.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def counts(rules: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [(rule["id"], rule["matched"], rule["fired"]) for rule in rules]


async def health_settings(api) -> dict[str, Any]:
    return (await ok(api, "GET", "/_mock/health", "control/health.response"))["settings"]


async def import_call(api, token: str | None = None):
    body = {"workflow_id": 2, "matching": "email", "data": [person(1)]}
    if token is not None:
        body["token"] = token
    return await api.call(BATCH_TASK, body)


# -- the file's rules, live from the first request ------------------------------------------


async def test_the_first_matching_request_meets_the_file_s_rule(make_api, tmp_path):
    api = await make_api(faults=write_rules(tmp_path, [UNAVAILABLE_ONCE]))

    first = await import_call(api)
    second = await import_call(api)

    assert first.body == UNAVAILABLE
    assert second.body["error"] == 0
    assert counts(await faults(api)) == [("fault_1", 2, 1)]


async def test_the_rules_are_listed_as_the_control_api_would_have_added_them(make_api, tmp_path):
    rules = [UNAVAILABLE_ONCE, {"action": "delay", "delay_ms": [1, 2]}]
    api = await make_api(faults=write_rules(tmp_path, rules))
    posted = await make_api()
    for rule in rules:
        await add_fault(posted, **rule)

    assert await faults(api) == await faults(posted)


async def test_the_object_form_is_read_too(make_api, tmp_path):
    api = await make_api(faults=write_rules(tmp_path, {"faults": [UNAVAILABLE_ONCE]}))

    assert counts(await faults(api)) == [("fault_1", 0, 0)]


async def test_health_shows_the_file_and_its_rule_count(make_api, tmp_path):
    path = write_rules(tmp_path, [UNAVAILABLE_ONCE, UNAVAILABLE_ONCE])
    api = await make_api(faults=path)

    settings = await health_settings(api)

    assert (settings["faults_file"], settings["startup_faults"]) == (path, 2)


async def test_health_without_a_file_or_latency(api):
    settings = await health_settings(api)

    assert (settings["latency"], settings["faults_file"], settings["startup_faults"]) == (
        [],
        None,
        0,
    )


async def test_the_shipped_example_file_loads(make_api):
    api = await make_api(faults=str(EXAMPLE))

    listed = await faults(api)

    assert [rule["action"] for rule in listed] == ["error", "rate_limit", "fail_items"]
    assert (await health_settings(api))["startup_faults"] == 3


def test_the_readme_shows_the_example_file_as_it_is():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", readme, re.S)]

    assert json.loads(EXAMPLE.read_text(encoding="utf-8")) in shown


async def test_rules_posted_later_come_after_the_file_s(make_api, tmp_path):
    api = await make_api(faults=write_rules(tmp_path, [UNAVAILABLE_ONCE]))

    added = await add_fault(api, action="error", error=500)

    assert added["id"] == "fault_2"
    assert [rule["id"] for rule in await faults(api)] == ["fault_1", "fault_2"]


# -- a reset restores them -------------------------------------------------------------------


@pytest.mark.parametrize("scopes", [None, ["faults"]])
async def test_a_reset_restores_the_start_up_rules_with_counts_at_zero(make_api, tmp_path, scopes):
    api = await make_api(faults=write_rules(tmp_path, [UNAVAILABLE_ONCE]))
    await import_call(api)
    await add_fault(api, action="error", error=500, match={"method": "tasks/status"})

    await reset(api, **({} if scopes is None else {"scopes": scopes}))

    assert counts(await faults(api)) == [("fault_1", 0, 0)]
    assert (await import_call(api)).body == UNAVAILABLE  # `times: 1` counts again


async def test_a_reset_brings_back_rules_deleted_at_run_time(make_api, tmp_path):
    api = await make_api(faults=write_rules(tmp_path, [UNAVAILABLE_ONCE]))
    await ok(api, "DELETE", "/_mock/faults", "control/ok.response")
    assert await faults(api) == []

    await reset(api)

    assert counts(await faults(api)) == [("fault_1", 0, 0)]


async def test_a_reset_of_other_scopes_keeps_the_rules_as_they_are(make_api, tmp_path):
    api = await make_api(faults=write_rules(tmp_path, [UNAVAILABLE_ONCE]))
    await import_call(api)

    await reset(api, scopes=["data", "journal"])

    assert counts(await faults(api)) == [("fault_1", 1, 1)]


async def test_an_account_reset_restores_that_account_s_rules_only(make_api, tmp_path):
    rules = [
        {"action": "error", "error": 503, "times": 1, "match": {"account": "alpha"}},
        {"action": "error", "error": 503, "times": 1, "match": {"token": BETA}},
    ]
    api = await make_api(fixtures=(TWO_ACCOUNTS,), faults=write_rules(tmp_path, rules))
    assert (await import_call(api, ALPHA)).body == UNAVAILABLE
    assert (await import_call(api, BETA)).body == UNAVAILABLE
    runtime = await add_fault(api, action="error", error=500, match={"account": "alpha"})

    await reset(api, account="beta", scopes=["faults"])

    assert counts(await faults(api)) == [
        ("fault_1", 1, 1),  # alpha's start-up rule: as it was
        ("fault_2", 0, 0),  # beta's: back, counts at zero
        (runtime["id"], 0, 0),  # alpha's run-time rule: kept
    ]


# -- latency: vendor methods only ------------------------------------------------------------


@pytest.fixture
def waits(monkeypatch) -> list[str]:
    """The vendor methods that waited their latency (no real sleeping)."""
    waited: list[str] = []

    async def wait(self: Latency, method: str) -> None:
        waited.append(method)

    monkeypatch.setattr(Latency, "wait", wait)
    return waited


async def test_latency_applies_to_vendor_methods_not_to_the_control_api(make_api, waits):
    api = await make_api(latency="20-50")

    await status_call(api)
    await import_call(api)
    await ok(api, "GET", "/_mock/health", "control/health.response")
    await faults(api)
    await reset(api)
    await api.raw("POST", "/api/v1.1/no/such/method")

    assert waits == [STATUS, BATCH_TASK]


async def test_latency_is_a_setting_a_reset_keeps(make_api, waits):
    api = await make_api(latency=f"{STATUS}=100")
    await reset(api)

    await status_call(api)

    assert waits == [STATUS]
    assert (await health_settings(api))["latency"] == [
        {"method": STATUS, "min_ms": 100.0, "max_ms": 100.0}
    ]


async def test_without_latency_no_request_looks_for_one(api):
    assert api.state.api_services().latency is None


# -- refusals: the same checks as POST /_mock/faults -----------------------------------------


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([{"match": {}}], "rule 0: action: required field is missing"),
        ([UNAVAILABLE_ONCE, {"action": "explode"}], 'rule 1: action: unsupported value "explode"'),
        ([{"action": "error", "match": {"method": 5}}], "rule 0: match.method: expected string"),
        ([{"action": "error", "times": 0}], "rule 0: times: "),
        ([{"action": "error", "colour": "red"}], "rule 0: unknown field(s): colour"),
        ([{"action": "fail_items"}], "rule 0: pattern: required field is missing"),
        (
            [{"action": "fail_items", "pattern": "(a+)+"}],
            "rule 0: pattern: an unbounded quantifier",
        ),
        (["error"], "rule 0: expected object"),
        ({"faults": {"action": "error"}}, "expected a list of fault rules"),
        ({"rules": []}, 'expected a list of fault rules or {"faults": [...]}, got object'),
        ("error", "got string"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_file_the_rule_and_the_field(tmp_path, document, reason):
    path = write_rules(tmp_path, document)

    with pytest.raises(FaultFileError) as refused:
        load_fault_file(path, FaultBook(Random(1)), shipped_schemas())

    assert str(refused.value).startswith(f"faults file {path}: ")
    assert reason in str(refused.value)


def test_the_control_api_refuses_the_same_rule_with_the_same_words(tmp_path):
    rule = {"action": "error", "match": {"method": 5}}
    with pytest.raises(FaultFileError) as refused:
        load_fault_file(write_rules(tmp_path, [rule]), FaultBook(Random(1)), shipped_schemas())

    problems = shipped_schemas()["control/fault"].problems(rule)

    assert str(refused.value).endswith(f"rule 0: {problems[0]}")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot be read: No such file or directory"),
        ("", "not valid JSON"),
        ("[{", "not valid JSON"),
    ],
)
def test_a_missing_or_unreadable_file_is_refused_naming_it(tmp_path, content, reason):
    path = tmp_path / "faults.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(FaultFileError) as refused:
        load_fault_file(str(path), FaultBook(Random(1)), shipped_schemas())

    assert str(refused.value).startswith(f"faults file {path}: {reason}")
