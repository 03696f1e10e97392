"""All mutable state of one server, hanging off one object that can be reset.

DESIGN §2 (moto's BackendDict, pytest-httpserver's clear()): the control API
and the pytest fixture both call `reset()`, which rebuilds the store contents
from the fixtures. Settings stay as they were started.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from mockserver.clock import Clock, SystemClock
from mockserver.config import AccountMode, Settings
from mockserver.domain.catalog import Account, Catalog, ProgressionOverride, Workflow
from mockserver.errors import InvalidRequest, WorkflowNotFound
from mockserver.faults import FaultBook
from mockserver.ids import IdGenerator
from mockserver.journal import Journal
from mockserver.schemas import SchemaSet
from mockserver.store.fixtures import (
    FixtureError,
    FixtureProfile,
    FixtureSet,
    add_fixture_document,
    load_fixtures,
)
from mockserver.store.repository import Store
from mockserver.tasks.engine import TaskEngine
from mockserver.tasks.progression import Progression, default_progression, resolve

log = logging.getLogger(__name__)

RESET_SCOPES = ("data", "journal", "faults", "progression")
FIXTURES_LOADED = "fixtures_loaded"
PERMISSIVE_ACCOUNTS = "permissive_accounts"  # token -> account name
CREATED_WORKFLOWS = "created_workflows"  # [{account, id, db_id}]


class MockState:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        schemas: SchemaSet | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.ids = IdGenerator(settings.seed)
        self.schemas = schemas or SchemaSet()
        self._load_catalog()
        self.store = Store(None if settings.in_memory else Path(settings.db), self.clock, self.ids)
        self.engine = TaskEngine(
            self.store,
            lambda: self.catalog,
            self.clock,
            self.ids,
            settings.task_id_format,
        )
        self.journal = Journal(settings.journal_size, settings.journal_body_limit)
        self._default_override: ProgressionOverride | None = None
        self._workflow_overrides: dict[int, ProgressionOverride] = {}
        self.faults = FaultBook(self.ids.rng)
        self.started = self.clock.monotonic()
        self._open()

    def _open(self) -> None:
        """Bring the store in line with the fixtures and resume unfinished tasks."""
        if not self.store.meta(FIXTURES_LOADED):
            self._seed_fixture_profiles()
        self._restore_catalog_changes()
        self.engine.resume()

    def _seed_fixture_profiles(self) -> None:
        self._seed(self.fixtures.profiles)
        self.store.set_meta(FIXTURES_LOADED, True)

    def _seed(self, profiles: Iterable[FixtureProfile]) -> None:
        """Store fixture profiles, one unit of work per account."""
        by_account: dict[str, list[FixtureProfile]] = {}
        for profile in profiles:
            by_account.setdefault(profile.account, []).append(profile)
        for account, owned in by_account.items():
            session = self.store.session(account)
            for profile in owned:
                session.load_fixture_profile(profile.db_id, profile.doc, profile.data)
            session.apply()

    def _restore_catalog_changes(self) -> None:
        for token, name in (self.store.meta(PERMISSIVE_ACCOUNTS) or {}).items():
            self._add_permissive_account(token, name)
        for created in self.store.meta(CREATED_WORKFLOWS) or []:
            account = self.catalog.accounts.get(created["account"])
            if account is not None and created["id"] not in account.workflows:
                account.workflows[created["id"]] = self._new_workflow(created["id"], account)

    def _load_catalog(self) -> None:
        self.fixtures: FixtureSet = load_fixtures(self.settings.fixtures, self.schemas)
        self.catalog: Catalog = self.fixtures.catalog
        # A permissive account copies the first fixture account as the fixtures
        # declare it, never with workflows another account created at run time.
        first = next(iter(self.catalog.accounts.values()), None)
        self._template: Account | None = copy.deepcopy(first)

    def reset(self, scopes: Iterable[str] = RESET_SCOPES, account: str | None = None) -> None:
        """Back to the fixtures. Scopes: `data` (profiles, tasks, engagements,
        accounts), `journal`, `faults`; `account` limits the reset to one account."""
        scopes = set(scopes)
        if "journal" in scopes:
            self.journal.clear(None if account is None else [account])
        if "faults" in scopes:
            self.faults.clear(account)
        if "progression" in scopes and account is None:
            self.set_progression(None, {})
        if "data" not in scopes:
            return
        if account is not None:
            self._reset_account(account)
            return
        self._load_catalog()
        self.engine.reset()
        self.store.clear()
        self._open()

    def _reset_account(self, name: str) -> None:
        """One account's profiles, tasks and engagements go; its fixture profiles return."""
        self.engine.forget_account(name)
        self.store.clear_account(name)
        self._seed(p for p in self.fixtures.profiles if p.account == name)
        fresh = self._fixture_account(name)
        if fresh is not None:
            account = self.catalog.accounts[name]
            account.workflows = {wid: replace(wf) for wid, wf in fresh.workflows.items()}

    def _fixture_account(self, name: str) -> Account | None:
        """The account as the fixture files declare it (re-read, so run-time changes go)."""
        return load_fixtures(self.settings.fixtures, self.schemas).catalog.accounts.get(name)

    # -- accounts ------------------------------------------------------------------
    def account_for_token(self, token: str) -> Account | None:
        """The token's account; in permissive mode an unknown token gets a fresh one."""
        account = self.catalog.account_for_token(token)
        if account is None and self.settings.mode is AccountMode.PERMISSIVE:
            name = "token-" + hashlib.sha256(token.encode()).hexdigest()[:16]
            account = self._add_permissive_account(token, name)
            known = dict(self.store.meta(PERMISSIVE_ACCOUNTS) or {})
            known[token] = name
            self.store.set_meta(PERMISSIVE_ACCOUNTS, known)
        return account

    def _add_permissive_account(self, token: str, name: str) -> Account:
        """(pick) A fresh account copies the first fixture account's databases,
        resources and workflows (not its profiles), so typed fields and the
        reference page's workflow ids work the same for every token."""
        template = self._template
        account = Account(name=name, tokens=(token,))
        if template is not None and template.name != name:
            account.databases = dict(template.databases)
            account.resources = dict(template.resources)
            account.workflows = {wid: replace(wf) for wid, wf in template.workflows.items()}
        self.catalog.add_account(account)
        return self.catalog.accounts[name]

    def workflow(self, account: Account, workflow_id: int) -> Workflow | None:
        """The workflow; in permissive mode an unknown id is created active on first use."""
        found = account.workflows.get(workflow_id)
        if found is None and self.settings.mode is AccountMode.PERMISSIVE:
            found = account.workflows[workflow_id] = self._new_workflow(workflow_id, account)
            created = list(self.store.meta(CREATED_WORKFLOWS) or [])
            created.append({"account": account.name, "id": workflow_id, "db_id": found.db_id})
            self.store.set_meta(CREATED_WORKFLOWS, created)
        return found

    @staticmethod
    def _new_workflow(workflow_id: int, account: Account) -> Workflow:
        # (pick) it works on the account's first database (db 1 when none is declared).
        db_id = min(account.databases, default=1)
        account.database(db_id)
        return Workflow(id=workflow_id, name=f"Workflow {workflow_id}", db_id=db_id)

    def active_workflow(self, account: Account, workflow_id: int) -> Workflow:
        """The workflow an import goes to: 404 when unknown, 400 when inactive (SPEC §3)."""
        found = self.workflow(account, workflow_id)
        if found is None:
            raise WorkflowNotFound(f"workflow_id: no workflow {workflow_id} in this account")
        if not found.is_active:
            raise InvalidRequest(f"workflow_id: workflow {workflow_id} is not active")
        return found

    # -- progression -----------------------------------------------------------
    def progression_for(self, workflow: Workflow) -> Progression:
        """Run-time per-workflow override > fixture's workflow entry > run-time
        default > the server's flags."""
        return resolve(
            self._base_progression(),
            self._workflow_overrides.get(workflow.id),
            workflow.progression,
        )

    def _base_progression(self) -> Progression:
        return resolve(default_progression(self.settings), self._default_override)

    def resolve_progression(self, override: ProgressionOverride) -> Progression:
        return resolve(self._base_progression(), override)

    def set_progression(
        self, default: ProgressionOverride | None, workflows: dict[int, ProgressionOverride]
    ) -> None:
        self._default_override = default
        self._workflow_overrides = dict(workflows)

    def progression_view(self) -> dict[str, object]:
        return {
            "default": self._base_progression().to_doc(),
            "workflows": {
                str(wid): resolve(self._base_progression(), override).to_doc()
                for wid, override in sorted(self._workflow_overrides.items())
            },
        }

    # -- fixtures at run time ------------------------------------------------------
    def add_fixture(self, document: object) -> dict[str, int]:
        """Merge a fixture document into the running catalog and store its profiles."""
        extra = FixtureSet()
        add_fixture_document(extra, document, "request body", self.schemas)
        for account in extra.catalog.accounts.values():
            owner = self.catalog.account_for_token(next(iter(account.tokens), ""))
            if owner is not None and owner.name != account.name:
                raise FixtureError(
                    f"fixture request body: a token of {account.name!r} "
                    f"belongs to account {owner.name!r}"
                )
            self.catalog.add_account(account)
        self.catalog.geo += extra.catalog.geo
        self._seed(extra.profiles)
        self.fixtures.profiles.extend(extra.profiles)
        return {"accounts": len(extra.catalog.accounts), "profiles": len(extra.profiles)}

    def uptime(self) -> float:
        return self.clock.monotonic() - self.started
