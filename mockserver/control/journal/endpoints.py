"""`GET /_mock/requests` (filters: path, method, account, token, error, since, before,
limit; `wait`, `timeout`) and `DELETE /_mock/requests`.

`limit` keeps the newest N of what matched; with `before` (entries older than an
id) it pages backwards: `limit=50`, then `before=<oldest id shown>&limit=50`.
`wait=N` answers once the journal holds N entries that match (or after
`timeout` seconds, with `timed_out: true`), so a test can await a client that
sends in the background instead of polling the journal.
"""

from __future__ import annotations

from aiohttp import web

from mockserver.clock import iso, parse_instant
from mockserver.control.common import (
    DEFAULT_WAIT_SECONDS,
    int_param,
    parse_int,
    shown,
    wait_seconds,
)
from mockserver.control.journal.model import JournalFilter
from mockserver.control.routes import ControlRoute, QueryParam
from mockserver.errors import Conflict, InvalidRequest
from mockserver.http.answers import json_response
from mockserver.http.paths import normalize_path
from mockserver.keys import BACKEND


def _since(raw: str | None) -> tuple[int | None, str | None]:
    """`since`: an entry id, or an ISO time (any offset) compared as an instant."""
    if not raw:
        return None, None
    entry_id = parse_int(raw)
    if entry_id is not None and entry_id >= 0:
        return entry_id, None
    instant = _instant(raw)
    if instant is None:
        raise InvalidRequest(f"since: expected an entry id or an ISO time, got {shown(raw)}")
    return None, instant


def _instant(raw: str) -> str | None:
    """An ISO time (no offset: UTC) in `clock.iso`'s form, or None when it is not one
    (or, moved to UTC, falls outside the years 1-9999)."""
    try:
        return iso(parse_instant(raw))
    except ValueError:
        return None


def _filter(query: dict[str, str]) -> JournalFilter:
    since_id, since_time = _since(query.get("since"))
    return JournalFilter(
        path=normalize_path(query["path"]) if query.get("path") else None,
        api_method=query.get("method") or None,
        account=query.get("account") or None,
        token=query.get("token") or None,
        error=int_param(query, "error"),
        since_id=since_id,
        since_time=since_time,
        before_id=int_param(query, "before"),
    )


async def list_requests(request: web.Request) -> web.Response:
    journal = request.app[BACKEND].journal
    query = dict(request.query)
    where = _filter(query)
    limit = int_param(query, "limit", minimum=1)
    count = int_param(query, "wait", minimum=1)
    timeout = wait_seconds(query)
    if count is None and timeout is not None:
        raise InvalidRequest("timeout: only with wait=N (the number of requests to wait for)")
    answer: dict[str, object] = {}
    if count is not None and count > journal.capacity:
        raise Conflict(
            f"wait: {count} requests can never be in the journal at once: it keeps "
            f"the last {journal.capacity} (--journal-size)"
        )
    if count is not None:
        reached = await journal.wait_for(where, count, timeout or DEFAULT_WAIT_SECONDS)
        answer["timed_out"] = not reached
    entries = journal.entries(where, limit)
    answer.update(
        {
            "requests": [entry.to_public() for entry in entries],
            "total": len(entries),
            "capacity": journal.capacity,
            "dropped": journal.dropped,
        }
    )
    return json_response(answer)


async def clear_requests(request: web.Request) -> web.Response:
    request.app[BACKEND].journal.clear()
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
            QueryParam("before", "entries before this id (page backwards with limit)", "integer"),
            QueryParam("limit", "the newest N", "integer"),
            QueryParam(
                "wait", "answer once the journal holds N matching entries (or timeout)", "integer"
            ),
            QueryParam("timeout", "seconds a wait lasts (default 10, at most 300)", "number"),
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
