"""altcraft-mock: a local emulator of the Altcraft batch profile-import API."""

from functools import cache
from typing import Any


@cache
def package_version() -> str:
    """The version is written once, in pyproject.toml: an install's metadata carries
    it; a source tree run without an install reads it there. Read on first use:
    `importlib.metadata` costs ~60 ms to import, a tenth of the server's start-up."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("altcraft-mock")
    except PackageNotFoundError:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text("utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":  # the customary name, for code that reads it
        return package_version()
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
