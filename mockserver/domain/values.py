"""Checks and normal forms of single values: emails, phones, typed fields.

SPEC §3: emails have the `name@domain.tld` shape and compare
case-insensitively; phones are 7-15 digits, stored and compared as `+` and
the digits; surrounding whitespace is trimmed before matching and storing.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime
from typing import Any

import orjson

from mockserver.domain.catalog import FieldType

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE = re.compile(r"\+[0-9]{7,15}")
#: How people and CRM exports write a phone: an optional `+`, then digits
#: grouped by spaces, dashes, dots and parentheses (`+7 (900) 123-45-67`,
#: `8-900-123-45-67`, `998901112204`).
_WRITTEN_PHONE = re.compile(r"\+?[0-9 \-.()]+")
_PHONE_PUNCTUATION = re.compile(r"[ \-.()+]")  # what is dropped to leave the digits
_NON_DIGITS = re.compile(r"\D")


#: What an unusable phone is told (`data[0].data.phones: <this>: "12"`).
INVALID_PHONE = "not a valid phone (7-15 digits; + ( ) - . and spaces allowed)"


class ValueProblem(ValueError):
    """A value failed its check; the message says why (for `error_text`)."""


def normalize_email(value: Any, where: str = "email") -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"{where}: expected a string, got {json_type(value)}")
    email = value.strip()
    if not _EMAIL.match(email):
        raise ValueProblem(f"{where}: not a valid email: {quote(value)}")
    return email


def email_key(email: str) -> str:
    """The form emails are compared in: trimmed, lower case.

    A stored email is usually in that form already; it is then its own key, so
    the index holds no second copy of it."""
    key = email.strip()
    return key if key.islower() else key.lower()


def normalize_phone(value: Any, where: str = "phone") -> str:
    """A phone in its one stored form, `+` and the digits (SPEC §3, "Inputs as
    real clients send them"): `"79001234567"`, `"+7 (900) 123-45-67"` and
    `" +79001234567"` are all `"+79001234567"`. Letters, or a digit count
    outside 7-15, are refused."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        value = str(value)  # CRM exports write phones as numbers
    if not isinstance(value, str):
        raise ValueProblem(f"{where}: expected a string, got {describe(value)}")
    phone = value.strip()
    if _PHONE.fullmatch(phone):
        return phone  # already canonical: the common case
    digits = _PHONE_PUNCTUATION.sub("", phone)
    if _WRITTEN_PHONE.fullmatch(phone) and 7 <= len(digits) <= 15:
        return "+" + digits
    raise ValueProblem(f"{where}: {INVALID_PHONE}: {quote(value)}")


def phone_key(phone: str) -> str:
    """The form phones are compared in: `+` and the digits only.

    A stored phone is in that form already (`normalize_phone`); it is then its
    own key, so the index holds no second copy of it."""
    if phone.startswith("+") and phone[1:].isdigit():
        return phone
    return "+" + _NON_DIGITS.sub("", phone)


def normalize_phones(value: Any, where: str = "phones") -> list[str]:
    """`phones` may be one string or a list of strings (the page sends a string)."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [normalize_phone(value, where)]
    if isinstance(value, list):
        # One entry per phone: two ways of writing one number are one phone.
        phones = (normalize_phone(item, f"{where}[{i}]") for i, item in enumerate(value))
        return list(dict.fromkeys(phones))
    raise ValueProblem(f"{where}: expected a string or a list of strings, got {json_type(value)}")


# -- whole columns at once -------------------------------------------------------------
# A batch's values of one field, checked in one pass of C code (the batch-shaped
# import, domain/batch.py): each answers the column's stored forms, exactly what the
# per-value function above answers for each value, or None when a value is not of
# the common form; the caller then checks value by value. A column is matched as
# one text, a value per line: a value holding a line break of its own is caught
# by the count of lines.

#: `_EMAIL` over a column joined by line breaks (possessive: no backtracking).
_EMAIL_LINES = re.compile(r"(?:[^@\s]++@[^@\s.]++(?:\.[^@\s.]++)++\n)*+")
_PHONE_LINES = re.compile(r"(?:\+[0-9]{7,15}+\n)*+")
_STR = frozenset({str})


def strings_column(values: list[Any]) -> list[str] | None:
    """Strings, trimmed (`values` itself when none needed it); None unless all are strings."""
    if set(map(type, values)) - _STR:
        return None
    stripped = list(map(str.strip, values))
    return values if stripped == values else stripped


def emails_column(values: list[Any]) -> list[str] | None:
    """`normalize_email` of each value, or None unless every one is a valid email."""
    emails = strings_column(values)
    if emails is None or not _all_lines(_EMAIL_LINES, emails):
        return None
    return emails


def email_keys_column(emails: list[str]) -> list[str]:
    """`email_key` of each checked email (the emails themselves when all are lower case)."""
    if "".join(emails).islower():
        return emails
    return [email if email.islower() else email.lower() for email in emails]


def canonical_phones_column(values: list[Any]) -> list[str] | None:
    """The values, when each is a string already in the stored phone form (`+` and
    7-15 digits, nothing around): `normalize_phone` leaves those as they are."""
    if set(map(type, values)) - _STR or not _all_lines(_PHONE_LINES, values):
        return None
    return values


def _all_lines(lines: re.Pattern[str], values: list[str]) -> bool:
    text = "\n".join(values) + "\n"
    return text.count("\n") == len(values) and lines.fullmatch(text) is not None


def parse_tags(value: Any, where: str) -> list[str]:
    """Tags come as a list or as the vendor's `"tag-1, tag-2"` string."""
    if isinstance(value, str):
        return [tag for tag in (part.strip() for part in value.split(",")) if tag]
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return [tag.strip() for tag in value if tag.strip()]
    raise ValueProblem(f'{where}: expected tags as a list of strings or "a, b", got {quote(value)}')


def check_typed(value: Any, field_type: FieldType, where: str) -> Any:
    """Check a custom-field value against its declared type; return the stored form."""
    if value is None:
        return None  # clearing a field is always allowed
    match field_type:
        case FieldType.STRING:
            ok = isinstance(value, str)
        case FieldType.INT:
            ok = isinstance(value, int) and not isinstance(value, bool)
        case FieldType.FLOAT:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        case FieldType.BOOL:
            ok = isinstance(value, bool)
        case FieldType.DATE:
            ok = isinstance(value, str) and _is_date(value)
        case FieldType.DATETIME:
            ok = isinstance(value, str) and _is_datetime(value)
        case FieldType.TAGS:
            return parse_tags(value, where)
        case FieldType.EMAIL:
            return normalize_email(value, where)
        case FieldType.PHONE:
            return normalize_phone(value, where)
        case _:
            ok = True
    if not ok:
        raise ValueProblem(f"{where}: expected {field_type.value}, got {describe(value)}")
    return value


def check_birth_date(value: Any, where: str) -> str | None:
    """`_bdate`: a date (`1990-02-22`) or an RFC 3339 date-time.

    The vendor's Profile data object documents `_bdate` as "Birth date in RFC
    3339 format" (`"1990-02-22T21:00:00Z"`) and `profiles/get` answers it so;
    clients serialising a date type (Jackson, for one) send the date-time form.
    """
    if value is None:
        return None
    if isinstance(value, str) and (_is_date(value.strip()) or _is_datetime(value.strip())):
        return value.strip()
    raise ValueProblem(f"{where}: expected a date or an RFC 3339 date-time, got {describe(value)}")


def check_ip(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"{where}: expected an IP address string, got {json_type(value)}")
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        raise ValueProblem(f"{where}: not a valid IP address: {quote(value)}") from None
    return value.strip()


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def quote(value: Any) -> str:
    """A value as short JSON text (`"x"`, `5`, `null`) for error messages."""
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def describe(value: Any) -> str:
    """`string "1"`, `integer 5`, `null`: a value as JSON, for error messages."""
    if value is None:
        return "null"
    return f"{json_type(value)} {quote(value)}"
