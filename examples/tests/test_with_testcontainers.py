"""The same client against the Docker image, started by Testcontainers
(`pip install altcraft-mock[testcontainers]`) instead of the plugin's process.

The image is `altcraft-mock:latest` (`docker build -t altcraft-mock .`) or the
one ALTCRAFT_MOCK_IMAGE names. Where Testcontainers' reaper image (Ryuk)
cannot be pulled, set TESTCONTAINERS_RYUK_DISABLED=true. Without Docker, or
without the image, these tests skip and say why.
"""

from __future__ import annotations

import os

import pytest
from altcraft_client import AltcraftClient

containers = pytest.importorskip(
    "mockserver.testcontainers", reason="needs the testcontainers extra"
)
docker_errors = pytest.importorskip("docker.errors")

IMAGE = os.environ.get("ALTCRAFT_MOCK_IMAGE", containers.DEFAULT_IMAGE)


@pytest.fixture(scope="module")
def mock_container():
    """One container for the module; each test resets it, as the plugin's fixture does."""
    try:
        container = containers.AltcraftMockContainer(IMAGE, progression="instant")
        container.start()
    except docker_errors.DockerException as why:  # no engine, no image, no Ryuk image
        pytest.skip(f"Testcontainers cannot start {IMAGE} (docker build -t altcraft-mock .): {why}")
    try:
        yield container
    finally:
        container.stop()


@pytest.fixture
def mock(mock_container):
    mock_container.control.reset()
    return mock_container


def test_an_import_completes_against_the_container(mock):
    client = AltcraftClient(mock.url, mock.token)

    report = client.import_profiles(2, [{"_fname": "Herbert", "email": "herbert@example.com"}])

    assert report.item_errors == {}
    assert [p["id"] for p in mock.control.profiles(email="herbert@example.com")] == (
        report.profile_ids
    )


def test_a_fault_set_through_the_control_client_reaches_the_client(mock):
    client = AltcraftClient(mock.url, mock.token, retries=2)
    client.sleep = lambda seconds: None
    batch = "workflows/import_and_start_batch_task"
    mock.control.add_fault("error", error=503, times=1, match={"method": batch})

    client.import_profiles(2, [{"_fname": "Bert", "email": "bert@example.com"}])

    assert [entry["error"] for entry in mock.control.requests(method=batch)] == [503, 0]
