"""The Docker engine the image tests drive: the `docker` CLI, a daemon (started
when none answers and this machine can run one, stopped afterwards), the base
image (python:3.11-slim, or a stand-in made from Debian's packages when no
registry answers) and the project's image built on it.

Everything goes through the `docker` command line, the way a CI job uses it;
the Testcontainers module under test talks to the same daemon through its API.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / ".altcraft-mock"
OFFICIAL_BASE = "python:3.11-slim"  # the Dockerfile's default BASE_IMAGE
ROOTFS_IMAGE = "altcraft-mock-rootfs:bookworm"  # debootstrap --variant=minbase, imported
STAND_IN_BASE = "altcraft-mock-base:python3-bookworm"
STAND_IN_DOCKERFILE = Path(__file__).with_name("stand-in-base.Dockerfile")
IMAGE = "altcraft-mock:test"  # what the tests build from the Dockerfile
#: `make image-test` sets it: start `dockerd` when no daemon answers. Without
#: it (`make test`) the image tests run only against a daemon already running.
START_DAEMON_ENV = "IMAGE_TESTS_START_DOCKERD"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


class EngineUnavailable(Exception):
    """No Docker daemon can be had here; the message says why (the skip reason)."""


class DockerFailed(RuntimeError):
    def __init__(self, command: Sequence[str], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(
            f"{' '.join(command)} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        self.result = result


@dataclass(frozen=True)
class Docker:
    """The `docker` client against the daemon the environment names."""

    binary: str

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [self.binary, *args]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, input=stdin, check=False
        )
        if check and result.returncode != 0:
            raise DockerFailed(command, result)
        return result

    def run_command(
        self,
        command: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Another client of the same daemon (Compose), checked like `docker` calls."""
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise DockerFailed(command, result)
        return result

    def out(self, *args: str, timeout: float = 120) -> str:
        return self(*args, timeout=timeout).stdout.strip()

    def answers(self) -> bool:
        try:
            return (
                self(
                    "version", "--format", "{{.Server.Version}}", check=False, timeout=10
                ).returncode
                == 0
            )
        except subprocess.TimeoutExpired:
            return False

    def has_image(self, name: str) -> bool:
        return self("image", "inspect", name, check=False).returncode == 0

    def image_size(self, name: str) -> int:
        return int(self.out("image", "inspect", "--format", "{{.Size}}", name))

    def compose(self) -> list[str] | None:
        """Compose v2 (`docker compose`) when the CLI has it, else Debian's v1
        `docker-compose`, else None."""
        if self("compose", "version", check=False).returncode == 0:
            return [self.binary, "compose"]
        v1 = shutil.which("docker-compose")
        return [v1] if v1 else None


def docker_client() -> Docker:
    binary = shutil.which("docker")
    if binary is None:
        raise EngineUnavailable("no `docker` command (make image-test installs Debian's docker.io)")
    return Docker(binary)


class Daemon:
    """The Docker daemon the tests use; `stop()` stops it only if they started it."""

    def __init__(self, docker: Docker, process: subprocess.Popen[bytes] | None) -> None:
        self.docker = docker
        self.process = process

    @classmethod
    def ensure(cls, docker: Docker, *, may_start: bool) -> Daemon:
        if docker.answers():
            return cls(docker, None)
        if not may_start:
            raise EngineUnavailable(
                f"no Docker daemon answers (`make image-test` starts one; {START_DAEMON_ENV}=1 too)"
            )
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise EngineUnavailable("no Docker daemon answers and `dockerd` is not installed")
        if os.geteuid() != 0:
            raise EngineUnavailable("no Docker daemon answers, and starting dockerd needs root")
        BUILD_DIR.mkdir(exist_ok=True)
        log = BUILD_DIR / "dockerd.log"
        with log.open("ab") as sink:
            process = subprocess.Popen(
                [dockerd], stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 60
        while not docker.answers():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                tail = log.read_text(errors="replace")[-1500:]
                raise EngineUnavailable(f"dockerd did not come up (log {log}):\n{tail}")
            time.sleep(0.5)
        return cls(docker, process)

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One build at a time across pytest-xdist workers (they share the daemon)."""
    BUILD_DIR.mkdir(exist_ok=True)
    with (BUILD_DIR / "image-build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def base_image(docker: Docker) -> str:
    """python:3.11-slim when present or pullable, else the stand-in (made once, cached)."""
    if docker.has_image(OFFICIAL_BASE):
        return OFFICIAL_BASE
    if docker("pull", OFFICIAL_BASE, check=False, timeout=300).returncode == 0:
        return OFFICIAL_BASE
    if not docker.has_image(STAND_IN_BASE):
        make_stand_in_base(docker)
    return STAND_IN_BASE


def make_stand_in_base(docker: Docker) -> None:
    if not docker.has_image(ROOTFS_IMAGE):
        import_minbase(docker)
    with tempfile.TemporaryDirectory(prefix="altcraft-mock-base-") as context:
        shutil.copy(HOST_CA_BUNDLE, Path(context) / "ca-certificates.crt")
        (Path(context) / "pip.conf").write_text(pip_conf())
        docker(
            "build",
            "--file",
            str(STAND_IN_DOCKERFILE),
            "--build-arg",
            f"ROOTFS={ROOTFS_IMAGE}",
            "--tag",
            STAND_IN_BASE,
            context,
            timeout=900,
        )


def import_minbase(docker: Docker) -> None:
    """`debootstrap --variant=minbase bookworm` from the mirror apt uses here,
    imported as an image (`tar -C DIR -c . | docker import - NAME`)."""
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise EngineUnavailable(
            f"{OFFICIAL_BASE} cannot be pulled and debootstrap is not installed "
            "(make image-test installs it)"
        )
    BUILD_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=BUILD_DIR) as rootfs:
        log = BUILD_DIR / "debootstrap.log"
        with log.open("w") as sink:
            made = subprocess.run(
                [debootstrap, "--variant=minbase", "bookworm", rootfs, debian_mirror()],
                stdout=sink,
                stderr=subprocess.STDOUT,
                timeout=1200,
                check=False,
            )
        if made.returncode != 0:
            raise RuntimeError(f"debootstrap failed (log {log})")
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            [docker.binary, "import", "-", ROOTFS_IMAGE],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import failed: {imported.stderr}")


def debian_mirror() -> str:
    """The Debian archive this machine's apt uses (one-line or deb822 sources)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for source in sources:
        if not source.is_file():
            continue
        text = source.read_text(errors="replace")
        uris = re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE)
        uris += re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s", text, re.MULTILINE)
        for uri in uris:
            if uri.rstrip("/").endswith("/debian"):
                return uri
    return DEFAULT_MIRROR


def pip_conf() -> str:
    """pip's settings for builds in the stand-in: the host's CA bundle, and the
    host's package index when it names one over the network (not file://)."""
    lines = ["[global]", f"cert = {HOST_CA_BUNDLE}"]
    for key, env in (("index-url", "PIP_INDEX_URL"), ("extra-index-url", "PIP_EXTRA_INDEX_URL")):
        value = os.environ.get(env) or _pip_config(f"global.{key}")
        urls = [url for url in (value or "").split() if url.startswith(("http://", "https://"))]
        if urls:
            lines.append(f"{key} = {' '.join(urls)}")
    return "\n".join(lines) + "\n"


def _pip_config(name: str) -> str | None:
    found = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else None


def build_image(docker: Docker, base: str) -> str:
    """The project's Dockerfile, built as IMAGE on `base` (layers cached by the daemon)."""
    docker(
        "build",
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--tag",
        IMAGE,
        str(ROOT),
        timeout=900,
    )
    return IMAGE
