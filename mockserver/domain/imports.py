"""The import rules: request options, one item end to end, a slice of a batch,
lookups of existing profiles, and what engaging a profile records.

SPEC §3: request-level problems raise (answered at once, no task); item-level
problems come back as `ItemFailure` values, in request order, and the other
items go on. An item that failed is neither stored nor engaged. SPEC §8: a
one-profile request raises its item's problem as the request's error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
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
    root_item,
    root_key_problem,
    summarize_attachments,
)
from mockserver.domain.matching import MatchingMode
from mockserver.domain.profiles import (
    ProfileBook,
    QueryMatches,
    find_profile,
    merge_fields,
    merge_subscriptions,
)
from mockserver.domain.queries import check_query, profile_predicate
from mockserver.domain.values import ValueProblem
from mockserver.errors import AltcraftError, InjectedError, InvalidRequest, ProfileNotFound

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


# Not frozen: a frozen dataclass's __init__ costs ~8x a plain one's, and one is
# built per imported item. Treated as immutable all the same.
@dataclass(slots=True)
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
    custom_request = job.options.custom_request
    matches = (
        QueryMatches(book, db_id, profile_predicate(custom_request))
        if custom_request is not None
        else None
    )
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
    custom_request = ctx.options.custom_request
    db_id = ctx.database.db_id
    matches = (
        QueryMatches(book, db_id, profile_predicate(custom_request))
        if custom_request is not None
        else None
    )
    profile_id = locate(prepared, book, db_id, matches)
    if profile_id is None:
        raise ProfileNotFound(not_found_debug(prepared, db_id))
    return prepared, profile_id


def single_outcome(outcome: ItemOutcome) -> Imported:
    """A one-profile request (SPEC §8): its item's problem is the request's error.

    `workflows/import_and_start` and `profiles/import` carry one profile, so
    what a batch reports as an item entry is answered as the request's error:
    400 with the field path in `error_debug`, 404 "Profile not found" for an
    unknown `profile_id`, or the code a `fail_items` fault injects.
    """
    if isinstance(outcome, Imported):
        return outcome
    raise failure_error(outcome)


def failure_error(failure: ItemFailure) -> AltcraftError:
    if failure.invalid:
        return InvalidRequest(failure.text)
    if failure.code == ProfileNotFound.code and failure.text == ProfileNotFound.text:
        return ProfileNotFound(failure.debug)
    return InjectedError(failure.code, failure.text, failure.debug)


@dataclass(frozen=True, slots=True)
class Engagement:
    """SPEC §3 step 5: engaging profiles in a workflow or a trigger campaign, and
    who asked for it.

    `source` is the vendor method that engaged the profile
    (`workflows/import_and_start_batch_task`, `workflows/start`,
    `campaigns/triggers/import_and_start`, ...), so a test can tell the paths
    apart in `GET /_mock/engagements?source=...`. A trigger launch has no
    workflow (`workflow_id` None) and names its `trigger_id`.
    """

    account: str
    workflow_id: int | None
    source: str
    task_id: str | None = None
    skip_triggers: bool = False
    #: What `workflows/start` adds: `resource_id`, `subscription_filter`.
    details: Mapping[str, Any] = field(default_factory=dict)
    trigger_id: int | None = None

    def record(
        self,
        profile_id: str,
        *,
        created: bool,
        content: Mapping[str, Any] | None,
        custom_data: Mapping[str, Any] | None,
        attach: Sequence[AttachmentSummary],
        at: str,
    ) -> dict[str, Any]:
        launched = {} if self.trigger_id is None else {"trigger_id": self.trigger_id}
        return {
            "account": self.account,
            "workflow_id": self.workflow_id,
            **launched,
            "profile_id": profile_id,
            "created": created,
            "task_id": self.task_id,
            "source": self.source,
            "content": content,
            "custom_data": custom_data,
            "attach": [a.to_doc() for a in attach],
            "skip_triggers": self.skip_triggers,
            **self.details,
            "time": at,
        }

    def of_imports(
        self,
        engaged: Sequence[tuple[Imported, PreparedItem]],
        options: ImportOptions,
        at: str,
    ) -> dict[str, Any]:
        """One stored document for the profiles a slice of an import engaged.

        What they share is kept once; each profile is `[profile_id, created]`,
        plus its own content, custom_data and attach when the item carried
        them. `engagement_records` gives back one record per profile, as
        `record` builds it: per-profile records cost a dict of a dozen keys
        per imported profile, in memory and on disk."""
        content, custom_data, attach = options.content, options.custom_data, options.attach
        profiles: list[list[Any]] = []
        for imported, item in engaged:
            entry: list[Any] = [imported.profile_id, imported.created]
            if not (
                item.content is content
                and item.custom_data is custom_data
                and item.attach is attach
            ):
                entry += [item.content, item.custom_data, [a.to_doc() for a in item.attach]]
            profiles.append(entry)
        shared = self.record(
            "", created=False, content=content, custom_data=custom_data, attach=attach, at=at
        )
        del shared["profile_id"], shared["created"]
        shared[BATCH_PROFILES] = profiles
        return shared


#: The key of a stored engagement document that holds several profiles.
BATCH_PROFILES = "profiles"


def engagement_records(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The per-profile records a stored engagement document holds, in order."""
    entries = doc.get(BATCH_PROFILES)
    if entries is None:
        yield dict(doc)  # one profile's record (`record`)
        return
    head = {"account": doc["account"], "workflow_id": doc["workflow_id"]}
    if "trigger_id" in doc:
        head["trigger_id"] = doc["trigger_id"]
    rest = {k: v for k, v in doc.items() if k not in head and k != BATCH_PROFILES}
    for entry in entries:
        record = {**head, "profile_id": entry[0], "created": entry[1], **rest}
        if len(entry) > 2:
            record["content"], record["custom_data"], record["attach"] = entry[2:5]
        yield record


def engagement_count(doc: Mapping[str, Any]) -> int:
    entries = doc.get(BATCH_PROFILES)
    return 1 if entries is None else len(entries)
