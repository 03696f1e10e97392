"""The strict JSON reading of request bodies (mockserver/http/parsing.py), for bodies
written compactly (as orjson, JavaScript or Go send them: the check's fast path,
where the body written back is the body itself) and with Python json's spaces."""

from __future__ import annotations

import json

import pytest

from mockserver.errors import InvalidRequest
from mockserver.http.parsing import MAX_DEPTH, find_unfaithful, parse_json_object


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


# -- the cheap screening against the exact reading (a differential check) ---------
#: Members that are awkward for the screening: escapes that hide a key or a NUL,
#: digit runs in numbers and in strings, fractions and exponents in both.
AWKWARD = [
    b'"a":1',
    b'"a":2',
    b'"\\u0061":3',
    b'"x\\u003ay":1,"x:y":2',
    b'"s":"\\u003a"',
    b'"s":"a\\u0000b"',
    b'"k\\u0000":1',
    b'"s":"back\\\\slash 0.0 and 1e5"',
    b'"n":9223372036854775807',
    b'"n":9223372036854775808',
    b'"n":-9223372036854775809',
    b'"n":12345678901234567890123',
    b'"s":"12345678901234567890"',
    b'"n":1e19',
    b'"n":2.0',
    b'"n":1E+2',
    b'"n":1e-3',
    b'"n":0.5e1',
    b'"n":-5e0',
    b'"s":"v1.2 e3"',
    b'"l":[1,2.5,{"d":3.0}]',
]


def exact_reading(raw: bytes) -> tuple[str, str]:
    """What the strict reading must answer, found the slow way on every body: the
    stdlib parser's problems, or the value with whole floats read as integers."""
    problem = find_unfaithful(raw)
    if problem is not None:
        return "refused", floats_as_read(problem)

    def whole(text: str) -> float | int:
        number = float(text)
        return int(number) if number.is_integer() else number

    return "ok", json.dumps(json.loads(raw, parse_float=whole))


def screened_reading(raw: bytes) -> tuple[str, str]:
    try:
        return "ok", json.dumps(parse_json_object(raw))
    except InvalidRequest as refused:
        return "refused", floats_as_read(refused.debug)


def floats_as_read(problem: str) -> str:
    """A float past 64 bits is named as written (`1e19`) when the body went to the
    exact check, as the float it reads as (`1e+19`) when only the screening saw it:
    the same refusal, in either spelling."""
    where, _, rest = problem.partition(": number ")
    literal, _, tail = rest.partition(" ")
    if rest and any(mark in literal for mark in ".eE"):
        return f"{where}: number {float(literal)!r} {tail}"
    return problem


@pytest.mark.parametrize("first", range(len(AWKWARD)))
@pytest.mark.parametrize("padded", [False, True], ids=["small", "big"])
def test_the_screening_answers_as_the_exact_reading_does(first, padded):
    """Each awkward member beside each other one, compact and with Python json's
    spaces, in a small body and in one past the bracket-count size."""
    pad = b'"pad":"' + b"x" * 5_000 + b'",' if padded else b""
    for second in AWKWARD:
        compact = b'{"token":"t",' + pad + AWKWARD[first] + b"," + second + b"}"
        bodies = [compact, compact.replace(b'":', b'": ').replace(b',"', b', "')]
        for raw in bodies:
            assert screened_reading(raw) == exact_reading(raw), raw
