"""The vendor envelope: reading JSON bodies and writing answers.

SPEC §1: every answer is a JSON object with `error` and `error_text`; a body
over the limit is refused while it streams, with the reference page's exact
answer; by default every answer is HTTP 200 with the code in the body
(`--http-status mirror` answers errors with the matching HTTP status).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web

from mockserver.config import HttpStatusPolicy
from mockserver.errors import (
    BODY_TOO_LARGE_DEBUG,
    OK_TEXT,
    AltcraftError,
    InvalidRequest,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"

#: Content types a JSON body is accepted under besides JSON's own (SPEC §1 tolerates a
#: missing one): curl's and urllib's default form type, a bare text type, and the raw
#: bytes type of HTTP clients that were handed an already-encoded body (aiohttp's).
TOLERATED_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "text/plain", "application/octet-stream"}
)

#: The deepest nesting a body may have: an item's `json` field sits about six levels
#: down, and a stored document adds a few levels more to what a body holds, which must
#: stay under the 254 levels orjson writes, or the store file could not be written again.
MAX_DEPTH = 64

#: The integer range of the vendor's 64-bit fields; orjson turns integers past 64 bits
#: into floats without a word, so they are caught here instead.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class ClientDisconnected(Exception):
    """The client went away mid-request: there is no one to answer."""


class Uploads:
    """The request bodies being received, all clients together.

    Their bytes count against one budget, so many uploads trickling in at once
    cannot take the server's memory (200 clients each holding 9.9 MB of an
    unfinished body would be 2 GB); a stopping server cuts them all off rather
    than waiting up to `--read-timeout` for clients that may never finish.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.buffered = 0
        self._transports: set[asyncio.BaseTransport] = set()

    def receiving(self, transport: asyncio.BaseTransport | None) -> None:
        if transport is not None:
            self._transports.add(transport)

    def received(self, transport: asyncio.BaseTransport | None) -> None:
        self._transports.discard(transport)  # type: ignore[arg-type]

    def cut_all(self) -> int:
        """Close the connection of every upload still being received."""
        cut = list(self._transports)
        for transport in cut:
            transport.close()
        return len(cut)


async def read_body(request: web.Request, limit: int, timeout: float | None = None) -> bytes:
    """The request body, refused as soon as it passes `limit` bytes or `timeout` seconds.

    A declared Content-Length over the limit is refused before any of the
    body is read; a chunked body is counted as it arrives, so an endless
    upload never sits in memory whole. The body must arrive within
    `--read-timeout` seconds of its head (`timeout`, default from the
    settings), so a client sending a byte a second is cut off; the server's
    other clients are answered meanwhile.
    """
    if request.content_length is not None and request.content_length > limit:
        raise InvalidRequest(BODY_TOO_LARGE_DEBUG)
    content = request.content
    if content.is_eof() and content.exception() is None:
        # A small body usually arrives with its head: it is taken whole, with no
        # deadline to arm and cancel (a poller's every request comes this way).
        whole = bytes(content.read_nowait())  # bytes already: no copy
        if len(whole) > limit:
            raise InvalidRequest(BODY_TOO_LARGE_DEBUG)
        return whole
    from mockserver.app_keys import BODY_NOTE, SETTINGS, UPLOADS  # app_keys imports the state

    if timeout is None:
        settings = request.app.get(SETTINGS)
        timeout = settings.read_timeout if settings is not None else None
    uploads = request.app.get(UPLOADS) or Uploads(limit)
    transport = request.transport
    uploads.receiving(transport)
    received = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in content.iter_any():
                if uploads.buffered + len(chunk) > uploads.budget:
                    request[BODY_NOTE] = "not read: too many uploads at once"
                    raise ServiceUnavailable(
                        f"http: {uploads.budget} bytes of request bodies are being received "
                        "at once (--max-uploading-bytes); send it again shortly"
                    )
                uploads.buffered += len(chunk)
                received += chunk
                if len(received) > limit:
                    raise InvalidRequest(BODY_TOO_LARGE_DEBUG)
    except TimeoutError:
        request[BODY_NOTE] = f"not received within {timeout:g} s: not read"
        raise InvalidRequest(
            f"http: request body not received within {timeout:g} s (--read-timeout)"
        ) from None
    except ConnectionResetError:
        # The client hung up (or half-closed) before its body was whole: nobody
        # is left to answer. One line, no traceback (a client's doing).
        request[BODY_NOTE] = f"client disconnected after {len(received)} bytes: not read"
        log.warning(
            "client %s disconnected during its %s %s body after %d bytes",
            request.remote,
            request.method,
            request.path,
            len(received),
        )
        raise ClientDisconnected from None
    except web.RequestPayloadError as exc:
        # A body aiohttp could not read: a Content-Encoding that does not decode, a
        # chunked body that breaks off. The client's fault, answered as such.
        request[BODY_NOTE] = "unreadable: not read"
        cause = exc.__cause__ or exc
        reason = getattr(cause, "message", None) or str(cause)
        raise InvalidRequest(f"http: request body unreadable: {reason}") from None
    finally:
        uploads.buffered -= len(received)
        uploads.received(transport)
    return bytes(received)


def parse_json_object(raw: bytes, content_type: str | None = None) -> dict[str, Any]:
    """The body as a JSON object, or InvalidRequest saying what is wrong with it.

    The body decides, not the Content-Type header: `curl -d` sends JSON as
    `application/x-www-form-urlencoded`, and SPEC §1 tolerates a missing type.
    A declared non-JSON type is named in the error when the body does not parse;
    a type that declares another format (XML, a multipart form, an image) is
    refused even when the body happens to parse.

    A body that parses is refused when it could not be kept or answered
    faithfully: nested deeper than MAX_DEPTH, a key given twice in one object
    (orjson would keep the last one silently), a NUL character in a string, or
    an integer outside the 64-bit range (orjson would turn it into a float).
    """
    declared = ""
    if content_type and not _is_json_type(content_type):
        if content_type not in TOLERATED_CONTENT_TYPES:
            raise InvalidRequest(
                f"Content-Type: {content_type!r} is not JSON (send {JSON_CONTENT_TYPE})"
            )
        declared = f" (Content-Type is {content_type!r})"
    if not raw.strip():
        raise InvalidRequest(f"body: empty, expected a JSON object{declared}")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise InvalidRequest(f"body: nested deeper than {MAX_DEPTH} levels") from None
        if "infinity" in str(exc):  # a number past a double's range: name its field
            raise InvalidRequest(_number_problem(raw) or f"body: {exc}") from None
        raise InvalidRequest(f"body: not valid JSON: {exc}{declared}") from None
    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        raise InvalidRequest(f"body: expected a JSON object, got {_json_kind(kind)}")
    _refuse_unfaithful(raw, value)
    return value


def _is_json_type(content_type: str) -> bool:
    return content_type in (JSON_CONTENT_TYPE, "text/json") or content_type.endswith("+json")


def _orjson_depth_limit() -> int:
    """How deeply nested a value orjson still writes (254 today), probed once."""
    low, high = 1, 4096
    while low < high:
        middle = (low + high + 1) // 2
        value: Any = 0
        for _ in range(middle):
            value = [value]
        try:
            orjson.dumps(value)
        except orjson.JSONEncodeError:
            high = middle - 1
        else:
            low = middle
    return low


#: Lists wrapped around a body before it is written back: orjson then refuses
#: exactly the bodies nested deeper than MAX_DEPTH, at the speed of its writer.
_DEPTH_PADDING = _orjson_depth_limit() - MAX_DEPTH
#: The raw body with digits as `0`, `.` kept, `e`/`E` as `e`, signs as `s`, the rest
#: as `x`: a number's shape, found at C speed (strings may match too: only a hint).
_NUMBER_SHAPES = bytes(
    0x30
    if 0x30 <= byte <= 0x39
    else {0x2E: 0x2E, 0x65: 0x65, 0x45: 0x65, 0x2B: 0x73, 0x2D: 0x73}.get(byte, 0x78)
    for byte in range(256)
)
_LONG_DIGIT_RUN = b"0" * 19  # the length of 2**63: shorter runs are in range


def _refuse_unfaithful(raw: bytes, value: dict[str, Any]) -> None:
    """Depth, duplicate keys, NUL characters, 64-bit numbers: cheap checks first.

    The body is written back with orjson (a few milliseconds for 10,000 items):
    that refuses anything too deep, and its `:` count equals the raw body's
    unless a key was dropped as a duplicate (a `\\u003a` escape in the raw body
    could hide one, so it sends the body to the exact check too). Only a body
    a cheap check flags is parsed again, slowly, to find the problem and its path.

    A number written as a float that is a whole number (`2.0`, `1e3`) is the same
    JSON number as `2` (JSON Schema's `integer` accepts it), so it is kept as an
    int: code that pages or counts with it gets an int.
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        # Too few brackets (strings' included) to nest deeper: no padding needed.
        written = orjson.dumps(value)
    else:
        wrapped: Any = value
        for _ in range(_DEPTH_PADDING):
            wrapped = [wrapped]
        try:
            written = orjson.dumps(wrapped)
        except orjson.JSONEncodeError:
            raise InvalidRequest(f"body: nested deeper than {MAX_DEPTH} levels") from None
    shapes = raw.translate(_NUMBER_SHAPES)
    suspicious = (
        raw.count(b":") != written.count(b":")
        or b"\\u0000" in raw
        or b"\\u003" in raw
        or _LONG_DIGIT_RUN in shapes
    )
    if suspicious:
        problem = find_unfaithful(raw)
        if problem is not None:
            raise InvalidRequest(problem)
    # A fraction or an exponent (spelled out: a generator over a tuple costs more here).
    has_float = b"0.0" in shapes or b"0e0" in shapes or b"0es0" in shapes
    if has_float and not _whole_floats_to_ints(value):
        raise InvalidRequest(_out_of_range_float(value, ""))


def _whole_floats_to_ints(value: Any) -> bool:
    """Turn whole-number floats into ints, in place; False at a float past 64 bits."""
    stack = [value]
    while stack:
        node = stack.pop()
        members = node.items() if type(node) is dict else enumerate(node)
        for key, child in members:
            kind = type(child)
            if kind is float and child.is_integer():  # every float past 2**53 is whole
                if not INT_MIN <= child < -INT_MIN:
                    return False
                node[key] = int(child)
            elif kind is dict or kind is list:
                stack.append(child)
    return True


def _out_of_range_float(node: Any, path: str) -> str:
    """`error_debug` for the first float past 64 bits under `node` (one exists)."""
    members = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in members:
        here = (
            (f"{path}.{key}" if path else str(key)) if isinstance(node, dict) else f"{path}[{key}]"
        )
        if isinstance(child, float) and not INT_MIN <= child < -INT_MIN:
            return f"{here}: number {child!r} is outside the 64-bit range"
        if isinstance(child, dict | list) and child:
            found = _out_of_range_float(child, here)
            if found:
                return found
    return ""


class _Pairs(list):
    """An object's members in order, duplicates kept (stdlib json's pairs hook)."""


class _OutOfRange(str):
    """A number literal outside the 64-bit range, as written."""


def _parse_int(text: str) -> int | _OutOfRange:
    digits = text.lstrip("-")
    if len(digits) > 19:  # also spares int() Python's 4,300-digit guard
        return _OutOfRange(text)
    number = int(text)
    return number if INT_MIN <= number <= INT_MAX else _OutOfRange(text)


def _parse_float(text: str) -> float | _OutOfRange:
    number = float(text)
    return number if INT_MIN <= number < -INT_MIN else _OutOfRange(text)


def find_unfaithful(raw: bytes) -> str | None:
    """The first duplicate key, NUL character or out-of-range number, as `error_debug`."""
    tree = json.loads(
        raw.decode("utf-8"),
        object_pairs_hook=_Pairs,
        parse_int=_parse_int,
        parse_float=_parse_float,
    )
    return next(_problems(tree, ""), None)


def _number_problem(raw: bytes) -> str | None:
    """`error_debug` for a body orjson refused for a number past a double's range."""
    try:
        return find_unfaithful(raw)
    except ValueError:  # not JSON for the stdlib parser either: orjson's words stand
        return None


def _problems(node: Any, path: str) -> Iterator[str]:
    here = path or "body"
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for key, child in node:
            if "\0" in key:
                yield f"{here}: key {key!r} contains a NUL character (\\u0000)"
            if key in seen:
                yield f"{here}: duplicate key {key!r}"
            seen.add(key)
            yield from _problems(child, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _problems(child, f"{path}[{index}]" if path else f"body[{index}]")
    elif isinstance(node, _OutOfRange):
        shown = node if len(node) <= 40 else node[:40] + "…"
        yield f"{here}: number {shown} is outside the 64-bit range"
    elif isinstance(node, str) and "\0" in node:
        yield f"{here}: contains a NUL character (\\u0000)"


def _json_kind(python_name: str) -> str:
    return {"list": "array", "str": "string", "int": "number", "float": "number"}.get(
        python_name, {"bool": "boolean"}.get(python_name, python_name)
    )


def ok(**fields: Any) -> dict[str, Any]:
    """A success body; top-level keys sorted, as the vendor's answers are."""
    body = {"error": 0, "error_text": OK_TEXT, **fields}
    return dict(sorted(body.items()))


def http_status_for(code: int, policy: HttpStatusPolicy) -> int:
    if code == 0 or policy is HttpStatusPolicy.ALWAYS_200:
        return 200
    return code if 400 <= code <= 599 else 500


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type=JSON_CONTENT_TYPE, headers=headers
    )


def error_response(error: AltcraftError, policy: HttpStatusPolicy, control: bool) -> web.Response:
    """The envelope of an error: forced status, else real statuses on the control
    API, else the vendor API's status policy."""
    if error.http_status is not None:
        status = error.http_status
    elif control:
        status = error.code
    else:
        status = http_status_for(error.code, policy)
    return json_response(error.envelope(), status=status, headers=error.headers or None)
