"""Carrying fault actions out over HTTP (which rules fire is decided in `rules`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from mockserver.control.faults.rules import FaultAction, FaultBook, FaultRule, plans_of
from mockserver.errors import CodedError
from mockserver.http.answers import (
    JSON_CONTENT_TYPE,
    ConnectionDropped,
    HttpStatusPolicy,
    http_status_for,
)
from mockserver.tasks.model import NO_FAULT_PLANS, FaultPlans

#: What a `malformed` fault answers: JSON-looking, but not JSON (a client
#: must not crash on it).
MALFORMED_BODY = b'{"error": 0, "error_text": Successful operation, "task_id": }'


@dataclass(frozen=True, slots=True)
class FiredFaults:
    rules: Sequence[FaultRule]

    async def delay(self, book: FaultBook) -> None:
        for rule in self.rules:
            if rule.action is FaultAction.DELAY:
                await asyncio.sleep(book.delay_seconds(rule))

    def answer_before(self, request: web.Request, policy: HttpStatusPolicy) -> web.Response | None:
        """The answer that replaces the handler's, if a rule says so (nothing is processed)."""
        for rule in self.rules:
            match rule.action:
                case FaultAction.ERROR:
                    raise CodedError(
                        rule.error,
                        rule.text,
                        rule.error_debug,
                        http_status=rule.http_status or http_status_for(rule.error, policy),
                    )
                case FaultAction.RATE_LIMIT:
                    raise CodedError(
                        rule.error,
                        rule.text,
                        rule.error_debug,
                        http_status=rule.http_status or 429,
                        headers={"Retry-After": str(rule.retry_after)},
                    )
                case FaultAction.DROP if rule.when == "before":
                    drop(request)
                case FaultAction.MALFORMED if rule.when == "before":
                    return malformed(rule)
        return None

    def answer_after(self, request: web.Request, response: web.Response) -> web.Response:
        """The real answer, spoiled after the request was processed."""
        for rule in self.rules:
            match rule.action:
                case FaultAction.TRUNCATE:
                    body = bytes(response.body or b"")  # type: ignore[arg-type]
                    return web.Response(
                        body=body[: max(1, len(body) // 2)],
                        status=response.status,
                        content_type=JSON_CONTENT_TYPE,
                    )
                case FaultAction.DROP if rule.when == "after":
                    drop(request)
                case FaultAction.MALFORMED if rule.when == "after":
                    return malformed(rule)
        return response

    def plans(self) -> FaultPlans:
        """What the fired rules leave to the work the request starts."""
        return plans_of(self.rules) if self.rules else NO_FAULT_PLANS


def malformed(rule: FaultRule) -> web.Response:
    return web.Response(
        body=MALFORMED_BODY, status=rule.http_status or 200, content_type=JSON_CONTENT_TYPE
    )


def drop(request: web.Request) -> None:
    """Close the connection without answering; the client sees a reset or EOF."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise ConnectionDropped()
