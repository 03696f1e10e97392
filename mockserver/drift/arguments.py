"""The `drift` sub-command's arguments and help: read by the CLI's parser at every
start, so they live apart from the command itself (imported only when it runs)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from mockserver.drift.probes import probe_table

DESCRIPTION = """\
Check the mock against your real Altcraft account: send a documented set of
probe requests to the real service and the same to a mock started for the check
(in memory, with an account holding TOKEN and the same database and workflow
ids), and report side by side what differs.

Compared exactly: the HTTP status, `error`, `error_text` and task status names.
Compared by shape: the envelope's keys, every member's name and JSON type
(recursively, with paths like data[*].status), and ids by their shape class
(integer, <digits>, <uuid>, task_<uuid>, <hex24>), since ids, timestamps and
counts legitimately differ. The token is never printed.
"""

EPILOG = f"""\
probes, in order (read-only unless marked):
{probe_table()}

exit status: 0 no differences, 1 differences, 2 the check could not run: a usage
error, the real service or the mock could not be reached (a connection refused, a
name that does not resolve, a first request with no answer), the mock did not
start, or an unexpected failure (its traceback, the token masked).

example:
  altcraft-mock drift --real https://api.altcraft.com --token "$ALTCRAFT_TOKEN" \\
      --db-id 1 --workflow-id 2 --allow-writes --json > drift.json
"""


def add_arguments_to(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--real", required=True, metavar="URL", help="the real service (http or https)"
    )
    parser.add_argument("--token", required=True, help="an API token of your account")
    parser.add_argument(
        "--db-id",
        type=_positive_int,
        help="a profile database of the account (default: the first databases/list answers)",
    )
    parser.add_argument(
        "--workflow-id",
        type=_positive_int,
        help="a workflow to import into (default: the first active one workflows/list answers)",
    )
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="also import one throw-away profile, poll its task, read it back and delete it",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help="per request (default 30)",
    )
    parser.add_argument(
        "--task-timeout",
        type=_positive_float,
        default=60.0,
        metavar="SECONDS",
        help="how long the throw-away import's task is polled at most (default 60)",
    )
    parser.add_argument(
        "--mock-arg",
        action="append",
        default=[],
        metavar="FLAG",
        help="a `serve` flag for the mock, as your tests run it "
        "(repeatable: --mock-arg=--http-status=mirror)",
    )


def _positive_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def refuse_as_json(
    drift: argparse.ArgumentParser, words: Sequence[str]
) -> Callable[[str], NoReturn]:
    """With `--json`, arguments argparse refuses still print the JSON failure
    (the report's one shape, exit status 2) on stdout, beside its usage line on
    stderr. Words argparse did not recognise are not echoed there: one may be a
    token given under a mistyped flag."""
    real = next((w.partition("=")[2] for w in words if w.startswith("--real=")), None)
    if real is None and "--real" in words[:-1]:
        real = words[list(words).index("--real") + 1]

    def refuse(message: str) -> NoReturn:
        from mockserver.drift.report import json_failure

        shown = message
        if message.startswith("unrecognized arguments"):
            shown = "unrecognized arguments (see the usage line on stderr)"
        print(json.dumps(json_failure(f"usage: {shown}", real), ensure_ascii=False))
        drift.print_usage(sys.stderr)
        drift.exit(2, f"{drift.prog}: error: {message}\n")

    drift.error = refuse  # type: ignore[method-assign]
    return refuse
