"""`make bench`: altcraft-mock against a bare aiohttp baseline, in one run.

Every figure is a median of several runs and is reported as a ratio against
the baseline app (bench/baseline_app.py) measured in the same run on the same
machine; absolute times are printed too. Results: a table on stdout and
bench/results/latest.json. BENCH_QUICK=1 shortens every scenario (for a
smoke run); the targets are judged on a full run.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import wrk
from floor import floor_seconds

import mockserver.domain.batch
from mockserver.testing import MockServerProcess

HERE = Path(__file__).resolve().parent
#: The project's sources: the pure-Python build the import rows are also measured on.
SOURCES = HERE.parent
#: Which build runs: `make bench` runs the wheel `pip install .` makes (its import
#: core compiled by mypyc where the machine can, hatch_build.py), unpacked on PYTHONPATH.
COMPILED = not str(mockserver.domain.batch.__file__).endswith(".py")
BUILD = "wheel, import core compiled by mypyc" if COMPILED else "pure Python"
RESULTS = HERE / "results"
TOKEN = "abcdefghijklmnqrstuvwxyz"
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 3 if QUICK else 5
POLL_SECONDS = 2.0 if QUICK else 10.0
GROW_TARGET = 40_000 if QUICK else 200_000
BATCH = 10_000
SMALL_ITEMS = 20_000 if QUICK else 70_000  # about 10 MB with the envelope
#: The polling load generator: wrk when present or installable, else the Python client.
WRK = wrk.ensure_wrk()
DRIVER = "wrk" if WRK else "python client (no wrk: its own ceiling, ~4,500 req/s)"


# -- bodies ---------------------------------------------------------------------
def reference_items(count: int, offset: int = 0) -> list[dict[str, Any]]:
    """The reference page's item shape with a custom field (~140 bytes each)."""
    return [
        {
            "data": {
                "_fname": f"Name{n}",
                "_lname": "Lambert",
                "email": f"profile{n}@example.com",
                "phones": f"+7900{n:07d}",
                "CRM_ID": f"{n:08d}",
            }
        }
        for n in range(offset, offset + count)
    ]


def small_items(count: int, offset: int = 0) -> list[dict[str, Any]]:
    """Small profiles: 70,000 of them make a body just under the 10 MB limit."""
    return [
        {
            "data": {
                "_fname": f"N{n}",
                "_lname": "Lambert",
                "_city": "Saint Petersburg",
                "_tz": "+3",
                "email": f"user{n}@example.com",
                "phones": f"+7900{n:07d}",
            }
        }
        for n in range(offset, offset + count)
    ]


def batch_body(items: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"token": TOKEN, "workflow_id": 2, "matching": "email", "data": items})


# -- processes --------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_bytes(pid: int | None) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Server:
    """The baseline app as a process (the mock runs as a `MockServerProcess`)."""

    name: str
    command: list[str]
    process: subprocess.Popen[str] | None = None
    url: str = ""

    def start(self) -> Server:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"{self.name} did not start: {line!r}")
        self.url = line.split()[-1]
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


class MockServer(MockServerProcess):
    """The mock as `make run` would start it (mockserver.testing's harness): with
    default flags, or (`defaults` False) as the import scenarios need it: `instant`
    tasks, bodies up to 64 MB."""

    def __init__(
        self, name: str, db: str, *extra: str, defaults: bool = False, pure: bool = False
    ) -> None:
        tuned = [] if defaults else ["--progression", "instant", "--max-body-bytes", str(64 << 20)]
        # PYTHONSAFEPATH: `python -m` puts no working folder (the sources) ahead of the
        # build; `pure`: the sources themselves on PYTHONPATH instead of the build.
        env = {"PYTHONSAFEPATH": "1"} | ({"PYTHONPATH": str(SOURCES)} if pure else {})
        super().__init__([*tuned, *extra], db=db, env=env)
        self.name = name

    def start(self) -> MockServer:
        super().start()
        return self

    def runs_compiled(self) -> bool:
        """Whether the process has mypyc's shared library of the import core loaded."""
        with open(f"/proc/{self.pid}/maps") as maps:
            return "__mypyc" in maps.read()

    def stop(self, timeout: float = 30.0) -> int | None:
        returncode = super().stop(timeout)
        self.close()
        return returncode

    def rss_bytes(self) -> int:
        return rss_bytes(self.pid)


def mock_server(
    name: str, db: str, *extra: str, defaults: bool = False, pure: bool = False
) -> MockServer:
    return MockServer(name, db, *extra, defaults=defaults, pure=pure)


def baseline_server() -> Server:
    return Server("baseline", [sys.executable, str(HERE / "baseline_app.py"), str(free_port())])


# -- measurements -------------------------------------------------------------------
@dataclass
class Figure:
    scenario: str
    value: float
    baseline: float
    unit: str
    lower_is_better: bool = True
    target: float | None = None  # the ratio a target allows
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")

    def target_text(self, at_most: str = "<=", at_least: str = ">=") -> str:
        if self.target is None:
            return ""
        return (at_most if self.lower_is_better else at_least) + f"{self.target:g}"

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio <= self.target if self.lower_is_better else self.ratio >= self.target


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> dict[str, Any]:
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        return orjson.loads(await r.read())


async def import_until_seen(session: aiohttp.ClientSession, base: str, body: bytes) -> float:
    """First byte sent to `completed` seen on tasks/status (instant progression)."""
    started = time.perf_counter()
    answer = await post(session, f"{base}/api/v1.1/workflows/import_and_start_batch_task", body)
    status_body = orjson.dumps({"token": TOKEN, "task_id": answer["task_id"]})
    while True:
        status = await post(session, f"{base}/api/v1.1/tasks/status", status_body)
        if status["data"]["status"] == "completed":
            return time.perf_counter() - started


async def baseline_once(session: aiohttp.ClientSession, base: str, body: bytes) -> float:
    started = time.perf_counter()
    await post(session, f"{base}/api/v1.1/workflows/import_and_start_batch_task", body)
    return time.perf_counter() - started


async def median_of(runs: int, once: Callable[[], Awaitable[float]]) -> float:
    return statistics.median([await once() for _ in range(runs)])


async def poll_load(
    session: aiohttp.ClientSession, url: str, body: bytes, concurrency: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await post(session, url, body)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "requests": len(latencies),
    }


# -- scenarios -------------------------------------------------------------------------
async def big_imports(session: aiohttp.ClientSession, base: Server, tmp: Path) -> list[Figure]:
    """New profiles (distinct emails each run) and re-imports (all updates)."""
    figures = []
    kinds = {
        "10k reference items": lambda run: reference_items(BATCH, run * BATCH),
        # About 10 MB (the vendor's limit); BENCH_QUICK=1 sends 20,000 (2.8 MB).
        f"{SMALL_ITEMS // 1000}k small items": lambda run: small_items(
            SMALL_ITEMS, run * SMALL_ITEMS
        ),
    }
    # With a compiled build, the main case once more on the sources as pure Python
    # (an editable install, `make run`): what a machine without a C compiler gets.
    builds = [("file", False), ("file", True)] if COMPILED else [("file", False)]
    for store, pure in [("memory", False), *builds]:
        for label, items_for in kinds.items():
            if pure and not label.startswith("10k"):
                continue
            bodies = [batch_body(items_for(run)) for run in range(RUNS)]
            name = f"{store}-{len(bodies[0])}{'-pure' if pure else ''}.json"
            db = ":memory:" if store == "memory" else str(tmp / name)
            mock = mock_server(f"mock-{store}", db, pure=pure).start()
            if mock.runs_compiled() != (COMPILED and not pure):
                raise RuntimeError(f"{mock.name} does not run the build it is meant to")
            # Baseline and mock runs alternate, so both see the same phases of a
            # shared machine (its speed drifts by 2x over minutes here).
            baselines: list[float] = []
            baselines_again: list[float] = []
            new_runs: list[float] = []
            again_runs: list[float] = []
            try:
                for body in bodies:
                    baselines.append(await baseline_once(session, base.url, body))
                    new_runs.append(await import_until_seen(session, mock.url, body))
                for _ in bodies:
                    baselines_again.append(await baseline_once(session, base.url, bodies[-1]))
                    again_runs.append(await import_until_seen(session, mock.url, bodies[-1]))
            finally:
                mock.stop()
            baseline, new = statistics.median(baselines), statistics.median(new_runs)
            baseline_again, again = (
                statistics.median(baselines_again),
                statistics.median(again_runs),
            )
            main_case = store == "file" and label.startswith("10k") and not pure
            build = ", pure-Python build" if pure else ""
            if main_case:
                floors, floor_baselines = [], []
                for body in bodies:
                    floor_baselines.append(await baseline_once(session, base.url, body))
                    floors.append(floor_seconds(body, 1))
                figures.append(
                    Figure(
                        "pure-Python floor: parse + least per-item work (bench/floor.py)",
                        statistics.median(floors),
                        statistics.median(floor_baselines),
                        "s",
                    )
                )
            figures.append(
                Figure(
                    f"import {label}, {store} store (new){build}",
                    new,
                    baseline,
                    "s",
                    target=8.0 if main_case else None,
                    extra={"body_bytes": len(bodies[0])},
                )
            )
            figures.append(
                Figure(
                    f"re-import {label}, {store} store (updates){build}",
                    again,
                    baseline_again,
                    "s",
                    target=8.0 if main_case else None,
                )
            )
    return figures


async def finished_task_status(session: aiohttp.ClientSession, mock: MockServer) -> bytes:
    """A `tasks/status` body naming a task of two profiles the mock has made."""
    answer = await post(
        session,
        f"{mock.url}/api/v1.1/workflows/import_and_start_batch_task",
        batch_body(reference_items(2)),
    )
    return orjson.dumps({"token": TOKEN, "task_id": answer["task_id"]})


async def answer_once(session: aiohttp.ClientSession, url: str, body: bytes) -> float:
    started = time.perf_counter()
    await post(session, url, body)
    return time.perf_counter() - started


async def big_posts(session: aiohttp.ClientSession, base: Server, tmp: Path) -> list[Figure]:
    """How long a big batch task's POST takes to be answered (default flags: `polls`,
    so the answer comes once the task is stored, before any item is imported),
    against the baseline reading and parsing the same body."""
    figures = []
    mock = mock_server("mock-post", str(tmp / "post.json"), defaults=True).start()
    url = "/api/v1.1/workflows/import_and_start_batch_task"
    try:
        for label, items in (
            ("10k reference items", reference_items(BATCH)),
            (f"{SMALL_ITEMS // 1000}k small items", small_items(SMALL_ITEMS)),
        ):
            body = batch_body(items)
            if len(body) > 10 * 1024 * 1024:
                continue  # over the default body limit (only BENCH_QUICK changes sizes)
            ours, theirs = [], []
            for _ in range(RUNS):
                theirs.append(await answer_once(session, base.url + url, body))
                ours.append(await answer_once(session, mock.url + url, body))
            figures.append(
                Figure(
                    f"POST {label} answered (polls)",
                    statistics.median(ours),
                    statistics.median(theirs),
                    "s",
                    target=2.0,
                    extra={"body_bytes": len(body)},
                )
            )
    finally:
        mock.stop()
    return figures


async def growing_store(session: aiohttp.ClientSession, base: Server, tmp: Path) -> list[Figure]:
    mock = mock_server("mock-grow", str(tmp / "grow.json")).start()
    times, rss_start = [], mock.rss_bytes()
    try:
        body0 = batch_body(reference_items(BATCH))
        baseline = await median_of(RUNS, lambda: baseline_once(session, base.url, body0))
        for offset in range(0, GROW_TARGET, BATCH):
            body = batch_body(reference_items(BATCH, offset))
            times.append(await import_until_seen(session, mock.url, body))
        rss_end = mock.rss_bytes()
    finally:
        mock.stop()
    first, last = statistics.median(times[:3]), statistics.median(times[-3:])
    per_profile = (rss_end - rss_start) / GROW_TARGET
    return [
        Figure(
            f"growing store: last vs first batch (to {GROW_TARGET:,} profiles)",
            last,
            first,
            "s",
            target=1.3,
            extra={"per_batch_s": [round(t, 4) for t in times], "baseline_parse_s": baseline},
        ),
        Figure(
            "memory per stored profile (RSS growth / profiles)",
            per_profile,
            2048,
            "bytes",
            target=1.0,
            extra={"rss_start": rss_start, "rss_end": rss_end},
        ),
    ]


POLL_WINDOWS = 3  # wrk windows per server and concurrency, baseline and mock alternating


async def poll_windows(
    session: aiohttp.ClientSession, url: str, body: bytes, connections: int
) -> dict[str, Any]:
    """One window of polling `url`: wrk when there is one, else the Python client."""
    if WRK is not None:
        return (await wrk.load(WRK, url, body, connections, POLL_SECONDS)).to_doc()
    return await poll_load(session, url, body, connections, POLL_SECONDS)


def median_load(windows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        key: statistics.median(window[key] for window in windows)
        for key in ("rps", "p50_ms", "p99_ms")
    } | {"windows": windows}


async def status_polling(session: aiohttp.ClientSession, base: Server) -> list[Figure]:
    """`tasks/status` of a finished task, default flags, file store: req/s and p99."""
    with tempfile.TemporaryDirectory() as tmp:
        mock = mock_server("mock-poll", f"{tmp}/poll.json", defaults=True).start()
        figures = []
        try:
            body = await finished_task_status(session, mock)
            url = "/api/v1.1/tasks/status"
            for _ in range(2):  # `polls` mode: two polls end the task
                await post(session, mock.url + url, body)
            for concurrency in (1, 32):
                ours, theirs = [], []
                for _ in range(POLL_WINDOWS):
                    theirs.append(await poll_windows(session, base.url + url, body, concurrency))
                    ours.append(await poll_windows(session, mock.url + url, body, concurrency))
                mine, baseline = median_load(ours), median_load(theirs)
                figures += [
                    Figure(
                        f"status polling c={concurrency}: requests/s",
                        mine["rps"],
                        baseline["rps"],
                        "req/s",
                        lower_is_better=False,
                        target=0.8,
                        extra={"mock": mine, "baseline_load": baseline, "driver": DRIVER},
                    ),
                    Figure(
                        f"status polling c={concurrency}: p99",
                        mine["p99_ms"],
                        baseline["p99_ms"],
                        "ms",
                        target=1.5,
                        extra={"p50_ms": mine["p50_ms"], "baseline_p50_ms": baseline["p50_ms"]},
                    ),
                ]
        finally:
            mock.stop()
    return figures


async def sequential_ms(session: aiohttp.ClientSession, url: str, body: bytes, runs: int) -> float:
    """The median latency of `runs` requests sent one after another, in ms."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await post(session, url, body)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def reset_latency(session: aiohttp.ClientSession, base: Server) -> list[Figure]:
    """`POST /_mock/reset` with the shipped fixture after a small import, against one
    status poll of the same server in the same run (what a per-test reset costs)."""
    with tempfile.TemporaryDirectory() as tmp:
        mock = mock_server("mock-reset", f"{tmp}/reset.json", defaults=True).start()
        try:
            status = orjson.dumps({"token": TOKEN, "task_id": "00000000-0000-4000-8000-0"})
            import_url = f"{mock.url}/api/v1.1/workflows/import_and_start_batch_task"
            resets = []
            for _ in range(50 if QUICK else 200):
                await post(session, import_url, batch_body(reference_items(3)))
                started = time.perf_counter()
                await post(session, f"{mock.url}/_mock/reset", b"{}")
                resets.append(time.perf_counter() - started)
            reset_ms = statistics.median(resets) * 1000
            poll_ms = await sequential_ms(
                session, f"{mock.url}/api/v1.1/tasks/status", status, 200 if QUICK else 1000
            )
        finally:
            mock.stop()
    return [
        Figure(
            "reset after a small import: median latency",
            reset_ms,
            1.0,
            "ms",
            target=1.0,
            extra={"note": "baseline column: the 1 ms target itself"},
        ),
        Figure(
            "reset after a small import: in status polls",
            reset_ms,
            poll_ms,
            "ms",
            target=10.0,
            extra={"status_poll_ms": poll_ms},
        ),
    ]


async def start_up(base_started: float, base_rss: int) -> list[Figure]:
    """Seconds from the command to "listening", and the idle RSS, default flags."""
    times, sizes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(RUNS):
            started = time.perf_counter()
            mock = mock_server("mock-start", f"{tmp}/start-{run}.json", defaults=True).start()
            times.append(time.perf_counter() - started)
            await asyncio.sleep(0.5)
            sizes.append(mock.rss_bytes())
            mock.stop()
    return [
        Figure(
            "start-up to listening (target <= 0.5 s)",
            statistics.median(times),
            base_started,
            "s",
            extra={"limit_s": 0.5, "met_absolute": statistics.median(times) <= 0.5},
        ),
        Figure(
            "idle RSS (target <= 60 MB)",
            statistics.median(sizes) / 2**20,
            base_rss / 2**20,
            "MB",
            extra={"limit_mb": 60, "met_absolute": statistics.median(sizes) <= 60 * 2**20},
        ),
    ]


async def mixed(session: aiohttp.ClientSession, base: Server) -> list[Figure]:
    mock = mock_server("mock-mixed", ":memory:").start()
    try:
        status_body = await finished_task_status(session, mock)
        status_url = f"{mock.url}/api/v1.1/tasks/status"
        idle = await poll_windows(session, status_url, status_body, 32)
        deadline = time.perf_counter() + POLL_SECONDS
        imports: list[float] = []

        async def importer(n: int) -> None:
            offset = 1_000_000 + n * 1_000_000
            while time.perf_counter() < deadline:
                body = batch_body(reference_items(1_000, offset))
                offset += 1_000
                imports.append(await import_until_seen(session, mock.url, body))

        # The importers keep the Python client; the pollers are wrk (when there is one).
        pollers = poll_windows(session, status_url, status_body, 32)
        results = await asyncio.gather(pollers, *(importer(n) for n in range(8)))
        busy = results[0]
    finally:
        mock.stop()
    return [
        Figure(
            "mixed: status p99 while 8 clients import vs idle p99",
            busy["p99_ms"],
            idle["p99_ms"],
            "ms",
            target=5.0,
            extra={
                "busy": busy,
                "idle": idle,
                "imports": len(imports),
                "import_p50_s": statistics.median(imports) if imports else None,
                "driver": DRIVER,
            },
        ),
    ]


def table(figures: list[Figure]) -> str:
    rows = [f"{'scenario':<62} {'mock':>14} {'baseline':>14} {'ratio':>7} {'target':>8}  met"]
    for f in figures:
        target = f.target_text()
        met = {None: "", True: "yes", False: "NO"}[f.met]
        rows.append(
            f"{f.scenario:<62} {f.value:>8.4g} {f.unit:<5} {f.baseline:>8.4g} {f.unit:<5}"
            f" {f.ratio:>7.2f} {target:>8}  {met}"
        )
    return "\n".join(rows)


def markdown(figures: list[Figure]) -> str:
    """The table as bench/README.md shows it."""
    rows = ["| scenario | mock | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    for f in figures:
        target = f.target_text("≤ ", "≥ ")
        met = {None: "", True: "yes", False: "no"}[f.met]
        rows.append(
            f"| {f.scenario} | {f.value:.4g} {f.unit} | {f.baseline:.4g} {f.unit} "
            f"| {f.ratio:.2f} | {target} | {met} |"
        )
    return "\n".join(rows) + "\n"


#: `BENCH_ONLY=mixed,reset make bench`: only these scenarios (names as below), for
#: looking at one figure again; the results files are then left as they were.
ONLY = {name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()}
SCENARIOS = ("start_up", "big_posts", "big_imports", "growing_store", "polling", "reset", "mixed")


def chosen(name: str) -> bool:
    return not ONLY or name in ONLY


async def main() -> int:
    unknown = ONLY - set(SCENARIOS)
    if unknown:
        print(f"BENCH_ONLY: no scenario {sorted(unknown)}; one of {', '.join(SCENARIOS)}")
        return 2
    RESULTS.mkdir(exist_ok=True)
    print(f"measuring: {BUILD} ({Path(mockserver.domain.batch.__file__).parent.parent})")
    started = time.perf_counter()
    base = baseline_server().start()
    base_started = time.perf_counter() - started
    await asyncio.sleep(0.5)
    base_rss = rss_bytes(base.process.pid if base.process else None)
    figures: list[Figure] = []
    if chosen("start_up"):
        figures += await start_up(base_started, base_rss)
    try:
        timeout = aiohttp.ClientTimeout(total=600)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            with tempfile.TemporaryDirectory() as tmp_name:
                tmp = Path(tmp_name)
                for scenario in (big_posts, big_imports, growing_store):
                    if chosen(scenario.__name__):
                        figures += await scenario(session, base, tmp)
                        print(table(figures), "\n", flush=True)
            if chosen("polling"):
                figures += await status_polling(session, base)
            if chosen("reset"):
                figures += await reset_latency(session, base)
            if chosen("mixed"):
                figures += await mixed(session, base)
    finally:
        base.stop()
    print(table(figures))
    if ONLY:
        return 0
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "quick": QUICK,
        "build": BUILD,
        "polling_driver": DRIVER,
        "runs_per_figure": RUNS,
        "figures": [
            {
                "scenario": f.scenario,
                "value": f.value,
                "baseline": f.baseline,
                "unit": f.unit,
                "ratio": f.ratio,
                "target": f.target,
                "met": f.met,
                **f.extra,
            }
            for f in figures
        ],
    }
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    (RESULTS / "latest.md").write_text(markdown(figures))
    print(f"\nwritten: {RESULTS / 'latest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
