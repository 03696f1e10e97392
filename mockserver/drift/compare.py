"""What differs between the real service's answer to a probe and the mock's.

Compared exactly: the HTTP status, `error` and `error_text`, and task status
names. Compared by shape only (shapes.py): every other member, recursively (its
name, its JSON types), and identifiers by their shape class, since ids,
timestamps, counts and names legitimately differ between an account and the mock.
`error_debug` is compared by presence: its wording is each side's own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from enum import StrEnum

from mockserver.drift.exchange import Answer, ProbeRun
from mockserver.drift.shapes import JsonType, Shape, shape_of

ABSENT = "absent"


class DifferenceKind(StrEnum):
    NO_ANSWER = "no_answer"  # one side answered nothing (cut off, timed out, not sent)
    HTTP_STATUS = "http_status"
    BODY_FORMAT = "body_format"  # one side's body is not a JSON object
    ENVELOPE_KEYS = "envelope_keys"  # top-level members
    ERROR = "error"
    ERROR_TEXT = "error_text"
    FIELD_NAMES = "field_names"  # members below the top level
    JSON_TYPE = "json_type"
    STATUS_NAME = "status_name"  # task status values
    ID_SHAPE = "id_shape"
    TASK_END = "task_end"  # one side's task ended, the other's did not


@dataclass(frozen=True, slots=True)
class Difference:
    kind: DifferenceKind
    path: str  # where in the answer ("" for the answer as a whole)
    real: str  # what the real service answered there, as shown
    mock: str  # what the mock answered there


def compare_runs(
    real: ProbeRun, mock: ProbeRun, mock_status_names: Collection[str]
) -> list[Difference]:
    """The differences of one probe's runs on both targets."""
    if real.not_sent or mock.not_sent or real.last is None or mock.last is None:
        if (real.not_sent is None) == (mock.not_sent is None):
            return []  # neither was sent: the probe was skipped
        return [
            Difference(
                DifferenceKind.NO_ANSWER,
                "",
                f"not sent: {real.not_sent}" if real.not_sent else _summary(real.last),
                f"not sent: {mock.not_sent}" if mock.not_sent else _summary(mock.last),
            )
        ]
    if not real.probe.polls_task:
        return compare_answers(real.last, mock.last)
    return _compare_polls(real, mock, mock_status_names)


def compare_answers(real: Answer, mock: Answer) -> list[Difference]:
    """Two answers to the same request."""
    if real.problem or mock.problem:
        if real.problem and mock.problem:
            return []
        return [Difference(DifferenceKind.NO_ANSWER, "", _summary(real), _summary(mock))]
    differences = []
    if real.http_status != mock.http_status:
        differences.append(
            Difference(
                DifferenceKind.HTTP_STATUS,
                "",
                _http_status(real),
                _http_status(mock),
            )
        )
    if not (real.is_json_object and mock.is_json_object):
        if real.is_json_object != mock.is_json_object:
            differences.append(
                Difference(DifferenceKind.BODY_FORMAT, "", _body_format(real), _body_format(mock))
            )
        return differences
    for member, kind in (
        ("error", DifferenceKind.ERROR),
        ("error_text", DifferenceKind.ERROR_TEXT),
    ):
        ours, theirs = real.body.get(member), mock.body.get(member)
        if ours != theirs and member in real.body and member in mock.body:
            differences.append(Difference(kind, member, _value(ours), _value(theirs)))
    differences.extend(compare_shapes(shape_of(real.body), shape_of(mock.body)))
    return differences


def compare_shapes(real: Shape, mock: Shape, path: str = "") -> list[Difference]:
    """Member names, JSON types and id shapes, recursively; top-level members are
    the envelope."""
    return list(_shape_differences(real, mock, path))


def _shape_differences(real: Shape, mock: Shape, path: str) -> Iterator[Difference]:
    if real.ids or mock.ids:
        if real.ids != mock.ids:
            yield Difference(DifferenceKind.ID_SHAPE, path, _or(real.ids), _or(mock.ids))
        return
    if not _types_agree(real.types, mock.types):
        yield Difference(DifferenceKind.JSON_TYPE, path, real.types_text(), mock.types_text())
        return
    if JsonType.OBJECT in real.types and JsonType.OBJECT in mock.types:
        kind = DifferenceKind.ENVELOPE_KEYS if path == "" else DifferenceKind.FIELD_NAMES
        for key in sorted(real.fields.keys() | mock.fields.keys()):
            where = f"{path}.{key}" if path else key
            ours, theirs = real.fields.get(key), mock.fields.get(key)
            if ours is None or theirs is None:
                yield Difference(kind, where, _present(ours), _present(theirs))
            else:
                yield from _shape_differences(ours, theirs, where)
    if real.items is not None and mock.items is not None:
        yield from _shape_differences(real.items, mock.items, f"{path}[*]")


def _types_agree(real: set[JsonType], mock: set[JsonType]) -> bool:
    """The same JSON types; `null` beside another type on both sides is data (a
    description set on one workflow and not another), not a difference. `null`
    alone against a type is one: a client reads one and gets the other."""
    ours, theirs = real - {JsonType.NULL}, mock - {JsonType.NULL}
    if ours and theirs:
        return ours == theirs
    return real == mock


def _compare_polls(
    real: ProbeRun, mock: ProbeRun, mock_status_names: Collection[str]
) -> list[Difference]:
    """A task polled to its end on both sides: the final answers compared as any
    answer plus their status names, and the first answers of the task still running
    (when both sides had one) by shape. When only one side's task ended, that is the
    difference, and only the running answers are compared (a running answer against
    an ended one differs by nature: `result` is null until the end). Every status the
    real service named is checked against the names the mock answers."""
    assert real.last is not None and mock.last is not None
    differences = []
    if real.unfinished != mock.unfinished:
        differences.append(
            Difference(DifferenceKind.TASK_END, "data.status", _ending(real), _ending(mock))
        )
    elif not real.unfinished:
        differences.extend(compare_answers(real.last, mock.last))
        final_real, final_mock = real.last.task_status(), mock.last.task_status()
        if final_real != final_mock:
            differences.append(
                Difference(
                    DifferenceKind.STATUS_NAME,
                    "data.status",
                    _value(final_real),
                    _value(final_mock),
                )
            )
    running_real = [a for a in real.answers if a is not real.last or real.unfinished]
    running_mock = [a for a in mock.answers if a is not mock.last or mock.unfinished]
    if running_real and running_mock:
        seen = {(d.kind, d.path) for d in differences}
        for difference in compare_answers(running_real[0], running_mock[0]):
            if (difference.kind, difference.path) not in seen:
                differences.append(difference)
    final_name = None if real.unfinished else real.last.task_status()
    named = {answer.task_status() for answer in real.answers} - {final_name}
    for status in sorted(name for name in named if name and name not in mock_status_names):
        differences.append(
            Difference(
                DifferenceKind.STATUS_NAME,
                "data.status",
                _value(status),
                "never answered (its names: " + ", ".join(sorted(mock_status_names)) + ")",
            )
        )
    return differences


def _ending(run: ProbeRun) -> str:
    status = run.last.task_status() if run.last else None
    polls = len(run.answers)
    if run.unfinished:
        return f"still {_value(status)} after {polls} polls"
    return f"ended {_value(status)} after {polls} polls"


def _summary(answer: Answer | None) -> str:
    if answer is None:
        return "nothing"
    if answer.problem:
        return answer.problem
    return f"{_http_status(answer)}, {_body_format(answer)}"


def _http_status(answer: Answer) -> str:
    if answer.location:
        return f"HTTP {answer.http_status} to {answer.location}"
    return f"HTTP {answer.http_status}"


def _body_format(answer: Answer) -> str:
    if answer.is_json_object:
        return "a JSON object"
    if answer.body is not None:
        return f"JSON {shape_of(answer.body).types_text()}, not an object"
    return f"not JSON: {answer.excerpt!r}" if answer.excerpt else "an empty body"


def _value(value: object) -> str:
    return ABSENT if value is None else repr(value)


def _present(shape: Shape | None) -> str:
    return ABSENT if shape is None else shape.types_text()


def _or(names: set[str]) -> str:
    return " or ".join(sorted(names))
