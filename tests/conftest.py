"""Fixtures shared by the whole suite (helpers to import live in tests/helpers.py).

`make_api` / `api` build the real app in-process (pytest-aiohttp) and give an
`ApiClient` whose every answer is checked against the response schemas.
"""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.app import create_app
from mockserver.config import settings_for_tests
from tests.helpers import TOKEN, ApiClient, ApiClientFactory

pytest_plugins = ["pytester"]


@pytest.fixture
def make_api(aiohttp_client: Any) -> ApiClientFactory:
    """`await make_api(progression="instant", ...)`: a client on a fresh in-memory server."""

    async def build(*, token: str = TOKEN, **settings: Any) -> ApiClient:
        app = create_app(settings_for_tests(**settings))
        return ApiClient(await aiohttp_client(app), token)

    return build


@pytest.fixture
async def api(make_api: ApiClientFactory) -> ApiClient:
    """A client on a fresh in-memory server with default settings (polls, 2 steps)."""
    return await make_api()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts the real server as a process (`e2e`) is `slow`, whatever
    its folder (examples/ included: the plugin's fixtures start the process);
    heavy in-process tests carry `slow` themselves. `make test-fast` runs the rest."""
    for item in items:
        if item.get_closest_marker("e2e") or "altcraft_mock_server" in item.fixturenames:
            item.add_marker(pytest.mark.slow)
