"""Reset and seed (SPEC §6, issue 3 item 3): `POST /_mock/reset`, `POST /_mock/fixtures`.

A full reset brings the server back to its fixtures: imported profiles,
tasks, engagements and permissive accounts go, fixture profiles come back as
the files declare them, the journal and faults are cleared. `{"account": ...}`
(or `{"token": ...}`) resets one account and nothing else; `scopes` picks
among data, journal, faults and progression. `POST /_mock/fixtures` loads
more fixture data at run time, validated like the files.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from mockserver.store.repository import Store
from tests.helpers import (
    ALPHA,
    BETA,
    BETA_SECOND,
    STATUS,
    TWO_ACCOUNTS,
    ApiClient,
    add_fault,
    engagements,
    entries,
    envelope,
    faults,
    health_counts,
    ok,
    person,
    profiles,
    refused,
    replaces_core_code,
    reset,
    status_of_unknown,
    tasks,
    without,
    write_fixture,
)

ALL_SCOPES = ["data", "journal", "faults", "progression", "clock"]
CREATED = "2025-01-01T00:00:00.000000Z"
ALPHA_ID, BETA_ID, LOADED_ID = "a" * 24, "b" * 24, "c" * 24

#: Merged with two_accounts.json by account name: one fixture profile each.
PROFILES_SEED: dict[str, Any] = {
    "accounts": [
        {
            "name": "alpha",
            "profiles": [
                {
                    "db_id": 1,
                    "id": ALPHA_ID,
                    "data": {"email": "fixed@alpha.io", "CRM_ID": "1", "_createtime": CREATED},
                }
            ],
        },
        {
            "name": "beta",
            "profiles": [
                {
                    "db_id": 1,
                    "id": BETA_ID,
                    "data": {"email": "fixed@beta.io", "CRM_ID": "2", "_createtime": CREATED},
                }
            ],
        },
    ]
}
ALPHA_FIXTURE = {
    "id": ALPHA_ID,
    "account": "alpha",
    "db_id": 1,
    "data": {"email": "fixed@alpha.io", "CRM_ID": "1", "_createtime": CREATED},
    "subscriptions": [],
}
BETA_FIXTURE = {
    "id": BETA_ID,
    "account": "beta",
    "db_id": 1,
    "data": {"email": "fixed@beta.io", "CRM_ID": "2", "_createtime": CREATED},
    "subscriptions": [],
}

#: What POST /_mock/fixtures loads in the tests below.
TEAM_TOKEN = "team-token-000000000000001"
TEAM: dict[str, Any] = {
    "accounts": [
        {
            "name": "team",
            "tokens": [TEAM_TOKEN],
            "databases": [{"db_id": 1, "name": "Team people", "fields": {"CRM_ID": "string"}}],
            "workflows": [{"id": 7, "db_id": 1}],
            "profiles": [
                {
                    "db_id": 1,
                    "id": LOADED_ID,
                    "data": {"email": "loaded@team.io", "CRM_ID": "9", "_createtime": CREATED},
                }
            ],
        }
    ]
}
TEAM_PROFILE = {
    "id": LOADED_ID,
    "account": "team",
    "db_id": 1,
    "data": {"email": "loaded@team.io", "CRM_ID": "9", "_createtime": CREATED},
    "subscriptions": [],
}


@pytest.fixture
async def alpha(make_api, tmp_path: Path) -> ApiClient:
    """two_accounts.json plus one fixture profile per account; calls as alpha; instant."""
    seed = write_fixture(tmp_path, PROFILES_SEED)
    return await make_api(fixtures=(TWO_ACCOUNTS, seed), token=ALPHA, progression="instant")


@pytest.fixture
def beta(alpha: ApiClient) -> ApiClient:
    return ApiClient(alpha.http, BETA)


def by_id(found: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(found["profiles"], key=lambda profile: profile["id"])


async def load(api: ApiClient, document: dict[str, Any]) -> dict[str, Any]:
    return await ok(api, "POST", "/_mock/fixtures", "control/ok.response", json=document)


async def task_ids(api: ApiClient, account: str) -> list[str]:
    return [t["task_id"] for t in (await tasks(api))["tasks"] if t["account"] == account]


# -- full reset ---------------------------------------------------------------------------


async def test_full_reset_answers_with_every_scope_and_the_profile_count(alpha):
    await alpha.import_and_finish([person(1)])
    assert await reset(alpha) == {
        "status": "ok",
        "scopes": ALL_SCOPES,
        "account": None,
        "profiles": 2,
    }


async def test_full_reset_leaves_only_the_fixture_profiles(alpha, beta):
    await alpha.import_and_finish([person(1), person(2)])
    await beta.import_and_finish([person(3)])
    await reset(alpha)
    assert await profiles(alpha) == {"profiles": [ALPHA_FIXTURE, BETA_FIXTURE], "total": 2}


async def test_full_reset_removes_tasks_and_engagements(alpha, beta):
    await alpha.import_and_finish([person(1)])
    await beta.import_and_finish([person(2)])
    await reset(alpha)
    assert (await tasks(alpha), await engagements(alpha)) == (
        {"tasks": [], "total": 0},
        {"engagements": [], "total": 0},
    )


async def test_full_reset_restores_a_fixture_profile_an_import_changed(alpha):
    [result] = await alpha.import_and_finish(
        [{"data": {"email": "fixed@alpha.io", "CRM_ID": "changed", "_fname": "New"}}]
    )
    assert result == {"profile_id": ALPHA_ID}
    await reset(alpha)
    assert await profiles(alpha, profile_id=ALPHA_ID) == {"profiles": [ALPHA_FIXTURE], "total": 1}


async def test_full_reset_forgets_a_task_in_progress(make_api):
    api = await make_api(progression="manual")
    task_id = await api.import_batch([person(1)])
    await reset(api)
    answer = await api.call(STATUS, {"task_id": task_id})
    assert answer.body == envelope(404, f"task_id: no task {task_id!r}", "Task not found")
    assert (await health_counts(api))["active_tasks"] == 0


async def test_full_reset_removes_permissive_accounts(make_api):
    api = await make_api(mode="permissive", token="fresh-token-000000000001", progression="instant")
    await api.import_and_finish([person(1)])
    assert ((await health_counts(api))["accounts"], (await profiles(api))["total"]) == (2, 1)
    await reset(api)
    counts = await health_counts(api)
    assert (counts["accounts"], counts["profiles"]) == (1, 0)


async def test_full_reset_clears_the_journal_and_the_faults(alpha):
    await add_fault(alpha, action="delay", delay_ms=0)
    await status_of_unknown(alpha)
    await reset(alpha)
    assert (await entries(alpha), await faults(alpha)) == ([], [])


async def test_server_works_as_new_after_a_full_reset(alpha):
    await alpha.import_and_finish([person(1)])
    await reset(alpha)
    [result] = await alpha.import_and_finish([{"data": {"email": "fixed@alpha.io"}}])
    assert result == {"profile_id": ALPHA_ID}


# -- one account ---------------------------------------------------------------------------


async def test_account_reset_answers_with_the_account(alpha, beta):
    await beta.import_and_finish([person(1)])
    assert await reset(alpha, account="alpha") == {
        "status": "ok",
        # The server's own scopes (progression overrides, the clock) are not an
        # account's: the answer names only what was reset.
        "scopes": ["data", "journal", "faults"],
        "account": "alpha",
        "profiles": 3,  # both fixture profiles and beta's import
    }


async def test_account_reset_restores_that_accounts_profiles_only(alpha, beta):
    await alpha.import_and_finish([person(1)])
    [kept] = await beta.import_and_finish([person(2)])
    await reset(alpha, account="alpha")
    assert await profiles(alpha, account="alpha") == {"profiles": [ALPHA_FIXTURE], "total": 1}
    assert sorted(p["id"] for p in (await profiles(alpha, account="beta"))["profiles"]) == sorted(
        [BETA_ID, kept["profile_id"]]
    )


async def test_account_reset_removes_that_accounts_tasks_only(alpha, beta):
    await alpha.import_and_finish([person(1)])
    await beta.import_and_finish([person(2)])
    beta_tasks = await task_ids(alpha, "beta")
    await reset(alpha, account="alpha")
    assert (
        [t["account"] for t in (await tasks(alpha))["tasks"]],
        await task_ids(alpha, "beta"),
    ) == (
        ["beta"],
        beta_tasks,
    )


@pytest.mark.parametrize("scope", ["alpha", None])
async def test_a_finished_task_polled_before_a_reset_is_not_found_after_it(alpha, scope):
    # Finished tasks are kept in memory for polling: a reset must drop them too.
    task_id = await alpha.import_batch([person(1)])
    assert (await alpha.run_to_end(task_id))["status"] == "completed"
    await reset(alpha, **({"account": scope} if scope else {}))
    answer = await alpha.call("tasks/status", {"task_id": task_id})
    assert answer.body["error"] == 404


async def test_account_reset_removes_that_accounts_engagements_only(alpha, beta):
    await alpha.import_and_finish([person(1)])
    [kept] = await beta.import_and_finish([person(2)])
    await reset(alpha, account="alpha")
    found = await engagements(alpha)
    assert [(e["account"], e["profile_id"]) for e in found["engagements"]] == [
        ("beta", kept["profile_id"])
    ]


async def test_account_reset_leaves_another_accounts_task_running(make_api):
    api = await make_api(fixtures=(TWO_ACCOUNTS,), token=ALPHA)  # polls, 2 steps
    beta = ApiClient(api.http, BETA)
    await api.import_batch([person(1), person(2)])
    beta_task = await beta.import_batch([person(3), person(4)])
    await reset(api, account="alpha")
    assert [(await beta.status(beta_task))["status"] for _ in range(2)] == [
        "processing",
        "completed",
    ]


async def test_account_reset_clears_that_accounts_journal_entries_only(alpha, beta):
    await status_of_unknown(alpha)
    await status_of_unknown(beta)
    await status_of_unknown(alpha)
    await reset(alpha, account="alpha")
    assert [(e["id"], e["account"]) for e in await entries(alpha)] == [(2, "beta")]


async def test_account_reset_removes_that_accounts_faults_only(alpha):
    await add_fault(alpha, action="delay", delay_ms=0, match={"account": "alpha"})
    kept = await add_fault(alpha, action="delay", delay_ms=0, match={"account": "beta"})
    await reset(alpha, account="alpha")
    assert [rule["id"] for rule in await faults(alpha)] == [kept["id"]]


async def test_account_reset_removes_faults_matching_that_accounts_tokens(alpha):
    await add_fault(alpha, action="delay", delay_ms=0, match={"token": BETA_SECOND})
    kept = await add_fault(alpha, action="delay", delay_ms=0, match={"token": ALPHA})
    await reset(alpha, account="beta")
    assert [rule["id"] for rule in await faults(alpha)] == [kept["id"]]


async def test_reset_by_token_resets_that_tokens_account(alpha, beta):
    await alpha.import_and_finish([person(1)])
    await beta.import_and_finish([person(2)])
    answer = await reset(alpha, token=BETA_SECOND)
    assert (answer["account"], await profiles(alpha, account="beta")) == (
        "beta",
        {"profiles": [BETA_FIXTURE], "total": 1},
    )
    assert (await profiles(alpha, account="alpha"))["total"] == 2


# -- scopes -----------------------------------------------------------------------------


async def everything_set(api: ApiClient) -> dict[str, Any]:
    """An import, a journal, a fault and a progression override."""
    [result] = await api.import_and_finish([person(1)])
    await add_fault(api, action="delay", delay_ms=0)
    await ok(
        api,
        "PUT",
        "/_mock/progression",
        "control/progression.response",
        json={"default": {"mode": "manual"}},
    )
    return result


async def state_of(api: ApiClient) -> dict[str, Any]:
    progression = await ok(api, "GET", "/_mock/progression", "control/progression.response")
    return {
        "profiles": (await profiles(api))["total"],
        "tasks": (await tasks(api))["total"],
        "journal": len(await entries(api)),
        "faults": len(await faults(api)),
        "progression": progression["default"]["mode"],
    }


BEFORE = {"profiles": 3, "tasks": 1, "journal": 2, "faults": 1, "progression": "manual"}


async def test_state_before_a_scoped_reset(alpha):
    await everything_set(alpha)
    assert await state_of(alpha) == BEFORE


async def test_journal_scope_clears_the_journal_only(alpha):
    await everything_set(alpha)
    answer = await reset(alpha, scopes=["journal"])
    assert answer == {"status": "ok", "scopes": ["journal"], "account": None, "profiles": 3}
    assert await state_of(alpha) == {**BEFORE, "journal": 0}


async def test_faults_scope_clears_the_faults_only(alpha):
    await everything_set(alpha)
    await reset(alpha, scopes=["faults"])
    assert await state_of(alpha) == {**BEFORE, "faults": 0}


async def test_data_scope_resets_the_data_only(alpha):
    await everything_set(alpha)
    await reset(alpha, scopes=["data"])
    assert await state_of(alpha) == {**BEFORE, "profiles": 2, "tasks": 0}


async def test_progression_scope_resets_the_progression_only(alpha):
    await everything_set(alpha)
    await reset(alpha, scopes=["progression"])
    assert await state_of(alpha) == {**BEFORE, "progression": "instant"}


async def test_two_scopes_together(alpha):
    await everything_set(alpha)
    await reset(alpha, scopes=["journal", "faults"])
    assert await state_of(alpha) == {**BEFORE, "journal": 0, "faults": 0}


# -- refused resets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "debug"),
    [
        ({"account": "nobody"}, "account: no account 'nobody'"),
        ({"token": "nobody-token"}, "token: unknown API token"),
        (
            {"scopes": ["everything"]},
            'scopes[0]: unsupported value "everything", '
            "expected one of: data, journal, faults, progression, clock",
        ),
        ({"scopes": []}, "scopes: must have at least 1 item(s), got 0"),
        ({"accounts": "alpha"}, "unknown field(s): accounts"),
    ],
)
async def test_bad_reset_is_http_400_and_changes_nothing(alpha, body, debug):
    await alpha.import_and_finish([person(1)])
    assert await refused(alpha, "POST", "/_mock/reset", 400, json=body) == envelope(400, debug)
    assert (await profiles(alpha))["total"] == 3


# -- fixtures at run time -------------------------------------------------------------------


async def test_loading_fixtures_answers_with_what_was_added(api):
    assert await load(api, TEAM) == {"status": "ok", "accounts": 1, "profiles": 1}


async def test_loaded_profiles_are_stored_as_declared(api):
    await load(api, TEAM)
    assert await profiles(api, account="team") == {"profiles": [TEAM_PROFILE], "total": 1}


async def test_loaded_account_token_works_through_the_vendor_api(make_api):
    api = await make_api(token=TEAM_TOKEN, progression="instant")
    await load(api, TEAM)
    results = await api.import_and_finish(
        [{"data": {"email": "loaded@team.io", "_fname": "Known"}}, person(1)], workflow_id=7
    )
    assert results[0] == {"profile_id": LOADED_ID}
    [updated] = (await profiles(api, profile_id=LOADED_ID))["profiles"]
    assert updated["data"] == {**TEAM_PROFILE["data"], "_fname": "Known"}
    assert (await profiles(api, account="team"))["total"] == 2


async def test_loaded_account_counts_in_health(api):
    before = await health_counts(api)
    await load(api, TEAM)
    after = await health_counts(api)
    assert (after["accounts"], after["profiles"]) == (
        before["accounts"] + 1,
        before["profiles"] + 1,
    )


async def test_fixtures_merge_into_an_existing_account(alpha):
    await load(alpha, {"accounts": [{"name": "alpha", "workflows": [{"id": 77, "db_id": 1}]}]})
    [result] = await alpha.import_and_finish(
        [{"data": {"email": "fixed@alpha.io"}}], workflow_id=77
    )
    assert result == {"profile_id": ALPHA_ID}


async def test_account_reset_of_a_loaded_account_brings_its_loaded_profiles_back(make_api):
    api = await make_api(token=TEAM_TOKEN, progression="instant")
    await load(api, TEAM)
    await api.import_and_finish([person(1)], workflow_id=7)
    await reset(api, account="team")
    assert await profiles(api, account="team") == {"profiles": [TEAM_PROFILE], "total": 1}


@pytest.mark.parametrize(
    ("document", "debug"),
    [
        (
            {"accounts": [{"tokens": ["t-1"]}]},
            "fixture request body: accounts[0].name: required field is missing",
        ),
        (
            {"accounts": [{"name": "x", "workflows": [{"id": "7", "db_id": 1}]}]},
            'fixture request body: accounts[0].workflows[0].id: expected integer, got string "7"',
        ),
        ({"accounts": [], "users": []}, "fixture request body: unknown field(s): users"),
        (
            {
                "accounts": [
                    {
                        "name": "x",
                        "databases": [{"db_id": 1, "name": "d", "fields": {"N": "int"}}],
                        "profiles": [{"db_id": 1, "data": {"N": "abc"}}],
                    }
                ]
            },
            'fixture request body: accounts[x].profiles[0].data.N: expected int, got string "abc"',
        ),
        (
            {"accounts": [{"name": "x", "tokens": [ALPHA]}]},
            "fixture request body: a token of 'x' belongs to account 'alpha'",
        ),
        (  # a lookup key: a number would fail the index halfway through the load
            {"accounts": [{"name": "x", "profiles": [{"db_id": 1, "data": {"email": 5}}]}]},
            "fixture request body: accounts[x].profiles[0].data.email: "
            "expected a string, got integer",
        ),
        (
            {
                "accounts": [
                    {
                        "name": "x",
                        "profiles": [
                            {
                                "db_id": 1,
                                "data": {"email": "a@x.io"},
                                "subscriptions": [
                                    {"resource_id": 1, "channel": "email", "email": 7}
                                ],
                            }
                        ],
                    }
                ]
            },
            "fixture request body: accounts[x].profiles[0].subscriptions[0].email: "
            "expected a string, got integer",
        ),
    ],
)
async def test_invalid_fixture_is_http_400_naming_the_field(alpha, document, debug):
    assert await refused(alpha, "POST", "/_mock/fixtures", 400, json=document) == envelope(
        400, debug
    )


async def test_fixture_body_that_is_not_an_object_is_http_400(api):
    assert await refused(api, "POST", "/_mock/fixtures", 400, json=[TEAM]) == envelope(
        400, "body: expected a JSON object, got array"
    )


async def test_rejected_fixture_document_loads_nothing(alpha):
    """A document refused for its second account must not leave its first behind."""
    document = {
        "accounts": [
            {"name": "gamma", "tokens": ["gamma-token-000000000001"]},
            {"name": "delta", "tokens": [ALPHA]},
        ]
    }
    await refused(alpha, "POST", "/_mock/fixtures", 400, json=document)
    answer = await alpha.call(STATUS, {"task_id": "x", "token": "gamma-token-000000000001"})
    assert answer.body["error"] == 403, answer.body
    assert (await health_counts(alpha))["accounts"] == 2


async def test_fixtures_add_profiles_to_an_existing_account(alpha):
    await load(
        alpha,
        {
            "accounts": [
                {
                    "name": "beta",
                    "profiles": [{"db_id": 1, "id": LOADED_ID, "data": {"email": "more@beta.io"}}],
                }
            ]
        },
    )
    found = await profiles(alpha, account="beta")
    assert sorted(p["id"] for p in found["profiles"]) == [BETA_ID, LOADED_ID]
    assert without(by_id(found)[1], "data") == {
        "id": LOADED_ID,
        "account": "beta",
        "db_id": 1,
        "subscriptions": [],
    }


# -- when a reset reaches the disk (issue 15: a per-test reset within 1 ms) ------------
def log_lines(store_path: Path) -> list[dict[str, Any]]:
    log = store_path.with_name(store_path.name + ".log")
    return [orjson.loads(line) for line in log.read_bytes().splitlines()[1:]]  # no header


async def test_a_reset_is_answered_before_its_disk_write_and_the_next_write_carries_it(
    make_api, tmp_path
):
    """The test's first import after its reset writes the reset's deletions and its
    own task in one log line: one disk write per test, not two."""
    path = tmp_path / "store.json"
    api = await make_api(db=str(path), progression="instant")
    await api.import_and_finish([person(1)])
    before = log_lines(path)

    answer = await reset(api)

    assert answer["profiles"] == 0  # the shipped fixture declares none
    assert log_lines(path) == before  # nothing written yet
    task_id = await api.import_batch([person(2)])

    assert len(log_lines(path)) == len(before) + 1  # one line: the reset's drop and the task
    reopened = Store(path, api.state.clock, api.state.ids)  # as after a kill
    assert [p["data"]["email"] for p in reopened.profiles()] == [person(2)["data"]["email"]]
    assert [t["task_id"] for t in reopened.tasks()] == [task_id]
    reopened.release()


async def test_a_reset_with_no_write_after_it_reaches_the_disk_a_moment_later(make_api, tmp_path):
    path = tmp_path / "store.json"
    api = await make_api(db=str(path), progression="instant")
    await api.import_and_finish([person(1), person(2)])
    await reset(api)

    for _ in range(500):  # RESET_WRITE_DELAY (0.2 s), then the background write
        if any(None in line.get("profiles", {}).values() for line in log_lines(path)):
            break
        await asyncio.sleep(0.01)
    reopened = Store(path, api.state.clock, api.state.ids)  # as after a kill

    assert reopened.count_profiles() == 0  # the two imported ones are gone
    assert reopened.count_tasks() == 0
    reopened.release()


@replaces_core_code
async def test_resets_in_a_row_leave_one_write_behind_them(make_api, tmp_path):
    api = await make_api(db=str(tmp_path / "store.json"))
    for _ in range(5):
        await reset(api)
    writes = []
    api.state.store.flush_in_background = lambda: writes.append(1)  # type: ignore[method-assign]
    for _ in range(500):
        if writes:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # longer than RESET_WRITE_DELAY: no second write comes

    assert writes == [1]
