"""The event store on PostgreSQL: parallel writers, positions assigned after commit.

See the package docstring for the design. The SQL is in ``sql/`` (package data, read with
``importlib.resources``); this module composes it with the store's names and runs it.

The scripts create or update the database objects, in this order, at each start (one process
at a time; tables ``IF NOT EXISTS``, functions ``CREATE OR REPLACE``, so an existing store gets
the current functions):

- ``tables.sql``: ``caseledger_log_state`` (one row, ``tx_offset``: 0 unless the store was
  restored into a cluster whose transaction ids are behind the stored ones; ``caseledger
  migrate`` raises it so that new ids sort after the old ones), ``caseledger_log``,
  ``caseledger_events_tx_id()`` (the column default of ``tx_id``: the writing transaction's id
  plus ``tx_offset``; the application's role cannot set ``tx_id`` itself), ``caseledger_events``,
  the access log ``caseledger_access_log`` with its case index ``caseledger_access_cases``, and
  the indexes;
- ``triggers.sql``: the append-only triggers (of the access log too);
- ``sequence.sql``: ``caseledger_log_sequence(...)``, one sequencer pass; ``SECURITY DEFINER``,
  so that the application's role, which may not insert into the log, sequences only through it;
- ``append.sql``: ``caseledger_events_hash(...)``, the hash of a new event (the one place the
  chain is written in SQL), and ``caseledger_events_append(...)``: insert one event, commit,
  then a pass unless one is running.

``statements.sql`` holds the statements run at runtime, by name: all the SQL is in one
language and one place, and this module only binds parameters (and appends the optional
conditions of a few reads, next to the parameters they take).

The access log is chained in Python (``domain.access.access_hash``): an appender takes a
transaction-scoped advisory lock (its key derived from the access log's name, as the
sequencer's is from the log's), reads the last entry, and inserts its entries at the next
positions, each hash chained from the one before, all in one transaction. Appenders therefore
take turns, which keeps positions gap-free and the chain serial; the lock needs no privilege,
so the application's role needs only INSERT and SELECT.

Placeholders are ``{name}`` (``psycopg.sql.SQL.format``: schema, tables, functions, indexes,
the lock key, the genesis hash, and the column lists made from ``domain.integrity``'s one list
of the stored columns), so a literal brace in a file would have to be doubled; there are none.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache, wraps
from importlib.resources import files
from typing import Any, TypeVar, cast
from uuid import UUID

import orjson
import psycopg
from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal, Placeholder

from domain.access import ACCESS_GENESIS, AccessEntry, AccessRecord
from domain.integrity import (
    HASHED_COLUMNS,
    STORED_COLUMNS,
    LogRow,
    LogSpan,
    Progress,
    StoredRow,
    TreeCheck,
    VerificationReport,
    hashed_values,
    utc_text,
    verify,
    verify_access,
)
from domain.personal import WrappedKey
from domain.store import LogRecord, Seal, StoredCheckpoint
from domain.tlog import EPOCH, GENESIS, Frontier, LogEntry, Node, leaf_hash, range_nodes
from infra.recorders.common import (
    ACCESS_COLUMNS,
    ACCESS_FIELDS,
    EVENTS_TABLE,
    LOG_COLUMNS,
    CaseStoredEvent,
    access_record,
    access_row,
    access_table_names,
    as_stored,
    as_uuid,
    case_index,
    case_stored,
    chained,
    log,
    log_table_name,
    person_keys_table_name,
    sealed,
    wrapped_key,
)

RETRIES = 10
RETRY_SECONDS = 0.2
"""A store call that loses its connection is tried again, up to ``RETRIES`` times, as the
library's own recorder does (``_retried``)."""

POSITION_WAIT_SECONDS = 1.0
SEQUENCE_BATCH = 5000
SWEEP_SECONDS = 0.1
HELD_BACK_REPORT_SECONDS = 10.0
TREE_REVOKE = (
    "REVOKE ALL ON {schema}.{tree}, {schema}.{checkpoints}, {schema}.{cosignatures} FROM {role}"
)
CREATE_SCRIPTS = ("tables.sql", "triggers.sql", "sequence.sql", "append.sql")

COLUMN_TYPES = {
    "event_id": "text",
    "case_id": "uuid",
    "version": "bigint",
    "type": "text",
    "schema_version": "integer",
    "occurred_at": "timestamptz",
    "recorded_at": "timestamptz",
    "actor": "text",
    "payload": "bytea",
}
"""PostgreSQL's type of each hashed column (``tables.sql``), to cast parameters to."""

ACCESS_COLUMN_TYPES = {
    "position": "bigint",
    "kind": "text",
    "at": "timestamptz",
    "actor_id": "text",
    "role": "text",
    "unit": "text",
    "purpose": "text",
    "route": "text",
    "query": "text",
    "case_ids": "uuid[]",
    "first_position": "bigint",
    "last_position": "bigint",
    "outcome": "text",
    "request_id": "text",
    "detail": "json",
    "hash": "bytea",
}
"""PostgreSQL's type of each column of the access log (``tables.sql``), to cast parameters to."""
assert tuple(ACCESS_COLUMN_TYPES) == ACCESS_COLUMNS, "a field of AccessEntry has no column"

T = TypeVar("T")


def _retried(method: Callable[..., T]) -> Callable[..., T]:
    """Try a store call again when its connection was lost (a failover, a restart, a backend
    terminated): the pool's idle connections are checked once, so that the dead ones are
    replaced rather than handed out again, and the call retried after a short pause.

    Safe for writes: an insert whose commit was lost with the connection is refused the second
    time by the events table's keys, which ``CaseLedger`` answers as the repeat it is."""

    @wraps(method)
    def call(self: PostgresCaseRecorder, *args: Any, **kwargs: Any) -> T:
        for attempt in range(RETRIES):
            try:
                return method(self, *args, **kwargs)
            except (InterfaceError, OperationalError) as e:
                if attempt == RETRIES - 1:
                    raise
                log.warning("store_call_retried", call=method.__name__, error=str(e))
                if attempt == 0:
                    with contextlib.suppress(Exception):
                        self.datastore.pool.check()
                time.sleep(RETRY_SECONDS * random.uniform(0.9, 1.1))
        raise AssertionError("unreachable")

    return call


@cache
def sql_text(name: str) -> str:
    """The text of ``sql/<name>``: package data, read through ``importlib.resources`` (so from
    an installed wheel too)."""
    return (files("infra.recorders") / "sql" / name).read_text(encoding="utf-8")


def compose(text: str, names: dict[str, Composable]) -> Composed:
    """``text`` with its ``{name}`` placeholders filled (``SQL.format``: a literal brace would
    have to be doubled; the files hold none)."""
    return SQL(text).format(**names)


def sql_script(name: str, names: dict[str, Composable]) -> Composed:
    """A script that creates or updates objects, run as one statement list (comments and all:
    those inside function bodies are kept in the database). It must not mention the library's
    ``CREATE TYPE``, which ``create_table`` runs apart, each in a transaction of its own."""
    text = sql_text(name)
    if "CREATE TYPE" in text:
        raise ProgrammingError(f"sql/{name} must not contain 'CREATE TYPE'")
    return compose(text, names)


def sql_statements(name: str, names: dict[str, Composable]) -> dict[str, Composed]:
    """The named statements of a file (``-- name: <name>`` starts each), comment lines
    dropped, each ending with a newline so that a condition may be appended."""
    sections: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in sql_text(name).splitlines():
        if found := re.fullmatch(r"-- name: (\w+)", line.strip()):
            lines = sections.setdefault(found[1], [])
        elif line.strip() and not line.lstrip().startswith("--"):
            lines.append(line)
    return {key: compose("\n".join(text) + "\n", names) for key, text in sections.items()}


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


def _one(cursor: Any) -> dict[str, Any]:
    """The row a statement that always answers one answered."""
    row = cursor.fetchone()
    if row is None:
        raise ProgrammingError("the statement answered no row")
    return cast(dict[str, Any], row)


def _lock_key(name: str) -> int:
    """An advisory lock key of the store's, derived from a qualified table name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _access_params(record: AccessRecord) -> dict[str, Any]:
    """The parameters of ``insert_access``: the record's columns by name (the case ids as a
    list, ``detail`` as its JSON text)."""
    entry = record.entry
    params: dict[str, Any] = {name: getattr(entry, name) for name in ACCESS_FIELDS}
    params["case_ids"] = list(entry.case_ids)
    params["detail"] = orjson.dumps(entry.detail).decode()
    params["position"], params["hash"] = record.position, record.hash
    return params


def _stored_row(row: dict[str, Any]) -> StoredRow:
    """A row of ``verify_events`` (the stored columns, position, unsequenced, by name), its
    timestamps as the canonical bytes hold them."""
    return StoredRow(
        **{
            **row,
            "occurred_at": utc_text(row["occurred_at"]),
            "recorded_at": utc_text(row["recorded_at"]),
        }
    )


class PostgresCaseRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, events_table_name: str = EVENTS_TABLE):
        super().__init__(datastore, events_table_name=events_table_name)
        self.log_table = log_table_name(events_table_name)
        self.access_table, self.access_cases_table = access_table_names(events_table_name)
        self.keys_table = person_keys_table_name(events_table_name)
        self.check_identifier_length(self.log_table + "_refuse_change")
        self.check_identifier_length(self.keys_table + "_guard")
        self.check_identifier_length(self.access_table + "_actor_idx")
        self.lock_key = _lock_key(f"{datastore.schema}.{self.log_table}")
        self.access_lock_key = _lock_key(f"{datastore.schema}.{self.access_table}")
        events, log, access = events_table_name, self.log_table, self.access_table
        self.names = names = {
            "schema": Identifier(datastore.schema),
            "events": Identifier(events),
            "log": Identifier(log),
            "state": Identifier(f"{log}_state"),
            "tree": Identifier(f"{log}_tree"),
            "checkpoints": Identifier(f"{log}_checkpoints"),
            "cosignatures": Identifier(f"{log}_cosignatures"),
            "tx_id": Identifier(f"{events}_tx_id"),
            "event_hash": Identifier(f"{events}_hash"),
            "append": Identifier(f"{events}_append"),
            "sequence": Identifier(f"{log}_sequence"),
            "refuse": Identifier(f"{log}_refuse_change"),
            "events_tx_idx": Identifier(f"{events}_tx_idx"),
            "events_recorded_at_idx": Identifier(f"{events}_recorded_at_idx"),
            "events_occurred_at_idx": Identifier(f"{events}_occurred_at_idx"),
            "log_case_idx": Identifier(f"{log}_case_idx"),
            "access": Identifier(access),
            "access_cases": Identifier(self.access_cases_table),
            "access_actor_idx": Identifier(f"{access}_actor_idx"),
            "access_at_idx": Identifier(f"{access}_at_idx"),
            "keys": Identifier(self.keys_table),
            "keys_guard": Identifier(f"{self.keys_table}_guard"),
            "key": Literal(self.lock_key),
            "access_key": Literal(self.access_lock_key),
            "genesis": Literal(GENESIS),
            # the column lists, from domain.integrity's one list of the stored columns
            "insertable": SQL(", ").join(map(Identifier, STORED_COLUMNS)),
            "parameters": SQL(", ").join(Identifier(f"p_{name}") for name in HASHED_COLUMNS),
            # each parameter cast to its column's exact type: a function or procedure is then
            # chosen by exact match, never an overload someone with CREATE on the schema added
            "values": SQL(", ").join(
                Placeholder(name) + SQL("::" + COLUMN_TYPES[name]) for name in HASHED_COLUMNS
            ),
            "stored_e": SQL(", ").join(Identifier("e", name) for name in STORED_COLUMNS),
            "log_columns": SQL(LOG_COLUMNS),
            "access_columns": SQL(", ").join(map(Identifier, ACCESS_COLUMNS)),
            "access_values": SQL(", ").join(
                Placeholder(name) + SQL("::" + kind) for name, kind in ACCESS_COLUMN_TYPES.items()
            ),
            "access_a": SQL(", ").join(Identifier("a", name) for name in ACCESS_COLUMNS),
        }
        self.sql_create_statements = [sql_script(name, names) for name in CREATE_SCRIPTS]
        statements = sql_statements("statements.sql", names)
        self.insert_row_statement = statements["insert_row"]
        self.append_call = statements["append_call"]
        self.sequence_call = statements["sequence_call"]
        self.repair_offset_statement = statements["repair_offset"]
        self.select_rows_statement = statements["select_rows"]
        self.log_statement = statements["log"]
        self.max_position_statement = statements["max_position"]
        self.case_ids_statement = statements["case_ids"]
        self.cases_statement = statements["cases"]
        self.horizon_statement = statements["horizon"]
        self.seals_statement = statements["seals"]
        self.locate_statement = statements["locate"]
        self.verify_log_statement = statements["verify_log"]
        self.verify_events_statement = statements["verify_events"]
        self.access_lock_statement = statements["access_lock"]
        self.access_head_statement = statements["access_head"]
        self.insert_access_statement = statements["insert_access"]
        self.insert_access_cases_statement = statements["insert_access_cases"]
        self.access_entries_statement = statements["access_entries"]
        self.access_entries_of_case_statement = statements["access_entries_of_case"]
        self.verify_access_statement = statements["verify_access"]
        self.tree_statements = {
            name: statements[name]
            for name in (
                "tree_nodes",
                "tree_scan",
                "insert_tree",
                "log_entries",
                "log_range",
                "case_heads",
                "insert_checkpoint",
                "insert_cosignature",
                "checkpoints",
                "stored_rows",
            )
        }
        self.key_statements = {
            name: statements[name]
            for name in (
                "insert_key",
                "data_key",
                "erase_key",
                "data_keys",
                "rewrap",
                "kek_samples",
            )
        }
        self.sequencer = GroupSequencer(self)
        self.last_sweep = -math.inf
        self._check_isolation()

    def _check_isolation(self) -> None:
        """Sequencer passes rely on READ COMMITTED (a snapshot per statement): refuse to start
        on a server or role whose default is stricter, rather than fail on every pass."""
        with self.datastore.get_connection() as conn:
            level = _one(conn.execute("SHOW default_transaction_isolation"))
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
        self._grow_tree(curs)

    def _grow_tree(self, curs: Any) -> None:
        """Give the log's tree the entries it lacks (a store created before the tree was kept),
        under the sequencer's lock: afterwards each pass extends it with the log.

        A pass writes log entries and tree nodes in one transaction, so in one snapshot they
        agree unless the store predates the tree: only then is the lock taken (a pass waiting
        on this transaction's table locks while it waits on the pass's lock would deadlock)."""
        statements = self.tree_statements
        size_of_tree = SQL(
            "SELECT coalesce((SELECT t.idx + 1 FROM {schema}.{tree} t WHERE t.level = 0 "
            "ORDER BY t.idx DESC LIMIT 1), 0) AS n, "
            "coalesce((SELECT max(l.position) FROM {schema}.{log} l), 0) AS head"
        ).format(**self.names)
        curs.execute(size_of_tree)
        sizes = _one(curs)
        if sizes["n"] == sizes["head"]:
            return
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
        curs.execute(size_of_tree)
        size = _one(curs)["n"]
        frontier = Frontier(size, [])
        if size:
            nodes = range_nodes(0, size)
            found = self._nodes(curs, nodes)
            frontier.hashes = [found[n] for n in nodes]
        while True:
            curs.execute(statements["log_range"], (frontier.size, 5000))
            rows = curs.fetchall()
            if not rows:
                break
            completed = [
                node
                for row in rows
                for node in frontier.append(leaf_hash(_log_entry(row).encode()))
            ]
            levels, indexes, hashes = zip(*completed, strict=True)
            curs.execute(statements["insert_tree"], (list(levels), list(indexes), list(hashes)))

    def _nodes(self, curs: Any, nodes: Iterable[Node]) -> dict[Node, bytes]:
        wanted = list(nodes)
        curs.execute(
            self.tree_statements["tree_nodes"],
            ([level for level, _ in wanted], [idx for _, idx in wanted]),
        )
        return {(r["level"], r["idx"]): bytes(r["hash"]) for r in curs.fetchall()}

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

    @_retried
    def insert_events(  # type: ignore[override]  # a position may be None: see below
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> list[int | None]:
        """Insert the events (hash chained in SQL), commit, then wait for their positions.

        A single event is one call of the append procedure (insert, commit, a pass unless one
        is running: one round trip); several are one transaction. Events the procedure did not
        sequence wait for the ``GroupSequencer``; an event's position is None if it got none
        within ``POSITION_WAIT_SECONDS`` (the library declares ints).
        """
        if not stored_events:
            return []
        stored = [case_stored(s) for s in stored_events]
        params = [self._row_params(s) for s in stored]
        keys = [s.data_key for s in stored if s.data_key is not None]
        with self.datastore.get_connection() as conn:
            if len(params) == 1 and not keys:
                call = {**params[0], "batch": SEQUENCE_BATCH, "channel": self.channel_name}
                row = _one(conn.execute(self.append_call, call))
                if row["log_position"] is not None:
                    return [row["log_position"]]
                row_ids = [row["event_row"]]
            else:
                with conn.transaction(), conn.cursor() as curs:
                    for key in keys:  # a case's first event brings the person's data key
                        curs.execute(
                            self.key_statements["insert_key"],
                            (key.case_id, key.kek_id, key.wrapped),
                        )
                    curs.executemany(self.insert_row_statement, params, returning=True)
                    row_ids = []
                    while True:
                        row_ids.append(_one(curs)["row_id"])
                        if not curs.nextset():
                            break
        positions = self.sequencer.await_positions(row_ids, POSITION_WAIT_SECONDS)
        return [positions.get(row_id) for row_id in row_ids]

    def _row_params(self, stored: CaseStoredEvent) -> dict[str, Any]:
        """The parameters of ``insert_row`` and ``append_call``: the columns the hash covers,
        by name (the timestamps as their stored text, which PostgreSQL reads as timestamptz),
        then what the hash function takes besides."""
        columns = stored.columns
        params = dict(zip(HASHED_COLUMNS, hashed_values(columns), strict=True))
        params["genesis"] = GENESIS
        params["canonical"] = columns.canonical()
        return params

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

    @_retried
    def sequence(self) -> None:
        """Assign positions to every event whose transaction and all older ones have ended."""
        with self.datastore.get_connection() as conn:
            self._sequence(conn, wait=True)

    # --- reading ---

    @_retried
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

    @_retried
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

    @_retried
    def analyze(self) -> None:
        """Refresh the planner's statistics of the events and the log (as the owner; another
        role gets a warning and nothing changes). A rebuild runs it first: without statistics,
        as on a store loaded since autovacuum last ran, its reads by case scan whole tables."""
        with self.datastore.get_connection() as conn:
            conn.execute(SQL("ANALYZE {schema}.{log}").format(**self.names))
            conn.execute(SQL("ANALYZE {schema}.{events}").format(**self.names))

    @_retried
    def case_ids_upto(self, upto: int) -> list[UUID]:
        """Every case with an event at a position up to ``upto``, in id order."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self.case_ids_statement, (upto,))
            return [row[0] for row in curs.fetchall()]

    @_retried
    def cases_upto(self, case_ids: Sequence[UUID], upto: int) -> list[LogRecord]:
        """The log entries of these cases up to position ``upto``, by case and version (what
        a rebuild reads, case by case)."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self.cases_statement, (list(case_ids), upto))
            return [sealed(row) for row in curs.fetchall()]

    @_retried
    def max_notification_id(self) -> int | None:
        with self.datastore.get_connection() as conn:
            self._sweep(conn)
            with conn.cursor() as curs:
                curs.execute(self.max_position_statement)
                row = curs.fetchone()
                return None if row is None else row["max"]

    # --- the case index ---

    @_retried
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

    @_retried
    def locate(self, event_ids: Sequence[str]) -> dict[str, tuple[UUID, int]]:
        """Where each of these event ids is already recorded: id -> (case id, version)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.locate_statement, (list(event_ids),))
            return {row["event_id"]: (row["case_id"], row["version"]) for row in curs.fetchall()}

    @_retried
    def verify(
        self,
        case_id: UUID | None = None,
        progress: Progress | None = None,
        tree_sizes: Sequence[int] = (),
    ) -> VerificationReport:
        """Recompute every hash and check every chain, the log and (the whole store) the log's
        tree, noting its heads at ``tree_sizes`` (``domain.integrity``).

        The whole store is read on a connection of its own, opened for it and closed after:
        a long scan never holds one of the pool's connections, which writes need.

        Notes the horizon (every transaction below it has ended), runs a sequencer pass, which
        sequences at least up to it (if it fails, verification goes on and reports what is not
        sequenced), then reads events and log in one repeatable-read snapshot, streaming rows
        through server-side cursors. An event without a position is a problem only below that
        horizon: events committed since may not have been sequenced yet. The whole store's
        verification checks the access log too, in the same snapshot
        (``domain.integrity.verify_access``).
        """
        with self.datastore.get_connection() as conn:
            horizon = _one(conn.execute(self.horizon_statement))["horizon"]
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
        with self._scan_connection(whole_store=case_id is None) as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            span = self._span(conn, case_id) if case_id is not None else None
            with (
                conn.cursor(name="verify_log") as log_cursor,
                conn.cursor(name="verify_events") as events_cursor,
                conn.cursor(name="verify_tree") as tree_cursor,
            ):
                log_cursor.itersize = events_cursor.itersize = tree_cursor.itersize = 5000
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
                        r["logged_at"],
                    )
                    for r in log_cursor
                )
                rows = (_stored_row(r) for r in events_cursor)
                tree = None
                if case_id is None:
                    tree_cursor.execute(self.tree_statements["tree_scan"])
                    stored = ((r["level"], r["idx"], bytes(r["hash"])) for r in tree_cursor)
                    tree = TreeCheck(stored, tree_sizes)
                report = verify(
                    rows,
                    entries,
                    whole_log=case_id is None,
                    progress=progress,
                    span=span,
                    tree=tree,
                )
            if case_id is None:
                with conn.cursor(name="verify_access") as access_cursor:
                    access_cursor.itersize = 5000
                    access_cursor.execute(self.verify_access_statement)
                    verify_access((access_row(r, r["indexed"]) for r in access_cursor), report)
            return report

    def _span(self, conn: psycopg.Connection[Any], case_id: UUID) -> LogSpan | None:
        """The log from the case's first entry to the head, in the verification's snapshot."""
        log = Identifier(self.datastore.schema, self.log_table)
        first = _one(
            conn.execute(
                SQL("SELECT min(position) AS first FROM {} WHERE case_id = %s").format(log),
                (case_id,),
            )
        )["first"]
        if first is None:
            return None
        found = _one(
            conn.execute(
                SQL(
                    "SELECT count(*) AS n, max(position) AS head FROM {} WHERE position >= %s"
                ).format(log),
                (first,),
            )
        )
        return LogSpan(case_id, first, found["head"], found["n"])

    @contextlib.contextmanager
    def _scan_connection(self, whole_store: bool) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection for one case; a connection of its own for the whole store."""
        if not whole_store:
            with self.datastore.get_connection() as conn:
                yield conn
            return
        kwargs = self.datastore.pool.kwargs  # the pool's own: server, credentials, row factory
        assert isinstance(kwargs, dict)
        with psycopg.Connection.connect(**kwargs, autocommit=True) as conn:
            yield conn

    @_retried
    def grant_writer(self, role: str, password: str | None = None) -> None:
        """Let ``role`` record and read, and nothing more: SELECT on the store, INSERT into
        the events table's own columns (not ``row_id`` nor ``tx_id``), no write to the log
        (it sequences through the ``SECURITY DEFINER`` function), SELECT and INSERT on the
        access log and its case index; SELECT, INSERT and UPDATE on the persons' keys (add,
        erase, rewrap: the triggers refuse the rest). The role is created if missing; an
        existing one keeps its password unless ``password`` is given."""
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
            # the log's tree and checkpoints: read only (the sequencer writes the tree, the
            # runner the checkpoints)
            curs.execute(sql(TREE_REVOKE))
            curs.execute(
                sql(
                    "GRANT SELECT ON {schema}.{tree}, {schema}.{checkpoints}, "
                    "{schema}.{cosignatures} TO {role}"
                )
            )
            # the access log: append (its lock is an advisory one, which needs no privilege)
            # and read, nothing more
            curs.execute(
                sql("REVOKE ALL ON {schema}.{access}, {schema}.{access_cases} FROM {role}")
            )
            curs.execute(
                sql("GRANT SELECT, INSERT ON {schema}.{access}, {schema}.{access_cases} TO {role}")
            )
            # the persons' keys: add one, read, erase or rewrap (the triggers refuse the rest)
            curs.execute(sql("REVOKE ALL ON {schema}.{keys} FROM {role}"))
            curs.execute(sql("GRANT SELECT, INSERT, UPDATE ON {schema}.{keys} TO {role}"))

    @_retried
    def grant_runner(self, role: str, password: str | None = None) -> None:
        """Let ``role``, the projection runner's, read the store and nothing more of it: SELECT
        on the events, the log and its state, EXECUTE on the sequencer function (its reads of
        the log run a sweep through it), USAGE and CREATE on the schema (a rebuild creates the
        next generation's tables), SELECT on the persons' keys (it judges by dates of birth);
        nothing on the access log, which it does not need. The read
        models are handed over to it afterwards (``caseledger migrate``); the store's tables
        stay the owner's, so it can neither write them nor disable their triggers. The role is
        created if missing; an existing one keeps its password unless ``password`` is given.

        Unless the owner is a superuser, it is made a member of the role (inheriting its
        privileges; on PostgreSQL 16 and later, with SET too): PostgreSQL lets it hand the read
        models over to the role only then, and it goes on creating and granting them at the
        next ``migrate``. A role that owns the store's tables (or is a member of their owner), a
        superuser or one that may create roles is refused: it could do what the owner can."""
        names = {**self.names, "role": Identifier(role)}

        def sql(text: str) -> Composed:
            return SQL(text).format(**names)

        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "SELECT current_user AS owner, current_setting('server_version_num')::int AS v, "
                "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser"
            )
            me = _one(curs)
            curs.execute(
                "SELECT r.rolsuper OR r.rolcreaterole AS powerful, EXISTS (SELECT FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s "
                "AND c.relname IN (%(events)s, %(log)s) AND pg_has_role(r.oid, c.relowner, "
                "'MEMBER')) AS owner FROM pg_roles r WHERE r.rolname = %(role)s",
                {
                    "role": role,
                    "schema": self.datastore.schema,
                    "events": self.events_table_name,
                    "log": self.log_table,
                },
            )
            found = curs.fetchone()
            if found and (found["powerful"] or found["owner"]):
                what = (
                    "is a superuser or may create roles"
                    if found["powerful"]
                    else "owns the store's tables or is a member of their owner"
                )
                raise ProgrammingError(
                    f"role {role} {what}: it could disable the append-only triggers; the runner "
                    "needs a role of its own"
                )
            if password:
                verb = "ALTER" if found else "CREATE"
                statement = SQL(verb + " ROLE {} LOGIN PASSWORD {}")
                curs.execute(statement.format(names["role"], password))
            elif not found:
                curs.execute(sql("CREATE ROLE {role} LOGIN"))
            if not me["superuser"]:
                # PostgreSQL 16 separates SET ROLE (which ALTER ... OWNER TO needs) from
                # inheriting (which the next migrate needs); 15 knows neither option
                since16 = me["v"] >= 160000
                check = "SELECT pg_has_role(current_user, %(role)s, 'USAGE')" + (
                    " AND pg_has_role(current_user, %(role)s, 'SET')" if since16 else ""
                )
                curs.execute(check + " AS ok", {"role": role})
                if not _one(curs)["ok"]:
                    options = " WITH INHERIT TRUE, SET TRUE" if since16 else ""
                    curs.execute(sql("GRANT {role} TO CURRENT_USER" + options))
            curs.execute(sql("GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}"))
            curs.execute(
                sql("REVOKE ALL ON {schema}.{events}, {schema}.{log}, {schema}.{state} FROM {role}")
            )
            curs.execute(
                sql("GRANT SELECT ON {schema}.{events}, {schema}.{log}, {schema}.{state} TO {role}")
            )
            curs.execute(sql("GRANT EXECUTE ON FUNCTION {schema}.{sequence} TO {role}"))
            # the log's tree: read; checkpoints: the runner signs and stores them, and the
            # witnesses' cosignatures (append-only: the triggers refuse the rest)
            curs.execute(sql(TREE_REVOKE))
            curs.execute(sql("GRANT SELECT ON {schema}.{tree} TO {role}"))
            curs.execute(
                sql(
                    "GRANT SELECT, INSERT ON {schema}.{checkpoints}, {schema}.{cosignatures} "
                    "TO {role}"
                )
            )
            # the access log is none of its business
            curs.execute(
                sql("REVOKE ALL ON {schema}.{access}, {schema}.{access_cases} FROM {role}")
            )
            # the persons' keys: read (it judges by dates of birth), never change
            curs.execute(sql("REVOKE ALL ON {schema}.{keys} FROM {role}"))
            curs.execute(sql("GRANT SELECT ON {schema}.{keys} TO {role}"))
            curs.execute(
                "SELECT has_schema_privilege(%(role)s, %(schema)s, 'CREATE') "
                "AND has_schema_privilege(%(role)s, %(schema)s, 'USAGE') AS ok",
                {"role": role, "schema": self.datastore.schema},
            )
            if not _one(curs)["ok"]:
                raise ProgrammingError(
                    f"{me['owner']} could not give {role} USAGE and CREATE on schema "
                    f"{self.datastore.schema}: migrate as the schema's owner"
                )

    # --- the persons' data keys ---

    def _keys(self, name: str, params: Sequence[Any], write: bool = False) -> list[Any]:
        with self.datastore.transaction(commit=write) as curs:
            curs.execute(self.key_statements[name], params)
            if curs.description is None:
                return [curs.rowcount]
            return [(r["case_id"], r["kek_id"], r["wrapped"]) for r in curs.fetchall()]

    @_retried
    def data_key(self, case_id: UUID) -> WrappedKey | None:
        rows = self._keys("data_key", (case_id,))
        return wrapped_key(rows[0]) if rows else None

    @_retried
    def add_data_key(self, key: WrappedKey) -> WrappedKey:
        self._keys("insert_key", (key.case_id, key.kek_id, key.wrapped), write=True)
        stored = self.data_key(key.case_id)
        assert stored is not None
        return stored

    @_retried
    def erase_data_key(self, case_id: UUID) -> bool:
        """Empty the wrapped key. The old row version stays in the table's file until VACUUM
        reclaims it (never in a dump); ``caseledger keys vacuum`` runs one."""
        return bool(self._keys("erase_key", (case_id,), write=True)[0])

    @_retried
    def data_keys(self, after: UUID | None, limit: int) -> list[WrappedKey]:
        start = after or UUID(int=0)
        return [wrapped_key(r) for r in self._keys("data_keys", (start, limit))]

    @_retried
    def rewrap(self, keys: Sequence[WrappedKey]) -> int:
        with self.datastore.transaction(commit=True) as curs:
            done = 0
            for key in keys:
                curs.execute(self.key_statements["rewrap"], (key.kek_id, key.wrapped, key.case_id))
                done += curs.rowcount
            return done

    @_retried
    def kek_samples(self) -> list[WrappedKey]:
        return [wrapped_key(r) for r in self._keys("kek_samples", ())]

    # --- the access log ---

    @_retried
    def record_access(self, entries: Sequence[AccessEntry]) -> list[AccessRecord]:
        """Append the entries to the access log in one transaction (all or none), chained from
        its last entry, and answer their records.

        Two round trips however many entries (a pipeline): the lock and the last entry; then
        the inserts and the commit. The lock serialises appenders until they commit.

        A connection lost before the inserts are sent is retried (``_retried``): the server
        rolls an interrupted transaction back, so nothing was written. One lost after they
        were sent leaves the commit in doubt: the last entry's position is then read on a new
        connection. Holding this attempt's hash, it was committed (all or none), and the
        records are answered; holding nothing or another appender's entry, nothing was, and
        the append is tried again. If that cannot be read either, a ``PersistenceError`` says
        the entries may or may not be recorded.
        """
        if not entries:
            return []
        stored = [as_stored(e) for e in entries]
        sent = False
        with self.datastore.get_connection() as conn:
            try:
                with conn.pipeline(), conn.transaction():
                    conn.execute(self.access_lock_statement)
                    head = conn.execute(self.access_head_statement).fetchone()
                    last = (head["position"], bytes(head["hash"])) if head else (0, ACCESS_GENESIS)
                    records = chained(stored, *last)
                    sent = True
                    with conn.cursor() as curs:
                        curs.executemany(
                            self.insert_access_statement, [_access_params(r) for r in records]
                        )
                    if indexed := case_index(records):
                        case_ids, positions = zip(*indexed, strict=True)
                        conn.execute(
                            self.insert_access_cases_statement, (list(case_ids), list(positions))
                        )
            except (psycopg.OperationalError, psycopg.InterfaceError) as e:
                committed = self._access_committed(records) if sent else False
                if committed is False:
                    raise  # nothing was written: try again
                if committed:
                    return records
                raise PersistenceError(
                    f"the connection failed while {len(records)} access entries were being "
                    f"committed: they may or may not be recorded ({e})"
                ) from e
        return records

    def _access_committed(self, records: Sequence[AccessRecord]) -> bool | None:
        """Whether an append whose commit was in doubt happened: its last entry's position
        holds its hash; None if that cannot be read now."""
        last = records[-1]
        for _ in range(3):
            try:
                with self.datastore.get_connection() as conn:
                    row = conn.execute(
                        SQL("SELECT hash FROM {schema}.{access} WHERE position = %s").format(
                            **self.names
                        ),
                        (last.position,),
                    ).fetchone()
                return row is not None and bytes(row["hash"]) == last.hash
            except (InterfaceError, OperationalError, psycopg.Error):
                with contextlib.suppress(Exception):
                    self.datastore.pool.check()
                time.sleep(RETRY_SECONDS)
        return None

    @_retried
    def access_entries(
        self,
        *,
        case_id: UUID | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] = (),
        after: int = 0,
        limit: int = 100,
    ) -> list[AccessRecord]:
        """Access log entries after ``after``, in position order, matching every filter given;
        a case's through the case index, in its order."""
        params: dict[str, Any] = {"after": after, "limit": limit}
        if case_id is not None:
            statement = self.access_entries_of_case_statement
            params["case_id"] = case_id
        else:
            statement = self.access_entries_statement
        for name, value, condition in (
            ("actor_id", actor_id, " AND a.actor_id = %(actor_id)s"),
            ("since", since, " AND a.at >= %(since)s"),
            ("until", until, " AND a.at <= %(until)s"),
            ("kinds", list(kinds) or None, " AND a.kind = ANY(%(kinds)s::text[])"),
        ):
            if value is not None:
                statement += SQL(condition)
                params[name] = value
        order = "i.position" if case_id is not None else "a.position"
        statement += SQL(f" ORDER BY {order} LIMIT %(limit)s")
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params)
            return [access_record(row) for row in curs.fetchall()]

    # --- the rest of the store interface (domain.store.Store) ---

    def head(self) -> int:
        return int(self.max_notification_id() or 0)

    def log_after(self, position: int, limit: int, types: Sequence[str] = ()) -> list[LogRecord]:
        found = self.select_notifications(position, limit, topics=types, inclusive_of_start=False)
        return cast(list[LogRecord], found)

    @property
    def log_channel(self) -> str | None:
        return self.channel_name

    # --- the log's tree and checkpoints ---

    @_retried
    def tree_nodes(self, nodes: Iterable[Node]) -> dict[Node, bytes]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self._nodes(curs, nodes)

    @_retried
    def log_entries(self, case_id: UUID, upto: int) -> list[LogEntry]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.tree_statements["log_entries"], (case_id, upto))
            return [_log_entry(row) for row in curs.fetchall()]

    @_retried
    def stored_rows(self, case_id: UUID) -> list[StoredRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.tree_statements["stored_rows"], (case_id,))
            return [_stored_row(row) for row in curs.fetchall()]

    @_retried
    def case_heads(self, upto: int) -> list[tuple[UUID, int, bytes]]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.tree_statements["case_heads"], (upto,))
            return [(r["case_id"], r["version"], bytes(r["event_hash"])) for r in curs.fetchall()]

    @_retried
    def add_checkpoint(self, size: int, note: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.tree_statements["insert_checkpoint"], (size, note))

    @_retried
    def add_cosignatures(self, size: int, lines: Mapping[str, str]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for witness, line in lines.items():
                curs.execute(self.tree_statements["insert_cosignature"], (size, witness, line))

    @_retried
    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        statement = self.tree_statements["checkpoints"]
        if size is None:
            statement += SQL(" ORDER BY c.size DESC LIMIT 1")
        else:
            statement += SQL(" WHERE c.size = %s")
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, () if size is None else (size,))
            row = curs.fetchone()
        if row is None:
            return None
        return StoredCheckpoint(
            row["size"], row["issued_at"], row["note"], tuple(row["cosignatures"])
        )


def _log_entry(row: Mapping[str, Any]) -> LogEntry:
    """A row of ``log_entries``/``log_range`` as the tree's leaf reads it."""
    return LogEntry(
        row["position"],
        row["case_id"],
        row["version"],
        bytes(row["event_hash"]),
        row["logged_at"] or EPOCH,
        row["event_id"],
    )
