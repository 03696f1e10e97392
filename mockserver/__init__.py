"""altcraft-mock: a local emulator of the Altcraft batch profile-import API."""

from functools import cache
from typing import Any


@cache
def package_version() -> str:
    """The installed distribution's version (pyproject.toml is the one place it is
    written). Read on first use: `importlib.metadata` costs ~60 ms to import, a
    tenth of the server's start-up."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("altcraft-mock")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0.0.0+source"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return package_version()
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
