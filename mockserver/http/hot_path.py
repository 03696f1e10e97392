"""The plain vendor call, served below aiohttp's router: what a poller sends
thousands of times a second.

aiohttp hands every request to `Application._handle`, which resolves the path
over the route table, builds a match info, looks at `Expect`, wraps the
handler in the middleware chain, and then `StreamResponse.prepare` assembles
the answer's headers in a multidict and writes them. For a POST to a vendor
method's own path that arrives whole, as HTTP/1.1 keep-alive, the answer
does not depend on any of that: `HotPath` calls the route's handler (the same
guarded handler, journal, envelope and router included) with the route's
match info made once; the handler answers bytes (`Answer`, no response
object), which are written behind a head kept per status, content type and
headers (only Content-Length and the Date of the second filled in), in one
write: the bytes aiohttp would have written.

Anything else takes aiohttp's general path unchanged: another path or
method, a query string, a body not wholly arrived (large or chunked), `Expect:
100-continue`, `Connection: close` or HTTP/1.0, a server with fault rules set,
`--latency` or the access log, and any answer that is not a plain
`Answer` or `web.Response` of bytes (a fault's, a dropped connection's, a
forced close). `tests/reliability/test_hot_path.py` runs the same requests through both paths and
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

from mockserver.http.answers import Answer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: A route's handler before `app.responding`: bytes (`Answer`) or a response object.
AnsweringHandler = Callable[[web.Request], Awaitable[Answer | web.StreamResponse]]

_SERVER_LINE = f"Server: {SERVER_SOFTWARE}\r\n\r\n"
#: Answers up to this size are written in one write; aiohttp writes bigger ones,
#: draining the socket's buffer as it goes (its writer's own limit).
PLAIN_BODY_LIMIT = 64 * 1024
#: The aiohttp releases whose connection handler, match info and response head
#: the hot path was checked against (tests/reliability/test_hot_path.py): it
#: reaches below aiohttp's public API, so any other release takes aiohttp's own
#: path for every request (the same answers, at aiohttp's speed).
CHECKED_AIOHTTP = ((3, 14),)


def supported(version: str | None = None) -> bool:
    """Whether the installed aiohttp (or `version`) is one the hot path was checked on."""
    if version is None:
        from aiohttp import __version__ as installed

        version = installed
    try:
        major_minor = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return major_minor in CHECKED_AIOHTTP


class HotPath:
    """The server's request handler: a plain call to one of `routes` directly, the
    rest to `general` (the application's own `_handle`).

    `quiet`: whether nothing may change an answer's timing or bytes on the way
    (no fault rules, no `--latency`), asked per request (rules come and go)."""

    def __init__(self, general: Handler, quiet: Callable[[], bool], max_body: int) -> None:
        self._general = general
        self._quiet = quiet
        self._max_body = max_body
        self._routes: dict[str, tuple[AnsweringHandler, UrlMappingMatchInfo]] = {}
        #: The Date and Server lines and the blank line, for the second aiohttp's
        #: `rfc822_formatted_time` last gave (the same string object within it).
        self._date = ""
        self._tail = b""

    def add(
        self, app: web.Application, path: str, route: AbstractRoute, handler: AnsweringHandler
    ) -> None:
        """Serve POSTs to `path` (exactly as sent) with `handler`: `route`'s handler
        before its answer is made a response object."""
        match_info = UrlMappingMatchInfo({}, route)
        match_info.add_app(app)
        match_info.freeze()  # what `_handle` does with the one it resolves
        self._routes[path] = (handler, match_info)

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        found = self._routes.get(request.raw_path)
        if found is None or not self._plain(request):
            return await self._general(request)
        handler, match_info = found
        request._match_info = match_info
        answer = await handler(request)
        if match_info.current_app.on_response_prepare:
            # A hook that sees every answer's headers: aiohttp's way.
            return answer.response() if isinstance(answer, Answer) else answer
        if isinstance(answer, Answer):
            plain = self._written(answer)
            if plain is None:
                return answer.response()
        else:
            plain = written_plainly(answer)
            if plain is None:
                return answer
        # aiohttp's connection handler asks only what PlainAnswer has.
        return cast(web.StreamResponse, plain)

    def _written(self, answer: Answer) -> PlainAnswer | None:
        """`answer` as one write (None: aiohttp writes it: see `written_plainly`)."""
        body = answer.body
        if type(body) is not bytes or not body or len(body) > PLAIN_BODY_LIMIT:
            return None
        headers = answer.headers
        key = (
            answer.status,
            answer.content_type,
            None if headers is None else tuple(headers.items()),
        )
        start = _ANSWER_HEADS.get(key)
        if start is None:
            found = _head_start(answer.response())
            if found is None:
                return None
            start = found.encode()
            if len(_ANSWER_HEADS) >= _KEPT_HEADS:
                _ANSWER_HEADS.clear()
            _ANSWER_HEADS[key] = start
        date = rfc822_formatted_time()
        if date is not self._date:
            self._date = date
            self._tail = f"\r\nDate: {date}\r\n{_SERVER_LINE}".encode()
        return PlainAnswer(answer.status, b"".join((start, b"%d" % len(body), self._tail, body)))

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
    key = (response.status, response.reason, tuple(headers.items()))
    start = _HEADS.get(key)
    if start is None:
        start = _head_start(response)
        if start is None:
            return None
        if len(_HEADS) >= _KEPT_HEADS:
            _HEADS.clear()
        _HEADS[key] = start
    head = f"{start}{len(body)}\r\nDate: {rfc822_formatted_time()}\r\n{_SERVER_LINE}"
    return PlainAnswer(response.status, head.encode() + body)


def _head_start(response: web.Response) -> str | None:
    """The head aiohttp writes for `response`, up to Content-Length's value (None:
    aiohttp must write it). Response._start and StreamResponse._prepare_headers, for
    this case: the handler's headers in their order, then Content-Length, Date and
    Server."""
    headers = response.headers
    if hdrs.CONTENT_LENGTH in headers or hdrs.DATE in headers or hdrs.SERVER in headers:
        return None
    if hdrs.CONNECTION in headers or hdrs.TRANSFER_ENCODING in headers:
        return None
    if response.chunked or response.compression or getattr(response, "_cookies", None):
        return None
    if any(_unsafe(name) or _unsafe(value) for name, value in headers.items()):
        return None  # a header aiohttp refuses to write: let it say so
    lines = [f"HTTP/1.1 {response.status} {response.reason}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
    return "".join(lines) + "Content-Length: "


#: The start of the heads written, by status, reason and the handler's headers.
_HEADS: dict[tuple[int, str, tuple[tuple[str, str], ...]], str] = {}
#: The same for `Answer`s, by status, content type and their other headers.
_ANSWER_HEADS: dict[tuple[int, str, tuple[tuple[str, str], ...] | None], bytes] = {}
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
        if request.protocol.writing_paused:
            # The socket's buffer is full (a client reading slowly, or pipelining
            # without reading): wait for it to drain before the next request, as
            # aiohttp's writer does after each answer, so unread answers are never
            # piled up in memory.
            await request.writer.drain()

    async def write_eof(self) -> None:
        return None
