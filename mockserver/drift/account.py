"""The account both targets are probed with: the token, a database and a workflow.

Ids not given on the command line are taken from the real service's own lists
(the first database, the first active workflow), and the mock is given an
account with exactly those ids, so a probe that names them means the same thing
on both sides. The workflow's database and whether it is active are copied from
the real `workflows/list` when it lists the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.drift.exchange import Answer

ACCOUNT_NAME = "altcraft-mock-drift"


@dataclass(frozen=True, slots=True)
class Workflow:
    id: int
    db_id: int | None = None
    name: str | None = None
    is_active: bool = True


@dataclass(frozen=True, slots=True)
class AccountIds:
    db_id: int | None
    db_name: str | None
    workflow: Workflow | None

    @property
    def workflow_db_id(self) -> int | None:
        if self.workflow is None:
            return None
        return self.workflow.db_id if self.workflow.db_id is not None else self.db_id


def resolve_ids(
    db_id: int | None, workflow_id: int | None, databases: Answer, workflows: Answer
) -> AccountIds:
    """The ids given, completed from what the real service listed."""
    listed_databases = _listed(databases)
    listed_workflows = [_workflow(entry) for entry in _listed(workflows)]
    known_workflows = [workflow for workflow in listed_workflows if workflow is not None]
    if db_id is None:
        db_id = next((entry["id"] for entry in listed_databases if _int(entry.get("id"))), None)
    db_name = next(
        (_text(entry.get("name")) for entry in listed_databases if entry.get("id") == db_id),
        None,
    )
    if workflow_id is None:
        chosen = next((w for w in known_workflows if w.is_active), None)
    else:
        chosen = next((w for w in known_workflows if w.id == workflow_id), Workflow(workflow_id))
    return AccountIds(db_id, db_name, chosen)


def _listed(answer: Answer) -> list[dict[str, Any]]:
    data = answer.body.get("data") if answer.is_json_object and answer.error == 0 else None
    return [entry for entry in data if isinstance(entry, dict)] if isinstance(data, list) else []


def _workflow(entry: dict[str, Any]) -> Workflow | None:
    if not _int(entry.get("id")):
        return None
    list_id = entry.get("list_id")  # the workflow's database, as workflows/list names it
    return Workflow(
        id=entry["id"],
        db_id=list_id if _int(list_id) else None,
        name=_text(entry.get("name")),
        is_active=entry.get("is_active") is not False,
    )


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def fixture_document(token: str, ids: AccountIds) -> dict[str, Any]:
    """The mock's fixtures (schemas/fixtures.schema.json): one account with the
    token, the database and the workflow (and the workflow's database)."""
    databases: dict[int, str] = {}
    if ids.db_id is not None:
        databases[ids.db_id] = ids.db_name or f"Database {ids.db_id}"
    account: dict[str, Any] = {"name": ACCOUNT_NAME, "tokens": [token]}
    if ids.workflow is not None:
        workflow_db = ids.workflow_db_id or 1
        databases.setdefault(workflow_db, f"Database {workflow_db}")
        account["workflows"] = [
            {
                "id": ids.workflow.id,
                "name": ids.workflow.name or f"Workflow {ids.workflow.id}",
                "db_id": workflow_db,
                "is_active": ids.workflow.is_active,
            }
        ]
    account["databases"] = [{"db_id": key, "name": name} for key, name in databases.items()]
    return {"accounts": [account]}
