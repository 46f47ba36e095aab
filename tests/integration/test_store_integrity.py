"""The audit-grade store on SQLite and PostgreSQL: envelope columns, hash chain, append-only
tables, and verification that finds and locates tampering.

The tampering is done as an attacker with the database owner's rights would do it: disable the
append-only triggers, then change or remove rows directly, without recomputing any hash.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import PersistenceError, ProgrammingError
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from domain.application import CaseLedger
from infra.cli import cli
from infra.settings import Settings
from infra.store import build_application
from tests.conftest import pg_url
from tests.integration.stories import ACTOR, note, opening
from tests.tokens import bearer

EVENTS = "caseledger_events"
LOG = "caseledger_log"
STORE_TABLES = (EVENTS, LOG, f"{LOG}_tree", f"{LOG}_checkpoints", f"{LOG}_cosignatures")


def case_with_notes(ledger: CaseLedger, notes: int) -> UUID:
    case_id = ledger.open_case(opening(), ACTOR).case_id
    for i in range(notes):
        ledger.append(case_id, [note(f"visit {i}")], ACTOR)
    return case_id


class Database:
    """Raw access to the store's tables, as the owner, with the append-only triggers off."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sqlite = settings.store == "sqlite"

    @property
    def mark(self) -> str:
        return "?" if self.sqlite else "%s"

    def key(self, case_id: UUID) -> Any:
        return str(case_id) if self.sqlite else case_id

    @staticmethod
    def _sqlite_triggers_off(conn: sqlite3.Connection) -> None:
        for table in STORE_TABLES:
            for op in ("update", "delete"):
                conn.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_{op}")

    def run(self, statement: str, params: tuple[Any, ...] = (), *, triggers: bool = False) -> Any:
        """Execute one statement; with ``triggers=False`` the append-only triggers are off."""
        if self.sqlite:
            conn = sqlite3.connect(self.settings.database_url.removeprefix("sqlite:///"))
            try:
                if not triggers:
                    self._sqlite_triggers_off(conn)
                rows = conn.execute(statement, params).fetchall()
                conn.commit()
                return rows
            finally:
                conn.close()
        with psycopg.connect(pg_url(), autocommit=False) as conn:
            conn.execute(f'SET search_path TO "{self.settings.database_schema}"')
            if not triggers:
                for table in STORE_TABLES:
                    conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            cursor = conn.execute(statement, params)
            rows = cursor.fetchall() if cursor.description else []
            if not triggers:
                for table in STORE_TABLES:
                    conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
            conn.commit()
            return rows

    def row(self, case_id: UUID, version: int, columns: str) -> tuple[Any, ...]:
        m = self.mark
        [row] = self.run(
            f"SELECT {columns} FROM {EVENTS} WHERE case_id={m} AND version={m}",
            (self.key(case_id), version),
            triggers=True,
        )
        return tuple(row)


@pytest.fixture
def db(settings: Settings, ledger: CaseLedger) -> Database:
    return Database(settings)


def event_id_of(ledger: CaseLedger, case_id: UUID, version: int) -> str:
    return ledger.get_case(case_id).entries[version - 1].event_id


# --- the envelope in the store ---------------------------------------------------------------


def test_each_event_is_stored_with_its_envelope_beside_the_payload(
    ledger: CaseLedger, db: Database
) -> None:
    case_id = ledger.open_case(opening(), ACTOR).case_id

    [recorded] = ledger.append(case_id, [note("first visit")], ACTOR)

    row = db.row(
        case_id,
        2,
        "event_id, type, schema_version, occurred_at, recorded_at, actor, payload, hash",
    )
    entry = ledger.get_case(case_id).entries[1]
    event_id, type_, schema_version, occurred_at, recorded_at, actor, payload, digest = row
    assert event_id == recorded.event_id == entry.event_id
    assert (type_, schema_version) == ("NoteAdded", 1)
    if isinstance(occurred_at, str):
        occurred_at, recorded_at = map(datetime.fromisoformat, (occurred_at, recorded_at))
    assert occurred_at == entry.occurred_at and recorded_at == entry.recorded_at
    assert actor == '{"id":"officer-17","role":"commune_police","unit":"01.004.00127"}'
    assert b'"sensitivity":"normal"' in bytes(payload)
    assert b"first visit" not in bytes(payload)  # personal: stored encrypted
    assert len(bytes(digest)) == 32


def test_queries_by_event_id_case_and_time_are_indexed(db: Database) -> None:
    if db.sqlite:
        rows = db.run(
            "SELECT sql FROM sqlite_master WHERE tbl_name=? AND sql IS NOT NULL", (EVENTS,)
        )
        schema = " ".join(r[0] for r in rows)
        assert "event_id TEXT NOT NULL UNIQUE" in schema
        assert "UNIQUE (case_id, version)" in schema
    else:
        rows = db.run("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (EVENTS,))
        schema = " ".join(r[0] for r in rows)
        assert "(event_id)" in schema and "(case_id, version)" in schema
    assert "(recorded_at)" in schema and "(occurred_at)" in schema


# --- the hash chain ----------------------------------------------------------------------


def spec_hash(previous: bytes, row: dict[str, Any]) -> bytes:
    """The chain as the README and ``domain/integrity.py`` specify it, written out again."""
    fields = [
        b"caseledger/1",
        row["event_id"].encode(),
        str(row["case_id"]).encode(),
        str(row["version"]).encode(),
        row["type"].encode(),
        str(row["schema_version"]).encode(),
        row["occurred_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode(),
        row["recorded_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode(),
        row["actor"].encode(),
        row["payload"],
    ]
    canonical = b"".join(len(f).to_bytes(8, "big") + f for f in fields)
    return hashlib.sha256(previous + canonical).digest()


def test_history_shows_each_hash_chained_from_genesis_over_the_stored_bytes(
    settings: Settings, ledger: CaseLedger, db: Database
) -> None:
    case_id = case_with_notes(ledger, 2)

    with TestClient(create_app(settings, ledger)) as client:
        history = client.get(f"/v1/cases/{case_id}/history", headers=bearer()).json()["events"]

    previous = hashlib.sha256(b"caseledger genesis").digest()
    for event in history:
        actor, payload = db.row(case_id, event["version"], "actor, payload")
        expected = spec_hash(
            previous,
            {
                **event,
                "occurred_at": datetime.fromisoformat(event["occurred_at"]),
                "recorded_at": datetime.fromisoformat(event["recorded_at"]),
                "actor": actor,
                "payload": bytes(payload),
            },
        )
        assert event["hash"] == expected.hex()
        previous = expected


# --- append-only -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {EVENTS} SET actor = 'someone else'",
        f"DELETE FROM {EVENTS}",
        f"UPDATE {LOG} SET position = position + 1",
        f"DELETE FROM {LOG}",
    ],
)
def test_the_database_refuses_to_change_or_remove_recorded_events(
    ledger: CaseLedger, db: Database, statement: str
) -> None:
    case_with_notes(ledger, 1)
    before = ledger.verify()

    with pytest.raises((sqlite3.IntegrityError, psycopg.Error), match="append-only"):
        db.run(statement, triggers=True)

    after = ledger.verify()
    assert after.ok and after.events == before.events == 2


def test_truncating_the_events_table_is_refused(
    pg_ledger: tuple[CaseLedger, Database],
) -> None:
    ledger, db = pg_ledger
    case_with_notes(ledger, 1)

    with pytest.raises(psycopg.Error, match="append-only: TRUNCATE refused"):
        db.run(f"TRUNCATE {EVENTS} CASCADE", triggers=True)

    assert ledger.verify().events == 2


# --- verification --------------------------------------------------------------------------


def test_an_untouched_store_verifies(ledger: CaseLedger) -> None:
    for notes in (0, 3, 5):
        case_with_notes(ledger, notes)

    report = ledger.verify()

    assert report.ok
    assert report.summary().startswith("verified 11 events in 3 cases")
    assert report.head_position == 11


def test_writes_go_on_while_whole_store_verifications_hold_their_scans_open(
    store: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    """A whole-store verification reads on a connection of its own: even more of them than the
    pool has connections, all held open mid-scan, take none that a write needs."""
    settings = (
        Settings(environment="test", database_url=f"sqlite:///{tmp_path}/ledger.sqlite3")
        if store == "sqlite"
        else Settings(
            environment="test",
            database_url=pg_url(),
            database_schema=request.getfixturevalue("pg_schema"),
            pool_size=1,  # at most 2 pooled connections
        )
    )
    ledger = build_application(settings)
    case_id = case_with_notes(ledger, 2)
    scanning, release = threading.Barrier(7), threading.Event()

    def hold(done: int) -> None:
        scanning.wait(timeout=20)
        release.wait(timeout=20)

    verifications = [
        threading.Thread(target=ledger.verify, kwargs={"progress": hold}) for _ in range(6)
    ]
    for thread in verifications:
        thread.start()
    try:
        scanning.wait(timeout=20)  # all six are inside their scans
        started = time.monotonic()
        ledger.append(case_id, [note("written meanwhile")], ACTOR)
        waited = time.monotonic() - started
    finally:
        release.set()
        for thread in verifications:
            thread.join(timeout=20)
        ledger.close()

    assert waited < 3, f"the write waited {waited:.1f} s for a connection"


def test_a_changed_payload_byte_is_detected_and_located(ledger: CaseLedger, db: Database) -> None:
    case_id = case_with_notes(ledger, 3)
    [payload] = db.row(case_id, 2, "payload")
    altered = bytes(payload).replace(b'"normal"', b'"xormal"')
    assert altered != bytes(payload)
    m = db.mark

    db.run(
        f"UPDATE {EVENTS} SET payload={m} WHERE case_id={m} AND version=2",
        (altered, db.key(case_id)),
    )

    report = ledger.verify()
    assert not report.ok
    first = report.first_broken
    assert (first.kind, first.case_id, first.version) == ("hash_mismatch", case_id, 2)
    assert first.event_id == event_id_of(ledger, case_id, 2)
    assert report.problem_count == 1


def test_a_changed_actor_is_detected_and_located(ledger: CaseLedger, db: Database) -> None:
    case_with_notes(ledger, 2)
    case_id = case_with_notes(ledger, 2)
    m = db.mark

    db.run(
        f"UPDATE {EVENTS} SET actor={m} WHERE case_id={m} AND version=3",
        ('{"id":"someone-else","role":"commune_police","unit":"01.004.00127"}', db.key(case_id)),
    )

    first = ledger.verify(case_id).first_broken
    assert (first.kind, first.case_id, first.version) == ("hash_mismatch", case_id, 3)
    assert first.event_id == event_id_of(ledger, case_id, 3)


def test_removing_the_last_event_of_a_case_is_detected_and_located(
    ledger: CaseLedger, db: Database
) -> None:
    case_id = case_with_notes(ledger, 3)
    removed = event_id_of(ledger, case_id, 4)
    case_with_notes(ledger, 1)
    m = db.mark

    db.run(f"DELETE FROM {EVENTS} WHERE case_id={m} AND version=4", (db.key(case_id),))

    report = ledger.verify()
    first = report.first_broken
    assert (first.kind, first.case_id, first.version) == ("event_missing", case_id, 4)
    assert first.event_id == removed and first.position is not None
    assert "BROKEN" in report.summary() and removed in report.summary()


def test_removing_a_middle_event_is_detected_and_located(ledger: CaseLedger, db: Database) -> None:
    case_id = case_with_notes(ledger, 3)
    removed = event_id_of(ledger, case_id, 2)
    m = db.mark

    db.run(f"DELETE FROM {EVENTS} WHERE case_id={m} AND version=2", (db.key(case_id),))

    report = ledger.verify()
    first = report.first_broken
    assert (first.case_id, first.version, first.event_id) == (case_id, 2, removed)
    kinds = {(p.kind, p.version) for p in report.problems}
    assert {("version_gap", 2), ("event_missing", 2), ("hash_mismatch", 3)} <= kinds


def test_removing_an_event_and_its_log_entry_leaves_a_gap_in_the_log(
    ledger: CaseLedger, db: Database
) -> None:
    case_id = case_with_notes(ledger, 2)
    position = ledger.positions(case_id)[3]
    case_with_notes(ledger, 1)
    m = db.mark

    db.run(f"DELETE FROM {EVENTS} WHERE case_id={m} AND version=3", (db.key(case_id),))
    db.run(f"DELETE FROM {LOG} WHERE position={m}", (position,))

    report = ledger.verify()
    assert [(p.kind, p.position) for p in report.problems] == [("log_gap", position)]


def test_swapped_payloads_are_detected_at_the_first_of_the_two(
    ledger: CaseLedger, db: Database
) -> None:
    case_id = case_with_notes(ledger, 3)
    first_of_the_two = event_id_of(ledger, case_id, 2)
    [second] = db.row(case_id, 2, "payload")
    [third] = db.row(case_id, 3, "payload")
    m = db.mark

    for version, payload in ((2, third), (3, second)):
        db.run(
            f"UPDATE {EVENTS} SET payload={m} WHERE case_id={m} AND version={m}",
            (bytes(payload), db.key(case_id), version),
        )

    report = ledger.verify()
    assert [(p.kind, p.version) for p in report.problems] == [
        ("hash_mismatch", 2),
        ("hash_mismatch", 3),
    ]
    assert report.first_broken.event_id == first_of_the_two


def test_verification_of_one_case_ignores_damage_elsewhere(
    ledger: CaseLedger, db: Database
) -> None:
    intact = case_with_notes(ledger, 2)
    damaged = case_with_notes(ledger, 2)
    m = db.mark

    db.run(f"DELETE FROM {EVENTS} WHERE case_id={m} AND version=2", (db.key(damaged),))

    assert ledger.verify(intact).summary() == "verified 3 events in 1 cases"
    assert not ledger.verify(damaged).ok


# --- the command and the route ------------------------------------------------------------


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CASELEDGER_LOG_JSON", "true")
    yield


def test_the_verify_command_reports_a_verified_store_or_the_first_broken_link(
    ledger: CaseLedger, db: Database, env: None
) -> None:
    case_id = case_with_notes(ledger, 2)
    runner = CliRunner()

    clean = runner.invoke(cli, ["verify"])
    one = runner.invoke(cli, ["verify", "--case", str(case_id)])
    m = db.mark
    db.run(f"UPDATE {EVENTS} SET actor='{{}}' WHERE case_id={m} AND version=2", (db.key(case_id),))
    broken = runner.invoke(cli, ["verify"])

    assert clean.exit_code == 0 and clean.output.startswith("verified 3 events in 1 cases")
    assert len(clean.output.splitlines()) == 1  # not a terminal: the summary line only
    assert one.exit_code == 0 and one.output.startswith("verified 3 events in 1 cases")
    assert broken.exit_code == 1
    assert f"hash_mismatch at case {case_id}, version 2" in broken.output


def test_the_verify_route_reports_the_first_broken_link(
    settings: Settings, ledger: CaseLedger, db: Database
) -> None:
    case_id = case_with_notes(ledger, 2)
    headers = bearer("inspector", "01", "inspector-1")
    m = db.mark

    with TestClient(create_app(settings, ledger)) as client:
        clean = client.get("/v1/audit/verify", headers=headers).json()
        db.run(f"DELETE FROM {EVENTS} WHERE case_id={m} AND version=3", (db.key(case_id),))
        broken = client.get(f"/v1/audit/verify?case_id={case_id}", headers=headers).json()
        unknown = client.get(f"/v1/audit/verify?case_id={UUID(int=7)}", headers=headers)
        bad = client.get("/v1/audit/verify?case_id=not-a-uuid", headers=headers)

    assert clean["ok"] and clean["summary"].startswith("verified 3 events in 1 cases")
    assert not broken["ok"]
    assert broken["first_broken"]["kind"] == "event_missing"
    assert broken["first_broken"]["case_id"] == str(case_id)
    assert broken["first_broken"]["version"] == 3
    assert unknown.status_code == 404
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "case_id"


# --- the log's own chain ----------------------------------------------------------------


def test_a_case_rewritten_with_recomputed_hashes_is_caught_by_the_log_seal(
    ledger: CaseLedger, db: Database
) -> None:
    case_id = case_with_notes(ledger, 2)
    case_with_notes(ledger, 1)
    seals = ledger.seals(case_id)
    rewritten = event_id_of(ledger, case_id, 3)
    occurred_at, recorded_at, actor, payload = db.row(
        case_id, 3, "occurred_at, recorded_at, actor, payload"
    )
    if isinstance(occurred_at, str):
        occurred_at, recorded_at = map(datetime.fromisoformat, (occurred_at, recorded_at))
    forged = bytes(payload).replace(b'"normal"', b'"restricted"')
    assert forged != bytes(payload)
    digest = spec_hash(
        bytes.fromhex(seals[2].hash),
        {
            "event_id": rewritten,
            "case_id": case_id,
            "version": 3,
            "type": "NoteAdded",
            "schema_version": 1,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at,
            "actor": actor,
            "payload": forged,
        },
    )
    m = db.mark

    db.run(
        f"UPDATE {EVENTS} SET payload={m}, hash={m} WHERE case_id={m} AND version=3",
        (forged, digest, db.key(case_id)),
    )

    report = ledger.verify()
    assert [(p.kind, p.case_id, p.version, p.event_id) for p in report.problems] == [
        ("event_replaced", case_id, 3, rewritten)
    ]
    assert ledger.verify(case_id).first_broken.kind == "event_replaced"


def test_reordered_log_entries_are_detected(ledger: CaseLedger, db: Database) -> None:
    case_with_notes(ledger, 3)
    m = db.mark
    columns = "row_id, event_id, case_id, version, event_hash"
    second = db.run(f"SELECT {columns} FROM {LOG} WHERE position = 2", triggers=True)[0]
    third = db.run(f"SELECT {columns} FROM {LOG} WHERE position = 3", triggers=True)[0]
    keep = "tx_id, " if not db.sqlite else ""

    db.run(f"DELETE FROM {LOG} WHERE position IN (2, 3)")
    for position, entry in ((2, third), (3, second)):
        db.run(
            f"INSERT INTO {LOG} (position, {keep}{columns}, log_hash) "
            f"SELECT {m}, {keep}{m}, {m}, {m}, {m}, {m}, log_hash FROM {LOG} WHERE position = 1",
            (position, *entry),
        )

    report = ledger.verify()
    assert report.first_broken.kind == "log_hash_mismatch"
    assert report.first_broken.position == 2


def test_the_verified_head_is_the_last_position_and_its_log_hash(ledger: CaseLedger) -> None:
    case_with_notes(ledger, 2)
    entries = ledger.log_after(0, 100)

    report = ledger.verify()

    assert report.head_position == entries[-1].position == 3
    previous = hashlib.sha256(b"caseledger genesis").digest()
    for n in entries:
        previous = hashlib.sha256(previous + n.position.to_bytes(8, "big") + n.hash).digest()
    assert report.head_hash == previous.hex()


@pytest.fixture
def sqlite_ledger(tmp_path) -> Iterator[tuple[CaseLedger, Database]]:
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path}/l.sqlite3")
    ledger = build_application(settings)
    yield ledger, Database(settings)
    ledger.close()


@pytest.fixture
def pg_ledger(pg_schema: str) -> Iterator[tuple[CaseLedger, Database]]:
    settings = Settings(environment="test", database_url=pg_url(), database_schema=pg_schema)
    ledger = build_application(settings)
    yield ledger, Database(settings)
    ledger.close()


def test_on_sqlite_an_event_missing_from_the_log_is_reported(
    sqlite_ledger: tuple[CaseLedger, Database],
) -> None:
    ledger, db = sqlite_ledger
    case_id = case_with_notes(ledger, 2)

    db.run(f"DELETE FROM {LOG} WHERE position = 3")

    problems = [(p.kind, p.case_id, p.version) for p in ledger.verify().problems]
    assert ("not_in_log", case_id, 3) in problems
    assert "tree_mismatch" in {kind for kind, _, _ in problems}  # the tree still holds it


def test_on_postgres_a_sequencer_pass_lost_in_a_crash_is_done_again_to_the_same_positions(
    pg_ledger: tuple[CaseLedger, Database],
) -> None:
    """A pass commits asynchronously: a crash may lose its log entries and tree nodes (they
    commit together); the next pass gives the same events the same positions, with the time
    of that pass."""
    ledger, db = pg_ledger
    case_with_notes(ledger, 2)
    columns = "position, row_id, event_id, case_id, version, event_hash, log_hash"
    before = db.run(f"SELECT {columns} FROM {LOG} ORDER BY position", triggers=True)

    db.run(f"DELETE FROM {LOG} WHERE position = 3")
    db.run(f"DELETE FROM {LOG}_tree WHERE ((idx + 1) << level) = 3")  # nodes ending at leaf 2

    assert ledger.verify().ok
    assert db.run(f"SELECT {columns} FROM {LOG} ORDER BY position", triggers=True) == before


def test_on_postgres_a_log_entry_removed_alone_stops_the_sequencer_and_is_reported(
    pg_ledger: tuple[CaseLedger, Database],
) -> None:
    ledger, db = pg_ledger
    case_id = case_with_notes(ledger, 2)

    db.run(f"DELETE FROM {LOG} WHERE position = 3")

    problems = [(p.kind, p.case_id, p.version) for p in ledger.verify().problems]
    assert ("not_in_log", case_id, 3) in problems
    assert "tree_mismatch" in {kind for kind, _, _ in problems}


def test_after_a_restore_into_a_cluster_behind_the_stored_ids_writes_wait_for_migrate(
    pg_ledger: tuple[CaseLedger, Database],
) -> None:
    """A logical restore keeps the stored transaction ids; the new cluster's ids may be lower.
    Until ``migrate`` offsets them, appends are refused (nothing is written that could never
    be sequenced); after it, they are sequenced after the restored events."""
    ledger, db = pg_ledger
    case_id = case_with_notes(ledger, 1)
    ahead = 10**12  # as if the data came from a cluster 10^12 transactions further on
    db.run(f"UPDATE {EVENTS} SET tx_id = tx_id + {ahead}")
    db.run(f"UPDATE {LOG} SET tx_id = tx_id + {ahead}")

    with pytest.raises(PersistenceError, match="run caseledger migrate"):
        ledger.append(case_id, [note("after the restore")], ACTOR)
    assert ledger.get_case(case_id).version == 2
    migrated = build_application(db.settings)  # what `caseledger migrate` runs
    [recorded] = migrated.append(case_id, [note("after migrate")], ACTOR)
    migrated.close()

    assert recorded.position == 3
    assert ledger.verify().summary().startswith("verified 3 events in 1 cases")


def test_a_store_left_by_the_earlier_layout_is_refused_with_a_clear_message(
    pg_schema: str,
) -> None:
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(
            f'CREATE TABLE "{pg_schema}".{EVENTS} (originator_id uuid, originator_version '
            "bigint, topic text, state bytea, notification_id bigserial)"
        )
    settings = Settings(environment="test", database_url=pg_url(), database_schema=pg_schema)

    with pytest.raises(ProgrammingError, match="layout of an earlier caseledger"):
        build_application(settings)
