"""The image as a CI service container runs it: healthy by its own HEALTHCHECK,
configured by its environment, durable on its volume, lean and unprivileged."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from mockserver.testing import DEFAULT_TOKEN, ControlClient, ControlError
from tests.image.containers import Containers, post
from tests.image.engine import BUILD_DIR, Docker

BATCH = "workflows/import_and_start_batch_task"
PEOPLE = [  # the README's curl example
    {
        "_fname": "Herbert",
        "_lname": "Lambert",
        "email": "profile5@example.com",
        "phones": "+79000000000",
    },
    {
        "_fname": "Bert",
        "_lname": "Lambert",
        "email": "profile8@example.com",
        "phones": "+79000000000",
    },
]
EMAILS = {"profile5@example.com", "profile8@example.com"}
SIZE_BUDGET = 60 * 1000 * 1000  # bytes added over the base image (docker counts in SI units)


def _import(url: str, token: str = DEFAULT_TOKEN) -> dict:
    """The README's curl example: a batch for workflow 2 of the shipped fixture."""
    body = {
        "token": token,
        "workflow_id": 2,
        "matching": "email",
        "data": [{"data": person} for person in PEOPLE],
    }
    return post(f"{url}/api/v1.1/{BATCH}", body)


def _status(url: str, task_id: str, token: str = DEFAULT_TOKEN) -> dict:
    return post(f"{url}/api/v1.1/tasks/status", {"token": token, "task_id": task_id})


def _timestamp(text: str) -> datetime:
    """Docker's RFC 3339 times carry nanoseconds; Python reads microseconds."""
    match = re.fullmatch(r"(.+T[\d:]+)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    assert match, text
    whole, fraction, zone = match.groups()
    micro = (fraction or "").ljust(6, "0")[:6]
    return datetime.fromisoformat(f"{whole}.{micro}{'+00:00' if zone == 'Z' else zone}")


def test_it_turns_healthy_through_its_own_healthcheck_within_the_start_period(
    built, containers: Containers, docker: Docker
):
    mock = containers.run(built.image)

    state = mock.wait_healthy()

    config = json.loads(docker.out("image", "inspect", "--format", "{{json .Config}}", built.image))
    start_period = config["Healthcheck"]["StartPeriod"] / 1e9
    started = _timestamp(state["StartedAt"])
    first_pass = next(probe for probe in state["Health"]["Log"] if probe["ExitCode"] == 0)
    assert (_timestamp(first_pass["Start"]) - started).total_seconds() <= start_period
    assert state["Health"]["FailingStreak"] == 0

    # It serves the README's curl example: import, then poll until completed.
    answer = _import(mock.url)
    assert answer["error"] == 0, answer
    assert _status(mock.url, answer["task_id"])["data"]["status"] == "processing"
    done = _status(mock.url, answer["task_id"])["data"]
    assert done["status"] == "completed"
    assert len(done["result"]["result"]) == 2


def test_environment_variables_configure_it(built, containers: Containers):
    mock = containers.run(
        built.image,
        env={
            "ALTCRAFT_MOCK_PROGRESSION": "instant",
            "ALTCRAFT_MOCK_MODE": "permissive",
            "ALTCRAFT_MOCK_ADMIN_TOKEN": "s3cret",
        },
    )
    mock.wait_healthy()

    settings = ControlClient(mock.url).health()["settings"]
    assert (settings["progression"], settings["mode"]) == ("instant", "permissive")
    # permissive: an unknown token gets its own account; instant: done at the first poll
    answer = _import(mock.url, token="a-token-of-our-own")
    assert answer["error"] == 0, answer
    status = _status(mock.url, answer["task_id"], token="a-token-of-our-own")["data"]
    assert status["status"] == "completed"
    # the admin token guards /_mock/ (health aside)
    with pytest.raises(ControlError) as refused:
        ControlClient(mock.url).tasks()
    assert refused.value.status == 401
    assert len(ControlClient(mock.url, admin_token="s3cret").tasks()) == 1


def test_docker_stop_flushes_the_store_and_the_data_survives_on_the_named_volume(
    built, containers: Containers, docker: Docker
):
    volume = containers.volume()
    env = {"ALTCRAFT_MOCK_PROGRESSION": "instant"}
    first = containers.run(built.image, "--volume", f"{volume}:/data", env=env)
    first.wait_healthy()
    answer = _import(first.url)
    assert _status(first.url, answer["task_id"])["data"]["status"] == "completed"
    stored = ControlClient(first.url).profiles()

    docker("stop", "--time", "30", first.name)  # SIGTERM (STOPSIGNAL), SIGKILL after 30 s
    assert first.inspect("{{.State.ExitCode}}") == "0", first.logs()

    second = containers.run(built.image, "--volume", f"{volume}:/data", env=env)
    second.wait_healthy()
    assert ControlClient(second.url).profiles() == stored
    assert {p["data"]["email"] for p in stored} >= EMAILS
    assert ControlClient(second.url).task(answer["task_id"])["status"] == "completed"


def test_docker_kill_loses_no_acknowledged_task(built, containers: Containers, docker: Docker):
    volume = containers.volume()
    mock = containers.run(
        built.image, "--volume", f"{volume}:/data", env={"ALTCRAFT_MOCK_PROGRESSION": "manual"}
    )
    mock.wait_healthy()
    answer = _import(mock.url)
    assert answer["error"] == 0, answer  # acknowledged: 200 with a task id

    docker("kill", mock.name)  # SIGKILL: nothing gets to finish
    docker("start", mock.name)
    mock.wait_healthy()

    control = ControlClient(mock.url)  # a new host port after the restart
    assert control.task(answer["task_id"])["status"] == "queued"
    control.complete(answer["task_id"])
    assert _status(mock.url, answer["task_id"])["data"]["status"] == "completed"
    assert {p["data"]["email"] for p in control.profiles()} >= EMAILS


def test_it_runs_as_a_non_root_user_with_a_writable_store(built, containers: Containers):
    mock = containers.run(built.image)
    mock.wait_healthy()

    assert mock.exec("id", "-u") != "0"
    assert ControlClient(mock.url).health()["store"] == {"writable": True, "error": None}
    assert mock.exec("sh", "-c", "test -w /data/store.json && echo writable") == "writable"


def test_the_image_has_no_compiler_and_no_build_leftovers(built, docker: Docker):
    # As root, so no directory is hidden from the search.
    found = docker.out(
        "run",
        "--rm",
        "--user",
        "0",
        "--entrypoint",
        "sh",
        built.image,
        "-c",
        "for tool in cc gcc g++ c++ clang make ld; do command -v $tool; done;"
        " for dir in /src /root/.cache /home/mock/.cache /tmp/pip-*; do"
        " [ -e $dir ] && echo $dir; done; true",
    )
    assert found == ""


def test_the_image_adds_at_most_60_mb_over_its_base(built, docker: Docker, record_property):
    added = docker.image_size(built.image) - docker.image_size(built.base)
    report = f"{built.image}: {added / 1e6:.1f} MB over {built.base} (budget 60 MB)"
    record_property("image_size_over_base", added)
    BUILD_DIR.mkdir(exist_ok=True)
    (BUILD_DIR / "image-size.txt").write_text(report + "\n")
    print(report)
    assert added <= SIZE_BUDGET, report
