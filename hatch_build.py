"""The wheel's compiled import core: the modules a batch import runs through, compiled
by mypyc from the same sources (`tool.hatch.build.targets.wheel.hooks.custom.compiled`
in pyproject.toml lists them).

A wheel built here (`pip install .`, an install from the sdist, the Docker image on
a base with a compiler) gets them compiled when the machine can: mypyc from PyPI and
a C compiler. Where either is missing, or with ALTCRAFT_MOCK_PURE_PYTHON=1 (as
`make dist` builds the published wheel), the wheel is pure Python, with the same
behaviour and a warning in the build's output. An editable install (`make test`,
`make run`) is always pure Python, so an edited source is what runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PURE_SWITCH = "ALTCRAFT_MOCK_PURE_PYTHON"
#: Shared by the compiled modules; a top-level module of the wheel, as mypyc makes it.
GROUP_NAME = "altcraft_mock"


class CompiledCoreHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        if os.environ.get(PURE_SWITCH):
            return []
        # mypy carries mypyc; setuptools builds the C it writes. mypyc type-checks
        # the modules first, so the package's own dependencies (and regex's stubs)
        # are needed while building too: a new venv has none of them installed yet.
        return ["mypy>=1.10", "setuptools>=70", "types-regex", *self.metadata.core.dependencies]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version != "standard" or self.target_name != "wheel":
            return  # an editable install runs the sources
        if os.environ.get(PURE_SWITCH):
            self.app.display_info(f"altcraft-mock: pure-Python wheel ({PURE_SWITCH} is set)")
            return
        sources = [str(source) for source in self.config.get("compiled", [])]
        work = Path(tempfile.mkdtemp(prefix="altcraft-mock-mypyc-"))
        try:
            built = _compile(Path(self.root), sources, work)
        except (Exception, SystemExit) as problem:  # no compiler, no mypyc: still a wheel
            shutil.rmtree(work, ignore_errors=True)
            # mypy exits after printing its errors (above, in a verbose build's output).
            reason = "mypy found errors" if isinstance(problem, SystemExit) else problem
            self.app.display_warning(
                "altcraft-mock: pure-Python wheel, the import core was not compiled "
                f"({reason}; `pip wheel -v .` shows the build's output)"
            )
            return
        self._work = work
        for path in built:
            build_data["force_include"][str(path)] = str(path.relative_to(work / "lib"))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        self.app.display_info(f"altcraft-mock: compiled {len(sources)} modules with mypyc")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _compile(root: Path, sources: list[str], work: Path) -> list[Path]:
    """Compile the sources (paths from the project's root) into work/lib; the
    extension modules and their shared library, by path."""
    from mypyc.build import mypycify
    from setuptools import Distribution

    here = Path.cwd()
    os.chdir(root)  # mypy names the modules by their paths from here
    try:
        # mypy's own options first: its cache in the build's folder, not the tree's.
        options = ["--cache-dir", str(work / "mypy-cache")]
        extensions = mypycify(
            [*options, *sources], opt_level="3", group_name=GROUP_NAME, target_dir=str(work / "c")
        )
        distribution = Distribution({"name": "altcraft-mock", "ext_modules": extensions})
        command = distribution.get_command_obj("build_ext")
        command.build_lib = str(work / "lib")  # type: ignore[attr-defined]
        command.build_temp = str(work / "temp")  # type: ignore[attr-defined]
        command.ensure_finalized()
        command.run()
    finally:
        os.chdir(here)
    built = sorted(path for path in (work / "lib").rglob("*") if path.suffix in (".so", ".pyd"))
    made = {path.relative_to(work / "lib").parent / path.name.split(".")[0] for path in built}
    missing = [source for source in sources if Path(source).with_suffix("") not in made]
    if missing:
        raise RuntimeError(f"mypyc built no module for {', '.join(missing)}")
    return built
