"""The Dockerfile, checked without a Docker engine (`make image-test` builds and
runs the image itself, tests/image): its invariants are parsed, and the Python
commands of its RUN / CMD / HEALTHCHECK lines run in a fresh virtualenv, with
COPY done by hand."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    return [(line.split()[0].upper(), line.split(None, 1)[1]) for line in lines[last_from:]]


def values(kind: str) -> list[str]:
    return [args for instruction, args in instructions() if instruction == kind]


def exec_form(args: str) -> list[str]:
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def env() -> dict[str, str]:
    found: dict[str, str] = {}
    for args in values("ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            found[key] = value
    return found


def test_final_stage_invariants():
    assert values("FROM")[-1] == "${BASE_IMAGE}"
    text = DOCKERFILE.read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim" in text.split("FROM", 1)[0]  # the default base
    assert values("USER") and values("USER")[-1] not in ("root", "0")
    assert values("EXPOSE") == ["8080"]
    assert any("/data" in v for v in values("VOLUME"))
    assert env()["ALTCRAFT_MOCK_HOST"] == "0.0.0.0"
    assert env()["ALTCRAFT_MOCK_DB"].startswith("/data/")
    assert "python -m mockserver --help" in values("RUN")
    healthcheck = values("HEALTHCHECK")[-1]
    assert "CMD" in healthcheck and "curl" not in healthcheck and "wget" not in healthcheck
    assert exec_form(healthcheck.split("CMD", 1)[1].strip()) == [
        "python",
        "-m",
        "mockserver",
        "healthcheck",
    ]
    assert exec_form(values("CMD")[-1]) == ["python", "-m", "mockserver", "serve"]
    assert values("STOPSIGNAL") == ["SIGTERM"]


def test_commands_run_in_a_fresh_virtualenv(tmp_path):
    # COPY: lay out the build context the way the Dockerfile does, under a fake /src.
    src = tmp_path / "src"
    src.mkdir()
    for args in values("COPY"):
        *sources, target = shlex.split(args)
        for source in sources:
            origin, dest = ROOT / source, src / Path(target).relative_to("/src")
            if origin.is_dir():
                shutil.copytree(origin, dest, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy(origin, dest / origin.name)
    data = tmp_path / "data"
    data.mkdir()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    environment = {**os.environ, **env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    environment["ALTCRAFT_MOCK_DB"] = environment["ALTCRAFT_MOCK_DB"].replace("/data", str(data))
    environment.pop("PYTHONPATH", None)
    # As on the default base (python:3.11-slim, no C compiler): a pure-Python install,
    # without mypyc's build of the import core (`make dist` checks a fresh build compiles).
    environment["ALTCRAFT_MOCK_PURE_PYTHON"] = "1"
    with socket.socket() as probe:  # the container's port, here a free one
        probe.bind(("127.0.0.1", 0))
        environment["ALTCRAFT_MOCK_PORT"] = str(probe.getsockname()[1])

    for command in values("RUN"):
        if command.startswith(("useradd", "groupadd")):
            continue  # system user set-up: covered by the invariants test
        command = command.replace("/src", str(src)).replace(" /data", f" {data}")
        subprocess.run(
            command,
            shell=True,
            check=True,
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            timeout=300,
        )

    assert not (src / "mockserver").exists(), "the RUN line removes the build context"
    server = subprocess.Popen(
        exec_form(values("CMD")[-1]),
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("listening on http://0.0.0.0:")
        healthcheck = exec_form(values("HEALTHCHECK")[-1].split("CMD", 1)[1].strip())
        checked = subprocess.run([*healthcheck, "--wait", "10"], env=environment, timeout=30)
        assert checked.returncode == 0
        server.send_signal(signal.SIGTERM)  # STOPSIGNAL
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
    assert (data / "store.json").exists(), "the store lives in the /data volume"
