"""In-memory lookup indexes for matching (SPEC §7: never a scan per item).

One `DatabaseIndex` per (account, database). Email and phone indexes are
kept for profile fields and for subscriptions separately, because the
matching modes search one, the other or both. Custom-field indexes are built
the first time a field is searched, then kept in step on every write.

Each map holds a single id (the common case) or a set, to keep memory per
profile small.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import orjson

from mockserver.domain.items import EMAIL_CHANNELS, PHONE_CHANNELS
from mockserver.domain.values import email_key, phone_key

IdMap = dict[Hashable, str | set[str]]
Profile = Mapping[str, Any]


def _add(index: IdMap, key: Hashable, profile_id: str) -> None:
    # A new key (the common case) costs one probe of the map.
    held = index.setdefault(key, profile_id)
    if held is profile_id:
        return
    if isinstance(held, set):
        held.add(profile_id)
    elif held != profile_id:
        index[key] = {held, profile_id}


def _discard(index: IdMap, key: Hashable, profile_id: str) -> None:
    held = index.get(key)
    if held is None:
        return
    if isinstance(held, set):
        held.discard(profile_id)
        if len(held) == 1:
            index[key] = next(iter(held))
        elif not held:
            del index[key]
    elif held == profile_id:
        del index[key]


def _ids(index: IdMap, key: Hashable) -> tuple[str, ...]:
    held = index.get(key)
    if held is None:
        return ()
    if isinstance(held, set):
        return tuple(held)
    return (held,)


def value_keys(value: Any) -> list[Hashable]:
    """Index keys of a custom-field value; a list (tags) is indexed per element."""
    if isinstance(value, list):
        return [key for element in value for key in value_keys(element)]
    if isinstance(value, bool):
        return [("bool", value)]  # keep True apart from 1
    if isinstance(value, int | float):
        return [("num", value)]
    if isinstance(value, str):
        return [("str", value)]
    if value is None:
        return []
    return [("json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))]


class DatabaseIndex:
    def __init__(self) -> None:
        self.members: dict[str, None] = {}  # ids in creation order
        self.emails: IdMap = {}
        self.sub_emails: IdMap = {}
        self.phones: IdMap = {}
        self.sub_phones: IdMap = {}
        self.fields: dict[str, IdMap] = {}

    # -- keeping in step -------------------------------------------------
    def add(self, profile: Profile) -> None:
        profile_id = profile["id"]
        if profile["subscriptions"] or self.fields:
            self._apply(profile, _add)
        else:  # the common profile: `_apply` for its email and phones alone
            data = profile["data"]
            email = data.get("email")
            if email:
                _add(self.emails, email_key(email), profile_id)
            for phone in data.get("phones") or ():
                _add(self.phones, phone_key(phone), profile_id)
        self.members[profile_id] = None

    def remove(self, profile: Profile) -> None:
        self._apply(profile, _discard)
        self.members.pop(profile["id"], None)

    def replace(self, old: Profile, new: Profile) -> None:
        """Re-index a changed profile; skipped when no indexed value changed."""
        if not self._keys_differ(old, new):
            return
        self._apply(old, _discard)
        self._apply(new, _add)

    def _keys_differ(self, old: Profile, new: Profile) -> bool:
        before, after = old["data"], new["data"]
        if (
            old["subscriptions"] != new["subscriptions"]
            or before.get("email") != after.get("email")
            or before.get("phones") != after.get("phones")
        ):
            return True
        return bool(self.fields) and any(
            before.get(name) != after.get(name) for name in self.fields
        )

    def _apply(self, profile: Profile, op: Callable[[IdMap, Hashable, str], None]) -> None:
        profile_id, data = profile["id"], profile["data"]
        email = data.get("email")
        if email:
            op(self.emails, email_key(email), profile_id)
        for phone in data.get("phones") or ():
            op(self.phones, phone_key(phone), profile_id)
        for sub in profile["subscriptions"]:
            if sub.get("channel") in EMAIL_CHANNELS and sub.get("email"):
                op(self.sub_emails, email_key(sub["email"]), profile_id)
            elif sub.get("channel") in PHONE_CHANNELS and sub.get("phone"):
                op(self.sub_phones, phone_key(sub["phone"]), profile_id)
        if self.fields:
            for field, index in self.fields.items():
                for key in value_keys(data.get(field)):
                    op(index, key, profile_id)

    # -- lookups -----------------------------------------------------------
    def by_email(self, key: str, *, profile: bool, subscriptions: bool) -> tuple[str, ...]:
        """Ids (a profile may appear twice: by its email and a subscription)."""
        found = _ids(self.emails, key) if profile else ()
        return found + _ids(self.sub_emails, key) if subscriptions else found

    def by_phone(self, key: str, *, profile: bool, subscriptions: bool) -> tuple[str, ...]:
        found = _ids(self.phones, key) if profile else ()
        return found + _ids(self.sub_phones, key) if subscriptions else found

    def by_field(
        self, field: str, value: Any, load: Callable[[str], Profile | None]
    ) -> tuple[str, ...]:
        """Profiles whose field equals the value; a list value needs every element."""
        index = self.fields.get(field)
        if index is None:
            index = self._build_field(field, load)
        keys = value_keys(value)
        if not keys:
            return ()
        found = _ids(index, keys[0])
        for key in keys[1:]:
            also = set(_ids(index, key))
            found = tuple(profile_id for profile_id in found if profile_id in also)
        return found

    def _build_field(self, field: str, load: Callable[[str], Profile | None]) -> IdMap:
        index: IdMap = {}
        for profile_id in self.members:
            profile = load(profile_id)
            if profile is not None:
                for key in value_keys(profile["data"].get(field)):
                    _add(index, key, profile_id)
        self.fields[field] = index
        return index

    def ids(self) -> Iterable[str]:
        return list(self.members)
