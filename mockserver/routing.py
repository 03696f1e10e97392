"""One catch-all route for the vendor API, with our own path normaliser.

DESIGN "Why a catch-all router": aiohttp resolves routes before middlewares
run, and its slash-merging middleware answers with a redirect, which clients
re-send as a GET. Here repeated slashes are collapsed and a trailing slash
dropped, then the method name is looked up in one table; an unknown path or a
wrong HTTP method is answered in the vendor envelope, never redirected.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mockserver.app_keys import API_ACCOUNT, API_BODY
from mockserver.auth import authenticate
from mockserver.domain.catalog import Account
from mockserver.envelope import parse_json_object, read_body
from mockserver.errors import MethodNotAllowed, MethodNotFound
from mockserver.state import MockState

API_PREFIX = "/api/v1.1/"
_SLASHES = re.compile(r"/{2,}")


@dataclass(frozen=True, slots=True)
class ApiCall:
    """What a vendor handler gets: the checked body and the caller's account."""

    state: MockState
    account: Account
    body: dict[str, Any]
    request: web.Request


ApiHandler = Callable[[ApiCall], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ApiMethod:
    name: str  # e.g. "workflows/import_and_start_batch_task"
    handler: ApiHandler
    request_schema: str
    response_schema: str
    summary: str = ""


def normalize_path(path: str) -> str:
    """Collapse repeated slashes and drop a trailing one (SPEC §1)."""
    path = _SLASHES.sub("/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def method_name(path: str) -> str | None:
    """`workflows/import_and_start_batch_task` from an API path, else None."""
    normalized = normalize_path(path) + "/"
    if not normalized.startswith(API_PREFIX):
        return None
    return normalized[len(API_PREFIX) :].strip("/") or None


class ApiRouter:
    def __init__(self, methods: list[ApiMethod]) -> None:
        self.methods = {method.name: method for method in methods}

    def resolve(self, request: web.Request) -> ApiMethod:
        name = method_name(request.path)
        method = self.methods.get(name or "")
        if method is None:
            raise MethodNotFound(f"path: no API method at {normalize_path(request.path)}")
        if request.method != "POST":
            raise MethodNotAllowed(f"method: {request.method} is not allowed, use POST")
        return method

    async def call(self, state: MockState, request: web.Request) -> tuple[ApiMethod, Any]:
        """Resolve, read and check the request, run its handler; errors raise."""
        method = self.resolve(request)
        raw = await read_body(request, state.settings.max_body_bytes)
        content_type = request.content_type if "Content-Type" in request.headers else None
        body = parse_json_object(raw, content_type)
        request[API_BODY] = body  # for the journal
        account = authenticate(state, request, body)
        request[API_ACCOUNT] = account.name
        state.schemas[method.request_schema].check(body)
        return method, await method.handler(ApiCall(state, account, body, request))
