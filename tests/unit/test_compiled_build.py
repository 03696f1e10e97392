"""The wheel's compiled import core (hatch_build.py): the modules pyproject.toml lists
are the package's own, and a compiled build (`make test-compiled`, `make bench`)
runs every one of them compiled, not some compiled and some from the sources."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.helpers import COMPILED, load_script

ROOT = Path(__file__).resolve().parents[2]


def listed_modules() -> list[str]:
    """pyproject.toml's list, as make dist's check reads it (scripts/dist.py)."""
    return [path.replace("/", ".") for path in load_script("dist").compiled_modules()]


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
