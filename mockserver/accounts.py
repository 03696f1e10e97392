"""Accounts: which token belongs to whom, and the workflows, trigger campaigns and
databases each account has (SPEC §2, §8).

The catalog comes from the fixtures; what changes it at run time (a permissive
account, a workflow created on first use, an activation, a fixture posted to
`/_mock/fixtures`) is recorded in the store's meta table, so a restart on a
file store finds it again (`restore`).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from enum import StrEnum

from mockserver.domain.catalog import Account, Catalog, Database, GeoEntry, Trigger, Workflow
from mockserver.errors import InvalidRequest, TriggerNotFound, WorkflowNotFound
from mockserver.schemas import SchemaSet
from mockserver.store.fixtures import (
    FixtureError,
    FixtureProfile,
    FixtureSet,
    add_fixture_document,
)
from mockserver.store.repository import Store

PERMISSIVE_ACCOUNTS = "permissive_accounts"  # token -> account name
CREATED_WORKFLOWS = "created_workflows"  # [{account, id, db_id}]
CREATED_TRIGGERS = "created_triggers"  # [{account, id, db_id}]
WORKFLOW_ACTIVATION = "workflow_activation"  # [{account, id, is_active}], latest per workflow
RUNTIME_FIXTURES = "runtime_fixtures"  # [fixture document], as POST /_mock/fixtures loaded them


class AccountMode(StrEnum):
    """`--mode`: `strict` knows only the fixtures' tokens; `permissive` gives any
    unknown token an account of its own (SPEC §2)."""

    STRICT = "strict"
    PERMISSIVE = "permissive"


class Accounts:
    """The running catalog: accounts by token, their workflows and trigger campaigns."""

    def __init__(
        self,
        fixtures: FixtureSet,
        store: Store,
        schemas: SchemaSet,
        mode: AccountMode,
        admin_token: str | None = None,
    ) -> None:
        #: The fixtures as loaded at start: a reset returns to a copy of them.
        self.fixtures = fixtures
        self.catalog: Catalog = fixtures.catalog.copy()
        self._store = store
        self._schemas = schemas
        self._mode = mode
        self._admin_token = admin_token
        # A permissive account copies the first fixture account as the fixtures
        # declare it, never with workflows another account created at run time.
        self._template: Account | None = next(iter(fixtures.catalog.accounts.values()), None)

    @property
    def geo(self) -> tuple[GeoEntry, ...]:
        return self.catalog.geo

    def restore(self) -> list[FixtureProfile]:
        """Bring back what the store recorded of run-time changes; answers the profiles
        of the fixtures posted at run time (they are in the store already)."""
        meta = self._store.meta
        profiles: list[FixtureProfile] = []
        for document in meta(RUNTIME_FIXTURES) or []:
            extra = self._merge_fixture(document, "a run-time fixture stored earlier")
            profiles += extra.profiles
        for token, name in (meta(PERMISSIVE_ACCOUNTS) or {}).items():
            self._add_permissive_account(token, name)
        for created in meta(CREATED_WORKFLOWS) or []:
            account = self.catalog.accounts.get(created["account"])
            if account is not None and created["id"] not in account.workflows:
                account.workflows[created["id"]] = self._new_workflow(created["id"], account)
        for created in meta(CREATED_TRIGGERS) or []:
            account = self.catalog.accounts.get(created["account"])
            if account is not None and created["id"] not in account.triggers:
                account.triggers[created["id"]] = self._new_trigger(created["id"], account)
        for change in meta(WORKFLOW_ACTIVATION) or []:
            account = self.catalog.accounts.get(change["account"])
            workflow = account.workflows.get(change["id"]) if account is not None else None
            if workflow is not None:
                workflow.is_active = change["is_active"]
        return profiles

    def reset(self) -> None:
        """The catalog as the fixtures declare it (run-time changes go)."""
        self.catalog = self.fixtures.catalog.copy()

    def reset_account(self, name: str) -> None:
        """One account's workflows and trigger campaigns as the fixtures declare them."""
        fresh = self.fixtures.catalog.accounts.get(name)
        account = self.catalog.accounts.get(name)
        if fresh is not None and account is not None:
            account.workflows = {wid: replace(wf) for wid, wf in fresh.workflows.items()}
            account.triggers = {tid: replace(tr) for tid, tr in fresh.triggers.items()}
        changes = self._store.meta(WORKFLOW_ACTIVATION) or []
        kept = [change for change in changes if change["account"] != name]
        if len(kept) != len(changes):
            self._store.set_meta(WORKFLOW_ACTIVATION, kept)

    # -- tokens --------------------------------------------------------------------
    def for_token(self, token: str) -> Account | None:
        return self.catalog.account_for_token(token)

    def for_token_or_create(self, token: str) -> Account | None:
        """The token's account; in permissive mode an unknown token gets a fresh one."""
        account = self.catalog.account_for_token(token)
        if account is None and self._mode is AccountMode.PERMISSIVE:
            name = "token-" + hashlib.sha256(token.encode()).hexdigest()[:16]
            account = self._add_permissive_account(token, name)
            known = dict(self._store.meta(PERMISSIVE_ACCOUNTS) or {})
            known[token] = name
            self._store.set_meta(PERMISSIVE_ACCOUNTS, known)
        return account

    def is_known_token(self, value: str) -> bool:
        """Whether `value` is the admin token or an account's token (masked in logs)."""
        return value == self._admin_token or self.catalog.account_for_token(value) is not None

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

    # -- workflows and trigger campaigns -------------------------------------------
    def workflow_or_create(self, account: Account, workflow_id: int) -> Workflow | None:
        """The workflow; in permissive mode an unknown id is created active on first use."""
        found = account.workflows.get(workflow_id)
        if found is None and self._mode is AccountMode.PERMISSIVE:
            found = account.workflows[workflow_id] = self._new_workflow(workflow_id, account)
            self._remember_created(CREATED_WORKFLOWS, account, workflow_id, found.db_id)
        return found

    def known_workflow(self, account: Account, workflow_id: int, field: str = "id") -> Workflow:
        """The workflow, or 404 "Workflow not found" naming the request field."""
        found = self.workflow_or_create(account, workflow_id)
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
        if found is None and self._mode is AccountMode.PERMISSIVE:
            found = account.triggers[trigger_id] = self._new_trigger(trigger_id, account)
            self._remember_created(CREATED_TRIGGERS, account, trigger_id, found.db_id)
        if found is None:
            raise TriggerNotFound(f"{field}: no trigger campaign {trigger_id} in this account")
        if not found.is_active:
            raise InvalidRequest(f"{field}: trigger campaign {trigger_id} is not active")
        return found

    def set_workflow_active(self, account: Account, workflow_id: int, active: bool) -> Workflow:
        """`workflows/activate` / `workflows/deactivate` (SPEC §8).

        The change is recorded in the store, so it survives a restart on a
        file store; a reset returns the workflow to its fixture state.
        """
        found = self.known_workflow(account, workflow_id)
        found.is_active = active
        changes = [
            change
            for change in self._store.meta(WORKFLOW_ACTIVATION) or []
            if (change["account"], change["id"]) != (account.name, workflow_id)
        ]
        changes.append({"account": account.name, "id": workflow_id, "is_active": active})
        self._store.set_meta(WORKFLOW_ACTIVATION, changes)
        return found

    def database(self, account: Account, db_id: int) -> Database:
        """A database the account's fixtures declare, or 400 naming `db_id` (SPEC §8 pick:
        the vendor's error table has no "Database not found")."""
        if db_id in account.databases or any(
            workflow.db_id == db_id for workflow in account.workflows.values()
        ):
            return account.ensure_database(db_id)  # one a workflow names is implied
        raise InvalidRequest(f"db_id: no database {db_id} in this account")

    def _remember_created(self, key: str, account: Account, new_id: int, db_id: int) -> None:
        """Store what permissive mode created on first use, so a restart keeps it."""
        created = list(self._store.meta(key) or [])
        created.append({"account": account.name, "id": new_id, "db_id": db_id})
        self._store.set_meta(key, created)

    @staticmethod
    def _first_database(account: Account) -> int:
        # (pick) what permissive mode creates works on the account's first
        # database (db 1 when none is declared).
        db_id = min(account.databases, default=1)
        account.ensure_database(db_id)
        return db_id

    @classmethod
    def _new_workflow(cls, workflow_id: int, account: Account) -> Workflow:
        db_id = cls._first_database(account)
        return Workflow(id=workflow_id, name=f"Workflow {workflow_id}", db_id=db_id)

    @classmethod
    def _new_trigger(cls, trigger_id: int, account: Account) -> Trigger:
        db_id = cls._first_database(account)
        return Trigger(id=trigger_id, name=f"Trigger {trigger_id}", db_id=db_id)

    # -- fixtures at run time --------------------------------------------------------
    def check_fixture(self, document: object) -> FixtureSet:
        """A fixture document posted at run time, checked against the running catalog
        (nothing is added: a refused document loads nothing)."""
        extra = FixtureSet()
        add_fixture_document(extra, document, "request body", self._schemas)
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
            if profile_id is not None and self._store.profile_id_taken(profile_id):
                raise FixtureError(
                    f"fixture request body: profile id {profile_id!r} exists already "
                    "(ids are unique across accounts)"
                )
        return extra

    def add_fixture(self, document: object) -> None:
        """Merge a checked fixture document into the running catalog, and record it, so
        its accounts, workflows and triggers are there after a restart on a file store."""
        self._merge_fixture(document, "request body")
        stored = list(self._store.meta(RUNTIME_FIXTURES) or [])
        self._store.set_meta(RUNTIME_FIXTURES, [*stored, document])

    def _merge_fixture(self, document: object, source: str) -> FixtureSet:
        """Add a fixture document's accounts and geo table to the running catalog."""
        extra = FixtureSet()
        add_fixture_document(extra, document, source, self._schemas)
        for account in extra.catalog.accounts.values():
            self.catalog.add_account(account)
        self.catalog.geo += extra.catalog.geo
        return extra
