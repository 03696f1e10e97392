"""Vendor error codes and texts, one exception class per row of SPEC §1's table.

The real service answers every failure in the same envelope: an int `error`,
a human `error_text` and, where useful, an `error_debug` naming the field.
Handlers and domain code raise these; one middleware writes the envelope.
"""

from __future__ import annotations

OK_TEXT = "Successful operation"
INVALID_REQUEST_TEXT = "Invalid request"
METHOD_NOT_FOUND_TEXT = "Method not found"
TOKEN_REQUIRED_TEXT = "API token required"
ACCESS_DENIED_TEXT = "Access denied"
WORKFLOW_NOT_FOUND_TEXT = "Workflow not found"
TRIGGER_NOT_FOUND_TEXT = "Trigger not found"
TASK_NOT_FOUND_TEXT = "Task not found"
PROFILE_NOT_FOUND_TEXT = "Profile not found"
METHOD_NOT_ALLOWED_TEXT = "Method not allowed"
TOO_MANY_REQUESTS_TEXT = "Too many requests"
INTERNAL_ERROR_TEXT = "Internal server error"
SERVICE_UNAVAILABLE_TEXT = "Service unavailable"
#: The control API's own (the vendor API never answers it).
CONFLICT_TEXT = "Conflict"

#: The reference page's example answer for an over-limit body, verbatim.
BODY_TOO_LARGE_DEBUG = "http: request body too large"


class AltcraftError(Exception):
    """An error answered in the vendor envelope."""

    code: int = 500
    text: str = INTERNAL_ERROR_TEXT
    #: Forced HTTP status (else the status policy decides) and extra headers.
    http_status: int | None = None
    headers: dict[str, str] = {}  # noqa: RUF012 - class default, never mutated

    def __init__(self, debug: str | None = None, *, text: str | None = None) -> None:
        super().__init__(debug or text or self.text)
        self.debug = debug
        if text is not None:
            self.text = text

    def envelope(self) -> dict[str, object]:
        """The answer body; keys in the vendor's (alphabetical) order."""
        body: dict[str, object] = {"error": self.code}
        if self.debug:
            body["error_debug"] = self.debug
        body["error_text"] = self.text
        return body


class InvalidRequest(AltcraftError):
    code = 400
    text = INVALID_REQUEST_TEXT


class TokenRequired(AltcraftError):
    code = 401
    text = TOKEN_REQUIRED_TEXT


class AccessDenied(AltcraftError):
    code = 403
    text = ACCESS_DENIED_TEXT


class MethodNotFound(AltcraftError):
    code = 404
    text = METHOD_NOT_FOUND_TEXT


class WorkflowNotFound(AltcraftError):
    code = 404
    text = WORKFLOW_NOT_FOUND_TEXT


class TriggerNotFound(AltcraftError):
    code = 404
    text = TRIGGER_NOT_FOUND_TEXT


class TaskNotFound(AltcraftError):
    code = 404
    text = TASK_NOT_FOUND_TEXT


class ProfileNotFound(AltcraftError):
    code = 404
    text = PROFILE_NOT_FOUND_TEXT


class MethodNotAllowed(AltcraftError):
    code = 405
    text = METHOD_NOT_ALLOWED_TEXT


class TooManyRequests(AltcraftError):
    code = 429
    text = TOO_MANY_REQUESTS_TEXT


class InternalError(AltcraftError):
    code = 500
    text = INTERNAL_ERROR_TEXT


class ServiceUnavailable(AltcraftError):
    code = 503
    text = SERVICE_UNAVAILABLE_TEXT


class StoreUnavailable(AltcraftError):
    """The store could not be written (no space left, an I/O error): nothing of
    the request is acknowledged; the client may try again."""

    code = 503
    text = SERVICE_UNAVAILABLE_TEXT


class InterruptedByReset(AltcraftError):
    """A synchronous import the control API's reset cut short (the mock's own
    situation: the real service has no reset); the client may send it again."""

    code = 503
    text = SERVICE_UNAVAILABLE_TEXT


class Conflict(AltcraftError):
    """A control call the server's state refuses: moving the real clock, waiting for
    a task status that can no longer come. Answered 409 (the control API's real
    statuses); the vendor API never answers it."""

    code = 409
    text = CONFLICT_TEXT


#: The vendor text for a code, for errors a test injects by code alone.
TEXT_FOR_CODE: dict[int, str] = {
    400: INVALID_REQUEST_TEXT,
    401: TOKEN_REQUIRED_TEXT,
    403: ACCESS_DENIED_TEXT,
    404: METHOD_NOT_FOUND_TEXT,
    405: METHOD_NOT_ALLOWED_TEXT,
    429: TOO_MANY_REQUESTS_TEXT,
    500: INTERNAL_ERROR_TEXT,
    503: SERVICE_UNAVAILABLE_TEXT,
}


def text_for_code(code: int) -> str:
    return TEXT_FOR_CODE.get(code, INTERNAL_ERROR_TEXT)


class CodedError(AltcraftError):
    """An error of any code, text and HTTP status: a fault rule's answer, or an
    item's failure answered as its one-profile request's error."""

    def __init__(
        self,
        code: int,
        text: str,
        debug: str | None = None,
        *,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(debug, text=text)
        self.code = code
        self.http_status = http_status
        self.headers = headers or {}
