"""State inspection: `GET /_mock/profiles`, `GET /_mock/engagements`.

Profiles filter by account (or `token`: that token's account), db_id, email,
phone, profile_id and any custom field as `field.NAME=value`; both lists page
with `limit` and `offset`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from mockserver.control.common import int_param, page
from mockserver.control.routes import ControlRoute, QueryParam
from mockserver.domain.values import email_key, phone_key
from mockserver.http.answers import json_response
from mockserver.keys import BACKEND

FIELD_PREFIX = "field."


def profile_view(profile: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": profile["id"],
        "account": profile["account"],
        "db_id": profile["db_id"],
        "data": profile["data"],
        "subscriptions": profile["subscriptions"],
    }


def _profile_matches(profile: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    data = profile["data"]
    if "profile_id" in query and profile["id"] != query["profile_id"]:
        return False
    if "email" in query and email_key(str(data.get("email") or "")) != email_key(query["email"]):
        return False
    if "phone" in query and phone_key(query["phone"]) not in {
        phone_key(p) for p in data.get("phones") or ()
    }:
        return False
    for key, wanted in query.items():
        if key.startswith(FIELD_PREFIX):
            value = data.get(key[len(FIELD_PREFIX) :])
            values = value if isinstance(value, list) else [value]
            if wanted not in {str(v) for v in values}:
                return False
    return True


def _scoped(request: web.Request) -> dict[str, str]:
    """The query, with `token` turned into the token's `account` (unknown: no account)."""
    query = dict(request.query)
    token = query.pop("token", None)
    if token is not None:
        owner = request.app[BACKEND].accounts.for_token(token)
        query["account"] = owner.name if owner is not None else "\0no such account"
    return query


async def list_profiles(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    query = _scoped(request)
    found = (
        profile_view(profile)
        for profile in backend.store.profiles(query.get("account"), int_param(query, "db_id"))
        if _profile_matches(profile, query)
    )
    profiles, total = page(found, query)
    return json_response({"profiles": profiles, "total": total})


async def list_engagements(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    query = _scoped(request)
    workflow_id = int_param(query, "workflow_id")
    trigger_id = int_param(query, "trigger_id")
    wanted = {
        key: query[key] for key in ("account", "profile_id", "task_id", "source") if key in query
    }
    found = (
        record
        for record in backend.store.engagements()
        if (workflow_id is None or record["workflow_id"] == workflow_id)
        and (trigger_id is None or record.get("trigger_id") == trigger_id)
        and all(record.get(key) == value for key, value in wanted.items())
    )
    engagements, total = page(found, query)
    return json_response({"engagements": engagements, "total": total})


PAGING = (
    QueryParam("limit", "page size (default 100)", "integer"),
    QueryParam("offset", "entries to skip", "integer"),
)
ROUTES = (
    ControlRoute(
        "GET",
        "/_mock/profiles",
        list_profiles,
        "Stored profiles",
        response_schema="control/profiles.response",
        query=(
            QueryParam("account", "account name"),
            QueryParam("token", "an API token: its account"),
            QueryParam("db_id", "database id", "integer"),
            QueryParam("email", "email, compared case-insensitively"),
            QueryParam("phone", "phone, compared by digits"),
            QueryParam("profile_id", "profile id"),
            QueryParam(
                FIELD_PREFIX, "a custom field's value (a tags field: one of its tags)", prefix=True
            ),
            *PAGING,
        ),
    ),
    ControlRoute(
        "GET",
        "/_mock/engagements",
        list_engagements,
        "Profiles engaged in workflows and trigger campaigns",
        response_schema="control/engagements.response",
        query=(
            QueryParam("workflow_id", "workflow id", "integer"),
            QueryParam("trigger_id", "trigger campaign id", "integer"),
            QueryParam("account", "account name"),
            QueryParam("token", "an API token: its account"),
            QueryParam("profile_id", "profile id"),
            QueryParam("task_id", "task id"),
            QueryParam("source", "vendor method that engaged"),
            *PAGING,
        ),
    ),
)
