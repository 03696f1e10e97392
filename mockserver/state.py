"""All mutable state of one server, hanging off one object that can be reset.

DESIGN §2 (moto's BackendDict, pytest-httpserver's clear()): the control API
and the pytest fixture both call `reset()`, which rebuilds the store contents
from the fixtures. Settings stay as they were started.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from dataclasses import replace
from pathlib import Path

from mockserver.clock import Clock, SystemClock
from mockserver.config import AccountMode, Settings
from mockserver.domain.catalog import Account, Catalog, Workflow
from mockserver.errors import InvalidRequest, WorkflowNotFound
from mockserver.ids import IdGenerator
from mockserver.schemas import SchemaSet
from mockserver.store.fixtures import FixtureSet, load_fixtures
from mockserver.store.repository import Store
from mockserver.tasks.engine import TaskEngine
from mockserver.tasks.progression import Progression, default_progression, resolve

log = logging.getLogger(__name__)

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
        self.started = self.clock.monotonic()
        self._open()

    def _open(self) -> None:
        """Bring the store in line with the fixtures and resume unfinished tasks."""
        if not self.store.meta(FIXTURES_LOADED):
            self._seed_fixture_profiles()
        self._restore_catalog_changes()
        self.engine.resume()

    def _seed_fixture_profiles(self) -> None:
        by_account: dict[str, list] = {}
        for profile in self.fixtures.profiles:
            by_account.setdefault(profile.account, []).append(profile)
        for account, profiles in by_account.items():
            session = self.store.session(account)
            for profile in profiles:
                session.load_fixture_profile(profile.db_id, profile.doc)
            session.apply()
        self.store.set_meta(FIXTURES_LOADED, True)

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

    def reset(self) -> None:
        """Everything back to the fixtures: profiles, tasks, engagements, accounts."""
        self._load_catalog()
        self.engine.reset()
        self.store.clear()
        self._open()

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

    def progression_for(self, workflow: Workflow) -> Progression:
        return resolve(default_progression(self.settings), workflow.progression)

    def uptime(self) -> float:
        return self.clock.monotonic() - self.started
