"""The drift report: side by side as text, or as JSON for CI.

The JSON report has one shape whatever happened (`REPORT_FORMAT` names it):
every probe with both sides' summaries and its differences, and a summary with
a count for every difference kind (zero included), so a CI step can read
`summary.by_kind.http_status` without checking that the key exists.

Tokens are never shown: everything this module writes goes through a
`Redactor` that replaces each secret by its masked form (`abcd…`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mockserver.control.journal.masking import mask_token
from mockserver.drift.compare import Difference, DifferenceKind
from mockserver.drift.exchange import Answer, ProbeRun

REPORT_FORMAT = "altcraft-mock-drift/1"
SIDE_CHARS = 48  # a side's summary in the table, at most


class Redactor:
    """Replaces every secret in a text by its masked form, where it stands as a
    word of its own (a short token such as `x` must not eat the `x` of
    `error_text`); `json_values` masks a JSON document's strings, never its keys."""

    def __init__(self, secrets: Iterable[str]) -> None:
        found = {secret for secret in secrets if secret.strip()}
        # The JSON-escaped form too (a token with a quote or a backslash in it).
        escaped = {json.dumps(secret)[1:-1] for secret in found}
        ordered = sorted(found | escaped, key=len, reverse=True)
        self._patterns = [
            (
                re.compile(rf"(?<![A-Za-z0-9_]){re.escape(secret)}(?![A-Za-z0-9_])"),
                mask_token(secret),
            )
            for secret in ordered
        ]

    def __call__(self, text: str) -> str:
        for pattern, masked in self._patterns:
            # A function, not a replacement string: the masked form is taken as it is.
            text = pattern.sub(functools.partial(_constant, masked), text)
        return text

    def json_values(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {key: self.json_values(entry) for key, entry in value.items()}
        if isinstance(value, list):
            return [self.json_values(entry) for entry in value]
        return value


def _constant(text: str, _match: re.Match[str]) -> str:
    return text


@dataclass(frozen=True, slots=True)
class ProbeComparison:
    real: ProbeRun
    mock: ProbeRun
    differences: tuple[Difference, ...]

    @property
    def skipped(self) -> str | None:
        """Why the probe was not sent at all (to either side)."""
        if self.real.not_sent and self.mock.not_sent:
            return self.real.not_sent
        return None


@dataclass(frozen=True, slots=True)
class Report:
    real_url: str
    mock_version: str
    db_id: int | None
    workflow_id: int | None
    workflow_db_id: int | None
    allow_writes: bool
    comparisons: tuple[ProbeComparison, ...]

    @property
    def differences(self) -> list[Difference]:
        return [d for comparison in self.comparisons for d in comparison.differences]

    @property
    def exit_status(self) -> int:
        return 1 if self.differences else 0

    def by_kind(self) -> dict[str, int]:
        counts = {kind.value: 0 for kind in DifferenceKind}
        for difference in self.differences:
            counts[difference.kind.value] += 1
        return counts


# -- JSON ------------------------------------------------------------------------------


def json_report(report: Report) -> dict[str, Any]:
    compared = [c for c in report.comparisons if c.skipped is None]
    return {
        "format": REPORT_FORMAT,
        "real": report.real_url,
        "mock": {"version": report.mock_version},
        "ids": {
            "db_id": report.db_id,
            "workflow_id": report.workflow_id,
            "workflow_db_id": report.workflow_db_id,
        },
        "allow_writes": report.allow_writes,
        "probes": [_json_probe(comparison) for comparison in report.comparisons],
        "summary": {
            "probes": len(report.comparisons),
            "compared": len(compared),
            "skipped": len(report.comparisons) - len(compared),
            "with_differences": sum(1 for c in compared if c.differences),
            "differences": len(report.differences),
            "by_kind": report.by_kind(),
        },
        "exit_status": report.exit_status,
    }


def json_failure(message: str, real_url: str | None) -> dict[str, Any]:
    """The JSON printed when the check could not run (exit status 2)."""
    return {"format": REPORT_FORMAT, "real": real_url, "failure": message, "exit_status": 2}


def _json_probe(comparison: ProbeComparison) -> dict[str, Any]:
    probe = comparison.real.probe
    return {
        "name": probe.name,
        "method": probe.method,
        "sends": probe.sends,
        "skipped": comparison.skipped,
        "real": _json_side(comparison.real),
        "mock": _json_side(comparison.mock),
        "differences": [
            {"kind": d.kind.value, "path": d.path, "real": d.real, "mock": d.mock}
            for d in comparison.differences
        ],
    }


def _json_side(run: ProbeRun) -> dict[str, Any]:
    answer = run.last
    return {
        "not_sent": run.not_sent,
        "answers": len(run.answers),
        "http_status": answer.http_status if answer else None,
        "error": answer.error if answer else None,
        "error_text": answer.error_text if answer else None,
        "task_status": answer.task_status() if answer and run.probe.polls_task else None,
        "problem": answer.problem if answer else None,
    }


# -- text ------------------------------------------------------------------------------


def text_report(report: Report) -> str:
    lines = [
        f"altcraft-mock drift: {report.real_url} (real) against altcraft-mock "
        f"{report.mock_version} (mock, started for this check)",
        f"ids: db {_id(report.db_id)}, workflow {_id(report.workflow_id)} "
        f"(imports into db {_id(report.workflow_db_id)}); "
        f"writes {'allowed' if report.allow_writes else 'not allowed (--allow-writes)'}",
        "",
    ]
    name_width = max(len(c.real.probe.name) for c in report.comparisons)
    rows = [(c, _verdict(c), _side(c.real), _side(c.mock)) for c in report.comparisons]
    verdict_width = max(len(verdict) for _, verdict, _, _ in rows)
    real_width = max((len(real) for c, _, real, _ in rows if not c.skipped), default=4)
    lines.append(f"{'probe':<{name_width}}  {'':<{verdict_width}}  {'real':<{real_width}}  mock")
    for comparison, verdict, real, mock in rows:
        name = comparison.real.probe.name
        if comparison.skipped:
            lines.append(f"{name:<{name_width}}  {verdict}: {comparison.skipped}")
            continue
        lines.append(
            f"{name:<{name_width}}  {verdict:<{verdict_width}}  {real:<{real_width}}  {mock}"
        )
        lines.extend(_difference_lines(comparison.differences))
    lines.append("")
    lines.append(_summary_line(report))
    return "\n".join(lines)


def _verdict(comparison: ProbeComparison) -> str:
    if comparison.skipped:
        return "skipped"
    if comparison.differences:
        return _count(len(comparison.differences))
    return "same"


def _difference_lines(differences: Sequence[Difference]) -> list[str]:
    if not differences:
        return []
    kind_width = max(len(d.kind.value) for d in differences)
    path_width = max(len(d.path or "(answer)") for d in differences)
    return [
        f"    {d.kind.value:<{kind_width}}  {d.path or '(answer)':<{path_width}}  "
        f"real: {d.real}  |  mock: {d.mock}"
        for d in differences
    ]


def _side(run: ProbeRun) -> str:
    answer = run.last
    if run.not_sent:
        return f"not sent ({run.not_sent})"
    if answer is None:
        return "nothing"
    text = _answer_text(answer)
    if run.probe.polls_task:
        status = answer.task_status()
        ended = "unfinished" if run.unfinished else "ended"
        text += f"; {ended} {status!r} after {_count(len(run.answers), 'poll')}"
    return text


def _answer_text(answer: Answer) -> str:
    if answer.problem:  # in full on the difference's line
        return answer.problem if len(answer.problem) <= SIDE_CHARS else "no answer"
    if not answer.is_json_object:
        return f"HTTP {answer.http_status} not JSON"
    return f"HTTP {answer.http_status}, error {answer.error} {answer.error_text}"


def _summary_line(report: Report) -> str:
    compared = [c for c in report.comparisons if c.skipped is None]
    skipped = len(report.comparisons) - len(compared)
    skipped_text = f"; {skipped} skipped" if skipped else ""
    differences = report.differences
    if not differences:
        return f"no differences in {len(compared)} probes{skipped_text}"
    kinds = ", ".join(f"{kind} {n}" for kind, n in report.by_kind().items() if n)
    with_differences = sum(1 for c in compared if c.differences)
    return (
        f"{_count(len(differences))} in {with_differences} of {len(compared)} probes "
        f"({kinds}){skipped_text}"
    )


def _count(n: int, word: str = "difference") -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _id(value: int | None) -> str:
    return "none" if value is None else str(value)
