"""The store: the only user of TinyDB.

Tables: `profiles` (doc id = creation sequence), `tasks`, `engagements`,
`meta`. Reads of single profiles go straight to the in-memory database;
writes go through TinyDB's table API in batches (one `insert_multiple` and
one `update` per commit, never one per profile, which TinyDB makes quadratic).
`flush()` writes the file atomically; it is awaited before an answer that
acknowledges work (SPEC §7: no acknowledged task is lost).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document, Table

from mockserver.clock import Clock, iso
from mockserver.domain.profiles import Profile
from mockserver.ids import IdGenerator
from mockserver.store.indexes import DatabaseIndex
from mockserver.store.storage import AtomicFile, MemoryBackedStorage

log = logging.getLogger(__name__)

PROFILES, TASKS, ENGAGEMENTS, META = "profiles", "tasks", "engagements", "meta"


class Store:
    def __init__(self, path: Path | None, clock: Clock, ids: IdGenerator) -> None:
        self._file = AtomicFile(path) if path is not None else None
        initial = self._file.load() if self._file is not None else {}
        self._db = TinyDB(storage=MemoryBackedStorage, initial=initial)
        self._storage: MemoryBackedStorage = self._db.storage  # type: ignore[assignment]
        self.clock = clock
        self.ids = ids
        self._profiles = self._db.table(PROFILES, cache_size=0)
        self._tasks = self._db.table(TASKS, cache_size=0)
        self._engagements = self._db.table(ENGAGEMENTS, cache_size=0)
        self._meta = self._db.table(META, cache_size=0)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._flush_lock = asyncio.Lock()
        self._version = 0
        self._persisted_version = 0
        self._rebuild_maps()

    # -- in-memory maps ----------------------------------------------------
    def _rebuild_maps(self) -> None:
        self._profile_doc: dict[str, str] = {}  # profile id -> TinyDB doc id (as stored)
        self._indexes: dict[tuple[str, int], DatabaseIndex] = {}
        self._task_doc: dict[str, int] = {}
        for doc_id, doc in self._raw(PROFILES).items():
            self._profile_doc[doc["id"]] = doc_id
            self.index(doc["account"], doc["db_id"]).add(doc)
        for doc_id, doc in self._raw(TASKS).items():
            self._task_doc[doc["task_id"]] = int(doc_id)
        self._next_seq = max(map(int, self._profile_doc.values()), default=0) + 1

    def _raw(self, table: str) -> dict[str, Any]:
        return self._storage.read().get(table, {})

    def index(self, account: str, db_id: int) -> DatabaseIndex:
        key = (account, db_id)
        found = self._indexes.get(key)
        if found is None:
            found = self._indexes[key] = DatabaseIndex()
        return found

    # -- profiles --------------------------------------------------------------
    def profile(self, profile_id: str) -> Profile | None:
        """The stored profile (read-only view of the live document)."""
        doc_key = self._profile_doc.get(profile_id)
        return None if doc_key is None else self._raw(PROFILES).get(doc_key)

    def profile_id_taken(self, profile_id: str) -> bool:
        return profile_id in self._profile_doc

    def profiles(self, account: str | None = None, db_id: int | None = None) -> Iterator[Profile]:
        for (owner, owner_db), index in self._indexes.items():
            if (account is None or owner == account) and (db_id is None or owner_db == db_id):
                for profile_id in index.ids():
                    profile = self.profile(profile_id)
                    if profile is not None:
                        yield profile

    def count_profiles(self) -> int:
        return len(self._profile_doc)

    def session(self, account: str) -> ProfileSession:
        return ProfileSession(self, account)

    def _write_profiles(
        self, created: Mapping[str, dict[str, Any]], replaced: Mapping[str, dict[str, Any]]
    ) -> None:
        if created:
            docs = []
            for profile_id, doc in created.items():
                seq = doc["seq"]
                self._profile_doc[profile_id] = str(seq)
                docs.append(Document(doc, doc_id=seq))
            self._profiles.insert_multiple(docs)
        if replaced:
            doc_ids = [int(self._profile_doc[p]) for p in replaced]
            self._replace_docs(self._profiles, replaced, doc_ids)
        self._touch()

    def take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    # -- engagements -----------------------------------------------------------
    def add_engagements(self, records: list[dict[str, Any]]) -> None:
        if records:
            self._engagements.insert_multiple(records)
            self._touch()

    def engagements(self) -> Iterable[Mapping[str, Any]]:
        return self._raw(ENGAGEMENTS).values()

    def count_engagements(self) -> int:
        return len(self._raw(ENGAGEMENTS))

    # -- tasks -----------------------------------------------------------------
    def task(self, task_id: str) -> Mapping[str, Any] | None:
        doc_id = self._task_doc.get(task_id)
        return None if doc_id is None else self._raw(TASKS).get(str(doc_id))

    def task_id_taken(self, task_id: str) -> bool:
        return task_id in self._task_doc

    def tasks(self) -> Iterable[Mapping[str, Any]]:
        return list(self._raw(TASKS).values())

    def save_task(self, doc: dict[str, Any]) -> None:
        doc_id = self._task_doc.get(doc["task_id"])
        if doc_id is None:
            self._task_doc[doc["task_id"]] = self._tasks.insert(doc)
        else:
            self._replace_docs(self._tasks, {doc["task_id"]: doc}, [doc_id], key="task_id")
        self._touch()

    # -- meta ------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        for doc in self._raw(META).values():
            if doc.get("key") == key:
                return doc.get("value")
        return default

    def set_meta(self, key: str, value: Any) -> None:
        from tinydb import Query

        self._meta.upsert({"key": key, "value": value}, Query().key == key)
        self._touch()

    # -- whole store -----------------------------------------------------------
    def clear(self) -> None:
        """Drop every table (reset); fixtures are loaded again by the caller."""
        self._db.drop_tables()
        self._rebuild_maps()
        self._touch()

    def clear_account(self, account: str) -> None:
        """Remove one account's profiles, tasks and engagements (an account reset)."""
        for table_name, table in (
            (PROFILES, self._profiles),
            (TASKS, self._tasks),
            (ENGAGEMENTS, self._engagements),
        ):
            doomed = [
                int(doc_id)
                for doc_id, doc in self._raw(table_name).items()
                if doc.get("account") == account
            ]
            if doomed:
                table.remove(doc_ids=doomed)
        self._rebuild_maps()
        self._touch()

    def _replace_docs(
        self,
        table: Table,
        new_docs: Mapping[str, dict[str, Any]],
        doc_ids: list[int],
        key: str = "id",
    ) -> None:
        def replace(doc: dict[str, Any]) -> None:
            fresh = new_docs[doc[key]]
            doc.clear()
            doc.update(fresh)

        table.update(replace, doc_ids=doc_ids)

    def _touch(self) -> None:
        self._version += 1

    @property
    def persistent(self) -> bool:
        return self._file is not None

    async def flush(self) -> None:
        """Write the store file if anything changed; return when it is on disk."""
        if self._file is None:
            self._persisted_version = self._version
            return
        wanted = self._version
        async with self._flush_lock:
            if self._persisted_version >= wanted:
                return  # a write that started after our change already covered it
            version = self._version
            payload = self._storage.snapshot()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._file.write, payload)
            self._persisted_version = version

    def flush_sync(self) -> None:
        if self._file is not None and self._persisted_version < self._version:
            version = self._version
            self._file.write(self._storage.snapshot())
            self._persisted_version = version

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class ProfileSession:
    """One unit of work for one account: implements the domain's ProfileBook.

    Indexes change as each item is imported, so a later item of the same batch
    finds a profile an earlier one created; TinyDB is written once, at `apply`.
    """

    def __init__(self, store: Store, account: str) -> None:
        self._store = store
        self.account = account
        self._created: dict[str, dict[str, Any]] = {}
        self._replaced: dict[str, dict[str, Any]] = {}
        self._now: str | None = None

    def _timestamp(self) -> str:
        # One timestamp per unit of work: formatting one per profile costs more
        # than matching it.
        if self._now is None:
            self._now = iso(self._store.clock.now())
        return self._now

    def get(self, profile_id: str) -> Profile | None:
        found = self._created.get(profile_id) or self._replaced.get(profile_id)
        if found is None:
            found = self._store.profile(profile_id)
        if found is None or found["account"] != self.account:
            return None  # another account's profile is invisible
        return found

    def _index(self, db_id: int) -> DatabaseIndex:
        return self._store.index(self.account, db_id)

    def ids_by_email(
        self, db_id: int, key: str, *, profile: bool, subscriptions: bool
    ) -> Iterable[str]:
        return self._index(db_id).by_email(key, profile=profile, subscriptions=subscriptions)

    def ids_by_phone(
        self, db_id: int, key: str, *, profile: bool, subscriptions: bool
    ) -> Iterable[str]:
        return self._index(db_id).by_phone(key, profile=profile, subscriptions=subscriptions)

    def ids_by_field(self, db_id: int, field: str, value: Any) -> Iterable[str]:
        return self._index(db_id).by_field(field, value, self.get)

    def ids_matching(self, db_id: int, predicate: Callable[[Profile], bool]) -> Iterable[str]:
        for profile_id in self._index(db_id).ids():
            profile = self.get(profile_id)
            if profile is not None and predicate(profile):
                yield profile_id

    def create(
        self, db_id: int, fields: dict[str, Any], subscriptions: list[dict[str, Any]]
    ) -> str:
        profile_id = self._store.ids.profile_id(
            taken=lambda pid: pid in self._created or self._store.profile_id_taken(pid)
        )
        data = dict(fields)
        data["_createtime"] = self._timestamp()
        doc = {
            "id": profile_id,
            "account": self.account,
            "db_id": db_id,
            "seq": self._store.take_seq(),
            "data": data,
            "subscriptions": subscriptions,
        }
        self._created[profile_id] = doc
        self._index(db_id).add(doc)
        return profile_id

    def replace(
        self, profile_id: str, fields: dict[str, Any], subscriptions: list[dict[str, Any]]
    ) -> None:
        old = self.get(profile_id)
        assert old is not None, profile_id
        new = dict(old)
        new["data"] = fields
        new["subscriptions"] = subscriptions
        self._index(old["db_id"]).replace(old, new)
        if profile_id in self._created:
            self._created[profile_id] = new
        else:
            self._replaced[profile_id] = new

    def load_fixture_profile(
        self, db_id: int, doc: Mapping[str, Any], data: Mapping[str, Any] | None = None
    ) -> str:
        """Create a fixture profile, keeping the id it declares (`data`: checked fields)."""
        profile_id = doc.get("id") or self._store.ids.profile_id(
            taken=lambda pid: pid in self._created or self._store.profile_id_taken(pid)
        )
        data = dict(data if data is not None else doc.get("data") or {})
        data.setdefault("_createtime", self._timestamp())
        record = {
            "id": profile_id,
            "account": self.account,
            "db_id": db_id,
            "seq": self._store.take_seq(),
            "data": data,
            "subscriptions": list(doc.get("subscriptions") or []),
        }
        self._created[profile_id] = record
        self._index(db_id).add(record)
        return profile_id

    def apply(self) -> None:
        """Write what this unit of work changed, in one batch per table."""
        self._store._write_profiles(self._created, self._replaced)
        self._created, self._replaced, self._now = {}, {}, None
