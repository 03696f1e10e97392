"""Containers, networks and volumes for one test, removed after it even when it
fails; and the small HTTP helpers the image tests share."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.image.engine import Docker

MOCK_PORT = 8080  # the image's EXPOSE


@dataclass
class Container:
    docker: Docker
    name: str

    def inspect(self, template: str) -> str:
        return self.docker.out("inspect", "--format", template, self.name)

    def state(self) -> dict[str, Any]:
        return json.loads(self.inspect("{{json .State}}"))

    def health(self) -> str | None:
        return (self.state().get("Health") or {}).get("Status")

    def wait_healthy(self, timeout: float = 90) -> dict[str, Any]:
        """Until the image's HEALTHCHECK says healthy; the final State."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            status = (state.get("Health") or {}).get("Status")
            if status == "healthy":
                return state
            if status == "unhealthy" or not state["Running"] or time.monotonic() > deadline:
                raise AssertionError(f"{self.name} is {status}: {state}\n{self.logs()}")
            time.sleep(0.25)

    @property
    def url(self) -> str:
        """The published port on the host (`-p 127.0.0.1::8080`)."""
        published = self.docker.out("port", self.name, f"{MOCK_PORT}/tcp").splitlines()[0]
        return "http://" + published

    def logs(self) -> str:
        result = self.docker("logs", self.name, check=False)
        return result.stdout + result.stderr

    def exec(self, *command: str, user: str | None = None) -> str:
        as_user = ["--user", user] if user else []
        return self.docker.out("exec", *as_user, self.name, *command)


@dataclass
class Containers:
    """Runs containers, networks and volumes for one test and removes them after."""

    docker: Docker
    prefix: str = field(default_factory=lambda: f"altcraft-mock-test-{uuid.uuid4().hex[:8]}")
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def run(
        self,
        image: str,
        *args: str,
        env: dict[str, str] | None = None,
        publish: bool = True,
        command: tuple[str, ...] = (),
        files: dict[str, Path] | None = None,
    ) -> Container:
        """`docker run`; with `files` (path in the container -> host file), created,
        given the files by `docker cp` (no bind mount: the daemon may be remote),
        then started."""
        name = f"{self.prefix}-{len(self.containers)}"
        options = ["--name", name]
        if publish:
            options += ["--publish", f"127.0.0.1::{MOCK_PORT}"]
        for key, value in (env or {}).items():
            options += ["--env", f"{key}={value}"]
        self.containers.append(name)
        self.docker("create", *options, *args, image, *command)
        for target, source in (files or {}).items():
            self.docker("cp", str(source), f"{name}:{target}")
        self.docker("start", name)
        return Container(self.docker, name)

    def network(self) -> str:
        name = f"{self.prefix}-net"
        self.docker("network", "create", name)
        self.networks.append(name)
        return name

    def volume(self) -> str:
        name = f"{self.prefix}-data"
        self.docker("volume", "create", name)
        self.volumes.append(name)
        return name

    def remove_all(self) -> None:
        for name in self.containers:
            self.docker("rm", "--force", "--volumes", name, check=False)
        for name in self.networks:
            self.docker("network", "rm", name, check=False)
        for name in self.volumes:
            self.docker("volume", "rm", "--force", name, check=False)


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
