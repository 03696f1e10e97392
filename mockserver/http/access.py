"""Who may ask what, before anything is read: `refusal`, which the error envelope
middleware runs before the handler.

CONNECT is refused, the Host must name this server, control calls carry the
admin token when one is set, and no page of another site may change the mock's
state.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from mockserver.errors import AccessDenied, InvalidRequest, MethodNotAllowed, TokenRequired
from mockserver.http.answers import JSON_CONTENT_TYPE, error_response
from mockserver.http.paths import is_control_path, normal_path
from mockserver.keys import SETTINGS

#: Open without the admin token: health, and the dashboard's page and assets
#: (they hold no data; the page asks for the token before it reads any).
OPEN_CONTROL_PATHS = frozenset(
    {"/_mock/health", "/_mock/ui", "/_mock/ui/app.js", "/_mock/ui/style.css"}
)
_BEARER = re.compile(r"\s*bearer\s+(\S.*)", re.I | re.S)


def bearer_credential(value: str) -> str | None:
    """The credential of an `Authorization: Bearer X` value (X), else None."""
    found = _BEARER.fullmatch(value)
    return found.group(1).strip() if found else None


class NotAProxy(MethodNotAllowed):
    """`CONNECT`: HTTP 405 whatever the status policy (a 2xx would read as a tunnel)."""

    http_status = 405


#: Methods that change nothing: a page of another site may send them but not read
#: the answer (the server grants no CORS). Every other control call changes state.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def refusal(request: web.Request, control: bool | None = None) -> web.Response | None:
    """Who may ask what, before anything is read (the error envelope asks first):

    - `CONNECT` is refused, 405, and the connection closed: this is no proxy.
    - The Host must name this server (`allowed_host`), on every path: a page that
      re-binds its own name to 127.0.0.1 reaches nothing.
    - On /_mock/, with `--admin-token`, every call but OPEN_CONTROL_PATHS (health
      and the dashboard's files: they hold no data) presents it as Bearer.
    - A control call that changes state sends JSON (or no body at all) and, from a
      browser, comes from this server's own origin (`same_site_control`).

    `control`: whether the path is the mock's own API, when the route knows.
    """
    settings = request.app[SETTINGS]
    if request.method == hdrs.METH_CONNECT:
        refused = error_response(
            NotAProxy("method: CONNECT is not allowed (this server is not a proxy)"),
            settings.http_status,
            is_control_path(request.path),
        )
        refused.force_close()  # whatever follows on this connection is not a tunnel's
        return refused  # answered, not raised: the connection must close
    check_host(request)
    if control is False:
        return None
    path = normal_path(request.path)
    if control or is_control_path(path):
        expected = settings.admin_token
        if expected and path not in OPEN_CONTROL_PATHS:
            given = bearer_credential(request.headers.get(hdrs.AUTHORIZATION, ""))
            if not given:
                raise TokenRequired("Authorization: admin token required (Bearer)")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise AccessDenied("Authorization: wrong admin token")
        if request.method not in SAFE_METHODS:
            same_site_control(request)
    return None


class HostNotAllowed(AccessDenied):
    """A Host that does not name this server (a DNS-rebinding page, a request meant
    for another server): HTTP 403 whatever the status policy, since no vendor method
    answered it and a client must not take it for one's answer."""

    http_status = 403


#: Bind addresses that listen on every interface (the Docker image binds 0.0.0.0).
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
ANY_HOST = "*"
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?")
_PORT = re.compile(r"(?::[0-9]*)?")
SHOWN_HEADER = 100  # characters of a refused header's value shown in `error_debug`


def check_host(request: web.Request) -> None:
    """HostNotAllowed unless the Host names this server: a loopback name or address
    (`localhost`, `*.localhost`, 127.0.0.0/8, `[::1]`), the bound address, an address
    of the interface the request came in on, or `--allowed-hosts` (`*`: any), any
    port. Bound to every interface (0.0.0.0, ::) with no `--allowed-hosts`, any Host
    (a container reached by its service name). No Host at all (HTTP/1.0) is let in."""
    value = request.headers.get(hdrs.HOST, "")
    if not value.strip():
        return
    settings = request.app[SETTINGS]
    if allowed_host(value, settings.host, settings.allowed_hosts):
        return
    name = host_name(value)
    if name is not None and name == _local_address(request):
        return  # the machine's own address as the client dialled it: no name to re-bind
    shown = value if len(value) <= SHOWN_HEADER else value[:SHOWN_HEADER] + "…"
    raise HostNotAllowed(f"Host: {shown!r} is not allowed (--allowed-hosts)")


@lru_cache(maxsize=1024)
def allowed_host(value: str, bound: str, allowed: tuple[str, ...]) -> bool:
    """Whether a Host header value names this server (see `check_host`)."""
    if ANY_HOST in allowed or (not allowed and bound.strip().lower() in WILDCARD_BINDS):
        return True
    name = host_name(value)
    if name is None:
        return False
    if name == "localhost" or name.endswith(".localhost") or _is_loopback(name):
        return True
    return name == _setting_name(bound) or name in _host_names(allowed)


@lru_cache(maxsize=64)
def _host_names(allowed: tuple[str, ...]) -> frozenset[str]:
    return frozenset(name for name in map(_setting_name, allowed) if name is not None)


def _setting_name(value: str) -> str | None:
    """`--host` or an `--allowed-hosts` entry in `host_name`'s form (an IPv6 address
    may come without brackets there)."""
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        return host_name(value)


def host_name(value: str) -> str | None:
    """The name or address a Host value (or an `--allowed-hosts` entry) names: lower
    case, without its port, brackets or final dot, an address in its normal form;
    None when it is not a host (an IPv6 address must be bracketed, as in a URL)."""
    value = value.strip().lower()
    if value.startswith("["):
        address, bracket, port = value[1:].partition("]")
        if not bracket or not _PORT.fullmatch(port):
            return None
        try:
            return str(ipaddress.IPv6Address(address))
        except ValueError:
            return None
    name, _, port = value.partition(":")
    if ":" in port or not _PORT.fullmatch(value[len(name) :]):
        return None
    name = name.removesuffix(".")
    if not _HOST_NAME.fullmatch(name):
        return None
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        return name


def _is_loopback(name: str) -> bool:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _local_address(request: web.Request) -> str | None:
    """The server's address this connection came in on, in `host_name`'s form."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if not sockname:
        return None
    try:
        address = ipaddress.ip_address(str(sockname[0]).partition("%")[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # a dual-stack socket's IPv4 client
    return str(mapped or address)


# -- cross-site control calls ----------------------------------------------------------


class CrossSiteRefused(AccessDenied):
    """A state-changing control call from a page of another site."""


#: The types a page of another site may send without a CORS preflight.
CROSS_SITE_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)


def same_site_control(request: web.Request) -> None:
    """A control call that changes state must be one a page of another site cannot
    send without the server's leave (a CORS preflight, never granted):

    - its body is JSON (`application/json`, `*+json`), or it has none (`curl -X POST
      .../_mock/reset` sends no Content-Type, aiohttp's client `application/octet-stream`).
      `text/plain` and the form types are what a cross-site "simple" request can send:
      refused, body or not, 400; so is a body that is not declared JSON;
    - a browser's `Origin`, when sent, is this server's own (the dashboard's) or an
      `--allowed-hosts` name: a cross-site POST with no body (a reset) is refused, 403.
    """
    content_type = request.content_type if request.headers.get(hdrs.CONTENT_TYPE) else None
    is_json = content_type is not None and (
        content_type == JSON_CONTENT_TYPE or content_type.endswith("+json")
    )
    if content_type in CROSS_SITE_TYPES or (not is_json and request.body_exists):
        declared = "missing" if content_type is None else repr(content_type)
        raise InvalidRequest(
            f"Content-Type: {declared} is not JSON: a control call that changes state"
            f" takes {JSON_CONTENT_TYPE} (or no body at all)"
        )
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None and not _own_origin(origin, request):
        shown = origin if len(origin) <= SHOWN_HEADER else origin[:SHOWN_HEADER] + "…"
        raise CrossSiteRefused(
            f"Origin: {shown!r} is not this server: a page of another site"
            " cannot change the mock's state"
        )


def _own_origin(origin: str, request: web.Request) -> bool:
    authority = urlsplit(origin.strip()).netloc.lower()
    if not authority:
        return False  # `Origin: null`: a sandboxed frame, a file:// page
    if authority == request.headers.get(hdrs.HOST, "").strip().lower():
        return True
    return host_name(authority) in _host_names(request.app[SETTINGS].allowed_hosts)
