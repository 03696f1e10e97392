"""Command line: `serve`, `healthcheck`, `check-fixtures`, `drift` (mockserver/drift).

`serve` prints exactly one `listening on http://HOST:PORT` line on stdout once
it accepts connections (logs go to stderr), and on SIGTERM/SIGINT stops
accepting, lets in-flight requests and store writes finish, and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from mockserver import gc_tuning, package_version
from mockserver.app import create_app
from mockserver.backend import Backend
from mockserver.config import ConfigError, EventLoop, Settings, add_arguments, load_settings
from mockserver.control.faults.startup import FaultFileError
from mockserver.http.protocol import EnvelopeAppRunner
from mockserver.keys import UPLOADS
from mockserver.logs import ACCESS_LOG_FORMAT, configure_logging
from mockserver.schemas import SchemaError, shipped_schemas
from mockserver.store.fixtures import FixtureError, load_fixtures
from mockserver.store.storage import StoreFileError

log = logging.getLogger("mockserver")


class _VersionAction(argparse.Action):
    """`--version`: the version is read only when asked (see `package_version`)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"altcraft-mock {package_version()}")
        parser.exit()


def _parser(words: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The command line's parser; `words`: the arguments it will read (with
    `drift ... --json`, even a refusal of them prints the JSON failure; without
    `drift`, its arguments and their probe table are not built: start-up)."""
    json_drift = words[:1] == ["drift"] and "--json" in words
    parser = argparse.ArgumentParser(
        prog="altcraft-mock",
        description="Local emulator of the Altcraft batch profile-import API.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the server")
    add_arguments(serve)
    check = commands.add_parser("healthcheck", help="exit 0 when a server answers health ok")
    check.add_argument("--url", default=None, help="server URL (default http://127.0.0.1:PORT)")
    check.add_argument(
        "--port", type=int, default=None, help="port (default $ALTCRAFT_MOCK_PORT or 8080)"
    )
    check.add_argument("--wait", type=float, default=0.0, help="keep trying this many seconds")
    commands.add_parser("openapi", help="print the OpenAPI 3.1 document (JSON) and exit")
    fixtures = commands.add_parser("check-fixtures", help="validate fixture files and exit")
    fixtures.add_argument("paths", nargs="*", help="files or folders (default: the shipped ones)")
    fixer = commands.add_parser(
        "repair",
        help="rebuild a store the server refused to load (keeps a copy of its files first)",
    )
    fixer.add_argument("--db", required=True, help="the store file (as given to serve --db)")
    drift = commands.add_parser(
        "drift", help="compare the mock with the real service, side by side"
    )
    if words and "drift" not in words:
        return parser
    from mockserver.drift import arguments as drift_arguments

    drift_arguments.add_arguments_to(drift)
    if json_drift:
        # The drift parser refuses bad values; the top parser, words it does not know.
        parser.error = drift_arguments.refuse_as_json(drift, words)  # type: ignore[method-assign,assignment]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = _parser(words).parse_args(words)
    if args.command == "serve":
        return _serve_command(vars(args))
    if args.command == "healthcheck":
        return _healthcheck(args.url, args.port, args.wait)
    if args.command == "openapi":
        return _print_openapi()
    if args.command == "repair":
        return _repair(Path(args.db))
    if args.command == "drift":
        from mockserver.drift import command as drift  # ~35 ms of imports `serve` never needs

        return drift.run(args)
    return _check_fixtures(args.paths)


def _repair(path: Path) -> int:
    from mockserver.store.repair import repair

    try:
        report = repair(path)
    except (StoreFileError, OSError) as exc:
        print(f"altcraft-mock: cannot repair {path}: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    print(f"repaired: {path}")
    return 0


def _serve_command(flags: dict) -> int:
    flags.pop("command", None)
    try:
        settings = load_settings(flags)
    except ConfigError as exc:
        print(f"altcraft-mock: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        backend = Backend(settings)
    except (FixtureError, FaultFileError, SchemaError, StoreFileError) as exc:
        print(f"altcraft-mock: cannot start: {exc}", file=sys.stderr)
        return 2
    gc_tuning.tune_for_server()
    backend.store.on_flushed, backend.store.on_cleared = gc_tuning.settle, gc_tuning.release
    backend.store.bulk_work = gc_tuning.bulk_work
    try:
        with asyncio.Runner(loop_factory=event_loop_factory(settings.event_loop)) as runner:
            runner.run(serve(settings, backend))
    except OSError as exc:
        print(
            f"altcraft-mock: cannot listen on {settings.host}:{settings.port}: {exc}",
            file=sys.stderr,
        )
        return 2
    return 0


def event_loop_factory(choice: EventLoop) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when chosen, or by default when it is installed (it is a
    dependency where it builds): the same answers, a cheaper network layer."""
    if choice is EventLoop.ASYNCIO:
        return None
    try:
        import uvloop
    except ImportError:
        if choice is EventLoop.UVLOOP:
            raise ConfigError("event_loop: uvloop is not installed") from None
        return None
    return uvloop.new_event_loop


async def serve(settings: Settings, backend: Backend) -> None:
    # Journal ids go on from the ones the stored tasks name (`request_id`), so an
    # entry of this run never passes for the request that created an older task.
    backend.journal.continue_after(
        max((doc.get("request_id") or 0 for doc in backend.store.tasks()), default=0)
    )
    app = create_app(settings, backend)
    runner = EnvelopeAppRunner(
        app,
        handle_signals=False,
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
        access_log_format=ACCESS_LOG_FORMAT,
        # What a handler already answering gets to finish (an import between two
        # slices); well within `docker stop`'s 10 s before its SIGKILL.
        shutdown_timeout=5,
        # aiohttp closes a connection whose request head has not arrived this long
        # after it connected (or after the previous answer): a client trickling its
        # headers a byte at a time is cut off. The body's deadline is read_body's.
        keepalive_timeout=settings.read_timeout,
        # After an early answer (a body over the limit or too slow), the rest of
        # the body is read and dropped for at most this long before closing.
        lingering_time=min(10.0, settings.read_timeout),
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"listening on http://{shown}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        # Clients still sending a body may never finish it: they are cut off
        # (one warning each) rather than waited for up to --read-timeout.
        cut = app[UPLOADS].cut_all()
        log.info(
            "stopping: finishing in-flight requests and store writes (%d upload(s) cut off)", cut
        )
    finally:
        await runner.cleanup()


def _healthcheck(url: str | None, port: int | None, wait: float) -> int:
    if url is None:
        settings = load_settings({})
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        url = f"http://{host}:{port or settings.port}"
    deadline = time.monotonic() + wait
    while True:
        problem = _health_problem(url.rstrip("/") + "/_mock/health")
        if problem is None:
            return 0
        if time.monotonic() >= deadline:
            print(f"altcraft-mock healthcheck: {problem}", file=sys.stderr)
            return 1
        time.sleep(0.2)


def _health_problem(url: str) -> str | None:
    import urllib.error  # only the healthcheck speaks HTTP as a client (~20 ms to import)
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            body = json.loads(answer.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{url}: {exc}"
    return None if body.get("status") == "ok" else f"{url}: status {body.get('status')!r}"


def _print_openapi() -> int:
    from mockserver.api import API_METHODS
    from mockserver.control.table import CONTROL_ROUTES
    from mockserver.openapi import build_document

    document = build_document(shipped_schemas(), API_METHODS, CONTROL_ROUTES)
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


def _check_fixtures(paths: list[str]) -> int:
    try:
        fixtures = load_fixtures(paths, shipped_schemas())
    except (FixtureError, SchemaError) as exc:
        print(f"altcraft-mock: {exc}", file=sys.stderr)
        return 1
    print(f"ok: {len(fixtures.files)} file(s), {len(fixtures.catalog.accounts)} account(s)")
    return 0
