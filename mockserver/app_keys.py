"""Typed application keys (aiohttp: no singletons, state lives in `app[AppKey]`)."""

from __future__ import annotations

from aiohttp import web

from mockserver.config import Settings
from mockserver.envelope import Uploads
from mockserver.state import MockState

SETTINGS = web.AppKey("settings", Settings)
STATE = web.AppKey("state", MockState)
UPLOADS = web.AppKey("uploads", Uploads)

# Per-request notes the handlers leave for the journal and the logs.
API_BODY = web.RequestKey("api_body", dict)
API_ACCOUNT = web.RequestKey("api_account", str)
API_WARNING = web.RequestKey("api_warning", str)
API_METHOD = web.RequestKey("api_method", str)
API_RAW_BODY = web.RequestKey("api_raw_body", bytes)
BODY_NOTE = web.RequestKey("body_note", str)
API_TOKEN = web.RequestKey("api_token", str)
FAULT_APPLIED = web.RequestKey("fault_applied", dict)
JOURNAL_ID = web.RequestKey("journal_id", int)
