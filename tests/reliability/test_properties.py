"""Properties of the domain, checked with hypothesis (issue 7, item 1).

For generated batches (emails drawn from a small pool, so items of one batch
share profiles; case and whitespace variants; optional fields; some invalid
items), against the real server:

- matching and merging are idempotent: importing the same batch a second time
  answers the same profile ids and changes no stored profile;
- request order is kept: result i belongs to item i, also when a task is moved
  forward a few items at a time, and each profile holds, field by field, the
  value of the last item that gave it;
- ids are unique: one profile per distinct email, one id per profile, ids of
  the vendor's shape, task ids never reused.

And of the body parser: a JSON object is accepted exactly as it was sent
(whole floats read as ints), and the same object with a duplicated key is
refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.errors import InvalidRequest
from mockserver.http.parsing import parse_json_object
from tests.reliability.helpers import (
    BATCH_TASK,
    STATUS,
    SYNC_BATCH,
    ServerProcess,
    figure,
)

pytestmark = pytest.mark.e2e

PROFILE_ID = re.compile(r"^[0-9a-f]{24}$")
NAMES = ("ann", "bob", "cid", "dee", "eve", "fay")
FIELDS = ("_fname", "CRM_ID", "Points")
EXAMPLES = 30
PROPERTIES = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_TRIED: dict[str, int] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("properties")
    with ServerProcess(workdir, "--progression", "instant") as running:
        yield running
        assert running.crash_lines() == []
    figure("properties", examples=sum(_TRIED.values()), by_property=dict(_TRIED), failures=0)


# -- strategies ------------------------------------------------------------------------


@st.composite
def emails(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(NAMES))
    email = f"{name}@example.com"
    if draw(st.booleans()):
        email = email.upper() if draw(st.booleans()) else email.capitalize()
    return draw(st.sampled_from(["", " ", "  "])) + email + draw(st.sampled_from(["", " "]))


valid_items = st.builds(
    lambda email, fields: {"data": {"email": email, **fields}},
    emails(),
    st.fixed_dictionaries(
        {},
        optional={
            "_fname": st.text(alphabet="abcdeАБВ", min_size=1, max_size=8),
            "CRM_ID": st.text(alphabet="0123456789", min_size=1, max_size=6),
            "Points": st.integers(min_value=-(10**6), max_value=10**6),
        },
    ),
)
invalid_items = st.sampled_from(
    [
        {"data": {"email": "not-an-email"}},
        {"data": {"_fname": "no key"}},
        {"data": {"email": "ann@example.com", "Points": "ten"}},
        "not an object",
    ]
)
batches = st.lists(st.one_of(valid_items, valid_items, valid_items, invalid_items), max_size=15)


def key(item: Any) -> str | None:
    """The matching key of a valid item (None: the item fails)."""
    if not isinstance(item, dict):
        return None
    data = item["data"]
    if "email" not in data or "@" not in data["email"] or isinstance(data.get("Points"), str):
        return None
    return data["email"].strip().lower()


def expected_profiles(batch: list[Any]) -> dict[str, dict[str, Any]]:
    """The model: per email, each field's last given value, in request order."""
    model: dict[str, dict[str, Any]] = {}
    for item in batch:
        email = key(item)
        if email is not None:
            fields = {name: value for name, value in item["data"].items() if name in FIELDS}
            model.setdefault(email, {}).update(fields, email=item["data"]["email"].strip())
    return model


# -- helpers ---------------------------------------------------------------------------


def fresh(server: ServerProcess, progression: str | None = None) -> None:
    server.control("POST", "/_mock/reset", {})
    if progression is not None:
        server.control("PUT", "/_mock/progression", {"default": {"mode": progression}})


def sync_import(server: ServerProcess, batch: list[Any]) -> list[dict[str, Any]]:
    answer = server.api(SYNC_BATCH, {"workflow_id": 2, "matching": "email", "data": batch})
    assert answer["error"] == 0, answer
    return answer["result"]


def stored(server: ServerProcess) -> dict[str, dict[str, Any]]:
    listing = server.control("GET", "/_mock/profiles?limit=10000")
    return {profile["id"]: profile for profile in listing["profiles"]}


def outcome(entry: dict[str, Any]) -> Any:
    """A result entry as the sync batch and the task both give it."""
    return entry.get("profile_id") or (entry["error"], entry["error_text"])


# -- properties --------------------------------------------------------------------------


@PROPERTIES
@given(batch=batches)
def test_importing_a_batch_again_changes_nothing(server: ServerProcess, batch: list[Any]) -> None:
    if not batch:
        batch = [{"data": {"email": "ann@example.com"}}]
    fresh(server)
    first = sync_import(server, batch)
    after_first = stored(server)
    second = sync_import(server, batch)

    assert [outcome(entry) for entry in second] == [outcome(entry) for entry in first]
    assert stored(server) == after_first
    _TRIED["idempotent"] = _TRIED.get("idempotent", 0) + 1


@PROPERTIES
@given(batch=batches)
def test_results_keep_request_order_and_profiles_hold_the_last_values(
    server: ServerProcess, batch: list[Any]
) -> None:
    if not batch:
        batch = [{"data": {"email": "bob@example.com"}}]
    fresh(server)
    results = sync_import(server, batch)
    profiles = stored(server)
    model = expected_profiles(batch)

    assert len(results) == len(batch)
    ids_by_email: dict[str, str] = {}
    for item, entry in zip(batch, results, strict=True):
        email = key(item)
        if email is None:
            assert "profile_id" not in entry and entry["error"] == 400, (item, entry)
            continue
        assert PROFILE_ID.match(entry["profile_id"]), entry
        assert ids_by_email.setdefault(email, entry["profile_id"]) == entry["profile_id"]
    # One profile per distinct email, one email per profile id.
    assert len(set(ids_by_email.values())) == len(ids_by_email) == len(profiles)
    for email, profile_id in ids_by_email.items():
        data = profiles[profile_id]["data"]
        assert {name: data[name] for name in model[email]} == model[email]
    _TRIED["order-and-merge"] = _TRIED.get("order-and-merge", 0) + 1


@PROPERTIES
@given(batch=batches.filter(bool), steps=st.lists(st.integers(1, 6), min_size=1, max_size=8))
def test_a_task_moved_on_in_slices_answers_what_one_request_does(
    server: ServerProcess, batch: list[Any], steps: list[int]
) -> None:
    fresh(server)
    expected = [outcome(entry) for entry in sync_import(server, batch)]
    fresh(server, progression="manual")
    task_ids = set()
    answer = server.api(BATCH_TASK, {"workflow_id": 2, "matching": "email", "data": batch})
    task_id = answer["task_id"]
    task_ids.add(task_id)
    for step in steps * len(batch):
        view = server.control("POST", f"/_mock/tasks/{task_id}/advance", {"items": step})
        if view["status"] == "completed":
            break
    else:
        server.control("POST", f"/_mock/tasks/{task_id}/complete", {})
    data = server.api(STATUS, {"task_id": task_id})["data"]

    assert data["status"] == "completed"
    # The ids differ from the first server state (reset between): compare the shape
    # of the answer by the emails the ids stand for.
    got = [outcome(entry) for entry in data["result"]["result"]]
    assert [isinstance(entry, str) for entry in got] == [isinstance(e, str) for e in expected]
    assert [e for e in got if not isinstance(e, str)] == [
        e for e in expected if not isinstance(e, str)
    ]
    by_email = {}
    for item, entry in zip(batch, got, strict=True):
        if isinstance(entry, str):
            assert by_email.setdefault(key(item), entry) == entry
    assert len(set(by_email.values())) == len(by_email)
    _TRIED["task-slices"] = _TRIED.get("task-slices", 0) + 1


def test_task_ids_are_never_reused(server: ServerProcess) -> None:
    fresh(server, progression="manual")
    task_ids = [
        server.api(BATCH_TASK, {"workflow_id": 2, "data": [{"data": {"email": "a@b.io"}}]})[
            "task_id"
        ]
        for _ in range(200)
    ]
    assert len(set(task_ids)) == len(task_ids)


# -- the body parser ------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.text(alphabet=st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(max_size=6).filter(lambda k: "\x00" not in k), children, max_size=4
        ),
    ),
    max_leaves=30,
)
json_objects = st.dictionaries(
    st.text(max_size=6).filter(lambda k: "\x00" not in k), json_values, max_size=6
)


def whole_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole_floats_as_ints(entry) for entry in value]
    if isinstance(value, dict):
        return {name: whole_floats_as_ints(entry) for name, entry in value.items()}
    return value


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(value=json_objects, indent=st.booleans())
def test_a_json_object_is_read_exactly_as_sent(value: dict[str, Any], indent: bool) -> None:
    raw = orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
    assert parse_json_object(raw) == whole_floats_as_ints(value)
    _TRIED["parser-accepts"] = _TRIED.get("parser-accepts", 0) + 1


@settings(max_examples=100, derandomize=True, deadline=None, database=None)
@given(value=json_objects.filter(bool), data=st.data())
def test_a_key_given_twice_is_refused(value: dict[str, Any], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(value)))
    raw = orjson.dumps(value)
    member = orjson.dumps({name: value[name]})[1:-1]  # `"name":value`
    doubled = raw[:-1] + b"," + member + b"}"
    with pytest.raises(InvalidRequest, match="duplicate key"):
        parse_json_object(doubled)
    _TRIED["parser-duplicates"] = _TRIED.get("parser-duplicates", 0) + 1
