"""Answers aiohttp writes itself, before any handler runs, in the vendor envelope.

A request aiohttp cannot parse (a bad request line, a malformed or oversized
header, a broken chunked encoding) never reaches the app and its middlewares:
aiohttp's connection handler answers it with plain text and logs a
traceback. Real clients' bugs show up exactly there, so the mock answers them
like any other bad request, `{"error": 400, "error_text": "Invalid request",
"error_debug": "http: ..."}`, with HTTP 400 whatever the status policy (the
request was not understood, so no vendor method could answer it with 200),
and logs one warning line. The connection is closed after the answer, as
aiohttp does: the rest of the stream cannot be trusted.
"""

from __future__ import annotations

import logging
import re
from typing import cast

import orjson
from aiohttp import web
from aiohttp.http_exceptions import InvalidURLError
from aiohttp.web_protocol import RequestHandler, _RequestHandler
from aiohttp.web_request import BaseRequest

from mockserver.errors import TEXT_FOR_CODE, AltcraftError, InternalError, InvalidRequest
from mockserver.keys import REQUEST_HANDLER

log = logging.getLogger(__name__)

#: A quote that may open what aiohttp quotes of the request's bytes: not an
#: apostrophe inside a word (`can't`).
_QUOTE = re.compile(r"""(?<![A-Za-z])(b'|b"|bytearray\(|'|")""")
#: A quoted header name (`Missing 'Host' header`, `Duplicate 'Content-Length' header`):
#: a name, never a value.
_QUOTED_NAME = re.compile(r"""(['"])[A-Za-z0-9-]+\1(?= header)""")

#: `error_debug` keeps the first line of aiohttp's reason, at most this long.
REASON_LIMIT = 200


class EnvelopeRequestHandler(RequestHandler):
    """aiohttp's per-connection handler, with its error answers in the envelope."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # An answer has started: nothing can be sent any more (aiohttp's own rule).
            return super().handle_error(request, status, exc, message)
        if status >= 500:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        else:
            log.warning("malformed HTTP request from %s: %s", request.remote, _reason(exc, message))
        answer = web.Response(
            status=status,
            body=orjson.dumps(_error(status, exc, message).envelope()),
            content_type="application/json",
        )
        answer.force_close()
        return answer


class EnvelopeServer(web.Server):
    """aiohttp's server, making `EnvelopeRequestHandler`s for its connections."""

    def __call__(self) -> RequestHandler:
        return EnvelopeRequestHandler(self, loop=self._loop, **self._kwargs)


class EnvelopeAppRunner(web.AppRunner):
    """`web.AppRunner` whose connections answer unparseable requests in the envelope,
    and hand requests to the app's REQUEST_HANDLER when it has one."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The application builds a plain `web.Server` (its set-up, access log and
        # handler arguments); only the class that makes connection handlers changes.
        server.__class__ = EnvelopeServer
        hot_path = self._app.get(REQUEST_HANDLER)
        if hot_path is not None:
            # The server makes every request with the app's factory: a web.Request.
            server.request_handler = cast(_RequestHandler, hot_path)
        return server


def _error(status: int, exc: BaseException | None, message: str | None) -> AltcraftError:
    """An unexpected failure (5xx) says nothing more; a request aiohttp could not
    parse (4xx) says what was wrong with it."""
    error = InternalError() if status >= 500 else InvalidRequest(f"http: {_reason(exc, message)}")
    error.code = status
    if status in TEXT_FOR_CODE:
        error.text = TEXT_FOR_CODE[status]
    return error


def _reason(exc: BaseException | None, message: str | None) -> str:
    """The first line of what aiohttp says was wrong ("Invalid method encountered")."""
    if isinstance(exc, InvalidURLError):
        return "invalid request target"  # aiohttp's text is the target itself, unquoted
    text = getattr(exc, "message", None) or (str(exc) if exc is not None else "") or message or ""
    first = next((line.strip() for line in str(text).splitlines() if line.strip()), "")
    # aiohttp quotes the bytes it choked on (`...: b'Authorization: Bearer ...'`,
    # `bytearray(b'/api?token=...')`): an answer never repeats them, they may hold
    # a token.
    first = _without_request_bytes(first.removeprefix("Bad Request:")).strip().rstrip(":.")
    first = first or "malformed request"
    return first if len(first) <= REASON_LIMIT else first[: REASON_LIMIT - 3] + "..."


def _without_request_bytes(text: str) -> str:
    """`text` up to the first quoted value of the request's bytes (`b'...'`,
    `bytearray(b'...')`, `'GET /?token=... HTTP/1.1'`); a quoted header name and an
    apostrophe stay (`Missing 'Host' header`, `can't be present`)."""
    at = 0
    while found := _QUOTE.search(text, at):
        name = _QUOTED_NAME.match(text, found.start())
        if name is None:
            return text[: found.start()].rstrip(": \t")
        at = name.end()
    return text
