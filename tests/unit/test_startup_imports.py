"""What `serve` loads before it listens (issue 15: start-up to "listening" within
0.5 s): parts only another command or a later request needs are loaded when
first needed, and then answer as before."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mockserver.cli import _parser

SERVE_LOADS = """
import sys
from mockserver.cli import _parser
from mockserver.config import load_settings
from mockserver.backend import Backend
from mockserver.app import create_app
from mockserver import package_version

args = vars(_parser(["serve", "--db", ":memory:"]).parse_args(["serve", "--db", ":memory:"]))
args.pop("command")
settings = load_settings(args)
create_app(settings, Backend(settings))
package_version()  # the first /_mock/health answer reads it
print(" ".join(sorted(sys.modules)))
"""

#: Modules `serve` has no use for before a request (or another command) asks.
NOT_AT_START = (
    "mockserver.drift.arguments",
    "mockserver.drift.probes",
    "mockserver.store.repair",
    "importlib.metadata",
    "tomllib",
    "difflib",
    "importlib.resources",
    "jsonschema",
)


def test_serve_loads_no_part_it_needs_only_later():
    loaded = subprocess.run(
        [sys.executable, "-c", SERVE_LOADS], capture_output=True, text=True, check=True
    ).stdout.split()
    assert [name for name in NOT_AT_START if name in loaded] == []


@pytest.mark.parametrize("words", [[], ["drift", "--real", "http://x", "--token", "t"]])
def test_the_drift_arguments_are_there_whenever_drift_is_asked_for(words):
    """`drift` parses as before (its flags and help come with the word), and a
    parser built for no words at all (a caller's own) holds them too."""
    drift = _parser(words)._subparsers._group_actions[0].choices["drift"]  # type: ignore[union-attr]
    assert "--real" in drift.format_help()
    assert "probes, in order" in drift.format_help()


def test_other_commands_parse_as_before_without_the_drift_arguments():
    args = _parser(["serve", "--port", "0"]).parse_args(["serve", "--port", "0"])
    assert (args.command, args.port) == ("serve", "0")  # config reads the value
