"""The least per-item work an import can do in CPython, timed in the bench process.

Not the mock: a lower bound for any pure-Python import of the same items. Per
item it checks the item's shape and email (one regex), looks the email up in a
dict, makes a profile id and a profile document (a copy of the fields), files
it in two dicts and records a result. The mock does more for each item (every
field checked by its type, phones, matching modes, engagements, the change
log), so its import time over this floor says what the rules cost, and this
floor over the baseline's parse time says how far a 4x target is from what
CPython can do at all.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from typing import Any

import orjson

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def least_import(items: list[Any], rng: random.Random) -> list[dict[str, str]]:
    emails: dict[str, str] = {}
    table: dict[str, dict[str, Any]] = {}
    results: list[dict[str, str]] = []
    for raw in items:
        data = raw.get("data") if type(raw) is dict else None
        email = data.get("email") if type(data) is dict else None
        if type(email) is not str or not _EMAIL.match(email):
            results.append({"error": "400"})
            continue
        key = email.lower()
        profile_id = emails.get(key)
        if profile_id is None:
            profile_id = emails[key] = f"{rng.getrandbits(96):024x}"
            table[profile_id] = {"id": profile_id, "data": dict(data), "subscriptions": []}
        else:
            table[profile_id]["data"].update(data)
        results.append({"profile_id": profile_id})
    return results


def floor_seconds(body: bytes, runs: int) -> float:
    """Median time to parse the body (orjson) and run `least_import` over its items."""
    times = []
    for run in range(runs):
        started = time.perf_counter()
        least_import(orjson.loads(body)["data"], random.Random(run))
        times.append(time.perf_counter() - started)
    return statistics.median(times)
