"""The projection runtime: follows the global log and keeps the read models exactly-once.

One runtime serves both stores. Each read model has a row in ``caseledger_projections``: its
active generation and the log position its rows reflect. A round of the runner

1. reads the read models' positions and the next events of the log after the lowest (many
   when catching up, few when live), and the whole record of every case they touched;
2. judges those cases and lays out their rows (``projections.model``), outside any transaction;
3. in one short transaction, moves each read model's position to the last event taken *if it
   is still the one read in 1* (which locks its row; name order is the lock order), replaces
   the touched cases' rows, and commits. If another runner (the API's and ``caseledger
   projections run`` may both run) moved a position meanwhile, it rolls back and does the
   round again, so no event is applied twice.

A crash anywhere before the commit leaves rows and position as they were; after it, both moved.
Between rounds the runner waits for the log: ``LISTEN`` on PostgreSQL (the sequencer notifies when
it adds positions), polling on SQLite. Each round's transaction also announces the move
(``Tx.announce``: a ``NOTIFY`` delivered at commit), which wakes readers waiting to read their
own writes (``wait_for``). While it runs, a runner holds a shared lock by which ``/ready`` knows
that one follows the log (``projections.presence``).

A handler that raises stops *that* read model: the error is logged and stored in its row
(``/ready`` shows it) and its position stays before the event; restarting the runner retries
it. Nothing is skipped.

The scheduler: each read model keeps, per case, when its earliest pending deadline passes; every
``recheck_seconds`` the runner re-judges the cases whose instant has come, at the version they
were judged at, and writes their rows in a short transaction that checks, as a round does, that
the read model's position has not moved since it read them.

Rebuild (``rebuild``): a new generation's tables are filled from position 0 beside the live ones,
which keep being served and updated; when the new generation has caught up, one transaction
takes the live row's lock, applies the last events, repoints the views and drops the old tables.
"""

from __future__ import annotations

import fcntl
import gc
import multiprocessing
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
import structlog
from eventsourcing import persistence as es_persistence

from domain.application import CaseLedger, utcnow
from domain.compliance import ComplianceConfig
from domain.state import Entry
from infra.settings import Settings
from projections.db import STATE_TABLE, Tx, ViewDatabase, views_path
from projections.model import CaseView, ReadModel, bookkeeping
from projections.presence import Presence

log = structlog.get_logger("caseledger.projections")

STATE_DDL = {
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
        name TEXT NOT NULL, generation INTEGER NOT NULL, active INTEGER NOT NULL,
        position INTEGER NOT NULL, events INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT, error TEXT, error_position INTEGER,
        PRIMARY KEY (name, generation))""",
    "postgres": f"""CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
        name text NOT NULL, generation integer NOT NULL, active boolean NOT NULL,
        position bigint NOT NULL, events bigint NOT NULL DEFAULT 0,
        updated_at timestamptz, error text, error_position bigint,
        PRIMARY KEY (name, generation))""",
}

FULL_GC_SECONDS = 1.0

FILL_FROM = 20_000
"""A runner starting with a read model at position 0 on a log this long fills it case by case."""

BATCH = 2000
"""Most events per step. A step takes what the log holds up to this: thousands per transaction
when catching up, the few that just arrived when live."""


PIPELINED_ROWS = 1000
"""A round writing at most this many rows sends them in one pipeline; more go by COPY."""

STORE_AWAY = (
    psycopg.OperationalError,
    sqlite3.OperationalError,
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
)
"""The store unreachable or busy: the runner retries; it is not a handler's error."""


class ProjectionFailed(Exception):
    """A read model's handler raised: the read model stops at the event before."""


@contextmanager
def _failing(model: ReadModel, where: str) -> Iterator[None]:
    """Turn a handler's error into ``ProjectionFailed``; the store being away is not one."""
    try:
        yield
    except STORE_AWAY:
        raise
    except Exception as e:
        raise ProjectionFailed(f"{model.name}: {type(e).__name__}: {e} ({where})") from e


# --- the log, decoded once for every read model ------------------------------------------------


def decode(ledger: CaseLedger, stored: Any) -> Entry:
    """A stored event as the domain's entry, through the mapper (and its upcasting)."""
    return ledger.mapper.to_domain_event(stored).entry()  # type: ignore[attr-defined,no-any-return]


class CaseBook:
    """Each case's entries, contiguous from version 1, for the most recently seen cases."""

    def __init__(self, ledger: CaseLedger, size: int = 4000) -> None:
        self.ledger, self.size = ledger, size
        self._cases: OrderedDict[str, list[Entry]] = OrderedDict()

    def note(self, entry: Entry) -> None:
        known = self._cases.get(entry.case_id)
        if known is not None and len(known) == entry.version - 1:
            known.append(entry)
        elif entry.version == 1:
            self._cases[entry.case_id] = [entry]
        else:
            if known is not None and len(known) < entry.version:
                del self._cases[entry.case_id]  # a gap: load it whole when it is needed
            return
        self._cases.move_to_end(entry.case_id)
        if len(self._cases) > self.size:
            self._cases.popitem(last=False)

    def entries(self, case_id: str, version: int) -> list[Entry]:
        known = self._cases.get(case_id)
        if known is None or len(known) < version:
            stored = self.ledger.recorder.select_events(UUID(case_id), lte=version)
            known = [decode(self.ledger, s) for s in stored]
            self._keep(case_id, known)
        return known[:version]

    def load(self, wanted: dict[str, int], upto: int) -> None:
        """Read in one query the cases not held up to the wanted versions (their entries up
        to log position ``upto``), rather than one query per case in ``entries``."""
        missing = [UUID(c) for c, v in wanted.items() if len(self._cases.get(c, ())) < v]
        if len(missing) < 2:
            return
        found: dict[str, list[Entry]] = {}
        recorder: Any = self.ledger.recorder
        for n in recorder.select_cases(missing, upto):
            entry = decode(self.ledger, n)
            found.setdefault(entry.case_id, []).append(entry)
        for case_id, entries in found.items():
            if [e.version for e in entries] == list(range(1, len(entries) + 1)):
                self._keep(case_id, entries)

    def _keep(self, case_id: str, entries: list[Entry]) -> None:
        self._cases[case_id] = entries
        self._cases.move_to_end(case_id)
        if len(self._cases) > self.size:
            self._cases.popitem(last=False)


class Feed:
    """The global log after a position, decoded to entries; one fetch serves every read model."""

    def __init__(self, ledger: CaseLedger, book: CaseBook) -> None:
        self.ledger, self.book = ledger, book
        self._after = -1
        self._items: list[tuple[int, Entry]] = []

    def after(self, position: int, limit: int) -> list[tuple[int, Entry]]:
        items = self._items
        if items and self._after <= position < items[-1][0]:
            return [item for item in items if item[0] > position][:limit]
        notifications = self.ledger.recorder.select_notifications(
            start=position, limit=limit, inclusive_of_start=False
        )
        items = []
        for n in notifications:
            entry = decode(self.ledger, n)
            self.book.note(entry)
            items.append((n.id, entry))
        self._after, self._items = position, items
        return items

    def head(self) -> int:
        return int(self.ledger.recorder.max_notification_id() or 0)


# --- state rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    name: str
    generation: int
    active: bool
    position: int
    events: int
    updated_at: str | None
    error: str | None
    error_position: int | None


def _read_states(db: ViewDatabase, names: Sequence[str]) -> dict[str, State]:
    """The active rows of these read models, read without locking them."""
    if not names:
        return {}
    marks = ", ".join("?" for _ in names)
    rows = db.read(f"SELECT * FROM {STATE_TABLE} WHERE active AND name IN ({marks})", names)
    return {row["name"]: _state(row) for row in rows}


def _lock_state(tx: Tx, name: str, generation: int | None = None) -> State | None:
    where = "name = ? AND generation = ?" if generation is not None else "name = ? AND active"
    params: tuple[Any, ...] = (name, generation) if generation is not None else (name,)
    lock = " FOR UPDATE" if tx.dialect == "postgres" else ""
    rows = tx.rows(f"SELECT * FROM {STATE_TABLE} WHERE {where}{lock}", params)
    return _state(rows[0]) if rows else None


def _state(row: dict[str, Any]) -> State:
    return State(
        name=row["name"],
        generation=int(row["generation"]),
        active=bool(row["active"]),
        position=int(row["position"]),
        events=int(row["events"]),
        updated_at=row["updated_at"],
        error=row["error"],
        error_position=row["error_position"],
    )


def states(db: ViewDatabase) -> list[State]:
    """Every read model's active row (position, error)."""
    if not db.exists(STATE_TABLE):
        return []
    return [_state(r) for r in db.read(f"SELECT * FROM {STATE_TABLE} WHERE active ORDER BY name")]


def ensure(db: ViewDatabase, models: Iterable[ReadModel]) -> None:
    """Create the state table, and generation 1 with its views for read models that have none."""
    with db.transaction() as tx:
        if tx.dialect == "postgres":
            tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (STATE_TABLE,))
        tx.execute(STATE_DDL[tx.dialect])
        for model in models:
            if _lock_state(tx, model.name) is not None:
                continue
            _create_generation(tx, model, 1, active=True)
            _point_views(tx, model, 1)


def _create_generation(
    tx: Tx, model: ReadModel, generation: int, active: bool, indexed: bool = True
) -> None:
    for table in model.all_tables:
        for statement in table.ddl(tx.dialect, generation, indexed):
            tx.execute(statement)
    tx.execute(
        f"INSERT INTO {STATE_TABLE} (name, generation, active, position, events) "
        "VALUES (?, ?, ?, 0, 0)",
        (model.name, generation, active),
    )


def _point_views(tx: Tx, model: ReadModel, generation: int) -> None:
    """Point each view at the generation's table. On PostgreSQL a view keeps its grants when
    replaced; when the new table's columns differ (a read model whose layout changed, rebuilt),
    the view is dropped and made again, and its grants given again, in this transaction."""
    for table in model.all_tables:
        source = table.physical(generation)
        if tx.dialect != "postgres":
            tx.execute(f"DROP VIEW IF EXISTS {table.name}")
            tx.execute(f"CREATE VIEW {table.name} AS SELECT * FROM {source}")
            continue
        tx.execute("SAVEPOINT view")
        try:
            tx.execute(f"CREATE OR REPLACE VIEW {table.name} AS SELECT * FROM {source}")
        except (psycopg.errors.InvalidTableDefinition, psycopg.errors.DatatypeMismatch):
            tx.execute("ROLLBACK TO SAVEPOINT view")
            grants = tx.rows(
                "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
                "WHERE table_schema = current_schema() AND table_name = ? "
                "AND grantee <> current_user",
                (table.name,),
            )
            tx.execute(f"DROP VIEW {table.name}")
            tx.execute(f"CREATE VIEW {table.name} AS SELECT * FROM {source}")
            for grant in grants:
                tx.execute(
                    f'GRANT {grant["privilege_type"]} ON {table.name} TO "{grant["grantee"]}"'
                )
        tx.execute("RELEASE SAVEPOINT view")


def _drop_generation(tx: Tx, model: ReadModel, generation: int) -> None:
    for table in model.all_tables:
        tx.execute(f"DROP TABLE IF EXISTS {table.physical(generation)}")
    tx.execute(
        f"DELETE FROM {STATE_TABLE} WHERE name = ? AND generation = ?", (model.name, generation)
    )


# --- the runner -----------------------------------------------------------------------------


class Runner:
    """Keeps a set of read models up to date with the log (``run`` until ``stop``)."""

    def __init__(
        self,
        ledger: CaseLedger,
        db: ViewDatabase,
        models: Sequence[ReadModel],
        clock: Callable[[], datetime] = utcnow,
        config: ComplianceConfig | None = None,
        poll_seconds: float = 0.1,
        recheck_seconds: float = 60.0,
        batch: int = BATCH,
        cases: int = 4000,
    ) -> None:
        # one lock order for every runner and rebuild: state rows are locked by name
        self.ledger, self.db, self.models = ledger, db, sorted(models, key=lambda m: m.name)
        self.clock, self.config = clock, config or ComplianceConfig()
        self.poll_seconds, self.recheck_seconds = poll_seconds, recheck_seconds
        self.batch = batch
        self.fill_from = FILL_FROM
        self.book = CaseBook(ledger, cases)
        self.feed = Feed(ledger, self.book)
        self.failed: dict[str, str] = {}
        self._views: dict[tuple[str, int, datetime], CaseView] = {}
        self._stop = threading.Event()
        self._last_recheck = 0.0

    # --- one step -----------------------------------------------------------------------------

    def step(
        self,
        model: ReadModel,
        generation: int | None = None,
        now: datetime | None = None,
        upto: int | None = None,
    ) -> int:
        """Apply the next events to one read model in one transaction; how many it applied."""
        started = time.perf_counter()
        with self.db.transaction() as tx:
            applied = self._apply_next(tx, model, generation, now or self.clock(), upto)
        if applied:
            log.debug(
                "step",
                projection=model.name,
                events=applied,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        return applied

    def _apply_next(
        self,
        tx: Tx,
        model: ReadModel,
        generation: int | None,
        now: datetime,
        upto: int | None = None,
    ) -> int:
        state = _lock_state(tx, model.name, generation)
        if state is None:
            return 0  # a rebuild switched generations while we waited: next step sees the new one
        with _failing(model, f"reading the log after position {state.position}"):
            items = self.feed.after(state.position, self.batch)
        if upto is not None:
            items = [item for item in items if item[0] <= upto]
        step = self._plan(model, state, items, now)
        if step is None:
            return 0
        step.claim(tx)
        step.write(tx)
        return len(step.items)

    def _plan(
        self, model: ReadModel, state: State, items: list[tuple[int, Entry]], now: datetime
    ) -> _Step | None:
        """The rows these events give a read model (its handlers run here, before any write)."""
        items = [item for item in items if item[0] > state.position]
        if not items:
            return None
        touched: dict[str, tuple[int, int]] = {}
        for position, entry in items:
            touched[entry.case_id] = (entry.version, position)
        with _failing(model, f"events after position {state.position}"):
            views = [self._view(case_id, v, p, now) for case_id, (v, p) in touched.items()]
            rows = model_rows(model, views)
        return _Step(model, state, items, [v.case_id for v in views], rows)

    def recheck(self, model: ReadModel, now: datetime | None = None, limit: int = 500) -> int:
        """Re-judge the cases whose earliest pending deadline has passed; how many.

        Like a round, it judges outside any transaction and writes in a short one, which first
        checks that the read model's position is still the one the cases were read at (a round
        that moved it may have rewritten some of them since); if not, it reads them again."""
        now = now or self.clock()
        while True:
            state = _read_states(self.db, [model.name]).get(model.name)
            if state is None:
                return 0
            cases = self.db.read(
                f"SELECT case_id, version, position FROM "
                f"{bookkeeping(model.name).physical(state.generation)} "
                "WHERE recheck_at <= ? ORDER BY recheck_at LIMIT ?",
                (now, limit),
            )
            if not cases:
                return 0
            with _failing(model, "re-judging cases whose deadline passed"):
                wanted = {str(r["case_id"]): int(r["version"]) for r in cases}
                self.book.load(wanted, state.position)
                views = [
                    self._view(str(r["case_id"]), int(r["version"]), int(r["position"]), now)
                    for r in cases
                ]
                rows = model_rows(model, views)
            try:
                with self.db.transaction() as tx:
                    claimed = tx.execute(
                        f"UPDATE {STATE_TABLE} SET updated_at = ? "
                        "WHERE name = ? AND generation = ? AND position = ?",
                        (datetime.now(UTC), model.name, state.generation, state.position),
                    )
                    if claimed != 1:
                        raise _Overtaken()
                    case_ids = [v.case_id for v in views]
                    write_table_rows(tx, model, state.generation, case_ids, rows)
            except _Overtaken:
                continue
            return len(views)

    def _view(self, case_id: str, version: int, position: int, now: datetime) -> CaseView:
        key = (case_id, version, now)
        view = self._views.get(key)
        if view is None:
            entries = self.book.entries(case_id, version)
            view = CaseView(case_id, version, position, now, entries, self.config)
            if len(self._views) > 5000:
                self._views.clear()
            self._views[key] = view
        return view

    # --- the loop -----------------------------------------------------------------------------

    def run_once(self) -> int:
        """One round: a step of every read model that has not failed; events applied.

        The read models advance in lockstep: each takes the events after its own position up
        to the end of one batch read from the lowest position, so they see the same cases at
        the same versions and each case is judged once per round for all of them.

        A round reads the positions, the log and the cases, and runs the handlers, outside any
        transaction; then one short transaction moves each read model's position on the
        condition that it is still the one read (which also locks its row, in name order) and
        replaces the rows, all sent in one pipeline (PostgreSQL). Should another runner have
        moved a position meanwhile, the transaction is rolled back and the round done again.
        Keeping the transaction short matters beyond the read models: on PostgreSQL a writing
        transaction holds back the sequencer's horizon (``infra.recorders``), so events
        committed while it is open get their log positions only when it ends.

        A read model whose handler raises is left out of the round and stopped. Should the
        database refuse a read model's rows, the round is done again one read model at a time,
        each in a savepoint, so that only the one whose rows were refused stops."""
        now = self.clock()
        running = [m for m in self.models if m.name not in self.failed]
        while True:
            self._views.clear()  # judged cases are shared within a round only
            try:
                applied, failures = self._round(running, now)
                break
            except _Overtaken:
                continue
            except _LogUnreadable as e:  # an event that cannot be read stops every read model
                applied, failures = (
                    0,
                    [
                        (m, ProjectionFailed(f"{m.name}: cannot read the log: {e.__cause__!r}"))
                        for m in running
                    ],
                )
                break
            except (psycopg.DatabaseError, sqlite3.DatabaseError) as e:
                if isinstance(e, STORE_AWAY):
                    raise
                log.warning("projections_round_refused", error=str(e))
                applied, failures = self._round_one_by_one(running, now)
                break
        for model, error in failures:
            self._fail(model, error)
        if time.monotonic() - self._last_recheck >= self.recheck_seconds:
            self._last_recheck = time.monotonic()
            for model in self.models:
                try:
                    while model.name not in self.failed and self.recheck(model, now) >= 500:
                        pass
                except ProjectionFailed as e:
                    self._fail(model, e)
        return applied

    def _round(
        self, running: list[ReadModel], now: datetime
    ) -> tuple[int, list[tuple[ReadModel, ProjectionFailed]]]:
        failures: list[tuple[ReadModel, ProjectionFailed]] = []
        times = _Stopwatch()
        found = _read_states(self.db, [m.name for m in running])
        if not found:
            return 0, failures
        try:
            batch = self.feed.after(min(s.position for s in found.values()), self.batch)
        except STORE_AWAY:
            raise
        except Exception as e:
            raise _LogUnreadable() from e
        if not batch:
            return 0, failures
        times.lap("read")
        try:
            self.book.load({e.case_id: e.version for _, e in batch}, batch[-1][0])
        except STORE_AWAY:
            raise
        except Exception as e:
            raise _LogUnreadable() from e
        times.lap("load")
        steps: list[_Step] = []
        for model in running:
            if model.name not in found:
                continue  # a rebuild switched generations: the next round sees the new one
            try:
                step = self._plan(model, found[model.name], batch, now)
            except ProjectionFailed as e:
                failures.append((model, e))
                continue
            if step is not None:
                steps.append(step)
        times.lap("judge")
        if steps:
            rows = sum(len(r) for step in steps for r in step.rows.values())
            with self.db.transaction() as tx:
                # few rows (live): all in one pipeline; many (catching up): COPY, which is
                # cheaper per row but cannot be pipelined
                with tx.pipeline() if rows <= PIPELINED_ROWS else nullcontext():
                    claims = [step.claim(tx) for step in steps]  # in name order: the lock order
                    for step in steps:
                        step.write(tx)
                    tx.announce()
                if not all(claim.rowcount == 1 for claim in claims):
                    raise _Overtaken()
                times.lap("write")
            times.lap("commit")
        cases = len({e.case_id for _, e in batch})
        log.debug("round", events=len(batch), cases=cases, **times.ms)
        return sum(len(s.items) for s in steps), failures

    def _round_one_by_one(
        self, running: list[ReadModel], now: datetime
    ) -> tuple[int, list[tuple[ReadModel, ProjectionFailed]]]:
        """A round with a savepoint per read model: a read model whose rows the database
        refuses is rolled back alone and stopped."""
        applied, failures = 0, []
        found = _read_states(self.db, [m.name for m in running])
        batch = self.feed.after(min((s.position for s in found.values()), default=0), self.batch)
        upto = batch[-1][0] if batch else None
        with self.db.transaction() as tx:
            for model in running:
                tx.execute("SAVEPOINT step")
                try:
                    try:
                        applied += self._apply_next(tx, model, None, now, upto)
                    except (psycopg.DatabaseError, sqlite3.DatabaseError) as e:
                        if isinstance(e, STORE_AWAY):
                            raise
                        raise ProjectionFailed(f"{model.name}: rows refused: {e}") from e
                except ProjectionFailed as e:
                    tx.execute("ROLLBACK TO SAVEPOINT step")
                    failures.append((model, e))
                    continue
                tx.execute("RELEASE SAVEPOINT step")
            if applied:
                tx.announce()
        return applied, failures

    def catch_up(self) -> None:
        """Apply everything the log holds now (tests, the CLI); raises if a read model failed."""
        while self.run_once():
            pass
        if self.failed:
            raise ProjectionFailed("; ".join(self.failed.values()))

    def _fail(self, model: ReadModel, error: ProjectionFailed) -> None:
        """Stop a read model: store its error (shown by ``/ready``), then skip it. If the error
        cannot be stored, the read model is not skipped: the next round fails and tries again."""
        message = str(error)
        log.error("projection_failed", projection=model.name, error=message, exc_info=error)
        try:
            with self.db.transaction() as tx:
                state = _lock_state(tx, model.name)
                if state is not None:
                    tx.execute(
                        f"UPDATE {STATE_TABLE} SET error = ?, error_position = ? "
                        "WHERE name = ? AND generation = ?",
                        (message, state.position + 1, model.name, state.generation),
                    )
        except Exception as e:
            log.warning("projection_error_not_stored", projection=model.name, error=str(e))
            return
        self.failed[model.name] = message

    def run(self, own_process: bool = False) -> None:
        """Follow the log until ``stop()``; wakes on NOTIFY (PostgreSQL) or polls (SQLite).

        ``own_process`` (``caseledger projections run``): the process is the runner's alone, so
        the runner also decides when Python's full garbage collection runs: when it is idle,
        every ``FULL_GC_SECONDS``, rather than in the middle of a batch, where its pauses (tens
        to hundreds of milliseconds with thousands of cases in memory) would add to the lag.
        After each one the survivors are frozen (``gc.freeze``), so the next one only looks at
        what came since. The cases in memory hold no reference cycles, so nothing that is
        later dropped from them needs the cycle collector to be freed.
        """
        log.info("projections_started", models=[m.name for m in self.models])
        with ExitStack() as stack:
            presence = Presence(self.db)  # ``/ready`` sees a runner while it holds this
            stack.callback(presence.close)
            waiter = _Waiter(self.ledger, self.db, self.poll_seconds)
            stack.callback(waiter.close)
            stack.callback(log.info, "projections_stopped")
            self._follow(presence, waiter, own_process)

    def _follow(self, presence: Presence, waiter: _Waiter, own_process: bool) -> None:
        self._fill_new_read_models()
        if own_process:
            gc.set_threshold(*gc.get_threshold()[:2], 1_000_000)  # no automatic full collection
        collected = time.monotonic()
        while not self._stop.is_set():
            presence.hold()  # again, should its connection have been lost
            try:
                applied = self.run_once()
            except (*STORE_AWAY, OSError) as e:
                log.warning("projections_store_unavailable", error=str(e))
                self._stop.wait(1.0)
                continue
            except Exception:  # a fault of the runtime itself: say so, retry the round
                log.exception("projections_round_failed")
                self._stop.wait(1.0)
                continue
            if not applied:
                if own_process and time.monotonic() - collected > FULL_GC_SECONDS:
                    started = time.perf_counter()
                    gc.collect()
                    gc.freeze()
                    collected = time.monotonic()
                    ms = round((time.perf_counter() - started) * 1000, 1)
                    log.debug("collected", ms=ms)
                    continue  # look at the log again before waiting
                waiter.wait(self._stop)

    def _fill_new_read_models(self) -> None:
        """Read models at position 0 on a log of ``fill_from`` events or more are filled case
        by case (``rebuild``): following a long log event by event judges a case again in
        every batch that touches it. If another process is rebuilding, this runner follows
        the log meanwhile; the rebuild's switch takes over its work."""
        try:
            positions = {s.name: s.position for s in states(self.db)}
            fresh = [m for m in self.models if positions.get(m.name, 0) == 0]
            if not fresh or self.feed.head() < self.fill_from:
                return
            log.info("projections_filling_by_case", models=[m.name for m in fresh])
            rebuild(self, fresh)
        except RebuildRunning:
            log.info("projections_rebuild_elsewhere")
        except (*STORE_AWAY, OSError) as e:
            log.warning("projections_store_unavailable", error=str(e))

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="caseledger-projections", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


class _Waiter:
    """Sleeps until the log may have grown: LISTEN on PostgreSQL, a short sleep on SQLite.

    It listens from the start, before the runner's first read of the log, so a notification
    sent between a read that found nothing and the wait after it is never missed."""

    LISTENING_SECONDS = 1.0
    """The longest wait while listening: ``stop`` is seen within it."""

    def __init__(self, ledger: CaseLedger, db: ViewDatabase, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._conn: psycopg.Connection | None = None
        self._channel = getattr(ledger.recorder, "channel_name", None)
        self._db = db
        self._listen()

    def _listen(self) -> None:
        if self._db.dialect != "postgres" or not self._channel or self._conn is not None:
            return
        try:
            self._conn = psycopg.connect(self._db.conninfo(), autocommit=True, connect_timeout=5)
            self._conn.execute(f'LISTEN "{self._channel}"')
        except psycopg.Error as e:
            log.warning("projections_listen_failed", error=str(e))
            self.close()

    def wait(self, stop: threading.Event) -> None:
        if self._conn is None:
            stop.wait(self.poll_seconds)
            self._listen()  # polls until LISTEN works again; the next read catches up anyway
            return
        try:
            for _ in self._conn.notifies(timeout=self.LISTENING_SECONDS, stop_after=1):
                break
        except psycopg.Error as e:
            log.warning("projections_listen_failed", error=str(e))
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Stopwatch:
    """Milliseconds spent in each phase of a round (the runner's debug log shows them)."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.ms[f"{phase}_ms"] = round((now - self._last) * 1000, 1)
        self._last = now


class _Overtaken(Exception):
    """Another runner moved a read model's position during the round."""


class _LogUnreadable(Exception):
    """The log holds an event that cannot be read (its cause says why)."""


@dataclass
class _Step:
    """What one round does to one read model: the events it applies, the cases they touched
    and those cases' new rows by table."""

    model: ReadModel
    state: State
    items: list[tuple[int, Entry]]
    case_ids: list[str]
    rows: dict[str, list[Sequence[Any]]]

    def claim(self, tx: Tx) -> Any:
        """Move the read model's position, if it is still the one the step started from (the
        cursor's ``rowcount`` says whether it was)."""
        return tx.cursor(
            f"UPDATE {STATE_TABLE} SET position = ?, events = events + ?, updated_at = ?, "
            "error = NULL, error_position = NULL "
            "WHERE name = ? AND generation = ? AND position = ?",
            (
                self.items[-1][0],
                len(self.items),
                datetime.now(UTC),
                self.model.name,
                self.state.generation,
                self.state.position,
            ),
        )

    def write(self, tx: Tx) -> None:
        write_table_rows(tx, self.model, self.state.generation, self.case_ids, self.rows)


def model_rows(model: ReadModel, views: list[CaseView]) -> dict[str, list[Sequence[Any]]]:
    """Every table's rows for these judged cases (the read model's handler runs here)."""
    rows: dict[str, list[Sequence[Any]]] = {t.name: [] for t in model.all_tables}
    for view in views:
        for name, table_rows in model.rows(view).items():
            rows[name].extend(table_rows)
        rows[model.all_tables[-1].name].append(view.bookkeeping_row())
    return rows


def write_table_rows(
    tx: Tx,
    model: ReadModel,
    generation: int,
    case_ids: list[str],
    rows: dict[str, list[Sequence[Any]]],
    fresh: bool = False,
) -> None:
    """Replace these cases' rows in one generation (``fresh``: they have none yet)."""
    for table in model.all_tables:
        physical = table.physical(generation)
        if not fresh:
            tx.delete_cases(physical, case_ids)
        tx.insert(physical, table.column_names, rows[table.name], table.json_columns)


def write_rows(
    tx: Tx,
    model: ReadModel,
    generation: int,
    views: list[CaseView],
    fresh: bool = False,
) -> None:
    """Replace the rows of these cases in one generation (``fresh``: they have none yet)."""
    if views:
        rows = model_rows(model, views)
        write_table_rows(tx, model, generation, [v.case_id for v in views], rows, fresh)


# --- rebuild and read-your-writes ---------------------------------------------------------------


def rebuild(
    runner: Runner,
    models: Sequence[ReadModel],
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    settings: Settings | None = None,
) -> dict[str, int]:
    """Fill a new generation of each read model from the start of the log, then switch to them
    atomically; returns each one's new generation.

    Reads keep being served from the live generations (and live runners keep updating them)
    until the switch. The fill goes case by case rather than event by event: it notes the log's
    head H, reads every case's events up to H in case order (``select_cases``), judges each
    case once and writes its rows, then sets the new generations' position to H. However a
    case's events are spread over the log, it is judged once (following the log in order would
    judge it again in every batch that touches it). The new generations then follow the log
    from H in lockstep like a live runner; the switch takes the live rows' locks, applies the
    last events, repoints the views and drops the old tables, all in one transaction. A rebuild
    that stops part way leaves an inactive generation that the next rebuild drops.

    ``workers`` > 1 shares the cases between that many processes (built from ``settings``).
    One rebuild runs at a time per store (``RebuildRunning`` otherwise).
    """
    with _one_rebuild_at_a_time(runner.db):
        return _rebuild(runner, models, progress, workers, settings)


class RebuildRunning(Exception):
    """Another rebuild holds the rebuild lock of this store."""


@contextmanager
def _one_rebuild_at_a_time(db: ViewDatabase) -> Iterator[None]:
    """A session advisory lock (PostgreSQL) or a file lock (SQLite): both go with the process."""
    if db.dialect == "postgres":
        key = f"{db.settings.database_schema}.caseledger_rebuild"
        with psycopg.connect(db.conninfo(), autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()
            if not row or not row[0]:
                raise RebuildRunning("another rebuild is running on this store")
            yield
        return
    if db.in_memory:  # one process
        yield
        return
    path = views_path(db.settings)
    with open(path + ".rebuild-lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RebuildRunning("another rebuild is running on this store") from None
        yield


def _rebuild(
    runner: Runner,
    models: Sequence[ReadModel],
    progress: Callable[[int], None] | None,
    workers: int,
    settings: Settings | None,
) -> dict[str, int]:
    db = runner.db
    models = sorted(models, key=lambda m: m.name)  # the runners' lock order
    ensure(db, models)
    generations: dict[str, int] = {}
    with db.transaction() as tx:
        if tx.dialect == "postgres":
            tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (STATE_TABLE,))
        for model in models:
            rows = tx.rows(
                f"SELECT generation, active FROM {STATE_TABLE} WHERE name = ?", (model.name,)
            )
            for stale in (int(r["generation"]) for r in rows if not r["active"]):
                _drop_generation(tx, model, stale)  # an earlier rebuild that did not finish
            generations[model.name] = max(int(r["generation"]) for r in rows) + 1
            _create_generation(tx, model, generations[model.name], active=False, indexed=False)
    log.info("rebuild_started", generations=generations)
    head = _fill_by_case(runner, models, generations, progress, workers, settings)
    while True:
        now = runner.clock()
        runner._views.clear()  # judged cases are shared within a round only
        applied = [runner.step(m, generations[m.name], now) for m in models]
        if progress is not None and max(applied):
            progress(max(applied))
        if max(applied) < runner.batch:
            break
    with db.transaction() as tx:
        now = runner.clock()
        for model in models:
            live = _lock_state(tx, model.name)
            if _lock_state(tx, model.name, generations[model.name]) is None:
                raise ProjectionFailed(
                    f"{model.name}: generation {generations[model.name]} is gone"
                )
            while runner._apply_next(tx, model, generations[model.name], now):
                pass
            tx.execute(
                f"UPDATE {STATE_TABLE} SET active = (generation = ?) WHERE name = ?",
                (generations[model.name], model.name),
            )
            _point_views(tx, model, generations[model.name])
            if live is not None:
                _drop_generation(tx, model, live.generation)
        tx.announce()
    log.info("rebuild_switched", generations=generations, filled_to=head)
    return generations


def _fill_by_case(
    runner: Runner,
    models: Sequence[ReadModel],
    generations: dict[str, int],
    progress: Callable[[int], None] | None,
    workers: int,
    settings: Settings | None,
) -> int:
    """Write every case's rows as of the log's head into the new generations; the head.

    Cases are judged as of one instant (the clock when the fill starts), ``batch / 20`` cases
    a transaction (about as many events as a batch). With ``workers`` > 1, processes share the
    cases (each judges and writes its own; the planner statistics and positions are set here
    once they have all finished). On PostgreSQL the new tables are filled bare and get their
    keys and indexes once full: one sorted build per index instead of a million insertions."""
    recorder: Any = runner.ledger.recorder
    if hasattr(recorder, "analyze"):
        recorder.analyze()
    head = runner.feed.head()
    case_ids = [str(c) for c in recorder.select_case_ids(head)]
    per_transaction = max(1, runner.batch // 20)
    chunks = [
        case_ids[start : start + per_transaction]
        for start in range(0, len(case_ids), per_transaction)
    ]
    job = _FillJob([m.name for m in models], generations, runner.config, runner.clock(), head)
    if workers > 1 and settings is not None and len(chunks) > 1:
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, _start_fill_worker, (settings.model_dump_json(), job)) as pool:
            for events in pool.imap_unordered(_fill_in_worker, chunks):
                if progress is not None:
                    progress(events)
    else:
        for chunk in chunks:
            events = _fill(runner.ledger, runner.db, models, job, chunk)
            if progress is not None:
                progress(events)
    if runner.db.dialect == "postgres":  # the tables were made bare: key and indexes now,
        # then statistics for the planner, before anyone reads them
        with runner.db.transaction() as tx:
            for model in models:
                for table in model.all_tables:
                    for statement in table.index_ddl(generations[model.name]):
                        tx.execute(statement)
                    tx.execute(f"ANALYZE {table.physical(generations[model.name])}")
    with runner.db.transaction() as tx:
        for model in models:
            tx.execute(
                f"UPDATE {STATE_TABLE} SET position = ?, events = ?, updated_at = ? "
                "WHERE name = ? AND generation = ?",
                (head, head, datetime.now(UTC), model.name, generations[model.name]),
            )
    return head


@dataclass(frozen=True)
class _FillJob:
    names: list[str]
    generations: dict[str, int]
    config: ComplianceConfig
    now: datetime
    head: int


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for one chunk of a fill.

    A chunk decodes and judges thousands of events whose objects all live until its rows are
    written. While they pile up, the collector runs again and again over them and over
    everything else in the process, to find no cycle: about a quarter of a fill's time
    (measured: 107–116 µs an event with it, 81–87 without). Nothing a chunk makes holds a
    reference cycle (a collection after 1,400 cases judged and written found none), so
    reference counting frees it all when the chunk ends; the collector runs again from then.
    It is paused for the whole process: in a runner inside the API, for one chunk (about 100
    cases) at a time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_collector_paused()
def _fill(
    ledger: CaseLedger,
    db: ViewDatabase,
    models: Sequence[ReadModel],
    job: _FillJob,
    cases: list[str],
) -> int:
    """Judge these cases as of ``job.now`` with their events up to ``job.head``; write their
    rows in one transaction. Returns how many events they had. Python's cycle collector is
    paused meanwhile (``_collector_paused``)."""
    recorder: Any = ledger.recorder
    notifications = recorder.select_cases([UUID(c) for c in cases], job.head)
    by_case: dict[str, list[Entry]] = {}
    last: dict[str, int] = {}
    for n in notifications:
        entry = decode(ledger, n)
        by_case.setdefault(entry.case_id, []).append(entry)
        last[entry.case_id] = n.id
    views = [
        CaseView(case_id, len(entries), last[case_id], job.now, entries, job.config)
        for case_id, entries in by_case.items()
    ]
    with db.transaction() as tx:
        for model in models:
            with _failing(model, "rebuilding case by case"):
                write_rows(tx, model, job.generations[model.name], views, fresh=True)
    return len(notifications)


_worker: tuple[CaseLedger, ViewDatabase, list[ReadModel], _FillJob] | None = None


def _start_fill_worker(settings_json: str, job: _FillJob) -> None:
    global _worker
    from infra.settings import Settings
    from infra.store import build_application
    from projections import read_models

    settings = Settings.model_validate_json(settings_json)
    _worker = (
        build_application(settings),
        ViewDatabase(settings, pool_size=1),
        read_models(job.names),
        job,
    )


def _fill_in_worker(cases: list[str]) -> int:
    assert _worker is not None
    ledger, db, models, job = _worker
    return _fill(ledger, db, models, job, cases)


def wait_for(db: ViewDatabase, names: Iterable[str], position: int, timeout: float) -> bool:
    """Wait until every named read model has passed ``position``; False on timeout. It wakes
    when a runner announces a move (``Moves``; polling on SQLite)."""
    names = set(names)
    deadline = time.monotonic() + timeout
    while True:
        mark = db.moves.mark()
        reached = {s.name for s in states(db) if s.position >= position}
        if names <= reached:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        db.moves.wait(mark, left)
