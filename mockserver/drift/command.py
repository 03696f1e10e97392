"""`altcraft-mock drift`: the probe set sent to the real service and to a mock
started for the check with the same ids, and the report of what differs."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import traceback
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from mockserver import package_version
from mockserver.config import (
    DEFAULT_MAX_BODY_BYTES,
    ConfigError,
    Settings,
    add_arguments,
    load_settings,
)
from mockserver.drift.account import AccountIds, fixture_document, resolve_ids
from mockserver.drift.compare import compare_runs
from mockserver.drift.exchange import (
    ENDED_WORDS,
    Answer,
    PollBounds,
    ProbeRun,
    Sender,
    Target,
    Unreachable,
    client_session,
    run_probes,
)
from mockserver.drift.probes import PROBES, ProbeContext
from mockserver.drift.report import (
    ProbeComparison,
    Redactor,
    Report,
    json_failure,
    json_report,
    text_report,
)
from mockserver.testing import MockServerProcess

OVER_LIMIT_MARGIN = 1024
API_PREFIX = "/api/v1.1"


class UsageError(Exception):
    """A flag's value cannot work."""


class MockDidNotStart(Exception):
    """The mock started for the check exited or never said it was listening."""


def run(args: argparse.Namespace) -> int:
    redact = Redactor([args.token])
    real_url: str | None = None
    try:
        if not args.token.strip():
            raise UsageError("--token: empty")
        real_url = base_url(args.real)
        settings = mock_settings(args.mock_arg)
        report = asyncio.run(_check(args, real_url, settings))
    except KeyboardInterrupt:
        print("altcraft-mock drift: interrupted", file=sys.stderr)
        return 130
    except (UsageError, Unreachable, MockDidNotStart) as exc:
        message = f"altcraft-mock drift: {exc}"
        print(redact(message), file=sys.stderr)
        if args.json:
            failure = redact.json_values(json_failure(str(exc), real_url))
            print(json.dumps(failure, ensure_ascii=False))
        return 2
    except Exception as exc:  # a bug: its traceback, with the token masked like the rest
        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        if args.json:
            failure = redact.json_values(json_failure(f"unexpected failure: {exc!r}", real_url))
            print(json.dumps(failure, ensure_ascii=False))
        return 2
    if args.json:
        print(json.dumps(redact.json_values(json_report(report)), indent=2, ensure_ascii=False))
    else:
        print(redact(text_report(report)))
    return report.exit_status


def base_url(text: str) -> str:
    """The service's root: `https://host[:port][/prefix]`, without `/api/v1.1`."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--real: expected an http:// or https:// URL, got {text!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(
            "--real: the URL must not carry a query, a fragment or credentials (--token is sent)"
        )
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def mock_settings(mock_args: Sequence[str]) -> Settings:
    """The settings the mock will run with (its flags, and the ALTCRAFT_MOCK_*
    environment it inherits), read the way `serve` reads them."""
    parser = argparse.ArgumentParser(prog="altcraft-mock drift --mock-arg", add_help=False)
    add_arguments(parser)
    flags, unknown = parser.parse_known_args(list(mock_args))
    if unknown:
        raise UsageError(f"--mock-arg: not a serve flag: {' '.join(unknown)}")
    try:
        return load_settings(vars(flags))
    except ConfigError as exc:
        raise UsageError(f"--mock-arg: {exc}") from None


async def _check(args: argparse.Namespace, real_url: str, settings: Settings) -> Report:
    """The lists first (read-only, they tell the ids), then the mock is started with
    those ids (so a mock that cannot start stops the check before anything else is
    sent), then the rest of the probes to the real service, then all to the mock."""
    ended = ENDED_WORDS | {settings.status_name("completed"), settings.status_name("failed")}
    bounds = PollBounds(timeout=args.task_timeout)
    marker = secrets.token_hex(6)
    over_limit = max(settings.max_body_bytes, DEFAULT_MAX_BODY_BYTES) + OVER_LIMIT_MARGIN
    listing, rest = PROBES[:2], PROBES[2:]
    with tempfile.TemporaryDirectory(prefix="altcraft-mock-drift-") as folder:
        async with client_session(through_proxy=True) as session:
            real = Sender(Target("real", real_url), session, args.timeout)
            blank = ProbeContext(args.token, marker, None, None, None, over_limit)
            real_lists = await run_probes(
                real, listing, blank, allow_writes=False, bounds=bounds, ended_names=ended
            )
            ids = resolve_ids(
                args.db_id, args.workflow_id, _only(real_lists[0]), _only(real_lists[1])
            )
            fixtures = Path(folder) / "fixtures.json"
            fixtures.write_text(json.dumps(fixture_document(args.token, ids)), encoding="utf-8")
            server = _start_mock(fixtures, args.mock_arg)
            try:
                context = ProbeContext(
                    args.token,
                    marker,
                    ids.db_id,
                    ids.workflow.id if ids.workflow else None,
                    ids.workflow_db_id,
                    over_limit,
                )
                real_runs = real_lists + await run_probes(
                    real,
                    rest,
                    context,
                    allow_writes=args.allow_writes,
                    bounds=bounds,
                    ended_names=ended,
                )
                async with client_session(through_proxy=False) as mock_session:
                    mock = Sender(Target("mock", server.url), mock_session, args.timeout)
                    mock_runs = await run_probes(
                        mock,
                        PROBES,
                        context,
                        allow_writes=args.allow_writes,
                        bounds=bounds,
                        ended_names=ended,
                    )
            finally:
                server.stop()
                server.close()
    return _report(real_url, ids, args.allow_writes, real_runs, mock_runs, settings)


def _only(run: ProbeRun) -> Answer:
    """The answer of a probe sent once (the lists are always sent)."""
    assert run.last is not None
    return run.last


def _start_mock(fixtures: Path, mock_args: Sequence[str]) -> MockServerProcess:
    server = MockServerProcess(
        ["--host", "127.0.0.1", "--fixtures", str(fixtures), "--mode", "strict", *mock_args],
        db=":memory:",
        startup_timeout=30.0,
    )
    try:
        return server.start()
    except (RuntimeError, OSError) as exc:
        raise MockDidNotStart(f"the mock did not start: {exc}") from None


def _report(
    real_url: str,
    ids: AccountIds,
    allow_writes: bool,
    real_runs: Sequence[ProbeRun],
    mock_runs: Sequence[ProbeRun],
    settings: Settings,
) -> Report:
    names = frozenset(settings.status_names.values())
    comparisons = tuple(
        ProbeComparison(real, mock, tuple(compare_runs(real, mock, names)))
        for real, mock in zip(real_runs, mock_runs, strict=True)
    )
    return Report(
        real_url=real_url,
        mock_version=package_version(),
        db_id=ids.db_id,
        workflow_id=ids.workflow.id if ids.workflow else None,
        workflow_db_id=ids.workflow_db_id,
        allow_writes=allow_writes,
        comparisons=comparisons,
    )
