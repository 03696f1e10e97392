"""The shape of a JSON answer: what a client relies on, without the values that
legitimately differ between two accounts (ids, timestamps, counts, names).

A shape keeps, per path, the JSON types seen, the member names of objects, the
union of every element of an array (a list of 1 workflow and a list of 300 have
the same shape when their workflows do), and for identifiers the *shape class* of
the value: `integer`, `<digits>`, `<uuid>`, `task_<uuid>`, `<hex24>`, never the id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class JsonType(StrEnum):
    NULL = "null"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    ARRAY = "array"
    OBJECT = "object"


def json_type(value: Any) -> JsonType:
    if value is None:
        return JsonType.NULL
    if isinstance(value, bool):  # before int: True is an int in Python
        return JsonType.BOOLEAN
    if isinstance(value, int):
        return JsonType.INTEGER
    if isinstance(value, float):
        return JsonType.NUMBER
    if isinstance(value, str):
        return JsonType.STRING
    if isinstance(value, list):
        return JsonType.ARRAY
    return JsonType.OBJECT


def is_id_key(key: str) -> bool:
    """Members that hold identifiers: `id`, `task_id`, `profile_id`, `list_id`, ..."""
    return key == "id" or key.endswith("_id")


#: The bodies of identifiers worth telling apart (the vendor's profile ids are 24
#: lowercase hex, its task ids uuids; `task_`-prefixed ids appear in its docs too).
_ID_BODIES = (
    (
        "<uuid>",
        re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    ),
    ("<hex24>", re.compile(r"[0-9a-f]{24}")),
    ("<digits>", re.compile(r"[0-9]+")),
    ("<hex>", re.compile(r"[0-9a-fA-F]+")),
)
_PREFIX = re.compile(r"([A-Za-z]+[_\-:])(.+)", re.S)


def id_shape(value: Any) -> str:
    """The shape class of an identifier: `integer`, `null`, or for a string its
    body class (`<uuid>`, `<hex24>`, `<digits>`), after a word prefix when it has
    one (`task_<uuid>`); any other string is `<string>`."""
    if not isinstance(value, str):
        return str(json_type(value))
    whole = _body_class(value)
    if whole is not None:
        return whole
    match = _PREFIX.fullmatch(value)
    if match is not None and match.group(1):
        body = _body_class(match.group(2))
        if body is not None:
            return match.group(1) + body
    return "<string>"


def _body_class(text: str) -> str | None:
    for name, pattern in _ID_BODIES:
        if pattern.fullmatch(text):
            return name
    return None


@dataclass(slots=True)
class Shape:
    """What was seen at one path of an answer (or of every element of a list)."""

    types: set[JsonType] = field(default_factory=set)
    fields: dict[str, Shape] = field(default_factory=dict)
    items: Shape | None = None  # None: no element seen (an empty list, or no list)
    ids: set[str] = field(default_factory=set)  # id shapes, for id members only

    def absorb(self, value: Any, *, holds_id: bool = False) -> Shape:
        """Add one value seen at this path; returns self."""
        kind = json_type(value)
        self.types.add(kind)
        if holds_id:
            self.ids.add(id_shape(value))
        if kind is JsonType.OBJECT:
            for key, member in value.items():
                self.fields.setdefault(key, Shape()).absorb(member, holds_id=is_id_key(key))
        elif kind is JsonType.ARRAY:
            for element in value:
                if self.items is None:
                    self.items = Shape()
                self.items.absorb(element, holds_id=holds_id)
        return self

    def types_text(self) -> str:
        return " or ".join(sorted(self.types)) or "nothing"


def shape_of(value: Any) -> Shape:
    return Shape().absorb(value)
