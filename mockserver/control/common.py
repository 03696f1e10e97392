"""Helpers shared by the control API handlers: bodies, query parameters, paging."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from mockserver.app_keys import STATE
from mockserver.envelope import parse_json_object, read_body
from mockserver.errors import InvalidRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


async def read_control_json(request: web.Request, schema: str | None = None) -> dict[str, Any]:
    """A control body: optional (empty means `{}`), else a JSON object valid for `schema`."""
    state = request.app[STATE]
    raw = await read_body(request, state.settings.max_body_bytes)
    body = parse_json_object(raw) if raw.strip() else {}
    if schema is not None:
        state.schemas[schema].check(body)
    return body


def int_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidRequest(f"{name}: expected an integer, got {raw!r}") from None


def page(items: Iterable[Any], query: Mapping[str, str]) -> tuple[list[Any], int]:
    """`?limit=&offset=` over a list: the page and the total before paging."""
    everything = list(items)
    limit = int_param(query, "limit") or DEFAULT_LIMIT
    offset = int_param(query, "offset") or 0
    if limit < 1 or limit > MAX_LIMIT or offset < 0:
        raise InvalidRequest(f"limit: 1..{MAX_LIMIT} and offset >= 0")
    return everything[offset : offset + limit], len(everything)
