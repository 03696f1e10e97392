"""`databases/list` (SPEC §8): the caller's databases, as the fixtures declare them."""

from __future__ import annotations

from typing import Any

from mockserver.api.router import ApiCall, ApiMethod
from mockserver.api.workflows import DEFAULT_FROM_ID, DEFAULT_LIMIT
from mockserver.domain.catalog import page_by_id
from mockserver.http.answers import ok

LIST = "databases/list"


async def list_databases(call: ApiCall) -> dict[str, Any]:
    """Paged by id like `workflows/list` (`from_id`, `limit`; 0 counts as absent).

    The vendor page's answer carries `next_from_id` ("must be passed in the
    next request to receive another piece of data") and `total_count`."""
    databases = call.account.databases.values()
    shown, next_from_id = page_by_id(
        databases,
        lambda database: database.db_id,
        call.body.get("from_id") or DEFAULT_FROM_ID,
        call.body.get("limit") or DEFAULT_LIMIT,
    )
    return ok(
        data=[database.to_vendor() for database in shown],
        next_from_id=next_from_id,
        total_count=len(databases),
    )


METHODS = [
    ApiMethod(
        LIST,
        list_databases,
        "databases/list.request",
        "databases/list.response",
        "Get database list",
    ),
]
