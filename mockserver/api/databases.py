"""`databases/list` (SPEC §8): the caller's databases, as the fixtures declare them."""

from __future__ import annotations

from typing import Any

from mockserver.api.workflows import DEFAULT_FROM_ID, DEFAULT_LIMIT
from mockserver.domain.catalog import page_by_id
from mockserver.envelope import ok
from mockserver.routing import ApiCall, ApiMethod

LIST = "databases/list"


async def list_databases(call: ApiCall) -> dict[str, Any]:
    """Paged by id like `workflows/list` (`from_id`, `limit`; 0 counts as absent)."""
    shown, _ = page_by_id(
        call.account.databases.values(),
        lambda database: database.db_id,
        call.body.get("from_id") or DEFAULT_FROM_ID,
        call.body.get("limit") or DEFAULT_LIMIT,
    )
    return ok(data=[database.to_vendor() for database in shown])


METHODS = [
    ApiMethod(
        LIST,
        list_databases,
        "databases/list.request",
        "databases/list.response",
        "Get database list",
    ),
]
