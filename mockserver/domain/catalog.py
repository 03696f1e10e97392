"""Accounts, databases, resources and workflows: what the fixtures declare.

SPEC §2: state is scoped by account; a token belongs to one account. The
catalog is rebuilt from fixtures on start and reset; what changes at run time
(workflows created in permissive mode, activation) is recorded by the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar


class FieldType(StrEnum):
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    TAGS = "tags"
    EMAIL = "email"
    PHONE = "phone"
    JSON = "json"  # any JSON value, stored as given


@dataclass(frozen=True, slots=True)
class Database:
    db_id: int
    name: str
    fields: Mapping[str, FieldType] = field(default_factory=dict)

    def to_vendor(self) -> dict[str, Any]:
        """An entry of `databases/list`; `fields` lists the declared custom fields."""
        return {
            "id": self.db_id,
            "name": self.name,
            "fields": [
                {"name": name, "type": field_type.value}
                for name, field_type in sorted(self.fields.items())
            ],
            "ui_tags": [],
            "groups": [],
        }


@dataclass(frozen=True, slots=True)
class Resource:
    resource_id: int
    db_id: int
    name: str
    channels: frozenset[str]


@dataclass(frozen=True, slots=True)
class ProgressionOverride:
    """A per-workflow (or per-task) progression: mode plus its parameters."""

    mode: str
    steps: int | None = None
    rate: float | None = None


@dataclass(slots=True)
class Workflow:
    id: int
    name: str
    db_id: int
    is_active: bool = True
    progression: ProgressionOverride | None = None

    def to_public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "db_id": self.db_id, "is_active": self.is_active}

    def to_vendor(self) -> dict[str, Any]:
        """An entry of `workflows/list`: the vendor calls the database `list_id`.
        Tags, access groups and nodes are not modelled: empty lists."""
        return {
            "id": self.id,
            "name": self.name,
            "list_id": self.db_id,
            "is_active": self.is_active,
            "ui_tags": [],
            "groups": [],
            "nodes": [],
        }


@dataclass(slots=True)
class Trigger:
    """A trigger campaign launched by an API call (the vendor's `api_call` type).

    The vendor's trigger pages: `campaigns/triggers/start` and
    `campaigns/triggers/import_and_start[_batch[_task]]` launch it for
    profiles of its database; only an active one can be launched."""

    id: int
    name: str
    db_id: int
    is_active: bool = True

    def to_public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "db_id": self.db_id, "is_active": self.is_active}

    def to_vendor(self) -> dict[str, Any]:
        """An entry of `campaigns/triggers/list`, as the vendor's example shows it.
        Tags and access groups are not modelled: empty lists."""
        return {
            "id": self.id,
            "name": self.name,
            "type": "api_call",
            "is_active": self.is_active,
            "for_confirm": False,
            "ui_tags": [],
            "groups": [],
        }


@dataclass(frozen=True, slots=True)
class GeoEntry:
    network: str
    city: str
    country: str


@dataclass(slots=True)
class Account:
    name: str
    tokens: tuple[str, ...]
    databases: dict[int, Database] = field(default_factory=dict)
    resources: dict[int, Resource] = field(default_factory=dict)
    workflows: dict[int, Workflow] = field(default_factory=dict)
    triggers: dict[int, Trigger] = field(default_factory=dict)

    def ensure_database(self, db_id: int) -> Database:
        """The database a workflow names, created when the fixtures omit it (implied)."""
        found = self.databases.get(db_id)
        if found is None:
            found = Database(db_id=db_id, name=f"Database {db_id}")
            self.databases[db_id] = found
        return found

    def copy(self) -> Account:
        """A copy whose workflows, triggers and tables change apart from this one's
        (databases, resources and geo entries are frozen values, shared)."""
        return Account(
            name=self.name,
            tokens=self.tokens,
            databases=dict(self.databases),
            resources=dict(self.resources),
            workflows={wid: replace(wf) for wid, wf in self.workflows.items()},
            triggers={tid: replace(tr) for tid, tr in self.triggers.items()},
        )


@dataclass(slots=True)
class Catalog:
    accounts: dict[str, Account] = field(default_factory=dict)
    geo: tuple[GeoEntry, ...] = ()
    _by_token: dict[str, Account] = field(default_factory=dict)

    def add_account(self, account: Account) -> None:
        existing = self.accounts.get(account.name)
        if existing is not None:
            # Several fixture files may describe one account: merge them.
            existing.tokens = tuple(dict.fromkeys(existing.tokens + account.tokens))
            existing.databases.update(account.databases)
            existing.resources.update(account.resources)
            existing.workflows.update(account.workflows)
            existing.triggers.update(account.triggers)
            account = existing
        else:
            self.accounts[account.name] = account
        for token in account.tokens:
            self._by_token[token] = account

    def copy(self) -> Catalog:
        """A copy that changes apart from this one (a reset starts from one)."""
        copied = Catalog(geo=self.geo)
        for account in self.accounts.values():
            copied.add_account(account.copy())
        return copied

    def account_for_token(self, token: str) -> Account | None:
        return self._by_token.get(token)

    def tokens(self) -> Iterable[str]:
        return self._by_token.keys()


T = TypeVar("T")


def page_by_id(
    entries: Iterable[T], key: Callable[[T], int], from_id: int, limit: int
) -> tuple[list[T], int | None]:
    """The vendor's list paging: entries with id >= `from_id`, in id order, at most
    `limit`; and the id to ask for next (None on the last page)."""
    # JSON Schema lets `1.0` pass as an integer: page with whole numbers.
    from_id, limit = int(from_id), int(limit)
    ordered = sorted((entry for entry in entries if key(entry) >= from_id), key=key)
    shown, rest = ordered[:limit], ordered[limit:]
    return shown, (key(rest[0]) if rest else None)
