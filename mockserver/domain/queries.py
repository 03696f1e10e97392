"""`custom_request`: a MongoDB query on profile fields, run by `mongoquery`.

The query is checked once, at request time, so a bad operator is a clear
request-level 400 rather than a failure of every item.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from mongoquery import Query, QueryError

from mockserver.domain.profiles import Profile, query_view
from mockserver.domain.values import ValueProblem

#: The operators mongoquery evaluates. `$where` (code), `$text` (a text index)
#: and `$options` are MongoDB features it does not implement: refused.
SUPPORTED_OPERATORS = frozenset(
    {
        "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
        "$and", "$or", "$nor", "$not", "$exists", "$type", "$mod", "$regex",
        "$all", "$elemMatch", "$size", "$comment",
    }
)  # fmt: skip


def check_query(query: Any, where: str = "custom_request") -> None:
    """Raise ValueProblem naming the first unsupported part of the query."""
    if isinstance(query, Mapping):
        for key, value in query.items():
            here = f"{where}.{key}"
            if isinstance(key, str) and key.startswith("$"):
                if key not in SUPPORTED_OPERATORS:
                    raise ValueProblem(f"{here}: operator {key} is not supported")
                if key == "$regex":
                    _check_regex(value, here)
            check_query(value, here)
    elif isinstance(query, list):
        for i, entry in enumerate(query):
            check_query(entry, f"{where}[{i}]")


def _check_regex(pattern: Any, where: str) -> None:
    if not isinstance(pattern, str):
        raise ValueProblem(f"{where}: expected a string pattern")
    body = re.match(r"\A/(.+)/([imsx]{,4})\Z", pattern, flags=re.DOTALL)
    try:
        re.compile(body.group(1) if body else pattern)
    except re.error as exc:
        raise ValueProblem(f"{where}: invalid regular expression: {exc}") from None


def profile_predicate(query: Mapping[str, Any]) -> Callable[[Profile], bool]:
    """A predicate over stored profiles; a query that fails on a profile matches nothing."""
    compiled = Query(query)

    def matches(profile: Profile) -> bool:
        try:
            return bool(compiled.match(query_view(profile)))
        except (QueryError, TypeError, ValueError, ZeroDivisionError, NotImplementedError):
            return False

    return matches
