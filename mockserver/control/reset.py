"""`POST /_mock/reset`: back to the fixtures (all, or one account; chosen scopes)."""

from __future__ import annotations

from aiohttp import web

from mockserver.app_keys import STATE
from mockserver.control.common import read_control_json
from mockserver.control.routes import ControlRoute
from mockserver.envelope import json_response
from mockserver.errors import InvalidRequest
from mockserver.state import RESET_SCOPES


async def reset(request: web.Request) -> web.Response:
    body = await read_control_json(request, "control/reset")
    state = request.app[STATE]
    account = body.get("account")
    if "token" in body:
        # A test run that shares a server resets only its own token's account.
        owner = state.account_for_token(body["token"])
        if owner is None:
            raise InvalidRequest("token: unknown API token")
        account = owner.name
    if account is not None and account not in state.catalog.accounts:
        raise InvalidRequest(f"account: no account {account!r}")
    scopes = body.get("scopes", RESET_SCOPES)
    state.reset(scopes, account)
    await state.store.flush()
    return json_response(
        {
            "status": "ok",
            "scopes": list(scopes),
            "account": account,
            "profiles": state.store.count_profiles(),
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
