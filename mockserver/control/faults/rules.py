"""Fault injection: rules that make the mock misbehave on purpose (SPEC §6).

A rule matches on vendor method, account, token and workflow_id, then on a
count (`after` N matching requests, at most `times` N) or a probability drawn
from the server's one seeded RNG, so the same `--seed` fires the same
sequence. Its action is one of `FaultAction`. This module decides *whether*
and *which* rules fire; `effects` carries the HTTP actions out, and the work a
request starts gets the rest as typed plans (`plans_of`): the task engine and
the import path never see a rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from random import Random
from typing import Any
from urllib.parse import unquote

from mockserver.control.common import shown
from mockserver.domain.queries import check_pattern
from mockserver.domain.values import ValueProblem
from mockserver.errors import InvalidRequest, text_for_code
from mockserver.http.paths import method_name, unknown_method
from mockserver.importer.item_failures import ItemFailurePlan
from mockserver.tasks.model import FaultPlans, TaskFailurePlan


class FaultAction(StrEnum):
    ERROR = "error"  # an error envelope with any code and text
    DELAY = "delay"  # wait, then answer normally
    RATE_LIMIT = "rate_limit"  # HTTP 429 with Retry-After
    DROP = "drop"  # close the connection without an answer
    MALFORMED = "malformed"  # an answer that is not JSON
    TRUNCATE = "truncate"  # the real answer, cut in half
    FAIL_TASK = "fail_task"  # the task is created, then fails at a given progress
    FAIL_ITEMS = "fail_items"  # items whose matching value matches `pattern` fail


DEFAULT_CODES = {FaultAction.RATE_LIMIT: 429, FaultAction.FAIL_ITEMS: 400}


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a rule can match a vendor request on."""

    api_method: str
    account: str
    token: str
    workflow_id: int | None
    trigger_id: int | None = None


@dataclass(slots=True)
class FaultRule:
    id: str
    action: FaultAction
    method: str | None = None
    account: str | None = None
    token: str | None = None
    workflow_id: int | None = None
    trigger_id: int | None = None
    after: int = 0
    times: int | None = None
    probability: float | None = None
    error: int = 500
    error_text: str | None = None
    error_debug: str | None = None
    http_status: int | None = None
    delay_ms: tuple[float, float] = (0.0, 0.0)
    retry_after: int = 1
    when: str = "before"  # drop / malformed: before the handler runs, or after
    at_progress: int = 0
    pattern: str | None = None
    matched: int = 0
    fired: int = 0

    def applies_to(self, facts: RequestFacts) -> bool:
        return (
            (self.method is None or self.method == facts.api_method)
            and (self.account is None or self.account == facts.account)
            and (self.token is None or self.token == facts.token)
            and (self.workflow_id is None or self.workflow_id == facts.workflow_id)
            and (self.trigger_id is None or self.trigger_id == facts.trigger_id)
        )

    @property
    def text(self) -> str:
        return self.error_text if self.error_text is not None else text_for_code(self.error)

    def summary(self) -> dict[str, Any]:
        """What the journal records about a fired rule."""
        return {"id": self.id, "action": self.action.value}

    def to_public(self) -> dict[str, Any]:
        match = {
            key: value
            for key, value in (
                ("method", self.method),
                ("account", self.account),
                ("token", "…" if self.token else None),
                ("workflow_id", self.workflow_id),
                ("trigger_id", self.trigger_id),
            )
            if value is not None
        }
        return {
            "id": self.id,
            "action": self.action.value,
            "match": match,
            "after": self.after,
            "times": self.times,
            "probability": self.probability,
            "error": self.error,
            "error_text": self.text,
            "error_debug": self.error_debug,
            "http_status": self.http_status,
            "delay_ms": list(self.delay_ms),
            "retry_after": self.retry_after,
            "when": self.when,
            "at_progress": self.at_progress,
            "pattern": self.pattern,
            "matched": self.matched,
            "fired": self.fired,
        }


def plans_of(rules: Iterable[FaultRule]) -> FaultPlans:
    """What fired rules leave to the work a request starts: the first `fail_task`
    rule's failure, every `fail_items` rule's item failures."""
    task_failure = None
    item_failures = []
    for rule in rules:
        if rule.action is FaultAction.FAIL_TASK and task_failure is None:
            task_failure = TaskFailurePlan(rule.id, rule.at_progress, rule.error, rule.text)
        elif rule.action is FaultAction.FAIL_ITEMS:
            item_failures.append(
                ItemFailurePlan(rule.id, rule.pattern or "", rule.error, rule.text)
            )
    return FaultPlans(task_failure, tuple(item_failures))


def public_plans(plans: FaultPlans) -> list[dict[str, Any]]:
    """A task's plans as `GET /_mock/tasks/{id}` shows them, with their actions."""
    shown: list[dict[str, Any]] = []
    failure = plans.task_failure
    if failure is not None:
        shown.append(
            {
                "rule": failure.rule,
                "action": FaultAction.FAIL_TASK.value,
                "error": failure.error,
                "error_text": failure.error_text,
                "at_progress": failure.at_progress,
            }
        )
    shown += [
        {
            "rule": plan.rule,
            "action": FaultAction.FAIL_ITEMS.value,
            "error": plan.error,
            "error_text": plan.error_text,
            "pattern": plan.pattern,
        }
        for plan in plans.item_failures
    ]
    return shown


class FaultBook:
    def __init__(self, rng: Random, methods: Collection[str] = ()) -> None:
        self._rng = rng
        #: The vendor methods a rule may name (none given: any name is taken).
        self._methods = frozenset(methods)
        self._rules: list[FaultRule] = []
        #: The rules set at start (`--faults`), as they were then: a reset brings them back.
        self._startup: list[FaultRule] = []
        self._next_id = 1
        #: Rules fired since start, by action (removed rules' too).
        self.fired_by_action: Counter[FaultAction] = Counter()

    def add(self, spec: Mapping[str, Any]) -> FaultRule:
        """A rule from its (schema-checked) control-API description."""
        match = spec.get("match") or {}
        method = _matched_method(match)
        if method is not None and self._methods and method not in self._methods:
            # A rule that can never fire: refused, as `--latency` refuses the name.
            raise InvalidRequest(f"match.method: {unknown_method(method, self._methods)}")
        after, times = spec.get("after", 0), spec.get("times")
        if "nth" in spec:  # SPEC §6's word for it: the nth matching request
            if "after" in spec:
                raise InvalidRequest("nth: give nth or after, not both (nth is after + 1)")
            if "probability" in spec:  # a draw could only move it past the nth
                raise InvalidRequest("nth: fires on the nth match, not with a probability")
            after, times = spec["nth"] - 1, 1 if times is None else times
        delay = spec.get("delay_ms", 0)
        low, high = (delay, delay) if isinstance(delay, int | float) else (delay[0], delay[1])
        if low > high:  # as `--latency` refuses it: a range is [lowest, highest]
            raise InvalidRequest(
                f"delay_ms: the lower bound {low:g} ms is above the upper {high:g} ms"
            )
        rule = FaultRule(
            id=f"fault_{self._next_id}",
            action=FaultAction(spec["action"]),
            method=method,
            account=match.get("account"),
            token=match.get("token"),
            workflow_id=match.get("workflow_id"),
            trigger_id=match.get("trigger_id"),
            after=after,
            times=times,
            probability=spec.get("probability"),
            error=spec.get("error", DEFAULT_CODES.get(spec["action"], 500)),
            error_text=spec.get("error_text"),
            error_debug=spec.get("error_debug"),
            http_status=spec.get("http_status"),
            delay_ms=(float(low), float(high)),
            retry_after=spec.get("retry_after", 1),
            when=spec.get("when", "before"),
            at_progress=spec.get("at_progress", 0),
            pattern=spec.get("pattern"),
        )
        if rule.pattern is not None:
            # The guard `custom_request`'s `$regex` has: no pattern that can backtrack
            # without end (`(a+)+`), none over 512 characters, none that does not compile.
            try:
                check_pattern(rule.pattern, "pattern")
            except ValueProblem as problem:
                raise InvalidRequest(str(problem)) from None
        self._next_id += 1
        self._rules.append(rule)
        return rule

    def __bool__(self) -> bool:
        """Whether any rule is set (a request checks none when none is)."""
        return bool(self._rules)

    def fire(self, facts: RequestFacts) -> list[FaultRule]:
        """Rules that fire for this request, in the order they were added."""
        fired = []
        for rule in self._rules:
            if not rule.applies_to(facts):
                continue
            rule.matched += 1
            if rule.matched <= rule.after:
                continue
            if rule.times is not None and rule.fired >= rule.times:
                continue
            if rule.probability is not None and self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            self.fired_by_action[rule.action] += 1
            fired.append(rule)
        return fired

    def delay_seconds(self, rule: FaultRule) -> float:
        low, high = rule.delay_ms
        return (low if high == low else self._rng.uniform(low, high)) / 1000.0

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def get(self, rule_id: str) -> FaultRule | None:
        return next((rule for rule in self._rules if rule.id == rule_id), None)

    def remove(self, rule_id: str) -> bool:
        before = len(self._rules)
        self._rules = [rule for rule in self._rules if rule.id != rule_id]
        return len(self._rules) < before

    def clear(self, account: str | None = None, tokens: Iterable[str] = ()) -> None:
        """Remove every rule, or those aimed at one account (by name or by its tokens)."""
        if account is None:
            self._rules.clear()
            return
        aimed = set(tokens)
        self._rules = [rule for rule in self._rules if not _aimed_at(rule, account, aimed)]

    def keep_as_startup(self) -> None:
        """The rules set now are the start-up rules (`--faults`), which a reset restores."""
        self._startup = [replace(rule, matched=0, fired=0) for rule in self._rules]

    @property
    def startup_count(self) -> int:
        return len(self._startup)

    def restore(self, account: str | None = None, tokens: Iterable[str] = ()) -> None:
        """A reset: the rules go (every one, or those aimed at one account, by name or
        by its tokens) and the start-up rules among them come back, as a reset brings
        the fixtures back: first in the list, with their ids, their counts at zero."""
        if account is None:
            self._rules = [replace(rule) for rule in self._startup]
            return
        aimed = set(tokens)
        self.clear(account, aimed)
        live = {rule.id: rule for rule in self._rules}
        back = []
        for start in self._startup:
            if _aimed_at(start, account, aimed):
                back.append(replace(start))
            elif start.id in live:  # another account's: as it is (unless it was deleted)
                back.append(live.pop(start.id))
        self._rules = back + list(live.values())


def _aimed_at(rule: FaultRule, account: str, tokens: set[str]) -> bool:
    return rule.account == account or rule.token in tokens


def _matched_method(match: Mapping[str, Any]) -> str | None:
    """The vendor method a rule's `match` names, by `method` or by its `path`."""
    method = match.get("method")
    if "path" not in match:
        return method
    # The path as the server routes it: percent-escapes decoded, no query (it is
    # not part of a method's path, and may hold a token).
    path = unquote(match["path"].partition("?")[0].partition("#")[0]).strip()
    by_path = method_name(path)
    if by_path is None:
        raise InvalidRequest(
            f"match.path: {shown(path)} is not a vendor method's path (/api/v1.1/<method>)"
        )
    if method is not None and method != by_path:
        raise InvalidRequest(f"match.path: names {by_path}, match.method names {method}")
    return by_path
