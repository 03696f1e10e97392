"""The README's examples, run as written against a real server process.

Every `curl` command in a ```sh block is sent (parsed with shlex, so no curl
binary is needed) in README order to one fresh server started as `make run`
would start it, with `http://127.0.0.1:8080` pointing at it. A `# -> {json}`
line after a command says what the answer must contain: objects are matched
key by key, lists element by element, `"…"` is any value, and `"<name>"`
captures a value the first time and must match it afterwards; captured
values replace `<name>` in later commands. Every ```python block is run too: a
script as it stands, a block of pytest tests as a test file in a separate pytest
run (pytester), with the plugin loaded from the installed package's entry point.
"""

from __future__ import annotations

import json
import re
import shlex
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mockserver.testing import MockServerProcess

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE_CLIENT = Path(__file__).resolve().parents[2] / "examples" / "altcraft_client.py"
DOC_URL = "http://127.0.0.1:8080"
PLACEHOLDER = re.compile(r"^<([a-z_]+)>$")
ANY = "…"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def defines_tests(source: str) -> bool:
    return re.search(r"^def test_", source, re.M) is not None


#: The README's pytest example calls the reader's own client, `MyAltcraftClient`:
#: this stands in for it, over the example client in examples/. Its `[...]` is the
#: customer the example's asserts look for.
MY_CLIENT = """
from altcraft_client import AltcraftClient


class MyAltcraftClient:
    def __init__(self, base_url, token):
        self.client = AltcraftClient(base_url, token)
        self.client.sleep = lambda seconds: None

    def import_customers(self, customers):
        people = [{"email": "a@example.com"} if c is ... else c for c in customers]
        self.client.import_profiles(2, people)
"""


def examples() -> list[tuple[str, Any]]:
    """(command, expectation or None) pairs from every sh block, in order."""
    found: list[tuple[str, Any]] = []
    for block in blocks("sh"):
        lines = block.replace("\\\n", " ").splitlines()
        while lines:
            line = lines.pop(0)
            if line.startswith("curl "):
                while not _complete(line):  # a quoted body may span lines
                    line += "\n" + lines.pop(0)
                found.append((line, None))
            elif line.startswith("# -> ") and found:
                found[-1] = (found[-1][0], json.loads(line[len("# -> ") :]))
    return found


def _complete(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:
        return False
    return True


def send(command: str, base_url: str) -> Any:
    words = shlex.split(command)[1:]
    method, data, headers, url = None, None, {}, None
    while words:
        word = words.pop(0)
        if word == "-s":
            continue
        if word == "-X":
            method = words.pop(0)
        elif word == "-d":
            data = words.pop(0).encode()
        elif word == "-H":
            name, _, value = words.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif word.startswith("http"):
            url = word.replace(DOC_URL, base_url)
        else:
            raise AssertionError(f"the README uses a curl option this test does not know: {word}")
    assert url, command
    if data is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")  # curl -d's
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


def check(expected: Any, actual: Any, captured: dict[str, Any], where: str = "answer") -> None:
    if isinstance(expected, str):
        if expected == ANY:
            return
        placeholder = PLACEHOLDER.match(expected)
        if placeholder:
            name = placeholder.group(1)
            if name in captured:
                assert actual == captured[name], f"{where}: {actual!r} != <{name}>"
            else:
                captured[name] = actual
            return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: no key {key!r} in {actual!r}"
            check(value, actual[key], captured, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{where}: expected {len(expected)} entries, got {actual!r}"
        )
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            check(want, got, captured, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"


def test_readme_has_runnable_examples():
    assert len(examples()) >= 15
    assert any(defines_tests(block) for block in blocks("python")), "the pytest example"
    assert all(expected is not None for _, expected in examples()), "every example shows its answer"


def test_readme_curl_examples_answer_as_documented():
    captured: dict[str, Any] = {}
    with MockServerProcess() as server:
        for command, expected in examples():
            for name, value in captured.items():
                command = command.replace(f"<{name}>", str(value))
            answer = send(command, server.url)
            check(expected, answer, captured, f"`{command[:90]}…` answered {answer!r}\n")


@pytest.mark.parametrize(
    "source",
    [block for block in blocks("python") if not defines_tests(block)],
    ids=lambda s: s.splitlines()[0][:40],
)
def test_readme_python_examples_run(source):
    exec(compile(source, str(README), "exec"), {})  # the README's own code


@pytest.mark.parametrize(
    "source",
    [block for block in blocks("python") if defines_tests(block)],
    ids=lambda s: s.splitlines()[0][:40],
)
def test_readme_pytest_examples_pass(pytester, source):
    """The block is a test file of the reader's (their client imported at its top);
    a separate pytest run must collect and pass every test it defines."""
    pytester.makepyfile(
        altcraft_client=EXAMPLE_CLIENT.read_text(encoding="utf-8"), my_client=MY_CLIENT
    )
    pytester.makepyfile(test_readme_example="from my_client import MyAltcraftClient\n\n" + source)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_readme_example.py")
    tests = len(re.findall(r"^def test_", source, re.M))
    result.assert_outcomes(passed=tests)
