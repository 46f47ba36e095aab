"""The projection runtime on SQLite and PostgreSQL: exactly-once through batches, concurrent
runners, live writers, failures, rebuilds and a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from typing import Any, ClassVar
from uuid import UUID

import pytest

from domain.application import CaseLedger
from infra.demo import generate
from infra.settings import Settings
from infra.store import build_application, build_runner
from projections import caseload, freshness, read_models
from projections.db import ViewDatabase, views_channel
from projections.freshness import wait_for
from projections.generations import active_generations, failing_cases
from projections.model import CaseView, Row
from projections.notices import Notices
from projections.rebuild import rebuild
from projections.runner import Runner
from projections.timeline import Timeline
from tests.compliance.scenario import COMMUNE
from tests.integration.stories import ACTOR, note
from tests.projections.conftest import Clock, make_runner, snapshot
from tests.projections.test_read_models import detected, save, verified

AS_OF = "2026-12-01 12:00"


@pytest.fixture
def demo(ledger: CaseLedger, clock: Clock) -> int:
    """Forty life courses recorded; returns the log's head position."""
    generate(ledger, people=40, seed=7)
    clock.set(AS_OF)
    return ledger.head()


def positions(views: ViewDatabase) -> dict[str, int]:
    return {s.name: s.position for s in active_generations(views)}


def test_many_small_batches_give_the_same_rows_as_one_rebuild(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    small = make_runner(ledger, views, clock, batch=7)

    small.catch_up()
    live = snapshot(views)
    rebuild(make_runner(ledger, views, clock, batch=5000), read_models())

    assert positions(views) == {"caseload": demo, "inspections": demo, "timeline": demo}
    # each event once
    assert {s.name: s.events for s in active_generations(views)} == positions(views)
    assert snapshot(views) == live
    assert len(live["caseledger_caseload"]) == len(live["caseledger_caseload_cases"]) > 30


def test_a_runner_that_keeps_one_case_in_memory_gives_the_same_rows(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int, settings: Settings
):
    forgetful = build_runner(settings.model_copy(update={"projection_cases": 1}), ledger)
    forgetful.clock, forgetful.batch = clock, 7
    assert forgetful.book.size == 1

    forgetful.catch_up()
    forgetful.db.close()
    live = snapshot(views)
    rebuild(make_runner(ledger, views, clock), read_models())

    assert positions(views) == {"caseload": demo, "inspections": demo, "timeline": demo}
    assert snapshot(views) == live


def test_two_runners_at_once_apply_each_event_exactly_once(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    runners = [make_runner(ledger, views, clock, batch=25) for _ in range(2)]

    threads = [threading.Thread(target=r.catch_up) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert {s.name: s.events for s in active_generations(views)} == {
        "caseload": demo,
        "inspections": demo,
        "timeline": demo,
    }
    live = snapshot(views)
    rebuild(runners[0], read_models())
    assert snapshot(views) == live


def test_events_written_while_the_runner_follows_the_log_all_reach_the_read_models(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int, settings: Settings
):
    runner = make_runner(ledger, views, clock, poll_seconds=0.01)
    thread = runner.start()
    cases = writable_cases(ledger)

    def write(worker: int) -> None:
        for i in range(10):
            ledger.append(cases[(worker * 10 + i) % len(cases)], [note(f"w{worker}-{i}")], ACTOR)

    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    head = ledger.head()
    deadline = time.monotonic() + 30
    while min(positions(views).values()) < head and time.monotonic() < deadline:
        time.sleep(0.05)
    runner.stop()
    thread.join(10)

    assert head == demo + 40
    assert positions(views) == {"caseload": head, "inspections": head, "timeline": head}
    assert {s.name: s.events for s in active_generations(views)} == positions(views)
    live = snapshot(views)
    rebuild(make_runner(ledger, views, clock), read_models())
    assert snapshot(views) == live


class BrokenTimeline(Timeline):
    """A timeline whose handler fails on one case."""

    victim: ClassVar[str] = ""

    def rows(self, case: CaseView) -> dict[str, list[Row]]:
        if case.case_id == self.victim:
            raise ValueError("cannot lay out this case")
        return super().rows(case)


def test_a_case_the_handler_fails_on_is_set_aside_and_every_other_case_goes_on(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    first = ledger.log_after(0, 300)[-1]
    victim = first.entry.case_id
    BrokenTimeline.victim = victim
    models = [m for m in read_models() if m.name != "timeline"] + [BrokenTimeline()]
    broken = Runner(ledger, views, models, clock=clock, batch=100, recheck_seconds=0)

    broken.catch_up()  # nothing stops

    found = {g.name: g for g in active_generations(views)}
    assert all((g.position, g.error) == (demo, None) for g in found.values())
    assert (found["timeline"].failing, found["caseload"].failing) == (1, 0)
    [failure] = failing_cases(views, found["timeline"])
    assert failure["case_id"] == victim
    assert "cannot lay out this case" in failure["error"]
    assert failure["event_id"] == ledger.get_case(UUID(victim)).entries[-1].event_id
    assert timeline_rows(views, victim) == 0
    assert timeline_rows(views, ledger.log_after(0, 1)[0].entry.case_id) > 0
    # Check: a restarted runner (the handler fixed) lays the case out and no longer lists it
    make_runner(ledger, views, clock).catch_up()
    found = {g.name: g for g in active_generations(views)}
    assert found["timeline"].failing == 0
    assert timeline_rows(views, victim) > 0
    live = snapshot(views)
    rebuild(make_runner(ledger, views, clock), read_models())
    assert snapshot(views) == live


def timeline_rows(views: ViewDatabase, case_id: str) -> int:
    [row] = views.read(
        "SELECT count(*) AS n FROM caseledger_timeline WHERE case_id = ?", (case_id,)
    )
    return int(row["n"])


class DuplicatingTimeline(Timeline):
    """A timeline whose handler gives one case's rows twice: the database refuses them."""

    victim: ClassVar[str] = ""

    def rows(self, case: CaseView) -> dict[str, list[Row]]:
        rows = super().rows(case)
        if case.case_id == self.victim:
            return {name: table_rows * 2 for name, table_rows in rows.items()}
        return rows


def test_a_case_whose_rows_the_database_refuses_is_set_aside_and_the_others_go_on(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    first = ledger.log_after(0, 300)[-1]
    victim = first.entry.case_id
    DuplicatingTimeline.victim = victim
    models = [m for m in read_models() if m.name != "timeline"] + [DuplicatingTimeline()]
    broken = Runner(ledger, views, models, clock=clock, batch=100, recheck_seconds=0)

    broken.catch_up()

    found = {g.name: g for g in active_generations(views)}
    assert all((g.position, g.error) == (demo, None) for g in found.values())
    [failure] = failing_cases(views, found["timeline"])
    assert failure["case_id"] == victim
    assert "rows refused" in failure["error"]
    assert timeline_rows(views, victim) == 0  # nothing of the refused case was written
    make_runner(ledger, views, clock).catch_up()  # the bug fixed: the case comes back
    assert {g.name: g.failing for g in active_generations(views)}["timeline"] == 0
    live = snapshot(views)
    rebuild(make_runner(ledger, views, clock), read_models())
    assert snapshot(views) == live


def test_events_recorded_while_a_rebuild_runs_reach_its_new_copy(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    case = writable_cases(ledger)[0]
    written: list[int] = []

    def progress(applied: int) -> None:  # after the fill's first transaction: past its head
        if not written:
            [recorded] = ledger.append(case, [note("written during the rebuild")], ACTOR)
            written.append(recorded.position)

    rebuild(make_runner(ledger, views, clock, batch=50), read_models(), progress)

    assert positions(views) == {
        "caseload": written[0],
        "inspections": written[0],
        "timeline": written[0],
    }
    live = snapshot(views)
    rebuild(make_runner(ledger, views, clock), read_models())
    assert snapshot(views) == live


def test_reads_are_served_from_the_live_copy_until_a_rebuild_switches(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    make_runner(ledger, views, clock).catch_up()
    before = snapshot(views)
    seen_during: list[int] = []
    builder = make_runner(ledger, views, clock, batch=50)

    def progress(applied: int) -> None:  # called between the rebuild's batches
        seen_during.append(caseload.query(views, "01", limit=500)[1])

    generations = rebuild(builder, read_models(), progress)

    assert generations == {"caseload": 2, "timeline": 2, "inspections": 2}
    assert len(seen_during) > 3
    assert set(seen_during) == {caseload.query(views, "01", limit=500)[1]}  # never empty
    assert snapshot(views) == before
    assert {s.generation for s in active_generations(views)} == {2}
    assert not views.exists("caseledger_caseload_g1")


def test_a_recheck_overtaken_by_a_round_judges_its_cases_again_from_the_newer_record(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock
):
    case = detected("2023-03-06 21:30")  # residence due by Thursday 09/03
    save(ledger, case)
    clock.set("2023-03-08 12:00")
    make_runner(ledger, views, clock).catch_up()
    clock.set("2023-03-10 08:00")  # the deadline has passed: the scheduler re-judges the case
    other = make_runner(ledger, views, clock)

    class Overtaken(Runner):
        """While this runner judges the case, another one applies a newer event of it."""

        overtaken = False

        def _view(self, *args: Any) -> CaseView:
            if not self.overtaken:
                self.overtaken = True
                save(ledger, verified(case, "2023-03-09 10:00"))
                other.catch_up()
            return super()._view(*args)

    slow = Overtaken(ledger, views, read_models(), clock=clock, recheck_seconds=0)
    [model] = [m for m in slow.models if m.name == "caseload"]

    slow.recheck(model)

    assert slow.overtaken
    [row], _ = caseload.query(views, COMMUNE)
    assert row["version"] == case.case.version == 3  # not the rows judged from version 2
    live = snapshot(views)
    rebuild(make_runner(ledger, views, clock), read_models())
    assert snapshot(views) == live


def indexes(views: ViewDatabase, generation: int) -> set[str]:
    """Each read-model table's key and indexes, without the generation in their names."""
    if views.dialect == "sqlite":
        rows = views.read("SELECT sql FROM sqlite_master WHERE type IN ('table', 'index')")
        found = {r["sql"] for r in rows if r["sql"] and f"_g{generation} " in r["sql"]}
    else:
        rows = views.read(
            "SELECT indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema()"
        )
        found = {r["sql"] for r in rows if f"_g{generation}" in r["sql"]}
    return {sql.replace(f"_g{generation}", "_g") for sql in found}


def test_a_rebuilt_read_model_has_the_keys_and_indexes_of_a_new_one(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    new = indexes(views, 1)

    rebuild(make_runner(ledger, views, clock), read_models())

    assert len(new) >= 12  # a key for each of six tables, and their indexes
    assert indexes(views, 2) == new


HANGS_MID_BATCH = """
import os, sys, time
from infra.cli import main
from projections.db import Tx

rounds, announce = 0, Tx.announce

def announce_then_hang(self):
    global rounds
    announce(self)
    rounds += 1
    if rounds == int(os.environ["HANG_AT_ROUND"]):  # its statements issued, not committed
        open(os.environ["HANG_MARKER"], "w").close()
        time.sleep(600)

Tx.announce = announce_then_hang  # a round announces last, just before it commits
sys.argv = ["caseledger", "projections", "run"]
main()
"""


def test_killing_the_runner_process_mid_batch_then_restarting_gives_the_same_rows(
    ledger: CaseLedger,
    views: ViewDatabase,
    clock: Clock,
    demo: int,
    settings: Settings,
    tmp_path: Any,
):
    marker = tmp_path / "in-the-transaction"
    env = {
        **os.environ,
        "CASELEDGER_DATABASE_URL": settings.database_url,
        "CASELEDGER_DATABASE_SCHEMA": settings.database_schema,
        "CASELEDGER_EVALUATE_AS_OF": clock.now.isoformat(),
        "CASELEDGER_PROJECTION_BATCH": "40",
        "CASELEDGER_LOG_LEVEL": "WARNING",
        "HANG_AT_ROUND": "4",
        "HANG_MARKER": str(marker),
    }
    process = subprocess.Popen([sys.executable, "-c", HANGS_MID_BATCH], env=env)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    assert marker.exists(), "the runner never reached the fourth round's commit"

    process.send_signal(signal.SIGKILL)
    process.wait(10)

    at_kill = positions(views)
    assert min(at_kill.values()) > 0 and max(at_kill.values()) < demo  # killed part way
    command = [os.path.join(os.path.dirname(sys.executable), "caseledger"), "projections", "run"]
    restarted = subprocess.Popen(command, env=env)
    try:
        while min(positions(views).values()) < demo and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(15)
    assert {s.name: s.events for s in active_generations(views)} == {
        "caseload": demo,
        "inspections": demo,
        "timeline": demo,
    }
    after_restart = snapshot(views)
    rebuild(make_runner(ledger, views, clock), read_models())
    assert snapshot(views) == after_restart


def test_the_case_book_loads_a_case_whole_when_the_log_shows_only_its_later_events(
    ledger: CaseLedger, demo: int
):
    from projections.feed import CaseBook, Feed

    book = CaseBook(ledger, size=3)
    feed = Feed(ledger, book)
    middle = feed.after(demo // 2, 500)  # starts inside cases, and fills the book past its size

    for entry in (logged.entry for logged in middle):
        entries = book.entries(entry.case_id, entry.version)
        stored = ledger.get_case(UUID(entry.case_id)).entries[: entry.version]
        assert [e.event_id for e in entries] == [e.event_id for e in stored]


def test_a_rebuild_shared_by_worker_processes_gives_the_same_rows(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int, settings: Settings
):
    make_runner(ledger, views, clock).catch_up()
    live = snapshot(views)
    builder = make_runner(ledger, views, clock, batch=100)  # 5 cases a transaction

    rebuild(builder, read_models(), workers=2, ledger_factory=partial(build_application, settings))

    assert snapshot(views) == live
    assert {s.position for s in active_generations(views)} == {demo}


def test_events_recorded_after_the_runners_clock_are_judged_all_the_same(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    clock.set("2015-01-01 00:00")  # a runner whose clock lags every writer's

    make_runner(ledger, views, clock).catch_up()

    [row] = views.read("SELECT count(*) AS n FROM caseledger_timeline")
    assert row["n"] >= demo  # every event is a step of its case's timeline


def test_a_second_rebuild_while_one_runs_is_refused(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    from projections.rebuild import RebuildRunning, _one_rebuild_at_a_time

    with _one_rebuild_at_a_time(views), pytest.raises(RebuildRunning):
        rebuild(make_runner(ledger, views, clock), read_models())

    assert {s.generation for s in active_generations(views)} == {1}


def test_the_store_being_away_does_not_stop_a_read_model(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    from eventsourcing.persistence import OperationalError

    runner = make_runner(ledger, views, clock, batch=50)
    runner.book.entries = lambda *_: (_ for _ in ()).throw(OperationalError("server closed"))

    with pytest.raises(OperationalError):
        runner.run_once()

    assert runner.failed == {}
    assert all(s.error is None and s.position == 0 for s in active_generations(views))
    make_runner(ledger, views, clock).catch_up()  # back: it goes on
    assert {s.position for s in active_generations(views)} == {demo}


@pytest.mark.parametrize("where", ["the log", "a case's earlier events"])
def test_an_event_that_cannot_be_read_stops_every_read_model_loudly(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int, where: str
):
    runner = make_runner(ledger, views, clock)
    unreadable = lambda *_: (_ for _ in ()).throw(ValueError("no upcaster for v3"))  # noqa: E731
    if where == "the log":
        runner.feed.after = unreadable
    else:
        runner.book.load = unreadable

    assert runner.run_once() == 0

    assert set(runner.failed) == {"caseload", "inspections", "timeline"}
    assert all("no upcaster for v3" in (s.error or "") for s in active_generations(views))


def test_a_runner_starting_on_a_long_log_fills_its_new_read_models_case_by_case(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int
):
    make_runner(ledger, views, clock).catch_up()
    followed = snapshot(views)
    runner = make_runner(ledger, views, clock)
    runner.fill_from = 1  # this log counts as long
    # as if the read models were new: back to position 0, no rows
    for state in active_generations(views):
        with views.transaction() as tx:
            tx.execute(
                "UPDATE caseledger_projections SET position = 0, events = 0 WHERE name = ?",
                (state.name,),
            )
            for table in next(m for m in read_models() if m.name == state.name).all_tables:
                tx.execute(f"DELETE FROM {table.physical(state.generation)}")

    thread = runner.start()
    deadline = time.monotonic() + 60
    while min(positions(views).values()) < demo and time.monotonic() < deadline:
        time.sleep(0.05)
    runner.stop()
    thread.join(10)

    # filled by a rebuild, not followed
    assert {s.generation for s in active_generations(views)} == {2}
    assert snapshot(views) == followed


@pytest.mark.parametrize("store", ["postgres"])
def test_a_reader_waiting_for_its_write_wakes_when_the_runner_applies_it_not_at_a_poll(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int, monkeypatch: Any
):
    # polls so slow that only the runner's announcement can wake the reader within the test
    monkeypatch.setattr(freshness, "POLL_SECONDS", 60.0)
    monkeypatch.setattr(freshness, "LISTENING_SECONDS", 60.0)
    notices = Notices(views.listen_conninfo(), [views_channel(views.settings)])
    runner = make_runner(ledger, views, clock)
    runner.catch_up()
    case = writable_cases(ledger)[0]
    [recorded] = ledger.append(case, [note("after the read model caught up")], ACTOR)
    woke: list[bool] = []
    reader = threading.Thread(
        target=lambda: woke.append(wait_for(views, notices, ["caseload"], recorded.position, 30.0))
    )
    waiting = threading.Event()
    wait = Notices.wait

    def waits(self: Notices, channel: str | None, mark: int, *args: Any) -> None:
        if self.listening:
            waiting.set()
        wait(self, channel, mark, *args)

    monkeypatch.setattr(Notices, "wait", waits)
    try:
        reader.start()
        assert waiting.wait(20), "the reader never waited for an announcement"
        runner.run_once()
        reader.join(20)
    finally:
        notices.close()

    assert not reader.is_alive(), "the reader slept through the runner's announcement"
    assert woke == [True]


def test_the_rebuild_command_switches_one_read_model_and_status_reports_every_one(
    ledger: CaseLedger,
    views: ViewDatabase,
    clock: Clock,
    demo: int,
    settings: Settings,
    monkeypatch: Any,
):
    from typer.testing import CliRunner

    from infra.cli import cli

    monkeypatch.setenv("CASELEDGER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CASELEDGER_EVALUATE_AS_OF", clock.now.isoformat())
    monkeypatch.setenv("CASELEDGER_LOG_LEVEL", "WARNING")
    make_runner(ledger, views, clock).catch_up()
    live = snapshot(views)

    rebuilt = CliRunner().invoke(cli, ["projections", "rebuild", "timeline", "--workers", "1"])
    status = CliRunner().invoke(cli, ["projections", "status"])

    assert rebuilt.exit_code == 0, rebuilt.output
    assert "rebuilt and switched: timeline (generation 2)" in rebuilt.output
    assert {s.name: s.generation for s in active_generations(views)} == {
        "caseload": 1,
        "inspections": 1,
        "timeline": 2,
    }
    assert snapshot(views) == live
    assert status.exit_code == 0, status.output
    assert "runner: NOT RUNNING" in status.output
    assert f"timeline: generation 2, position {demo} of {demo} (lag 0 events)" in status.output
    assert f"caseload: generation 1, position {demo} of {demo} (lag 0 events)" in status.output


@pytest.mark.parametrize("store", ["postgres"])
def test_a_runner_waiting_for_the_log_wakes_when_an_event_is_sequenced_not_at_a_poll(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, demo: int, monkeypatch: Any
):
    from projections import runner as runner_module

    # only a NOTIFY can wake it in time
    monkeypatch.setattr(runner_module, "LISTENING_SECONDS", 60.0)
    waiting = threading.Event()
    wait = Notices.wait

    def waits(self: Notices, channel: str | None, mark: int, *args: Any) -> None:
        if self.listening:
            waiting.set()
        wait(self, channel, mark, *args)

    monkeypatch.setattr(Notices, "wait", waits)
    runner = make_runner(ledger, views, clock)
    runner.catch_up()
    thread = runner.start()
    try:
        assert waiting.wait(20), "the runner never waited for the log"
        case = writable_cases(ledger)[0]
        [recorded] = ledger.append(case, [note("while the runner waits")], ACTOR)
        deadline = time.monotonic() + 20
        while min(positions(views).values()) < recorded.position:
            assert time.monotonic() < deadline, "the runner slept through the sequencer's NOTIFY"
            time.sleep(0.02)
    finally:
        runner.stop()
        thread.join(20)
    assert not thread.is_alive()
    assert min(positions(views).values()) >= recorded.position


def test_the_same_events_give_the_same_rows_on_sqlite_and_on_postgresql(
    tmp_path: Any, pg_schema: str, clock: Clock
):
    from infra.store import build_application
    from projections.generations import ensure
    from tests.conftest import pg_url

    clock.set(AS_OF)
    found = []
    for settings in (
        Settings(environment="test", database_url=f"sqlite:///{tmp_path}/ledger.sqlite3"),
        Settings(environment="test", database_url=pg_url(), database_schema=pg_schema),
    ):
        ledger = build_application(settings)
        views = ViewDatabase(settings, pool_size=2)
        try:
            generate(ledger, people=20, seed=11)  # the same life courses, ids and all
            ensure(views, read_models())
            make_runner(ledger, views, clock, batch=97).catch_up()
            found.append(snapshot(views))
        finally:
            views.close()
            ledger.close()
    on_sqlite, on_postgres = found

    assert sum(len(rows) for rows in on_sqlite.values()) > 500
    for table, rows in on_sqlite.items():
        assert rows == on_postgres[table], table


@pytest.mark.parametrize("store", ["postgres"])
def test_a_runner_whose_lock_session_is_cut_takes_its_lock_again(
    ledger: CaseLedger, views: ViewDatabase, clock: Clock, monkeypatch: Any
):
    from projections import presence

    monkeypatch.setattr(presence, "CHECK_SECONDS", 0.05)
    runner = make_runner(ledger, views, clock)
    thread = runner.start()

    def seen() -> bool:
        deadline = time.monotonic() + 20
        while not presence.running(views):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    try:
        assert seen(), "the runner never showed"
        key = presence.lock_key(views)
        with views.transaction() as tx:  # as a restart of PostgreSQL would, for this session
            tx.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 2",
                key,
            )
        deadline = time.monotonic() + 10
        while presence.running(views) and time.monotonic() < deadline:
            time.sleep(0.01)
        cut = not presence.running(views)
        back = seen()
    finally:
        runner.stop()
        thread.join(10)

    assert cut, "the lock's session was not cut"
    assert back, "the runner did not take its lock again"
    assert not thread.is_alive()


def writable_cases(ledger: CaseLedger) -> list[UUID]:
    """The demo's cases that still record (not those whose person's data it erased)."""
    logged = ledger.log_after(0, 5000)
    erased = {n.entry.case_id for n in logged if n.entry.type == "PersonalDataErased"}
    return sorted({UUID(n.entry.case_id) for n in logged if n.entry.case_id not in erased})
