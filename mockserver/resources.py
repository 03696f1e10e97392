"""Where the shipped `schemas/` and `fixtures/` are.

A wheel carries them inside the package (`mockserver/_data/`, see
pyproject's force-include); a source checkout or editable install uses the
folders at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {name}/ not found beside the mockserver package")


def schemas_dir() -> Path:
    return data_dir("schemas")


def fixtures_dir() -> Path:
    return data_dir("fixtures")
