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
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mockserver.api.auth import authenticate
from mockserver.control.faults.effects import FiredFaults
from mockserver.control.faults.rules import RequestFacts
from mockserver.domain.catalog import Account
from mockserver.errors import AltcraftError, InvalidRequest, MethodNotAllowed, MethodNotFound
from mockserver.http.answers import Answer, KeptAnswer, error_answer, json_answer
from mockserver.http.body import read_body
from mockserver.http.parsing import parse_json_object
from mockserver.http.paths import method_name, normal_path
from mockserver.keys import UPLOADS, notes
from mockserver.tasks.model import NO_FAULT_PLANS, FaultPlans

if TYPE_CHECKING:
    from mockserver.accounts import Accounts
    from mockserver.api.latency import Latency
    from mockserver.config import Settings
    from mockserver.control.faults.rules import FaultBook
    from mockserver.importer.work import Importer
    from mockserver.schemas import SchemaSet
    from mockserver.store.repository import Store
    from mockserver.tasks.engine import TaskEngine
    from mockserver.tasks.progression import Progressions

#: A body this big takes milliseconds to parse or check: it waits for its turn.
BIG_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ApiServices:
    """What the vendor API works with (the backend's parts it needs, no more)."""

    settings: Settings
    schemas: SchemaSet
    accounts: Accounts
    importer: Importer
    engine: TaskEngine
    progressions: Progressions
    store: Store
    faults: FaultBook
    latency: Latency | None = None  # None unless --latency is set: nothing to do per request


@dataclass(frozen=True, slots=True)
class ApiCall:
    """What a vendor handler gets: the checked body, the caller's account, the
    services, and what fault rules planned for the work it starts."""

    services: ApiServices
    account: Account
    body: dict[str, Any]
    request: web.Request
    faults: FaultPlans = NO_FAULT_PLANS

    @property
    def journal_id(self) -> int | None:
        """The journal entry of this call (a task records the request it came from)."""
        return notes(self.request).journal_id


#: A handler answers a body to write, or a success it wrote once and keeps (`KeptAnswer`).
ApiHandler = Callable[[ApiCall], Awaitable[dict[str, Any] | KeptAnswer]]


@dataclass(frozen=True, slots=True)
class ApiMethod:
    name: str  # e.g. "workflows/import_and_start_batch_task"
    handler: ApiHandler
    request_schema: str
    response_schema: str
    summary: str = ""


def _require_post(request: web.Request) -> None:
    if request.method != "POST":
        raise MethodNotAllowed(f"method: {request.method} is not allowed, use POST")


class ApiRouter:
    def __init__(self, methods: list[ApiMethod]) -> None:
        self.methods = {method.name: method for method in methods}

    def resolve(self, request: web.Request) -> ApiMethod:
        name = method_name(request.path)
        method = self.methods.get(name or "")
        if method is None:
            raise MethodNotFound(f"path: no API method at {normal_path(request.path)}")
        _require_post(request)
        return method

    async def answer(
        self, services: ApiServices, request: web.Request, method: ApiMethod | None = None
    ) -> Answer | web.Response:
        """Resolve, read and check the request, apply faults, run its handler.
        `method`: the vendor method, when the route is that method's own path.
        The answer is bytes (`Answer`) unless a fault rule made or spoiled it."""
        if method is None:
            method = self.resolve(request)
        else:
            _require_post(request)
        noted = notes(request)
        noted.api_method = method.name
        settings = services.settings
        try:
            raw = await read_body(
                request,
                settings.max_body_bytes,
                timeout=settings.read_timeout,
                uploads=request.app[UPLOADS],
            )
        except InvalidRequest:
            if noted.body_note is None:  # read_body notes a timeout
                noted.body_note = "too large: not read"
            raise
        noted.raw_body = raw
        if services.latency is not None:  # --latency: every vendor method's answer waits
            await services.latency.wait(method.name)
        content_type = request.content_type if "Content-Type" in request.headers else None
        big = len(raw) >= BIG_BODY_BYTES
        if big:
            # Milliseconds of parsing: taken in turn with import slices, so the
            # bodies of many concurrent imports never stall a poll all at once.
            async with services.importer.turns:
                body = parse_json_object(raw, content_type)
        else:
            body = parse_json_object(raw, content_type)
        noted.body = body
        token, account = authenticate(services.accounts, request, body)
        noted.account = account.name
        noted.token = token

        fired = (
            services.faults.fire(_facts(method.name, account.name, token, body))
            if services.faults
            else ()
        )
        faults = FiredFaults(fired) if fired else _NO_FAULTS
        if faults.rules:
            noted.faults = [rule.summary() for rule in faults.rules]
            await faults.delay(services.faults)
            replaced = faults.answer_before(request, settings.http_status)
            if replaced is not None:
                return replaced

        try:
            if big:
                async with services.importer.turns:
                    services.schemas[method.request_schema].check(body)
            else:
                services.schemas[method.request_schema].check(body)
            call = ApiCall(services, account, body, request, faults.plans())
            answer = await method.handler(call)
            if isinstance(answer, KeptAnswer):
                result = Answer(answer.payload)
                noted.error_code, noted.answer_is_kept = 0, True
                noted.answer = answer.written_from
            else:
                noted.answer = answer
                noted.error_code = answer.get("error", 0)
                result = json_answer(answer)
        except AltcraftError as error:
            if not faults.rules:
                raise
            # An error is a real answer too: `truncate` and `when: after` spoil it.
            result = error_answer(error, settings.http_status, control=False)
            noted.error_code = error.code
        if not faults.rules:
            return result
        response = result.response()
        spoiled = faults.answer_after(request, response)
        if spoiled is not response:
            noted.answer = None  # the answer sent is not the handler's
            noted.answer_is_kept = False  # nor bytes it keeps: the journal must not remember them
            noted.error_code = None
        return spoiled


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
