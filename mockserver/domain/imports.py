"""The import rules: request options, one item end to end, a slice of a batch.

SPEC §3: request-level problems raise (answered at once, no task); item-level
problems come back as `ItemFailure` values, in request order, and the other
items go on. An item that failed is neither stored nor engaged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mockserver.domain.catalog import Account, Database, GeoEntry
from mockserver.domain.items import (
    ImportOptions,
    ItemContext,
    ItemFailure,
    PreparedItem,
    fields_for_new_profile,
    prepare_item,
    summarize_attachments,
)
from mockserver.domain.matching import MatchingMode
from mockserver.domain.profiles import (
    Profile,
    ProfileBook,
    find_by_query,
    find_profile,
    merge_fields,
    merge_subscriptions,
)
from mockserver.domain.queries import check_query, profile_predicate
from mockserver.domain.values import ValueProblem
from mockserver.errors import InvalidRequest, ProfileNotFound

#: Decides, before an item is imported, that it fails anyway (fault injection).
ItemVeto = Callable[[PreparedItem], ItemFailure | None]


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


@dataclass(frozen=True, slots=True)
class Imported:
    profile_id: str
    created: bool

    def to_result(self) -> dict[str, Any]:
        return {"profile_id": self.profile_id}


ItemOutcome = Imported | ItemFailure


def import_prepared(
    item: PreparedItem,
    book: ProfileBook,
    db_id: int,
    query: Callable[[Profile], bool] | None = None,
) -> ItemOutcome:
    """Find the item's profile and update it, or create one (SPEC §3 steps 1-4)."""
    if item.key is None:
        assert query is not None, "an item without a key needs custom_request"
        profile_id = find_by_query(book, db_id, query)
    else:
        profile_id = find_profile(book, db_id, item.key)
    if profile_id is None:
        if item.key is not None and item.key.mode is MatchingMode.PROFILE_ID:
            # The docs: profile_id matching is for updating only.
            return ItemFailure(ProfileNotFound.code, ProfileNotFound.text)
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

    def context(self) -> ItemContext:
        return ItemContext(self.account, self.database, self.options, self.geo)


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
    query = (
        profile_predicate(job.options.custom_request)
        if job.options.custom_request is not None
        else None
    )
    outcomes: list[ItemOutcome] = []
    engaged: list[tuple[Imported, PreparedItem]] = []
    db_id = job.database.db_id
    for index in range(start, stop):
        prepared = prepare_item(job.items[index], f"data[{index}]", ctx)
        if isinstance(prepared, PreparedItem) and veto is not None:
            prepared = veto(prepared) or prepared
        if isinstance(prepared, ItemFailure):
            outcomes.append(prepared)
            continue
        outcome = import_prepared(prepared, book, db_id, query)
        outcomes.append(outcome)
        if isinstance(outcome, Imported):
            engaged.append((outcome, prepared))
    return SliceResult(outcomes, engaged)


def engagement_record(
    imported: Imported,
    item: PreparedItem,
    *,
    account: str,
    workflow_id: int,
    task_id: str | None,
    source: str,
    skip_triggers: bool,
    at: str,
) -> dict[str, Any]:
    """SPEC §3 step 5: what engaging a profile in a workflow records."""
    return {
        "account": account,
        "workflow_id": workflow_id,
        "profile_id": imported.profile_id,
        "created": imported.created,
        "task_id": task_id,
        "source": source,
        "content": item.content,
        "custom_data": item.custom_data,
        "attach": [a.to_doc() for a in item.attach],
        "skip_triggers": skip_triggers,
        "time": at,
    }
