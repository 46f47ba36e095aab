"""Where read models live: the store's PostgreSQL schema, or a SQLite file beside the store's.

On SQLite the read models have a file of their own (``ledger.sqlite3`` -> ``ledger.views.sqlite3``,
``views_path``): SQLite has one writer per file, and a runner catching up must not keep the API's
event writers waiting for that lock.

``ViewDatabase`` is the small dialect layer the runtime and the read models share: one
connection, explicit transactions (``BEGIN IMMEDIATE`` on SQLite, so batches of concurrent
runners serialise; row locks on PostgreSQL), ``?`` placeholders on both, and bulk inserts (COPY on
PostgreSQL). Rows carry Python values (``datetime``, ``date``, ``dict``/``list`` for JSON), stored
as timestamptz/date/jsonb on PostgreSQL and as text on SQLite (instants as fixed-width UTC text,
so they sort), and come out normalised by ``plain`` so the same rows compare equal on both stores.

Read models are tables named ``<table>_g<generation>`` behind a view named ``<table>``: a rebuild
fills the next generation beside the live one and repoints the views in one transaction, so SQL
users and the API always read the view.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

import orjson
import psycopg
import structlog
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from infra.settings import Settings

Dialect = Literal["sqlite", "postgres"]

log = structlog.get_logger("caseledger.projections")

KEEPALIVE: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}
"""TCP keepalives for connections that only listen or hold a lock, so that one the network
lost is noticed."""

STATE_TABLE = "caseledger_projections"

FAILURES_TABLE = "caseledger_projection_failures"
"""Cases a read model could not lay out (``projections.projector``): one row per case."""


class ViewDatabase:
    """A connection to the read models' database, with the SQL both stores understand."""

    def __init__(self, settings: Settings, pool_size: int | None = None) -> None:
        self.dialect: Dialect = settings.store
        self.settings = settings
        self._local = threading.local()
        self._sqlite_conns: list[sqlite3.Connection] = []
        path = views_path(settings)
        self.in_memory = self.dialect == "sqlite" and path.startswith("file:")
        self._memory_lock = _memory_lock(path) if self.in_memory else None
        self._pool: ConnectionPool | None = None
        if self.dialect == "postgres":
            schema = Identifier(settings.database_schema)

            def configure(conn: psycopg.Connection) -> None:
                conn.execute(SQL("SET search_path TO {}").format(schema))
                # read models commit without waiting for the WAL flush (see ``transaction``)
                conn.execute("SET synchronous_commit = off")

            self._pool = ConnectionPool(
                self.conninfo(),
                min_size=1,
                max_size=pool_size or settings.pool_size,
                kwargs={"autocommit": True, "connect_timeout": 5},
                configure=configure,
                check=ConnectionPool.check_connection,  # a connection lost meanwhile is replaced
                open=True,
                name="caseledger-views",
            )

    # --- connections ------------------------------------------------------------------------

    @property
    def channel(self) -> str:
        return views_channel(self.settings)

    def conninfo(self) -> str:
        url = urlsplit(self.settings.database_url)
        return url._replace(scheme="postgresql").geturl()

    def listen_conninfo(self) -> str | None:
        """Where to ``LISTEN`` (``projections.notices``): PostgreSQL's address; None on SQLite."""
        return self.conninfo() if self.dialect == "postgres" else None

    def _sqlite(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            path = views_path(self.settings)
            conn = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False, uri=True
            )
            conn.execute("PRAGMA busy_timeout=30000")
            if not path.startswith("file:"):
                _use_wal(conn)
            self._local.conn = conn
            self._sqlite_conns.append(conn)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._pool is not None:
            with self._pool.connection() as conn:
                yield conn
        elif self._memory_lock is not None:
            with self._memory_lock:  # shared-cache tables lock, not wait: one user at a time
                if not self._sqlite_conns:
                    self._sqlite()
                yield self._sqlite_conns[0]
        else:
            yield self._sqlite()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        for conn in self._sqlite_conns:
            conn.close()
        self._sqlite_conns.clear()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One transaction; on SQLite it holds the write lock from the start.

        On PostgreSQL it commits without waiting for the WAL flush (``synchronous_commit =
        off``): read models can always be derived again from the log, and rows and position
        commit together, so a crash that loses the last commits only moves a read model back
        to an earlier position, from which its runner applies the same events again."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
            try:
                yield Tx(self, conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of one query (its own snapshot), as plain dicts."""
        with self._connection() as conn:
            return Tx(self, conn).rows(sql, params)

    def exists(self, table: str) -> bool:
        if self.dialect == "sqlite":
            rows = self.read(
                "SELECT name FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')",
                (table,),
            )
        else:
            rows = self.read("SELECT to_regclass(?) IS NOT NULL AS found", (table,))
            rows = [r for r in rows if r["found"]]
        return bool(rows)


class Tx:
    """Statements inside one transaction."""

    def __init__(self, db: ViewDatabase, conn: Any) -> None:
        self.db, self.conn, self.dialect = db, conn, db.dialect
        self._pipelined = False

    def announce(self) -> None:
        """Tell listeners of ``ViewDatabase.channel`` that read models moved: on PostgreSQL a
        ``NOTIFY``, delivered when (and only if) this transaction commits; nothing on SQLite."""
        if self.dialect == "postgres":
            self.execute("SELECT pg_notify(?, '')", (self.db.channel,))

    def sql(self, statement: str) -> str:
        return statement if self.dialect == "sqlite" else statement.replace("?", "%s")

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        return int(self.cursor(statement, params).rowcount or 0)

    def cursor(self, statement: str, params: Sequence[Any] = ()) -> Any:
        """The cursor of one statement (in a pipeline, its ``rowcount`` is known after it)."""
        return self.conn.execute(
            self.sql(statement), tuple(_param(p, self.dialect) for p in params)
        )

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(
            self.sql(statement), tuple(_param(p, self.dialect) for p in params)
        )
        if cursor.description is None:
            return []
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, (plain(v) for v in row), strict=True)) for row in cursor.fetchall()]

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """Statements sent without waiting for each answer (PostgreSQL's pipeline mode): they
        run in order, and the first error is raised when the block ends. ``insert`` sends one
        prepared ``INSERT`` per row inside it (COPY cannot be pipelined). On SQLite, nothing
        changes."""
        if self.dialect != "postgres":
            yield
            return
        with self.conn.pipeline():
            self._pipelined = True
            try:
                yield
            finally:
                self._pipelined = False

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        json_columns: Sequence[int] = (),
    ) -> None:
        """Insert many rows: COPY on PostgreSQL (in a pipeline, where COPY cannot go, one
        prepared ``INSERT`` per row, all sent at once), one prepared statement on SQLite.

        ``json_columns``: positions of the JSON values (dumped as text)."""
        if not rows:
            return
        if self.dialect == "postgres" and self._pipelined:
            if json_columns:
                dumped = [list(row) for row in rows]
                for values in dumped:
                    for i in json_columns:
                        values[i] = _json(values[i])
                rows = list(dumped)
            marks = ", ".join("%s" for _ in columns)
            with self.conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )
            return
        if self.dialect == "postgres":
            statement = SQL("COPY {} ({}) FROM STDIN").format(
                Identifier(table), SQL(", ").join(Identifier(c) for c in columns)
            )
            with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    if json_columns:
                        row = list(row)
                        for i in json_columns:
                            row[i] = _json(row[i])
                    copy.write_row(row)
            return
        rows = [tuple(_param(v, "sqlite") for v in row) for row in rows]
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def delete_cases(
        self, table: str, case_ids: Sequence[str], where: str = "", params: Sequence[Any] = ()
    ) -> None:
        """Delete these cases' rows (and only those that also meet ``where``, ``?`` marks)."""
        if not case_ids:
            return
        also = f" AND {where}" if where else ""
        if self.dialect == "postgres":
            statement = SQL("DELETE FROM {} WHERE case_id = ANY(%s::uuid[])").format(
                Identifier(table)
            )
            self.conn.execute(statement + SQL(also.replace("?", "%s")), (list(case_ids), *params))
            return
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            self.conn.execute(
                f"DELETE FROM {table} WHERE case_id IN ({marks}){also}", (*chunk, *params)
            )


def views_path(settings: Settings) -> str:
    """The SQLite file of the read models: the store's file name with ``.views`` before its
    suffix (an in-memory store gets an in-memory database, shared by the process)."""
    name = settings.database_url.removeprefix("sqlite:///")
    if name == ":memory:":
        return "file:caseledger-views?mode=memory&cache=shared"
    path = Path(name)
    return str(path.with_name(f"{path.stem}.views{path.suffix or '.sqlite3'}"))


_memory_locks: dict[str, threading.RLock] = {}
_memory_locks_lock = threading.Lock()


def _memory_lock(path: str) -> threading.RLock:
    """One lock per in-memory database for the whole process. Its tables are in SQLite's shared
    cache, where a connection that meets another's table lock fails at once ("database table is
    locked") instead of waiting; so every ``ViewDatabase`` on it (the API's, its runner's) uses
    it one at a time, a transaction holding the lock to its end."""
    with _memory_locks_lock:
        return _memory_locks.setdefault(path, threading.RLock())


def views_channel(settings: Settings) -> str:
    """The ``LISTEN`` channel on which runners announce that read models moved (PostgreSQL;
    one per schema, within PostgreSQL's 63 bytes: a longer schema name is cut, which can only
    wake a listener of another schema for nothing)."""
    name = f"caseledger_views_{settings.database_schema}".encode()
    return name[:63].decode(errors="ignore")


def _use_wal(conn: sqlite3.Connection, patience: float = 10.0) -> None:
    """WAL, so API reads never wait for a runner's batch (retried: the switch fails at once when
    several processes open a new file together)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def stamp(value: datetime) -> str:
    """An instant as fixed-width UTC text, so it sorts and compares as text on SQLite too."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "+00:00"


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _param(value: Any, dialect: Dialect) -> Any:
    if isinstance(value, (dict, list)):
        return _json(value)
    if dialect == "sqlite":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, datetime):
            return stamp(value)
        if isinstance(value, date):
            return value.isoformat()
    return value


def plain(value: Any) -> Any:
    """A stored value as both stores give it back: ISO text for dates, parsed JSON, ``bool``."""
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, UUID):
        return str(value)
    return value


def as_json(value: Any) -> Any:
    """A JSON column's value (text on SQLite, already parsed from jsonb on PostgreSQL)."""
    if isinstance(value, (str, bytes)):
        return orjson.loads(value)
    return value
