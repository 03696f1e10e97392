"""`GET /_mock/clock` (the server's time and clock mode) and `POST /_mock/clock`
(move a virtual clock: `{"advance": "90s"}` or `{"set": "2026-01-01T00:00:00Z"}`).

Moving the clock runs the work it makes due before answering: a `rate` task is
exactly where the new time puts it when the next status poll comes, with no
sleep in the test. The clock never goes backwards (a reset rewinds it to its
start); the real clock cannot be moved at all.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mockserver.clock import Clock, VirtualClock, iso, parse_duration, parse_instant
from mockserver.control.common import read_control_json
from mockserver.control.routes import ControlRoute
from mockserver.errors import Conflict, InvalidRequest
from mockserver.http.answers import json_response
from mockserver.keys import BACKEND


def clock_view(clock: Clock) -> dict[str, Any]:
    """The clock as `GET /_mock/clock` and `/_mock/health` show it."""
    return {
        "mode": clock.mode.value,
        "now": iso(clock.now()),
        "start": iso(clock.start) if isinstance(clock, VirtualClock) else None,
    }


async def get_clock(request: web.Request) -> web.Response:
    return json_response(clock_view(request.app[BACKEND].clock))


async def move_clock(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/clock")
    backend = request.app[BACKEND]
    clock = backend.clock
    if ("advance" in body) == ("set" in body):
        raise InvalidRequest("advance, set: give exactly one (how far, or to what time)")
    field = "advance" if "advance" in body else "set"
    if not isinstance(clock, VirtualClock):
        raise Conflict(
            f"{field}: the server runs on the real clock (--clock real), which no call"
            " can move; start it with --clock virtual (ALTCRAFT_MOCK_CLOCK=virtual)"
        )
    try:
        if field == "advance":
            clock.advance(parse_duration(body["advance"]))
        else:
            clock.set(parse_instant(body["set"]))
    except ValueError as exc:  # not a duration or a time; backwards; past year 9999
        raise InvalidRequest(f"{field}: {exc}") from None
    await backend.engine.catch_up()
    return json_response(clock_view(clock))


ROUTES = (
    ControlRoute(
        "GET",
        "/_mock/clock",
        get_clock,
        "The server's time and clock mode",
        response_schema="control/clock.response",
    ),
    ControlRoute(
        "POST",
        "/_mock/clock",
        move_clock,
        "Move a virtual clock forward (advance or set); runs the work it makes due",
        "control/clock",
        "control/clock.response",
    ),
)
