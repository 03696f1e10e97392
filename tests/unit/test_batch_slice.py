"""The batch-shaped import path (mockserver/domain/batch.py) against the general one.

The same generated slices run through `Importer.apply_slice` twice, on two fresh
stores with the same seed, the same clock and the same existing profiles: once
as the server runs them (columns where they can), once through the general
path alone. Everything observable must be the same: the outcomes and the task
results in order, the stored documents (ids, data in key order, seq,
subscriptions, `_createtime`), the index maps, the engagements, the change-log
line and the RNG's state (the next ids).
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from mockserver.clock import VirtualClock
from mockserver.domain import batch
from mockserver.domain.catalog import Account, Database, FieldType, Resource
from mockserver.domain.importing import SliceResult, run_general_slice
from mockserver.domain.items import ImportOptions
from mockserver.domain.matching import MatchingMode
from mockserver.ids import IdGenerator
from mockserver.importer import work
from mockserver.importer.turns import SliceTurns
from mockserver.importer.work import Importer
from mockserver.store.repository import Store
from tests.helpers import replaces_core_code

DB = Database(
    1,
    "Main",
    {
        "CRM_ID": FieldType.STRING,
        "Points": FieldType.INT,
        "Score": FieldType.FLOAT,
        "Vip": FieldType.BOOL,
        "Extra": FieldType.JSON,
        "Tags": FieldType.TAGS,
        "Since": FieldType.DATE,
    },
)
ACCOUNT = Account(
    "default",
    ("token",),
    databases={1: DB},
    resources={
        1: Resource(1, 1, "Mail and SMS", frozenset({"email", "sms"})),
        2: Resource(2, 1, "Mail", frozenset({"email"})),
    },
)
SOURCE = "workflows/import_and_start_batch_task"


def existing_profiles(store: Store) -> None:
    """Profiles the batches find: one per email, two sharing an email, one known by a
    subscription only, one by phone, and one with a subscription of its own."""
    session = store.session("default")
    for n in range(6):
        session.create(1, {"email": f"old{n}@example.com", "phones": [f"+7800000000{n}"]}, [])
    session.create(1, {"email": "twin@example.com"}, [])
    session.create(1, {"email": "TWIN@example.com", "_fname": "Second"}, [])
    session.create(
        1, {"_fname": "Subscribed"}, [{"resource_id": 2, "channel": "email", "email": "sub@x.io"}]
    )
    session.create(
        1,
        {"email": "withsub@example.com"},
        [{"resource_id": 1, "channel": "sms", "phone": "+78005550000", "status": "subscribed"}],
    )
    session.create(1, {"phones": ["+78009990000"]}, [])
    session.apply()


#: Values that pass, and values the rules refuse or that are not of the columns'
#: common form, by field.
EMAILS_OK = [
    "old1@example.com",  # an update
    "OLD2@Example.com",  # an update, by another case
    " old3@example.com ",  # trimmed
    "twin@example.com",  # two profiles hold it: the earliest is updated
    "sub@x.io",  # a subscription holds it
    "withsub@example.com",
    "ÄBC@Example.COM",
    "İstanbul@x.io",  # lower case is two characters longer
    "straße@x.de",
    "dup@example.com",  # several times in a batch: the second finds the first
    "DUP@example.com",
]
EMAILS_BAD = ["no-at-sign", "a@b", "a b@c.io", "a@b.co\nc@d.ef", 5, None, ["a@b.co"], "", True]
PHONES_OK = [
    "+78000000001",  # an update, by phone
    "+78009990000",
    "+78005550000",  # a subscription holds it
    "+7 (900) 123-45-67",
    "79001112233",
    79004445566,
    ["+79001112233", "+7 900 111 22 33"],
    ["+79001234000", "+78000000001"],  # the first is the key; the second is known
    [],
    None,
]
PHONES_BAD = ["12", "abc", True, {"n": 1}, ["+79001112233", "x"], "+7900111223344556"]
OTHER_FIELDS: dict[str, tuple[list[Any], list[Any]]] = {
    "_fname": (["Ann", " Bob ", None, ""], [5, ["x"], True]),
    "_lname": (["Lambert"], [{}]),
    "_sex": ([1, "f", " m ", None], [True, 1.5]),
    "_bdate": (["1990-02-22", "1990-02-22T21:00:00Z"], ["22.02.1990", 19900222]),
    "_regip": (["10.0.0.1", " ::1 "], ["999.1.1.1", 7]),
    "CRM_ID": (["00000001", None], [1, False]),
    "Points": ([1, 0, None], ["1", True, 1.5]),
    "Score": ([1, 2.5, None], ["2.5", False]),
    "Vip": ([True, False, None], [1, "yes"]),
    "Extra": ([{"a": [1, 2]}, "x", 3, None], []),
    "Tags": (["a, b", ["c"]], [5, [1]]),
    "Since": (["2024-01-31"], ["2024-13-01", "yesterday"]),
    "Undeclared": (["anything", {"nested": [1]}, None], []),
    "_createtime": (["2020-01-01T00:00:00Z", 5], []),
    "phone": (["+79007778899", "+7 900 777 88 99"], ["1"]),
    "subscriptions": (
        [[{"resource_id": 2, "channel": "email", "email": "new-sub@x.io"}], []],
        [[{"resource_id": 99}], "x"],
    ),
}


def generated_items(rng: random.Random, count: int, offset: int) -> list[Any]:
    """Mostly the common shape (a few groups of fields), with every awkward kind mixed in."""
    shapes = [
        ("_fname", "_lname", "email", "phones", "CRM_ID"),
        ("email", "phones"),
        ("email",),
        ("phones", "Points"),
        ("email", "_fname", "Points", "Score", "Vip", "Extra", "Undeclared"),
    ]
    items: list[Any] = []
    for n in range(offset, offset + count):
        roll = rng.random()
        names = list(rng.choice(shapes))
        if roll < 0.1:
            names.append(rng.choice(sorted(OTHER_FIELDS)))
        data: dict[str, Any] = {}
        for name in names:
            data[name] = field_value(rng, name, n)
        item: Any = {"data": data}
        if roll > 0.97:
            item = rng.choice(
                [
                    None,
                    "text",
                    {"data": None},
                    {"data": data, "email": f"item-key{n}@example.com"},
                    {"data": data, "content": {"own": n}},
                    {"data": data, "custom_data": {"own": n}},
                    data,  # flat
                    {"data": {}},
                ]
            )
        items.append(item)
    return items


def field_value(rng: random.Random, name: str, n: int) -> Any:
    bad = rng.random() < 0.04
    if name == "email":
        if bad:
            return rng.choice(EMAILS_BAD)
        return rng.choice(EMAILS_OK) if rng.random() < 0.3 else f"profile{n}@example.com"
    if name == "phones":
        if bad:
            return rng.choice(PHONES_BAD)
        return rng.choice(PHONES_OK) if rng.random() < 0.3 else f"+7900{n:07d}"
    good, wrong = OTHER_FIELDS.get(name, ([f"value{n}"], []))
    if bad and wrong:
        return rng.choice(wrong)
    return rng.choice(good) if rng.random() < 0.5 else f"{name}{n}" if name == "CRM_ID" else good[0]


def fresh_store() -> Store:
    store = Store(None, VirtualClock(), IdGenerator(seed=7))
    existing_profiles(store)
    return store


def run_all(
    monkeypatch: pytest.MonkeyPatch,
    options: ImportOptions,
    items: list[Any],
    *,
    general: bool,
    slice_items: int,
    store: Store | None = None,
) -> tuple[Store, list[SliceResult], list[bytes]]:
    """Import `items` slice by slice; the change-log line of each slice as well."""
    store = store or fresh_store()
    store._pending.clear()
    importer = Importer(store, SimpleNamespace(geo=()), SliceTurns())  # type: ignore[arg-type]
    with monkeypatch.context() as patched:
        if general:
            patched.setattr(work, "run_slice", run_general_slice)
        job = importer.job(ACCOUNT, DB, options, items, workflow_id=2)
        engagement = importer.engagement(ACCOUNT, SOURCE, options, workflow_id=2, task_id="t")
        results, lines = [], []
        for start in range(0, len(items), slice_items):
            stop = min(len(items), start + slice_items)
            results.append(importer.apply_slice(job, start, stop, engagement=engagement))
            lines.append(orjson.dumps(store._pending))
            store._pending.clear()
    return store, results, lines


def observed(store: Store) -> dict[str, Any]:
    """Everything a client or the files could tell apart."""
    indexes = {
        key: {
            "members": list(index.members),
            **{
                name: {
                    k: sorted(v) if isinstance(v, set) else v
                    for k, v in getattr(index, name).items()
                }
                for name in ("emails", "sub_emails", "phones", "sub_phones")
            },
            "fields": {
                name: {repr(k): sorted(v) if isinstance(v, set) else v for k, v in idmap.items()}
                for name, idmap in index.fields.items()
            },
        }
        for key, index in store._indexes.items()
    }
    return {
        "tables": orjson.dumps(store._storage.read()),  # key order included
        "indexes": indexes,
        "profile_doc": store._profile_doc,
        "engagements": list(store.engagements()),
        "next_ids": store._next_id,
        "rng": store.ids.rng.getstate(),
    }


MODES = [mode.value for mode in MatchingMode if mode not in (MatchingMode.CUSTOM,)]


@pytest.mark.parametrize("matching", [*MODES, "custom"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_batch_path_leaves_what_the_general_path_leaves(monkeypatch, matching, seed):
    rng = random.Random(seed)
    items = generated_items(rng, 700, 0)
    options = ImportOptions(
        matching=MatchingMode(matching),
        field_name="CRM_ID" if matching == "custom" else None,
        content={"shared": True} if seed == 2 else None,
    )
    slice_items = rng.choice([1, 7, 250, 500])
    fast = run_all(monkeypatch, options, items, general=False, slice_items=slice_items)
    slow = run_all(monkeypatch, options, items, general=True, slice_items=slice_items)
    fast_store, fast_results, fast_lines = fast
    slow_store, slow_results, slow_lines = slow
    assert [r.outcomes() for r in fast_results] == [r.outcomes() for r in slow_results]
    assert [r.results() for r in fast_results] == [r.results() for r in slow_results]
    assert fast_results == slow_results  # ids, created flags, failures, extras
    assert fast_lines == slow_lines
    assert observed(fast_store) == observed(slow_store)
    if MatchingMode(matching) in batch.BATCH_MODES:
        # The generated slices exercise both: most items by columns, the rest not.
        outcomes = [o for r in slow_results for o in r.outcomes()]
        assert sum(1 for o in outcomes if hasattr(o, "profile_id")) > 250
        assert sum(1 for o in outcomes if not hasattr(o, "profile_id")) > 20


def test_a_re_import_updates_the_same_profiles_by_both_paths(monkeypatch):
    items = generated_items(random.Random(9), 600, 0)
    options = ImportOptions(matching=MatchingMode.EMAIL)
    states = []
    for general in (False, True):
        store, _, _ = run_all(monkeypatch, options, items + items, general=general, slice_items=500)
        states.append(observed(store))
    assert states[0] == states[1]


@replaces_core_code
def test_the_columns_take_the_common_shape_and_leave_the_rest(monkeypatch):
    """Guard against a differential test that compares the general path with itself:
    the common items are decided by the columns, the awkward ones are not."""
    calls = []
    real = batch.run_item

    def counting(job, index, *rest):
        calls.append(index)
        return real(job, index, *rest)

    monkeypatch.setattr(batch, "run_item", counting)
    items = [
        {"data": {"email": f"p{n}@example.com", "phones": f"+7900000{n:04d}", "_fname": "A"}}
        for n in range(100)
    ]
    items[10]["data"]["email"] = "not an email"
    items[20] = {"data": {"email": "x@example.com"}, "content": {"own": 1}}
    items[30]["data"]["email"] = "twin@example.com"  # several profiles: decided by find_profile
    store = fresh_store()
    importer = Importer(store, SimpleNamespace(geo=()), SliceTurns())  # type: ignore[arg-type]
    job = importer.job(ACCOUNT, DB, ImportOptions(), items, workflow_id=2)
    done = importer.apply_slice(job, 0, 100, engagement=None)
    assert calls == [10, 20]
    assert list(done.failures) == [10]
    assert done.created.count(True) == 98


def restarted_seeded_store() -> Store:
    """A store that holds some of the ids its RNG draws next (a seeded run restarted
    on its own store): both paths pass over the same ones."""
    store = fresh_store()
    probe = IdGenerator()
    probe.rng.setstate(store.ids.rng.getstate())
    upcoming = [probe.profile_id() for _ in range(60)]
    session = store.session("default")
    for profile_id in upcoming[::3] + upcoming[1:4]:
        if not store.profile_id_taken(profile_id):
            session.load_fixture_profile(1, {"id": profile_id, "data": {"_fname": "Stored"}})
    session.apply()
    return store


@pytest.mark.parametrize("slice_items", [7, 500])
def test_ids_a_restarted_seeded_store_holds_are_passed_over_by_both_paths(monkeypatch, slice_items):
    items = generated_items(random.Random(5), 400, 0)
    items += [{"data": {"email": f"new{n}@example.com"}} for n in range(60)]
    options = ImportOptions(matching=MatchingMode.EMAIL_PHONE)
    runs = [
        run_all(
            monkeypatch,
            options,
            items,
            general=general,
            slice_items=slice_items,
            store=restarted_seeded_store(),
        )
        for general in (False, True)
    ]
    (fast_store, fast_results, fast_lines), (slow_store, slow_results, slow_lines) = runs
    assert fast_results == slow_results
    assert fast_lines == slow_lines
    assert observed(fast_store) == observed(slow_store)


def test_new_profiles_a_later_item_finds_are_created_before_it_looks(monkeypatch):
    """Items that create profiles, then items that find them by the same email or by
    any of their phones (not only the first), in one slice: both paths agree."""
    items: list[Any] = [
        {"data": {"email": "a@example.com", "phones": ["+79000000001", "+79000000002"]}},
        {"data": {"email": "b@example.com", "phones": "+79000000003"}},
        {"data": {"email": "c@example.com"}},
        {"data": {"email": "A@example.com", "_fname": "Again"}},
        {"data": {"phones": "+79000000002", "_fname": "By second phone"}},
        {"data": {"email": "d@example.com", "phones": "+79000000003"}},
        {"data": {"email": "twin@example.com", "_fname": "Several"}},
        {"data": {"email": "e@example.com"}},
        {"data": {"email": "not an email"}},
        {"data": {"email": "e@example.com", "_fname": "After a general item"}},
    ]
    for matching in (MatchingMode.EMAIL, MatchingMode.PHONE, MatchingMode.EMAIL_PHONE):
        options = ImportOptions(matching=matching)
        fast = run_all(monkeypatch, options, items, general=False, slice_items=500)
        slow = run_all(monkeypatch, options, items, general=True, slice_items=500)
        assert fast[1] == slow[1]
        assert fast[2] == slow[2]
        assert observed(fast[0]) == observed(slow[0])
    # By email, then phone: a, b, c and e are new; "d" finds b by its phone.
    assert fast[1][0].created.count(True) == 4


def test_updates_keep_a_custom_field_index_in_step_by_both_paths(monkeypatch):
    """Once a `custom` import has indexed a field, an email-matched update that
    changes that field moves the profile in the field's index, whichever path
    imports it (an update in place must not skip the index)."""
    states = []
    for general in (False, True):
        store = fresh_store()
        by_crm = ImportOptions(matching=MatchingMode.CUSTOM, field_name="CRM_ID")
        first = [{"data": {"email": f"c{n}@example.com", "CRM_ID": f"A{n}"}} for n in range(40)]
        _, made, _ = run_all(
            monkeypatch, by_crm, first, general=general, slice_items=500, store=store
        )
        assert store._indexes[("default", 1)].fields  # the field is indexed now
        again = [{"data": {"email": f"c{n}@example.com", "CRM_ID": f"B{n}"}} for n in range(40)]
        by_email = ImportOptions(matching=MatchingMode.EMAIL)
        run_all(monkeypatch, by_email, again, general=general, slice_items=500, store=store)
        found = run_all(
            monkeypatch, by_crm, again[:3], general=general, slice_items=500, store=store
        )
        # The new values find the profiles the first import made.
        assert found[1][0].profile_ids == made[0].profile_ids[:3]
        states.append(observed(store))
    assert states[0] == states[1]
