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
    AttachmentSummary,
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


#: What an engaged item carried of its own (content, custom_data, attach), when
#: that is not what the request shared.
ItemExtras = tuple[Any, Any, tuple[AttachmentSummary, ...]]


@dataclass(slots=True)
class SliceResult:
    """What a slice did, as columns (no object per imported item).

    `profile_ids[i]` is the profile item `start + i` was imported to, None where
    it failed; `failures` holds those items' entries by offset. `created[i]`
    says whether that profile was new. `extras` holds, by offset, the content,
    custom_data and attach of the imported items that carried their own.
    """

    profile_ids: list[str | None] = field(default_factory=list)
    created: list[bool] = field(default_factory=list)
    failures: dict[int, ItemFailure] = field(default_factory=dict)
    extras: dict[int, ItemExtras] = field(default_factory=dict)

    def add(self, outcome: ItemOutcome, item: PreparedItem | None, shared: ImportOptions) -> None:
        """One item's outcome, in order (the general path)."""
        if type(outcome) is Imported:
            offset = len(self.profile_ids)
            self.profile_ids.append(outcome.profile_id)
            self.created.append(outcome.created)
            if item is not None and not (
                item.content is shared.content
                and item.custom_data is shared.custom_data
                and item.attach is shared.attach
            ):
                self.extras[offset] = (item.content, item.custom_data, item.attach)
        else:
            assert isinstance(outcome, ItemFailure)
            self.failures[len(self.profile_ids)] = outcome
            self.profile_ids.append(None)
            self.created.append(False)

    def results(self) -> list[CompactResult]:
        """Each item's result as a task keeps it (`compact_result`), in order."""
        if not self.failures:
            return list(self.profile_ids)  # type: ignore[arg-type]
        failures = self.failures
        return [
            failures[offset].to_result() if profile_id is None else profile_id
            for offset, profile_id in enumerate(self.profile_ids)
        ]

    def outcomes(self) -> list[ItemOutcome]:
        """Each item's outcome, in order (the synchronous methods answer them)."""
        failures = self.failures
        return [
            failures[offset] if profile_id is None else Imported(profile_id, created)
            for offset, (profile_id, created) in enumerate(
                zip(self.profile_ids, self.created, strict=True)
            )
        ]


def run_general_slice(
    job: ImportJob,
    start: int,
    stop: int,
    book: ProfileBook,
    veto: ItemVeto | None = None,
) -> SliceResult:
    """The reference path: each item prepared, matched and merged on its own."""
    matches = query_matches(book, job.database.db_id, job.options.custom_request)
    result = SliceResult()
    for index in range(start, stop):
        run_item(job, index, book, matches, result, veto)
    return result


def run_item(
    job: ImportJob,
    index: int,
    book: ProfileBook,
    matches: QueryMatches | None,
    result: SliceResult,
    veto: ItemVeto | None = None,
) -> None:
    """Import one item of a job by the general rules; its outcome goes to `result`."""
    prepared = prepare_item(job.items[index], job.where(index), job.context())
    if isinstance(prepared, PreparedItem) and veto is not None:
        prepared = veto(prepared) or prepared
    if isinstance(prepared, ItemFailure):
        result.add(prepared, None, job.options)
        return
    outcome = import_prepared(
        prepared, book, job.database.db_id, matches, existing_only=job.options.existing_only
    )
    result.add(outcome, prepared, job.options)


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
