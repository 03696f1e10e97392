"""The strict JSON reading of request bodies (mockserver/http/parsing.py), for bodies
written compactly (as orjson, JavaScript or Go send them: the check's fast path,
where the body written back is the body itself) and with Python json's spaces."""

from __future__ import annotations

import json

import pytest

from mockserver.errors import InvalidRequest
from mockserver.http.parsing import MAX_DEPTH, parse_json_object


def spaced(compact: bytes) -> bytes:
    """The same body as Python's json.dumps writes it (", " and ": ")."""
    return json.dumps(json.loads(compact)).encode()


REFUSED = [
    (b'{"token":"t","a":1,"a":2}', "body: duplicate key 'a'"),
    (b'{"token":"t","data":[{"x":1,"x":1}]}', "data[0]: duplicate key 'x'"),
    (b'{"token":"t","n":9223372036854775808}', "n: number 9223372036854775808 is outside"),
    (b'{"token":"t","n":-9223372036854775809}', "n: number -9223372036854775809 is outside"),
    (b'{"token":"t","s":"a\\u0000b"}', "s: contains a NUL character"),
    (b'{"token":"t","k\\u0000":1}', "key 'k\\x00' contains a NUL character"),
    (b'{"token":"t","a":1,"\\u0061":2}', "body: duplicate key 'a'"),
    (b'{"token":"t","n":1e19}', "n: number 1e+19 is outside the 64-bit range"),
]


@pytest.mark.parametrize(("raw", "problem"), REFUSED)
def test_unfaithful_compact_bodies_are_refused_naming_the_field(raw, problem):
    with pytest.raises(InvalidRequest) as refused:
        parse_json_object(raw)
    assert problem in refused.value.debug


def test_a_duplicate_key_is_refused_with_spaces_too():
    with pytest.raises(InvalidRequest) as refused:
        parse_json_object(b'{"token": "t", "a": 1, "a": 2}')
    assert "duplicate key 'a'" in refused.value.debug


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"n":2.0}', 2),
        (b'{"n":1e3}', 1000),
        (b'{"n":1E+2}', 100),
        (b'{"n":-5e0}', -5),
        (b'{"n":2.5}', 2.5),
        (b'{"n":1e-3}', 0.001),
        (b'{"n":9223372036854775807}', 2**63 - 1),
        (b'{"s":"v1.2, 1e5 and 2.0 in a string"}', "v1.2, 1e5 and 2.0 in a string"),
    ],
)
@pytest.mark.parametrize("form", [bytes, spaced], ids=["compact", "spaced"])
def test_numbers_read_as_json_means_them(raw, expected, form):
    value = parse_json_object(form(raw))
    (kept,) = value.values()
    assert kept == expected and type(kept) is type(expected)


def test_nesting_past_the_limit_is_refused_in_a_big_body_too():
    deep = b'{"a":' + b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH + b"}"
    filler = b'{"pad":"' + b"x" * 10_000 + b'","a":' + deep[5:]
    for raw in (deep, filler):
        with pytest.raises(InvalidRequest) as refused:
            parse_json_object(raw)
        assert f"nested deeper than {MAX_DEPTH} levels" in refused.value.debug
    ok = (
        b'{"pad":"'
        + b"x" * 10_000
        + b'","a":'
        + b"[" * (MAX_DEPTH - 1)
        + b"1"
        + b"]" * (MAX_DEPTH - 1)
        + b"}"
    )
    assert parse_json_object(ok)["pad"] == "x" * 10_000
