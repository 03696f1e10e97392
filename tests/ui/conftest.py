"""The dashboard in a real browser: headless Chromium driven by Playwright.

The browser is Debian's `chromium` (installed by `make test` when it can be),
never one Playwright downloads. Without Playwright or a Chromium the browser
tests skip and say why; the in-process route tests still run.

A failed browser test leaves a full-page screenshot in tests/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.testing import MockServerProcess
from tests.helpers import BROWSER_ENV, CHROMIUM_ARGS, find_chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VIEWPORT = {"width": 1440, "height": 900}
EXPECT_TIMEOUT_MS = 10_000
PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Keep each phase's report on the item, so a fixture can tell a failure."""
    report = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for one module. Not for a whole session: while Playwright's
    sync API runs, the thread has a running event loop, and the suite's async tests
    (pytest-aiohttp) cannot start theirs."""
    try:
        from playwright.sync_api import Error, expect, sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[test]' (or make test)")
    executable = find_chromium()
    if executable is None:
        pytest.skip(
            "no Chromium found: install Debian's `chromium` (make test does it when run as root "
            f"with apt-get) or set {BROWSER_ENV}=/path/to/chromium"
        )
    # A loaded CI machine: the page polls every 250 ms in these tests, but give it time.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.skip(f"Chromium at {executable} did not start: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab (own sessionStorage); a full-page screenshot if the test failed."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    reports = request.node.stash.get(PHASE_REPORTS, {})
    if any(report.failed for report in reports.values()):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception as exc:  # a screenshot must never hide the real failure
            print(f"no screenshot for {name}: {exc}")
    context.close()
    assert not errors, f"the page threw: {errors}"


@pytest.fixture(scope="module")
def shared_server(browser: Any) -> Iterator[MockServerProcess]:
    """One real server per module (starting one takes seconds); tests reset it.
    Asks for the browser first, so a missing browser skips before a server starts."""
    with MockServerProcess(["--seed", "42"]) as server:
        yield server


@pytest.fixture
def server(shared_server: MockServerProcess) -> MockServerProcess:
    shared_server.client().reset()
    return shared_server
