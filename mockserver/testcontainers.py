"""altcraft-mock as a Testcontainers module (`pip install altcraft-mock[testcontainers]`).

Like the WireMock and LocalStack modules, a `DockerContainer` that knows its
image: it publishes port 8080 on a free host port, passes settings as
`ALTCRAFT_MOCK_*` environment variables (the way a CI service container is
configured), and `start()` returns once the image's own HEALTHCHECK says
healthy and the published port answers.

    from mockserver.testcontainers import AltcraftMockContainer

    with AltcraftMockContainer(progression="instant") as mock:
        my_client = MyAltcraftClient(base_url=mock.url, token=mock.token)
        my_client.import_customers([...])
        assert mock.control.profiles(email="a@example.com")

Nothing else in the package imports this module: without the extra, the
`testcontainers` package is simply absent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Self

from testcontainers.core.container import DockerContainer

from mockserver.config import ENV_PREFIX, OPTIONS
from mockserver.testing import DEFAULT_TOKEN, ControlClient, ControlError

DEFAULT_IMAGE = "altcraft-mock:latest"
PORT = 8080  # the image's EXPOSE
_SETTINGS = frozenset(option.name for option in OPTIONS)
#: Fixed by the image: the address and port inside the container, and the store on its volume.
_IMAGE_OWNED = frozenset({"host", "port"})


class ContainerNotHealthy(RuntimeError):
    """The container exited, turned `unhealthy`, or stayed `starting` too long."""


class AltcraftMockContainer(DockerContainer):
    """The altcraft-mock image as a test container.

    `image`: a tag built from the project's Dockerfile (default
    `altcraft-mock:latest`, what `docker build -t altcraft-mock .` makes).
    `progression`, `mode`, `admin_token`, `seed`: the server settings tests
    most often set; `settings` takes any other `serve` option by its flag
    name (`{"steps": 3, "latency": "20-50"}`), refused at once when the name
    is not a setting. `token` is the API token `.control` uses (the shipped
    fixture's by default).
    """

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        *,
        progression: str | None = None,
        mode: str | None = None,
        admin_token: str | None = None,
        seed: int | None = None,
        settings: Mapping[str, object] | None = None,
        token: str = DEFAULT_TOKEN,
        startup_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        named = {"progression": progression, "mode": mode, "admin_token": admin_token, "seed": seed}
        environment = settings_environment({**named, **dict(settings or {})})
        super().__init__(image, **kwargs)
        self.token = token
        self.admin_token = environment.get(ENV_PREFIX + "ADMIN_TOKEN")
        self.startup_timeout = startup_timeout
        self.with_exposed_ports(PORT)
        for key, value in environment.items():
            self.with_env(key, value)

    def with_setting(self, name: str, value: object) -> Self:
        """Set one more server option by its flag name (`steps`, `admin-token`, `latency`...)."""
        for key, text in settings_environment({name: value}).items():
            if key == ENV_PREFIX + "ADMIN_TOKEN":
                self.admin_token = text
            self.with_env(key, text)
        return self

    def start(self) -> Self:
        super().start()
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def url(self) -> str:
        """The base URL on the host, e.g. `http://localhost:32768`."""
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(PORT)}"

    @property
    def control(self) -> ControlClient:
        """The `/_mock/` API (journal, inspection, faults, tasks, reset) of this container."""
        return ControlClient(self.url, token=self.token, admin_token=self.admin_token)

    def _wait_until_healthy(self) -> None:
        """The image's HEALTHCHECK, then the published port (which may lag behind)."""
        deadline = time.monotonic() + self.startup_timeout
        container = self.get_wrapped_container()
        while True:
            container.reload()
            state = container.attrs["State"]
            health = (state.get("Health") or {}).get("Status")
            if health == "healthy" and self._answers():
                return
            if not state.get("Running") or health == "unhealthy":
                raise ContainerNotHealthy(self._problem(state, health))
            if time.monotonic() > deadline:
                raise ContainerNotHealthy(
                    f"still {health or 'without a health status'} after "
                    f"{self.startup_timeout}s: {self._problem(state, health)}"
                )
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            return ControlClient(self.url, timeout=2).health().get("status") == "ok"
        except (OSError, ControlError):
            return False

    def _problem(self, state: Mapping[str, Any], health: str | None) -> str:
        stdout, stderr = self.get_logs()
        output = (stdout + stderr).decode(errors="replace")[-2000:]
        return (
            f"altcraft-mock container {self.image}: status {state.get('Status')}, "
            f"exit code {state.get('ExitCode')}, health {health}; its log:\n{output}"
        )


def settings_environment(settings: Mapping[str, object]) -> dict[str, str]:
    """`ALTCRAFT_MOCK_*` variables for server options named by flag (None: left out);
    a name that is no setting is refused, before any container is made."""
    environment: dict[str, str] = {}
    for name, value in settings.items():
        key = name.removeprefix("--").replace("-", "_").lower()
        if key not in _SETTINGS or key in _IMAGE_OWNED:
            settable = ", ".join(sorted(_SETTINGS - _IMAGE_OWNED))
            raise ValueError(f"{name!r} is not a setting of the altcraft-mock image: {settable}")
        if value is None:
            continue
        if isinstance(value, bool):
            environment[ENV_PREFIX + key.upper()] = "true" if value else "false"
        else:
            environment[ENV_PREFIX + key.upper()] = str(value)
    return environment
