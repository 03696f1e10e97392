"""The request-level options of an import or a lookup (SPEC §3): matching mode,
custom_request, the flags, and what every engaged profile shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.domain.items import ImportOptions, summarize_attachments
from mockserver.domain.matching import MatchingMode
from mockserver.domain.queries import check_query
from mockserver.domain.values import ValueProblem
from mockserver.errors import InvalidRequest


def parse_import_options(body: Mapping[str, Any]) -> ImportOptions:
    """Read the request-level options of an import (types already schema-checked)."""
    custom_request = body.get("custom_request")
    raw_matching = body.get("matching")
    if raw_matching is None:
        # The reference page: `matching` defaults to email; `custom_request`
        # applies "if there is no matching property".
        matching = None if custom_request is not None else MatchingMode.EMAIL
    else:
        matching = MatchingMode(raw_matching)
    field_name = body.get("field_name")
    if matching is MatchingMode.CUSTOM and not field_name:
        raise InvalidRequest("field_name: required when matching is 'custom'")
    try:
        if matching is None:
            check_query(custom_request)
        attach = summarize_attachments(body.get("attach"), "attach")
    except ValueProblem as problem:
        raise InvalidRequest(str(problem)) from None
    return ImportOptions(
        matching=matching,
        field_name=field_name,
        custom_request=custom_request if matching is None else None,
        skip_triggers=bool(body.get("skip_triggers", False)),
        skip_invalid_subscriptions=bool(body.get("skip_invalid_subscriptions", False)),
        detect_geo=bool(body.get("detect_geo", False)),
        content=body.get("content"),
        custom_data=body.get("custom_data"),
        attach=attach,
    )


#: (pick) A lookup's root key when it names no `matching`, in this order.
LOOKUP_KEY_MODES = (
    ("email", MatchingMode.EMAIL),
    ("profile_id", MatchingMode.PROFILE_ID),
    ("phone", MatchingMode.PHONE),
    ("field_value", MatchingMode.CUSTOM),
)


def parse_lookup_options(body: Mapping[str, Any]) -> ImportOptions:
    """The options of a lookup (`workflows/start`, `profiles/get`).

    The vendor's default matching is `email`. A lookup carries no profile
    fields to take an email from, so one that names no `matching` and no
    `custom_request` but carries another key at the root (`profile_id`,
    `phone`, `field_name` + `field_value`) is matched by that key (pick):
    under the default it could only be refused.
    """
    if body.get("matching") is None and body.get("custom_request") is None:
        for name, mode in LOOKUP_KEY_MODES:
            if body.get(name) not in (None, ""):
                return parse_import_options({**body, "matching": mode.value})
    return parse_import_options(body)
