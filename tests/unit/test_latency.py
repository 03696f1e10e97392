"""`--latency SPEC` / `ALTCRAFT_MOCK_LATENCY`: parsed at start, refused at start.

SPEC is a comma-separated list of `[METHOD=]DELAY`; DELAY is `N` or `N-M`
milliseconds (`ms` optional, `s` for seconds). The delay is drawn from the
server's seeded RNG.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from random import Random

import pytest

from mockserver.api import API_METHODS
from mockserver.api.latency import Delay, Latency, parse_latency
from mockserver.config import ConfigError, load_settings, settings_for_tests

METHODS = {method.name for method in API_METHODS}
STATUS = "tasks/status"
BATCH = "workflows/import_and_start_batch_task"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", ()),
        (" , ", ()),
        ("100", (Delay(None, 100.0, 100.0),)),
        ("100ms", (Delay(None, 100.0, 100.0),)),
        ("0", (Delay(None, 0.0, 0.0),)),
        ("2.5", (Delay(None, 2.5, 2.5),)),
        ("20-50", (Delay(None, 20.0, 50.0),)),
        ("20 - 50 ms", (Delay(None, 20.0, 50.0),)),
        ("0.2s", (Delay(None, 200.0, 200.0),)),
        ("0.1-0.3s", (Delay(None, 100.0, 300.0),)),  # a unit after the range: both bounds
        ("100ms-1s", (Delay(None, 100.0, 1000.0),)),
        ("1s-1500", (Delay(None, 1000.0, 1500.0),)),
        ("600s", (Delay(None, 600_000.0, 600_000.0),)),  # the fault rules' bound, included
        (f"{STATUS}=100", (Delay(STATUS, 100.0, 100.0),)),
        (
            f"20-50,{STATUS}=100",
            (Delay(None, 20.0, 50.0), Delay(STATUS, 100.0, 100.0)),
        ),
        (
            f" {BATCH} = 1s , {STATUS}=5-10 ,",
            (Delay(BATCH, 1000.0, 1000.0), Delay(STATUS, 5.0, 10.0)),
        ),
    ],
)
def test_spec_is_read(spec, expected):
    assert parse_latency(spec, METHODS) == expected


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("fast", "'fast': expected [METHOD=]N or [METHOD=]N-M in milliseconds"),
        ("-5", "'-5': expected [METHOD=]N"),
        ("1-2-3", "'1-2-3': expected [METHOD=]N"),
        ("10us", "'10us': expected [METHOD=]N"),
        ("nan", "'nan': expected [METHOD=]N"),
        ("inf", "'inf': expected [METHOD=]N"),
        ("1e3", "'1e3': expected [METHOD=]N"),
        (f"{STATUS}=", f"'{STATUS}=': expected [METHOD=]N"),
        ("50-20", "'50-20': the lower bound 50 ms is above the upper 20 ms"),
        ("1s-500", "'1s-500': the lower bound 1000 ms is above the upper 500 ms"),
        ("601s", "'601s': at most 600000 ms (10 minutes), got 601000 ms"),
        ("10,20", "'20': the default delay is given twice"),
        (f"{STATUS}=1,{STATUS}=2", f"'{STATUS}=2': {STATUS} is given twice"),
        ("=5", "'=5': a method name is missing before '='"),
        (
            "tasks/stats=10",
            "unknown vendor method 'tasks/stats' (did you mean 'tasks/status'?)",
        ),
        ("/_mock/health=10", "unknown vendor method '/_mock/health'"),
    ],
)
def test_spec_refusals_name_the_entry(spec, reason):
    with pytest.raises(ValueError) as refused:
        parse_latency(spec, METHODS)
    assert reason in str(refused.value)


# -- as a setting -----------------------------------------------------------------------


def test_off_by_default():
    assert load_settings({}, {}).latency == ()


def test_read_from_the_environment():
    settings = load_settings({}, {"ALTCRAFT_MOCK_LATENCY": f"20-50,{STATUS}=100"})

    assert settings.latency == (Delay(None, 20.0, 50.0), Delay(STATUS, 100.0, 100.0))


def test_the_flag_wins_over_the_environment():
    settings = load_settings({"latency": "5"}, {"ALTCRAFT_MOCK_LATENCY": "20-50"})

    assert settings.latency == (Delay(None, 5.0, 5.0),)


def test_read_from_the_config_file(tmp_path: Path):
    config = tmp_path / "mock.toml"
    config.write_text('latency = "tasks/status=0.1s"\n', encoding="utf-8")

    settings = load_settings({"config": str(config)}, {})

    assert settings.latency == (Delay(STATUS, 100.0, 100.0),)


@pytest.mark.parametrize(
    ("flags", "environ", "source"),
    [
        ({"latency": "50-20"}, {}, "--latency: invalid value '50-20'"),
        ({}, {"ALTCRAFT_MOCK_LATENCY": "slow"}, "ALTCRAFT_MOCK_LATENCY: invalid value 'slow'"),
    ],
)
def test_a_bad_value_is_refused_naming_its_source(flags, environ, source):
    with pytest.raises(ConfigError) as refused:
        load_settings(flags, environ)
    assert str(refused.value).startswith(source)


def test_the_faults_file_is_a_setting_too():
    assert load_settings({}, {}).faults is None
    assert load_settings({}, {"ALTCRAFT_MOCK_FAULTS": "f.json"}).faults == "f.json"
    assert load_settings({"faults": "g.json"}, {"ALTCRAFT_MOCK_FAULTS": "f.json"}).faults == (
        "g.json"
    )


# -- the delay drawn ----------------------------------------------------------------------


def test_a_method_without_its_own_entry_takes_the_default():
    latency = Latency(parse_latency(f"20-50,{STATUS}=100", METHODS), Random(1))

    assert latency.for_method(STATUS) == Delay(STATUS, 100.0, 100.0)
    assert latency.for_method(BATCH) == Delay(None, 20.0, 50.0)


def test_without_a_default_other_methods_do_not_wait():
    latency = Latency(parse_latency(f"{STATUS}=100", METHODS), Random(1))

    assert latency.for_method(BATCH) is None
    assert latency.seconds(BATCH) == 0.0
    assert latency.seconds(STATUS) == 0.1


def test_delays_are_drawn_between_the_bounds_from_the_seeded_rng():
    def draws(seed: int) -> list[float]:
        latency = Latency(parse_latency("20-50", METHODS), Random(seed))
        return [latency.seconds(BATCH) for _ in range(200)]

    first = draws(7)
    assert all(0.020 <= seconds <= 0.050 for seconds in first)
    assert len(set(first)) > 100  # drawn, not one value
    assert draws(7) == first  # the same seed, the same delays
    assert draws(8) != first


def test_wait_sleeps_the_drawn_delay(monkeypatch):
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    latency = Latency(parse_latency(f"{STATUS}=0.25s", METHODS), Random(1))

    asyncio.run(latency.wait(STATUS))
    asyncio.run(latency.wait(BATCH))  # no entry: no sleep at all

    assert slept == [0.25]


def test_settings_for_tests_parse_the_spec():
    assert settings_for_tests(latency="10").latency == (Delay(None, 10.0, 10.0),)
