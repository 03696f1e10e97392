"""Sum the figures the reliability tests wrote, for RELIABILITY.md.

    RELIABILITY_FIGURES=/tmp/figures.jsonl python -m pytest tests/reliability
    python -m tests.reliability.report /tmp/figures.jsonl

Lines of the same test (one per pytest-xdist worker, or per parametrised case)
are added up where they count things and listed where they do not.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Any


def merge(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = defaultdict(dict)
    for line in lines:
        figures = merged[line.pop("test")]
        for name, value in line.items():
            if isinstance(value, int) and not isinstance(value, bool) and name in figures:
                if name in ("examples_per_operation", "seed", "profiles", "bound"):
                    continue  # settings, not counts
                figures[name] += value
            elif name in figures and figures[name] != value:
                figures[name] = (
                    [*figures[name], value]
                    if isinstance(figures[name], list)
                    else [figures[name], value]
                )
            else:
                figures[name] = value
    return dict(merged)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as source:
        lines = [json.loads(line) for line in source if line.strip()]
    for test, figures in sorted(merge(lines).items()):
        shown = ", ".join(
            f"{name} {json.dumps(value, ensure_ascii=False)}" for name, value in figures.items()
        )
        print(f"{test}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
