"""Helpers shared by the control API handlers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mockserver.app_keys import STATE
from mockserver.envelope import parse_json_object, read_body


async def read_control_json(request: web.Request) -> dict[str, Any]:
    """A control body: optional (empty means `{}`), else a JSON object."""
    raw = await read_body(request, request.app[STATE].settings.max_body_bytes)
    return parse_json_object(raw) if raw.strip() else {}
