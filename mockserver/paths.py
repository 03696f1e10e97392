"""Path normal form (SPEC §1: repeated slashes collapsed, a trailing slash accepted)."""

from __future__ import annotations

import re

_SLASHES = re.compile(r"/{2,}")


def normalize_path(path: str) -> str:
    """Collapse repeated slashes and drop a trailing one (SPEC §1)."""
    path = _SLASHES.sub("/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path
