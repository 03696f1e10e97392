"""The plain vendor call, served below aiohttp's router: what a poller sends
thousands of times a second.

aiohttp hands every request to `Application._handle`, which resolves the path
over the route table, builds a match info, looks at `Expect`, wraps the
handler in the middleware chain, and then `StreamResponse.prepare` assembles
the answer's headers in a multidict and writes them. For a POST to a vendor
method's own path that arrives whole, as HTTP/1.1 keep-alive, the answer
does not depend on any of that: `HotPath` calls the route's handler (the same
guarded handler, journal, envelope and router included) with the route's
match info made once, and writes the answer's head and body in one write,
with the bytes aiohttp would have written.

Anything else takes aiohttp's general path unchanged: another path or
method, a query string, a body not wholly arrived (large or chunked), `Expect:
100-continue`, `Connection: close` or HTTP/1.0, a server with fault rules set,
`--latency` or the access log, and any answer that is not a plain
`web.Response` of bytes (a fault's, a dropped connection's, a forced close).
`tests/test_hot_path.py` runs the same requests through both paths and
compares everything a client and the control API can see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from aiohttp import hdrs, web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from aiohttp.web_request import BaseRequest
from aiohttp.web_urldispatcher import AbstractRoute, UrlMappingMatchInfo

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SERVER_LINE = f"Server: {SERVER_SOFTWARE}\r\n\r\n"
#: Answers up to this size are written in one write; aiohttp writes bigger ones,
#: draining the socket's buffer as it goes (its writer's own limit).
PLAIN_BODY_LIMIT = 64 * 1024


class HotPath:
    """The server's request handler: a plain call to one of `routes` directly, the
    rest to `general` (the application's own `_handle`).

    `quiet`: whether nothing may change an answer's timing or bytes on the way
    (no fault rules, no `--latency`), asked per request (rules come and go)."""

    def __init__(self, general: Handler, quiet: Callable[[], bool], max_body: int) -> None:
        self._general = general
        self._quiet = quiet
        self._max_body = max_body
        self._routes: dict[str, tuple[Handler, UrlMappingMatchInfo]] = {}

    def add(self, app: web.Application, path: str, route: AbstractRoute) -> None:
        """Serve POSTs to `path` (exactly as sent) with `route`'s handler."""
        match_info = UrlMappingMatchInfo({}, route)
        match_info.add_app(app)
        match_info.freeze()  # what `_handle` does with the one it resolves
        self._routes[path] = (route.handler, match_info)

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        found = self._routes.get(request.raw_path)
        if found is None or not self._plain(request):
            return await self._general(request)
        handler, match_info = found
        request._match_info = match_info
        response = await handler(request)
        if match_info.current_app.on_response_prepare:
            return response  # a hook that sees every answer's headers: aiohttp's way
        plain = written_plainly(response)
        # aiohttp's connection handler asks only what PlainAnswer has.
        return response if plain is None else cast(web.StreamResponse, plain)

    def _plain(self, request: web.Request) -> bool:
        if request.method != hdrs.METH_POST or request.version != HttpVersion11:
            return False
        if not request.keep_alive or hdrs.EXPECT in request.headers:
            return False
        declared = request.content_length
        if declared is None or declared > self._max_body or not request.content.is_eof():
            return False
        return self._quiet()


def written_plainly(response: web.StreamResponse) -> PlainAnswer | None:
    """`response` as one write of the bytes aiohttp would write for it, or None
    when aiohttp must write it (anything but a keep-alive `web.Response` of bytes
    with no cookies, compression or chunking)."""
    if type(response) is not web.Response or response.prepared:
        return None
    body = response.body
    if type(body) is not bytes or not body or response.keep_alive is not None:
        return None
    if len(body) > PLAIN_BODY_LIMIT:
        return None  # aiohttp's writer waits for a slow reader to drain a big answer
    if response.chunked or response.compression or getattr(response, "_cookies", None):
        return None
    headers = response.headers
    if hdrs.CONTENT_LENGTH in headers or hdrs.DATE in headers or hdrs.SERVER in headers:
        return None
    if hdrs.CONNECTION in headers or hdrs.TRANSFER_ENCODING in headers:
        return None
    # Response._start and StreamResponse._prepare_headers, for this case: the
    # handler's headers in their order, then Content-Length, Date and Server.
    key = (response.status, response.reason, tuple(headers.items()))
    start = _HEADS.get(key)
    if start is None:
        if any(_unsafe(name) or _unsafe(value) for name, value in headers.items()):
            return None  # a header aiohttp refuses to write: let it say so
        lines = [f"HTTP/1.1 {response.status} {response.reason}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
        start = "".join(lines) + "Content-Length: "
        if len(_HEADS) >= _KEPT_HEADS:
            _HEADS.clear()
        _HEADS[key] = start
    head = f"{start}{len(body)}\r\nDate: {rfc822_formatted_time()}\r\n{_SERVER_LINE}"
    return PlainAnswer(response.status, head.encode() + body)


#: The start of the heads written, by status, reason and the handler's headers.
_HEADS: dict[tuple[int, str, tuple[tuple[str, str], ...]], str] = {}
_KEPT_HEADS = 64


def _unsafe(text: str) -> bool:
    return "\r" in text or "\n" in text


class PlainAnswer:
    """What aiohttp's connection handler needs of an answer (`prepare`, `write_eof`,
    `keep_alive`, `status`), for bytes already complete."""

    __slots__ = ("data", "status")

    keep_alive = True

    def __init__(self, status: int, data: bytes) -> None:
        self.status = status
        self.data = data

    async def prepare(self, request: BaseRequest) -> None:
        transport = request.transport
        if transport is None or transport.is_closing():
            # aiohttp's own words for it; its connection handler stops there.
            raise ConnectionResetError("Cannot write to closing transport")
        transport.write(self.data)

    async def write_eof(self) -> None:
        return None
