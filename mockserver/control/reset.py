"""`POST /_mock/reset`: back to the fixtures (all, or one account; chosen scopes)."""

from __future__ import annotations

from aiohttp import web

from mockserver.control.common import read_control_json
from mockserver.control.routes import ControlRoute
from mockserver.errors import InvalidRequest
from mockserver.http.answers import json_response
from mockserver.keys import BACKEND

#: What a reset returns to the fixtures, when the request names no scopes.
#: Scopes of the whole server, which a reset of one account does not touch.
SERVER_SCOPES = ("progression", "clock")
RESET_SCOPES = ("data", "journal", "faults", "progression", "clock")


async def reset(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/reset")
    backend = request.app[BACKEND]
    account = body.get("account")
    if "token" in body:
        # A test run that shares a server resets only its own token's account.
        owner = backend.accounts.for_token_or_create(body["token"])
        if owner is None:
            raise InvalidRequest("token: unknown API token")
        account = owner.name
    if account is not None and account not in backend.accounts.catalog.accounts:
        raise InvalidRequest(f"account: no account {account!r}")
    scopes = body.get("scopes", RESET_SCOPES)
    if account is not None:
        # The clock and the progression overrides are the server's, not an
        # account's: a reset of one account leaves them, and says so.
        scopes = [scope for scope in scopes if scope not in SERVER_SCOPES]
    backend.reset(scopes, account)
    backend.write_reset_soon()  # answered before any disk write (see there)
    return json_response(
        {
            "status": "ok",
            "scopes": list(scopes),
            "account": account,
            "profiles": backend.store.count_profiles(),
        }
    )


ROUTES = (
    ControlRoute(
        "POST",
        "/_mock/reset",
        reset,
        "Back to the fixtures (all, an account, scopes)",
        "control/reset",
        "control/ok.response",
    ),
)
