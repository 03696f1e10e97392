"""Pure checks and normal forms (SPEC §3: email shape, phone shape, typed fields)."""

from __future__ import annotations

import pytest

from mockserver.domain.catalog import FieldType
from mockserver.domain.values import (
    ValueProblem,
    check_birth_date,
    check_typed,
    email_key,
    normalize_email,
    normalize_phone,
    normalize_phones,
    parse_tags,
    phone_key,
)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("a@b.io", "a@b.io"),
        ("  Name.Surname@Example.COM ", "Name.Surname@Example.COM"),
        ("x+tag@sub.domain.org", "x+tag@sub.domain.org"),
    ],
)
def test_valid_emails_are_trimmed(raw, stored):
    assert normalize_email(raw) == stored


@pytest.mark.parametrize("raw", ["", "plain", "a@b", "a@.io", "a b@c.io", "a@b..io", "@b.io"])
def test_invalid_emails_are_refused(raw):
    with pytest.raises(ValueProblem, match="not a valid email"):
        normalize_email(raw, "data[0].data.email")


def test_email_of_wrong_type_names_the_type():
    with pytest.raises(ValueProblem, match=r"^data\.email: expected a string, got integer$"):
        normalize_email(5, "data.email")


def test_email_key_ignores_case_and_spaces():
    assert email_key(" A@B.IO ") == email_key("a@b.io")


@pytest.mark.parametrize("raw", ["+7900123", "+790000000015", " +123456789012345 "])
def test_valid_phones(raw):
    assert normalize_phone(raw) == raw.strip()


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("79001234567", "+79001234567"),  # bare digits (a Java client)
        ("998901112204", "+998901112204"),
        ("+7 (900) 123-45-67", "+79001234567"),  # as a CRM export writes it
        ("8-900-123-45-67", "+89001234567"),  # digits kept: no national-prefix rewriting
        ("  +7.900.123.45.67 ", "+79001234567"),
        ("(495) 123 4567", "+4951234567"),
        ("1234567", "+1234567"),  # 7 digits, the fewest
        ("123456789012345", "+123456789012345"),  # 15, the most
    ],
)
def test_written_phones_get_their_canonical_form(raw, canonical):
    assert normalize_phone(raw) == canonical
    assert phone_key(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "+790012",  # 6 digits
        "+1234567890123456",  # 16 digits
        "123 456",
        "+7900abc4567",  # letters
        "+٣٣٣٣٣٣٣٣",  # digits that are not ASCII
        "7900+1234567",  # + inside
        "++79001234567",
        "+7 900 123 45 67 ext 5",
        "79001234567\n5",
        "() - .",
        "",
    ],
)
def test_invalid_phones(raw):
    with pytest.raises(ValueProblem, match="not a valid phone"):
        normalize_phone(raw)


def test_phones_accept_a_string_or_a_list():
    assert normalize_phones("+79000000000") == ["+79000000000"]
    assert normalize_phones(["+79000000000", " +79000000001"]) == ["+79000000000", "+79000000001"]


def test_phone_list_error_names_the_index():
    with pytest.raises(ValueProblem, match=r"^phones\[1\]: not a valid phone"):
        normalize_phones(["+79000000000", "bad"])


@pytest.mark.parametrize(
    ("phone", "key"),
    [
        ("+7 (900) 000-00-00", "+79000000000"),
        ("+79000000000", "+79000000000"),
        ("79000000000", "+79000000000"),
    ],
)
def test_phone_key_is_plus_and_digits(phone, key):
    assert phone_key(phone) == key


@pytest.mark.parametrize(
    ("value", "field_type"),
    [
        ("x", FieldType.STRING),
        (5, FieldType.INT),
        (5, FieldType.FLOAT),
        (5.5, FieldType.FLOAT),
        (True, FieldType.BOOL),
        ("2024-02-29", FieldType.DATE),
        ("2024-02-29T10:00:00Z", FieldType.DATETIME),
        ({"any": ["json"]}, FieldType.JSON),
        (None, FieldType.INT),
    ],
)
def test_typed_values_that_fit(value, field_type):
    assert check_typed(value, field_type, "f") == value


@pytest.mark.parametrize(
    ("value", "field_type", "message"),
    [
        ("5", FieldType.INT, 'f: expected int, got string "5"'),
        (True, FieldType.INT, "f: expected int, got boolean true"),
        (1.5, FieldType.INT, "f: expected int, got number 1.5"),
        ("yes", FieldType.BOOL, 'f: expected bool, got string "yes"'),
        ("2024-13-01", FieldType.DATE, 'f: expected date, got string "2024-13-01"'),
        (5, FieldType.STRING, "f: expected string, got integer 5"),
    ],
)
def test_typed_values_that_do_not_fit(value, field_type, message):
    with pytest.raises(ValueProblem) as problem:
        check_typed(value, field_type, "f")
    assert str(problem.value) == message


def test_tags_from_the_vendor_string_form():
    assert parse_tags("tag-1, tag-2,,  tag-3 ", "Tags") == ["tag-1", "tag-2", "tag-3"]
    assert check_typed(["a", " b "], FieldType.TAGS, "Tags") == ["a", "b"]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "1990-02-22",
        "1990-02-22T21:00:00Z",  # the vendor's Profile data object
        "1990-07-06T11:15:25.526Z",  # as profiles/get answers it
        "1995-06-15T00:00:00.000+00:00",  # Jackson's ISO form of a Timestamp
    ],
)
def test_birth_dates_as_a_date_or_an_rfc_3339_date_time(value):
    assert check_birth_date(value, "data._bdate") == value


@pytest.mark.parametrize("value", ["yesterday", "22.02.1990", 1990, 631152000000, True])
def test_birth_dates_that_are_neither(value):
    with pytest.raises(ValueProblem, match=r"^data\._bdate: expected a date or an RFC 3339"):
        check_birth_date(value, "data._bdate")
