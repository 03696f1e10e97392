"""Fault injection: rules that make the mock misbehave on purpose (SPEC §6).

A rule matches on vendor method, account, token and workflow_id, then on a
count (`after` N matching requests, at most `times` N) or a probability drawn
from the server's one seeded RNG, so the same `--seed` fires the same
sequence. Its action is one of `FaultAction`. This module decides *whether*
and *which* rules fire; the router and the task engine carry the action out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from random import Random
from typing import Any

from mockserver.domain.queries import check_pattern
from mockserver.errors import text_for_code


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

#: Actions that answer instead of the handler (the request is not processed).
ANSWERING_ACTIONS = frozenset({FaultAction.ERROR, FaultAction.RATE_LIMIT})
#: Actions carried by the task the request creates.
TASK_ACTIONS = frozenset({FaultAction.FAIL_TASK, FaultAction.FAIL_ITEMS})


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

    def task_plan(self) -> dict[str, Any]:
        """What a task carries for FAIL_TASK / FAIL_ITEMS (persisted with the task)."""
        plan: dict[str, Any] = {
            "rule": self.id,
            "action": self.action.value,
            "error": self.error,
            "error_text": self.text,
        }
        if self.action is FaultAction.FAIL_TASK:
            plan["at_progress"] = self.at_progress
        else:
            plan["pattern"] = self.pattern or ""
        return plan

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


class FaultBook:
    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, spec: Mapping[str, Any]) -> FaultRule:
        """A rule from its (schema-checked) control-API description."""
        match = spec.get("match") or {}
        delay = spec.get("delay_ms", 0)
        low, high = (delay, delay) if isinstance(delay, int | float) else (delay[0], delay[1])
        rule = FaultRule(
            id=f"fault_{self._next_id}",
            action=FaultAction(spec["action"]),
            method=match.get("method"),
            account=match.get("account"),
            token=match.get("token"),
            workflow_id=match.get("workflow_id"),
            trigger_id=match.get("trigger_id"),
            after=spec.get("after", 0),
            times=spec.get("times"),
            probability=spec.get("probability"),
            error=spec.get("error", DEFAULT_CODES.get(spec["action"], 500)),
            error_text=spec.get("error_text"),
            error_debug=spec.get("error_debug"),
            http_status=spec.get("http_status"),
            delay_ms=(float(low), float(max(low, high))),
            retry_after=spec.get("retry_after", 1),
            when=spec.get("when", "before"),
            at_progress=spec.get("at_progress", 0),
            pattern=spec.get("pattern"),
        )
        if rule.pattern is not None:
            check_pattern(rule.pattern, "pattern")  # checked by the caller; fail loudly if not
        self._next_id += 1
        self._rules.append(rule)
        return rule

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
        self._rules = [
            rule for rule in self._rules if rule.account != account and rule.token not in aimed
        ]
