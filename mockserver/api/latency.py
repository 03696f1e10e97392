"""Simulated latency of the vendor API (`--latency`): a delay per vendor method, or
for every method without its own.

A real Altcraft instance answers in tens to hundreds of milliseconds; a client
that only ever met a mock answering in one gets no test of its timeouts or of
requests overlapping. The delay is drawn from the server's one seeded RNG (the
same `--seed` and the same order of requests give the same delays), and it is
a setting: a reset does not clear it. Only vendor methods wait, never `/_mock/`.

SPEC: a comma-separated list of `[METHOD=]DELAY`; DELAY is `N` or `N-M`
milliseconds, with an optional `ms` suffix or `s` for seconds (`0.2s`,
`0.1-0.3s`: a unit after the range applies to a bound written without one).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any

from mockserver.http.paths import unknown_method

#: The bound a fault rule's `delay_ms` has (schemas/control/fault.json): ten minutes.
MAX_DELAY_MS = 600_000.0

_BOUND = r"([0-9]+(?:\.[0-9]+)?)\s*(ms|s)?"
_DELAY = re.compile(rf"{_BOUND}(?:\s*-\s*{_BOUND})?")
_MS_PER = {"ms": 1.0, "s": 1000.0}


@dataclass(frozen=True, slots=True)
class Delay:
    """One entry: how long `method` (None: every method without its own entry) waits."""

    method: str | None
    min_ms: float
    max_ms: float

    def to_public(self) -> dict[str, Any]:
        return {"method": self.method, "min_ms": self.min_ms, "max_ms": self.max_ms}

    def describe(self) -> str:
        span = (
            f"{self.min_ms:g}" if self.min_ms == self.max_ms else f"{self.min_ms:g}-{self.max_ms:g}"
        )
        return f"{self.method or '*'}={span}ms"


def parse_latency(text: str, methods: Collection[str]) -> tuple[Delay, ...]:
    """`20-50,tasks/status=100` -> the entries; ValueError naming the entry at fault.

    `methods` are the vendor method names an entry may name (a typo is refused at
    start, with the closest name, rather than never delaying anything)."""
    delays: list[Delay] = []
    seen: set[str | None] = set()
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        method_text, equals, delay_text = entry.rpartition("=")
        method = method_text.strip() if equals else None
        if method == "":
            raise ValueError(f"{entry!r}: a method name is missing before '='")
        if method is not None and method not in methods:
            raise ValueError(
                f"{unknown_method(method, methods)}; methods are named as in fault rules' "
                "match.method"
            )
        if method in seen:
            raise ValueError(f"{entry!r}: {method or 'the default delay'} is given twice")
        seen.add(method)
        low, high = _parse_delay(delay_text.strip(), entry)
        delays.append(Delay(method, low, high))
    return tuple(delays)


def _parse_delay(text: str, entry: str) -> tuple[float, float]:
    found = _DELAY.fullmatch(text)
    if found is None:
        raise ValueError(
            f"{entry!r}: expected [METHOD=]N or [METHOD=]N-M in milliseconds "
            "(`ms` optional, `s` for seconds), e.g. 20-50 or tasks/status=0.2s"
        )
    low_number, low_unit, high_number, high_unit = found.groups()
    if high_number is None:
        high_number, high_unit = low_number, low_unit
    low = float(low_number) * _MS_PER[low_unit or high_unit or "ms"]
    high = float(high_number) * _MS_PER[high_unit or "ms"]
    if low > high:
        raise ValueError(f"{entry!r}: the lower bound {low:g} ms is above the upper {high:g} ms")
    if high > MAX_DELAY_MS:
        raise ValueError(f"{entry!r}: at most {MAX_DELAY_MS:g} ms (10 minutes), got {high:g} ms")
    return low, high


class Latency:
    """The delays by vendor method; built only when `--latency` is set, so a request
    without one costs nothing but a check for None."""

    def __init__(self, delays: Sequence[Delay], rng: Random) -> None:
        self._rng = rng
        self._by_method = {delay.method: delay for delay in delays if delay.method is not None}
        self._default = next((delay for delay in delays if delay.method is None), None)

    def for_method(self, method: str) -> Delay | None:
        return self._by_method.get(method, self._default)

    def seconds(self, method: str) -> float:
        """This request's delay, drawn uniformly between the entry's bounds."""
        delay = self.for_method(method)
        if delay is None:
            return 0.0
        low, high = delay.min_ms, delay.max_ms
        return (low if low == high else self._rng.uniform(low, high)) / 1000.0

    async def wait(self, method: str) -> None:
        seconds = self.seconds(method)
        if seconds > 0:
            await asyncio.sleep(seconds)
