"""The import rules: one item end to end, and a slice of a batch.

SPEC §3: request-level problems raise (answered at once, no task); item-level
problems come back as `ItemFailure` values, in request order, and the other
items go on. An item that failed is neither stored nor engaged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.domain.catalog import Account, Database, GeoEntry
from mockserver.domain.items import (
    ImportOptions,
    ItemContext,
    ItemFailure,
    PreparedItem,
    fields_for_new_profile,
    prepare_item,
)
from mockserver.domain.lookups import failure_error, locate, not_found_debug, query_matches
from mockserver.domain.matching import MatchingMode
from mockserver.domain.profiles import (
    ProfileBook,
    QueryMatches,
    merge_fields,
    merge_subscriptions,
)
from mockserver.errors import ProfileNotFound

#: A check run on each item before it is imported: a failure it answers is the
#: item's outcome instead.
ItemVeto = Callable[[PreparedItem], ItemFailure | None]


@dataclass(slots=True)  # built per item: not frozen (see mockserver/domain/__init__.py)
class Imported:
    profile_id: str
    created: bool

    def to_result(self) -> dict[str, Any]:
        return expand_result(self.profile_id)


ItemOutcome = Imported | ItemFailure
#: An item's result as a task keeps it: an imported item is only its profile id
#: (a dict per item costs ~200 bytes per profile held), a failed one its entry.
CompactResult = str | dict[str, Any]


def compact_result(outcome: ItemOutcome) -> CompactResult:
    return outcome.profile_id if isinstance(outcome, Imported) else outcome.to_result()


def expand_result(entry: CompactResult) -> dict[str, Any]:
    """SPEC §4: the answer's `{"profile_id"}` or `{"error", "error_text"}`."""
    return {"profile_id": entry} if isinstance(entry, str) else entry


def import_prepared(
    item: PreparedItem,
    book: ProfileBook,
    db_id: int,
    matches: QueryMatches | None = None,
    *,
    existing_only: bool = False,
) -> ItemOutcome:
    """Find the item's profile and update it, or create one (SPEC §3 steps 1-4).
    `existing_only`: only find it (a launch of existing profiles)."""
    if existing_only:
        found = locate(item, book, db_id, matches)
        if found is None:
            debug = not_found_debug(item, db_id)
            return ItemFailure(ProfileNotFound.code, ProfileNotFound.text, debug)
        return Imported(found, False)
    outcome = _import_prepared(item, book, db_id, matches)
    if matches is not None and isinstance(outcome, Imported):
        matches.written(outcome.profile_id)  # a later item may select it, or not
    return outcome


def _import_prepared(
    item: PreparedItem, book: ProfileBook, db_id: int, matches: QueryMatches | None
) -> ItemOutcome:
    profile_id = locate(item, book, db_id, matches)
    if profile_id is None:
        if item.key is not None and item.key.mode is MatchingMode.PROFILE_ID:
            # The docs: profile_id matching is for updating only.
            return ItemFailure(
                ProfileNotFound.code, ProfileNotFound.text, not_found_debug(item, db_id)
            )
        subscriptions = item.subscriptions
        if item.key_subscription is not None:
            subscriptions = merge_subscriptions([item.key_subscription], subscriptions)
        return Imported(book.create(db_id, fields_for_new_profile(item), subscriptions), True)
    stored = book.get(profile_id)
    assert stored is not None
    book.replace(
        profile_id,
        merge_fields(stored["data"], item.fields),
        merge_subscriptions(stored["subscriptions"], item.subscriptions),
    )
    return Imported(profile_id, False)


@dataclass(frozen=True, slots=True)
class ImportJob:
    """Everything needed to import the items of one request, in order."""

    account: Account
    database: Database
    workflow_id: int | None
    options: ImportOptions
    items: Sequence[Any]
    geo: tuple[GeoEntry, ...] = ()
    #: A one-profile request (SPEC §8): its item is the request itself, so
    #: problems are named from the root (`data.email`), not `data[0].data.email`.
    single: bool = False
    #: Built once per job: a batch is imported in many small slices.
    _context: ItemContext = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        context = ItemContext(self.account, self.database, self.options, self.geo)
        object.__setattr__(self, "_context", context)

    def context(self) -> ItemContext:
        return self._context

    def where(self, index: int) -> str:
        return "" if self.single else f"data[{index}]"


@dataclass(frozen=True, slots=True)
class SliceResult:
    outcomes: list[ItemOutcome]
    engaged: list[tuple[Imported, PreparedItem]]


def run_slice(
    job: ImportJob,
    start: int,
    stop: int,
    book: ProfileBook,
    veto: ItemVeto | None = None,
) -> SliceResult:
    """Import items [start, stop) of a job; one outcome per item, in order."""
    ctx = job.context()
    db_id = job.database.db_id
    matches = query_matches(book, db_id, job.options.custom_request)
    outcomes: list[ItemOutcome] = []
    engaged: list[tuple[Imported, PreparedItem]] = []
    for index in range(start, stop):
        prepared = prepare_item(job.items[index], job.where(index), ctx)
        if isinstance(prepared, PreparedItem) and veto is not None:
            prepared = veto(prepared) or prepared
        if isinstance(prepared, ItemFailure):
            outcomes.append(prepared)
            continue
        outcome = import_prepared(
            prepared, book, db_id, matches, existing_only=job.options.existing_only
        )
        outcomes.append(outcome)
        if isinstance(outcome, Imported):
            engaged.append((outcome, prepared))
    return SliceResult(outcomes, engaged)


def single_outcome(outcome: ItemOutcome) -> Imported:
    """A one-profile request (SPEC §8): its item's problem is the request's error.

    `workflows/import_and_start` and `profiles/import` carry one profile, so
    what a batch reports as an item entry is answered as the request's error:
    400 with the field path in `error_debug`, 404 "Profile not found" for an
    unknown `profile_id`, or whatever code the item failed with.
    """
    if isinstance(outcome, Imported):
        return outcome
    raise failure_error(outcome)
