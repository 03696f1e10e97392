"""Time, in one place, so tests can control it.

Wall time stamps records (`_createtime`, engagements, tasks, the journal);
monotonic time drives the `rate` progression and the journal's durations.
The server runs on one clock: the real one (`--clock real`, the default), or
a virtual one (`--clock virtual`) that stands still until the control API
moves it (`POST /_mock/clock`), so anything time-based is exact and
repeatable: no open-source mock server offers a clock a test can move.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol


class ClockMode(StrEnum):
    REAL = "real"
    VIRTUAL = "virtual"


#: Where a virtual clock starts unless `--clock-start` says otherwise: a fixed,
#: documented instant, so two runs write the same timestamps.
VIRTUAL_START = datetime(2026, 1, 1, tzinfo=UTC)

#: A virtual clock counts whole microseconds (the stored timestamps' resolution),
#: so a run of advances adds up exactly: ten advances of 0.1 s are 1 s, not 0.9999….
MICROSECONDS = 1_000_000


class Clock(Protocol):
    @property
    def mode(self) -> ClockMode: ...

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    mode = ClockMode.REAL

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class VirtualClock:
    """A clock that moves only when told to, and never backwards (but for `rewind`,
    a reset's: back to where it started)."""

    mode = ClockMode.VIRTUAL

    def __init__(self, start: datetime | None = None) -> None:
        self.start = (start or VIRTUAL_START).astimezone(UTC)
        self._elapsed = 0  # microseconds since `start`

    def now(self) -> datetime:
        return self.start + timedelta(microseconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed / MICROSECONDS

    def advance(self, seconds: float) -> None:
        """Move forward; ValueError when `seconds` is negative or leads past year 9999."""
        if not seconds >= 0:  # NaN too
            raise ValueError(f"must be at least 0 (the clock never goes backwards), got {seconds}")
        try:
            elapsed = self._elapsed + round(seconds * MICROSECONDS)
            self.start + timedelta(microseconds=elapsed)
        except OverflowError:
            past = f"{seconds} seconds from {iso(self.now())} is past year 9999"
            raise ValueError(past) from None
        self._elapsed = elapsed

    def set(self, moment: datetime) -> None:
        """Move to `moment`; ValueError when it is before the clock's time."""
        now = self.now()
        if moment < now:
            raise ValueError(
                f"{iso(moment)} is before the clock's time {iso(now)}: the virtual clock never"
                " goes backwards (POST /_mock/reset returns it to its start)"
            )
        self._elapsed += (moment - now) // timedelta(microseconds=1)

    def rewind(self) -> None:
        """Back to `start` (a reset)."""
        self._elapsed = 0


def make_clock(mode: ClockMode, start: datetime | None = None) -> Clock:
    """The server's one clock, as `--clock` and `--clock-start` ask."""
    if mode is ClockMode.VIRTUAL:
        return VirtualClock(start)
    return SystemClock()


def iso(moment: datetime) -> str:
    """The timestamp form stored and answered (UTC, microseconds, `Z`): sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: Longest ISO time worth parsing: `2024-05-01T12:00:00.123456+05:30` and a little room.
MAX_ISO_LENGTH = 40


def parse_instant(text: str) -> datetime:
    """An ISO 8601 time (`2026-01-01T00:00:00Z`, any offset; none means UTC), in UTC;
    ValueError when it is not one."""
    if not text.isascii() or len(text) > MAX_ISO_LENGTH:
        raise ValueError(f"expected an ISO time such as 2026-01-01T00:00:00Z, got {text!r}")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(
            f"expected an ISO time such as 2026-01-01T00:00:00Z, got {text!r}"
        ) from None


#: One part of a duration: a number and its unit (`1.5s`, `250ms`, `2m`, `1h`, `1d`).
#: A bare number of seconds as text, ASCII digits only (`float` would also take
#: `1_000`, other scripts' digits and spaces).
_BARE_SECONDS = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds of a duration: a JSON number of seconds, or text like `90s`, `1.5s`,
    `250ms`, `2m`, `1h`, `1d`, `1h30m`, or a bare number of seconds (`"90"`);
    ValueError otherwise (negative ones included)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected seconds or a duration such as '90s', got {value!r}")
    if isinstance(value, str):
        text = value.strip().lower()
        if text.startswith("-"):
            raise ValueError(f"must be at least 0 (the clock never goes backwards), got {value!r}")
        if _BARE_SECONDS.fullmatch(text):
            seconds = float(text)
        else:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                raise ValueError(
                    "expected a duration such as '90s', '1.5s', '250ms', '2m', '1h' or '1h30m',"
                    f" got {value!r}"
                )
            seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    else:
        seconds = float(value)
    if not seconds >= 0:  # NaN too
        raise ValueError(f"must be at least 0 (the clock never goes backwards), got {value!r}")
    if seconds == float("inf"):
        raise ValueError(f"must be a finite number of seconds, got {value!r}")
    return seconds
