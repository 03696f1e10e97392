"""`altcraft-mock repair --db PATH`: rebuild a store the server refused to load.

The server never rewrites files it refused; this command does, after keeping
a copy of both (`<db>.broken-<time>` and `<db>.log.broken-<time>`). It reads
what can be read: the snapshot's tables (or nothing, when the snapshot itself
is unreadable), then every log line that parses, skipping the others, and
writes a fresh snapshot of the next generation with an empty log.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mockserver.store.storage import (
    GENERATION,
    STORE_TABLE,
    ChangeLog,
    SnapshotFile,
    StoreLock,
    changes_problem,
    check_store_path,
    snapshot_payload,
    tables_problem,
)


@dataclass(slots=True)
class RepairReport:
    copies: list[Path] = field(default_factory=list)
    snapshot_problem: str | None = None
    replayed_lines: int = 0
    skipped_lines: list[int] = field(default_factory=list)
    stale_log: bool = False

    def lines(self) -> list[str]:
        said = [f"kept a copy: {copy}" for copy in self.copies]
        if self.snapshot_problem:
            said.append(f"snapshot unreadable ({self.snapshot_problem}): started from empty")
        if self.stale_log:
            said.append("log of an earlier snapshot: not replayed (its changes are in it)")
        said.append(f"replayed {self.replayed_lines} log line(s)")
        if self.skipped_lines:
            shown = ", ".join(map(str, self.skipped_lines[:20]))
            said.append(f"skipped {len(self.skipped_lines)} unreadable line(s): {shown}")
        return said


def repair(path: Path) -> RepairReport:
    """Rebuild the store at `path` from what can be read; keeps copies first."""
    path = check_store_path(path)
    lock = StoreLock(path)
    try:
        report = RepairReport()
        change_log = ChangeLog(path)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for source in (path, change_log.path):
            if source.exists():
                copy = source.with_name(f"{source.name}.broken-{stamp}")
                shutil.copy2(source, copy)
                report.copies.append(copy)
        data, generation = _readable_snapshot(path, report)
        if change_log.path.exists():
            _replay_readable(change_log.path, data, generation, report)
        SnapshotFile(path).write(snapshot_payload(data, (generation or 0) + 1))
        change_log.start((generation or 0) + 1)
        return report
    finally:
        lock.release()


def _readable_snapshot(path: Path, report: RepairReport) -> tuple[dict[str, Any], int | None]:
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        report.snapshot_problem = "missing"
        return {}, None
    except orjson.JSONDecodeError as exc:
        report.snapshot_problem = f"not valid JSON: {exc}"
        return {}, None
    problem = tables_problem(data)
    if problem is not None:
        report.snapshot_problem = problem
        return {}, None
    own = data.pop(STORE_TABLE, None) or {}
    generation = (own.get("1") or {}).get(GENERATION)
    return data, generation if isinstance(generation, int) else None


def _replay_readable(
    log_path: Path, data: dict[str, Any], generation: int | None, report: RepairReport
) -> None:
    for number, line in enumerate(log_path.read_bytes().split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            changes = orjson.loads(line)
        except orjson.JSONDecodeError:
            report.skipped_lines.append(number)
            continue
        if number == 1 and isinstance(changes, dict) and list(changes) == [GENERATION]:
            if changes[GENERATION] != generation:
                report.stale_log = True
                return
            continue
        if changes_problem(changes) is not None:
            report.skipped_lines.append(number)
            continue
        for table, docs in changes.items():
            for doc_id, doc in docs.items():
                if doc is None:
                    data.setdefault(table, {}).pop(doc_id, None)
                else:
                    data.setdefault(table, {})[doc_id] = doc
        report.replayed_lines += 1
