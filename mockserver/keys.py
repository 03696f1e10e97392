"""Typed application keys, and the one request key: what a request leaves for the
journal and the logs as it is answered (aiohttp: no singletons, state lives in
`app[AppKey]`).

The keys' types are named for the type checker only, so any module may import
this one without loading the application.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from mockserver.backend import Backend
    from mockserver.config import Settings
    from mockserver.http.body import Uploads
    from mockserver.http.hot_path import HotPath

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
BACKEND: web.AppKey[Backend] = web.AppKey("backend")
UPLOADS: web.AppKey[Uploads] = web.AppKey("uploads")
#: The server's request handler in place of the application's own `_handle`, when
#: set (`http/hot_path.HotPath`: plain vendor calls served below the router).
REQUEST_HANDLER: web.AppKey[HotPath] = web.AppKey("request_handler")
#: The OpenAPI document of both APIs (built on first use: only app.py knows both).
OPENAPI: web.AppKey[Callable[[], dict[str, Any]]] = web.AppKey("openapi")


@dataclass(slots=True)
class RequestNotes:
    """What the router, the body reader and the handlers learn about a request,
    for the journal entry and the log lines it leads to."""

    journal_id: int | None = None
    #: The vendor method the path resolved to (`tasks/status`).
    api_method: str | None = None
    account: str | None = None
    #: The API token the call came with (the journal keeps only its fingerprint).
    token: str | None = None
    raw_body: bytes | None = None
    body: dict[str, Any] | None = None
    #: Why the body was not read (too large, too slow, the client hung up).
    body_note: str | None = None
    warning: str | None = None
    #: The fault rules that fired for the request (their journal summaries).
    faults: list[dict[str, Any]] | None = None
    #: The answer the handler returned, before it was written as JSON: the journal
    #: summarises a big answer from it instead of parsing the bytes again.
    answer: Any = None
    #: The handler answered bytes it keeps (a finished task's status), compact already.
    answer_is_kept: bool = False
    #: The Altcraft `error` code answered (0 on success); None for an answer
    #: with no envelope (a dropped connection, a malformed or cut answer).
    error_code: int | None = None


NOTES: web.RequestKey[RequestNotes] = web.RequestKey("notes")


def notes(request: web.Request) -> RequestNotes:
    """The request's notes (made on first use)."""
    try:
        return request[NOTES]
    except KeyError:
        found = request[NOTES] = RequestNotes()
        return found
