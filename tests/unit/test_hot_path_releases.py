"""The hot path reaches below aiohttp's public API: it serves only on the aiohttp
releases it was checked against, and any other takes aiohttp's own path."""

from __future__ import annotations

import aiohttp
import pytest

from mockserver.config import Settings
from mockserver.http import hot_path
from mockserver.keys import REQUEST_HANDLER


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("3.14.5", True),
        ("3.14.0rc1", True),
        ("3.13.2", False),
        ("3.15.0", False),
        ("4.0.0a1", False),
        ("not-a-version", False),
    ],
)
def test_only_checked_releases_are_served_by_the_hot_path(version, expected):
    assert hot_path.supported(version) is expected


def test_the_installed_release_decides_whether_the_app_installs_it(monkeypatch):
    from mockserver.app import create_app

    assert hot_path.supported() is hot_path.supported(aiohttp.__version__)
    installed = REQUEST_HANDLER in create_app(Settings(db=":memory:"))
    assert installed is hot_path.supported()
    monkeypatch.setattr(hot_path, "CHECKED_AIOHTTP", ())
    assert REQUEST_HANDLER not in create_app(Settings(db=":memory:"))
