"""The Testcontainers module against the image built here, and the example in
examples/ that uses it, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mockserver.testing import ControlError
from tests.image.engine import ROOT

# Ryuk, Testcontainers' reaper, is an image from Docker Hub; the tests remove
# their containers themselves.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from mockserver.testcontainers import AltcraftMockContainer


def test_the_container_starts_healthy_and_takes_its_settings(built):
    with AltcraftMockContainer(
        built.image, progression="manual", mode="permissive", admin_token="s3cret", seed=7
    ) as mock:
        health = mock.control.health()
        assert health["status"] == "ok"
        assert (health["settings"]["progression"], health["settings"]["mode"]) == (
            "manual",
            "permissive",
        )
        assert health["settings"]["seed"] == 7
        answer = mock.control.api(
            "workflows/import_and_start_batch_task",
            {"workflow_id": 2, "data": [{"data": {"email": "tc@example.com"}}]},
        )
        assert answer["error"] == 0, answer
        # manual progression; the control client carries the admin token
        assert mock.control.task(answer["task_id"])["status"] == "queued"
        mock.control.complete(answer["task_id"])
        assert mock.control.profiles(email="tc@example.com")
        with pytest.raises(ControlError) as refused:
            type(mock.control)(mock.url).tasks()  # the same URL without the admin token
        assert refused.value.status == 401


def test_an_unknown_setting_is_refused_before_anything_starts():
    with pytest.raises(ValueError, match="'progresion' is not a setting"):
        AltcraftMockContainer("altcraft-mock:test", settings={"progresion": "instant"})


def test_the_example_runs_against_the_image(built):
    example = ROOT / "examples" / "tests" / "test_with_testcontainers.py"
    environment = {**os.environ, "ALTCRAFT_MOCK_IMAGE": built.image}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", str(example)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout and "skipped" not in run.stdout, run.stdout
