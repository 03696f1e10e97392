"""Persistence: snapshot + change log, crash tails, compaction, TinyDB format."""

from __future__ import annotations

import orjson
import pytest
from tinydb import TinyDB

from mockserver.clock import VirtualClock
from mockserver.ids import IdGenerator
from mockserver.store import repository
from mockserver.store.repository import Store


def open_store(path):
    return Store(path, VirtualClock(), IdGenerator(seed=1))


def import_profiles(store, emails):
    session = store.session("default")
    ids = [session.create(1, {"email": email}, []) for email in emails]
    session.apply()
    store.add_engagements([{"account": "default", "workflow_id": 2, "profile_id": i} for i in ids])
    return ids


async def test_changes_survive_a_restart_through_the_log(tmp_path):
    path = tmp_path / "store.json"
    store = open_store(path)
    ids = import_profiles(store, ["a@x.io", "b@x.io"])
    store.save_task({"task_id": "t1", "account": "default", "status": "queued"})
    await store.flush()  # first flush: the initial snapshot
    import_profiles(store, ["c@x.io"])
    await store.flush()  # then a log line, no snapshot rewrite
    assert path.with_name("store.json.log").stat().st_size > 0

    reopened = open_store(path)  # as after a kill: no compaction happened

    assert reopened.count_profiles() == 3
    assert reopened.profile(ids[0])["data"] == store.profile(ids[0])["data"]
    assert reopened.task("t1")["status"] == "queued"
    assert reopened.count_engagements() == 3
    found = reopened.index("default", 1).by_email("c@x.io", profile=True, subscriptions=False)
    assert len(found) == 1


async def test_a_torn_last_log_line_is_dropped_and_cut_before_the_next_append(tmp_path):
    path = tmp_path / "store.json"
    store = open_store(path)
    import_profiles(store, ["a@x.io"])
    await store.flush()
    import_profiles(store, ["b@x.io"])
    await store.flush()
    log_path = path.with_name("store.json.log")
    with open(log_path, "ab") as log:
        log.write(b'{"profiles":{"99":{"id":"half')  # a write cut short by a crash
    before = log_path.read_bytes()

    reopened = open_store(path)

    assert reopened.count_profiles() == 2
    assert log_path.read_bytes() == before, "loading rewrites nothing"
    import_profiles(reopened, ["c@x.io"])
    await reopened.flush()
    assert b"half" not in log_path.read_bytes(), "the torn tail is cut before the append"
    reopened.release()
    assert open_store(path).count_profiles() == 3


async def test_the_log_is_folded_into_a_snapshot_when_it_grows(tmp_path, monkeypatch):
    monkeypatch.setattr(repository, "COMPACT_MIN_BYTES", 1)
    path = tmp_path / "store.json"
    store = open_store(path)
    for n in range(5):
        import_profiles(store, [f"user{n}@x.io"])
        await store.flush()

    assert path.with_name("store.json.log").stat().st_size < 1000
    assert len(orjson.loads(path.read_bytes())["profiles"]) >= 4
    assert open_store(path).count_profiles() == 5


async def test_a_clean_stop_leaves_one_tinydb_file(tmp_path):
    path = tmp_path / "store.json"
    store = open_store(path)
    ids = import_profiles(store, ["a@x.io", "b@x.io"])
    await store.flush()
    import_profiles(store, ["c@x.io"])
    await store.flush(compact=True)

    assert path.with_name("store.json.log").read_bytes() == b'{"generation":2}\n'  # header only
    with TinyDB(path) as plain:  # TinyDB's own JSONStorage reads it
        emails = sorted(doc["data"]["email"] for doc in plain.table("profiles").all())
        assert emails == ["a@x.io", "b@x.io", "c@x.io"]
        assert plain.table("profiles").get(doc_id=1)["id"] == ids[0]


async def test_an_account_reset_is_logged_as_deletions(tmp_path):
    path = tmp_path / "store.json"
    store = open_store(path)
    import_profiles(store, ["a@x.io"])
    other = store.session("other")
    other.create(1, {"email": "o@x.io"}, [])
    other.apply()
    await store.flush()
    store.clear_account("default")
    await store.flush()

    reopened = open_store(path)

    assert [p["account"] for p in reopened.profiles()] == ["other"]
    assert reopened.count_engagements() == 0


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]"])
def test_a_broken_snapshot_stops_start_up_with_a_clear_message(tmp_path, content):
    from mockserver.store.storage import StoreFileError

    path = tmp_path / "store.json"
    path.write_bytes(content)
    with pytest.raises(StoreFileError, match="store file"):
        open_store(path)


def test_leftovers_of_an_interrupted_snapshot_write_are_removed(tmp_path):
    path = tmp_path / "store.json"
    leftover = tmp_path / ".store.json.abc123.tmp"
    leftover.write_bytes(b'{"profiles": {"1": ')  # a kill in the middle of a snapshot

    store = open_store(path)

    assert not leftover.exists()
    assert store.count_profiles() == 0


async def test_a_store_written_before_generations_is_read_and_moves_on(tmp_path):
    """A snapshot without `_store` and a log without a header line (the first
    released layout) load; the first flush writes a snapshot with a generation."""
    path = tmp_path / "store.json"
    profile = {
        "id": "a" * 24,
        "account": "default",
        "db_id": 1,
        "seq": 1,
        "data": {"email": "old@x.io"},
        "subscriptions": [],
    }
    path.write_bytes(orjson.dumps({"profiles": {}}))
    line = {"profiles": {"1": profile}}
    path.with_name("store.json.log").write_bytes(orjson.dumps(line) + b"\n")

    reopened = open_store(path)
    assert reopened.profile("a" * 24)["data"] == {"email": "old@x.io"}
    await reopened.flush()
    assert orjson.loads(path.read_bytes())["_store"] == {"1": {"generation": 1}}
