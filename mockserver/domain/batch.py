"""A slice of a batch imported as columns: the shapes most batches have, in bulk.

Most batches are thousands of items of one shape: `{"data": {...}}` with the
same fields, matched by email or phone. Per slice, such items are grouped by
their field names; each group's values are checked a column at a time by the
column form of each field's rule (`ItemContext.columns`: one C-level pass over
the column where the values have the common form), the match keys are a column
too, and each item is then matched and written in its turn over the same
`ProfileBook`, with no object built per item.

The general path (`importing.run_item`) is the reference. Every item the
columns do not decide (another shape, a value not of the common form, a
problem to report, a key that finds several profiles or a subscription) is
imported by it, in its place in the order: items are matched in order either
way, so a later item finds what an earlier one created. The outcome is the
general path's, item for item; tests/unit/test_batch_slice.py runs both over
the same slices and compares everything they leave behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.domain.importing import (
    ImportJob,
    ItemVeto,
    SliceResult,
    run_general_slice,
    run_item,
)
from mockserver.domain.items import GENERAL, IGNORED, ItemContext
from mockserver.domain.matching import MatchingMode, MatchKey
from mockserver.domain.profiles import (
    KeyMaps,
    ProfileBook,
    find_profile,
)
from mockserver.domain.values import ValueProblem, email_key, email_keys_column, phone_key

#: The matching modes the columns cover: a key taken from the item's own `email`
#: and `phones`, looked up in the index maps. The subscription-only modes give a
#: new profile a subscription, `profile_id` and `custom` look elsewhere.
BATCH_MODES = frozenset(
    {
        MatchingMode.EMAIL,
        MatchingMode.EMAIL_PROFILE,
        MatchingMode.PHONE,
        MatchingMode.EMAIL_PHONE,
        MatchingMode.EMAIL_PHONE_SUB,
    }
)


def run_slice(
    job: ImportJob,
    start: int,
    stop: int,
    book: ProfileBook,
    veto: ItemVeto | None = None,
) -> SliceResult:
    """Import items [start, stop) of a job; one outcome per item, in order.

    Batch-shaped when the request allows it; a veto (items made to fail on
    purpose) is asked about each prepared item, so a slice with one, and every
    request option the columns do not cover, takes the general path."""
    if veto is None and batch_applies(job):
        return run_batch_slice(job, start, stop, book)
    return run_general_slice(job, start, stop, book, veto)


def batch_applies(job: ImportJob) -> bool:
    """Whether the request's options leave each item's import to its own fields."""
    options = job.options
    return (
        options.matching in BATCH_MODES
        and not options.existing_only
        and not options.detect_geo
        and not job.single
        and job.context().shared_extras_valid
    )


@dataclass(slots=True)
class _Rows:
    """The items the columns decided: their stored fields and match keys, by row."""

    #: Per item of the slice (by offset): its row, or -1 for the general path.
    row_of: list[int]
    fields: list[dict[str, Any]] = field(default_factory=list)
    email_keys: list[str | None] = field(default_factory=list)
    phone_keys: list[str | None] = field(default_factory=list)


def run_batch_slice(job: ImportJob, start: int, stop: int, book: ProfileBook) -> SliceResult:
    """The columns' path (see the module): same outcome as `run_general_slice`."""
    mode = job.options.matching
    assert mode is not None and mode in BATCH_MODES
    rows = _rows(job, start, stop, mode)
    db_id = job.database.db_id
    maps = book.key_maps(db_id)
    lookup = _Lookup(maps, mode)
    result = SliceResult()
    profile_ids, created = result.profile_ids, result.created
    row_fields, email_keys, phone_keys = rows.fields, rows.email_keys, rows.phone_keys
    news = _NewProfiles(book, db_id, profile_ids, mode.uses_phone)
    for offset, row in enumerate(rows.row_of):
        if row < 0:
            news.create()  # the general path looks the item up in the index maps
            run_item(job, start + offset, book, None, result)
            continue
        fields = row_fields[row]
        email, phone = email_keys[row], phone_keys[row]
        if news.hold(email, phone):
            news.create()  # a later item of the batch finds an earlier one's profile
        found = lookup.first(email, phone)
        if found is _SEVERAL:
            news.create()
            found = find_profile(book, db_id, _match_key(mode, fields))
        if found is None:
            # SPEC §3: a new profile; its fields hold the email and phone it was
            # matched by already (`fields_for_new_profile` adds nothing here).
            news.add(offset, fields, email)
            profile_ids.append(None)  # its id once it is created
            created.append(True)
        else:
            assert isinstance(found, str)
            book.merge_data(found, fields)
            profile_ids.append(found)
            created.append(False)
    news.create()
    return result


class _NewProfiles:
    """The slice's new profiles not created yet: created together (`create_many`),
    before anything looks at the index maps they would change: the general path, a
    lookup by a key one of them holds, or `find_profile`. Nothing else draws ids or
    sequence numbers meanwhile, so they are those `create` one by one would give."""

    __slots__ = (
        "book",
        "by_phone",
        "db_id",
        "emails",
        "fields",
        "offsets",
        "phones",
        "profile_ids",
    )

    def __init__(
        self, book: ProfileBook, db_id: int, profile_ids: list[str | None], by_phone: bool
    ) -> None:
        self.book, self.db_id, self.profile_ids, self.by_phone = book, db_id, profile_ids, by_phone
        self.offsets: list[int] = []
        self.fields: list[dict[str, Any]] = []
        #: The keys the lookups use that these profiles will hold in the index maps.
        self.emails: set[str] = set()
        self.phones: set[str] = set()

    def hold(self, email: str | None, phone: str | None) -> bool:
        return (email is not None and email in self.emails) or (
            phone is not None and phone in self.phones
        )

    def add(self, offset: int, fields: dict[str, Any], email: str | None) -> None:
        self.offsets.append(offset)
        self.fields.append(fields)
        if email is not None:
            self.emails.add(email)
        if self.by_phone:
            # The index holds every phone of a profile, not only the first (its key).
            for phone in fields.get("phones") or ():
                self.phones.add(phone_key(phone))

    def create(self) -> None:
        if not self.fields:
            return
        ids = self.book.create_many(self.db_id, self.fields)
        profile_ids = self.profile_ids
        for offset, profile_id in zip(self.offsets, ids, strict=True):
            profile_ids[offset] = profile_id
        self.offsets, self.fields = [], []
        self.emails.clear()
        self.phones.clear()


#: A lookup that found more than one id, or a subscription: decided by `find_profile`.
_SEVERAL = object()


class _Lookup:
    """The first lookups of `find_profile`, over the index maps: one profile's own
    email (or phone) is the common answer; anything else goes to `find_profile`."""

    __slots__ = ("by_email", "by_phone", "sub_emails", "sub_phones")

    def __init__(self, maps: KeyMaps, mode: MatchingMode) -> None:
        profile, subscriptions = mode.searches_profile, mode.searches_subscriptions
        self.by_email = maps.emails if profile and mode.uses_email else None
        self.by_phone = maps.phones if profile and mode.uses_phone else None
        self.sub_emails = maps.sub_emails if subscriptions and mode.uses_email else None
        self.sub_phones = maps.sub_phones if subscriptions and mode.uses_phone else None

    def first(self, email: str | None, phone: str | None) -> object:
        """The profile id, None (no profile has the key), or `_SEVERAL`."""
        if email is not None:
            found = self._one(self.by_email, self.sub_emails, email)
            if found is not None:
                return found
        if phone is not None:
            return self._one(self.by_phone, self.sub_phones, phone)
        return None

    @staticmethod
    def _one(own: Any, subscribed: Any, key: str) -> object:
        held = None if own is None else own.get(key)
        if subscribed is not None and key in subscribed:
            return _SEVERAL
        if held is None or type(held) is str:
            return held
        return _SEVERAL


def _match_key(mode: MatchingMode, fields: dict[str, Any]) -> MatchKey:
    """The key `prepare_item` gives an item of only `data` (`items._match_key`)."""
    phones = fields.get("phones") if mode.uses_phone else None
    return MatchKey(
        mode,
        email=fields.get("email") if mode.uses_email else None,
        phone=phones[0] if phones else None,
    )


def _rows(job: ImportJob, start: int, stop: int, mode: MatchingMode) -> _Rows:
    """Group the slice's `{"data": {...}}` items by their field names; check each group
    a column at a time."""
    items = job.items
    groups: dict[tuple[str, ...], list[int]] = {}
    for offset in range(stop - start):
        raw = items[start + offset]
        if type(raw) is dict and len(raw) == 1:
            data = raw.get("data")
            if type(data) is dict:
                names = tuple(data)
                group = groups.get(names)
                if group is None:
                    group = groups[names] = []
                group.append(offset)
    rows = _Rows([-1] * (stop - start))
    ctx = job.context()
    for names, offsets in groups.items():
        if _keyed(names, mode):
            datas = [items[start + offset]["data"] for offset in offsets]
            _add_group(rows, ctx, mode, names, offsets, datas)
    return rows


def _keyed(names: tuple[str, ...], mode: MatchingMode) -> bool:
    """Whether a group's fields can hold the key the mode matches by."""
    return (mode.uses_email and "email" in names) or (mode.uses_phone and "phones" in names)


def _add_group(
    rows: _Rows,
    ctx: ItemContext,
    mode: MatchingMode,
    names: tuple[str, ...],
    offsets: list[int],
    datas: list[dict[str, Any]],
) -> None:
    columns, rules = ctx.columns, ctx.rules
    if any(columns.get(name) is GENERAL for name in names):
        return
    fields = list(map(dict, datas))
    general: set[int] = set()  # positions in the group whose item the general path takes
    emails: list[Any] | None = None
    email_keys: Sequence[str | None] | None = None
    phones: list[Any] | None = None
    for name in names:
        column = columns.get(name)
        if column is IGNORED:
            for profile in fields:
                del profile[name]
            continue
        rule = rules.get(name)
        if rule is None:
            continue  # (pick) an undeclared custom field, stored as given
        values = [data[name] for data in datas]
        stored = None if column is None else column(values)  # type: ignore[operator]
        if stored is None:
            stored = _value_by_value(rule, name, values, general)
        elif name == "email":
            email_keys = email_keys_column(stored)
        if stored is not values:
            for profile, value in zip(fields, stored, strict=True):
                profile[name] = value
        if name == "email":
            emails = stored
        elif name == "phones":
            phones = stored
    if emails is not None and email_keys is None:
        email_keys = [None if email is None else email_key(email) for email in emails]
    for position, offset in enumerate(offsets):
        if position in general:
            continue
        email = email_keys[position] if email_keys is not None and mode.uses_email else None
        phone = None
        if phones is not None and mode.uses_phone and phones[position]:
            phone = phone_key(phones[position][0])
        if email is None and phone is None:
            continue  # no key to match by: the general path says so
        rows.row_of[offset] = len(rows.fields)
        rows.fields.append(fields[position])
        rows.email_keys.append(email)
        rows.phone_keys.append(phone)


def _value_by_value(rule: Any, name: str, values: list[Any], general: set[int]) -> list[Any]:
    """A column not of the common form: each value by the field's own rule; an item
    whose value the rule refuses goes to the general path (which reports it)."""
    stored: list[Any] = []
    for position, value in enumerate(values):
        try:
            stored.append(rule(value, name))
        except ValueProblem:
            general.add(position)
            stored.append(None)
    return stored
