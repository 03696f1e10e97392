"""Settings: flags > ALTCRAFT_MOCK_* environment > config file > defaults.

This is the only module that reads `os.environ`. Every option is declared
once in `OPTIONS`; the CLI flags, the environment names and the README table
all come from that list.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

# Each option's type lives with the code it configures; the settings gather them.
from mockserver.accounts import AccountMode
from mockserver.api import API_METHODS
from mockserver.api.latency import Delay, parse_latency
from mockserver.clock import ClockMode, parse_instant
from mockserver.http.answers import HttpStatusPolicy
from mockserver.ids import TaskIdFormat
from mockserver.tasks.progression import ProgressionMode

ENV_PREFIX = "ALTCRAFT_MOCK_"
MEMORY_DB = ":memory:"
DEFAULT_DB = ".altcraft-mock/store.json"
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024  # the vendor's documented 10 MB


class EventLoop(StrEnum):
    AUTO = "auto"  # uvloop when installed
    ASYNCIO = "asyncio"
    UVLOOP = "uvloop"


#: SPEC §4's status names; a user whose instance says e.g. `success` maps them.
DEFAULT_STATUS_NAMES: Mapping[str, str] = {
    "queued": "queued",
    "processing": "processing",
    "completed": "completed",
    "failed": "failed",
}


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str = DEFAULT_DB
    fixtures: tuple[str, ...] = ()  # empty: the shipped fixtures/
    seed: int | None = None
    progression: ProgressionMode = ProgressionMode.POLLS
    steps: int = 2
    rate: float = 5000.0
    mode: AccountMode = AccountMode.STRICT
    http_status: HttpStatusPolicy = HttpStatusPolicy.ALWAYS_200
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_items: int | None = 100_000  # why this default: api/importing.check_item_count
    read_timeout: float = 30.0
    max_uploading_bytes: int = 256 * 1024 * 1024
    task_id_format: TaskIdFormat = TaskIdFormat.UUID
    status_names: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUS_NAMES))
    journal_size: int = 1000
    journal_body_limit: int = 64 * 1024
    journal_max_bytes: int = 64 * 1024 * 1024
    journal_control: bool = False
    admin_token: str | None = None
    log_level: str = "INFO"
    #: One log line per request: off by default (the journal records every call,
    #: and formatting a line cost a quarter of a status poll's time).
    access_log: bool = False
    event_loop: EventLoop = EventLoop.AUTO
    allowed_hosts: tuple[str, ...] = ()  # Host names served besides loopback (`*`: any)
    clock: ClockMode = ClockMode.REAL
    clock_start: datetime | None = None  # a virtual clock's start (None: clock.VIRTUAL_START)
    latency: tuple[Delay, ...] = ()  # vendor methods' simulated delays (api/latency.py)
    #: A JSON file of fault rules set at start and restored by a reset (control/faults/startup.py).
    faults: str | None = None

    @property
    def in_memory(self) -> bool:
        return self.db == MEMORY_DB

    def status_name(self, status: str) -> str:
        return self.status_names.get(status, status)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"must be 0..65535, got {value}")
    return value


#: The levels `logging` knows by name.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:  # float() reads "nan" and "inf" too
        raise ValueError(f"must be a finite number above 0, got {value}")
    return value


def _status_names(text: str) -> dict[str, str]:
    """`completed=success,failed=error` -> a full mapping of SPEC §4 names."""
    names = dict(DEFAULT_STATUS_NAMES)
    for pair in filter(None, (part.strip() for part in text.split(","))):
        ours, _, theirs = pair.partition("=")
        if ours not in names or not theirs:
            raise ValueError(f"expected NAME=ALIAS with NAME in {sorted(names)}, got {pair!r}")
        names[ours] = theirs
    return names


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _host_list(text: str) -> tuple[str, ...]:
    """`altcraft-mock,ci.example` -> the Host names served besides loopback (`*`: any)."""
    hosts = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    for host in hosts:
        if host != "*" and not all(c.isalnum() or c in "-._:[]" for c in host):
            raise ValueError(f"not a host name or address: {host!r}")
    return hosts


def _latency(text: str) -> tuple[Delay, ...]:
    return parse_latency(text, {method.name for method in API_METHODS})


def _fixture_paths(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(os.pathsep) if part)


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    parse: Callable[[str], Any]
    help: str
    choices: Sequence[str] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _choice(enum: type[StrEnum]) -> Callable[[str], Any]:
    return lambda text: enum(text)


OPTIONS: tuple[Option, ...] = (
    Option("host", str, "address to bind (default 127.0.0.1; 0.0.0.0 in containers)"),
    Option("port", _port, "port to listen on (default 8080; 0 picks a free port)"),
    Option("db", str, f"store file (default {DEFAULT_DB}; {MEMORY_DB} keeps nothing)"),
    Option(
        "fixtures",
        _fixture_paths,
        "fixture file or folder; several joined by the path separator (default: shipped)",
    ),
    Option("seed", int, "seed for ids and probabilities (reproducible runs)"),
    Option(
        "progression",
        _choice(ProgressionMode),
        "how tasks advance (default polls)",
        [m.value for m in ProgressionMode],
    ),
    Option("steps", _positive_int, "polls per task in `polls` mode (default 2)"),
    Option("rate", _positive_float, "items per second in `rate` mode (default 5000)"),
    Option(
        "mode",
        _choice(AccountMode),
        "unknown tokens/workflows: refuse (strict) or create (permissive)",
        [m.value for m in AccountMode],
    ),
    Option(
        "http_status",
        _choice(HttpStatusPolicy),
        "HTTP status of error answers (default always_200)",
        [m.value for m in HttpStatusPolicy],
    ),
    Option("max_body_bytes", _positive_int, "request body limit (default 10 MB)"),
    Option("max_items", _positive_int, "refuse batches above this many items (default 100000)"),
    Option(
        "read_timeout",
        _positive_float,
        "seconds a client has to send a request's head, then its body (default 30)",
    ),
    Option(
        "max_uploading_bytes",
        _positive_int,
        "bytes of request bodies being received at once, all clients together; "
        "an upload past it is answered 503 (default 256 MB)",
    ),
    Option(
        "task_id_format",
        _choice(TaskIdFormat),
        "task id form (default uuid)",
        [m.value for m in TaskIdFormat],
    ),
    Option("status_names", _status_names, "rename task statuses, e.g. completed=success"),
    Option("journal_size", _positive_int, "requests kept in the journal (default 1000)"),
    Option(
        "journal_body_limit",
        _positive_int,
        "bodies larger than this many bytes are journaled as a summary (default 65536)",
    ),
    Option(
        "journal_max_bytes",
        _positive_int,
        "bytes the journal keeps in all, oldest entries dropped first (default 64 MiB)",
    ),
    Option("journal_control", _bool, "also journal /_mock/ calls (default false)"),
    Option("admin_token", str, "require `Authorization: Bearer TOKEN` on /_mock/ (not health)"),
    Option("log_level", _log_level, "logging level (default INFO)"),
    Option(
        "access_log",
        _bool,
        "log one line per request (default false: GET /_mock/requests has every call;"
        " on, every request takes aiohttp's general path, slower than a plain poll's)",
    ),
    Option(
        "event_loop",
        _choice(EventLoop),
        "event loop: auto (uvloop when installed), asyncio or uvloop (default auto)",
        [loop.value for loop in EventLoop],
    ),
    Option(
        "allowed_hosts",
        _host_list,
        "Host names served besides loopback and the bound address, comma-separated; `*` any"
        " (default: none, or any when bound to 0.0.0.0 / ::)",
    ),
    Option(
        "clock",
        _choice(ClockMode),
        "real, or virtual: time stands still until POST /_mock/clock moves it (default real)",
        [mode.value for mode in ClockMode],
    ),
    Option(
        "clock_start",
        parse_instant,
        "where a virtual clock starts, an ISO time (default 2026-01-01T00:00:00Z)",
    ),
    Option(
        "latency",
        _latency,
        "simulated delay of vendor methods: [METHOD=]N or N-M ms (`s` for seconds),"
        " comma-separated, e.g. 20-50,tasks/status=100 (default: none)",
    ),
    Option(
        "faults",
        str,
        "JSON file of fault rules (as POST /_mock/faults takes) set at start and on reset",
    ),
)

_OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}


class ConfigError(ValueError):
    """A setting could not be read; the message names its source."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare every option as a flag (value None when not given)."""
    parser.add_argument("--config", help="TOML file with settings (keys as the flags, _ for -)")
    for option in OPTIONS:
        parser.add_argument(
            option.flag,
            dest=option.name,
            default=None,
            metavar=option.name.upper(),
            help=f"{option.help} [env {option.env}]"
            + (f" {{{','.join(option.choices)}}}" if option.choices else ""),
        )


def _parse(option: Option, raw: Any, source: str) -> Any:
    if not isinstance(raw, str):
        raw = (
            os.pathsep.join(raw)
            if isinstance(raw, list) and option.name == "fixtures"
            else str(raw)
        )
    try:
        return option.parse(raw)
    except ValueError as exc:
        allowed = f" (one of {', '.join(option.choices)})" if option.choices else ""
        raise ConfigError(f"{source}: invalid value {raw!r}{allowed}: {exc}") from None


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the sources in priority order: flags > environment > file > defaults."""
    flags = dict(flags or {})
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    config_path = flags.pop("config", None) or environ.get(ENV_PREFIX + "CONFIG")
    if config_path:
        import tomllib  # only for a config file (start-up)

        try:
            file_values = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {config_path}: {exc}") from None
        for key, raw in file_values.items():
            option = _OPTIONS_BY_NAME.get(key.replace("-", "_"))
            if option is None:
                raise ConfigError(f"config file {config_path}: unknown setting {key!r}")
            values[option.name] = _parse(option, raw, f"config file {config_path}: {key}")

    for option in OPTIONS:
        if option.env in environ and environ[option.env] != "":
            values[option.name] = _parse(option, environ[option.env], option.env)
        if flags.get(option.name) is not None:
            values[option.name] = _parse(option, flags[option.name], option.flag)

    settings = replace(Settings(), **values)
    if settings.clock_start is not None and settings.clock is not ClockMode.VIRTUAL:
        raise ConfigError(
            f"{_OPTIONS_BY_NAME['clock_start'].flag}: only with --clock virtual"
            " (the real clock cannot start elsewhere)"
        )
    return settings


def settings_for_tests(**overrides: Any) -> Settings:
    """Settings with an in-memory store, for in-process tests."""
    base: dict[str, Any] = {"db": MEMORY_DB}
    base.update(overrides)
    known = {f.name for f in fields(Settings)}
    unknown = set(base) - known
    if unknown:
        raise TypeError(f"unknown settings: {sorted(unknown)}")
    for name, value in base.items():
        option = _OPTIONS_BY_NAME.get(name)
        if option is not None and isinstance(value, str) and name != "fixtures":
            base[name] = _parse(option, value, name)  # "instant" -> ProgressionMode.INSTANT
    return replace(Settings(), **base)


#: Private, for the differential tests only (tests/reliability/test_hot_path*.py;
#: no flag, not in README's table): "1" serves every request through aiohttp's
#: router, as when the hot path does not apply, and records every journal entry
#: at once, so one test can compare both paths on the same requests.
GENERAL_PATH_ONLY_ENV = ENV_PREFIX + "PRIVATE_GENERAL_PATH_ONLY"


def general_path_only(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get(GENERAL_PATH_ONLY_ENV) == "1"
