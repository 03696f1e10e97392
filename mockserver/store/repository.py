"""The store: the only user of TinyDB.

The database is TinyDB's: tables `profiles` (doc id = creation sequence),
`tasks` (with `task_items` and `task_results` beside them), `engagements` and
`meta`, held by `MemoryBackedStorage`, and the
snapshot file is a TinyDB JSON file. Writes go straight into the tables the
storage holds rather than through TinyDB's Table API, because every Table
call rebuilds the whole table, which makes a batch cost grow with the store.

Persistence (SPEC §7): each commit appends its changed documents to a change
log, one fsynced line, so a commit costs what it changed, not the store's
size; when the log outgrows the snapshot, a new snapshot is written
atomically and the log emptied. `flush()` is awaited before an answer that
acknowledges work, so no acknowledged task is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NoReturn, cast

import orjson
from tinydb import TinyDB

from mockserver.clock import Clock, iso
from mockserver.domain.profiles import Profile, merge_fields, merge_subscriptions
from mockserver.errors import StoreUnavailable
from mockserver.ids import IdGenerator
from mockserver.store.engagements import engagement_count, engagement_records
from mockserver.store.indexes import DatabaseIndex
from mockserver.store.storage import (
    ChangeLog,
    MemoryBackedStorage,
    SnapshotFile,
    StoreFileError,
    StoreLock,
    advice,
    check_store_path,
)

log = logging.getLogger(__name__)

PROFILES, TASKS, ENGAGEMENTS, META = "profiles", "tasks", "engagements", "meta"
#: A task's request items (doc id = task id; gone once the task ends) and its
#: results (one doc per saved step, doc id = `task_id:first index`). Kept out of
#: the task's own document, which every step saves again: a `rate` task saves
#: ~50 times a second, and rewriting a 10,000-item body each time made every
#: commit cost the whole request (1.4 MB serialised and written per tick).
TASK_ITEMS, TASK_RESULTS = "task_items", "task_results"
#: Profiles removed by `profiles/delete` (doc id = profile id): their
#: engagements stay in the history, marked `profile_deleted`.
DELETED_PROFILES = "deleted_profiles"

#: The change log is folded into a new snapshot once it is this large and
#: larger than the last snapshot: amortised O(1) per change, bounded replay.
COMPACT_MIN_BYTES = 16 * 1024 * 1024


class Store:
    def __init__(self, path: Path | None, clock: Clock, ids: IdGenerator) -> None:
        self._needs_snapshot = False
        self._snapshot_bytes = 0
        self._generation = 0
        self._lock: StoreLock | None = None
        self._snapshot: SnapshotFile | None = None
        self._log: ChangeLog | None = None
        if path is not None:
            path = check_store_path(path)
            self._lock = StoreLock(path)
            self._snapshot = SnapshotFile(path)
            self._log = ChangeLog(path)
        try:
            initial = self._load()
        except BaseException:
            self.release()
            raise
        self._db = TinyDB(storage=MemoryBackedStorage, initial=initial)
        self._storage: MemoryBackedStorage = self._db.storage  # type: ignore[assignment]
        self.clock = clock
        self.ids = ids
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._flush_lock = asyncio.Lock()
        self._background_flushes: set[asyncio.Task[None]] = set()
        # Changed since the last flush: table -> doc id -> doc (None: deleted).
        self._pending: dict[str, dict[str, Any]] = {}
        # Resets so far, in all and per account: work that began before one
        # (a synchronous import between two slices) sees it and stops.
        self._resets = 0
        self._account_resets: dict[str, int] = {}
        # Changes made so far, and how many of them are on disk: a flush returns
        # once the changes made before it was called are durable, or raises.
        self._changes = 0
        self._durable = 0
        #: Why the last write failed (None: the store is being written).
        self.write_error: str | None = None
        #: Called after each flush and after a clear (`serve` tunes the garbage
        #: collector with them: mockserver.gc_tuning).
        self.on_flushed: Callable[[], None] = _nothing
        self.on_cleared: Callable[[int], None] = _dropped
        #: Around each unit of import work, until its writes are in the tables
        #: (`serve`: `gc_tuning.bulk_work`).
        self.bulk_work: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext
        try:
            self._rebuild_maps()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.release()
            where = self._snapshot.path if self._snapshot is not None else "memory"
            raise StoreFileError(
                f"store {where} holds a document of an unexpected shape ({exc!r}); "
                f"{advice(Path(str(where)))}"
            ) from None

    def _load(self) -> dict[str, Any]:
        if self._snapshot is None or self._log is None:
            return {}
        snapshot, change_log = self._snapshot, self._log
        snapshot.remove_leftovers()
        if not snapshot.path.exists():
            if change_log.exists():
                raise StoreFileError(
                    f"store file {snapshot.path} is missing but its log {change_log.path} "
                    f"is there: the log alone is not a store; {advice(snapshot.path)}"
                )
            # A new store gets its snapshot file at the first flush (the app's
            # start-up does one before it listens), so the --db path holds a
            # valid TinyDB file from the moment a client can reach the server.
            self._needs_snapshot = True
            return {}
        data, generation = snapshot.load()
        self._snapshot_bytes = snapshot.size()
        self._generation = generation or 0
        replayed = change_log.replay(data, generation, snapshot.path) if change_log.exists() else 0
        if replayed is None:
            log.warning(
                "store: %s belongs to an earlier snapshot (a stop between the two writes): "
                "ignored, its changes are in %s",
                change_log.path,
                snapshot.path,
            )
        elif replayed:
            log.info("store: replayed %d change(s) from %s", replayed, change_log.path)
        # A stale log, or files from before generations: the first flush writes a
        # snapshot of the next generation and starts its log.
        self._needs_snapshot = replayed is None or generation is None
        return data

    # -- in-memory maps ----------------------------------------------------
    def _rebuild_maps(self) -> None:
        self._profile_doc: dict[str, str] = {}  # profile id -> doc id (as stored)
        self._indexes: dict[tuple[str, int], DatabaseIndex] = {}
        self._task_doc: dict[str, str] = {}
        for doc_id, doc in self._table(PROFILES).items():
            self._profile_doc[doc["id"]] = doc_id
            self.index(doc["account"], doc["db_id"]).add(doc)
        for doc_id, doc in self._table(TASKS).items():
            self._task_doc[doc["task_id"]] = doc_id
        # task id -> its result docs' ids, in the order of the items they answer
        self._task_results: dict[str, list[str]] = {}
        ordered = sorted(self._table(TASK_RESULTS).items(), key=lambda pair: pair[1]["start"])
        for doc_id, doc in ordered:
            self._task_results.setdefault(doc["task_id"], []).append(doc_id)
        self._next_id = {
            name: self._last_id(name) + 1 for name in (PROFILES, TASKS, ENGAGEMENTS, META)
        }

    def _last_id(self, name: str) -> int:
        return max(map(int, self._table(name)), default=0)

    def _table(self, name: str) -> dict[str, Any]:
        data = self._storage.read()
        table = data.get(name)
        if table is None:
            table = data[name] = {}
        return table

    def _put(self, name: str, doc_id: str, doc: Any) -> None:
        self._table(name)[doc_id] = doc
        self._changed(name)[doc_id] = doc

    def _changed(self, name: str) -> dict[str, Any]:
        self._changes += 1
        changed = self._pending.get(name)
        if changed is None:
            changed = self._pending[name] = {}
        return changed

    def _delete(self, name: str, doc_id: str) -> None:
        self._table(name).pop(doc_id, None)
        self._changed(name)[doc_id] = None

    def _new_id(self, name: str) -> str:
        doc_id = self._next_id[name]
        self._next_id[name] = doc_id + 1
        return str(doc_id)

    def index(self, account: str, db_id: int) -> DatabaseIndex:
        key = (account, db_id)
        found = self._indexes.get(key)
        if found is None:
            found = self._indexes[key] = DatabaseIndex()
        return found

    # -- profiles --------------------------------------------------------------
    def profile(self, profile_id: str) -> Profile | None:
        """The stored profile (read-only view of the live document)."""
        doc_id = self._profile_doc.get(profile_id)
        return None if doc_id is None else self._table(PROFILES).get(doc_id)

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
        profile_doc, table, changed = (
            self._profile_doc,
            self._table(PROFILES),
            self._changed(PROFILES),
        )
        for profile_id, doc in created.items():
            doc_id = profile_doc[profile_id] = str(doc["seq"])
            table[doc_id] = doc
            changed[doc_id] = doc
        for profile_id, doc in replaced.items():
            doc_id = profile_doc[profile_id]
            table[doc_id] = doc
            changed[doc_id] = doc

    def delete_profile(self, profile_id: str) -> None:
        """Remove a profile from the store and every index (`profiles/delete`)."""
        doc_id = self._profile_doc.pop(profile_id)
        doc = self._table(PROFILES)[doc_id]
        self.index(doc["account"], doc["db_id"]).remove(doc)
        self._delete(PROFILES, doc_id)
        record = {"account": doc["account"], "db_id": doc["db_id"], "time": iso(self.clock.now())}
        self._put(DELETED_PROFILES, profile_id, record)

    def take_seq(self) -> int:
        seq: int = self._next_id[PROFILES]
        self._next_id[PROFILES] = seq + 1
        return seq

    # -- engagements -----------------------------------------------------------
    def add_engagements(self, docs: list[dict[str, Any]]) -> None:
        """Store engagement documents: one record, or a batch (`Engagement.of_imports`)."""
        for doc in docs:
            self._put(ENGAGEMENTS, self._new_id(ENGAGEMENTS), doc)

    def engagements(self) -> Iterator[Mapping[str, Any]]:
        """One record per engaged profile, in the order they were recorded; a
        deleted profile's records say so (`profile_deleted`)."""
        deleted = self._table(DELETED_PROFILES)
        for doc in list(self._table(ENGAGEMENTS).values()):
            for record in engagement_records(doc):
                if deleted and record["profile_id"] in deleted:
                    record["profile_deleted"] = True
                yield record

    def count_engagements(self) -> int:
        return sum(map(engagement_count, self._table(ENGAGEMENTS).values()))

    # -- tasks -----------------------------------------------------------------
    def task(self, task_id: str) -> Mapping[str, Any] | None:
        doc_id = self._task_doc.get(task_id)
        return None if doc_id is None else self._table(TASKS).get(doc_id)

    def task_id_taken(self, task_id: str) -> bool:
        return task_id in self._task_doc

    def tasks(self) -> list[Mapping[str, Any]]:
        return list(self._table(TASKS).values())

    def count_tasks(self) -> int:
        return len(self._table(TASKS))

    def save_task(self, doc: dict[str, Any]) -> None:
        doc_id = self._task_doc.get(doc["task_id"])
        if doc_id is None:
            doc_id = self._task_doc[doc["task_id"]] = self._new_id(TASKS)
        self._put(TASKS, doc_id, doc)

    def save_task_items(self, task_id: str, items: list[Any]) -> None:
        """A task's request items, written once when it is created."""
        self._put(TASK_ITEMS, task_id, {"task_id": task_id, "items": items})

    def drop_task_items(self, task_id: str) -> None:
        if task_id in self._table(TASK_ITEMS):
            self._delete(TASK_ITEMS, task_id)

    def task_items(self, task_id: str) -> list[Any] | None:
        doc = self._table(TASK_ITEMS).get(task_id)
        return None if doc is None else doc["items"]

    def add_task_results(self, task_id: str, start: int, entries: list[Any]) -> None:
        """The results of items `start`.. of a task, saved once."""
        doc_id = f"{task_id}:{start}"
        self._put(TASK_RESULTS, doc_id, {"task_id": task_id, "start": start, "entries": entries})
        self._task_results.setdefault(task_id, []).append(doc_id)

    def task_results(self, task_id: str) -> list[Any]:
        table = self._table(TASK_RESULTS)
        return [
            entry
            for doc_id in self._task_results.get(task_id, ())
            for entry in table[doc_id]["entries"]
        ]

    def _delete_task_parts(self, task_id: str) -> None:
        self.drop_task_items(task_id)
        for doc_id in self._task_results.pop(task_id, ()):
            self._delete(TASK_RESULTS, doc_id)

    # -- meta ------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        for doc in self._table(META).values():
            if doc.get("key") == key:
                return doc.get("value")
        return default

    def set_meta(self, key: str, value: Any) -> None:
        found = next((i for i, doc in self._table(META).items() if doc.get("key") == key), None)
        self._put(META, found or self._new_id(META), {"key": key, "value": value})

    # -- whole store -----------------------------------------------------------
    def reset_mark(self, account: str) -> tuple[int, int]:
        """Changes when the store or this account is reset (see `clear`)."""
        return self._resets, self._account_resets.get(account, 0)

    def clear(self) -> None:
        """Drop every table (reset); fixtures are loaded again by the caller."""
        self._resets += 1
        tables = self._storage.read()
        dropped = sum(len(table) for table in tables.values())
        # A small store's drop is logged as its deletions (one line: a reset before
        # every test costs an append); a big one's as a fresh snapshot.
        logged = dropped <= CLEAR_LOGGED_MAX_DOCUMENTS and not self._needs_snapshot
        deletions = {name: dict.fromkeys(table) for name, table in tables.items() if table}
        self._db.drop_tables()
        self._pending = deletions if logged else {}
        self._changes += 1
        self._needs_snapshot = self._needs_snapshot or not logged
        self._rebuild_maps()
        self.on_cleared(dropped)

    def clear_account(self, account: str) -> None:
        """Remove one account's profiles, tasks and engagements (an account reset)."""
        self._account_resets[account] = self._account_resets.get(account, 0) + 1
        for doc in self._table(TASKS).values():
            if doc.get("account") == account:
                self._delete_task_parts(doc["task_id"])
        dropped = 0
        for name in (PROFILES, TASKS, ENGAGEMENTS, DELETED_PROFILES):
            doomed = [i for i, doc in self._table(name).items() if doc.get("account") == account]
            for doc_id in doomed:
                self._delete(name, doc_id)
            dropped += len(doomed)
        self._rebuild_maps()
        self.on_cleared(dropped)

    def disk_bytes(self) -> int:
        """The store's files as last written (snapshot and change log); 0 in memory."""
        if self._snapshot is None or self._log is None:
            return 0
        return self._snapshot_bytes + self._log.size

    @property
    def persistent(self) -> bool:
        return self._snapshot is not None

    async def flush(self, *, compact: bool = False) -> None:
        """Make every change made so far durable; return when it is on disk.

        Raises `StoreUnavailable` when the write fails (no space left, an I/O
        error): the caller's changes were not acknowledged by the disk. They
        stay pending, and the next flush (any request's, or a retry) writes
        them again; a request whose changes another request's flush wrote
        returns without waiting for more. `compact`: fold everything into a
        new snapshot (on a clean stop, so the --db file alone holds the store).
        """
        target = self._changes
        if self._snapshot is None or self._log is None:
            if self._pending:
                self._pending.clear()
                self.on_flushed()
            self._durable = target
            return
        async with self._flush_lock:
            compacting = compact and (bool(self._pending) or self._log.has_changes)
            if self._durable >= target and not self._needs_snapshot and not compacting:
                return  # another request's flush wrote these changes
            upto = self._changes
            outgrown = self._log.size > max(COMPACT_MIN_BYTES, self._snapshot_bytes)
            snapshot = self._needs_snapshot or compacting or outgrown
            try:
                await self._write(snapshot=snapshot)
            except OSError as exc:
                if not snapshot or self._needs_snapshot:
                    self._failed(exc)
                # Only the optional compaction failed (it needs room for a whole
                # snapshot beside the log): the log still takes the changes.
                try:
                    await self._write(snapshot=False)
                except OSError as again:
                    self._failed(again)
            if self.write_error is not None:
                log.warning("store: written again after the earlier failure")
            self.write_error = None
            self._durable = max(self._durable, upto)

    def flush_in_background(self) -> None:
        """Start a flush and return at once: for the mock's own changes (a reset)
        whose caller needs no disk acknowledgement. The next flush, and a clean
        stop's, wait for it (one lock, one writer thread, in order)."""
        if self._snapshot is None or self._log is None:
            self._durable = self._changes
            if self._pending:
                self._pending.clear()
                self.on_flushed()
            return
        task = asyncio.get_running_loop().create_task(self._flush_quietly())
        self._background_flushes.add(task)
        task.add_done_callback(self._background_flushes.discard)

    async def _flush_quietly(self) -> None:
        # A failed write is on `write_error` (health turns failing) and the
        # changes stay pending for the next flush; there is no caller to tell.
        with contextlib.suppress(StoreUnavailable):
            await self.flush()

    async def _write(self, *, snapshot: bool) -> None:
        """Serialise now (on the loop: documents may change afterwards), then do
        the disk work on the writer thread. On failure the changes are pending
        again and the OSError is raised."""
        assert self._snapshot is not None and self._log is not None
        if not snapshot and not self._pending:
            return
        snapshot_file, change_log = self._snapshot, self._log
        taken, self._pending = self._pending, {}
        if snapshot:
            generation, required = self._generation + 1, self._needs_snapshot
            payload = self._storage.snapshot(generation)
            self._needs_snapshot = False

            def work() -> None:
                snapshot_file.write(payload)
                self._generation = generation
                self._snapshot_bytes = len(payload)
                change_log.start(generation)

        else:
            line = orjson.dumps(taken)

            def work() -> None:
                change_log.append(line)

        self.on_flushed()
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, work)
        except OSError:
            self._restore(taken)
            if snapshot:
                # A log of the old generation is never appended to once the new
                # snapshot is in place: then only a whole snapshot will do.
                self._needs_snapshot = required or self._generation == generation
            raise

    def _failed(self, exc: OSError) -> NoReturn:
        assert self._log is not None
        first = self.write_error is None
        self.write_error = f"cannot write {exc.filename or self._log.path}: {exc.strerror or exc}"
        if first:  # once, not at every retry while the disk stays full
            log.error("store: %s; changes are kept and written again", self.write_error)
        raise StoreUnavailable(
            f"store: {self.write_error} (nothing of this request was acknowledged; it is "
            "written when the store can be written again)"
        ) from None

    def _restore(self, taken: dict[str, dict[str, Any]]) -> None:
        """Put changes a failed write had taken back under the ones made since."""
        for table, newer in self._pending.items():
            taken.setdefault(table, {}).update(newer)
        self._pending = taken

    def release(self) -> None:
        """Let another server open this store (on stop, or a failed start)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.release()


#: A reset that drops at most this many documents is logged as their deletions.
CLEAR_LOGGED_MAX_DOCUMENTS = 10_000


def _nothing() -> None:
    return None


def _dropped(documents: int) -> None:
    return None


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
        self._indexes: dict[int, DatabaseIndex] = {}

    def _timestamp(self) -> str:
        # One timestamp per unit of work: formatting one per profile costs more
        # than matching it.
        if self._now is None:
            self._now = iso(self._store.clock.now())
        return self._now

    def get(self, profile_id: str) -> Profile | None:
        found: Profile | None = self._created.get(profile_id) or self._replaced.get(profile_id)
        if found is None:
            doc_id = self._store._profile_doc.get(profile_id)
            found = None if doc_id is None else self._store._table(PROFILES).get(doc_id)
        if found is None or found["account"] != self.account:
            return None  # another account's profile is invisible
        return found

    def _index(self, db_id: int) -> DatabaseIndex:
        found = self._indexes.get(db_id)
        if found is None:
            found = self._indexes[db_id] = self._store.index(self.account, db_id)
        return found

    def key_maps(self, db_id: int) -> DatabaseIndex:
        return self._index(db_id)

    def _id_taken(self, profile_id: str) -> bool:
        return profile_id in self._created or self._store.profile_id_taken(profile_id)

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
        """A new profile; `fields` becomes its stored data (the caller's fresh dict)."""
        store = self._store
        profile_id = store.ids.profile_id(taken=self._id_taken)
        fields["_createtime"] = self._now or self._timestamp()
        seq = store._next_id[PROFILES]
        store._next_id[PROFILES] = seq + 1
        doc = {
            "id": profile_id,
            "account": self.account,
            "db_id": db_id,
            "seq": seq,
            "data": fields,
            "subscriptions": subscriptions,
        }
        self._created[profile_id] = doc
        self._index(db_id).add(doc)
        return profile_id

    def create_many(self, db_id: int, fields: list[dict[str, Any]]) -> list[str]:
        """New profiles without subscriptions, in order: what `create` of each leaves
        (ids, sequence numbers, documents, index entries), the ids drawn at once."""
        store = self._store
        ids = store.ids.profile_ids(len(fields), taken=self._id_taken)
        now = self._now or self._timestamp()
        seq = store._next_id[PROFILES]
        store._next_id[PROFILES] = seq + len(fields)
        account, created, add = self.account, self._created, self._index(db_id).add
        for profile_id, data in zip(ids, fields, strict=True):
            data["_createtime"] = now
            doc = {
                "id": profile_id,
                "account": account,
                "db_id": db_id,
                "seq": seq,
                "data": data,
                "subscriptions": [],
            }
            seq += 1
            created[profile_id] = doc
            add(doc)
        return ids

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

    def merge_data(self, profile_id: str, fields: Mapping[str, Any]) -> None:
        """`replace` for an update that gives no subscriptions. The common one (the
        profile has none, no indexed value changes) changes the stored data in
        place, with no copy of the document and its data: the result is the same
        document, and nothing holds a stored document past the request that read it."""
        old = self.get(profile_id)
        assert old is not None, profile_id
        data = old["data"]
        index = self._index(old["db_id"])
        if (
            old["subscriptions"]
            or index.fields
            or ("email" in fields and fields["email"] != data.get("email"))
            or ("phones" in fields and fields["phones"] != data.get("phones"))
        ):
            subscriptions = old["subscriptions"]
            merged = merge_subscriptions(subscriptions, []) if subscriptions else []
            self.replace(profile_id, merge_fields(data, fields), merged)
            return
        data.update(fields)
        if profile_id not in self._created:
            # The live document itself (a stored profile is a dict; `get` shows it
            # read-only to the domain).
            self._replaced[profile_id] = cast(dict[str, Any], old)

    def load_fixture_profile(
        self, db_id: int, doc: Mapping[str, Any], data: Mapping[str, Any] | None = None
    ) -> str:
        """Create a fixture profile, keeping the id it declares (`data`: checked fields)."""
        profile_id = doc.get("id") or self._store.ids.profile_id(taken=self._id_taken)
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
