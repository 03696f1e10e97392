"""A small Altcraft client, written the way a client team would write one."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

RETRYABLE_CODES = frozenset({429, 500, 502, 503})


class AltcraftError(RuntimeError):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


class TaskFailed(AltcraftError):
    """The import task ended as failed."""


@dataclass
class ImportReport:
    task_id: str
    profile_ids: list[str | None]  # per item, None where the item failed
    item_errors: dict[int, str]  # item index -> error text


class AltcraftClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        retries: int = 3,
        backoff: float = 0.0,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.session = session or requests.Session()
        self.sleep = time.sleep  # tests may replace it

    def call(self, method: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """One API call with retries; raises AltcraftError for a final error."""
        payload = {"token": self.token, **body}
        last_problem: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * attempt)
            try:
                response = self.session.post(
                    f"{self.base_url}/api/v1.1/{method}", json=payload, timeout=self.timeout
                )
            except requests.ConnectionError as problem:  # dropped connection
                last_problem = problem
                continue
            if response.status_code == 429:
                self.sleep(float(response.headers.get("Retry-After", "1")))
                last_problem = AltcraftError(429, "Too many requests")
                continue
            try:
                answer = response.json()
            except ValueError as problem:  # malformed or truncated answer
                last_problem = problem
                continue
            if answer.get("error") in RETRYABLE_CODES:
                last_problem = AltcraftError(answer["error"], answer.get("error_text", ""))
                continue
            if answer.get("error"):
                raise AltcraftError(answer["error"], answer.get("error_text", ""))
            return answer
        raise AltcraftError(0, f"gave up after {self.retries + 1} attempts: {last_problem}")

    def start_import(
        self, workflow_id: int, profiles: Iterable[Mapping[str, Any]], matching: str = "email"
    ) -> str:
        answer = self.call(
            "workflows/import_and_start_batch_task",
            {
                "workflow_id": workflow_id,
                "matching": matching,
                "data": [{"data": dict(profile)} for profile in profiles],
            },
        )
        return answer["task_id"]

    def wait(self, task_id: str, poll_interval: float = 0.0, max_polls: int = 100) -> ImportReport:
        for _ in range(max_polls):
            data = self.call("tasks/status", {"task_id": task_id})["data"]
            if data["status"] == "completed":
                return _report(task_id, data["result"]["result"])
            if data["status"] == "failed":
                raise TaskFailed(data["result"]["error"], data["result"]["error_text"])
            self.sleep(poll_interval)
        raise TimeoutError(f"task {task_id} still running after {max_polls} polls")

    def import_profiles(
        self, workflow_id: int, profiles: Iterable[Mapping[str, Any]]
    ) -> ImportReport:
        return self.wait(self.start_import(workflow_id, profiles))


def _report(task_id: str, results: list[dict[str, Any]]) -> ImportReport:
    return ImportReport(
        task_id=task_id,
        profile_ids=[entry.get("profile_id") for entry in results],
        item_errors={i: e["error_text"] for i, e in enumerate(results) if "error" in e},
    )
