"""One catch-all route for the vendor API, with our own path normaliser.

DESIGN "Why a catch-all router": aiohttp resolves routes before middlewares
run, and its slash-merging middleware answers with a redirect, which clients
re-send as a GET. Here repeated slashes are collapsed and a trailing slash
dropped, then the method name is looked up in one table; an unknown path or a
wrong HTTP method is answered in the vendor envelope, never redirected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mockserver.app_keys import (
    API_ACCOUNT,
    API_BODY,
    API_METHOD,
    API_RAW_BODY,
    API_TOKEN,
    BODY_NOTE,
    FAULT_APPLIED,
)
from mockserver.auth import authenticate
from mockserver.domain.catalog import Account
from mockserver.envelope import error_response, json_response, parse_json_object, read_body
from mockserver.errors import AltcraftError, InvalidRequest, MethodNotAllowed, MethodNotFound
from mockserver.fault_effects import FiredFaults
from mockserver.faults import RequestFacts
from mockserver.journal import token_fingerprint
from mockserver.paths import normalize_path
from mockserver.state import MockState

API_PREFIX = "/api/v1.1/"


@dataclass(frozen=True, slots=True)
class ApiCall:
    """What a vendor handler gets: the checked body and the caller's account."""

    state: MockState
    account: Account
    body: dict[str, Any]
    request: web.Request
    fault_plans: tuple[dict[str, Any], ...] = ()


ApiHandler = Callable[[ApiCall], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ApiMethod:
    name: str  # e.g. "workflows/import_and_start_batch_task"
    handler: ApiHandler
    request_schema: str
    response_schema: str
    summary: str = ""


def normal_path(path: str) -> str:
    """normalize_path, skipping its regex for a path already in normal form (nearly all)."""
    if "//" in path or path.endswith("/"):
        return normalize_path(path)
    return path


def method_name(path: str) -> str | None:
    """`workflows/import_and_start_batch_task` from an API path, else None."""
    normalized = normal_path(path) + "/"
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
            raise MethodNotFound(f"path: no API method at {normal_path(request.path)}")
        if request.method != "POST":
            raise MethodNotAllowed(f"method: {request.method} is not allowed, use POST")
        return method

    async def answer(self, state: MockState, request: web.Request) -> web.Response:
        """Resolve, read and check the request, apply faults, run its handler."""
        method = self.resolve(request)
        request[API_METHOD] = method.name
        try:
            raw = await read_body(request, state.settings.max_body_bytes)
        except InvalidRequest:
            request.setdefault(BODY_NOTE, "too large: not read")  # read_body notes a timeout
            raise
        request[API_RAW_BODY] = raw
        content_type = request.content_type if "Content-Type" in request.headers else None
        body = parse_json_object(raw, content_type)
        request[API_BODY] = body
        token, account = authenticate(state, request, body)
        request[API_ACCOUNT] = account.name
        request[API_TOKEN] = token_fingerprint(token)

        fired = state.faults.fire(_facts(method.name, account.name, token, body))
        faults = FiredFaults(fired) if fired else _NO_FAULTS
        if faults.rules:
            request[FAULT_APPLIED] = [rule.summary() for rule in faults.rules]
            await faults.delay(state.faults)
            replaced = faults.answer_before(request, state.settings.http_status)
            if replaced is not None:
                return replaced

        try:
            state.schemas[method.request_schema].check(body)
            call = ApiCall(state, account, body, request, tuple(faults.task_plans()))
            response = json_response(await method.handler(call))
        except AltcraftError as error:
            if not faults.rules:
                raise
            # An error is a real answer too: `truncate` and `when: after` spoil it.
            response = error_response(error, state.settings.http_status, control=False)
        return faults.answer_after(request, response) if faults.rules else response


_NO_FAULTS = FiredFaults(())


#: Methods whose `id` names a trigger campaign, not a workflow.
_TRIGGER_METHODS = "campaigns/triggers/"


def _facts(method: str, account: str, token: str, body: dict[str, Any]) -> RequestFacts:
    named = body.get("workflow_id", body.get("trigger_id", body.get("id")))
    if isinstance(named, str) and named.isascii() and named.isdigit() and len(named) < 19:
        named = int(named)  # a trigger page types `id` as a string
    if not isinstance(named, int) or isinstance(named, bool):
        named = None
    if method.startswith(_TRIGGER_METHODS):
        return RequestFacts(method, account, token, None, named)
    return RequestFacts(method, account, token, named)
