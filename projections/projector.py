"""Applying the log to the read models exactly once, a round at a time.

A round of the ``Projector``

1. reads the read models' positions and the next events of the log after the lowest (many
   when catching up, few when live), and the whole record of every case they touched
   (``projections.feed``);
2. judges those cases and lays out their rows (``projections.model``), outside any transaction;
3. in one short transaction, moves each read model's position to the last event taken *if it
   is still the one read in 1* (which locks its row; name order is the lock order), replaces
   the touched cases' rows, announces the move (``Tx.announce``), and commits. If another
   runner (the API's and ``caseledger projections run`` may both run) moved a position
   meanwhile, it rolls back and does the round again, so no event is applied twice.

A crash anywhere before the commit leaves rows and position as they were; after it, both moved.

No single event stops a read model: a case the engine or a handler fails on, or whose rows
the database refuses, is set aside (``model_rows``, ``write_safely``): its rows stay as they
were, it is listed in ``caseledger_projection_failures`` with the event and the error, and the
next event on it, or a restarted runner (``retry_failing``), judges it again. Only an event
that cannot be read at all stops the read models (their error is stored in their row, shown by
``/ready``, and the position stays before it; restarting the runner retries). Nothing is skipped
silently.

The scheduler (``recheck``): each read model keeps, per case, when its earliest pending deadline
passes; the runner re-judges the cases whose instant has come, at the version they were judged
at, and writes their rows in a short transaction that checks, as a round does, that the read
model's position has not moved since it read them.

``projections.runner`` follows the log with it; ``projections.rebuild`` fills new generations.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog
from eventsourcing import persistence as es_persistence

from domain.application import CaseLedger, utcnow
from domain.compliance import ComplianceConfig
from domain.store import Logged
from projections.db import FAILURES_TABLE, STATE_TABLE, Tx, ViewDatabase
from projections.feed import CaseBook, Feed
from projections.generations import Generation, lock_generation, read_generations
from projections.model import CaseView, ReadModel, Row, bookkeeping

log = structlog.get_logger("caseledger.projections")

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


class Projector:
    """Applies the log to a set of read models, a round at a time (``run_once``)."""

    def __init__(
        self,
        ledger: CaseLedger,
        db: ViewDatabase,
        models: Sequence[ReadModel],
        clock: Callable[[], datetime] = utcnow,
        config: ComplianceConfig | None = None,
        recheck_seconds: float = 60.0,
        batch: int = BATCH,
        cases: int = 4000,
    ) -> None:
        # one lock order for every runner and rebuild: state rows are locked by name
        self.ledger, self.db, self.models = ledger, db, sorted(models, key=lambda m: m.name)
        self.clock, self.config = clock, config or ComplianceConfig()
        self.recheck_seconds = recheck_seconds
        self.batch = batch
        self.book = CaseBook(ledger, cases)
        self.feed = Feed(ledger, self.book)
        self.failed: dict[str, str] = {}
        self._views: dict[tuple[str, int, datetime], CaseView] = {}
        self._last_recheck = 0.0
        self._retried: set[str] = set()
        self.rounds = 0
        """Rounds that applied events, and the events they applied summed over the read
        models (the metrics read them)."""
        self.events_applied = 0

    # --- one read model -----------------------------------------------------------------------

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
            applied = self.apply_next(tx, model, generation, now or self.clock(), upto)
        if applied:
            log.debug(
                "step",
                projection=model.name,
                events=applied,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        return applied

    def apply_next(
        self,
        tx: Tx,
        model: ReadModel,
        generation: int | None,
        now: datetime,
        upto: int | None = None,
        case_by_case: bool = False,
    ) -> int:
        """Apply the next events to one read model inside ``tx``; how many it applied.
        ``case_by_case``: each case in a savepoint of its own (after a refused round)."""
        state = lock_generation(tx, model.name, generation)
        if state is None:
            return 0  # a rebuild switched generations while we waited: next step sees the new one
        with _failing(model, f"reading the log after position {state.position}"):
            items = self.feed.after(state.position, self.batch)
        if upto is not None:
            items = [item for item in items if item.position <= upto]
        step = self._plan(model, state, items, now)
        if step is None:
            return 0
        step.claim(tx)
        if case_by_case:
            step.write_case_by_case(tx)
        else:
            step.write(tx)
        return len(step.items)

    def _plan(
        self, model: ReadModel, state: Generation, items: list[Logged], now: datetime
    ) -> _Advance | None:
        """The rows these events give a read model (its handlers run here, before any write)."""
        items = [item for item in items if item.position > state.position]
        if not items:
            return None
        touched: dict[str, tuple[int, int]] = {}
        for item in items:
            touched[item.entry.case_id] = (item.entry.version, item.position)
        with _failing(model, f"events after position {state.position}"):
            views = [self._view(case_id, v, p, now) for case_id, (v, p) in touched.items()]
            laid = model_rows(model, views)
        return _Advance(model, state, items, laid)

    def recheck(self, model: ReadModel, now: datetime | None = None, limit: int = 500) -> int:
        """Re-judge the cases whose earliest pending deadline has passed; how many.

        Like a round, it judges outside any transaction and writes in a short one, which first
        checks that the read model's position is still the one the cases were read at (a round
        that moved it may have rewritten some of them since); if not, it reads them again."""

        now = now or self.clock()

        def due(generation: Generation) -> tuple[str, tuple[Any, ...]]:
            table = bookkeeping(model.name).physical(generation.generation)
            return (
                f"SELECT case_id, version, position FROM {table} "
                "WHERE recheck_at <= ? ORDER BY recheck_at LIMIT ?",
                (now, limit),
            )

        return self._rejudge(model, now, due, "deadline passed")

    def retry_failing(self, model: ReadModel, now: datetime | None = None) -> int:
        """Judge again the cases the read model could not lay out, as a restarted runner does
        once (the handler may have been fixed); those that still fail stay listed. How many
        were judged."""

        def failing(generation: Generation) -> tuple[str, tuple[Any, ...]]:
            return (
                f"SELECT case_id, version, position FROM {FAILURES_TABLE} "
                "WHERE name = ? AND generation = ?",
                (model.name, generation.generation),
            )

        return self._rejudge(model, now or self.clock(), failing, "failing")

    def _rejudge(
        self,
        model: ReadModel,
        now: datetime,
        query: Callable[[Generation], tuple[str, tuple[Any, ...]]],
        why: str,
    ) -> int:
        """Judge again the cases ``query`` selects (case id, version, position) at the version
        they were judged at, and write their rows in a short transaction that first checks
        the read model's position has not moved since they were read."""
        while True:
            state = read_generations(self.db, [model.name]).get(model.name)
            if state is None:
                return 0
            cases = self.db.read(*query(state))
            if not cases:
                return 0
            with _failing(model, f"re-judging cases ({why})"):
                wanted = {str(r["case_id"]): int(r["version"]) for r in cases}
                self.book.load(wanted, state.position)
                views = [
                    self._view(str(r["case_id"]), int(r["version"]), int(r["position"]), now)
                    for r in cases
                ]
                laid = model_rows(model, views)
            try:
                with self.db.transaction() as tx:
                    claimed = tx.execute(
                        f"UPDATE {STATE_TABLE} SET updated_at = ? "
                        "WHERE name = ? AND generation = ? AND position = ?",
                        (datetime.now(UTC), model.name, state.generation, state.position),
                    )
                    if claimed != 1:
                        raise _Overtaken()
                    write_safely(tx, model, state, laid)
            except _Overtaken:
                continue
            return len(views)

    def forget_judged(self) -> None:
        """Judged cases are shared within a round only: forget them before the next."""
        self._views.clear()

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

    # --- a round of every read model ----------------------------------------------------------

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
            self.forget_judged()
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
        if applied:
            self.rounds += 1
            self.events_applied += applied
        for model, error in failures:
            self._fail(model, error)
        if time.monotonic() - self._last_recheck >= self.recheck_seconds:
            self._last_recheck = time.monotonic()
            for model in self.models:
                try:
                    while model.name not in self.failed and self.recheck(model, now) >= 500:
                        pass
                    if model.name not in self.failed and model.name not in self._retried:
                        self._retried.add(model.name)  # once per start: a restart retries
                        self.retry_failing(model, now)
                except ProjectionFailed as e:
                    self._fail(model, e)
        return applied

    def _round(
        self, running: list[ReadModel], now: datetime
    ) -> tuple[int, list[tuple[ReadModel, ProjectionFailed]]]:
        failures: list[tuple[ReadModel, ProjectionFailed]] = []
        times = _Stopwatch()
        found = read_generations(self.db, [m.name for m in running])
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
            self.book.load({i.entry.case_id: i.entry.version for i in batch}, batch[-1].position)
        except STORE_AWAY:
            raise
        except Exception as e:
            raise _LogUnreadable() from e
        times.lap("load")
        steps: list[_Advance] = []
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
            rows = sum(step.laid.row_count for step in steps)
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
        cases = len({i.entry.case_id for i in batch})
        log.debug("round", events=len(batch), cases=cases, **times.ms)
        return sum(len(s.items) for s in steps), failures

    def _round_one_by_one(
        self, running: list[ReadModel], now: datetime
    ) -> tuple[int, list[tuple[ReadModel, ProjectionFailed]]]:
        """A round with a savepoint per read model: a read model whose rows the database
        refuses is done again case by case, each case in a savepoint, so that only the cases
        whose rows are refused are set aside (listed as failing); should it be refused even
        so, that read model alone is rolled back and stopped."""
        applied, failures = 0, []
        found = read_generations(self.db, [m.name for m in running])
        batch = self.feed.after(min((s.position for s in found.values()), default=0), self.batch)
        upto = batch[-1].position if batch else None
        with self.db.transaction() as tx:
            for model in running:
                tx.execute("SAVEPOINT step")
                try:
                    try:
                        applied += self.apply_next(tx, model, None, now, upto)
                    except (psycopg.DatabaseError, sqlite3.DatabaseError) as e:
                        if isinstance(e, STORE_AWAY):
                            raise
                        tx.execute("ROLLBACK TO SAVEPOINT step")
                        applied += self._case_by_case(tx, model, now, upto)
                except ProjectionFailed as e:
                    tx.execute("ROLLBACK TO SAVEPOINT step")
                    failures.append((model, e))
                    continue
                tx.execute("RELEASE SAVEPOINT step")
            if applied:
                tx.announce()
        return applied, failures

    def _case_by_case(self, tx: Tx, model: ReadModel, now: datetime, upto: int | None) -> int:
        try:
            return self.apply_next(tx, model, None, now, upto, case_by_case=True)
        except (psycopg.DatabaseError, sqlite3.DatabaseError) as e:
            if isinstance(e, STORE_AWAY):
                raise
            raise ProjectionFailed(f"{model.name}: rows refused: {e}") from e

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
                state = lock_generation(tx, model.name)
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
class Laid:
    """The rows some judged cases give a read model, by table; and the cases it could not lay
    out, with why (``model_rows``)."""

    by_case: dict[str, dict[str, list[Row]]]
    failed: list[tuple[CaseView, str]]
    views: dict[str, CaseView]

    @property
    def case_ids(self) -> list[str]:
        return list(self.by_case)

    def rows(self, names: Sequence[str]) -> dict[str, list[Row]]:
        return {name: [r for rows in self.by_case.values() for r in rows[name]] for name in names}

    @property
    def row_count(self) -> int:
        return sum(len(r) for rows in self.by_case.values() for r in rows.values())


def model_rows(model: ReadModel, views: list[CaseView]) -> Laid:
    """The rows these judged cases give a read model (its handler runs here).

    A case the engine or the handler fails on is set aside with its error rather than stop the
    read model for every case: its rows stay as they were, it is listed as failing, and the
    next event on it (a correction, a void) judges it again. The store being away is not a
    case's fault: it is raised."""
    names = [t.name for t in model.all_tables]
    by_case: dict[str, dict[str, list[Row]]] = {}
    failed: list[tuple[CaseView, str]] = []
    for view in views:
        try:
            rows: dict[str, list[Row]] = {name: [] for name in names}
            rows.update(model.rows(view))
            rows[names[-1]] = [view.bookkeeping_row()]
        except STORE_AWAY:
            raise
        except Exception as e:
            failed.append((view, f"{type(e).__name__}: {e}"))
            continue
        by_case[view.case_id] = rows
    return Laid(by_case, failed, {view.case_id: view for view in views})


def write_laid(
    tx: Tx,
    model: ReadModel,
    generation: Generation | int,
    laid: Laid,
    fresh: bool = False,
) -> None:
    """Replace the laid-out cases' rows in one generation (``fresh``: they have none yet); for
    the cases that failed, keep their rows, take them off the scheduler (their bookkeeping
    row says when they were judged, with no deadline to recheck) and list them as failing; a
    case laid out again is no longer failing."""
    number = generation if isinstance(generation, int) else generation.generation
    failing = 0 if isinstance(generation, int) else generation.failing
    names = [t.name for t in model.all_tables]
    write_table_rows(tx, model, number, laid.case_ids, laid.rows(names), fresh)
    if failing and laid.case_ids and not fresh:
        tx.delete_cases(
            FAILURES_TABLE, laid.case_ids, "name = ? AND generation = ?", (model.name, number)
        )
    if laid.failed:
        _write_failures(tx, model, number, laid.failed, fresh)


def _write_failures(
    tx: Tx, model: ReadModel, generation: int, failed: list[tuple[CaseView, str]], fresh: bool
) -> None:
    case_ids = [view.case_id for view, _ in failed]
    books = bookkeeping(model.name)
    if not fresh:
        tx.delete_cases(books.physical(generation), case_ids)
        tx.delete_cases(
            FAILURES_TABLE, case_ids, "name = ? AND generation = ?", (model.name, generation)
        )
    tx.insert(
        books.physical(generation),
        books.column_names,
        [[view.case_id, view.version, view.position, None] for view, _ in failed],
    )
    now = datetime.now(UTC)
    tx.insert(
        FAILURES_TABLE,
        ("name", "generation", "case_id", "version", "position", "event_id", "error", "failed_at"),
        [
            (
                model.name,
                generation,
                view.case_id,
                view.version,
                view.position,
                view.entries[-1].event_id if view.entries else None,
                printable(error),
                now,
            )
            for view, error in failed
        ],
    )
    for view, error in failed:
        log.error(
            "projection_case_failed",
            projection=model.name,
            case_id=view.case_id,
            version=view.version,
            error=printable(error),
        )


def printable(text: str, limit: int = 2000) -> str:
    """An error message any store keeps and any screen shows: control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)[:limit]


@dataclass
class _Advance:
    """What one round does to one read model: the events it applies, and the rows of the
    cases they touched (``Laid``)."""

    model: ReadModel
    state: Generation
    items: list[Logged]
    laid: Laid

    def claim(self, tx: Tx) -> Any:
        """Move the read model's position, if it is still the one the step started from (the
        cursor's ``rowcount`` says whether it was)."""
        return tx.cursor(
            f"UPDATE {STATE_TABLE} SET position = ?, events = events + ?, updated_at = ?, "
            "error = NULL, error_position = NULL "
            "WHERE name = ? AND generation = ? AND position = ?",
            (
                self.items[-1].position,
                len(self.items),
                datetime.now(UTC),
                self.model.name,
                self.state.generation,
                self.state.position,
            ),
        )

    def write(self, tx: Tx) -> None:
        write_laid(tx, self.model, self.state, self.laid)

    def write_case_by_case(self, tx: Tx) -> None:
        write_case_by_case(tx, self.model, self.state, self.laid)


def write_safely(
    tx: Tx, model: ReadModel, generation: Generation | int, laid: Laid, fresh: bool = False
) -> None:
    """``write_laid``; should the database refuse the rows, again case by case, so that only
    the cases it refuses are set aside."""
    tx.execute("SAVEPOINT laid")
    try:
        write_laid(tx, model, generation, laid, fresh)
    except (psycopg.DatabaseError, sqlite3.DatabaseError) as e:
        if isinstance(e, STORE_AWAY):
            raise
        tx.execute("ROLLBACK TO SAVEPOINT laid")
        write_case_by_case(tx, model, generation, laid, fresh)
    tx.execute("RELEASE SAVEPOINT laid")


def write_case_by_case(
    tx: Tx, model: ReadModel, generation: Generation | int, laid: Laid, fresh: bool = False
) -> None:
    """``write_laid``, each case in a savepoint of its own: a case whose rows the database
    refuses is rolled back alone and listed as failing (the slow way, after a refusal)."""
    refused: list[tuple[CaseView, str]] = []
    for case_id, rows in laid.by_case.items():
        tx.execute("SAVEPOINT one_case")
        try:
            write_laid(tx, model, generation, Laid({case_id: rows}, [], {}), fresh)
        except (psycopg.DatabaseError, sqlite3.DatabaseError) as e:
            if isinstance(e, STORE_AWAY):
                raise
            tx.execute("ROLLBACK TO SAVEPOINT one_case")
            refused.append((laid.views[case_id], f"rows refused: {type(e).__name__}: {e}"))
            continue
        tx.execute("RELEASE SAVEPOINT one_case")
    failed = laid.failed + refused
    if failed:
        number = generation if isinstance(generation, int) else generation.generation
        _write_failures(tx, model, number, failed, fresh)


def write_table_rows(
    tx: Tx,
    model: ReadModel,
    generation: int,
    case_ids: list[str],
    rows: dict[str, list[Row]],
    fresh: bool = False,
) -> None:
    """Replace these cases' rows in one generation (``fresh``: they have none yet)."""
    for table in model.all_tables:
        physical = table.physical(generation)
        if not fresh:
            tx.delete_cases(physical, case_ids)
        tx.insert(physical, table.column_names, rows[table.name], table.json_columns)
