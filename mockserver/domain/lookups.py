"""Finding the profile an item or a lookup request selects, by its key or by the
request's `custom_request`, with the matching rules an import uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.domain.items import (
    ItemContext,
    ItemFailure,
    PreparedItem,
    prepare_item,
    root_item,
    root_key_problem,
)
from mockserver.domain.matching import MatchingMode
from mockserver.domain.profiles import ProfileBook, QueryMatches, find_profile
from mockserver.domain.queries import profile_predicate
from mockserver.errors import AltcraftError, CodedError, InvalidRequest, ProfileNotFound


def query_matches(
    book: ProfileBook, db_id: int, custom_request: Mapping[str, Any] | None
) -> QueryMatches | None:
    """The profiles a request's `custom_request` selects (None without one)."""
    if custom_request is None:
        return None
    return QueryMatches(book, db_id, profile_predicate(custom_request))


def locate(
    item: PreparedItem,
    book: ProfileBook,
    db_id: int,
    matches: QueryMatches | None = None,
) -> str | None:
    """The profile an item selects: by its key, or by the request's custom_request."""
    if item.key is None:
        assert matches is not None, "an item without a key needs custom_request"
        return matches.earliest()
    return find_profile(book, db_id, item.key)


def not_found_debug(item: PreparedItem, db_id: int) -> str:
    """`error_debug` for a lookup that found nothing: the key and the database."""
    key = item.key
    if key is None:
        return f"custom_request: no profile matches in database {db_id}"
    if key.mode is MatchingMode.PROFILE_ID:
        return f"profile_id: no profile {key.profile_id} in database {db_id}"
    if key.mode is MatchingMode.CUSTOM:
        return f"field_value: no profile with {key.field} = {key.describe()!r} in database {db_id}"
    name = "email" if key.email is not None else "phone"
    return f"{name}: no profile with {name} {key.describe()!r} in database {db_id}"


def find_existing(
    body: Mapping[str, Any], ctx: ItemContext, book: ProfileBook
) -> tuple[PreparedItem, str]:
    """The profile a lookup request selects (`workflows/start`, `profiles/get`).

    The key sits at the root (`email`, `phone`, `profile_id`, `field_value`)
    or `custom_request` selects the profile; it is checked and normalised the
    way an import's key is and matched by the same rules, so a lookup finds
    exactly the profile an import with that key would update (the earliest
    created when several match). Nothing matching is 404 "Profile not found",
    and nothing is created.
    """
    problem = root_key_problem(body, ctx.options)
    if problem is not None:
        raise InvalidRequest(problem)
    # A lookup stores nothing: only the key is read, never `data`.
    prepared = prepare_item({**root_item(body), "data": {}}, "", ctx)
    if isinstance(prepared, ItemFailure):
        raise failure_error(prepared)
    db_id = ctx.database.db_id
    matches = query_matches(book, db_id, ctx.options.custom_request)
    profile_id = locate(prepared, book, db_id, matches)
    if profile_id is None:
        raise ProfileNotFound(not_found_debug(prepared, db_id))
    return prepared, profile_id


def failure_error(failure: ItemFailure) -> AltcraftError:
    if failure.invalid:
        return InvalidRequest(failure.text)
    if failure.code == ProfileNotFound.code and failure.text == ProfileNotFound.text:
        return ProfileNotFound(failure.debug)
    return CodedError(failure.code, failure.text, failure.debug)
