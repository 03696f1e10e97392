"""pytest plugin (entry point `pytest11`): the mock server as fixtures.

Installing the package registers it; importing it starts nothing. Fixtures:

- `altcraft_mock_server` (session): the real server process on a free port
  with an in-memory store, stopped at the end even when tests fail. Extra
  server flags come from the overridable `altcraft_mock_args` fixture or
  `--altcraft-mock-arg=...` options; `--altcraft-mock-url=URL` uses a server
  that is already running (a CI service container) instead.
- `altcraft_mock` (function): resets the server and returns a
  `ControlClient` with `url`, `token` and the journal, inspection, fault and
  task helpers.
- `altcraft_mock_aio` (function, async): the app in-process through
  pytest-aiohttp's `aiohttp_client`, for async test suites.

pytest-xdist: every worker process starts its own server. With a shared
`--altcraft-mock-url`, each worker gets its own token (the server must run
with `--mode permissive`) and resets only that token's account, so parallel
workers never see each other's state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mockserver.testing import DEFAULT_TOKEN, ControlClient, MockServerProcess


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("altcraft-mock")
    group.addoption(
        "--altcraft-mock-url",
        default=os.environ.get("ALTCRAFT_MOCK_URL"),
        help="use an altcraft-mock server already running at URL (env ALTCRAFT_MOCK_URL)",
    )
    group.addoption(
        "--altcraft-mock-arg",
        action="append",
        default=[],
        help="extra flag for the altcraft-mock server the plugin starts (repeatable)",
    )
    group.addoption(
        "--altcraft-mock-token",
        default=None,
        help=f"API token tests use (default {DEFAULT_TOKEN}; per-worker under xdist with a URL)",
    )


@dataclass(frozen=True, slots=True)
class MockServerInfo:
    url: str
    token: str
    shared: bool  # True when the server is not ours (--altcraft-mock-url)

    def client(self) -> ControlClient:
        scoped = self.shared and self.token != DEFAULT_TOKEN
        return ControlClient(self.url, token=self.token, scoped=scoped)


@pytest.fixture(scope="session")
def altcraft_mock_args() -> list[str]:
    """Extra server flags; override this fixture in a conftest.py to change them."""
    return []


def _worker_id(config: pytest.Config) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid")


@pytest.fixture(scope="session")
def altcraft_mock_server(
    request: pytest.FixtureRequest, altcraft_mock_args: list[str]
) -> Iterator[MockServerInfo]:
    config = request.config
    url = config.getoption("--altcraft-mock-url")
    token = config.getoption("--altcraft-mock-token")
    if url:
        worker = _worker_id(config)
        if token is None:
            token = f"{DEFAULT_TOKEN}-{worker}" if worker else DEFAULT_TOKEN
        info = MockServerInfo(url.rstrip("/"), token, shared=True)
        info.client().health()  # fail early with a clear error if it is not there
        yield info
        return
    args = [*altcraft_mock_args, *config.getoption("--altcraft-mock-arg")]
    with MockServerProcess(args) as server:
        yield MockServerInfo(server.url, token or DEFAULT_TOKEN, shared=False)


@pytest.fixture
def altcraft_mock(altcraft_mock_server: MockServerInfo) -> ControlClient:
    """A reset server's ControlClient (`.url`, `.token`, journal, faults, tasks...)."""
    client = altcraft_mock_server.client()
    if altcraft_mock_server.shared and altcraft_mock_server.token != DEFAULT_TOKEN:
        client.reset(token=altcraft_mock_server.token)
    else:
        client.reset()
    return client


def _async_fixture() -> Any:
    try:
        import pytest_asyncio
    except ImportError:  # pytest-aiohttp not installed: no async variant
        return None
    return pytest_asyncio.fixture


_async = _async_fixture()

if _async is not None:

    @_async
    async def altcraft_mock_aio(aiohttp_client: Any) -> Any:
        """The app in-process (pytest-aiohttp): an `aiohttp` TestClient on a fresh
        in-memory server; `client.app` holds the state for white-box checks."""
        from mockserver.app import create_app
        from mockserver.config import settings_for_tests

        return await aiohttp_client(create_app(settings_for_tests()))
