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
from mockserver.domain.catalog import (
    Account,
    Catalog,
    Database,
    ProgressionOverride,
    Trigger,
    Workflow,
)
from mockserver.errors import InvalidRequest, TriggerNotFound, WorkflowNotFound
from mockserver.faults import FaultBook
from mockserver.ids import IdGenerator
from mockserver.imports_now import SliceTurns
from mockserver.journal import Journal
from mockserver.schemas import SchemaSet, shipped_schemas
from mockserver.store.fixtures import (
    FixtureError,
    FixtureProfile,
    FixtureSet,
    add_fixture_document,
    load_fixtures,
)
from mockserver.store.repository import Store
from mockserver.store.storage import StoreFileError, advice
from mockserver.tasks.engine import TaskEngine
from mockserver.tasks.progression import Progression, default_progression, resolve

log = logging.getLogger(__name__)

RESET_SCOPES = ("data", "journal", "faults", "progression")
FIXTURES_LOADED = "fixtures_loaded"
PERMISSIVE_ACCOUNTS = "permissive_accounts"  # token -> account name
CREATED_WORKFLOWS = "created_workflows"  # [{account, id, db_id}]
CREATED_TRIGGERS = "created_triggers"  # [{account, id, db_id}]
WORKFLOW_ACTIVATION = "workflow_activation"  # [{account, id, is_active}], latest per workflow
RUNTIME_FIXTURES = "runtime_fixtures"  # [fixture document], as POST /_mock/fixtures loaded them


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
        self.schemas = schemas or shipped_schemas()
        self._load_catalog()
        self.store = Store(None if settings.in_memory else Path(settings.db), self.clock, self.ids)
        self.turns = SliceTurns()  # every import's slices, tasks' and synchronous ones
        self.engine = TaskEngine(
            self.store,
            lambda: self.catalog,
            self.clock,
            self.ids,
            settings.task_id_format,
            self.turns,
        )
        self.journal = Journal(
            settings.journal_size, settings.journal_body_limit, settings.journal_max_bytes
        )
        self._default_override: ProgressionOverride | None = None
        self._workflow_overrides: dict[int, ProgressionOverride] = {}
        self.faults = FaultBook(self.ids.rng)
        self.started = self.clock.monotonic()
        try:
            self._open()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A stored document of another shape (a task, a meta entry): say so.
            self.store.release()
            raise StoreFileError(
                f"store {settings.db} holds a document of an unexpected shape ({exc!r}); "
                f"{advice(Path(settings.db))}"
            ) from None

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
        for document in self.store.meta(RUNTIME_FIXTURES) or []:
            # Their profiles are in the store already: only the catalog returns.
            extra = self._merge_fixture(document, "a run-time fixture stored earlier")
            self.fixtures.profiles.extend(extra.profiles)
        for token, name in (self.store.meta(PERMISSIVE_ACCOUNTS) or {}).items():
            self._add_permissive_account(token, name)
        for created in self.store.meta(CREATED_WORKFLOWS) or []:
            account = self.catalog.accounts.get(created["account"])
            if account is not None and created["id"] not in account.workflows:
                account.workflows[created["id"]] = self._new_workflow(created["id"], account)
        for created in self.store.meta(CREATED_TRIGGERS) or []:
            account = self.catalog.accounts.get(created["account"])
            if account is not None and created["id"] not in account.triggers:
                account.triggers[created["id"]] = self._new_trigger(created["id"], account)
        for change in self.store.meta(WORKFLOW_ACTIVATION) or []:
            account = self.catalog.accounts.get(change["account"])
            workflow = account.workflows.get(change["id"]) if account is not None else None
            if workflow is not None:
                workflow.is_active = change["is_active"]

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
            owner = self.catalog.accounts.get(account) if account is not None else None
            self.faults.clear(account, owner.tokens if owner is not None else ())
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
            account.triggers = {tid: replace(tr) for tid, tr in fresh.triggers.items()}
        changes = self.store.meta(WORKFLOW_ACTIVATION) or []
        kept = [change for change in changes if change["account"] != name]
        if len(kept) != len(changes):
            self.store.set_meta(WORKFLOW_ACTIVATION, kept)

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
            account.triggers = {tid: replace(tr) for tid, tr in template.triggers.items()}
        self.catalog.add_account(account)
        return self.catalog.accounts[name]

    def workflow(self, account: Account, workflow_id: int) -> Workflow | None:
        """The workflow; in permissive mode an unknown id is created active on first use."""
        found = account.workflows.get(workflow_id)
        if found is None and self.settings.mode is AccountMode.PERMISSIVE:
            found = account.workflows[workflow_id] = self._new_workflow(workflow_id, account)
            self._remember_created(CREATED_WORKFLOWS, account, workflow_id, found.db_id)
        return found

    def _remember_created(self, key: str, account: Account, new_id: int, db_id: int) -> None:
        """Store what permissive mode created on first use, so a restart keeps it."""
        created = list(self.store.meta(key) or [])
        created.append({"account": account.name, "id": new_id, "db_id": db_id})
        self.store.set_meta(key, created)

    @staticmethod
    def _first_database(account: Account) -> int:
        # (pick) what permissive mode creates works on the account's first
        # database (db 1 when none is declared).
        db_id = min(account.databases, default=1)
        account.database(db_id)
        return db_id

    @classmethod
    def _new_workflow(cls, workflow_id: int, account: Account) -> Workflow:
        db_id = cls._first_database(account)
        return Workflow(id=workflow_id, name=f"Workflow {workflow_id}", db_id=db_id)

    def known_workflow(self, account: Account, workflow_id: int, field: str = "id") -> Workflow:
        """The workflow, or 404 "Workflow not found" naming the request field."""
        found = self.workflow(account, workflow_id)
        if found is None:
            raise WorkflowNotFound(f"{field}: no workflow {workflow_id} in this account")
        return found

    def active_workflow(
        self, account: Account, workflow_id: int, field: str = "workflow_id"
    ) -> Workflow:
        """The workflow an import goes to: 404 when unknown, 400 when inactive (SPEC §3).

        `field` is the request field that named it: `workflow_id` for the
        imports, `id` for `workflows/start`.
        """
        found = self.known_workflow(account, workflow_id, field)
        if not found.is_active:
            raise InvalidRequest(f"{field}: workflow {workflow_id} is not active")
        return found

    def active_trigger(self, account: Account, trigger_id: int, field: str) -> Trigger:
        """The trigger campaign a launch names: 404 when unknown, 400 when inactive,
        as for workflows (the vendor: "Only active trigger campaigns ... can be run
        via the API"). In permissive mode an unknown id is created active on first
        use. `field` is the request field that named it (`trigger_id` or `id`)."""
        found = account.triggers.get(trigger_id)
        if found is None and self.settings.mode is AccountMode.PERMISSIVE:
            found = account.triggers[trigger_id] = self._new_trigger(trigger_id, account)
            self._remember_created(CREATED_TRIGGERS, account, trigger_id, found.db_id)
        if found is None:
            raise TriggerNotFound(f"{field}: no trigger campaign {trigger_id} in this account")
        if not found.is_active:
            raise InvalidRequest(f"{field}: trigger campaign {trigger_id} is not active")
        return found

    @classmethod
    def _new_trigger(cls, trigger_id: int, account: Account) -> Trigger:
        db_id = cls._first_database(account)
        return Trigger(id=trigger_id, name=f"Trigger {trigger_id}", db_id=db_id)

    def set_workflow_active(self, account: Account, workflow_id: int, active: bool) -> Workflow:
        """`workflows/activate` / `workflows/deactivate` (SPEC §8).

        The change is recorded in the store, so it survives a restart on a
        file store; a reset returns the workflow to its fixture state.
        """
        found = self.known_workflow(account, workflow_id)
        found.is_active = active
        changes = [
            change
            for change in self.store.meta(WORKFLOW_ACTIVATION) or []
            if (change["account"], change["id"]) != (account.name, workflow_id)
        ]
        changes.append({"account": account.name, "id": workflow_id, "is_active": active})
        self.store.set_meta(WORKFLOW_ACTIVATION, changes)
        return found

    def account_database(self, account: Account, db_id: int) -> Database:
        """A database the account's fixtures declare, or 400 naming `db_id` (SPEC §8 pick:
        the vendor's error table has no "Database not found")."""
        if db_id in account.databases or any(
            workflow.db_id == db_id for workflow in account.workflows.values()
        ):
            return account.database(db_id)  # one a workflow names is implied
        raise InvalidRequest(f"db_id: no database {db_id} in this account")

    # -- progression -----------------------------------------------------------
    def progression_for(self, workflow: Workflow) -> Progression:
        """Run-time per-workflow override > fixture's workflow entry > run-time
        default > the server's flags."""
        return resolve(
            self._base_progression(),
            self._workflow_overrides.get(workflow.id),
            workflow.progression,
        )

    def progression_for_trigger(self) -> Progression:
        """A trigger campaign's task: the run-time default, else the server's flags."""
        return self._base_progression()

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
        """Merge a fixture document into the running catalog and store its profiles.

        The document is stored too, so its accounts, workflows and triggers are
        there after a restart on a file store, like everything else it changed."""
        extra = FixtureSet()
        add_fixture_document(extra, document, "request body", self.schemas)
        # Everything is checked before anything is added: a refused document loads nothing.
        for account in extra.catalog.accounts.values():
            for token in account.tokens:
                owner = self.catalog.account_for_token(token)
                if owner is not None and owner.name != account.name:
                    raise FixtureError(
                        f"fixture request body: a token of {account.name!r} "
                        f"belongs to account {owner.name!r}"
                    )
        for profile in extra.profiles:
            profile_id = profile.doc.get("id")
            if profile_id is not None and self.store.profile_id_taken(profile_id):
                raise FixtureError(
                    f"fixture request body: profile id {profile_id!r} exists already "
                    "(ids are unique across accounts)"
                )
        self._merge_fixture(document, "request body")
        self._seed(extra.profiles)
        self.fixtures.profiles.extend(extra.profiles)
        stored = list(self.store.meta(RUNTIME_FIXTURES) or [])
        self.store.set_meta(RUNTIME_FIXTURES, [*stored, document])
        return {"accounts": len(extra.catalog.accounts), "profiles": len(extra.profiles)}

    def _merge_fixture(self, document: object, source: str) -> FixtureSet:
        """Add a fixture document's accounts and geo table to the running catalog."""
        extra = FixtureSet()
        add_fixture_document(extra, document, source, self.schemas)
        for account in extra.catalog.accounts.values():
            self.catalog.add_account(account)
        self.catalog.geo += extra.catalog.geo
        return extra

    def uptime(self) -> float:
        return self.clock.monotonic() - self.started
