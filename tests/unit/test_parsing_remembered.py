"""`parse_json_object` remembers small bodies that passed its faithfulness checks
(a poller sends the same bytes thousands of times): sent again, the same bytes
give the same answer, whatever the checks would have said or changed."""

from __future__ import annotations

import pytest

from mockserver.errors import InvalidRequest
from mockserver.http import parsing
from mockserver.http.parsing import parse_json_object

POLL = b'{"token":"abcdefghijklmnqrstuvwxyz","task_id":"3f2e4a1e-5b6c-4d7e-8f90-a1b2c3d4e5f6"}'


def test_a_body_sent_again_parses_to_an_equal_value_of_its_own() -> None:
    first = parse_json_object(POLL)
    assert POLL in parsing._FAITHFUL
    first["task_id"] = "changed by a handler"
    second = parse_json_object(POLL)
    assert second == {
        "token": "abcdefghijklmnqrstuvwxyz",
        "task_id": "3f2e4a1e-5b6c-4d7e-8f90-a1b2c3d4e5f6",
    }
    assert second is not first


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'{"token": 1, "token": 2}', "token"),
        (b'{"a": "\\u0000"}', "NUL"),
        (b'{"a": 99999999999999999999}', "64-bit"),
    ],
)
def test_a_refused_body_is_refused_every_time(raw: bytes, problem: str) -> None:
    for _ in range(3):
        with pytest.raises(InvalidRequest) as refused:
            parse_json_object(raw)
        assert problem in refused.value.debug
    assert raw not in parsing._FAITHFUL


@pytest.mark.parametrize("raw", [b'{"a": 2.0}', b'{"a": [1, {"b": 1e3}]}', b'{"a": 2.5}'])
def test_a_body_with_floats_is_checked_and_converted_every_time(raw: bytes) -> None:
    answers = [parse_json_object(raw) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert raw not in parsing._FAITHFUL
    if raw == b'{"a": 2.0}':  # a whole float is an int, the second time too
        assert all(type(answer["a"]) is int for answer in answers)


def test_big_bodies_are_not_remembered() -> None:
    raw = b'{"a": "' + b"x" * 2000 + b'"}'
    parse_json_object(raw)
    assert raw not in parsing._FAITHFUL
