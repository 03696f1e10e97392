"""Accounts (SPEC §2): strict and permissive modes, and isolation between accounts.

A token belongs to one account; profiles, tasks and workflows of one account
are invisible to another. `strict` (default) refuses unknown tokens and
workflows; `permissive` gives an unknown token a fresh isolated account and
creates an unknown workflow id, active, on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from mockserver.config import AccountMode
from mockserver.errors import (
    ACCESS_DENIED_TEXT,
    INVALID_REQUEST_TEXT,
    TASK_NOT_FOUND_TEXT,
    TOKEN_REQUIRED_TEXT,
    WORKFLOW_NOT_FOUND_TEXT,
)
from mockserver.schemas import shipped_schemas
from tests.helpers import BATCH_TASK, STATUS, TOKEN, ApiClient, person

TWO_ACCOUNTS = Path(__file__).resolve().parent.parent / "fixtures" / "two_accounts.json"
ALPHA = "alpha-token-0000000000000001"
BETA = "beta-token-0000000000000002"
BETA_SECOND = "beta-token-0000000000000003"
DENIED = {"error": 403, "error_debug": "token: unknown API token", "error_text": ACCESS_DENIED_TEXT}


def as_token(api: ApiClient, token: str) -> ApiClient:
    """Another client on the same server, calling with another token."""
    return ApiClient(api.http, token)


def task_not_found(task_id: str) -> dict[str, Any]:
    return {
        "error": 404,
        "error_debug": f"task_id: no task {task_id!r}",
        "error_text": TASK_NOT_FOUND_TEXT,
    }


def workflow_not_found(workflow_id: int) -> dict[str, Any]:
    return {
        "error": 404,
        "error_debug": f"workflow_id: no workflow {workflow_id} in this account",
        "error_text": WORKFLOW_NOT_FOUND_TEXT,
    }


def batch(workflow_id: int = 2, n: int = 1) -> dict[str, Any]:
    return {"workflow_id": workflow_id, "matching": "email", "data": [person(n)]}


def profiles_with_email(api: ApiClient, email: str) -> list[dict[str, Any]]:
    return [
        dict(profile)
        for profile in api.state.store.profiles()
        if profile["data"].get("email") == email
    ]


# -- strict (default) ----------------------------------------------------------


async def test_strict_is_the_default_mode(api):
    answer = await as_token(api, "fresh-token").call(BATCH_TASK, batch())
    assert answer.body == DENIED


async def test_strict_unknown_token_is_403(make_api):
    api = await make_api(mode=AccountMode.STRICT, token="fresh-token")
    answer = await api.call(BATCH_TASK, batch())
    assert answer.body == DENIED
    assert list(api.state.store.tasks()) == []


async def test_strict_unknown_token_creates_no_account(make_api):
    api = await make_api(mode=AccountMode.STRICT, token="fresh-token")
    await api.call(BATCH_TASK, batch())
    assert api.state.accounts.catalog.account_for_token("fresh-token") is None


async def test_strict_unknown_workflow_is_404(make_api):
    api = await make_api(mode=AccountMode.STRICT)
    answer = await api.call(BATCH_TASK, batch(workflow_id=777))
    assert answer.body == workflow_not_found(777)
    assert list(api.state.store.tasks()) == []


async def test_strict_unknown_workflow_stays_unknown(make_api):
    api = await make_api(mode=AccountMode.STRICT)
    await api.call(BATCH_TASK, batch(workflow_id=777))
    answer = await api.call(BATCH_TASK, batch(workflow_id=777))
    assert answer.body == workflow_not_found(777)


# -- permissive ----------------------------------------------------------------


async def test_permissive_unknown_token_can_import(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE, token="fresh-token")
    results = await api.import_and_finish([person(1)])
    assert len(results) == 1
    assert set(results[0]) == {"profile_id"}


async def test_permissive_unknown_token_gets_its_own_account(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE, token="fresh-token")
    await api.import_batch([person(1)])
    account = api.state.accounts.catalog.account_for_token("fresh-token")
    assert account is not None
    assert account.name != "default"
    assert api.state.accounts.catalog.account_for_token(TOKEN).name == "default"


async def test_permissive_same_unknown_token_keeps_its_account(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE, token="fresh-token")
    task_id = await api.import_batch([person(1)])
    data = await api.run_to_end(task_id)  # a later call with the same token sees the task
    assert data["status"] == "completed"


async def test_permissive_account_cannot_see_the_default_accounts_task(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    task_id = await api.import_batch([person(1)])
    answer = await as_token(api, "fresh-token").call(STATUS, {"task_id": task_id})
    assert answer.body == task_not_found(task_id)


async def test_default_account_cannot_see_a_permissive_accounts_task(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    task_id = await as_token(api, "fresh-token").import_batch([person(1)])
    answer = await api.call(STATUS, {"task_id": task_id})
    assert answer.body == task_not_found(task_id)


async def test_two_unknown_tokens_get_two_isolated_accounts(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    first, second = as_token(api, "run-1-token"), as_token(api, "run-2-token")
    task_id = await first.import_batch([person(1)])
    answer = await second.call(STATUS, {"task_id": task_id})
    assert answer.body == task_not_found(task_id)


async def test_permissive_accounts_do_not_share_profiles(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    first, second = as_token(api, "run-1-token"), as_token(api, "run-2-token")
    [in_first] = await first.import_and_finish([person(1)])
    [in_second] = await second.import_and_finish([person(1)])
    [in_default] = await api.import_and_finish([person(1)])
    ids = {in_first["profile_id"], in_second["profile_id"], in_default["profile_id"]}
    assert len(ids) == 3
    assert len(profiles_with_email(api, "profile1@example.com")) == 3


async def test_permissive_token_in_a_bearer_header_gets_an_account(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    answer = await api.call(
        BATCH_TASK, batch(), token=False, headers={"Authorization": "Bearer header-token"}
    )
    assert answer.body["error"] == 0, answer.body
    assert api.state.accounts.catalog.account_for_token("header-token") is not None


async def test_permissive_missing_token_is_still_401(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    answer = await api.call(BATCH_TASK, batch(), token=False)
    assert answer.body == {
        "error": 401,
        "error_debug": "token: missing (send it in the body, as Bearer or as ?token=)",
        "error_text": TOKEN_REQUIRED_TEXT,
    }
    assert list(api.state.store.tasks()) == []


async def test_permissive_unknown_workflow_is_created_on_first_use(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    [result] = await api.import_and_finish([person(1)], workflow_id=777)
    engaged = [e for e in api.state.store.engagements() if e["workflow_id"] == 777]
    assert [e["profile_id"] for e in engaged] == [result["profile_id"]]


async def test_permissive_created_workflow_is_active(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    await api.import_batch([person(1)], workflow_id=777)
    workflow = api.state.accounts.catalog.account_for_token(TOKEN).workflows[777]
    assert workflow.is_active is True


async def test_permissive_created_workflow_is_reused(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    await api.import_and_finish([person(1)], workflow_id=777)
    await api.import_and_finish([person(1)], workflow_id=777)
    engaged = [e for e in api.state.store.engagements() if e["workflow_id"] == 777]
    assert len(engaged) == 2
    assert engaged[0]["profile_id"] == engaged[1]["profile_id"]


async def test_permissive_unknown_token_and_unknown_workflow_together(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE, token="fresh-token")
    [result] = await api.import_and_finish([person(1)], workflow_id=4242)
    assert set(result) == {"profile_id"}


async def test_permissive_workflow_created_in_one_account_is_not_copied_to_a_new_one(make_api):
    """SPEC §2: workflows of one account are invisible to another."""
    api = await make_api(mode=AccountMode.PERMISSIVE)
    await api.import_batch([person(1)], workflow_id=777)
    assert 777 in api.state.accounts.catalog.account_for_token(TOKEN).workflows
    await as_token(api, "fresh-token").import_batch([person(1)], workflow_id=2)
    fresh = api.state.accounts.catalog.account_for_token("fresh-token")
    assert 777 not in fresh.workflows


async def test_permissive_mode_keeps_an_inactive_workflow_inactive(make_api):
    api = await make_api(mode=AccountMode.PERMISSIVE)
    answer = await api.call(BATCH_TASK, batch(workflow_id=3))
    assert answer.body == {
        "error": 400,
        "error_debug": "workflow_id: workflow 3 is not active",
        "error_text": INVALID_REQUEST_TEXT,
    }
    assert list(api.state.store.tasks()) == []


# -- isolation between fixture accounts ------------------------------------------


def test_two_accounts_fixture_is_valid():
    document = orjson.loads(TWO_ACCOUNTS.read_bytes())
    problems = shipped_schemas()["fixtures.schema"].problems(document)
    assert problems == []


async def two_accounts(make_api: Any) -> tuple[ApiClient, ApiClient]:
    alpha = await make_api(fixtures=(str(TWO_ACCOUNTS),), token=ALPHA)
    return alpha, as_token(alpha, BETA)


async def test_each_fixture_token_can_import(make_api):
    alpha, beta = await two_accounts(make_api)
    assert len(await alpha.import_and_finish([person(1)])) == 1
    assert len(await beta.import_and_finish([person(1)])) == 1


async def test_another_accounts_task_is_404_task_not_found(make_api):
    alpha, beta = await two_accounts(make_api)
    task_id = await alpha.import_batch([person(1)])
    answer = await beta.call(STATUS, {"task_id": task_id})
    assert answer.body == task_not_found(task_id)


async def test_asking_for_another_accounts_task_does_not_advance_it(make_api):
    alpha, beta = await two_accounts(make_api)
    task_id = await alpha.import_batch([person(1), person(2)])
    await beta.call(STATUS, {"task_id": task_id})
    data = await alpha.status(task_id)
    assert (data["status"], data["progress"]) == ("processing", 50)


async def test_another_accounts_task_answers_like_an_unknown_task(make_api):
    alpha, beta = await two_accounts(make_api)
    task_id = await alpha.import_batch([person(1)])
    foreign = await beta.call(STATUS, {"task_id": task_id})
    unknown = await beta.call(STATUS, {"task_id": "30421978-7f6d-4f39-913f-fb6cad8e2477"})
    assert foreign.body == task_not_found(task_id)
    assert unknown.body == task_not_found("30421978-7f6d-4f39-913f-fb6cad8e2477")


async def test_two_tokens_of_one_account_share_its_tasks(make_api):
    alpha, beta = await two_accounts(make_api)
    task_id = await beta.import_batch([person(1)])
    data = await as_token(alpha, BETA_SECOND).run_to_end(task_id)
    assert data["status"] == "completed"


async def test_same_email_in_two_accounts_makes_two_profiles(make_api):
    alpha, beta = await two_accounts(make_api)
    [in_alpha] = await alpha.import_and_finish([person(1)])
    [in_beta] = await beta.import_and_finish([person(1)])
    assert in_alpha["profile_id"] != in_beta["profile_id"]
    stored = profiles_with_email(alpha, "profile1@example.com")
    assert sorted((p["account"], p["id"]) for p in stored) == sorted(
        [("alpha", in_alpha["profile_id"]), ("beta", in_beta["profile_id"])]
    )


async def test_reimport_in_one_account_updates_only_its_own_profile(make_api):
    alpha, beta = await two_accounts(make_api)
    [first] = await alpha.import_and_finish([person(1)])
    await beta.import_and_finish([person(1)])
    [again] = await alpha.import_and_finish([person(1, _fname="Renamed")])
    assert again["profile_id"] == first["profile_id"]
    names = {
        p["account"]: p["data"]["_fname"]
        for p in profiles_with_email(alpha, "profile1@example.com")
    }
    assert names == {"alpha": "Renamed", "beta": "Name1"}


async def test_workflow_of_another_account_is_404(make_api):
    alpha, _ = await two_accounts(make_api)
    answer = await alpha.call(BATCH_TASK, batch(workflow_id=50))
    assert answer.body == workflow_not_found(50)
    assert list(alpha.state.store.tasks()) == []


async def test_workflow_of_its_own_account_is_found(make_api):
    _, beta = await two_accounts(make_api)
    answer = await beta.call(BATCH_TASK, batch(workflow_id=50))
    assert answer.body["error"] == 0, answer.body


async def test_token_of_the_default_fixture_is_unknown_with_other_fixtures(make_api):
    alpha, _ = await two_accounts(make_api)
    answer = await as_token(alpha, TOKEN).call(BATCH_TASK, batch())
    assert answer.body == DENIED
