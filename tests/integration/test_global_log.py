"""The global log: totally ordered, gap-safe, every committed event exactly once.

A reader follows the log (``select_notifications`` after its last position, what projections
and ``GET /v1/events`` do) while many writers append to different cases, from several
applications on one store (several processes). On PostgreSQL one transaction starts first and
commits only after others have committed: the reader must still see it, once, in the log's
order, and never find it behind a position it has already passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.application import CaseLedger
from domain.case import Case, NewEvent
from infra.settings import Settings
from infra.store import build_application
from tests.conftest import pg_url
from tests.integration.stories import ACTOR, START, note, opening
from tests.tokens import bearer

WRITERS = 8
APPENDS_PER_WRITER = 25
PAGE = 7  # a small page, so that the reader takes many steps


class Tail:
    """Follows the log from the start, checking each position follows the one before."""

    def __init__(self, ledger: CaseLedger) -> None:
        self.ledger = ledger
        self.seen: list[tuple[int, str]] = []
        self.out_of_order: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.follow)
        self.thread.start()

    @property
    def last(self) -> int:
        return self.seen[-1][0] if self.seen else 0

    def follow(self) -> None:
        while True:
            finishing = self.done.is_set()
            page = self.ledger.log_after(self.last, PAGE)
            for n in page:
                if n.position != self.last + 1:
                    self.out_of_order.append(f"position {n.position} after {self.last}")
                self.seen.append((n.position, n.entry.event_id))
            if not page:
                if finishing:
                    return
                time.sleep(0.001)

    def finish(self) -> list[tuple[int, str]]:
        self.done.set()
        self.thread.join(timeout=60)
        return self.seen


def write_concurrently(ledgers: list[CaseLedger], case_ids: list[UUID]) -> list[str]:
    """WRITERS threads spread over the ledgers, each appending to its own cases."""
    written: list[str] = []
    lock = threading.Lock()
    errors: list[Exception] = []

    def writer(k: int) -> None:
        ledger = ledgers[k % len(ledgers)]
        for i in range(APPENDS_PER_WRITER):
            try:
                [r] = ledger.append(
                    case_ids[(k + i * WRITERS) % len(case_ids)], [note(f"{k}.{i}")], ACTOR
                )
            except Exception as e:
                errors.append(e)
                return
            with lock:
                written.append(r.event_id)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    return written


@pytest.fixture
def ledgers(settings: Settings) -> Iterator[list[CaseLedger]]:
    """Three applications on one store: two writing processes and one reading."""
    apps = [build_application(settings) for _ in range(3)]
    yield apps
    for app in apps:
        app.close()


def all_event_ids(ledger: CaseLedger) -> list[str]:
    return [n.entry.event_id for n in ledger.log_after(0, 10**6)]


def test_a_tailing_reader_sees_every_committed_event_once_in_log_order(
    ledgers: list[CaseLedger],
) -> None:
    writer_a, writer_b, reader = ledgers
    case_ids = [writer_a.open_case(opening(), ACTOR).case_id for _ in range(2 * WRITERS)]
    tail = Tail(reader)

    written = write_concurrently([writer_a, writer_b], case_ids)

    seen = tail.finish()
    assert tail.out_of_order == []
    assert [p for p, _ in seen] == list(range(1, len(seen) + 1))
    assert len(seen) == len(case_ids) + WRITERS * APPENDS_PER_WRITER
    assert set(written) <= {e for _, e in seen}
    assert [e for _, e in seen] == all_event_ids(reader)


@pytest.fixture
def pg_settings(pg_schema: str) -> Settings:
    return Settings(environment="test", database_url=pg_url(), database_schema=pg_schema)


@pytest.fixture
def pg_ledgers(pg_settings: Settings) -> Iterator[list[CaseLedger]]:
    apps = [build_application(pg_settings) for _ in range(3)]
    yield apps
    for app in apps:
        app.close()


def test_an_event_committed_after_later_ones_is_seen_once_and_in_order(
    pg_settings: Settings, pg_ledgers: list[CaseLedger]
) -> None:
    """PostgreSQL only: on SQLite one writer at a time, so no commit overtakes another."""
    settings = pg_settings
    writer_a, writer_b, reader = pg_ledgers
    case_ids = [writer_a.open_case(opening(), ACTOR).case_id for _ in range(2 * WRITERS)]
    events_before = len(all_event_ids(reader))
    slow = SlowTransaction(settings, writer_a, overtaken_by=WRITERS * 4)
    tail = Tail(reader)

    written = write_concurrently([writer_a, writer_b], case_ids)

    slow.thread.join(timeout=60)
    seen = tail.finish()
    assert slow.error is None, slow.error
    # Check the slow transaction started first and was overtaken by later ones
    assert slow.overtaken >= WRITERS * 4
    # Check the reader saw everything once, without a gap, in the log's order
    assert tail.out_of_order == []
    assert [p for p, _ in seen] == list(range(1, len(seen) + 1))
    event_ids = [e for _, e in seen]
    assert len(event_ids) == len(set(event_ids)) == events_before + len(written) + 1
    assert slow.event_id in event_ids
    assert event_ids == all_event_ids(reader)
    # Check it is ordered before the events of transactions that started after it
    overtakers = set(slow.committed_while_open)
    assert overtakers
    assert all(event_ids.index(slow.event_id) < event_ids.index(e) for e in overtakers)


class SlowTransaction:
    """Opens a case in a transaction that starts now and commits after ``overtaken_by`` other
    events have committed (as a writer stalled between its insert and its commit would)."""

    def __init__(self, settings: Settings, ledger: CaseLedger, overtaken_by: int) -> None:
        self.settings, self.ledger, self.needed = settings, ledger, overtaken_by
        self.error: BaseException | None = None
        self.overtaken = 0
        self.committed_while_open: list[str] = []
        case = Case.open(uuid4(), opening(), ACTOR, datetime.now(UTC))
        stored = ledger.mapper.to_stored_event(case.collect_events()[0])
        self.event_id = stored.event_id  # type: ignore[attr-defined]
        self.params = ledger.recorder._row_params(stored)  # type: ignore[attr-defined]
        self.key = stored.data_key  # type: ignore[attr-defined]  # the person's, stored with it
        self.started = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()
        assert self.started.wait(10)

    def run(self) -> None:
        schema = self.settings.database_schema
        recorder = self.ledger.recorder
        try:
            with psycopg.connect(pg_url()) as conn, psycopg.connect(pg_url()) as watcher:
                before = self.committed(watcher, schema)
                conn.execute("SELECT pg_current_xact_id()")  # this transaction starts first
                key = (self.key.case_id, self.key.kek_id, self.key.wrapped)
                conn.execute(recorder.key_statements["insert_key"], key)  # type: ignore[attr-defined]
                conn.execute(recorder.insert_row_statement, self.params)  # type: ignore[attr-defined]
                self.started.set()
                deadline = time.monotonic() + 30
                while len(self.committed(watcher, schema)) - len(before) < self.needed:
                    assert time.monotonic() < deadline, "the writers did not overtake"
                    time.sleep(0.005)
                overtakers = self.committed(watcher, schema) - before
                conn.commit()
            self.overtaken = len(overtakers)
            self.committed_while_open = sorted(overtakers)
        except BaseException as e:
            self.error = e
            self.started.set()

    @staticmethod
    def committed(conn: psycopg.Connection, schema: str) -> set[str]:
        rows = conn.execute(f'SELECT event_id FROM "{schema}".caseledger_events').fetchall()
        conn.commit()
        return {r[0] for r in rows}


def test_events_are_served_from_the_log_in_pages_and_by_type(
    settings: Settings, ledger: CaseLedger
) -> None:
    headers = bearer("subscriber", "01", "feed-1")
    case_id = ledger.open_case(opening(), ACTOR).case_id
    for i in range(4):
        ledger.append(case_id, [note(f"visit {i}")], ACTOR)
    ledger.append(
        case_id,
        [NewEvent.parse("CaseClosed", START + timedelta(days=2), {"reason": "moved_away"})],
        ACTOR,
    )

    with TestClient(create_app(settings, ledger)) as client:
        first = client.get("/v1/events?limit=2", headers=headers).json()
        rest = client.get(f"/v1/events?after={first['next_after']}", headers=headers).json()
        lifecycle = client.get("/v1/events?types=CaseOpened,CaseClosed", headers=headers).json()
        unknown = client.get("/v1/events?types=CaseOpened,Nonsense", headers=headers)
        too_many = client.get("/v1/events?limit=5000", headers=headers)
        anonymous = client.get("/v1/events")

    assert [e["position"] for e in first["events"]] == [1, 2]
    assert [e["position"] for e in rest["events"]] == [3, 4, 5, 6]
    assert rest["next_after"] == 6
    assert [e["type"] for e in lifecycle["events"]] == ["CaseOpened", "CaseClosed"]
    opened = first["events"][0]
    assert opened["case_id"] == str(case_id) and opened["actor"]["id"] == "officer-17"
    assert opened["hash"] == ledger.seals(case_id)[1].hash
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "types"
    assert "Nonsense" in unknown.json()["detail"]
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "limit"
    assert anonymous.status_code == 401


def test_several_processes_may_start_on_a_new_store_at_once(settings: Settings) -> None:
    started: list[CaseLedger] = []
    errors: list[Exception] = []
    gate = threading.Barrier(4)

    def start() -> None:
        gate.wait(timeout=10)
        try:
            started.append(build_application(settings))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    try:
        assert errors == []
        opened = started[0].open_case(opening(), ACTOR)
        assert started[-1].get_case(opened.case_id).version == 1
    finally:
        for app in started:
            app.close()


def test_verifying_while_writers_append_finds_a_healthy_store_healthy(
    ledgers: list[CaseLedger],
) -> None:
    writer_a, writer_b, inspector = ledgers
    case_ids = [writer_a.open_case(opening(), ACTOR).case_id for _ in range(2 * WRITERS)]
    reports = []
    done = threading.Event()

    def inspect() -> None:
        while not done.is_set():
            reports.append(inspector.verify())

    thread = threading.Thread(target=inspect)
    thread.start()
    try:
        write_concurrently([writer_a, writer_b], case_ids)
    finally:
        done.set()
        thread.join()

    assert len(reports) >= 2
    assert [r.summary() for r in reports if not r.ok] == []
