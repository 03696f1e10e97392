"""Sending the probes to one target (the real service, or the mock) and keeping
what came back.

Every request is a POST of the probe's bytes as `application/json`, never
redirected (a redirect is an answer worth reporting: clients re-send a redirected
POST as a GET), with a per-request timeout. A target that cannot be connected to
stops the check (`Unreachable`); an answer cut short, or none within the timeout,
is kept as an answer with a `problem`, and compared.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from mockserver import package_version
from mockserver.drift.probes import Probe, ProbeContext, missing_needs

#: Task statuses that end a poll loop whatever the status names are: a task has
#: ended when its `result` is no longer null (SPEC §4), or says so by name.
ENDED_WORDS = frozenset({"completed", "failed", "success", "error", "done", "finished"})
EXCERPT_CHARS = 200


class Unreachable(Exception):
    """The target could not be connected to: the check cannot go on."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP exchange: the status and the JSON body, or why there is none."""

    http_status: int | None = None
    body: Any = None  # the parsed JSON, when the body was JSON
    excerpt: str = ""  # the body's start, when it was not JSON
    problem: str | None = None  # no answer: why
    location: str | None = None  # where a redirect pointed

    @property
    def is_json_object(self) -> bool:
        return self.problem is None and isinstance(self.body, dict)

    @property
    def error(self) -> Any:
        return self.body.get("error") if self.is_json_object else None

    @property
    def error_text(self) -> Any:
        return self.body.get("error_text") if self.is_json_object else None

    def task_data(self) -> dict[str, Any] | None:
        """`data` of a tasks/status answer, when it has one."""
        data = self.body.get("data") if self.is_json_object else None
        return data if isinstance(data, dict) else None

    def task_status(self) -> str | None:
        data = self.task_data()
        status = data.get("status") if data else None
        return status if isinstance(status, str) else None

    def task_ended(self, ended_names: frozenset[str]) -> bool:
        data = self.task_data()
        if data is None:  # an error answer, or no answer: polling again will not help
            return True
        return data.get("result") is not None or self.task_status() in ended_names


@dataclass(frozen=True, slots=True)
class ProbeRun:
    """What one target answered to one probe: one answer, or every poll."""

    probe: Probe
    answers: tuple[Answer, ...] = ()
    not_sent: str | None = None  # why the probe was not sent to this target
    unfinished: bool = False  # polls: the task had not ended when polling stopped

    @property
    def last(self) -> Answer | None:
        return self.answers[-1] if self.answers else None


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # "real" or "mock"
    base_url: str  # without /api/v1.1

    def url(self, method: str) -> str:
        return f"{self.base_url}/api/v1.1/{method}"


@dataclass(frozen=True, slots=True)
class PollBounds:
    timeout: float  # seconds a task is polled at most
    first_delay: float = 0.25  # then doubled, up to max_delay
    max_delay: float = 2.0


class Sender:
    """Sends probes to one target over one aiohttp session."""

    def __init__(self, target: Target, session: aiohttp.ClientSession, timeout: float) -> None:
        self.target = target
        self.session = session
        self.timeout = timeout
        self.sent = 0

    async def send(self, probe: Probe, payload: bytes) -> Answer:
        url = self.target.url(probe.method)
        first = self.sent == 0
        self.sent += 1
        try:
            async with self.session.post(
                url,
                data=payload,
                headers={"Content-Type": "application/json"},
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                raw = await response.read()
                return _answer(response.status, raw, response.headers.get("Location"))
        except aiohttp.ClientConnectorError as exc:  # refused, no such name, TLS refused
            raise Unreachable(f"cannot connect to {self.target.base_url}: {_reason(exc)}") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            if first:  # the very first request: nothing answers there
                raise Unreachable(
                    f"no answer from {self.target.base_url}: {_reason(exc)}"
                ) from None
            if isinstance(exc, TimeoutError):
                return Answer(problem=f"no answer within {self.timeout:g} s")
            return Answer(problem=f"the connection ended without an answer ({_reason(exc)})")


def _answer(status: int, raw: bytes, location: str | None) -> Answer:
    try:
        body = json.loads(raw)
    except ValueError:
        text = raw[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")[:EXCERPT_CHARS]
        return Answer(http_status=status, excerpt=text, location=location)
    return Answer(http_status=status, body=body, location=location)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def run_probes(
    sender: Sender,
    probes: Sequence[Probe],
    context: ProbeContext,
    *,
    allow_writes: bool,
    bounds: PollBounds,
    ended_names: frozenset[str],
) -> list[ProbeRun]:
    """Send each probe in order; a probe that cannot be sent says why."""
    runs: list[ProbeRun] = []
    task_id: str | None = None
    for probe in probes:
        missing = missing_needs(probe, context, allow_writes)
        if missing:
            runs.append(ProbeRun(probe, not_sent="needs " + " and ".join(missing)))
            continue
        if probe.polls_task:
            runs.append(await _poll(sender, probe, context, task_id, bounds, ended_names))
            continue
        answer = await sender.send(probe, probe.payload(context, task_id))
        if probe.starts_task:
            task_id = _task_id(answer)
        runs.append(ProbeRun(probe, (answer,)))
    return runs


def _task_id(answer: Answer) -> str | None:
    value = answer.body.get("task_id") if answer.is_json_object else None
    return value if isinstance(value, str) and value else None


async def _poll(
    sender: Sender,
    probe: Probe,
    context: ProbeContext,
    task_id: str | None,
    bounds: PollBounds,
    ended_names: frozenset[str],
) -> ProbeRun:
    if task_id is None:
        return ProbeRun(probe, not_sent="the import answered no task_id")
    answers: list[Answer] = []
    deadline = time.monotonic() + bounds.timeout
    delay = bounds.first_delay
    while True:
        answer = await sender.send(probe, probe.payload(context, task_id))
        answers.append(answer)
        if answer.task_ended(ended_names):
            return ProbeRun(probe, tuple(answers))
        if time.monotonic() + delay > deadline:
            return ProbeRun(probe, tuple(answers), unfinished=True)
        await asyncio.sleep(delay)
        delay = min(delay * 2, bounds.max_delay)


def client_session(*, through_proxy: bool) -> aiohttp.ClientSession:
    """`through_proxy`: HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured (for the
    real service, often reached through a company proxy; never for the local mock)."""
    return aiohttp.ClientSession(
        headers={"User-Agent": f"altcraft-mock-drift/{package_version()}"},
        # A connection per probe: none is reused after an answer that cut a body short
        # (the one over the limit), nor raced by a server closing an idle keep-alive.
        connector=aiohttp.TCPConnector(limit=1, force_close=True),
        trust_env=through_proxy,
    )
