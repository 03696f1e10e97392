"""The wheel's compiled import core (hatch_build.py): the modules pyproject.toml lists
are the package's own, and a compiled build (`make test-compiled`, `make bench`)
runs every one of them compiled, not some compiled and some from the sources."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

from tests.helpers import COMPILED

ROOT = Path(__file__).resolve().parents[2]


def listed_modules() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        hooks = tomllib.load(handle)["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]
    return [path.removesuffix(".py").replace("/", ".") for path in hooks["custom"]["compiled"]]


def test_the_listed_modules_are_the_package_s_own_sources():
    modules = listed_modules()
    assert modules and len(set(modules)) == len(modules)
    for module in modules:
        assert module.startswith("mockserver.")
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), module


def test_a_compiled_build_runs_every_listed_module_compiled():
    if not COMPILED:
        pytest.skip("the sources run as they are here; `make test-compiled` runs the wheel's build")
    for name in listed_modules():
        module = importlib.import_module(name)
        assert not str(module.__file__).endswith(".py"), f"{name} runs from {module.__file__}"
