"""Rebuilding read models: a new generation filled beside the live one, then an atomic switch.

A rebuild fills the new generation case by case from the log's head (each case judged once,
however its events are spread over the log; optionally in several processes), follows the log
from there in lockstep like a live runner, and switches in one transaction: it takes the live
generations' locks, applies the last events, repoints the views and drops the old tables.
Reads are served from the live generation until then. A runner also uses it to fill read models
that start empty on a long log (``projections.runner``).
"""

from __future__ import annotations

import fcntl
import gc
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import psycopg
import structlog

from domain.application import CaseLedger
from domain.compliance import ComplianceConfig
from domain.state import Entry
from infra.settings import Settings
from projections.db import STATE_TABLE, ViewDatabase, views_path
from projections.generations import (
    create_generation,
    drop_generation,
    ensure,
    lock_generation,
    point_views,
)
from projections.model import CaseView, ReadModel
from projections.projector import (
    ProjectionFailed,
    Projector,
    _failing,
    model_rows,
    write_safely,
)

log = structlog.get_logger("caseledger.projections")


def rebuild(
    projector: Projector,
    models: Sequence[ReadModel],
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    ledger_factory: Callable[[], CaseLedger] | None = None,
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

    ``workers`` > 1 shares the cases between that many processes, each with a ledger from
    ``ledger_factory`` (picklable: it is sent to them) and the projector's view settings.
    One rebuild runs at a time per store (``RebuildRunning`` otherwise).
    """
    with _one_rebuild_at_a_time(projector.db):
        return _rebuild(projector, models, progress, workers, ledger_factory)


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
    projector: Projector,
    models: Sequence[ReadModel],
    progress: Callable[[int], None] | None,
    workers: int,
    ledger_factory: Callable[[], CaseLedger] | None,
) -> dict[str, int]:
    db = projector.db
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
                drop_generation(tx, model, stale)  # an earlier rebuild that did not finish
            generations[model.name] = max(int(r["generation"]) for r in rows) + 1
            create_generation(tx, model, generations[model.name], active=False, indexed=False)
    log.info("rebuild_started", generations=generations)
    head = _fill_by_case(projector, models, generations, progress, workers, ledger_factory)
    while True:
        now = projector.clock()
        projector.forget_judged()
        applied = [projector.step(m, generations[m.name], now) for m in models]
        if progress is not None and max(applied):
            progress(max(applied))
        if max(applied) < projector.batch:
            break
    with db.transaction() as tx:
        now = projector.clock()
        for model in models:
            live = lock_generation(tx, model.name)
            if lock_generation(tx, model.name, generations[model.name]) is None:
                raise ProjectionFailed(
                    f"{model.name}: generation {generations[model.name]} is gone"
                )
            while projector.apply_next(tx, model, generations[model.name], now):
                pass
            tx.execute(
                f"UPDATE {STATE_TABLE} SET active = (generation = ?) WHERE name = ?",
                (generations[model.name], model.name),
            )
            point_views(tx, model, generations[model.name])
            if live is not None:
                drop_generation(tx, model, live.generation)
        tx.announce()
    log.info("rebuild_switched", generations=generations, filled_to=head)
    return generations


def _fill_by_case(
    projector: Projector,
    models: Sequence[ReadModel],
    generations: dict[str, int],
    progress: Callable[[int], None] | None,
    workers: int,
    ledger_factory: Callable[[], CaseLedger] | None,
) -> int:
    """Write every case's rows as of the log's head into the new generations; the head.

    Cases are judged as of one instant (the clock when the fill starts), ``batch / 20`` cases
    a transaction (about as many events as a batch). With ``workers`` > 1, processes share the
    cases (each judges and writes its own; the planner statistics and positions are set here
    once they have all finished). On PostgreSQL the new tables are filled bare and get their
    keys and indexes once full: one sorted build per index instead of a million insertions."""
    ledger, db = projector.ledger, projector.db
    ledger.analyze()
    head = ledger.head()
    case_ids = [str(c) for c in ledger.case_ids_upto(head)]
    per_transaction = max(1, projector.batch // 20)
    chunks = [
        case_ids[start : start + per_transaction]
        for start in range(0, len(case_ids), per_transaction)
    ]
    job = _FillJob([m.name for m in models], generations, projector.config, projector.clock(), head)
    if workers > 1 and ledger_factory is not None and len(chunks) > 1:
        context = multiprocessing.get_context("spawn")
        start = (ledger_factory, db.settings.model_dump_json(), job)
        with context.Pool(workers, _start_fill_worker, start) as pool:
            for events in pool.imap_unordered(_fill_in_worker, chunks):
                if progress is not None:
                    progress(events)
    else:
        for chunk in chunks:
            events = _fill(ledger, db, models, job, chunk)
            if progress is not None:
                progress(events)
    if db.dialect == "postgres":  # the tables were made bare: key and indexes now,
        # then statistics for the planner, before anyone reads them
        with db.transaction() as tx:
            for model in models:
                for table in model.all_tables:
                    for statement in table.index_ddl(generations[model.name]):
                        tx.execute(statement)
                    tx.execute(f"ANALYZE {table.physical(generations[model.name])}")
    with db.transaction() as tx:
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
    everything else in the process, to find no cycle: a good part of a fill's time
    (``bench/README.md``). Nothing a chunk makes holds a reference cycle (a collection
    after a chunk found none), so
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
    logged = ledger.cases_upto([UUID(c) for c in cases], job.head)
    by_case: dict[str, list[Entry]] = {}
    last: dict[str, int] = {}
    for item in logged:
        by_case.setdefault(item.entry.case_id, []).append(item.entry)
        last[item.entry.case_id] = item.position
    views = [
        CaseView(case_id, len(entries), last[case_id], job.now, entries, job.config)
        for case_id, entries in by_case.items()
    ]
    with db.transaction() as tx:
        for model in models:
            generation = job.generations[model.name]
            with _failing(model, "rebuilding case by case"):
                write_safely(tx, model, generation, model_rows(model, views), fresh=True)
    return len(logged)


_worker: tuple[CaseLedger, ViewDatabase, list[ReadModel], _FillJob] | None = None


def _start_fill_worker(
    ledger_factory: Callable[[], CaseLedger], settings_json: str, job: _FillJob
) -> None:
    global _worker
    from projections import read_models

    settings = Settings.model_validate_json(settings_json)
    _worker = (
        ledger_factory(),
        ViewDatabase(settings, pool_size=1),
        read_models(job.names),
        job,
    )


def _fill_in_worker(cases: list[str]) -> int:
    assert _worker is not None
    ledger, db, models, job = _worker
    return _fill(ledger, db, models, job, cases)
