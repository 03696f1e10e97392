"""Helpers shared by the control API handlers: bodies, query parameters, paging."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from mockserver.errors import InvalidRequest
from mockserver.http.body import read_body
from mockserver.http.parsing import parse_json_object
from mockserver.keys import BACKEND, UPLOADS, notes

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: A wait on the server (a task, the journal): this long unless told, at most the
#: longest (the schemas say the same): a forgotten wait must not hold a connection for good.
DEFAULT_WAIT_SECONDS = 10.0
MAX_WAIT_SECONDS = 300.0


async def read_control_json(request: web.Request, schema: str | None = None) -> dict[str, Any]:
    """A control body: optional (empty means `{}`), else a JSON object valid for `schema`."""
    backend = request.app[BACKEND]
    settings = backend.settings
    raw = await read_body(
        request,
        settings.max_body_bytes,
        timeout=settings.read_timeout,
        uploads=request.app[UPLOADS],
    )
    noted = notes(request)  # for the journal (--journal-control)
    noted.raw_body = raw
    body = parse_json_object(raw) if raw.strip() else {}
    noted.body = body
    if schema is not None:
        backend.schemas[schema].check(body)
    return body


#: An integer as a query writes it: ASCII digits, an optional sign, within 64 bits
#: (`int()` also takes other scripts' digits, `1_000` and spaces around it).
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
SHOWN_VALUE = 40  # characters of a refused value shown in `error_debug`


def shown(raw: str) -> str:
    """A client's value for an error message: cut, so a 5,000-digit one is not echoed."""
    if len(raw) <= SHOWN_VALUE:
        return repr(raw)
    return f"{raw[:SHOWN_VALUE]!r}… ({len(raw)} characters)"


def parse_int(raw: str) -> int | None:
    """`raw` as a 64-bit integer, or None when it is not one."""
    if not _INTEGER.fullmatch(raw):
        return None
    value = int(raw)
    return value if INT_MIN <= value <= INT_MAX else None


def int_param(query: Mapping[str, str], name: str, minimum: int | None = None) -> int | None:
    """An integer query parameter (absent or empty: None); anything else is a 400 naming it."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    value = parse_int(raw)
    if value is None:
        raise InvalidRequest(f"{name}: expected an integer, got {shown(raw)}")
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


def wait_seconds(query: Mapping[str, str], name: str = "timeout") -> float | None:
    """A wait's `timeout` query parameter in seconds (absent: None); else a 400 naming it."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_WAIT_SECONDS:  # NaN too
        raise InvalidRequest(
            f"{name}: expected seconds from 0 to {MAX_WAIT_SECONDS:g}, got {shown(raw)}"
        )
    return value
