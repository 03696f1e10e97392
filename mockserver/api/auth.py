"""The API token and its account (SPEC §1, §2).

The token may come as `"token"` in the body, as `Authorization: Bearer` (the
vendor's newer form) or as `?token=` (deprecated, still accepted). Body wins
over header over query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from mockserver.accounts import Accounts
from mockserver.domain.catalog import Account
from mockserver.domain.values import json_type
from mockserver.errors import AccessDenied, InvalidRequest, TokenRequired
from mockserver.http.access import bearer_credential


def token_from(request: web.Request, body: Mapping[str, Any]) -> str | None:
    if "token" in body and body["token"] is not None:
        token = body["token"]
        if not isinstance(token, str):
            raise InvalidRequest(f"token: expected string, got {json_type(token)}")
        if token.strip():
            return token.strip()
    bearer = bearer_credential(request.headers.get("Authorization", ""))
    if bearer:
        return bearer
    query = request.query.get("token", "").strip()
    return query or None


def authenticate(
    accounts: Accounts, request: web.Request, body: Mapping[str, Any]
) -> tuple[str, Account]:
    """The token and its account, or the vendor's 401 / 403."""
    token = token_from(request, body)
    if token is None:
        raise TokenRequired("token: missing (send it in the body, as Bearer or as ?token=)")
    account = accounts.for_token_or_create(token)
    if account is None:
        raise AccessDenied("token: unknown API token")
    return token, account
