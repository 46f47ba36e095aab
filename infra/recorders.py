"""Our recorders: the audit-grade event store on SQLite and PostgreSQL.

Both subclass the library's application recorders, so ``Application``/``Aggregate`` work as
usual, and store the same things:

- **the events table** (``caseledger_events``): the envelope as columns beside the serialized
  payload — event id (unique: a retried append can never write twice, even from two
  processes), case id, version (``(case, version)`` is the key that decides races), type,
  schema version, occurred_at, recorded_at, actor — and the integrity hash, chained per case
  (``infra/integrity.py``). Indexed by event id, by case, and by time. Append-only: triggers
  refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL); in production the application's role has
  only INSERT and SELECT on it (``caseledger migrate --grant-to ROLE``).
- **the global log** (``caseledger_log``): ``position -> event``, positions 1, 2, 3, … without a
  gap, totally ordered and gap-safe: a reader that has passed a position never later finds a
  newly committed event before it. Also append-only.

How positions are assigned differs:

- **SQLite** has one writer at a time (``BEGIN IMMEDIATE``). The writer appends to the log in the
  same transaction as the events, so positions follow commit order.
- **PostgreSQL** writers do not share a lock: appends to different cases run in parallel and
  commit in any order. Positions are assigned *after* commit by a sequencer pass
  (``_sequence``), using transaction-id visibility: each event row stores the id of the
  transaction that wrote it (``tx_id``, ``pg_current_xact_id()``). Every transaction whose id is
  below ``pg_snapshot_xmin(pg_current_snapshot())`` has finished, so the rows written by such
  transactions are final: no row with a lower ``tx_id`` can appear later. A pass takes the rows
  after the last one sequenced, in ``(tx_id, row_id)`` order, up to that horizon, and appends them
  to the log with the next positions. Passes run one at a time (a transaction-scoped advisory
  lock, held only by passes, never by writers); a pass becomes visible before the lock is
  released, so the next pass sees it and continues from its last position, and a reader sees
  positions only once committed, in order, without holes. A single-event append is one call of
  a procedure that inserts, commits and then runs a pass unless one is already running; when
  that did not give the event its position (another pass was running, or an older transaction
  was still open), or for a batch, the writer waits for the process's ``GroupSequencer``, whose
  one thread runs passes for all waiting writers. Reads of the log run a pass too (at most every
  ``SWEEP_SECONDS``), so an event whose writer died after commit is sequenced all the same. A
  pass notifies
  the ``LISTEN`` channel when it adds positions. An event is held back while any transaction
  older than its own is still open; its ``position`` in the append's answer is ``None`` if that
  lasted longer than ``POSITION_WAIT_SECONDS`` (it appears in the history once assigned).
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import (
    IntegrityError,
    Notification,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg.sql import SQL, Composed, Identifier

from domain.application import Seal
from infra.integrity import (
    GENESIS,
    LogRow,
    StoredRow,
    VerificationReport,
    canonical_bytes,
    chain_hash,
    utc_text,
    verify,
)

log = structlog.get_logger("caseledger.store")

EVENTS_TABLE = "caseledger_events"
POSITION_WAIT_SECONDS = 2.0
SEQUENCE_BATCH = 5000
SWEEP_SECONDS = 0.1


@dataclass(frozen=True)
class CaseStoredEvent(StoredEvent):
    """A stored event with its envelope columns (built by ``CaseEventMapper``)."""

    event_id: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: str

    def canonical(self) -> bytes:
        return canonical_bytes(
            self.event_id,
            _uuid(self.originator_id),
            self.originator_version,
            self.topic,
            self.schema_version,
            self.occurred_at,
            self.recorded_at,
            self.actor,
            self.state,
        )


@dataclass(frozen=True)
class SealedNotification(Notification):
    """A log entry: the stored event, its position (``id``), event id and hash."""

    event_id: str
    hash: bytes


def log_table_name(events_table_name: str) -> str:
    return events_table_name.removesuffix("events") + "log"


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _case_stored(stored: StoredEvent) -> CaseStoredEvent:
    if not isinstance(stored, CaseStoredEvent):
        raise PersistenceError("caseledger recorders store CaseStoredEvent (CaseEventMapper)")
    return stored


# --- SQLite -----------------------------------------------------------------------------------


class SQLiteCaseRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = EVENTS_TABLE):
        self.log_table = log_table_name(events_table_name)
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        events, log = self.events_table_name, self.log_table
        statements = [
            f"CREATE TABLE IF NOT EXISTS {events} ("
            "row_id INTEGER PRIMARY KEY, "
            "event_id TEXT NOT NULL UNIQUE, "
            "case_id TEXT NOT NULL, "
            "version INTEGER NOT NULL, "
            "type TEXT NOT NULL, "
            "schema_version INTEGER NOT NULL, "
            "occurred_at TEXT NOT NULL, "
            "recorded_at TEXT NOT NULL, "
            "actor TEXT NOT NULL, "
            "payload BLOB NOT NULL, "
            "hash BLOB NOT NULL, "
            "UNIQUE (case_id, version))",
            f"CREATE INDEX IF NOT EXISTS {events}_recorded_at ON {events} (recorded_at)",
            f"CREATE INDEX IF NOT EXISTS {events}_occurred_at ON {events} (occurred_at)",
            f"CREATE TABLE IF NOT EXISTS {log} ("
            "position INTEGER PRIMARY KEY AUTOINCREMENT, "
            "row_id INTEGER NOT NULL UNIQUE, "
            "event_id TEXT NOT NULL, "
            "case_id TEXT NOT NULL, "
            "version INTEGER NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {log}_case ON {log} (case_id)",
        ]
        for table in (events, log):
            for operation in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{operation.lower()} "
                    f"BEFORE {operation} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
                )
        return statements

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction that holds SQLite's write lock from its first statement."""
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn._sqlite_conn.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                conn.commit()
            except sqlite3.IntegrityError as e:
                conn.rollback()
                raise IntegrityError(e) from e
            except sqlite3.OperationalError as e:
                conn.rollback()
                raise OperationalError(e) from e
            except BaseException:
                conn.rollback()
                raise

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        if not stored_events:
            return []
        with self._write() as c:
            return self._insert_rows(c, stored_events)

    def _insert_rows(self, c: sqlite3.Cursor, stored_events: Sequence[StoredEvent]) -> list[int]:
        positions = []
        previous: dict[tuple[str, int], bytes] = {}
        for stored in map(_case_stored, stored_events):
            case_id, version = str(_uuid(stored.originator_id)), stored.originator_version
            prev = GENESIS if version == 1 else previous.get((case_id, version - 1))
            if prev is None:
                c.execute(
                    f"SELECT hash FROM {self.events_table_name} WHERE case_id=? AND version=?",
                    (case_id, version - 1),
                )
                row = c.fetchone()
                if row is None:
                    raise IntegrityError(f"case {case_id} has no version {version - 1}")
                prev = row[0]
            digest = chain_hash(prev, stored.canonical())
            previous[(case_id, version)] = digest
            c.execute(
                f"INSERT INTO {self.events_table_name} (event_id, case_id, version, type, "
                "schema_version, occurred_at, recorded_at, actor, payload, hash) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    stored.event_id,
                    case_id,
                    version,
                    stored.topic,
                    stored.schema_version,
                    utc_text(stored.occurred_at),
                    utc_text(stored.recorded_at),
                    stored.actor,
                    stored.state,
                    digest,
                ),
            )
            c.execute(
                f"INSERT INTO {self.log_table} (row_id, event_id, case_id, version) "
                "VALUES (?,?,?,?)",
                (c.lastrowid, stored.event_id, case_id, version),
            )
            positions.append(c.lastrowid)
        return positions

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        statement = f"SELECT version, type, payload FROM {self.events_table_name} WHERE case_id=?"
        params: list[Any] = [str(_uuid(originator_id))]
        if gt is not None:
            statement += " AND version>?"
            params.append(gt)
        if lte is not None:
            statement += " AND version<=?"
            params.append(lte)
        statement += " ORDER BY version DESC" if desc else " ORDER BY version"
        if limit is not None:
            statement += " LIMIT ?"
            params.append(limit)
        case_id = _uuid(originator_id)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [StoredEvent(case_id, row[0], row[1], row[2]) for row in c.fetchall()]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """The global log from ``start``, in position order (gap-safe: one writer at a time)."""
        statement = (
            f"SELECT l.position, e.case_id, e.version, e.type, e.payload, e.event_id, e.hash "
            f"FROM {self.log_table} l JOIN {self.events_table_name} e ON e.row_id = l.row_id "
            "WHERE 1=1"
        )
        params: list[Any] = []
        if start is not None:
            statement += " AND l.position >= ?" if inclusive_of_start else " AND l.position > ?"
            params.append(start)
        if stop is not None:
            statement += " AND l.position <= ?"
            params.append(stop)
        if topics:
            statement += f" AND e.type IN ({','.join('?' * len(topics))})"
            params.extend(topics)
        statement += " ORDER BY l.position LIMIT ?"
        params.append(limit)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [
                SealedNotification(
                    id=row[0],
                    originator_id=UUID(row[1]),
                    originator_version=row[2],
                    topic=row[3],
                    state=row[4],
                    event_id=row[5],
                    hash=row[6],
                )
                for row in c.fetchall()
            ]

    def max_notification_id(self) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT MAX(position) FROM {self.log_table}")
            return c.fetchone()[0]  # type: ignore[no-any-return]

    def _max_notification_id(self, c: SQLiteCursor) -> int:
        c.execute(f"SELECT MAX(position) FROM {self.log_table}")
        return c.fetchone()[0] or 0  # type: ignore[no-any-return]

    # --- the case index (domain.application.CaseIndex) ---

    def seals(self, case_id: UUID) -> dict[int, Seal]:
        """Version -> position in the global log and hash of each stored event of a case."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT e.version, l.position, e.hash FROM {self.events_table_name} e "
                f"LEFT JOIN {self.log_table} l ON l.row_id = e.row_id WHERE e.case_id=?",
                (str(case_id),),
            )
            return {row[0]: Seal(row[1], bytes(row[2]).hex()) for row in c.fetchall()}

    def positions(self, case_id: UUID) -> dict[int, int]:
        return {v: s.position for v, s in self.seals(case_id).items() if s.position is not None}

    def locate(self, event_ids: Sequence[str]) -> dict[str, tuple[UUID, int]]:
        """Where each of these event ids is already recorded: id -> (case id, version)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT event_id, case_id, version FROM {self.events_table_name} "
                f"WHERE event_id IN ({','.join('?' * len(event_ids))})",
                list(event_ids),
            )
            return {row[0]: (UUID(row[1]), row[2]) for row in c.fetchall()}

    def verify(self, case_id: UUID | None = None) -> VerificationReport:
        """Recompute every hash and check every chain and the log (``infra.integrity``)."""
        where, params = ("WHERE e.case_id = ?", [str(case_id)]) if case_id else ("", [])
        log_where = "WHERE l.case_id = ?" if case_id else ""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT l.position, l.event_id, l.case_id, l.version, "
                "(e.row_id IS NOT NULL AND e.event_id = l.event_id AND e.case_id = l.case_id "
                "AND e.version = l.version) "
                f"FROM {self.log_table} l LEFT JOIN {self.events_table_name} e "
                f"ON e.row_id = l.row_id {log_where} ORDER BY l.position",
                params,
            )
            log = [LogRow(r[0], r[1], UUID(r[2]), r[3], bool(r[4])) for r in c.fetchall()]
            c.execute(
                "SELECT e.event_id, e.case_id, e.version, e.type, e.schema_version, "
                "e.occurred_at, e.recorded_at, e.actor, e.payload, e.hash, l.position "
                f"FROM {self.events_table_name} e LEFT JOIN {self.log_table} l "
                f"ON l.row_id = e.row_id {where} ORDER BY e.case_id, e.version",
                params,
            )
            rows = (
                StoredRow(
                    r[0],
                    UUID(r[1]),
                    r[2],
                    r[3],
                    r[4],
                    datetime.fromisoformat(r[5]),
                    datetime.fromisoformat(r[6]),
                    r[7],
                    bytes(r[8]),
                    bytes(r[9]),
                    r[10],
                )
                for r in iter(c.fetchone, None)
            )
            return verify(rows, log, whole_log=case_id is None)


# --- PostgreSQL -------------------------------------------------------------------------------


class GroupSequencer:
    """Runs sequencer passes for all the writers of one process, so that they share them.

    A writer that has committed hands its row ids over and waits; one thread runs a pass for
    everything waiting, then another while writers keep arriving (each pass sequences all that
    committed before it), and wakes the writers whose rows got positions. Rows held back by an
    older open transaction are retried with a growing pause; a writer stops waiting after its
    timeout and answers without a position.
    """

    def __init__(self, recorder: PostgresCaseRecorder) -> None:
        self.recorder = recorder
        self.changed = threading.Condition()
        self.waiting: set[int] = set()
        self.found: dict[int, int] = {}
        self.thread: threading.Thread | None = None

    def await_positions(self, row_ids: list[int], timeout: float) -> dict[int, int]:
        deadline = time.monotonic() + timeout
        with self.changed:
            self.waiting.update(row_ids)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="sequencer", daemon=True)
                self.thread.start()
            self.changed.notify_all()
            while not all(r in self.found for r in row_ids):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            self.waiting.difference_update(row_ids)
            return {r: self.found.pop(r) for r in row_ids if r in self.found}

    def _run(self) -> None:
        pause = 0.0
        while True:
            with self.changed:
                while not (self.waiting - self.found.keys()):
                    if not self.changed.wait(timeout=5.0) and not self.waiting:
                        self.thread = None
                        return  # idle: the next writer starts a new thread
                wanted = list(self.waiting - self.found.keys())
            try:
                with self.recorder.datastore.get_connection() as conn:
                    found = self.recorder._sequence(conn, wait=True, row_ids=wanted)
            except Exception as e:  # the store is unreachable or closed: writers time out
                log.warning("sequencer pass failed", error=str(e))
                found = {}
                pause = 0.05
            with self.changed:
                self.found.update((r, p) for r, p in found.items() if r in self.waiting)
                self.changed.notify_all()
            if len(found) < len(wanted):  # an older transaction still open holds them back
                pause = min(max(pause * 2, 0.0005), 0.05)
                time.sleep(pause)
            else:
                pause = 0.0


class PostgresCaseRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, events_table_name: str = EVENTS_TABLE):
        super().__init__(datastore, events_table_name=events_table_name)
        self.log_table = log_table_name(events_table_name)
        self.check_identifier_length(self.log_table + "_refuse_change")
        self.lock_key = int.from_bytes(
            hashlib.sha256(f"{datastore.schema}.{self.log_table}".encode()).digest()[:8],
            "big",
            signed=True,
        )
        names = {
            "schema": Identifier(datastore.schema),
            "events": Identifier(events_table_name),
            "log": Identifier(self.log_table),
        }

        def sql(text: str, **more: Any) -> Composed:
            return SQL(text).format(**names, **more)

        self.sql_create_statements = [
            sql(
                "CREATE TABLE IF NOT EXISTS {schema}.{events} ("
                "row_id bigint GENERATED ALWAYS AS IDENTITY UNIQUE, "
                "tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(), "
                "event_id text NOT NULL UNIQUE, "
                "case_id uuid NOT NULL, "
                "version bigint NOT NULL, "
                "type text NOT NULL, "
                "schema_version integer NOT NULL, "
                "occurred_at timestamptz NOT NULL, "
                "recorded_at timestamptz NOT NULL, "
                "actor text NOT NULL, "
                "payload bytea NOT NULL, "
                "hash bytea NOT NULL, "
                "PRIMARY KEY (case_id, version))"
            ),
            sql(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{events} (tx_id, row_id)",
                index=Identifier(f"{events_table_name}_tx_idx"),
            ),
            sql(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{events} (recorded_at)",
                index=Identifier(f"{events_table_name}_recorded_at_idx"),
            ),
            sql(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{events} (occurred_at)",
                index=Identifier(f"{events_table_name}_occurred_at_idx"),
            ),
            sql(
                "CREATE TABLE IF NOT EXISTS {schema}.{log} ("
                "position bigint PRIMARY KEY, "
                "tx_id xid8 NOT NULL, "
                "row_id bigint NOT NULL UNIQUE, "
                "event_id text NOT NULL, "
                "case_id uuid NOT NULL, "
                "version bigint NOT NULL)"
            ),
            sql(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{log} (case_id)",
                index=Identifier(f"{self.log_table}_case_idx"),
            ),
            sql(
                "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
                "USING ERRCODE = 'insufficient_privilege'; END $$",
                function=Identifier(f"{self.log_table}_refuse_change"),
            ),
        ]
        for table in (events_table_name, self.log_table):
            for events, name in (("UPDATE OR DELETE", "change"), ("TRUNCATE", "truncate")):
                self.sql_create_statements.append(
                    sql(
                        "CREATE OR REPLACE TRIGGER {trigger} BEFORE " + events + " ON "
                        "{schema}.{table} FOR EACH STATEMENT EXECUTE FUNCTION "
                        "{schema}.{function}()",
                        trigger=Identifier(f"refuse_{name}"),
                        table=Identifier(table),
                        function=Identifier(f"{self.log_table}_refuse_change"),
                    )
                )

        self.insert_row_statement = sql(
            "INSERT INTO {schema}.{events} (event_id, case_id, version, type, schema_version, "
            "occurred_at, recorded_at, actor, payload, hash) VALUES ("
            "%(event_id)s, %(case_id)s, %(version)s, %(type)s, %(schema_version)s, "
            "%(occurred_at)s, %(recorded_at)s, %(actor)s, %(payload)s, sha256("
            "CASE WHEN %(version)s = 1 THEN %(genesis)s ELSE (SELECT p.hash FROM "
            "{schema}.{events} p WHERE p.case_id = %(case_id)s AND p.version = %(version)s - 1)"
            " END || %(canonical)s)) RETURNING row_id"
        )
        function = Identifier(f"{self.log_table}_sequence")
        self.sql_create_statements.append(
            sql(
                "CREATE OR REPLACE FUNCTION {schema}.{function}("
                "batch integer, channel text, wait boolean, wanted bigint[]) "
                "RETURNS TABLE (event_row bigint, log_position bigint) LANGUAGE plpgsql AS $$ "
                "DECLARE added bigint; total bigint := 0; "
                "BEGIN "
                # see _sequence and the module docstring: why an asynchronous commit is safe
                "PERFORM set_config('synchronous_commit', 'off', true); "
                "IF wait THEN PERFORM pg_advisory_xact_lock({key}); "
                "ELSIF NOT pg_try_advisory_xact_lock({key}) THEN "
                " RETURN QUERY SELECT l.row_id, l.position FROM {schema}.{log} l"
                " WHERE l.row_id = ANY(wanted); RETURN; "
                "END IF; "
                "LOOP "
                # a new snapshot per statement: it sees every pass committed before the lock
                " WITH last AS ("
                "  SELECT l.position, l.tx_id, l.row_id FROM {schema}.{log} l"
                "  ORDER BY l.position DESC LIMIT 1"
                " ), cur AS ("
                "  SELECT coalesce((SELECT last.position FROM last), 0) AS position,"
                "  coalesce((SELECT last.tx_id FROM last), '0'::xid8) AS tx_id,"
                "  coalesce((SELECT last.row_id FROM last), 0) AS row_id"
                " ), todo AS ("
                "  SELECT e.row_id, e.tx_id, e.event_id, e.case_id, e.version"
                "  FROM {schema}.{events} e, cur"
                "  WHERE (e.tx_id, e.row_id) > (cur.tx_id, cur.row_id)"
                # every transaction below this horizon has ended: these rows are final
                "  AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())"
                "  ORDER BY e.tx_id, e.row_id LIMIT batch"
                " ) INSERT INTO {schema}.{log}"
                " (position, tx_id, row_id, event_id, case_id, version)"
                " SELECT cur.position + row_number() OVER (ORDER BY todo.tx_id, todo.row_id),"
                " todo.tx_id, todo.row_id, todo.event_id, todo.case_id, todo.version"
                " FROM todo, cur; "
                " GET DIAGNOSTICS added = ROW_COUNT; "
                " total := total + added; "
                " EXIT WHEN added < batch; "
                "END LOOP; "
                "IF total > 0 THEN PERFORM pg_notify(channel, total::text); END IF; "
                "RETURN QUERY SELECT l.row_id, l.position FROM {schema}.{log} l"
                " WHERE l.row_id = ANY(wanted); "
                "END $$",
                function=function,
                key=SQL(str(self.lock_key)),
            )
        )
        self.sequence_call = sql(
            "SELECT * FROM {schema}.{function}(%s, %s, %s, %s::bigint[])", function=function
        )
        append = Identifier(f"{events_table_name}_append")
        self.sql_create_statements.append(
            sql(
                "CREATE OR REPLACE PROCEDURE {schema}.{append}("
                "p_event_id text, p_case_id uuid, p_version bigint, p_type text, "
                "p_schema_version integer, p_occurred_at timestamptz, p_recorded_at timestamptz, "
                "p_actor text, p_payload bytea, p_genesis bytea, p_canonical bytea, "
                "p_batch integer, p_channel text, "
                "INOUT event_row bigint DEFAULT NULL, INOUT log_position bigint DEFAULT NULL) "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "INSERT INTO {schema}.{events} AS e (event_id, case_id, version, type, "
                "schema_version, occurred_at, recorded_at, actor, payload, hash) VALUES ("
                "p_event_id, p_case_id, p_version, p_type, p_schema_version, p_occurred_at, "
                "p_recorded_at, p_actor, p_payload, sha256(CASE WHEN p_version = 1 THEN p_genesis "
                "ELSE (SELECT p.hash FROM {schema}.{events} p WHERE p.case_id = p_case_id "
                "AND p.version = p_version - 1) END || p_canonical)) "
                "RETURNING e.row_id INTO event_row; "
                # the event is durable here; then a sequencer pass unless one is running
                "COMMIT; "
                "SELECT s.log_position INTO log_position "
                "FROM {schema}.{function}(p_batch, p_channel, false, ARRAY[event_row]) s; "
                "END $$",
                append=append,
                function=function,
            )
        )
        self.append_call = sql(
            "CALL {schema}.{append}(%(event_id)s, %(case_id)s, %(version)s, %(type)s, "
            "%(schema_version)s, %(occurred_at)s, %(recorded_at)s, %(actor)s, %(payload)s, "
            "%(genesis)s, %(canonical)s, %(batch)s, %(channel)s)",
            append=append,
        )
        self.select_rows_statement = sql(
            "SELECT version, type, payload FROM {schema}.{events} WHERE case_id = %s"
        )
        self.log_statement = sql(
            "SELECT l.position, e.case_id, e.version, e.type, e.payload, e.event_id, e.hash "
            "FROM {schema}.{log} l JOIN {schema}.{events} e ON e.row_id = l.row_id "
            "WHERE l.position > %s"
        )
        self.max_position_statement = sql("SELECT max(position) AS max FROM {schema}.{log}")
        self.seals_statement = sql(
            "SELECT e.version, l.position, e.hash FROM {schema}.{events} e "
            "LEFT JOIN {schema}.{log} l ON l.row_id = e.row_id WHERE e.case_id = %s"
        )
        self.locate_statement = sql(
            "SELECT event_id, case_id, version FROM {schema}.{events} WHERE event_id = ANY(%s)"
        )
        self.verify_log_statement = sql(
            "SELECT l.position, l.event_id, l.case_id, l.version, "
            "(e.row_id IS NOT NULL AND e.event_id = l.event_id AND e.case_id = l.case_id "
            "AND e.version = l.version) AS present "
            "FROM {schema}.{log} l LEFT JOIN {schema}.{events} e ON e.row_id = l.row_id "
        )
        self.sequencer = GroupSequencer(self)
        self.last_sweep = -math.inf
        self.verify_events_statement = sql(
            "SELECT e.event_id, e.case_id, e.version, e.type, e.schema_version, e.occurred_at, "
            "e.recorded_at, e.actor, e.payload, e.hash, l.position "
            "FROM {schema}.{events} e LEFT JOIN {schema}.{log} l ON l.row_id = e.row_id "
        )

    def _create_table(self, curs: Any) -> None:
        """Create or update the tables, functions and triggers, one process at a time
        (concurrent ``CREATE OR REPLACE`` of the same triggers deadlock otherwise)."""
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key ^ 1,))
        super()._create_table(curs)

    # --- writing ---

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> list[int | None]:
        """Insert the events (hash chained in SQL), commit, then wait for their positions.

        A single event is one statement (its own transaction: one round trip); several are
        one pipelined transaction. Then one sequencer pass, which also answers the positions.
        """
        if not stored_events:
            return []
        params = [self._row_params(_case_stored(s)) for s in stored_events]
        with self.datastore.get_connection() as conn:
            if len(params) == 1:  # one round trip: insert, commit, a pass if none is running
                call = {**params[0], "batch": SEQUENCE_BATCH, "channel": self.channel_name}
                row = conn.execute(self.append_call, call).fetchone()
                if row["log_position"] is not None:
                    return [row["log_position"]]
                row_ids = [row["event_row"]]
            else:
                with conn.transaction(), conn.cursor() as curs:
                    curs.executemany(self.insert_row_statement, params, returning=True)
                    row_ids = []
                    while True:
                        row = curs.fetchone()
                        assert row is not None
                        row_ids.append(row["row_id"])
                        if not curs.nextset():
                            break
        positions = self._await_positions(row_ids)
        return [positions.get(row_id) for row_id in row_ids]

    def _row_params(self, stored: CaseStoredEvent) -> dict[str, Any]:
        return {
            "event_id": stored.event_id,
            "case_id": _uuid(stored.originator_id),
            "version": stored.originator_version,
            "type": stored.topic,
            "schema_version": stored.schema_version,
            "occurred_at": stored.occurred_at,
            "recorded_at": stored.recorded_at,
            "actor": stored.actor,
            "payload": stored.state,
            "genesis": GENESIS,
            "canonical": stored.canonical(),
        }

    def _await_positions(self, row_ids: list[int]) -> dict[int, int]:
        """The positions of these rows, once a sequencer pass has assigned them (or timeout)."""
        return self.sequencer.await_positions(row_ids, POSITION_WAIT_SECONDS)

    def _sequence(self, conn: Any, *, wait: bool, row_ids: Sequence[int] = ()) -> dict[int, int]:
        """One sequencer pass (the database function, one statement and its own transaction).

        Answers the positions of ``row_ids`` (after the pass). Without ``wait`` the pass is
        skipped when another is running: that one sequences what this one would.
        """
        rows = conn.execute(
            self.sequence_call,
            (SEQUENCE_BATCH, self.channel_name, wait, list(row_ids)),
            prepare=True,
        ).fetchall()
        return {row["event_row"]: row["log_position"] for row in rows}

    def _sweep(self, conn: Any) -> None:
        """A pass for readers, at most every ``SWEEP_SECONDS`` per process: writers sequence
        their own events; this sequences those of a writer that died between its commit and
        its pass."""
        now = time.monotonic()
        if now - self.last_sweep >= SWEEP_SECONDS:
            self.last_sweep = now
            self._sequence(conn, wait=False)

    def sequence(self) -> None:
        """Assign positions to every event whose transaction and all older ones have ended."""
        with self.datastore.get_connection() as conn:
            self._sequence(conn, wait=True)

    # --- reading ---

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        statement = self.select_rows_statement
        params: list[Any] = [originator_id]
        if gt is not None:
            statement += SQL(" AND version > %s")
            params.append(gt)
        if lte is not None:
            statement += SQL(" AND version <= %s")
            params.append(lte)
        statement += SQL(" ORDER BY version DESC" if desc else " ORDER BY version")
        if limit is not None:
            statement += SQL(" LIMIT %s")
            params.append(limit)
        case_id = _uuid(originator_id)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(case_id, row["version"], row["type"], bytes(row["payload"]))
                for row in curs.fetchall()
            ]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """The global log after a position, in position order; runs a sequencer pass first."""
        after = 0 if start is None else (start - 1 if inclusive_of_start else start)
        statement = self.log_statement
        params: list[Any] = [after]
        if stop is not None:
            statement += SQL(" AND l.position <= %s")
            params.append(stop)
        if topics:
            statement += SQL(" AND e.type = ANY(%s)")
            params.append(list(topics))
        statement += SQL(" ORDER BY l.position LIMIT %s")
        params.append(limit)
        with self.datastore.get_connection() as conn:
            self._sweep(conn)
            with conn.cursor() as curs:
                curs.execute(statement, params, prepare=True)
                return [
                    SealedNotification(
                        id=row["position"],
                        originator_id=row["case_id"],
                        originator_version=row["version"],
                        topic=row["type"],
                        state=bytes(row["payload"]),
                        event_id=row["event_id"],
                        hash=bytes(row["hash"]),
                    )
                    for row in curs.fetchall()
                ]

    def max_notification_id(self) -> int | None:
        with self.datastore.get_connection() as conn:
            self._sweep(conn)
            with conn.cursor() as curs:
                curs.execute(self.max_position_statement)
                row = curs.fetchone()
                return None if row is None else row["max"]

    # --- the case index (domain.application.CaseIndex) ---

    def seals(self, case_id: UUID) -> dict[int, Seal]:
        """Version -> position in the global log and hash of each stored event of a case.

        Events not yet in the log are sequenced first (waiting as an append does).
        """
        deadline = time.monotonic() + POSITION_WAIT_SECONDS
        pause = 0.0005
        with self.datastore.get_connection() as conn:
            while True:
                with conn.cursor() as curs:
                    curs.execute(self.seals_statement, (case_id,), prepare=True)
                    seals = {
                        row["version"]: Seal(row["position"], bytes(row["hash"]).hex())
                        for row in curs.fetchall()
                    }
                if all(s.position is not None for s in seals.values()):
                    return seals
                if time.monotonic() > deadline:
                    return seals
                self._sequence(conn, wait=True)
                time.sleep(pause)
                pause = min(pause * 2, 0.05)

    def positions(self, case_id: UUID) -> dict[int, int]:
        return {v: s.position for v, s in self.seals(case_id).items() if s.position is not None}

    def locate(self, event_ids: Sequence[str]) -> dict[str, tuple[UUID, int]]:
        """Where each of these event ids is already recorded: id -> (case id, version)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.locate_statement, (list(event_ids),))
            return {row["event_id"]: (row["case_id"], row["version"]) for row in curs.fetchall()}

    def verify(self, case_id: UUID | None = None) -> VerificationReport:
        """Recompute every hash and check every chain and the log (``infra.integrity``).

        Runs a sequencer pass first, then reads events and log in one repeatable-read
        snapshot, streaming rows through server-side cursors.
        """
        self.sequence()
        log_statement, events_statement = self.verify_log_statement, self.verify_events_statement
        params: list[Any] = []
        if case_id is not None:
            log_statement += SQL("WHERE l.case_id = %s ")
            events_statement += SQL("WHERE e.case_id = %s ")
            params.append(case_id)
        log_statement += SQL("ORDER BY l.position")
        events_statement += SQL("ORDER BY e.case_id, e.version")
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            with (
                conn.cursor(name="verify_log") as log_cursor,
                conn.cursor(name="verify_events") as events_cursor,
            ):
                log_cursor.itersize = events_cursor.itersize = 5000
                log_cursor.execute(log_statement, params)
                events_cursor.execute(events_statement, params)
                log = (
                    LogRow(r["position"], r["event_id"], r["case_id"], r["version"], r["present"])
                    for r in log_cursor
                )
                rows = (
                    StoredRow(
                        r["event_id"],
                        r["case_id"],
                        r["version"],
                        r["type"],
                        r["schema_version"],
                        r["occurred_at"],
                        r["recorded_at"],
                        r["actor"],
                        bytes(r["payload"]),
                        bytes(r["hash"]),
                        r["position"],
                    )
                    for r in events_cursor
                )
                return verify(rows, log, whole_log=case_id is None)

    def grant_writer(self, role: str) -> None:
        """Let ``role`` record and read (INSERT and SELECT), and nothing else, on the store."""
        names = {
            "schema": Identifier(self.datastore.schema),
            "events": Identifier(self.events_table_name),
            "log": Identifier(self.log_table),
            "role": Identifier(role),
        }
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("GRANT USAGE ON SCHEMA {schema} TO {role}").format(**names))
            curs.execute(
                SQL("REVOKE ALL ON {schema}.{events}, {schema}.{log} FROM {role}").format(**names)
            )
            curs.execute(
                SQL("GRANT SELECT, INSERT ON {schema}.{events}, {schema}.{log} TO {role}").format(
                    **names
                )
            )
