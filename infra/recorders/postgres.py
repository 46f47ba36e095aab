"""The event store on PostgreSQL: parallel writers, positions assigned after commit.

See the package docstring for the design; the SQL objects are created here:

- ``caseledger_events`` and ``caseledger_log`` with append-only triggers;
- ``caseledger_log_state``: one row, ``tx_offset`` (0 unless the store was restored into a
  cluster whose transaction ids are behind the stored ones: ``caseledger migrate`` raises it so
  that new ids sort after the old ones);
- ``caseledger_events_tx_id()``: the column default of ``tx_id`` (the writing transaction's id
  plus ``tx_offset``); the application's role cannot set ``tx_id`` itself;
- ``caseledger_log_sequence(...)``: one sequencer pass; ``SECURITY DEFINER``, so that the
  application's role, which may not insert into the log, sequences only through it;
- ``caseledger_events_append(...)``: insert one event, commit, then a pass unless one is running.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Notification, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from domain.integrity import GENESIS, LogRow, StoredRow, VerificationReport, verify
from domain.store import LogRecord, Seal
from infra.recorders.common import (
    EVENTS_TABLE,
    CaseStoredEvent,
    as_uuid,
    case_stored,
    log,
    log_table_name,
    sealed,
)

POSITION_WAIT_SECONDS = 1.0
SEQUENCE_BATCH = 5000
SWEEP_SECONDS = 0.1
HELD_BACK_REPORT_SECONDS = 10.0
INSERTABLE = (
    "event_id, case_id, version, type, schema_version, occurred_at, recorded_at, actor, "
    "payload, hash"
)


class GroupSequencer:
    """Runs sequencer passes for all the writers of one process, so that they share them.

    A writer that has committed hands its row ids over and waits; one thread runs a pass for
    everything waiting, then another while writers keep arriving (each pass sequences all that
    committed before it), and wakes the writers whose rows got positions. Rows held back by an
    older open transaction are retried with a growing pause (and the session holding them back
    is logged); a writer stops waiting after its timeout and answers without a position.
    """

    def __init__(self, recorder: PostgresCaseRecorder) -> None:
        self.recorder = recorder
        self.changed = threading.Condition()
        self.waiting: Counter[int] = Counter()  # row id -> how many callers wait for it
        self.found: dict[int, int] = {}
        self.thread: threading.Thread | None = None
        self.held_back_since: float | None = None
        self.last_report = -math.inf

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
            answer = {r: self.found[r] for r in row_ids if r in self.found}
            self.waiting.subtract(row_ids)
            for r in row_ids:
                if self.waiting[r] <= 0:
                    del self.waiting[r]
                    self.found.pop(r, None)
            return answer

    def _run(self) -> None:
        pause = 0.0
        while True:
            with self.changed:
                while not (self.waiting.keys() - self.found.keys()):
                    if not self.changed.wait(timeout=5.0) and not self.waiting:
                        self.thread = None
                        return  # idle: the next writer starts a new thread
                wanted = list(self.waiting.keys() - self.found.keys())
            try:
                with self.recorder.datastore.get_connection() as conn:
                    found = self.recorder._sequence(conn, wait=True, row_ids=wanted)
                    if len(found) < len(wanted):
                        self._report_held_back(conn)
            except Exception as e:  # the store is unreachable or refuses: writers time out
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
                self.held_back_since = None

    def _report_held_back(self, conn: Any) -> None:
        """Name the oldest open transaction when events have waited for a second or more."""
        now = time.monotonic()
        self.held_back_since = self.held_back_since or now
        if now - self.held_back_since < 1.0 or now - self.last_report < HELD_BACK_REPORT_SECONDS:
            return
        self.last_report = now
        oldest = conn.execute(
            "SELECT pid, datname, usename, state, xact_start::text AS since, "
            "left(query, 200) AS query FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
            "ORDER BY age(backend_xid) DESC LIMIT 1"
        ).fetchone()
        log.warning(
            "global log held back by an open transaction",
            waiting_s=round(now - self.held_back_since, 1),
            **(oldest or {}),
        )


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
            "state": Identifier(f"{self.log_table}_state"),
            "tx_id": Identifier(f"{events_table_name}_tx_id"),
            "sequence": Identifier(f"{self.log_table}_sequence"),
            "append": Identifier(f"{events_table_name}_append"),
            "refuse": Identifier(f"{self.log_table}_refuse_change"),
            "key": Literal(self.lock_key),
            "genesis": Literal(GENESIS),
            "insertable": SQL(INSERTABLE),
        }
        self.names = names

        def sql(text: str, **more: Any) -> Composed:
            return SQL(text).format(**names, **more)

        self.sql_create_statements = [
            sql(
                "CREATE TABLE IF NOT EXISTS {schema}.{state} ("
                "id boolean PRIMARY KEY DEFAULT true CHECK (id), "
                "tx_offset bigint NOT NULL DEFAULT 0)"
            ),
            sql("INSERT INTO {schema}.{state} (id) VALUES (true) ON CONFLICT DO NOTHING"),
            sql(
                "CREATE TABLE IF NOT EXISTS {schema}.{log} ("
                "position bigint PRIMARY KEY, "
                "tx_id bigint NOT NULL, "
                "row_id bigint NOT NULL UNIQUE, "
                "event_id text NOT NULL, "
                "case_id uuid NOT NULL, "
                "version bigint NOT NULL, "
                "event_hash bytea NOT NULL, "
                "log_hash bytea NOT NULL)"
            ),
            sql(
                "CREATE OR REPLACE FUNCTION {schema}.{tx_id}() RETURNS bigint LANGUAGE plpgsql "
                "SET search_path = pg_catalog, pg_temp AS $$ DECLARE t bigint; head bigint; BEGIN "
                "SELECT pg_current_xact_id()::text::bigint + s.tx_offset INTO t "
                "FROM {schema}.{state} s; "
                "SELECT l.tx_id INTO head FROM {schema}.{log} l ORDER BY l.position DESC LIMIT 1; "
                # never true within one cluster: the sequenced rows' transactions have all ended
                "IF head >= t THEN RAISE EXCEPTION 'the global log is ahead of this cluster''s "
                "transaction ids (restored from another cluster?): run caseledger migrate'; "
                "END IF; RETURN t; END $$"
            ),
            sql(
                "CREATE TABLE IF NOT EXISTS {schema}.{events} ("
                "row_id bigint GENERATED ALWAYS AS IDENTITY UNIQUE, "
                "tx_id bigint NOT NULL DEFAULT {schema}.{tx_id}(), "
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
            *(
                sql(
                    "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (" + columns + ")",
                    index=Identifier(f"{table}_{name}_idx"),
                    table=Identifier(table),
                )
                for table, name, columns in (
                    (events_table_name, "tx", "tx_id, row_id"),
                    (events_table_name, "recorded_at", "recorded_at"),
                    (events_table_name, "occurred_at", "occurred_at"),
                    (self.log_table, "case", "case_id"),
                )
            ),
            sql(
                "CREATE OR REPLACE FUNCTION {schema}.{refuse}() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
                "USING ERRCODE = 'insufficient_privilege'; END $$"
            ),
        ]
        for table in (events_table_name, self.log_table):
            for operations, name in (("UPDATE OR DELETE", "change"), ("TRUNCATE", "truncate")):
                self.sql_create_statements.append(
                    sql(
                        "CREATE OR REPLACE TRIGGER {trigger} BEFORE " + operations + " ON "
                        "{schema}.{table} FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}()",
                        trigger=Identifier(f"refuse_{name}"),
                        table=Identifier(table),
                    )
                )
        self.sql_create_statements += [
            sql(
                "CREATE OR REPLACE FUNCTION {schema}.{sequence}("
                "batch integer, channel text, wait boolean, wanted bigint[]) "
                "RETURNS TABLE (event_row bigint, log_position bigint) LANGUAGE plpgsql "
                "SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ "
                "DECLARE offs bigint; horizon bigint; upper_bound bigint; pos bigint; "
                "last_tx bigint; last_row bigint; sealed bytea; r record; added integer; "
                "total bigint := 0; "
                "BEGIN "
                "IF batch IS NULL OR batch < 1 THEN "
                " RAISE EXCEPTION 'batch must be at least 1, not %', batch; "
                "END IF; "
                # each statement below takes its own snapshot: READ COMMITTED is required
                "IF current_setting('transaction_isolation') <> 'read committed' THEN "
                " RAISE EXCEPTION 'sequencing the global log needs READ COMMITTED, not %', "
                " current_setting('transaction_isolation'); "
                "END IF; "
                # a lost pass is redone identically after a crash: see the package docstring
                "PERFORM set_config('synchronous_commit', 'off', true); "
                "IF wait THEN PERFORM pg_advisory_xact_lock({key}); "
                "ELSIF NOT pg_try_advisory_xact_lock({key}) THEN "
                " RETURN QUERY SELECT l.row_id, l.position FROM {schema}.{log} l "
                " WHERE l.row_id = ANY(wanted); RETURN; "
                "END IF; "
                # after the lock: this snapshot sees every pass committed before
                "SELECT l.position, l.tx_id, l.row_id, l.log_hash "
                "INTO pos, last_tx, last_row, sealed "
                "FROM {schema}.{log} l ORDER BY l.position DESC LIMIT 1; "
                "IF NOT FOUND THEN pos := 0; last_tx := -1; last_row := 0; sealed := {genesis};"
                " END IF; "
                "SELECT s.tx_offset INTO offs FROM {schema}.{state} s; "
                # every transaction below the horizon has ended: rows below it are final
                "SELECT pg_snapshot_xmin(c)::text::bigint + offs, "
                "pg_snapshot_xmax(c)::text::bigint + offs INTO horizon, upper_bound "
                "FROM pg_current_snapshot() c; "
                "IF last_tx >= upper_bound THEN "
                " RAISE EXCEPTION 'the global log is ahead of this cluster''s transaction ids "
                "(restored from another cluster?): run caseledger migrate'; "
                "END IF; "
                "LOOP "
                " added := 0; "
                " FOR r IN SELECT e.row_id, e.tx_id, e.event_id, e.case_id, e.version, e.hash "
                " FROM {schema}.{events} e WHERE (e.tx_id, e.row_id) > (last_tx, last_row) "
                " AND e.tx_id < horizon ORDER BY e.tx_id, e.row_id LIMIT batch LOOP "
                "  pos := pos + 1; "
                "  sealed := sha256(sealed || int8send(pos) || r.hash); "
                "  INSERT INTO {schema}.{log} (position, tx_id, row_id, event_id, case_id, "
                "  version, event_hash, log_hash) VALUES (pos, r.tx_id, r.row_id, r.event_id, "
                "  r.case_id, r.version, r.hash, sealed); "
                "  last_tx := r.tx_id; last_row := r.row_id; added := added + 1; "
                " END LOOP; "
                " total := total + added; "
                " EXIT WHEN added < batch; "
                "END LOOP; "
                "IF total > 0 THEN PERFORM pg_notify(channel, pos::text); END IF; "
                "RETURN QUERY SELECT l.row_id, l.position FROM {schema}.{log} l "
                "WHERE l.row_id = ANY(wanted); "
                "END $$"
            ),
            sql("REVOKE EXECUTE ON FUNCTION {schema}.{sequence} FROM PUBLIC"),
            sql(
                "CREATE OR REPLACE PROCEDURE {schema}.{append}("
                "p_event_id text, p_case_id uuid, p_version bigint, p_type text, "
                "p_schema_version integer, p_occurred_at timestamptz, p_recorded_at timestamptz, "
                "p_actor text, p_payload bytea, p_genesis bytea, p_canonical bytea, "
                "p_batch integer, p_channel text, "
                "INOUT event_row bigint DEFAULT NULL, INOUT log_position bigint DEFAULT NULL) "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "INSERT INTO {schema}.{events} AS e ({insertable}) VALUES ("
                "p_event_id, p_case_id, p_version, p_type, p_schema_version, p_occurred_at, "
                "p_recorded_at, p_actor, p_payload, sha256(CASE WHEN p_version = 1 THEN p_genesis "
                "ELSE (SELECT p.hash FROM {schema}.{events} p WHERE p.case_id = p_case_id "
                "AND p.version = p_version - 1) END || p_canonical)) "
                "RETURNING e.row_id INTO event_row; "
                # the event is durable here; then a pass, unless one is running
                "COMMIT; "
                "BEGIN "
                " SELECT s.log_position INTO log_position "
                " FROM {schema}.{sequence}(p_batch, p_channel, false, ARRAY[event_row]) s; "
                "EXCEPTION WHEN OTHERS THEN "
                " RAISE WARNING 'sequencer pass failed: %', SQLERRM; log_position := NULL; "
                "END; "
                "END $$"
            ),
        ]

        self.insert_row_statement = sql(
            "INSERT INTO {schema}.{events} ({insertable}) VALUES ("
            "%(event_id)s, %(case_id)s, %(version)s, %(type)s, %(schema_version)s, "
            "%(occurred_at)s, %(recorded_at)s, %(actor)s, %(payload)s, sha256("
            "CASE WHEN %(version)s = 1 THEN %(genesis)s ELSE (SELECT p.hash FROM "
            "{schema}.{events} p WHERE p.case_id = %(case_id)s AND p.version = %(version)s - 1)"
            " END || %(canonical)s)) RETURNING row_id"
        )
        self.append_call = sql(
            "CALL {schema}.{append}(%(event_id)s, %(case_id)s, %(version)s, %(type)s, "
            "%(schema_version)s, %(occurred_at)s, %(recorded_at)s, %(actor)s, %(payload)s, "
            "%(genesis)s, %(canonical)s, %(batch)s, %(channel)s)"
        )
        self.sequence_call = sql("SELECT * FROM {schema}.{sequence}(%s, %s, %s, %s::bigint[])")
        self.repair_offset_statement = sql(
            "UPDATE {schema}.{state} SET tx_offset = tx_offset + needed "
            "FROM (SELECT max(e.tx_id) + 1 - (pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
            " + (SELECT s.tx_offset FROM {schema}.{state} s)) AS needed "
            "FROM {schema}.{events} e) n WHERE needed > 0 RETURNING tx_offset"
        )
        self.select_rows_statement = sql(
            "SELECT version, type, payload FROM {schema}.{events} WHERE case_id = %s"
        )
        log_select = (  # the log's columns as ``sealed`` reads them
            "SELECT l.position, e.case_id, e.version, e.type, e.payload, e.event_id, e.hash "
            "FROM {schema}.{log} l JOIN {schema}.{events} e ON e.row_id = l.row_id "
        )
        self.log_statement = sql(log_select + "WHERE l.position > %s")
        self.max_position_statement = sql("SELECT max(position) AS max FROM {schema}.{log}")
        self.case_ids_statement = sql(
            "SELECT DISTINCT case_id FROM {schema}.{log} WHERE position <= %s ORDER BY case_id"
        )
        self.cases_statement = sql(
            log_select
            + "WHERE l.case_id = ANY(%s) AND l.position <= %s ORDER BY l.case_id, l.version"
        )
        self.horizon_statement = sql(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + s.tx_offset AS horizon "
            "FROM {schema}.{state} s"
        )
        self.seals_statement = sql(
            "SELECT e.version, e.row_id, l.position, e.hash FROM {schema}.{events} e "
            "LEFT JOIN {schema}.{log} l ON l.row_id = e.row_id WHERE e.case_id = %s"
        )
        self.locate_statement = sql(
            "SELECT event_id, case_id, version FROM {schema}.{events} WHERE event_id = ANY(%s)"
        )
        self.verify_log_statement = sql(
            "SELECT l.position, l.event_id, l.case_id, l.version, l.event_hash, l.log_hash, "
            "CASE WHEN e.event_id = l.event_id AND e.case_id = l.case_id "
            "AND e.version = l.version THEN e.hash END AS current_hash "
            "FROM {schema}.{log} l LEFT JOIN {schema}.{events} e ON e.row_id = l.row_id "
        )
        self.verify_events_statement = sql(
            "SELECT e.event_id, e.case_id, e.version, e.type, e.schema_version, e.occurred_at, "
            "e.recorded_at, e.actor, e.payload, e.hash, l.position, "
            "(l.position IS NULL AND e.tx_id < %(horizon)s) AS unsequenced "
            "FROM {schema}.{events} e LEFT JOIN {schema}.{log} l ON l.row_id = e.row_id "
        )
        self.sequencer = GroupSequencer(self)
        self.last_sweep = -math.inf
        self._check_isolation()

    def _check_isolation(self) -> None:
        """Sequencer passes rely on READ COMMITTED (a snapshot per statement): refuse to start
        on a server or role whose default is stricter, rather than fail on every pass."""
        with self.datastore.get_connection() as conn:
            level = conn.execute("SHOW default_transaction_isolation").fetchone()
        if level["default_transaction_isolation"] != "read committed":
            raise ProgrammingError(
                "caseledger needs default_transaction_isolation = 'read committed' (PostgreSQL's "
                f"default), not {level['default_transaction_isolation']!r}"
            )

    def _create_table(self, curs: Any) -> None:
        """Create or update the tables, functions and triggers, one process at a time
        (concurrent ``CREATE OR REPLACE`` of the same triggers deadlock otherwise); then, if the
        stored transaction ids are ahead of this cluster's (a restore from another cluster),
        raise ``tx_offset`` so that new events sort after them."""
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key ^ 1,))
        self._refuse_older_layout(curs)
        super()._create_table(curs)
        # no writer may be between taking an id and inserting while the offset moves
        curs.execute(
            SQL("LOCK TABLE {schema}.{events} IN SHARE ROW EXCLUSIVE MODE").format(**self.names)
        )
        curs.execute(self.repair_offset_statement)
        repaired = curs.fetchone()
        if repaired:
            log.warning("transaction ids offset after a restore", tx_offset=repaired["tx_offset"])

    def _refuse_older_layout(self, curs: Any) -> None:
        """Tables left by an earlier version keep their old columns (``CREATE TABLE IF NOT
        EXISTS`` leaves them be): say so clearly rather than fail later."""
        expected = {
            self.events_table_name: {"row_id", "tx_id", "event_id", "hash", "payload"},
            self.log_table: {"position", "tx_id", "event_hash", "log_hash"},
        }
        for table, needed in expected.items():
            curs.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (self.datastore.schema, table),
            )
            columns = {row["column_name"]: row["data_type"] for row in curs.fetchall()}
            missing = needed - columns.keys()
            if columns and (missing or columns.get("tx_id") != "bigint"):
                raise ProgrammingError(
                    f"{self.datastore.schema}.{table} has the layout of an earlier caseledger "
                    f"(missing or different: {', '.join(sorted(missing)) or 'tx_id'}); rename it "
                    "aside and let this version create its own, then copy the events over"
                )

    # --- writing ---

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> list[int | None]:
        """Insert the events (hash chained in SQL), commit, then wait for their positions.

        A single event is one call of the append procedure (insert, commit, a pass unless one
        is running: one round trip); several are one transaction. Events the procedure did not
        sequence wait for the ``GroupSequencer``.
        """
        if not stored_events:
            return []
        params = [self._row_params(case_stored(s)) for s in stored_events]
        with self.datastore.get_connection() as conn:
            if len(params) == 1:
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
        positions = self.sequencer.await_positions(row_ids, POSITION_WAIT_SECONDS)
        return [positions.get(row_id) for row_id in row_ids]

    def _row_params(self, stored: CaseStoredEvent) -> dict[str, Any]:
        return {
            "event_id": stored.event_id,
            "case_id": as_uuid(stored.originator_id),
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

    def _sequence(self, conn: Any, *, wait: bool, row_ids: Sequence[int] = ()) -> dict[int, int]:
        """One sequencer pass (the database function: one statement, its own transaction).

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
        its pass. A failure is logged; the read goes on."""
        now = time.monotonic()
        if now - self.last_sweep < SWEEP_SECONDS:
            return
        self.last_sweep = now
        try:
            self._sequence(conn, wait=False)
        except Exception as e:
            log.warning("sequencer sweep failed", error=str(e))

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
        case_id = as_uuid(originator_id)
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(case_id, version, type_, bytes(payload))
                for version, type_, payload in curs.fetchall()
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
        """The global log after a position, in position order."""
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
            with conn.cursor(row_factory=tuple_row) as curs:  # tuples: read by the thousand
                curs.execute(statement, params, prepare=True)
                return [sealed(row) for row in curs.fetchall()]

    def analyze(self) -> None:
        """Refresh the planner's statistics of the events and the log (as the owner; another
        role gets a warning and nothing changes). A rebuild runs it first: without statistics,
        as on a store loaded since autovacuum last ran, its reads by case scan whole tables."""
        with self.datastore.get_connection() as conn:
            conn.execute(SQL("ANALYZE {schema}.{log}").format(**self.names))
            conn.execute(SQL("ANALYZE {schema}.{events}").format(**self.names))

    def case_ids_upto(self, upto: int) -> list[UUID]:
        """Every case with an event at a position up to ``upto``, in id order."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self.case_ids_statement, (upto,))
            return [row[0] for row in curs.fetchall()]

    def cases_upto(self, case_ids: Sequence[UUID], upto: int) -> list[LogRecord]:
        """The log entries of these cases up to position ``upto``, by case and version (what
        a rebuild reads, case by case)."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self.cases_statement, (list(case_ids), upto))
            return [sealed(row) for row in curs.fetchall()]

    def max_notification_id(self) -> int | None:
        with self.datastore.get_connection() as conn:
            self._sweep(conn)
            with conn.cursor() as curs:
                curs.execute(self.max_position_statement)
                row = curs.fetchone()
                return None if row is None else row["max"]

    # --- the case index ---

    def seals(self, case_id: UUID) -> dict[int, Seal]:
        """Version -> position in the global log and hash of each stored event of a case.

        Events not yet sequenced wait for the ``GroupSequencer`` as an append does (at most
        ``POSITION_WAIT_SECONDS``), and are answered without a position after that.
        """
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.seals_statement, (case_id,), prepare=True)
            rows = curs.fetchall()
        waiting = [row["row_id"] for row in rows if row["position"] is None]
        found = self.sequencer.await_positions(waiting, POSITION_WAIT_SECONDS) if waiting else {}
        return {
            row["version"]: Seal(
                row["position"] or found.get(row["row_id"]), bytes(row["hash"]).hex()
            )
            for row in rows
        }

    def positions(self, case_id: UUID) -> dict[int, int]:
        return {v: s.position for v, s in self.seals(case_id).items() if s.position is not None}

    def locate(self, event_ids: Sequence[str]) -> dict[str, tuple[UUID, int]]:
        """Where each of these event ids is already recorded: id -> (case id, version)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.locate_statement, (list(event_ids),))
            return {row["event_id"]: (row["case_id"], row["version"]) for row in curs.fetchall()}

    def verify(self, case_id: UUID | None = None) -> VerificationReport:
        """Recompute every hash and check every chain and the log (``domain.integrity``).

        Notes the horizon (every transaction below it has ended), runs a sequencer pass, which
        sequences at least up to it (if it fails, verification goes on and reports what is not
        sequenced), then reads events and log in one repeatable-read snapshot, streaming rows
        through server-side cursors. An event without a position is a problem only below that
        horizon: events committed since may not have been sequenced yet.
        """
        with self.datastore.get_connection() as conn:
            horizon = conn.execute(self.horizon_statement).fetchone()["horizon"]
        try:
            self.sequence()
        except Exception as e:
            log.warning("sequencer pass failed before verification", error=str(e))
        log_statement, events_statement = self.verify_log_statement, self.verify_events_statement
        params: dict[str, Any] = {"horizon": horizon}
        if case_id is not None:
            log_statement += SQL("WHERE l.case_id = %(case_id)s ")
            events_statement += SQL("WHERE e.case_id = %(case_id)s ")
            params["case_id"] = case_id
        log_statement += SQL("ORDER BY l.position")
        events_statement += SQL("ORDER BY e.case_id, e.version")
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            with (
                conn.cursor(name="verify_log") as log_cursor,
                conn.cursor(name="verify_events") as events_cursor,
            ):
                log_cursor.itersize = events_cursor.itersize = 5000
                log_cursor.execute(
                    log_statement, {k: v for k, v in params.items() if k == "case_id"}
                )
                events_cursor.execute(events_statement, params)
                entries = (
                    LogRow(
                        r["position"],
                        r["event_id"],
                        r["case_id"],
                        r["version"],
                        bytes(r["event_hash"]),
                        bytes(r["log_hash"]),
                        None if r["current_hash"] is None else bytes(r["current_hash"]),
                    )
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
                        unsequenced=r["unsequenced"],
                    )
                    for r in events_cursor
                )
                return verify(rows, entries, whole_log=case_id is None)

    def grant_writer(self, role: str, password: str | None = None) -> None:
        """Let ``role`` record and read, and nothing more: SELECT on the store, INSERT into
        the events table's own columns (not ``row_id`` nor ``tx_id``), no write to the log
        (it sequences through the ``SECURITY DEFINER`` function). The role is created if
        missing; an existing one keeps its password unless ``password`` is given."""
        names = {**self.names, "role": Identifier(role)}

        def sql(text: str) -> Composed:
            return SQL(text).format(**names)

        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            verb = "ALTER" if curs.fetchone() else "CREATE"
            if password:
                statement = SQL(verb + " ROLE {} LOGIN PASSWORD {}")
                curs.execute(statement.format(names["role"], password))
            elif verb == "CREATE":
                curs.execute(sql("CREATE ROLE {role} LOGIN"))
            curs.execute(sql("GRANT USAGE ON SCHEMA {schema} TO {role}"))
            curs.execute(
                sql("REVOKE ALL ON {schema}.{events}, {schema}.{log}, {schema}.{state} FROM {role}")
            )
            curs.execute(
                sql("GRANT SELECT ON {schema}.{events}, {schema}.{log}, {schema}.{state} TO {role}")
            )
            curs.execute(sql("GRANT INSERT ({insertable}) ON {schema}.{events} TO {role}"))
            curs.execute(sql("GRANT EXECUTE ON FUNCTION {schema}.{sequence} TO {role}"))

    # --- the rest of the store interface (domain.store.Store) ---

    def head(self) -> int:
        return int(self.max_notification_id() or 0)

    def log_after(
        self, position: int, limit: int, types: Sequence[str] = ()
    ) -> list[LogRecord]:
        found = self.select_notifications(position, limit, topics=types, inclusive_of_start=False)
        return cast(list[LogRecord], found)

    @property
    def log_channel(self) -> str | None:
        return self.channel_name
