"""Items made to fail on purpose: a `fail_items` fault rule, carried by the request
or the task it created, as a veto over each item before it is imported."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mockserver.domain.items import ItemFailure, PreparedItem
from mockserver.domain.queries import RegexBudget

#: Decides, before an item is imported, that it fails anyway.
ItemVeto = Callable[[PreparedItem], ItemFailure | None]


@dataclass(frozen=True, slots=True)
class ItemFailurePlan:
    """Items whose matching value (their key, else their email) matches `pattern`
    fail with `error` / `error_text`. `rule` names the fault rule it came from."""

    rule: str
    pattern: str
    error: int
    error_text: str

    def to_doc(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "pattern": self.pattern,
            "error": self.error,
            "error_text": self.error_text,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ItemFailurePlan:
        return cls(doc["rule"], doc["pattern"], doc["error"], doc["error_text"])


def item_veto(plans: Sequence[ItemFailurePlan]) -> ItemVeto | None:
    """The veto of a request's or a task's item-failure plans (None when it has none)."""
    if not plans:
        return None
    # Run by `regex` under the `custom_request` time bound (one budget per request or
    # task step): a match cut short counts as no match, logged once.
    budget = RegexBudget("fail_items pattern", slashed=False)
    failures = [(plan.pattern, ItemFailure(plan.error, plan.error_text)) for plan in plans]

    def veto(item: PreparedItem) -> ItemFailure | None:
        value = item.key.describe() if item.key is not None else item.fields.get("email") or ""
        for pattern, failure in failures:
            if budget.search(pattern, value):
                return failure
        return None

    return veto
