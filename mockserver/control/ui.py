"""`GET /_mock/ui`: the dashboard, a single page served by the server itself.

A developer whose integration test failed wants to *look*: which
requests arrived, what the mock answered, which tasks are stuck where, which
profiles exist. The page is plain HTML, CSS and JavaScript shipped inside the
package (`mockserver/ui/`, no CDN, no build step) and reads only the /_mock/
JSON API, so it shows exactly what a test could assert on.

The page and its two assets load without the admin token (they hold no data;
http.access.OPEN_CONTROL_PATHS lists them); the page asks for the token once and
sends it as `Authorization: Bearer` on every data call. The
Content-Security-Policy allows only same-origin scripts, styles and requests:
the journal shows whatever clients sent, and the page never turns that into
markup.

The OpenAPI document lists these routes like every control route (its answers
are documented as JSON objects, which they are not: they are the page's files).
"""

from __future__ import annotations

from aiohttp import web

from mockserver.control.routes import ControlRoute, Handler

UI_PATH = "/_mock/ui"
#: path -> (file in mockserver/ui/, content type, OpenAPI summary)
ASSETS = {
    UI_PATH: (
        "index.html",
        "text/html",
        "The dashboard: an HTML page (requests, tasks, profiles, faults) over this API",
    ),
    f"{UI_PATH}/app.js": ("app.js", "text/javascript", "The dashboard's script"),
    f"{UI_PATH}/style.css": ("style.css", "text/css", "The dashboard's style sheet"),
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Read from the package on every request: a new version is never served stale.
    "Cache-Control": "no-cache",
}


def _asset(name: str) -> bytes:
    """A file of the page, from the installed package (source tree or wheel)."""
    from importlib import resources  # on the dashboard's first file (start-up)

    return resources.files("mockserver").joinpath("ui", name).read_bytes()


def _serve(name: str, content_type: str) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        return web.Response(
            body=_asset(name), content_type=content_type, charset="utf-8", headers=SECURITY_HEADERS
        )

    return serve


ROUTES = tuple(
    ControlRoute("GET", path, _serve(name, content_type), summary, content_type=content_type)
    for path, (name, content_type, summary) in ASSETS.items()
)
