"""Log set-up for `serve`: one format, client mistakes as one warning line, and no
token ever written to the log."""

from __future__ import annotations

import contextlib
import logging
import sys

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from mockserver.control.journal.masking import KNOWN_TOKEN, mask_secrets

#: aiohttp's access log: client, request line, status, bytes, seconds.
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'


def configure_logging(level: str) -> None:
    """Log to stderr at `level`, every line through the filters below."""
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(ClientErrorsQuiet())
        handler.addFilter(SecretsMasked())


class ClientErrorsQuiet(logging.Filter):
    """aiohttp logs a request it cannot parse (no Host, a bad request line, an unknown
    Content-Encoding, a body that does not decode) as an ERROR with a traceback, as if
    the server broke. It is the client's fault, already answered 400: one WARNING line
    without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        client_error = (HttpProcessingError, web.RequestPayloadError)
        if record.name == "aiohttp.server" and isinstance(error, client_error):
            with contextlib.suppress(Exception):  # a log line is never worth a failure
                reason = " ".join(str(getattr(error, "message", "") or error).split())
                record.msg, record.args = f"{record.getMessage()}: {reason}", None
                record.levelno, record.levelname = logging.WARNING, "WARNING"
                record.exc_info = record.exc_text = None
        return True


class SecretsMasked(logging.Filter):
    """Tokens never reach the log: `?token=` (`?%74oken=` too: names are judged
    decoded), `?access_token=`, `?authorization=Bearer …`, `"token": "…"` and Bearer
    values, and any query value that is a known token (the admin token, an account's:
    the request's `KNOWN_TOKEN`), are shown as `abcd…` in every line, the access log's
    request line and tracebacks included."""

    def filter(self, record: logging.LogRecord) -> bool:
        with contextlib.suppress(Exception):  # a malformed call is logging's to report
            known = KNOWN_TOKEN.get()
            message = record.getMessage()
            masked = mask_secrets(message, known)
            if masked != message:
                record.msg, record.args = masked, None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = mask_secrets(record.exc_text, known)
        return True
