"""`make dist`: the sdist and the wheel, built, checked, and shown to work on their own.

1. `python -m build`: the sdist, then the wheel built *from the sdist*, so a file
   the sdist lacks breaks the build here rather than on a user's machine.
2. `twine check --strict`: the metadata and the README as the package index shows them.
3. Both archives hold what they must: every file of `mockserver/`, `schemas/` and
   `fixtures/` (the wheel carries the last two as `mockserver/_data/`), the licence,
   the entry points; the wheel carries no tests.
4. A fresh virtualenv outside the source tree gets the wheel (a plain install, not
   editable) and, run from a temporary folder so nothing of the source tree is on
   `sys.path`: the examples' tests (`examples/tests`, with the plugin the wheel
   registers), then `scripts/check_installed.py` (schemas, fixtures and the
   dashboard come from site-packages, the version is pyproject's, the installed
   server serves the dashboard and checks a request against its schema).
5. The published wheel is pure Python; where a C compiler is here, the wheel an
   install from the sdist builds (a fresh build environment) is checked to carry
   the import core compiled by mypyc (hatch_build.py), every listed module.

Usage: python scripts/dist.py [--dist DIR] [--venv DIR]   (defaults: dist/,
.altcraft-mock/dist-venv). Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Folders whose every file both archives must carry (the wheel: schemas and
#: fixtures under mockserver/_data/, see pyproject's force-include).
PACKAGE, SHIPPED_DATA = "mockserver", ("schemas", "fixtures")
#: What the sdist needs besides them, to build and to be read.
SDIST_FILES = ("pyproject.toml", "hatch_build.py", "README.md", "LICENSE", "CHANGELOG.md")
#: Folders of one machine's work that no archive may carry.
LOCAL_ONLY = {
    ".venv",
    ".altcraft-mock",
    "__pycache__",
    ".import_linter_cache",
    ".pytest_cache",
    "dist",
}
#: What the examples' tests need in the fresh virtualenv besides the wheel.
EXAMPLE_REQUIREMENTS = ("pytest", "requests")


class DistError(RuntimeError):
    """A check failed; the message says which and why."""


def project_version(root: Path = ROOT) -> str:
    """The one place the version is written: pyproject.toml."""
    with (root / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def step(title: str) -> None:
    print(f"make dist: {title}", flush=True)


def run(
    command: Sequence[str | Path], *, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> str:
    """Run a command; its output is shown only when it fails."""
    finished = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if finished.returncode != 0:
        shown = " ".join(str(part) for part in command)
        raise DistError(
            f"`{shown}` exited {finished.returncode}:\n{finished.stdout}{finished.stderr}"
        )
    return finished.stdout


def source_files(root: Path, folders: Iterable[str]) -> set[str]:
    """Every file under `folders`, relative to `root`, without caches."""
    found = set()
    for folder in folders:
        for path in (root / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                found.add(path.relative_to(root).as_posix())
    return found


def only(folder: Path, pattern: str) -> Path:
    matches = sorted(folder.glob(pattern))
    if len(matches) != 1:
        raise DistError(f"expected one {pattern} in {folder}, found {[m.name for m in matches]}")
    return matches[0]


def check_sdist(sdist: Path, version: str) -> None:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = set(SDIST_FILES) | source_files(ROOT, (PACKAGE, *SHIPPED_DATA))
    missing = sorted(wanted - names)
    if missing:
        raise DistError(f"{sdist.name} lacks {missing}")
    strays = sorted(name for name in names if set(name.split("/")) & LOCAL_ONLY)
    if strays:
        raise DistError(f"{sdist.name} carries local files: {strays[:5]}")
    if not sdist.name.startswith(f"altcraft_mock-{version}."):
        raise DistError(f"{sdist.name} is not version {version}")


def check_wheel(wheel: Path, version: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"altcraft_mock-{version}.dist-info"
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    wanted = source_files(ROOT, (PACKAGE,)) | {
        f"{PACKAGE}/_data/{name}" for name in source_files(ROOT, SHIPPED_DATA)
    }
    wanted |= {f"{info}/licenses/LICENSE", f"{info}/METADATA"}
    missing = sorted(wanted - names)
    if missing:
        raise DistError(f"{wheel.name} lacks {missing}")
    strays = sorted(name for name in names if name.split("/")[0] in ("tests", "bench", "examples"))
    if strays:
        raise DistError(f"{wheel.name} carries files that are not the package: {strays[:5]}")
    for line in (
        "altcraft-mock = mockserver.launch:main",
        "altcraft_mock = mockserver.pytest_plugin",
    ):
        if line not in entry_points:
            raise DistError(f"{wheel.name}: no entry point {line!r} in {entry_points!r}")


def clean_environment() -> dict[str, str]:
    """This process's environment without what would point the examples elsewhere: a
    running server (`ALTCRAFT_MOCK_URL`), server settings, a disabled plugin autoload,
    the source tree on PYTHONPATH, or this project's virtualenv."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ALTCRAFT_MOCK_")
        and name not in ("PYTHONPATH", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS")
        and name not in ("VIRTUAL_ENV", "PYTHONHOME")
    }
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment


def fresh_venv(venv: Path, wheel: Path) -> Path:
    """A new virtualenv with the wheel (and what the examples' tests need); its python."""
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run(
        [python, "-m", "pip", "install", "--quiet", "--no-cache-dir", wheel, *EXAMPLE_REQUIREMENTS],
        env=clean_environment(),
    )
    return python


def check_installed(python: Path, version: str) -> None:
    """The examples' tests and scripts/check_installed.py, from a temporary folder."""
    environment = clean_environment()
    with tempfile.TemporaryDirectory(prefix="altcraft-mock-dist-") as folder:
        work = Path(folder)
        shutil.copytree(
            ROOT / "examples", work / "examples", ignore=shutil.ignore_patterns("__pycache__")
        )
        step(f"examples' tests against the installed wheel (in {work})")
        output = run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/tests"],
            cwd=work,
            env={**environment, "PYTHONPATH": str(work / "examples")},
        )
        print("  " + (output.strip().splitlines() or ["(no output)"])[-1], flush=True)
        step("schemas, fixtures and dashboard from the wheel; the installed server")
        output = run(
            [python, ROOT / "scripts" / "check_installed.py", version], cwd=work, env=environment
        )
        print("".join(f"  {line}\n" for line in output.splitlines()), end="", flush=True)


def compiled_modules(root: Path = ROOT) -> list[str]:
    """The modules hatch_build.py compiles, as paths without `.py` (pyproject.toml)."""
    with (root / "pyproject.toml").open("rb") as handle:
        hooks = tomllib.load(handle)["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]
    return [path.removesuffix(".py") for path in hooks["custom"]["compiled"]]


def check_compiled_wheel(wheel: Path) -> None:
    """The wheel carries every listed module compiled, and mypyc's shared library."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    compiled = {name.split(".")[0] for name in names if name.endswith((".so", ".pyd"))}
    missing = [module for module in compiled_modules() if module not in compiled]
    if missing or not any("__mypyc" in name for name in compiled):
        raise DistError(f"the compiled wheel lacks {missing or 'mypyc shared library'}")


def check_compiled_build(sdist: Path) -> None:
    """`pip install` from the sdist on a machine with a C compiler: the wheel built in
    a fresh build environment (nothing of this venv's) is compiled."""
    with tempfile.TemporaryDirectory(prefix="altcraft-mock-compiled-") as folder:
        environment = {k: v for k, v in os.environ.items() if k != "ALTCRAFT_MOCK_PURE_PYTHON"}
        run([sys.executable, "-m", "build", "--wheel", "--outdir", folder, sdist], env=environment)
        check_compiled_wheel(only(Path(folder), "*.whl"))
    print(f"  {len(compiled_modules())} modules compiled, and mypyc's shared library", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument(
        "--venv", type=Path, default=ROOT / ".altcraft-mock" / "dist-venv", help="fresh virtualenv"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    version = project_version()
    try:
        shutil.rmtree(args.dist, ignore_errors=True)
        step(f"building altcraft-mock {version}: the sdist, then the wheel from it")
        # The published wheel is pure Python (py3-none-any: a package index takes no
        # wheel tagged for one Linux machine); an install from the sdist or the
        # sources compiles the import core where it can (hatch_build.py).
        pure = {**os.environ, "ALTCRAFT_MOCK_PURE_PYTHON": "1"}
        run([sys.executable, "-m", "build", "--outdir", args.dist, ROOT], env=pure)
        sdist, wheel = only(args.dist, "*.tar.gz"), only(args.dist, "*.whl")
        step(f"twine check --strict {sdist.name} {wheel.name}")
        run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel])
        step("what the archives hold")
        check_sdist(sdist, version)
        check_wheel(wheel, version)
        step(f"a fresh virtualenv with the wheel: {args.venv}")
        python = fresh_venv(args.venv, wheel)
        check_installed(python, version)
        if shutil.which("cc"):
            step("the wheel an install from the sdist builds here: its import core compiled")
            check_compiled_build(sdist)
    except DistError as problem:
        print(f"make dist: FAILED: {problem}", file=sys.stderr)
        return 1
    step(f"ok in {time.monotonic() - started:.0f} s: {sdist} and {wheel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
