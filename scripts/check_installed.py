"""Run by `make dist` (scripts/dist.py) with a fresh virtualenv's Python, from a
temporary folder: the installed wheel, and nothing of the source tree, works.

Checks that the package, its schemas, its fixtures and the dashboard's files are
read from site-packages; that the installed version is pyproject's and
`altcraft-mock --version` prints it; that the entry points are registered; and
that the installed server, started as a process, serves the dashboard, checks a
request against its schema (naming the field) and accepts a valid import.

Usage: python check_installed.py VERSION   (prints one line per check; exit 1 on failure)
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import urllib.request
from importlib import metadata, resources
from pathlib import Path
from typing import Any

TOKEN = "abcdefghijklmnqrstuvwxyz"  # the shipped fixture's token
BATCH = "workflows/import_and_start_batch_task"


def site_packages() -> set[Path]:
    paths = sysconfig.get_paths()
    return {Path(paths[key]).resolve() for key in ("purelib", "platlib")}


def from_site_packages(label: str, path: Path) -> None:
    resolved = path.resolve()
    if not any(resolved.is_relative_to(site) for site in site_packages()):
        raise AssertionError(f"{label} is read from {resolved}, not from site-packages")
    print(f"{label}: {resolved}")


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.headers.get_content_type(), answer.read()


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def check_files() -> None:
    import mockserver
    from mockserver.schemas import fixtures_dir, schemas_dir

    from_site_packages("package", Path(mockserver.__file__).parent)
    from_site_packages("schemas", schemas_dir())
    from_site_packages("fixtures", fixtures_dir())
    from_site_packages("dashboard", Path(str(resources.files("mockserver").joinpath("ui"))))


def check_version(version: str) -> None:
    import mockserver

    assert mockserver.__version__ == version, (mockserver.__version__, version)
    script = Path(sys.executable).parent / "altcraft-mock"
    printed = subprocess.run(
        [script, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert printed == f"altcraft-mock {version}", printed
    print(f"version: {printed!r}")


def check_entry_points() -> None:
    plugins = {ep.name: ep.value for ep in metadata.entry_points(group="pytest11")}
    assert plugins.get("altcraft_mock") == "mockserver.pytest_plugin", plugins
    scripts = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")}
    assert scripts.get("altcraft-mock") == "mockserver.launch:main", scripts
    fixtures = subprocess.run(
        [Path(sys.executable).parent / "altcraft-mock", "check-fixtures"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"entry points: pytest11 altcraft_mock, console script; check-fixtures: {fixtures}")


def check_server(version: str) -> None:
    from mockserver.testing import MockServerProcess

    with MockServerProcess(isolated_env=True) as server:
        status, content_type, page = get(server.url + "/_mock/ui")
        assert (status, content_type) == (200, "text/html"), (status, content_type)
        assert b"app.js" in page, page[:200]
        shipped = resources.files("mockserver").joinpath("ui", "app.js").read_bytes()
        assert get(server.url + "/_mock/ui/app.js")[2] == shipped
        health = json.loads(get(server.url + "/_mock/health")[2])
        assert health["version"] == version, health
        document = json.loads(get(server.url + "/_mock/openapi.json")[2])
        assert document["info"]["version"] == version, document["info"]

        url = f"{server.url}/api/v1.1/{BATCH}"
        refused = post(url, {"token": TOKEN, "workflow_id": 2, "data": "a@b.c"})
        assert refused["error"] == 400, refused
        assert refused["error_debug"] == 'data: expected array, got string "a@b.c"', refused
        accepted = post(
            url, {"token": TOKEN, "workflow_id": 2, "data": [{"data": {"email": "a@b.c"}}]}
        )
        assert accepted["error"] == 0 and accepted["task_id"], accepted
    print(
        f"installed server: dashboard served, schema check {refused['error_debug']!r}, "
        f"import accepted"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    version = argv[0]
    try:
        check_files()
        check_version(version)
        check_entry_points()
        check_server(version)
    except (AssertionError, subprocess.CalledProcessError, OSError) as problem:
        print(f"check_installed: FAILED: {problem!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
