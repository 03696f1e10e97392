"""Fixtures: seed files (JSON) validated by `schemas/fixtures.schema.json`.

SPEC §2. A fixture path is a file or a folder of `*.json` files (read in
name order); several files merge by account name. A bad fixture stops
start-up with a message naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mockserver.domain.catalog import (
    Account,
    Catalog,
    Database,
    FieldType,
    GeoEntry,
    ProgressionOverride,
    Resource,
    Trigger,
    Workflow,
)
from mockserver.domain.items import subscription_status
from mockserver.domain.values import (
    ValueProblem,
    check_typed,
    json_type,
    normalize_phone,
    normalize_phones,
)
from mockserver.schemas import SchemaSet, fixtures_dir

FIXTURE_SCHEMA = "fixtures.schema"


class FixtureError(ValueError):
    """A fixture file is unreadable or breaks the fixture schema."""


@dataclass(frozen=True, slots=True)
class FixtureProfile:
    account: str
    db_id: int
    doc: Mapping[str, Any]
    data: Mapping[str, Any]  # the fields, declared custom fields checked and normalised


@dataclass(slots=True)
class FixtureSet:
    catalog: Catalog = field(default_factory=Catalog)
    profiles: list[FixtureProfile] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def fixture_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise FixtureError(f"fixture path {path} does not exist")
    return files


def load_fixtures(paths: Iterable[str | Path], schemas: SchemaSet) -> FixtureSet:
    """Read, validate and merge fixture files; `paths` empty means the shipped ones."""
    paths = list(paths) or [fixtures_dir()]
    fixtures = FixtureSet()
    for path in fixture_files(paths):
        try:
            document = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise FixtureError(f"fixture {path}: cannot read JSON: {exc}") from None
        add_fixture_document(fixtures, document, str(path), schemas)
    return fixtures


def add_fixture_document(
    fixtures: FixtureSet, document: Any, source: str, schemas: SchemaSet
) -> None:
    """Validate one fixture document and merge it into `fixtures`."""
    problems = schemas[FIXTURE_SCHEMA].problems(document)
    if problems:
        raise FixtureError(f"fixture {source}: {problems[0]}")
    for raw in document.get("accounts", []):
        account = _account(raw, source)
        for other in fixtures.catalog.accounts.values():
            clash = set(other.tokens) & set(account.tokens)
            if other.name != account.name and clash:
                raise FixtureError(
                    f"fixture {source}: token {sorted(clash)[0]!r} already belongs to "
                    f"account {other.name!r}"
                )
        fixtures.catalog.add_account(account)
        merged = fixtures.catalog.accounts[account.name]
        _check_profile_ids(fixtures, raw.get("profiles", []), account.name, source)
        for i, profile in enumerate(raw.get("profiles", [])):
            where = f"fixture {source}: accounts[{account.name}].profiles[{i}]"
            data = _typed_fields(
                profile["data"], merged.ensure_database(profile["db_id"]), f"{where}.data"
            )
            subscriptions = _subscriptions(profile.get("subscriptions") or [], where)
            doc = {**profile, "subscriptions": subscriptions}
            fixtures.profiles.append(FixtureProfile(account.name, profile["db_id"], doc, data))
    fixtures.catalog.geo += tuple(GeoEntry(**g) for g in document.get("geo", []))
    fixtures.files.append(source)


def _typed_fields(data: Mapping[str, Any], database: Database, where: str) -> dict[str, Any]:
    """Declared custom fields of a fixture profile get the same checks as imports
    (a tags field given as "tag-1, tag-2" is stored as a list)."""
    checked = dict(data)
    try:
        _email_is_text(checked.get("email"), f"{where}.email")
        if checked.get("phones") is not None:
            # As imports store them: a list, each phone in its canonical form.
            checked["phones"] = normalize_phones(checked["phones"], f"{where}.phones")
        for name, field_type in database.fields.items():
            if name in checked:
                checked[name] = check_typed(checked[name], field_type, f"{where}.{name}")
    except ValueProblem as problem:
        raise FixtureError(str(problem)) from None
    return checked


def _email_is_text(value: Any, where: str) -> None:
    """A fixture's email is kept as written, but it is a profile's lookup key: text
    or nothing (a number would fail the index while the fixture loads, half of it
    stored)."""
    if value is not None and not isinstance(value, str):
        raise ValueProblem(f"{where}: expected a string, got {json_type(value)}")


def _check_profile_ids(
    fixtures: FixtureSet, profiles: list[dict[str, Any]], account: str, source: str
) -> None:
    """A profile id names one profile: two fixture profiles (of one account or
    two) with the same id would answer each other's lookups."""
    declared = {p.doc["id"]: p.account for p in fixtures.profiles if p.doc.get("id")}
    for profile in profiles:
        profile_id = profile.get("id")
        if profile_id is None:
            continue
        if profile_id in declared:
            raise FixtureError(
                f"fixture {source}: profile id {profile_id!r} of account {account!r} is "
                f"declared already (account {declared[profile_id]!r}); ids are unique"
            )
        declared[profile_id] = account


def _subscriptions(subscriptions: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """A fixture profile's subscriptions as imports store them: a phone in its
    canonical form, a numeric status as its word."""
    kept = []
    for i, sub in enumerate(subscriptions):
        here = f"{where}.subscriptions[{i}]"
        sub = dict(sub)
        try:
            _email_is_text(sub.get("email"), f"{here}.email")
            if sub.get("phone") is not None:
                sub["phone"] = normalize_phone(sub["phone"], f"{here}.phone")
            sub["status"] = subscription_status(sub.get("status"), f"{here}.status")
        except ValueProblem as problem:
            raise FixtureError(str(problem)) from None
        kept.append(sub)
    return kept


def _account(raw: Mapping[str, Any], source: str) -> Account:
    account = Account(name=raw["name"], tokens=tuple(raw.get("tokens", [])))
    for db in raw.get("databases", []):
        account.databases[db["db_id"]] = Database(
            db_id=db["db_id"],
            name=db["name"],
            fields={name: FieldType(kind) for name, kind in (db.get("fields") or {}).items()},
        )
    for res in raw.get("resources", []):
        account.resources[res["resource_id"]] = Resource(
            resource_id=res["resource_id"],
            db_id=res["db_id"],
            name=res.get("name", f"Resource {res['resource_id']}"),
            channels=frozenset(res["channels"]),
        )
    for wf in raw.get("workflows", []):
        progression = wf.get("progression")
        account.workflows[wf["id"]] = Workflow(
            id=wf["id"],
            name=wf.get("name", f"Workflow {wf['id']}"),
            db_id=wf["db_id"],
            is_active=wf.get("is_active", True),
            progression=ProgressionOverride(**progression) if progression else None,
        )
        account.ensure_database(wf["db_id"])  # a workflow's database exists, declared or not
    for trigger in raw.get("triggers", []):
        account.triggers[trigger["id"]] = Trigger(
            id=trigger["id"],
            name=trigger.get("name", f"Trigger {trigger['id']}"),
            db_id=trigger["db_id"],
            is_active=trigger.get("is_active", True),
        )
        account.ensure_database(trigger["db_id"])
    return account
