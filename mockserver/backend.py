"""The backend: builds and owns every stateful part of one server, and resets them.

DESIGN §2 (moto's BackendDict, pytest-httpserver's clear()): the control API
and the pytest fixture both call `reset()`. Settings stay as they were started.

The parts are built once, here, and each resets itself: the store file stays
open, the task engine's steps in flight and its `rate` worker keep their
references, and a step that was running when a reset came sees it and stops.
What the fixtures declare (accounts, workflows, trigger campaigns) is parsed
once at start and copied back on a reset, never read from disk again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path

from mockserver.accounts import Accounts
from mockserver.api import API_METHODS
from mockserver.api.latency import Latency
from mockserver.api.router import ApiServices
from mockserver.clock import Clock, SystemClock, VirtualClock, make_clock
from mockserver.config import Settings
from mockserver.control.faults.rules import FaultBook
from mockserver.control.faults.startup import load_fault_file
from mockserver.control.journal.model import Journal
from mockserver.control.metrics.counters import RequestCounters
from mockserver.control.reset import RESET_SCOPES
from mockserver.ids import IdGenerator
from mockserver.importer.turns import SliceTurns
from mockserver.importer.work import Importer
from mockserver.schemas import SchemaSet, shipped_schemas
from mockserver.store.fixtures import FixtureProfile, load_fixtures
from mockserver.store.repository import Store
from mockserver.store.storage import StoreFileError, advice
from mockserver.tasks.engine import TaskEngine
from mockserver.tasks.progression import Progression, Progressions

log = logging.getLogger(__name__)

FIXTURES_LOADED = "fixtures_loaded"
#: Seconds after a reset before its drop is written to disk, unless a write comes
#: first (see `write_reset_soon`).
RESET_WRITE_DELAY = 0.2


class Backend:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        schemas: SchemaSet | None = None,
    ) -> None:
        self.settings = settings
        #: The server's one clock: every timestamp it writes and the `rate` pace.
        self.clock = clock or make_clock(settings.clock, settings.clock_start)
        self.ids = IdGenerator(settings.seed)
        self.schemas = schemas or shipped_schemas()
        fixtures = load_fixtures(settings.fixtures, self.schemas)
        self.faults = FaultBook(self.ids.rng, [method.name for method in API_METHODS])
        if settings.faults is not None:  # before the store opens: a bad file touches nothing
            load_fault_file(settings.faults, self.faults, self.schemas)
        #: The fixture files' profiles, and those of fixtures posted at run time
        #: (an account reset seeds its own again).
        self.seed_profiles: list[FixtureProfile] = list(fixtures.profiles)
        self.store = Store(None if settings.in_memory else Path(settings.db), self.clock, self.ids)
        self.accounts = Accounts(
            fixtures, self.store, self.schemas, settings.mode, settings.admin_token
        )
        self.importer = Importer(self.store, self.accounts, SliceTurns())
        self.engine = TaskEngine(
            self.store,
            self.importer,
            self.accounts,
            self.clock,
            self.ids,
            settings.task_id_format,
        )
        self.progressions = Progressions(
            Progression(settings.progression, settings.steps, settings.rate)
        )
        self.journal = Journal(
            settings.journal_size, settings.journal_body_limit, settings.journal_max_bytes
        )
        #: Vendor requests by method and code, with latencies (not reset: /_mock/metrics).
        self.request_counters = RequestCounters()
        # Uptime is the process's, on the real clock whatever `--clock` says.
        self._process_clock = SystemClock()
        self.started = self._process_clock.monotonic()
        self._reset_write: asyncio.TimerHandle | None = None
        try:
            self._open()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A stored document of another shape (a task, a meta entry): say so.
            self.store.release()
            raise StoreFileError(
                f"store {settings.db} holds a document of an unexpected shape ({exc!r}); "
                f"{advice(Path(settings.db))}"
            ) from None

    def api_services(self) -> ApiServices:
        """The parts the vendor API works with."""
        return ApiServices(
            settings=self.settings,
            schemas=self.schemas,
            accounts=self.accounts,
            importer=self.importer,
            engine=self.engine,
            progressions=self.progressions,
            store=self.store,
            faults=self.faults,
            latency=Latency(self.settings.latency, self.ids.rng) if self.settings.latency else None,
        )

    def _open(self) -> None:
        """Bring the store in line with the fixtures and resume unfinished tasks."""
        if not self.store.meta(FIXTURES_LOADED):
            self._seed(self.seed_profiles)
            self.store.set_meta(FIXTURES_LOADED, True)
        self.seed_profiles += self.accounts.restore()
        self.engine.resume()

    def _seed(self, profiles: Iterable[FixtureProfile]) -> None:
        """Store fixture profiles, one unit of work per account."""
        by_account: dict[str, list[FixtureProfile]] = {}
        for profile in profiles:
            by_account.setdefault(profile.account, []).append(profile)
        for account, owned in by_account.items():
            session = self.store.session(account)
            for profile in owned:
                session.load_fixture_profile(profile.db_id, profile.doc, profile.data)
            session.apply()

    def reset(self, scopes: Iterable[str] = RESET_SCOPES, account: str | None = None) -> None:
        """Back to the fixtures. Scopes: `data` (profiles, tasks, engagements,
        accounts), `journal`, `faults` (back to the rules of `--faults`), `progression`,
        `clock` (a virtual clock back to its start); `account` limits the reset to one
        account (progression overrides and the clock are the server's, not an account's)."""
        scopes = set(scopes)
        if "clock" in scopes and account is None and isinstance(self.clock, VirtualClock):
            # Each test of a session starts at the same instant, whatever ran before.
            self.clock.rewind()
            self.engine.restart_rate_clocks()
        if "journal" in scopes:
            self.journal.clear(None if account is None else [account])
        if "faults" in scopes:
            owner = self.accounts.catalog.accounts.get(account) if account is not None else None
            self.faults.restore(account, owner.tokens if owner is not None else ())
        if "progression" in scopes and account is None:
            self.progressions.reset()
        if "data" not in scopes:
            return
        if account is not None:
            self._reset_account(account)
            return
        self.engine.reset()
        self.store.clear()
        self.accounts.reset()
        self.seed_profiles = list(self.accounts.fixtures.profiles)
        self._open()

    def write_reset_soon(self) -> None:
        """Write what a reset dropped to disk RESET_WRITE_DELAY later, in the
        background, unless another write takes it first.

        A reset is the mock's own change, not data a client had acknowledged, so
        it is answered before any disk write. Its deletions wait in the store's
        pending changes: a test's first import after its reset writes them in the
        same fsynced log line as its own task (one disk write per test, not two),
        and a test that writes nothing has them written a moment later. A kill in
        between may bring back the data the reset dropped."""
        if self._reset_write is None:
            loop = asyncio.get_running_loop()
            self._reset_write = loop.call_later(RESET_WRITE_DELAY, self._write_reset)

    def _write_reset(self) -> None:
        self._reset_write = None
        self.store.flush_in_background()

    def _reset_account(self, name: str) -> None:
        """One account's profiles, tasks and engagements go; its fixture profiles return."""
        self.engine.forget_account(name)
        self.store.clear_account(name)
        self._seed(p for p in self.seed_profiles if p.account == name)
        self.accounts.reset_account(name)

    def add_fixture(self, document: object) -> dict[str, int]:
        """Merge a fixture document into the running catalog and store its profiles."""
        extra = self.accounts.check_fixture(document)
        self.accounts.add_fixture(document)
        self._seed(extra.profiles)
        self.seed_profiles += extra.profiles
        return {"accounts": len(extra.catalog.accounts), "profiles": len(extra.profiles)}

    def is_known_token(self, value: str) -> bool:
        return self.accounts.is_known_token(value)

    def uptime(self) -> float:
        return self._process_clock.monotonic() - self.started
