"""Fixtures of the image tests: the daemon, the built image, and containers,
networks and volumes that are removed after each test even when it fails.

`make image-test` installs what is missing (scripts/ensure-docker.sh) and sets
IMAGE_TESTS_START_DOCKERD=1, so a daemon is started when none answers (and
stopped at the end). Under `make test` they run only when a daemon already
answers, and otherwise skip, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.image.containers import Containers
from tests.image.engine import (
    START_DAEMON_ENV,
    Daemon,
    Docker,
    EngineUnavailable,
    base_image,
    build_image,
    build_lock,
    docker_client,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is `image` (and `slow`: tests/conftest.py's SLOW_PATHS), with
    the time the first one may spend making the base and building the image."""
    for item in items:
        if "tests/image/" in item.nodeid:
            item.add_marker(pytest.mark.image)
            item.add_marker(pytest.mark.timeout(1800))


@pytest.fixture(scope="session")
def docker() -> Iterator[Docker]:
    try:
        client = docker_client()
        daemon = Daemon.ensure(client, may_start=os.environ.get(START_DAEMON_ENV) == "1")
    except EngineUnavailable as why:
        pytest.skip(f"image tests: {why}")
    try:
        yield client
    finally:
        daemon.stop()


@dataclass(frozen=True)
class Built:
    image: str
    base: str


@pytest.fixture(scope="session")
def built(docker: Docker) -> Built:
    """The project's image on python:3.11-slim, or on the stand-in base where no
    registry answers (made once, then cached by the daemon)."""
    with build_lock():
        try:
            base = base_image(docker)
        except EngineUnavailable as why:
            pytest.skip(f"image tests: {why}")
        return Built(build_image(docker, base), base)


@pytest.fixture
def containers(docker: Docker) -> Iterator[Containers]:
    made = Containers(docker)
    try:
        yield made
    finally:
        made.remove_all()
