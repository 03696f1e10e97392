"""What `serve` loads before it listens (issue 15: start-up to "listening" within
0.5 s): parts only another command or a later request needs are loaded when
first needed, and then answer as before; the system's CA certificates, which
only a client needs, are not loaded into aiohttp's client contexts at all."""

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


#: Run as the command runs (`altcraft-mock WORDS`): the CA certificates held by
#: aiohttp's default client context, then by a context made afterwards.
CERTIFICATES_LOADED = """
import ssl, sys
sys.argv = ["altcraft-mock", *sys.argv[1:]]
from mockserver import launch
try:
    launch.main()
except SystemExit:
    pass
from aiohttp import connector
ca = lambda context: context.cert_store_stats()["x509_ca"]
print(ca(connector._SSL_CONTEXT_VERIFIED), ca(ssl.create_default_context()))
"""


def _certificates_loaded(*words: str) -> tuple[int, int]:
    run = subprocess.run(
        [sys.executable, "-c", CERTIFICATES_LOADED, *words],
        capture_output=True,
        text=True,
        check=True,
    )
    aiohttp_client, made_after = run.stdout.splitlines()[-1].split()
    return int(aiohttp_client), int(made_after)


def test_serve_skips_loading_ca_certificates_for_a_client_it_never_uses():
    """50-150 ms of start-up: `serve` opens no client connection. A context made
    afterwards loads the certificates as usual; `drift` (a client of the real
    service over TLS) gets aiohttp's contexts untouched."""
    drift = _certificates_loaded("drift", "--help")
    if drift == (0, 0):
        pytest.skip("this machine's OpenSSL has no CA certificate file to load")
    assert drift[0] == drift[1]
    assert _certificates_loaded("serve", "--help") == (0, drift[1])
