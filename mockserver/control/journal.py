"""`GET /_mock/requests` (filters: path, method, account, token, error, since, limit)
and `DELETE /_mock/requests`."""

from __future__ import annotations

from aiohttp import web

from mockserver.app_keys import STATE
from mockserver.control.common import int_param
from mockserver.control.routes import ControlRoute, QueryParam
from mockserver.envelope import json_response
from mockserver.journal import JournalFilter
from mockserver.paths import normalize_path


def _filter(query: dict[str, str]) -> JournalFilter:
    since = query.get("since")
    since_id = int(since) if since and since.isdigit() else None
    return JournalFilter(
        path=normalize_path(query["path"]) if query.get("path") else None,
        api_method=query.get("method") or None,
        account=query.get("account") or None,
        token=query.get("token") or None,
        error=int_param(query, "error"),
        since_id=since_id,
        since_time=since if since and since_id is None else None,
    )


async def list_requests(request: web.Request) -> web.Response:
    journal = request.app[STATE].journal
    query = dict(request.query)
    entries = journal.entries(_filter(query), int_param(query, "limit"))
    return json_response(
        {
            "requests": [entry.to_public() for entry in entries],
            "total": len(entries),
            "capacity": journal.capacity,
            "dropped": journal.dropped,
        }
    )


async def clear_requests(request: web.Request) -> web.Response:
    request.app[STATE].journal.clear()
    return json_response({"status": "ok"})


ROUTES = (
    ControlRoute(
        "GET",
        "/_mock/requests",
        list_requests,
        "The request journal, oldest first",
        response_schema="control/requests.response",
        query=(
            QueryParam("path", "request path"),
            QueryParam("method", "vendor method name, e.g. tasks/status"),
            QueryParam("account", "account name"),
            QueryParam("token", "API token"),
            QueryParam("error", "error code of the answer", "integer"),
            QueryParam("since", "entries after this id, or at/after this ISO time"),
            QueryParam("limit", "the newest N", "integer"),
        ),
    ),
    ControlRoute(
        "DELETE",
        "/_mock/requests",
        clear_requests,
        "Clear the journal",
        response_schema="control/ok.response",
    ),
)
