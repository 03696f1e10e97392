"""A package ready to publish (issue 16, item 3): the version written once, the
changelog and the CI workflow in step with it, and `make dist`'s archive checks.

`make dist` itself (build, twine check, a fresh virtualenv running the examples
against the wheel) takes over a minute, most of it installing the dependencies:
it is its own check, not part of the suite.
"""

from __future__ import annotations

import re
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
import yaml

import mockserver
from mockserver.cli import main
from tests.helpers import COMPILED, load_script

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
ON_A_TAG = "startsWith(github.ref, 'refs/tags/v')"


def pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


# -- the version, in one place ---------------------------------------------------------


def test_the_installed_version_is_pyproject_s():
    assert mockserver.__version__ == metadata.version("altcraft-mock") == pyproject_version()


def test_altcraft_mock_version_prints_it(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out == f"altcraft-mock {pyproject_version()}\n"


def test_no_source_file_writes_the_version_itself():
    version = re.escape(pyproject_version())
    written = [
        str(path.relative_to(ROOT))
        for path in [*(ROOT / "mockserver").rglob("*.py"), ROOT / "Dockerfile"]
        if re.search(rf"['\"]{version}['\"]", path.read_text(encoding="utf-8"))
    ]
    assert written == []


def test_the_changelog_s_newest_entry_is_the_version():
    headings = re.findall(r"^## (.+)$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    released = [heading for heading in headings if heading != "Unreleased"]

    assert released[0].split()[0] == pyproject_version()
    assert released[-1].split()[0] == "0.1.0"  # where the project's history starts


# -- the CI workflow -----------------------------------------------------------------------


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def commands(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_every_push_and_pull_request_runs_lint_test_image_test_and_dist():
    document = workflow()
    triggers = document[True]  # YAML 1.1 reads the key `on` as true

    assert triggers["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert "pull_request" in triggers
    jobs = document["jobs"]
    for name, target in [
        ("lint", "make lint"),
        ("test", "make test"),
        ("image-test", "make image-test"),
        ("dist", "make dist"),
    ]:
        assert "if" not in jobs[name], name
        assert any(command.startswith(target) for command in commands(jobs[name])), name


def test_a_tag_publishes_the_wheel_by_trusted_publishing_and_the_image_to_ghcr():
    jobs = workflow()["jobs"]
    pypi, image = jobs["pypi"], jobs["image"]

    for job in (pypi, image):
        assert job["if"] == ON_A_TAG
        assert set(job["needs"]) == {"lint", "test", "image-test", "dist"}
    assert pypi["permissions"] == {"id-token": "write"}  # no token stored anywhere
    assert pypi["environment"]["name"] == "pypi"
    uses = [step.get("uses", "") for step in pypi["steps"]]
    assert "pypa/gh-action-pypi-publish@release/v1" in uses
    assert not any("password" in step.get("with", {}) for step in pypi["steps"])
    assert image["permissions"]["packages"] == "write"
    login = next(step for step in image["steps"] if "docker/login-action" in step.get("uses", ""))
    assert login["with"]["registry"] == "ghcr.io"
    push = next(step for step in image["steps"] if "build-push-action" in step.get("uses", ""))
    assert push["with"]["push"] is True


def test_the_tag_must_name_the_version():
    dist = workflow()["jobs"]["dist"]
    check = next(step for step in dist["steps"] if step.get("if") == ON_A_TAG)

    assert '"$GITHUB_REF_NAME" != "v$version"' in check["run"]
    assert "pyproject.toml" in check["run"]


def test_the_make_targets_ci_runs_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    wanted = {
        command.split()[1]
        for job in workflow()["jobs"].values()
        if "steps" in job
        for command in commands(job)
        if command.startswith("make ")
    }
    if "image-test" not in targets:  # issue 16 item 1, built on its own branch
        wanted.discard("image-test")
    assert wanted <= targets, wanted - targets


# -- make dist's archive checks can fail ---------------------------------------------------


def fake_wheel(path: Path, dist: ModuleType, version: str, leave_out: str = "") -> Path:
    """A wheel holding what `check_wheel` wants, but `leave_out`."""
    info = f"altcraft_mock-{version}.dist-info"
    names = dist.source_files(ROOT, ("mockserver",)) | {
        f"mockserver/_data/{name}" for name in dist.source_files(ROOT, ("schemas", "fixtures"))
    }
    names |= {f"{info}/licenses/LICENSE", f"{info}/METADATA"}
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(names - {leave_out}):
            archive.writestr(name, "")
        archive.writestr(
            f"{info}/entry_points.txt",
            "[console_scripts]\naltcraft-mock = mockserver.launch:main\n\n"
            "[pytest11]\naltcraft_mock = mockserver.pytest_plugin\n",
        )
    return path


def test_the_wheel_check_passes_a_complete_wheel_and_names_what_one_lacks(tmp_path):
    dist = load_script("dist")
    version = pyproject_version()
    dist.check_wheel(fake_wheel(tmp_path / "whole.whl", dist, version), version)

    lacking = "mockserver/_data/schemas/control/fault.json"
    with pytest.raises(dist.DistError, match=re.escape(lacking)):
        dist.check_wheel(fake_wheel(tmp_path / "part.whl", dist, version, lacking), version)


def test_the_compiled_wheel_check_names_a_module_left_as_source(tmp_path):
    dist = load_script("dist")
    so = ".cpython-311-x86_64-linux-gnu.so"
    names = [f"{module}{so}" for module in dist.compiled_modules()] + [f"altcraft_mock__mypyc{so}"]

    def wheel(name: str, members: list[str]) -> Path:
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            for member in members:
                archive.writestr(member, "")
        return tmp_path / name

    dist.check_compiled_wheel(wheel("whole.whl", names))
    with pytest.raises(dist.DistError, match="mockserver/domain/batch"):
        dist.check_compiled_wheel(wheel("part.whl", [n for n in names if "batch" not in n]))
    with pytest.raises(dist.DistError, match="mypyc shared library"):
        dist.check_compiled_wheel(wheel("alone.whl", names[:-1]))


@pytest.mark.skipif(COMPILED, reason="the package runs from the wheel's build here, no source tree")
def test_a_source_tree_without_an_install_reads_pyproject(monkeypatch):
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    monkeypatch.setattr(mockserver, "_listed_version", lambda entries: None)
    mockserver.package_version.cache_clear()
    try:
        assert mockserver.package_version() == pyproject_version()
    finally:
        mockserver.package_version.cache_clear()


def test_the_version_read_from_the_metadata_folder_is_importlib_metadatas():
    """The health answer's version is read without importing `importlib.metadata`
    (start-up): the same folder it would find, the same answer."""
    import sys

    assert mockserver._listed_version(sys.path) == metadata.version("altcraft-mock")


@pytest.mark.parametrize(
    ("folder", "header_file", "headers", "expected"),
    [
        (
            "altcraft_mock-2.3.4.dist-info",
            "METADATA",
            "Name: altcraft-mock\nVersion: 2.3.4\n",
            "2.3.4",
        ),
        ("Altcraft.Mock-5.0.egg-info", "PKG-INFO", "Metadata-Version: 1.0\nVersion: 5.0\n", "5.0"),
        ("altcraft__mock-1.0.dist-info", "METADATA", "Version:  1.0 \n", "1.0 "),
        ("altcraft_mock-1.0.dist-info", "METADATA", "Name: altcraft-mock\n\nVersion: 9\n", None),
        ("altcraft_mockery-1.0.dist-info", "METADATA", "Version: 1.0\n", None),
        ("altcraft_mock-1.0.dist-info", "RECORD", "", None),
    ],
)
def test_the_metadata_folder_is_read_as_importlib_metadata_reads_it(
    tmp_path, folder, header_file, headers, expected
):
    (tmp_path / folder).mkdir()
    (tmp_path / folder / header_file).write_text(headers)
    entries = [str(tmp_path / "missing"), str(tmp_path)]
    found = list(metadata.Distribution.discover(name="altcraft-mock", path=entries))
    theirs = found[0].version if found else None
    assert mockserver._listed_version(entries) == theirs == expected
