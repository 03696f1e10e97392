"""Writing answers: the vendor envelope of a success or an error, and its HTTP status.

SPEC §1: every answer is a JSON object with `error` and `error_text`; by
default every answer is HTTP 200 with the code in the body (`--http-status
mirror` answers errors with the matching HTTP status). The control API answers
with real HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from aiohttp import web

from mockserver.errors import OK_TEXT, AltcraftError

JSON_CONTENT_TYPE = "application/json"


class HttpStatusPolicy(StrEnum):
    """`--http-status`: the vendor answers errors with HTTP 200 and the code in the
    body (`always_200`); `mirror` answers them with the matching HTTP status."""

    ALWAYS_200 = "always_200"
    MIRROR = "mirror"


class ConnectionDropped(Exception):
    """The connection was closed on purpose (a fault): there is no answer to send."""


def ok(**fields: Any) -> dict[str, Any]:
    """A success body; top-level keys sorted, as the vendor's answers are."""
    body = {"error": 0, "error_text": OK_TEXT, **fields}
    return dict(sorted(body.items()))


def http_status_for(code: int, policy: HttpStatusPolicy) -> int:
    if code == 0 or policy is HttpStatusPolicy.ALWAYS_200:
        return 200
    return code if 400 <= code <= 599 else 500


@dataclass(slots=True)
class Answer:
    """An answer as bytes, before any response object is made: what the vendor
    router and the error envelope answer. aiohttp's path writes `response()`; the
    hot path (`http/hot_path`) writes the bytes behind a head kept per status,
    content type and headers, with no response object at all."""

    body: bytes
    status: int = 200
    content_type: str = JSON_CONTENT_TYPE
    #: Headers beside Content-Type (an error's `Retry-After`), in order; None: none.
    headers: Mapping[str, str] | None = None

    def response(self) -> web.Response:
        """The same answer as aiohttp's response object."""
        return web.Response(
            body=self.body,
            status=self.status,
            content_type=self.content_type,
            headers=self.headers,
        )


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    """A success written once and kept by its handler (a finished task's status),
    sent as these very bytes on every later call."""

    payload: bytes
    #: The value `payload` was written from, on the call that wrote it (the journal
    #: summarises a big answer from it, not by parsing the bytes); None after.
    written_from: dict[str, Any] | None = None


def json_answer(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(orjson.dumps(body), status, JSON_CONTENT_TYPE, headers)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return json_answer(body, status, headers).response()


def error_answer(error: AltcraftError, policy: HttpStatusPolicy, control: bool) -> Answer:
    """The envelope of an error: forced status, else real statuses on the control
    API, else the vendor API's status policy."""
    if error.http_status is not None:
        status = error.http_status
    elif control:
        status = error.code
    else:
        status = http_status_for(error.code, policy)
    return json_answer(error.envelope(), status=status, headers=error.headers or None)


def error_response(error: AltcraftError, policy: HttpStatusPolicy, control: bool) -> web.Response:
    return error_answer(error, policy, control).response()
