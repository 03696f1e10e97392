"""The clock's values: durations, instants, a virtual clock's arithmetic, the flags."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mockserver.clock import ClockMode, VirtualClock, parse_duration, parse_instant
from mockserver.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90),
        ("1.5s", 1.5),
        ("250ms", 0.25),
        ("2m", 120),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1d", 86400),
        (" 2M ", 120),
        ("42", 42),
        (1.5, 1.5),
        (0, 0),
    ],
)
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", ["", "soon", "1x", "-1s", "1s2", "s", -1, True, None, "inf", "nan"]
)
def test_not_durations(value):
    with pytest.raises(ValueError):
        parse_duration(value)


def test_ten_advances_of_a_tenth_are_one_second_exactly():
    clock = VirtualClock()
    for _ in range(10):
        clock.advance(0.1)
    assert clock.monotonic() == 1.0
    assert clock.now() == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_a_virtual_clock_never_goes_backwards_but_rewinds_on_reset():
    clock = VirtualClock(parse_instant("2030-01-01T00:00:00+01:00"))
    clock.set(parse_instant("2030-01-01T00:00:00"))
    with pytest.raises(ValueError, match="never goes backwards"):
        clock.set(parse_instant("2029-12-31T23:00:00Z"))
    clock.rewind()
    assert clock.now() == datetime(2029, 12, 31, 23, tzinfo=UTC)


def test_the_clock_flags():
    settings = load_settings({"clock": "virtual", "clock_start": "2027-01-01T00:00:00Z"}, {})
    assert (settings.clock, settings.clock_start) == (
        ClockMode.VIRTUAL,
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert load_settings({}, {"ALTCRAFT_MOCK_CLOCK": "virtual"}).clock is ClockMode.VIRTUAL
    assert load_settings({}, {}).clock is ClockMode.REAL


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"clock": "fake"}, "--clock: invalid value 'fake' (one of real, virtual)"),
        ({"clock": "virtual", "clock_start": "soon"}, "--clock-start: invalid value 'soon'"),
        ({"clock_start": "2027-01-01T00:00:00Z"}, "--clock-start: only with --clock virtual"),
    ],
)
def test_bad_clock_flags_are_refused(flags, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(flags, {})
