"""altcraft-mock: a local emulator of the Altcraft batch profile-import API."""

import os
import re
import sys
from functools import cache
from typing import Any

#: The distribution's name, as `importlib.metadata` normalises it in folder names.
_DISTRIBUTION = "altcraft_mock"


@cache
def package_version() -> str:
    """The version is written once, in pyproject.toml: an install's metadata carries
    it; a source tree run without an install reads it there. Read on first use
    (the first `/_mock/health` answer carries it), from the install's metadata
    folder found on `sys.path` as `importlib.metadata` finds it: importing that
    module costs ~20-60 ms, as much as a tenth of the server's start-up."""
    listed = _listed_version(sys.path)
    if listed is not None:
        return listed
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


def _listed_version(entries: list[str]) -> str | None:
    """The `Version:` of the first `altcraft_mock-*.dist-info` (or `.egg-info`)
    folder in `entries`, searched in order as `importlib.metadata` searches them;
    None when there is none to read this way (a zipped path entry, no folder, no
    `Version:` line): the caller then asks `importlib.metadata` itself."""
    for entry in entries:
        if entry.lower().endswith(".egg"):
            return None  # an egg folder holds its metadata in its own shape
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, _, kind = name.lower().rpartition(".")
            if kind not in ("dist-info", "egg-info") or not stem.startswith("altcraft"):
                continue
            if re.sub(r"[-_.]+", "_", stem.partition("-")[0]) != _DISTRIBUTION:
                continue
            headers = "METADATA" if kind == "dist-info" else "PKG-INFO"
            return _version_header(os.path.join(entry or ".", name, headers))
    return None


def _version_header(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    break  # the headers end at the first blank line
                key, _, value = line.partition(":")
                if key.strip().lower() == "version":
                    return value.lstrip(" \t").rstrip("\r\n")
    except OSError:
        return None
    return None


def __getattr__(name: str) -> Any:
    if name == "__version__":  # the customary name, for code that reads it
        return package_version()
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
