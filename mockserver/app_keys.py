"""Typed application keys (aiohttp: no singletons, state lives in `app[AppKey]`)."""

from __future__ import annotations

from aiohttp import web

from mockserver.config import Settings
from mockserver.state import MockState

SETTINGS = web.AppKey("settings", Settings)
STATE = web.AppKey("state", MockState)
