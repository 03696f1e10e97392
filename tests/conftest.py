"""Fixtures shared by the whole suite (helpers to import live in tests/helpers.py).

`make_api` / `api` build the real app in-process (pytest-aiohttp) and give an
`ApiClient` whose every answer is checked against the response schemas.
"""

from __future__ import annotations

from pathlib import Path
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


TESTS = Path(__file__).resolve().parent
#: Folders and files of tests/ whose every test is slow: they start server
#: processes or child interpreters, drive the browser or fuzz.
SLOW_PATHS = frozenset(
    {
        "docs",
        "e2e",
        "image",
        "plugin",
        "control/test_testing_helper.py",
        "reliability/test_concurrency.py",
        "reliability/test_crash.py",
        "reliability/test_cross_site.py",
        "reliability/test_fuzzing.py",
        "reliability/test_properties.py",
        "reliability/test_store_files.py",
        "ui/test_dashboard.py",
        "unit/test_heap.py",
    }
)
#: The mark expression of `make test-fast`.
FAST = "not slow"


def _in_slow_paths(path: Path) -> bool:
    if not path.is_relative_to(TESTS):
        return False
    parts = path.relative_to(TESTS).parts
    return any("/".join(parts[:n]) in SLOW_PATHS for n in range(1, len(parts) + 1))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`make test-fast` does not even import the slow paths: schemathesis,
    hypothesis and Playwright make collecting them cost seconds per worker."""
    if config.getoption("markexpr") == FAST and _in_slow_paths(collection_path):
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`slow`: every test in SLOW_PATHS, every test that starts the real server as a
    process (`e2e`, or the plugin's process fixture: examples/ too), and heavy
    in-process tests marked by hand. `make test-fast` runs the rest."""
    for item in items:
        if (
            item.get_closest_marker("e2e")
            or "altcraft_mock_server" in item.fixturenames
            or _in_slow_paths(item.path)
        ):
            item.add_marker(pytest.mark.slow)
