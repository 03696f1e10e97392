"""The service-container pattern of GitHub Actions' and GitLab's `services:`:
the mock on a user-defined network under the name `altcraft-mock`, and the
examples' client tests run from a second container against
http://altcraft-mock:8080 (the plugin reads ALTCRAFT_MOCK_URL)."""

from __future__ import annotations

from pathlib import Path

from mockserver.testing import ControlClient
from tests.image.containers import Containers
from tests.image.engine import ROOT, Docker

EXAMPLES = ROOT / "examples"
EXAMPLES_DOCKERFILE = Path(__file__).with_name("examples.Dockerfile")


def test_the_examples_pass_from_another_container_on_the_network(
    built, containers: Containers, docker: Docker
):
    client_image = f"{built.image}-examples"
    docker(
        "build",
        "--file",
        str(EXAMPLES_DOCKERFILE),
        "--build-arg",
        f"IMAGE={built.image}",
        "--tag",
        client_image,
        str(EXAMPLES),
        timeout=900,
    )
    network = containers.network()
    mock = containers.run(built.image, "--network", network, "--network-alias", "altcraft-mock")
    mock.wait_healthy()

    client = containers.run(
        client_image,
        "--network",
        network,
        env={"ALTCRAFT_MOCK_URL": "http://altcraft-mock:8080"},
        publish=False,
    )
    exit_code = docker.out("wait", client.name, timeout=600)
    output = client.logs()

    assert exit_code == "0", output
    assert " passed" in output and "failed" not in output, output
    # The calls reached the service container: its journal holds the last test's.
    assert ControlClient(mock.url).requests(), output
