"""Matching modes and the key an item is matched by (SPEC §3).

The reference page lists `email`, `email_profile`, `phone`, `profile_id` and
`custom`; the vendor guide adds the subscription-aware modes. Where the docs
do not spell a mode out, the README's picks section says what it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class MatchingMode(StrEnum):
    EMAIL = "email"  # profile email or any email subscription
    EMAIL_PROFILE = "email_profile"  # the profile's own email only
    EMAIL_SUB = "email_sub"  # (pick) email subscriptions only
    PHONE = "phone"  # profile phones or any SMS subscription phone
    PHONE_SUB = "phone_sub"  # (pick) SMS subscription phones only
    EMAIL_PHONE = "email_phone"  # (pick) profile email, else profile phone
    EMAIL_PHONE_SUB = "email_phone_sub"  # (pick) as email_phone, subscriptions included
    PROFILE_ID = "profile_id"  # update only
    CUSTOM = "custom"  # a custom field, named by field_name

    @property
    def uses_email(self) -> bool:
        return self in _EMAIL_MODES

    @property
    def uses_phone(self) -> bool:
        return self in _PHONE_MODES

    @property
    def searches_profile(self) -> bool:
        """Whether the profile's own email/phone fields are searched."""
        return self not in (MatchingMode.EMAIL_SUB, MatchingMode.PHONE_SUB)

    @property
    def searches_subscriptions(self) -> bool:
        return self not in (MatchingMode.EMAIL_PROFILE, MatchingMode.EMAIL_PHONE)


_EMAIL_MODES = frozenset(
    {
        MatchingMode.EMAIL,
        MatchingMode.EMAIL_PROFILE,
        MatchingMode.EMAIL_SUB,
        MatchingMode.EMAIL_PHONE,
        MatchingMode.EMAIL_PHONE_SUB,
    }
)
_PHONE_MODES = frozenset(
    {
        MatchingMode.PHONE,
        MatchingMode.PHONE_SUB,
        MatchingMode.EMAIL_PHONE,
        MatchingMode.EMAIL_PHONE_SUB,
    }
)

MATCHING_MODES: tuple[str, ...] = tuple(mode.value for mode in MatchingMode)


@dataclass(slots=True)  # built per item: not frozen (see mockserver/domain/__init__.py)
class MatchKey:
    """What one item is looked up by. Emails and phones are already normalised."""

    mode: MatchingMode
    email: str | None = None
    phone: str | None = None
    profile_id: str | None = None
    field: str | None = None
    field_value: Any = None

    def describe(self) -> str:
        """The matching value as one string (fault patterns match against it)."""
        if self.mode is MatchingMode.PROFILE_ID:
            return self.profile_id or ""
        if self.mode is MatchingMode.CUSTOM:
            return "" if self.field_value is None else str(self.field_value)
        return self.email or self.phone or ""
