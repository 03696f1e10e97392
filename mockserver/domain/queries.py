"""`custom_request`: a MongoDB query on profile fields, run by `mongoquery`.

The query is checked once, at request time, so a bad operator is a clear
request-level 400 rather than a failure of every item.

`$regex` (pick, README "Behaviour picks"): a pattern is refused at request
time when it is over MAX_PATTERN_CHARS long or nests an unbounded quantifier
inside a repeated group (`(a+)+`, `(\\w+\\s?)*`: the shapes that backtrack
exponentially). What passes is evaluated by the `regex` library, which can
stop a match: one match gets MATCH_TIMEOUT_SECONDS and one query (a request,
or a task step) QUERY_REGEX_SECONDS in all; a match cut short counts as no
match and is logged. So a hostile pattern costs a bounded time, never a hung
server.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mongoquery import Query, QueryError

from mockserver.domain.profiles import Profile, query_view
from mockserver.domain.values import ValueProblem, json_type

if TYPE_CHECKING:
    import regex

log = logging.getLogger(__name__)

#: The operators mongoquery evaluates. `$where` (code), `$text` (a text index)
#: and `$options` are MongoDB features it does not implement: refused.
SUPPORTED_OPERATORS = frozenset(
    {
        "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
        "$and", "$or", "$nor", "$not", "$exists", "$type", "$mod", "$regex",
        "$all", "$elemMatch", "$size", "$comment",
    }
)  # fmt: skip

#: Operators whose operand MongoDB requires to be an array (it refuses `{"$in": 5}`
#: with "$in needs an array"; mongoquery would match nothing, silently).
ARRAY_OPERATORS = frozenset({"$in", "$nin", "$all", "$and", "$or", "$nor"})
#: ... a nonempty array of objects (each a query),
LOGICAL_OPERATORS = frozenset({"$and", "$or", "$nor"})
#: ... and an object (`$not` a nonempty one; it may also take a regular expression,
#: which JSON cannot carry).
OBJECT_OPERATORS = frozenset({"$not", "$elemMatch"})

MAX_PATTERN_CHARS = 512
MATCH_TIMEOUT_SECONDS = 0.05
QUERY_REGEX_SECONDS = 1.0

#: mongoquery's `/pattern/flags` form of a `$regex` string.
_SLASHED = re.compile(r"\A/(.+)/([imsx]{,4})\Z", flags=re.DOTALL)


def check_query(query: Any, where: str = "custom_request") -> None:
    """Raise ValueProblem naming the first unsupported part of the query."""
    if isinstance(query, Mapping):
        for key, value in query.items():
            here = f"{where}.{key}"
            if isinstance(key, str) and key.startswith("$"):
                if key not in SUPPORTED_OPERATORS:
                    raise ValueProblem(f"{here}: operator {key} is not supported")
                _check_operand(key, value, here)
            check_query(value, here)
    elif isinstance(query, list):
        for i, entry in enumerate(query):
            check_query(entry, f"{where}[{i}]")


def _check_operand(operator: str, value: Any, where: str) -> None:
    """The operand shapes MongoDB itself refuses (evaluated anyway, they would select
    nothing or everything, or fail inside the query library), and `$regex`'s guard."""
    if operator in ARRAY_OPERATORS and not isinstance(value, list):
        raise ValueProblem(f"{where}: {operator} needs an array, got {json_type(value)}")
    if operator in LOGICAL_OPERATORS:
        if not value:
            raise ValueProblem(f"{where}: {operator} needs a nonempty array")
        for n, entry in enumerate(value):
            if not isinstance(entry, Mapping):
                raise ValueProblem(f"{where}[{n}]: expected an object, got {json_type(entry)}")
    if operator in OBJECT_OPERATORS and not isinstance(value, Mapping):
        raise ValueProblem(f"{where}: {operator} needs an object, got {json_type(value)}")
    if operator == "$not" and not value:
        raise ValueProblem(f"{where}: $not needs a nonempty object")
    if operator == "$mod" and not _is_mod_operand(value):
        raise ValueProblem(f"{where}: $mod needs [divisor, remainder], a nonzero divisor")
    if operator == "$size" and (type(value) is not int or value < 0):
        raise ValueProblem(f"{where}: $size needs a whole number, got {json_type(value)}")
    if operator == "$regex":
        _check_regex(value, where)


def _is_mod_operand(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(n, int | float) and not isinstance(n, bool) for n in value)
        and value[0] != 0
    )


def _check_regex(pattern: Any, where: str) -> None:
    if not isinstance(pattern, str):
        raise ValueProblem(f"{where}: expected a string pattern")
    body, flags = _split(pattern)
    check_pattern(pattern, where, body, flags)


def check_pattern(pattern: str, where: str, body: str | None = None, flags: str = "") -> None:
    """The `$regex` guard, for any pattern `regex` runs (a `fail_items` fault's too):
    ValueProblem naming `where` for a pattern over MAX_PATTERN_CHARS, one that does
    not compile, or one with an unbounded quantifier inside a repeated group.
    `body` and `flags`: the pattern as `/body/flags` gave them (else the pattern)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueProblem(
            f"{where}: pattern of {len(pattern)} characters, at most {MAX_PATTERN_CHARS}"
        )
    if body is None:
        body = pattern
    try:
        _compiled(body, flags)
    except (ValueError, OverflowError):
        try:  # Python's own wording, which names the problem more plainly
            re.compile(body, _re_flags(flags))
        except (re.error, ValueError, OverflowError) as exc:
            raise ValueProblem(f"{where}: invalid regular expression: {exc}") from None
        raise ValueProblem(f"{where}: invalid regular expression") from None
    if _nests_unbounded_quantifier(body, flags):
        raise ValueProblem(
            f"{where}: an unbounded quantifier inside a repeated group (like (a+)+) "
            "can take exponential time: refused"
        )


def _split(pattern: str) -> tuple[str, str]:
    """`/body/flags` (mongoquery's form) or a bare body."""
    slashed = _SLASHED.match(pattern)
    return (slashed.group(1), slashed.group(2)) if slashed else (pattern, "")


@functools.lru_cache(maxsize=256)
def _compiled(body: str, flags: str) -> regex.Pattern[str]:
    """The pattern compiled by `regex`; ValueError when it does not compile.
    `regex` is imported on the first pattern (~15 ms of start-up otherwise)."""
    import regex

    options = 0
    for flag in flags:
        options |= getattr(regex, flag.upper())
    try:
        return regex.compile(body, options)
    except regex.error as exc:
        raise ValueError(str(exc)) from None


def _re_flags(flags: str) -> int:
    options = 0
    for flag in flags:
        options |= getattr(re, flag.upper())
    return options


def _nests_unbounded_quantifier(body: str, flags: str) -> bool:
    """True for `(a+)+`-shaped patterns, read with Python's own pattern parser.

    A pattern that parser does not read (syntax only `regex` knows) is left
    to the time bound.
    """
    try:  # Python has no public pattern parser; these are its own modules
        from re import _constants as op  # type: ignore[attr-defined]
        from re import _parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - a Python without them
        return False
    try:
        tree = _parser.parse(body, _re_flags(flags))
    except (re.error, ValueError, OverflowError, RecursionError):
        return False

    def parts(code: Any, argument: Any) -> list[Any]:
        """The sub-patterns of one parsed node (none for a leaf)."""
        if code is op.SUBPATTERN:
            return [argument[3]]
        if code is op.BRANCH:
            return list(argument[1])
        if code in (op.ASSERT, op.ASSERT_NOT):
            return [argument[1]]
        if code is op.GROUPREF_EXISTS:
            return [branch for branch in argument[1:] if branch is not None]
        return []

    def nested(items: Any, repeated: bool) -> bool:
        for code, argument in items:
            if code in (op.MAX_REPEAT, op.MIN_REPEAT):
                _low, high, inner = argument
                if (repeated and high == op.MAXREPEAT) or nested(inner, repeated or high > 1):
                    return True
            elif any(nested(part, repeated) for part in parts(code, argument)):
                return True
        return False

    return nested(tree, False)


class RegexBudget:
    """The time one query may spend on `$regex` matches (see the module docstring).

    `what` names the patterns in the log line; `slashed=False` takes a pattern as
    it is (a `fail_items` fault's), never as mongoquery's `/body/flags`."""

    def __init__(self, what: str = "custom_request $regex", *, slashed: bool = True) -> None:
        self.left = QUERY_REGEX_SECONDS
        self.warned = False
        self.what = what
        self.slashed = slashed

    def search(self, pattern: str, text: str) -> bool:
        if self.left <= 0:
            self._warn(pattern)
            return False
        body, flags = _split(pattern) if self.slashed else (pattern, "")
        started = time.perf_counter()  # a CPU-time guard, not the mock's clock
        try:
            compiled = _compiled(body, flags)
            return compiled.search(text, timeout=min(MATCH_TIMEOUT_SECONDS, self.left)) is not None
        except TimeoutError:
            self._warn(pattern)
            return False
        except (ValueError, OverflowError):
            return False
        finally:
            self.left -= time.perf_counter() - started

    def _warn(self, pattern: str) -> None:
        if not self.warned:
            self.warned = True
            log.warning("%s %r cut short by its time bound", self.what, pattern[:80])


class _BoundedQuery(Query):
    """mongoquery's Query with `$regex` run by `regex` under a time budget."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        super().__init__(definition)
        self._budget = RegexBudget()

    def _regex(self, condition: Any, entry: Any) -> bool:  # mongoquery's `$regex` hook
        if not isinstance(entry, str) or not isinstance(condition, str):
            return False
        return self._budget.search(condition, entry)


def profile_predicate(query: Mapping[str, Any]) -> Callable[[Profile], bool]:
    """A predicate over stored profiles; a query that fails on a profile matches nothing."""
    compiled = _BoundedQuery(query)

    def matches(profile: Profile) -> bool:
        try:
            return bool(compiled.match(query_view(profile)))
        except (QueryError, TypeError, ValueError, ZeroDivisionError, NotImplementedError):
            return False

    return matches
