"""`profiles/*` endpoints (SPEC §8): add or update profiles in a database, and
read one back. The imports run the same domain rules and unit of work as the
batch task, but engage no workflow."""

from __future__ import annotations

from typing import Any

from mockserver.api.importing import check_item_count, find_one, import_items, import_one
from mockserver.api.router import ApiCall, ApiMethod
from mockserver.domain.importing import Imported, ItemOutcome
from mockserver.domain.profiles import vendor_view
from mockserver.errors import OK_TEXT
from mockserver.http.answers import ok
from mockserver.importer.options import parse_import_options, parse_lookup_options

IMPORT = "profiles/import"
IMPORT_BATCH = "profiles/import_batch"
GET = "profiles/get"
DELETE = "profiles/delete"


async def import_profile(call: ApiCall) -> dict[str, Any]:
    """One profile into `db_id`: matching key at the root, `data` the profile."""
    options = parse_import_options(call.body)
    database = call.services.accounts.database(call.account, int(call.body["db_id"]))
    imported = await import_one(call, database, options)
    return ok(profile_id=imported.profile_id)


async def import_batch(call: ApiCall) -> dict[str, Any]:
    """Many flat profiles into `db_id`, matching mode at the root; one result per item."""
    body = call.body
    options = parse_import_options(body)
    database = call.services.accounts.database(call.account, int(body["db_id"]))
    check_item_count(call, len(body["data"]))
    outcomes = await import_items(call, database, options, body["data"])
    return ok(result=[_batch_result(outcome) for outcome in outcomes])


def _batch_result(outcome: ItemOutcome) -> dict[str, Any]:
    """SPEC §8: like `profiles/add_batch`, a success entry carries its own
    `error: 0` and text beside the profile id; a failure is `error`/`error_text`."""
    if isinstance(outcome, Imported):
        return {"error": 0, "error_text": OK_TEXT, "profile_id": outcome.profile_id}
    return outcome.to_result()


async def get_profile(call: ApiCall) -> dict[str, Any]:
    """The stored profile with `id`, `db_id` and `subscriptions`; 404 when none matches.

    `resource_id` (the vendor's "resource for email and phone matching") is
    accepted and not used: email and phone matching search every resource.
    """
    options = parse_lookup_options(call.body)
    database = call.services.accounts.database(call.account, int(call.body["db_id"]))
    _, profile_id = find_one(call, database, options)
    profile = call.services.store.profile(profile_id)
    assert profile is not None, profile_id
    return ok(data=vendor_view(profile))


async def delete_profile(call: ApiCall) -> dict[str, Any]:
    """The vendor's "Delete profile": the profile the key selects is removed.

    Matched like `profiles/get` (the vendor page lists email, phone,
    profile_id and custom; the rest of the lookup modes work too). Gone for
    every later lookup and match, so a later import creates a new profile;
    its engagements stay in the history. No match: 404 "Profile not found".
    The page's answer: `{"data": {"profile_id": ...}, "error": 0, ...}`.
    """
    options = parse_lookup_options(call.body)
    database = call.services.accounts.database(call.account, int(call.body["db_id"]))
    _, profile_id = find_one(call, database, options)
    call.services.store.delete_profile(profile_id)
    await call.services.store.flush()
    return ok(data={"profile_id": profile_id})


METHODS = [
    ApiMethod(
        IMPORT,
        import_profile,
        "profiles/import.request",
        "profiles/import.response",
        "Import profile",
    ),
    ApiMethod(
        IMPORT_BATCH,
        import_batch,
        "profiles/import_batch.request",
        "profiles/import_batch.response",
        "Import multiple profiles",
    ),
    ApiMethod(
        GET,
        get_profile,
        "profiles/get.request",
        "profiles/get.response",
        "Get profile data",
    ),
    ApiMethod(
        DELETE,
        delete_profile,
        "profiles/delete.request",
        "profiles/delete.response",
        "Delete profile",
    ),
]
