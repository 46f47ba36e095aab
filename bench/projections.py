"""Read-model benchmark: catch-up of a rebuild from scratch, and live lag under 8 writers.

    .venv/bin/python bench/projections.py --store postgres --events 1000000
    .venv/bin/python bench/projections.py --store sqlite --events 100000

1. **Load.** The store (PostgreSQL schema ``--schema``, default ``bench_projections``; or the
   SQLite file ``--path``) is filled with demo life courses (``infra.demo``, the same generator
   as ``caseledger demo``) by ``--load-processes`` processes until it holds at least N events.
   A store that already holds N events is reused as it is, so runs can be repeated.
2. **Catch-up.** ``rebuild`` of all three read models (caseload, timeline, inspections) from
   position 0, as ``caseledger projections rebuild`` does it, with ``--workers`` processes
   (default: one per CPU): ``catchup_events_per_s`` is the log's events over the wall time of
   the whole rebuild, switch included.
3. **Stock runner.** The library's ``ProjectionRunner`` (PostgreSQL only), from the start of
   the same log, in a process of its own, one transaction per event as the library does, twice:
   - with a trivial projection (count events per case): ``stock_catchup_events_per_s`` over
     its first ``--stock-events`` events. It does none of our work, so it is an upper bound of
     the stock runtime;
   - doing our work (``JudgedView``): for each event, the case's record up to it is read and
     judged, and its rows in our three read models replaced (a copy of their tables, generation
     ``STOCK_GENERATION``), with the tracking record: ``stock_judged_catchup_events_per_s``
     over its first ``--stock-judged-events`` events.
4. **Live.** ``caseledger projections run`` in a process of its own while ``--writers`` threads
   append single events (load the case, append, save, as an API request does) to cases
   chosen at random among all cases, staggered so that together they append at a steady
   ``--rate`` events/s, for ``--live-seconds``. The lag of an event is the time from
   its append returning to all read models having applied its position, timed by an observer
   process that reads their position when the runner announces a move (``NOTIFY``; every 2 ms
   on SQLite) or an event is handed to it: ``live_lag_p50_ms`` and ``live_lag_p99_ms``.
   The read models are vacuumed first (PostgreSQL), and the writers' process paces its cycle
   collector as the API process does (``infra.collector``), so that the load is steady.

Output is ``key=value`` lines.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg.sql import SQL, Identifier

from domain.case import NewEvent
from domain.events import Actor
from infra.collector import frozen_after_full_collections
from infra.settings import Settings
from infra.store import build_application, build_runner, eventsourcing_env
from projections.db import views_channel, views_path
from projections.notices import Notices
from projections.rebuild import rebuild

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
ACTOR = Actor(id="bench-counsellor", role="counsellor", unit="01.004.00127")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", choices=["sqlite", "postgres"], required=True)
    p.add_argument("--events", type=int, required=True, metavar="N")
    p.add_argument("--database-url", default=DEFAULT_PG)
    p.add_argument("--schema", default="bench_projections")
    p.add_argument("--path", default="var/bench-projections.sqlite3")
    p.add_argument("--load-processes", type=int, default=2)
    p.add_argument("--batch", type=int, default=2000, help="events per read-model transaction")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="rebuild processes")
    p.add_argument("--stock-events", type=int, default=20_000)
    p.add_argument("--stock-judged-events", type=int, default=5_000)
    p.add_argument("--writers", type=int, default=8)
    p.add_argument("--rate", type=float, default=100.0, help="live appends per second, in all")
    p.add_argument("--live-seconds", type=float, default=30.0)
    p.add_argument("--runner-log", default=None, help="write the runner's debug log here")
    p.add_argument("--profile", default=None, help="profile the runner into this file")
    p.add_argument("--skip", nargs="*", default=[], choices=["catchup", "stock", "live"])
    return p.parse_args()


def settings_for(args: argparse.Namespace) -> Settings:
    if args.store == "sqlite":
        return Settings(database_url=f"sqlite:///{args.path}", log_level="WARNING")
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(args.schema)))
    return Settings(
        database_url=args.database_url, database_schema=args.schema, log_level="WARNING"
    )


# --- 1. load ------------------------------------------------------------------------------------


def _load(settings_json: str, seed: int, people: int) -> int:
    from infra.demo import generate

    app = build_application(Settings.model_validate_json(settings_json))
    try:
        return generate(app, people=people, seed=seed).events
    finally:
        app.close()


def load(settings: Settings, events: int, processes: int) -> int:
    app = build_application(settings)
    head = app.head()
    app.close()
    if head >= events:
        print(f"loaded=reused events={head}", flush=True)
        return head
    started, seed = time.perf_counter(), 1000 + head  # new seeds: new people
    people = 1000  # about 35,000 events per chunk
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        while head < events:
            chunks = [(settings.model_dump_json(), seed + i, people) for i in range(processes)]
            head += sum(pool.starmap(_load, chunks))
            seed += processes
            print(f"  loaded {head} events ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"load_seconds={time.perf_counter() - started:.1f}", flush=True)
    return head


# --- 2. catch-up --------------------------------------------------------------------------------


def catch_up(settings: Settings, batch: int, workers: int) -> None:
    app = build_application(settings)
    runner = build_runner(settings.model_copy(update={"projection_batch": batch}), app)
    head = app.head()
    done = 0
    started = time.perf_counter()

    def progress(applied: int) -> None:
        nonlocal done
        done += applied
        if done % 100_000 < applied:
            rate = done / (time.perf_counter() - started)
            print(f"  {done} events, {rate:.0f}/s", flush=True)

    rebuild(runner, runner.models, progress, workers, partial(build_application, settings))
    elapsed = time.perf_counter() - started
    runner.db.close()
    app.close()
    print(f"catchup_events={head}")
    print(f"catchup_seconds={elapsed:.1f}")
    print(f"catchup_events_per_s={head / elapsed:.1f}", flush=True)


# --- 3. the stock ProjectionRunner --------------------------------------------------------------


class CountView(PostgresTrackingRecorder):
    """Events per case, and the tracking record, in one transaction per event."""

    def __init__(self, datastore, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {}.stock_case_counts (case_id uuid PRIMARY KEY, "
                "events integer NOT NULL)"
            ).format(Identifier(datastore.schema))
        )

    def count(self, case_id: UUID, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {}.stock_case_counts AS c VALUES (%s, 1) ON CONFLICT (case_id) "
                    "DO UPDATE SET events = c.events + 1"
                ).format(Identifier(self.datastore.schema)),
                (case_id,),
                prepare=True,
            )
            self._insert_tracking(curs, tracking)


class CountProjection(Projection[CountView]):
    name = "stockcount"

    def process_event(self, domain_event, tracking):  # type: ignore[no-untyped-def]
        self.view.count(domain_event.originator_id, tracking)


STOCK_GENERATION = 9999
"""The generation of our read models' tables that the stock runner doing our work writes."""


class JudgedView(PostgresTrackingRecorder):
    """Our three read models, written by the stock runner: for each event, the case's record up
    to it is read and judged, its rows replaced (one pipeline, as a live round sends them) and
    the tracking record inserted, in one transaction per event."""

    settings: Settings

    def __init__(self, datastore, **kwargs):  # type: ignore[no-untyped-def]
        from domain.compliance import ComplianceConfig
        from infra.store import build_application
        from projections import read_models
        from projections.db import ViewDatabase

        super().__init__(datastore, **kwargs)
        self.ledger = build_application(self.settings)
        self.db = ViewDatabase(self.settings, pool_size=1)  # for its dialect: rows go by `curs`
        self.models = read_models()
        self.config = ComplianceConfig()
        self.now = _now()

    def judge(self, case_id: UUID, version: int, tracking: Tracking) -> None:
        from projections.db import Tx
        from projections.model import CaseView
        from projections.projector import model_rows, write_laid

        entries = self.ledger.case_entries(case_id, version)
        view = CaseView(
            str(case_id), version, tracking.notification_id, self.now, entries, self.config
        )
        with self.datastore.transaction(commit=True) as curs:
            tx = Tx(self.db, curs.connection)
            with tx.pipeline():
                tx.execute(
                    SQL("SET LOCAL search_path TO {}")
                    .format(Identifier(self.settings.database_schema))
                    .as_string(curs.connection)
                )
                for model in self.models:
                    write_laid(tx, model, STOCK_GENERATION, model_rows(model, [view]))
            self._insert_tracking(curs, tracking)


class JudgedProjection(Projection[JudgedView]):
    name = "stockjudged"

    def process_event(self, domain_event, tracking):  # type: ignore[no-untyped-def]
        self.view.judge(domain_event.originator_id, domain_event.originator_version, tracking)


def _stock_process(settings_json: str, judged: bool) -> None:
    from eventsourcing.projection import ProjectionRunner

    from domain.application import CaseLedger

    settings = Settings.model_validate_json(settings_json)
    env = {**eventsourcing_env(settings), "CREATE_TABLE": "y"}
    JudgedView.settings = settings
    runner = ProjectionRunner(
        application_class=CaseLedger,
        projection_class=JudgedProjection if judged else CountProjection,  # type: ignore[arg-type]
        view_class=JudgedView if judged else CountView,  # type: ignore[arg-type]
        env=env,
    )
    runner.run_forever()


def _stock_tables(settings: Settings, create: bool) -> None:
    """Drop the stock runs' tables; with ``create``, make the judged run's copies of ours."""
    from projections import read_models

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(SQL("SET search_path TO {}").format(Identifier(settings.database_schema)))
        conn.execute("DROP TABLE IF EXISTS stock_case_counts")
        for name in ("stockcount", "stockjudged"):
            conn.execute(f"DROP TABLE IF EXISTS {name}_tracking")
        conn.execute("DROP TABLE IF EXISTS notification_tracking")
        for model in read_models():
            for table in model.all_tables:
                conn.execute(f"DROP TABLE IF EXISTS {table.physical(STOCK_GENERATION)}")
                if create:
                    for statement in table.ddl("postgres", STOCK_GENERATION):
                        conn.execute(statement)


def stock(settings: Settings, events: int, judged: bool) -> None:
    """The stock ``ProjectionRunner`` from position 0: counting events per case, or (``judged``)
    doing our read models' work; its rate over the events after its first commit."""
    _stock_tables(settings, create=judged)
    if judged:
        progress_sql = (
            "SELECT coalesce(max(notification_id), 0) FROM stockjudged_tracking "
            "WHERE application_name <> '__migration__'"
        )
    else:
        progress_sql = "SELECT coalesce(sum(events), 0) FROM stock_case_counts"
    key = "stock_judged" if judged else "stock"
    process = multiprocessing.get_context("spawn").Process(
        target=_stock_process, args=(settings.model_dump_json(), judged)
    )
    started = time.perf_counter()
    process.start()
    reached, first_at = 0, None
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(SQL("SET search_path TO {}").format(Identifier(settings.database_schema)))
        while reached < events and process.is_alive():
            time.sleep(0.2)
            try:
                reached = int(conn.execute(progress_sql).fetchone()[0])  # type: ignore[index]
            except psycopg.errors.UndefinedTable:
                reached = 0
            if reached and first_at is None:
                first_at = (time.perf_counter(), reached)
    ended = time.perf_counter()
    process.kill()
    process.join()
    _stock_tables(settings, create=False)
    if first_at is None or reached <= first_at[1]:
        print(f"{key}_catchup_events_per_s=nan  # the stock runner did not start", flush=True)
        return
    rate = (reached - first_at[1]) / (ended - first_at[0])
    print(f"{key}_catchup_events={reached}")
    print(f"{key}_startup_seconds={first_at[0] - started:.1f}")
    print(f"{key}_catchup_events_per_s={rate:.1f}", flush=True)


# --- 4. live ------------------------------------------------------------------------------------


def live(
    settings: Settings,
    writers: int,
    rate: float,
    seconds: float,
    runner_log: str | None,
    profile: str | None = None,
) -> None:
    app = build_application(settings)
    case_ids = _all_cases(settings)
    _vacuum_read_models(settings)
    random.Random(1).shuffle(case_ids)  # appends spread over every case, as in the field
    env = {
        **os.environ,
        "CASELEDGER_DATABASE_URL": settings.database_url,
        "CASELEDGER_DATABASE_SCHEMA": settings.database_schema,
        "CASELEDGER_LOG_LEVEL": "DEBUG" if runner_log else "WARNING",
        "CASELEDGER_LOG_JSON": "false",
    }
    cli = Path(sys.executable).with_name("caseledger")
    log = open(runner_log, "w") if runner_log else None  # noqa: SIM115
    command = [str(cli), "projections", "run"]
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
    runner = subprocess.Popen(command, env=env, stderr=log)
    positions = _Positions(settings)
    # A probe event: once the read models have applied it, the runner is up and caught up.
    probe = NewEvent.parse("NoteAdded", _now(), {"text": "bench probe"})
    [recorded] = app.append(case_ids[0], [probe], ACTOR)
    deadline = time.monotonic() + 600
    while positions.read() < (recorded.position or 0):
        if time.monotonic() > deadline or runner.poll() is not None:
            raise SystemExit("the runner did not catch up")
        time.sleep(0.05)

    observer = _Observer(settings)
    stop_at = time.monotonic() + seconds
    interval = writers / rate

    began = time.monotonic()

    def write(worker: int) -> None:
        # staggered: together the writers append at a steady rate, not in bursts of W
        next_at, i = began + worker * interval / writers, worker
        while next_at < stop_at:
            time.sleep(max(0.0, next_at - time.monotonic()))
            note = NewEvent.parse("NoteAdded", _now(), {"text": f"bench note {worker}-{i}"})
            [recorded] = app.append(case_ids[i % len(case_ids)], [note], ACTOR)
            if recorded.position is not None:
                observer.appended(recorded.position, time.monotonic())
            i += writers
            next_at += interval

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    # The writers are the load: they must keep a steady rate. With caches full of cases this
    # process's full collections would stop all of them together for 200-270 ms every few
    # seconds, and they would then catch up in a burst; so it paces them as the API does.
    with frozen_after_full_collections():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    lags, worst = observer.result()
    runner.send_signal(signal.SIGTERM)
    runner.wait(30)
    app.close()
    if lags is None:
        raise SystemExit(f"{worst} events never reached the read models")
    lags.sort()
    print(f"live_events={len(lags)}")
    print(f"live_rate_per_s={len(lags) / seconds:.1f}")
    print(f"live_lag_p50_ms={statistics.median(lags) * 1000:.1f}")
    print(f"live_lag_p99_ms={lags[int(len(lags) * 0.99) - 1] * 1000:.1f}")
    print(f"live_lag_max_ms={lags[-1] * 1000:.1f}", flush=True)
    if runner_log:
        worst = [(lag, at - began, p) for lag, at, p in worst]
        print("worst (lag s, appended at s, position):", worst)


class _Observer:
    """Times the lag of each appended event, in a process of its own.

    The writers hand over each event's position and the instant its append returned
    (``time.monotonic``: ``CLOCK_MONOTONIC``, one clock for every process of the machine);
    the observer reads the read models' position when one is handed over and whenever the
    runner announces a move (``_Positions``). It is a process of its own so
    that pauses of the writers' process (its garbage collector stops every thread now and
    then, for up to ~200 ms with the writers' caches) never stop the watch."""

    def __init__(self, settings: Settings) -> None:
        context = multiprocessing.get_context("spawn")
        self._events = context.Queue()
        self._results = context.Queue()
        self._process = context.Process(
            target=_observe, args=(settings.model_dump_json(), self._events, self._results)
        )
        self._process.start()
        if self._results.get(timeout=120) != "ready":
            raise SystemExit("the observer did not start")

    def appended(self, position: int, at: float) -> None:
        self._events.put((position, at))

    def result(self) -> tuple[Any, Any]:
        """The lags, and the five worst as (lag, appended at, position); or None and how many
        events never reached the read models."""
        self._events.put(None)  # no more events: report once every one has been applied
        found = self._results.get(timeout=120)
        self._process.join(10)
        return found


def _observe(settings_json: str, events: Any, results: Any) -> None:
    import queue

    positions = _Positions(Settings.model_validate_json(settings_json))
    positions.read()
    results.put("ready")
    pending: list[tuple[int, float]] = []
    lags: list[float] = []
    worst: list[tuple[float, float, int]] = []
    ended: float | None = None
    while ended is None or pending:
        new = False
        try:
            while True:
                item = events.get_nowait()
                if item is None:
                    ended = time.monotonic()
                else:
                    pending.append(item)
                    new = True
        except queue.Empty:
            pass
        moved = positions.wait(0.002)
        if not pending or not (moved or new):
            continue
        reached, now = positions.read(), time.monotonic()
        waiting = []
        for p, at in pending:
            if p <= reached:
                lags.append(max(0.0, now - at))
                worst.append((now - at, at, p))
            else:
                waiting.append((p, at))
        pending = waiting
        if ended is not None and now > ended + 60:
            results.put((None, len(pending)))
            return
    results.put((lags, sorted(worst, reverse=True)[:5]))


def _vacuum_read_models(settings: Settings) -> None:
    """``VACUUM ANALYZE`` the read models' tables (PostgreSQL), as autovacuum would have done.

    A read model replaces a case's rows at each event, which leaves dead rows behind; with
    autovacuum on (PostgreSQL's default, and what production runs) they are cleared as they
    pile up. The machines this was measured on run PostgreSQL with autovacuum off, so earlier
    runs' dead rows would otherwise slow every later run."""
    if settings.store != "postgres":
        return
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND (tablename ~ '^caseledger_.*_g[0-9]+$' OR tablename = 'caseledger_projections')",
            (settings.database_schema,),
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                SQL("VACUUM ANALYZE {}.{}").format(
                    Identifier(settings.database_schema), Identifier(table)
                )
            )


def _all_cases(settings: Settings) -> list[UUID]:
    query = "SELECT DISTINCT case_id FROM caseledger_log"
    if settings.store == "sqlite":
        conn = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
        found = [UUID(r[0]) for r in conn.execute(query)]
        conn.close()
        return found
    with psycopg.connect(settings.database_url, autocommit=True) as pg:
        pg.execute(SQL("SET search_path TO {}").format(Identifier(settings.database_schema)))
        return [r[0] for r in pg.execute(query)]


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


class _Positions:
    """The lowest position of the active read models (they have all applied up to it), and a
    wait for it to move: the runners' announcements through the process's ``Notices`` (their
    ``NOTIFY`` on PostgreSQL), a sleep on SQLite."""

    query = "SELECT min(position) FROM caseledger_projections WHERE active"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.channel = views_channel(settings)
        self.notices = Notices(
            settings.database_url if settings.store == "postgres" else None, [self.channel]
        )
        self.mark = self.notices.mark(self.channel)
        if settings.store == "sqlite":
            self.sqlite = sqlite3.connect(views_path(settings), timeout=30)
            return
        self.pg = psycopg.connect(settings.database_url, autocommit=True)
        self.pg.execute(SQL("SET search_path TO {}").format(Identifier(settings.database_schema)))

    def read(self) -> int:
        self.mark = self.notices.mark(self.channel)  # before reading: no announcement missed
        if self.settings.store == "sqlite":
            return int(self.sqlite.execute(self.query).fetchone()[0] or 0)
        try:
            return int(self.pg.execute(self.query).fetchone()[0] or 0)  # type: ignore[index]
        except psycopg.errors.UndefinedTable:
            return 0

    def wait(self, seconds: float) -> bool:
        """Whether the positions may have moved after waiting at most ``seconds``."""
        self.notices.wait(self.channel, self.mark, seconds, seconds)
        return self.settings.store == "sqlite" or self.notices.mark(self.channel) != self.mark


def main() -> None:
    args = parse_args()
    settings = settings_for(args)
    load(settings, args.events, args.load_processes)
    if "catchup" not in args.skip:
        catch_up(settings, args.batch, args.workers)
    if "stock" not in args.skip and args.store == "postgres":
        stock(settings, args.stock_events, judged=False)
        stock(settings, args.stock_judged_events, judged=True)
    if "live" not in args.skip:
        live(settings, args.writers, args.rate, args.live_seconds, args.runner_log, args.profile)


if __name__ == "__main__":
    main()
