"""The `altcraft-mock` command and `python -m mockserver`: the command line
(`mockserver.cli`), imported as the command needs it.

Importing aiohttp makes its HTTP client's two default TLS contexts, each loading
the system's CA certificates: 50-150 ms of a 0.4-0.6 s start-up on a 2-core
machine. A process started as `serve` never opens a client connection, so it
imports aiohttp with that load skipped: those two contexts hold no certificates;
every context made afterwards loads them as usual. Any other command (`drift`
talks to the real service over TLS) and any other process that imports the
package (the pytest plugin, `mockserver.testing`) import aiohttp untouched.
"""

from __future__ import annotations

import sys


def main() -> int:
    if sys.argv[1:2] == ["serve"]:
        import_aiohttp_without_client_certificates()
    from mockserver.cli import main as command_line

    return command_line()


def import_aiohttp_without_client_certificates() -> None:
    """Import aiohttp (once, early) while `SSLContext.set_default_verify_paths`
    loads nothing; the method is the standard library's again after."""
    import ssl

    if "aiohttp.connector" in sys.modules or "set_default_verify_paths" in vars(ssl.SSLContext):
        return  # imported already, or the method is someone else's to restore
    # setattr: mypy refuses an assignment to a method.
    setattr(ssl.SSLContext, "set_default_verify_paths", _load_nothing)  # noqa: B010
    try:
        import aiohttp.connector  # noqa: F401 (imported for its module-level TLS contexts)
    finally:
        delattr(ssl.SSLContext, "set_default_verify_paths")


def _load_nothing(context: object) -> None:
    return None
