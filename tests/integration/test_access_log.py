"""The access log on SQLite and PostgreSQL: entries recorded in order and read back exactly,
all or none per batch, one gap-free chain however many appenders, append-only in the database,
and verification that finds an entry altered, removed or hidden from its case's history.

Tampering is done as an attacker with the database owner's rights would do it: disable the
append-only triggers, then change or remove rows directly, without recomputing any hash.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import PersistenceError
from typer.testing import CliRunner

from domain.access import ACCESS_GENESIS, AccessEntry, AccessKind, AccessRecord, access_hash
from domain.application import CaseLedger
from infra.cli import cli
from infra.settings import Settings
from infra.store import build_application
from tests.conftest import pg_url

ACCESS = "caseledger_access_log"
ACCESS_CASES = "caseledger_access_cases"
T0 = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
CASE_X = UUID("7d4f0a3e-0000-4000-8000-000000000001")
CASE_Y = UUID("7d4f0a3e-0000-4000-8000-000000000002")


def entry(
    kind: AccessKind = "read",
    *,
    actor_id: str = "officer-17",
    at: datetime = T0,
    case_ids: tuple[UUID, ...] = (CASE_X,),
    **fields: Any,
) -> AccessEntry:
    return AccessEntry(
        kind=kind,
        at=at,
        actor_id=actor_id,
        role="commune_police",
        unit="01.004.00127",
        purpose="case_management",
        route="GET /v1/cases/{case_id}",
        query="as_of=2021-03-02",
        case_ids=case_ids,
        request_id=f"req-{uuid.uuid4().hex[:8]}",
        **fields,
    )


def record_three(ledger: CaseLedger) -> list[AccessRecord]:
    return ledger.record_access(
        entry(), entry(at=T0 + timedelta(minutes=1)), entry(at=T0 + timedelta(minutes=2))
    )


class Database:
    """Raw access to the access log's tables, as the owner, with the append-only triggers off
    unless asked."""

    TABLES = (ACCESS, ACCESS_CASES)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sqlite = settings.store == "sqlite"

    def run(self, statement: str, *, triggers: bool = False) -> list[Any]:
        if self.sqlite:
            conn = sqlite3.connect(self.settings.database_url.removeprefix("sqlite:///"))
            try:
                if not triggers:
                    for table in self.TABLES:
                        for op in ("update", "delete"):
                            conn.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_{op}")
                rows = conn.execute(statement).fetchall()
                conn.commit()
                return rows
            finally:
                conn.close()
        with psycopg.connect(pg_url()) as conn:
            conn.execute(f'SET search_path TO "{self.settings.database_schema}"')
            if not triggers:
                for table in self.TABLES:
                    conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
            if not triggers:
                for table in self.TABLES:
                    conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
            return rows


@pytest.fixture
def db(settings: Settings, ledger: CaseLedger) -> Database:
    return Database(settings)


def problems(ledger: CaseLedger) -> list[tuple[str, int | None]]:
    return [(p.kind, p.position) for p in ledger.verify().problems]


# --- recording and reading -------------------------------------------------------------------


def test_recorded_entries_read_back_exactly_with_their_positions_and_chained_hashes(
    ledger: CaseLedger,
) -> None:
    granted = entry(
        "emergency_grant",
        at=datetime(2026, 12, 1, 16, 0, 0, 7, tzinfo=timezone(timedelta(hours=7))),
        case_ids=(CASE_Y, CASE_X),
        outcome="emergency",
        detail={"reason": "bệnh nhân cấp cứu", "expires_at": "2026-12-01T10:00:00+00:00"},
    )
    logged = entry(first_position=1, last_position=2**62, detail={"n": [1, 2.5, None]})

    first = ledger.record_access(granted)
    second = ledger.record_access(logged, entry("refused", case_ids=()))

    records = first + second
    assert [r.position for r in records] == [1, 2, 3]
    assert ledger.access_entries() == records
    assert records[0].entry == granted and records[0].entry.at.tzinfo == UTC
    previous = ACCESS_GENESIS
    for record in records:
        assert record.hash == access_hash(previous, record.position, record.entry)
        previous = record.hash


def test_entries_are_found_by_case_actor_time_kind_and_position(ledger: CaseLedger) -> None:
    ledger.record_access(
        entry(actor_id="a"),
        entry("refused", actor_id="b", at=T0 + timedelta(hours=1), case_ids=(CASE_Y,)),
        entry(actor_id="a", at=T0 + timedelta(hours=2), case_ids=(CASE_X, CASE_Y)),
        entry("emergency_grant", actor_id="b", at=T0 + timedelta(hours=3)),
    )

    def positions(**filters: Any) -> list[int]:
        return [r.position for r in ledger.access_entries(**filters)]

    assert positions(case_id=CASE_X) == [1, 3, 4]
    assert positions(case_id=CASE_Y, actor_id="a") == [3]
    assert positions(actor_id="b") == [2, 4]
    assert positions(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2)) == [2, 3]
    assert positions(kinds=["refused", "emergency_grant"]) == [2, 4]
    assert positions(after=1, limit=2) == [2, 3]
    assert positions(case_id=CASE_X, after=1, limit=1) == [3]
    assert positions(case_id=uuid.uuid4()) == []


def test_a_cases_access_history_is_read_through_an_index(db: Database) -> None:
    if db.sqlite:
        [[schema]] = db.run(f"SELECT sql FROM sqlite_master WHERE name = '{ACCESS_CASES}'")
    else:
        [[schema]] = db.run(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            f"AND tablename = '{ACCESS_CASES}'",
            triggers=True,
        )

    assert "(case_id, position)" in schema.replace('"', "")


def test_a_batch_is_recorded_all_or_none(ledger: CaseLedger) -> None:
    [kept] = ledger.record_access(entry())

    with pytest.raises((OverflowError, PersistenceError)):  # SQLite's, PostgreSQL's
        ledger.record_access(entry(), entry(first_position=2**63))  # too big for the column

    assert ledger.access_entries() == [kept]
    [after] = ledger.record_access(entry())
    assert after.position == 2
    assert ledger.verify().ok


def test_concurrent_appenders_produce_one_gap_free_chain_that_verifies(
    ledger: CaseLedger,
) -> None:
    threads, batches = 8, 12
    barrier = threading.Barrier(threads)

    def append(thread: int) -> list[AccessRecord]:
        barrier.wait()
        recorded = []
        for batch in range(batches):
            size = 1 + (thread + batch) % 3
            recorded += ledger.record_access(
                *(
                    entry(actor_id=f"officer-{thread}", case_ids=(uuid.uuid4(),))
                    for _ in range(size)
                )
            )
        return recorded

    with ThreadPoolExecutor(max_workers=threads) as pool:
        answered = [r for rs in pool.map(append, range(threads)) for r in rs]

    stored = ledger.access_entries(limit=10_000)
    assert [r.position for r in stored] == list(range(1, len(answered) + 1))
    assert sorted(answered, key=lambda r: r.position) == stored
    report = ledger.verify()
    assert report.ok, report.summary()
    assert report.summary().endswith(f"; access log: {len(stored)} entries")


# --- append-only -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {ACCESS} SET purpose = 'curiosity'",
        f"DELETE FROM {ACCESS} WHERE position = 2",
        f"UPDATE {ACCESS_CASES} SET position = position + 1",
        f"DELETE FROM {ACCESS_CASES}",
    ],
)
def test_the_database_refuses_to_change_or_remove_access_entries_even_for_the_owner(
    ledger: CaseLedger, db: Database, statement: str
) -> None:
    record_three(ledger)

    with pytest.raises((sqlite3.IntegrityError, psycopg.Error), match="append-only"):
        db.run(statement, triggers=True)

    report = ledger.verify()
    assert report.ok and report.access_entries == 3


def test_truncating_the_access_log_is_refused(ledger: CaseLedger, db: Database) -> None:
    if db.sqlite:
        pytest.skip("SQLite has no TRUNCATE (DELETE is refused)")
    record_three(ledger)

    for table in (ACCESS, ACCESS_CASES):
        with pytest.raises(psycopg.Error, match="append-only: TRUNCATE refused"):
            db.run(f"TRUNCATE {table}", triggers=True)


# --- verification ----------------------------------------------------------------------------


def test_an_untouched_access_log_verifies_and_is_counted(ledger: CaseLedger) -> None:
    record_three(ledger)

    report = ledger.verify()

    assert report.ok
    assert report.summary() == "verified 0 events in 0 cases; access log: 3 entries"


@pytest.mark.parametrize(
    ("column", "sqlite_value", "postgres_value"),
    [
        ("purpose", "'research'", "'research'"),
        ("actor_id", "'someone-else'", "'someone-else'"),
        ("at", "'2026-12-01T08:00:00.000000Z'", "'2026-12-01T08:00:00Z'"),
        ("detail", '\'{"reason": "routine"}\'', '\'{"reason": "routine"}\''),
    ],
)
def test_verify_finds_an_altered_access_entry(
    ledger: CaseLedger, db: Database, column: str, sqlite_value: str, postgres_value: str
) -> None:
    record_three(ledger)

    value = sqlite_value if db.sqlite else postgres_value
    db.run(f"UPDATE {ACCESS} SET {column} = {value} WHERE position = 2")

    report = ledger.verify()
    assert not report.ok
    assert [(p.kind, p.position) for p in report.problems] == [("access_hash_mismatch", 2)]
    assert "BROKEN" in report.summary() and "access log: 3 entries" in report.summary()


def test_verify_finds_a_removed_access_entry(ledger: CaseLedger, db: Database) -> None:
    record_three(ledger)

    db.run(f"DELETE FROM {ACCESS} WHERE position = 2")

    assert problems(ledger) == [("access_gap", 2)]


def test_verify_finds_an_entry_hidden_from_its_cases_history(
    ledger: CaseLedger, db: Database
) -> None:
    record_three(ledger)

    db.run(f"DELETE FROM {ACCESS_CASES} WHERE position = 2")

    assert [r.position for r in ledger.access_entries(case_id=CASE_X)] == [1, 3]
    assert problems(ledger) == [("access_index_mismatch", 2)]


def test_verify_finds_an_access_entry_altered_into_something_that_is_not_one(
    ledger: CaseLedger, db: Database
) -> None:
    if not db.sqlite:
        pytest.skip("PostgreSQL's column types keep every row an entry")
    record_three(ledger)

    db.run(f"UPDATE {ACCESS} SET case_ids = '[\"not a uuid\"]' WHERE position = 1")

    assert problems(ledger) == [("access_unreadable", 1)]


def test_removing_the_last_access_entry_leaves_a_shorter_chain_that_verifies(
    ledger: CaseLedger, db: Database
) -> None:
    """What the chain alone cannot show: removing the last entries leaves no gap and no broken
    link. The report's count and the access log's head must be kept outside the database to
    find it (the transparency-log issue's work); here the count is what changes."""
    record_three(ledger)
    before = ledger.verify()

    db.run(f"DELETE FROM {ACCESS} WHERE position = 3")

    after = ledger.verify()
    assert after.ok
    assert (before.access_entries, after.access_entries) == (3, 2)
    assert after.summary().endswith("; access log: 2 entries")


def test_verifying_one_case_leaves_the_access_log_alone(ledger: CaseLedger) -> None:
    from tests.integration.stories import ACTOR, opening

    case_id = ledger.open_case(opening(), ACTOR).case_id
    record_three(ledger)

    report = ledger.verify(case_id)

    assert report.summary() == "verified 1 events in 1 cases"
    assert not report.access_checked


# --- database roles (PostgreSQL) ---------------------------------------------------------------


def as_role(role: str) -> str:
    url = urlsplit(pg_url())
    netloc = f"{role}@{url.hostname}" + (f":{url.port}" if url.port else "")
    return urlunsplit(url._replace(netloc=netloc))


@pytest.fixture
def roles(pg_schema: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    """The store migrated by the owner with an application role and a runner role:
    (schema, application role, runner role)."""
    suffix = uuid.uuid4().hex[:8]
    app, runner = f"cl_app_{suffix}", f"cl_runner_{suffix}"
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", pg_url())
    monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", pg_schema)
    monkeypatch.setenv("CASELEDGER_LOG_JSON", "true")
    try:
        result = CliRunner().invoke(cli, ["migrate", "--grant-to", app, "--runner-role", runner])
        assert result.exit_code == 0, result.output
        yield pg_schema, app, runner
    finally:
        with psycopg.connect(pg_url(), autocommit=True) as conn:
            for role in (runner, app):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(f'DROP OWNED BY "{role}"')
                    conn.execute(f'DROP ROLE "{role}"')


def privileges(role: str, schema: str) -> dict[str, list[str]]:
    with psycopg.connect(pg_url()) as conn:
        return {
            table: conn.execute(
                "SELECT coalesce(array_agg(p ORDER BY p), '{}') FROM unnest(ARRAY['SELECT', "
                "'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p "
                "WHERE has_table_privilege(%s, %s, p)",
                (role, f'"{schema}".{table}'),
            ).fetchone()[0]
            for table in (ACCESS, ACCESS_CASES)
        }


def test_the_application_role_records_and_reads_the_access_log_but_cannot_change_it(
    roles: tuple[str, str, str],
) -> None:
    schema, app, _ = roles
    settings = Settings(
        environment="test", database_url=as_role(app), database_schema=schema, create_tables=False
    )
    ledger = build_application(settings)
    try:
        recorded = record_three(ledger)
        read = ledger.access_entries(case_id=CASE_X)
        report = ledger.verify()
    finally:
        ledger.close()

    assert read == recorded
    assert report.ok and report.access_entries == 3
    assert privileges(app, schema) == {table: ["INSERT", "SELECT"] for table in Database.TABLES}
    with psycopg.connect(as_role(app), autocommit=True) as conn:
        for statement in (
            "UPDATE {s}.caseledger_access_log SET purpose = 'curiosity'",
            "DELETE FROM {s}.caseledger_access_log",
            "TRUNCATE {s}.caseledger_access_log",
            "UPDATE {s}.caseledger_access_cases SET case_id = gen_random_uuid()",
            "DELETE FROM {s}.caseledger_access_cases",
            "ALTER TABLE {s}.caseledger_access_log DISABLE TRIGGER refuse_change",
        ):
            with pytest.raises(
                psycopg.errors.InsufficientPrivilege, match=r"permission denied|must be owner"
            ):
                conn.execute(statement.format(s=f'"{schema}"'))


def test_the_runner_role_has_no_privilege_on_the_access_log(roles: tuple[str, str, str]) -> None:
    schema, _, runner = roles

    assert privileges(runner, schema) == {ACCESS: [], ACCESS_CASES: []}
