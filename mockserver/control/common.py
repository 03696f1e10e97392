"""Helpers shared by the control API handlers: bodies, query parameters, paging."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from mockserver.app_keys import API_BODY, API_RAW_BODY, STATE
from mockserver.envelope import parse_json_object, read_body
from mockserver.errors import InvalidRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


async def read_control_json(request: web.Request, schema: str | None = None) -> dict[str, Any]:
    """A control body: optional (empty means `{}`), else a JSON object valid for `schema`."""
    state = request.app[STATE]
    raw = await read_body(request, state.settings.max_body_bytes)
    request[API_RAW_BODY] = raw  # for the journal (--journal-control)
    body = parse_json_object(raw) if raw.strip() else {}
    request[API_BODY] = body
    if schema is not None:
        state.schemas[schema].check(body)
    return body


def int_param(query: Mapping[str, str], name: str, minimum: int | None = None) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"{name}: expected an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise InvalidRequest(f"{name}: must be at least {minimum}, got {value}")
    return value


def page(items: Iterable[Any], query: Mapping[str, str]) -> tuple[list[Any], int]:
    """`?limit=&offset=` over a list: the page and the total before paging."""
    everything = list(items)
    limit = int_param(query, "limit", minimum=1) or DEFAULT_LIMIT
    offset = int_param(query, "offset", minimum=0) or 0
    if limit > MAX_LIMIT:
        raise InvalidRequest(f"limit: at most {MAX_LIMIT}, got {limit}")
    return everything[offset : offset + limit], len(everything)
