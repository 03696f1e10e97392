"""Reading a request body: a size limit checked while it streams, a deadline, and
one byte budget for every upload in flight.

SPEC §1: a body over the limit is refused with the reference page's exact
answer, before it is read whole.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from mockserver.errors import BODY_TOO_LARGE_DEBUG, InvalidRequest, ServiceUnavailable
from mockserver.keys import notes

log = logging.getLogger(__name__)


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
        self._transports.discard(transport)

    def cut_all(self) -> int:
        """Close the connection of every upload still being received."""
        cut = list(self._transports)
        for transport in cut:
            transport.close()
        return len(cut)


async def read_body(
    request: web.Request,
    limit: int,
    *,
    timeout: float | None = None,
    uploads: Uploads | None = None,
) -> bytes:
    """The request body, refused as soon as it passes `limit` bytes or `timeout` seconds.

    A declared Content-Length over the limit is refused before any of the
    body is read; a chunked body is counted as it arrives, so an endless
    upload never sits in memory whole. The body must arrive within
    `--read-timeout` seconds of its head (`timeout`), so a client sending a
    byte a second is cut off; the server's other clients are answered
    meanwhile. `uploads`: the budget this body's bytes count against while
    they arrive.
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
    uploads = uploads or Uploads(limit)
    transport = request.transport
    uploads.receiving(transport)
    received = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in content.iter_any():
                if uploads.buffered + len(chunk) > uploads.budget:
                    notes(request).body_note = "not read: too many uploads at once"
                    raise ServiceUnavailable(
                        f"http: {uploads.budget} bytes of request bodies are being received "
                        "at once (--max-uploading-bytes); send it again shortly"
                    )
                uploads.buffered += len(chunk)
                received += chunk
                if len(received) > limit:
                    raise InvalidRequest(BODY_TOO_LARGE_DEBUG)
    except TimeoutError:
        notes(request).body_note = f"not received within {timeout:g} s: not read"
        raise InvalidRequest(
            f"http: request body not received within {timeout:g} s (--read-timeout)"
        ) from None
    except ConnectionResetError:
        # The client hung up (or half-closed) before its body was whole: nobody
        # is left to answer. One line, no traceback (a client's doing).
        notes(request).body_note = f"client disconnected after {len(received)} bytes: not read"
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
        notes(request).body_note = "unreadable: not read"
        cause = exc.__cause__ or exc
        reason = getattr(cause, "message", None) or str(cause)
        raise InvalidRequest(f"http: request body unreadable: {reason}") from None
    finally:
        uploads.buffered -= len(received)
        uploads.received(transport)
    return bytes(received)
