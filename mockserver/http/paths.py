"""Path normal form, and which API a path belongs to.

SPEC §1: repeated slashes are collapsed and a trailing slash is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_SLASHES = re.compile(r"/{2,}")

CONTROL_PREFIX = "/_mock/"
#: Every vendor method's path: this prefix and the method's name.
API_PREFIX = "/api/v1.1/"


def normalize_path(path: str) -> str:
    """Collapse repeated slashes and drop a trailing one (SPEC §1)."""
    path = _SLASHES.sub("/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def normal_path(path: str) -> str:
    """normalize_path, skipping its regex for a path already in normal form (nearly all)."""
    if "//" in path or path.endswith("/"):
        return normalize_path(path)
    return path


def is_control_path(path: str) -> bool:
    """Whether the path is the mock's own API (`/_mock/...`), however written."""
    return (normal_path(path) + "/").startswith(CONTROL_PREFIX)


def method_name(path: str) -> str | None:
    """`workflows/import_and_start_batch_task` from an API path, else None."""
    normalized = normal_path(path) + "/"
    if not normalized.startswith(API_PREFIX):
        return None
    return normalized[len(API_PREFIX) :].strip("/") or None


def unknown_method(method: str, methods: Collection[str]) -> str:
    """A name no vendor method has, refused with the closest one."""
    import difflib  # only to word a refusal

    close = difflib.get_close_matches(method, methods, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown vendor method {method!r}{hint}"
