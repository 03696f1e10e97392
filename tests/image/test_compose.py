"""`docker compose up` with the shipped docker-compose.yml gives a healthy
service (Compose v2 when the docker CLI has it, else Debian's docker-compose v1)."""

from __future__ import annotations

import os
import uuid

import pytest

from mockserver.testing import ControlClient
from tests.image.containers import Container, free_port
from tests.image.engine import ROOT, Docker


def test_compose_up_gives_a_healthy_service(built, docker: Docker):
    compose = docker.compose()
    if compose is None:
        pytest.skip("neither `docker compose` nor `docker-compose` (make image-test installs it)")
    port = free_port()
    project = f"altcraft-mock-test-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        "ALTCRAFT_MOCK_IMAGE": built.image,  # the build below re-tags the tested image
        "BASE_IMAGE": built.base,
        "ALTCRAFT_MOCK_PUBLISHED_PORT": str(port),
    }
    command = [*compose, "--file", str(ROOT / "docker-compose.yml"), "--project-name", project]

    def run(*args: str) -> str:
        done = docker.run_command([*command, *args], cwd=ROOT, env=environment, timeout=900)
        return done.stdout.strip()

    try:
        run("up", "--detach", "--build")
        service = Container(docker, run("ps", "--quiet", "altcraft-mock"))
        service.wait_healthy()
        health = ControlClient(f"http://127.0.0.1:{port}").health()
        assert health["status"] == "ok"
        assert health["settings"]["progression"] == "polls"  # the file's environment
        assert health["settings"]["store"] == "/data/store.json"  # on the named volume
    finally:
        run("down", "--volumes")
