"""A request body as a JSON object, parsed with orjson and refused when it could
not be kept or answered faithfully (too deep, a key given twice, a NUL, a number
past 64 bits).

SPEC §1: the body decides, not the Content-Type header (`curl -d` sends JSON
as a form), and a missing type is tolerated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson

from mockserver.domain.values import json_type
from mockserver.errors import InvalidRequest
from mockserver.http.answers import JSON_CONTENT_TYPE

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
        problem = _utf8_problem(raw) if "not valid UTF-8" in str(exc) else None
        if problem is not None:  # orjson places it at line 1 column 1: say where it is
            raise InvalidRequest(problem + declared) from None
        raise InvalidRequest(f"body: not valid JSON: {exc}{declared}") from None
    if not isinstance(value, dict):
        # JSON's grammar has one kind of number (field errors say `integer`, the schema's word).
        kind = "number" if json_type(value) == "integer" else json_type(value)
        raise InvalidRequest(f"body: expected a JSON object, got {kind}")
    if raw in _FAITHFUL:
        return value  # these very bytes passed the checks below before
    remember = len(raw) <= _REMEMBERED_BYTES and not _holds_float(value)
    _refuse_unfaithful(raw, value)
    if remember:
        # A poller sends the same bytes thousands of times: the checks depend on
        # the bytes alone, and they change nothing in a value without floats.
        if len(_FAITHFUL) >= _REMEMBERED_BODIES:
            _FAITHFUL.clear()
        _FAITHFUL.add(raw)
    return value


#: Small bodies that passed `_refuse_unfaithful` (and hold no float it would turn
#: into an int), so the same bytes again skip it; cleared when full.
_FAITHFUL: set[bytes] = set()
_REMEMBERED_BODIES = 256
_REMEMBERED_BYTES = 1024


def _utf8_problem(raw: bytes) -> str | None:
    """Where the body stops being UTF-8, or None when it is UTF-8 (a lone surrogate
    escape, which orjson words the same way)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        where = f"at byte {bad.start} (a sequence starting 0x{raw[bad.start]:02x}: {bad.reason})"
        return f"body: not valid JSON: not UTF-8 {where}"
    return None


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
#: The raw body with digits as `0`, `.` and `e`/`E` as `.`, signs as `s`, the rest
#: as `x`: a number's shape, found at C speed (strings may match too: only a hint).
#: A fraction or an exponent then reads `0.0` (`2.5`, `1e3`) or `0.s0` (`1e-3`).
_NUMBER_SHAPES = bytes(
    0x30
    if 0x30 <= byte <= 0x39
    else {0x2E: 0x2E, 0x65: 0x2E, 0x45: 0x2E, 0x2B: 0x73, 0x2D: 0x73}.get(byte, 0x78)
    for byte in range(256)
)
_LONG_DIGIT_RUN = b"0" * 19  # the length of 2**63: shorter runs are in range


#: A body this short has its brackets counted (to skip the padding); a longer one
#: is padded: counting costs as much as writing the padding does.
_SMALL_BODY = 4096


def _refuse_unfaithful(raw: bytes, value: dict[str, Any]) -> None:
    """Depth, duplicate keys, NUL characters, 64-bit numbers: cheap checks first.

    The body is written back with orjson inside as many lists as it takes for
    orjson's own depth limit to refuse exactly the bodies nested deeper than
    MAX_DEPTH. When what it writes is the body itself, byte for byte, no key was
    dropped as a duplicate; otherwise the `:` counts of the two must match
    (a `\\u003a` escape could hide one, so it sends the body to the exact check
    too). Only a body a cheap check flags is parsed again, slowly, to find the
    problem and its path.

    A number written as a float that is a whole number (`2.0`, `1e3`) is the same
    JSON number as `2` (JSON Schema's `integer` accepts it), so it is kept as an
    int: code that pages or counts with it gets an int.
    """
    padding = _DEPTH_PADDING
    if len(raw) < _SMALL_BODY and raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        padding = 0  # too few brackets (strings' included) to nest deeper
    wrapped: Any = value
    for _ in range(padding):
        wrapped = [wrapped]
    try:
        written = orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        raise InvalidRequest(f"body: nested deeper than {MAX_DEPTH} levels") from None
    shapes = raw.translate(_NUMBER_SHAPES)
    # Escapes first by their backslash (one memchr): most bodies hold none.
    escaped = b"\\" in raw
    if len(written) == len(raw) + 2 * padding and written.startswith(raw, padding):
        # Written back byte for byte (a compact body, as most clients but Python's
        # json send): no key was dropped as a duplicate, no escape hides one.
        suspicious = (escaped and b"\\u0000" in raw) or _LONG_DIGIT_RUN in shapes
    else:
        suspicious = (
            raw.count(b":") != written.count(b":")
            or (escaped and (b"\\u0000" in raw or b"\\u003" in raw))
            or _LONG_DIGIT_RUN in shapes
        )
    if suspicious:
        problem = find_unfaithful(raw)
        if problem is not None:
            raise InvalidRequest(problem)
    # Both shapes of a fraction or an exponent begin with a digit and `.`: one
    # search rules most bodies out.
    has_float = b"0." in shapes and (b"0.0" in shapes or b"0.s0" in shapes)
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


def _holds_float(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        for child in node.values() if type(node) is dict else node:
            kind = type(child)
            if kind is float:
                return True
            if kind is dict or kind is list:
                stack.append(child)
    return False


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
