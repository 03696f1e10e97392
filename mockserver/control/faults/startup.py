"""Fault rules set at start (`--faults FILE`): a service container is configured by
its environment, before any test could post a rule.

The file holds a list of rules, each exactly what `POST /_mock/faults` takes (or
an object `{"faults": [...]}`). Each is checked with the same schema and added
through the same `FaultBook.add` as the control API, so a file and a request
refuse the same rules with the same words; the first problem stops the start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from mockserver.control.faults.rules import FaultBook
from mockserver.domain.values import json_type
from mockserver.errors import InvalidRequest
from mockserver.schemas import SchemaSet

#: The schema `POST /_mock/faults` checks a rule with.
FAULT_SCHEMA = "control/fault"


class FaultFileError(ValueError):
    """The faults file cannot be used; the message names the file, the rule and the field."""


def load_fault_file(path: str, book: FaultBook, schemas: SchemaSet) -> int:
    """Add the file's rules to `book` and keep them as its start-up rules; how many."""
    rules = _read_rules(path)
    schema = schemas[FAULT_SCHEMA]
    for index, rule in enumerate(rules):
        try:
            schema.check(rule)
            book.add(rule)
        except InvalidRequest as problem:
            raise FaultFileError(f"faults file {path}: rule {index}: {problem.debug}") from None
    book.keep_as_startup()
    return len(rules)


def _read_rules(path: str) -> list[Any]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FaultFileError(f"faults file {path}: cannot be read: {exc.strerror or exc}") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FaultFileError(f"faults file {path}: not valid JSON: {exc}") from None
    if isinstance(document, dict) and set(document) == {"faults"}:
        document = document["faults"]
    if not isinstance(document, list):
        raise FaultFileError(
            f"faults file {path}: expected a list of fault rules or "
            f'{{"faults": [...]}}, got {json_type(document)}'
        )
    return document
