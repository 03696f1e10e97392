"""The vendor envelope: reading JSON bodies and writing answers.

SPEC §1: every answer is a JSON object with `error` and `error_text`; a body
over the limit is refused while it streams, with the reference page's exact
answer; by default every answer is HTTP 200 with the code in the body
(`--http-status mirror` answers errors with the matching HTTP status).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from mockserver.config import HttpStatusPolicy
from mockserver.errors import BODY_TOO_LARGE_DEBUG, OK_TEXT, InvalidRequest

JSON_CONTENT_TYPE = "application/json"


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes `limit` bytes.

    A declared Content-Length over the limit is refused before any of the
    body is read; a chunked body is counted as it arrives, so an endless
    upload never sits in memory whole.
    """
    if request.content_length is not None and request.content_length > limit:
        raise InvalidRequest(BODY_TOO_LARGE_DEBUG)
    received = bytearray()
    async for chunk in request.content.iter_any():
        received += chunk
        if len(received) > limit:
            raise InvalidRequest(BODY_TOO_LARGE_DEBUG)
    return bytes(received)


def parse_json_object(raw: bytes, content_type: str | None = None) -> dict[str, Any]:
    """The body as a JSON object, or InvalidRequest saying what is wrong with it.

    The body decides, not the Content-Type header: `curl -d` sends JSON as
    `application/x-www-form-urlencoded`, and SPEC §1 tolerates a missing type.
    A declared non-JSON type is named in the error when the body does not parse.
    """
    declared = ""
    if content_type and content_type != JSON_CONTENT_TYPE and not content_type.endswith("+json"):
        declared = f" (Content-Type is {content_type!r})"
    if not raw.strip():
        raise InvalidRequest(f"body: empty, expected a JSON object{declared}")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"body: not valid JSON: {exc}{declared}") from None
    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        raise InvalidRequest(f"body: expected a JSON object, got {_json_kind(kind)}")
    return value


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
