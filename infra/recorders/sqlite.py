"""The event store on SQLite: one writer at a time, so the log is written with the events, and
the access log's chain needs no lock of its own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    IntegrityError,
    Notification,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from domain.access import ACCESS_GENESIS, AccessEntry, AccessRecord
from domain.integrity import (
    STORED_COLUMNS,
    EventColumns,
    LogRow,
    LogSpan,
    Progress,
    StoredRow,
    TreeCheck,
    VerificationReport,
    hashed_values,
    log_hash,
    utc_text,
    verify,
    verify_access,
)
from domain.personal import WrappedKey
from domain.store import LogRecord, Seal, StoredCheckpoint
from domain.tlog import EPOCH, GENESIS, Frontier, LogEntry, Node, chain_hash, leaf_hash, range_nodes
from infra.recorders.common import (
    ACCESS_COLUMNS,
    ACCESS_FIELDS,
    EVENTS_TABLE,
    LOG_COLUMNS,
    access_record,
    access_row,
    access_table_names,
    as_stored,
    as_uuid,
    case_index,
    case_stored,
    chained,
    log_table_name,
    person_keys_table_name,
    sealed,
    wrapped_key,
)

ACCESS_COLUMN_TYPES = {
    "kind": "TEXT NOT NULL",
    "at": "TEXT NOT NULL",  # utc_text: its order is time order
    "actor_id": "TEXT NOT NULL",
    "role": "TEXT NOT NULL",
    "unit": "TEXT NOT NULL",
    "purpose": "TEXT NOT NULL",
    "route": "TEXT NOT NULL",
    "query": "TEXT NOT NULL",
    "case_ids": "TEXT NOT NULL",  # a JSON array of the ids as text, in the entry's order
    "first_position": "INTEGER",
    "last_position": "INTEGER",
    "outcome": "TEXT NOT NULL",
    "request_id": "TEXT NOT NULL",
    "detail": "TEXT NOT NULL",  # JSON
}
"""The access log's column of each field of ``AccessEntry`` (``ACCESS_FIELDS``)."""
assert tuple(ACCESS_COLUMN_TYPES) == ACCESS_FIELDS, "a field of AccessEntry has no column"


def _values(columns: EventColumns) -> list[Any]:
    """The columns' values in ``HASHED_COLUMNS`` order as SQLite stores them: the case id as
    text (the timestamps are already the stored text)."""
    return [str(v) if isinstance(v, UUID) else v for v in hashed_values(columns)]


def _stored_row(row: Sequence[Any]) -> StoredRow:
    """A row selected as ``STORED_COLUMNS`` then the position. Timestamps go through
    ``utc_text`` as verification always took them (for the rows this store writes, that is
    the stored text itself)."""
    stored = dict(zip(STORED_COLUMNS, row[:-1], strict=True))
    return StoredRow(
        **{
            **stored,
            "case_id": UUID(stored["case_id"]),
            "occurred_at": utc_text(datetime.fromisoformat(stored["occurred_at"])),
            "recorded_at": utc_text(datetime.fromisoformat(stored["recorded_at"])),
            "payload": bytes(stored["payload"]),
            "hash": bytes(stored["hash"]),
        },
        position=row[-1],
        unsequenced=row[-1] is None,
    )


def _access_values(record: AccessRecord) -> list[Any]:
    """A record's values in ``ACCESS_COLUMNS`` order as SQLite stores them."""
    entry = record.entry
    values: dict[str, Any] = {name: getattr(entry, name) for name in ACCESS_FIELDS}
    values["at"] = utc_text(entry.at)
    values["case_ids"] = orjson.dumps([str(c) for c in entry.case_ids]).decode()
    values["detail"] = orjson.dumps(entry.detail).decode()
    return [record.position, *values.values(), record.hash]


def _access_columns(row: Sequence[Any]) -> dict[str, Any]:
    """A row selected as ``ACCESS_COLUMNS`` (prefixed by ``a.``), by name."""
    return dict(zip(ACCESS_COLUMNS, row, strict=True))


class SQLiteCaseRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = EVENTS_TABLE):
        self.log_table = log_table_name(events_table_name)
        self.access_table, self.access_cases_table = access_table_names(events_table_name)
        self.insert_statement = (
            f"INSERT INTO {events_table_name} ({', '.join(STORED_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(STORED_COLUMNS))})"
        )
        self.access_select = ", ".join(f"a.{name}" for name in ACCESS_COLUMNS)
        self.keys_table = person_keys_table_name(events_table_name)
        self.tree_table = self.log_table + "_tree"
        self.checkpoint_tables = (self.log_table + "_checkpoints", self.log_table + "_cosignatures")
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        events, log = self.events_table_name, self.log_table
        access, access_cases = self.access_table, self.access_cases_table
        keys = self.keys_table
        tree, checkpoints, cosignatures = self.tree_table, *self.checkpoint_tables
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
            "position INTEGER PRIMARY KEY, "
            "row_id INTEGER NOT NULL UNIQUE, "
            "event_id TEXT NOT NULL, "
            "case_id TEXT NOT NULL, "
            "version INTEGER NOT NULL, "
            "event_hash BLOB NOT NULL, "
            "log_hash BLOB NOT NULL, "
            "logged_at TEXT)",
            f"CREATE INDEX IF NOT EXISTS {log}_case ON {log} (case_id)",
            # the log's Merkle tree (domain/tlog.py): each complete subtree's hash, written
            # with the log entries; signed checkpoints of it and the witnesses' cosignatures
            f"CREATE TABLE IF NOT EXISTS {tree} (level INTEGER NOT NULL, idx INTEGER NOT NULL, "
            "hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID",
            f"CREATE TABLE IF NOT EXISTS {checkpoints} (size INTEGER PRIMARY KEY, "
            "issued_at TEXT NOT NULL, note TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {cosignatures} (size INTEGER NOT NULL "
            f"REFERENCES {checkpoints} (size), witness TEXT NOT NULL, line TEXT NOT NULL, "
            "received_at TEXT NOT NULL, PRIMARY KEY (size, witness))",
            # the access log: position, the entry's fields, the chained hash
            f"CREATE TABLE IF NOT EXISTS {access} (position INTEGER PRIMARY KEY, "
            + "".join(f"{name} {kind}, " for name, kind in ACCESS_COLUMN_TYPES.items())
            + "hash BLOB NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {access}_actor ON {access} (actor_id, position)",
            f"CREATE INDEX IF NOT EXISTS {access}_at ON {access} (at)",
            # its case index: the positions of the entries naming each case, in order
            f"CREATE TABLE IF NOT EXISTS {access_cases} ("
            "case_id TEXT NOT NULL, position INTEGER NOT NULL, "
            "PRIMARY KEY (case_id, position)) WITHOUT ROWID",
            # the persons' wrapped data keys: erasure empties ``wrapped`` for good
            f"CREATE TABLE IF NOT EXISTS {keys} ("
            "case_id TEXT PRIMARY KEY, kek_id TEXT NOT NULL, wrapped BLOB, "
            "created_at TEXT NOT NULL, erased_at TEXT, "
            "CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL)))",
            f"CREATE TRIGGER IF NOT EXISTS {keys}_refuse_delete BEFORE DELETE ON {keys} BEGIN "
            f"SELECT RAISE(ABORT, '{keys}: DELETE refused (erasure empties wrapped)'); END",
            f"CREATE TRIGGER IF NOT EXISTS {keys}_refuse_update BEFORE UPDATE ON {keys} "
            "WHEN OLD.wrapped IS NULL OR NEW.case_id IS NOT OLD.case_id "
            "OR NEW.created_at IS NOT OLD.created_at BEGIN "
            f"SELECT RAISE(ABORT, '{keys}: an erased key stays erased, a key stays its case''s'); "
            "END",
        ]
        for table in (events, log, access, access_cases, tree, checkpoints, cosignatures):
            for operation in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{operation.lower()} "
                    f"BEFORE {operation} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
                )
        return statements

    def create_table(self) -> None:
        """Create the tables holding the write lock throughout, so that several processes
        starting on a new file wait for each other instead of failing."""
        with self._write() as c:
            for statement in self.create_table_statements:
                c.execute(statement)
            c.execute(f"PRAGMA table_info({self.log_table})")
            if "logged_at" not in {row[1] for row in c.fetchall()}:  # a store from before
                c.execute(f"ALTER TABLE {self.log_table} ADD COLUMN logged_at TEXT")
            self._grow_tree(c)

    def _grow_tree(self, c: sqlite3.Cursor) -> None:
        """Give the log's tree the entries it lacks (a store created before it was kept)."""
        frontier = self._frontier(c)
        while True:
            c.execute(
                f"SELECT {LOG_ENTRY} FROM {self.log_table} WHERE position > ? "
                "ORDER BY position LIMIT 5000",
                (frontier.size,),
            )
            rows = c.fetchall()
            if not rows:
                return
            for row in rows:
                self._add_leaf(c, frontier, _log_entry(row))

    def _frontier(self, c: sqlite3.Cursor) -> Frontier:
        c.execute(f"SELECT count(*) FROM {self.tree_table} WHERE level = 0")
        size = c.fetchone()[0]
        nodes = range_nodes(0, size)
        found = self._nodes(c, nodes)
        return Frontier(size, [found[n] for n in nodes])

    def _nodes(self, c: Any, nodes: Iterable[Node]) -> dict[Node, bytes]:
        wanted = list(nodes)
        found: dict[Node, bytes] = {}
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            c.execute(
                f"SELECT level, idx, hash FROM {self.tree_table} WHERE (level, idx) IN "
                f"(VALUES {', '.join('(?, ?)' for _ in chunk)})",
                [v for node in chunk for v in node],
            )
            found.update({(r[0], r[1]): bytes(r[2]) for r in c.fetchall()})
        return found

    def _add_leaf(self, c: sqlite3.Cursor, frontier: Frontier, entry: LogEntry) -> None:
        c.executemany(
            f"INSERT INTO {self.tree_table} (level, idx, hash) VALUES (?, ?, ?)",
            frontier.append(leaf_hash(entry.encode())),
        )

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
        """Chain each event to the one before in its case, and append it to the log."""
        c.execute(f"SELECT position, log_hash FROM {self.log_table} ORDER BY position DESC LIMIT 1")
        position, sealed = c.fetchone() or (0, GENESIS)
        frontier = self._frontier(c)
        if frontier.size != position:
            raise IntegrityError(
                f"the log's tree holds {frontier.size} leaves, the log {position} positions"
            )
        logged = datetime.now(UTC)
        positions = []
        previous: dict[tuple[str, int], bytes] = {}
        for stored in map(case_stored, stored_events):
            columns = stored.columns
            if stored.data_key is not None:
                self._insert_key(c, stored.data_key)
            case_id, version = str(columns.case_id), columns.version
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
            digest = chain_hash(prev, columns.canonical())
            previous[(case_id, version)] = digest
            c.execute(self.insert_statement, (*_values(columns), digest))
            position += 1
            sealed = log_hash(sealed, position, digest)
            c.execute(
                f"INSERT INTO {self.log_table} (position, row_id, event_id, case_id, version, "
                "event_hash, log_hash, logged_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    position,
                    c.lastrowid,
                    columns.event_id,
                    case_id,
                    version,
                    digest,
                    sealed,
                    utc_text(logged),
                ),
            )
            entry = LogEntry(position, columns.case_id, version, digest, logged, columns.event_id)
            self._add_leaf(c, frontier, entry)
            positions.append(position)
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
        params: list[Any] = [str(as_uuid(originator_id))]
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
        case_id = as_uuid(originator_id)
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
        statement = f"{self._log_select} WHERE 1=1"
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
            return [sealed(row) for row in c.fetchall()]

    @property
    def _log_select(self) -> str:
        """The log's columns as ``sealed`` reads them."""
        return (
            f"SELECT {LOG_COLUMNS} "
            f"FROM {self.log_table} l JOIN {self.events_table_name} e ON e.row_id = l.row_id"
        )

    def case_ids_upto(self, upto: int) -> list[UUID]:
        """Every case with an event at a position up to ``upto``, in id order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT DISTINCT case_id FROM {self.log_table} WHERE position <= ? "
                "ORDER BY case_id",
                (upto,),
            )
            return [UUID(row[0]) for row in c.fetchall()]

    def cases_upto(self, case_ids: Sequence[UUID], upto: int) -> list[LogRecord]:
        """The log entries of these cases up to position ``upto``, by case and version (what
        a rebuild reads, case by case)."""
        marks = ",".join("?" * len(case_ids))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"{self._log_select} WHERE l.case_id IN ({marks}) AND l.position <= ? "
                "ORDER BY l.case_id, l.version",
                [*(str(i) for i in case_ids), upto],
            )
            return [sealed(row) for row in c.fetchall()]

    def _max_notification_id(self, c: SQLiteCursor) -> int:
        """The last position of the global log (the library's ``max_notification_id``)."""
        c.execute(f"SELECT MAX(position) FROM {self.log_table}")
        return c.fetchone()[0] or 0

    # --- the case index ---

    def seals(self, case_id: UUID) -> dict[int, Seal]:
        """Version -> position in the global log and hash of each stored event of a case."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT e.version, l.position, e.hash FROM {self.events_table_name} e "
                f"LEFT JOIN {self.log_table} l ON l.row_id = e.row_id WHERE e.case_id=?",
                (str(case_id),),
            )
            return {row[0]: Seal(row[1], bytes(row[2]).hex()) for row in c.fetchall()}

    def locate(self, event_ids: Sequence[str]) -> dict[str, tuple[UUID, int]]:
        """Where each of these event ids is already recorded: id -> (case id, version)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT event_id, case_id, version FROM {self.events_table_name} "
                f"WHERE event_id IN ({','.join('?' * len(event_ids))})",
                list(event_ids),
            )
            return {row[0]: (UUID(row[1]), row[2]) for row in c.fetchall()}

    def verify(
        self,
        case_id: UUID | None = None,
        progress: Progress | None = None,
        tree_sizes: Sequence[int] = (),
    ) -> VerificationReport:
        """Recompute every hash and check every chain, the log and (the whole store) its tree,
        noting the tree's heads at ``tree_sizes`` (``domain.integrity``).

        Here every event must have a position: the log is written in the same transaction.
        The whole store is read in one read transaction on a connection of its own (a WAL
        snapshot: writers go on), never one of the pool's; the whole store's verification
        checks the access log too (``domain.integrity.verify_access``).
        """
        where, params = ("WHERE e.case_id = ?", [str(case_id)]) if case_id else ("", [])
        log_where = "WHERE l.case_id = ?" if case_id else ""
        with self._scan_cursor(whole_store=case_id is None) as c:
            c.execute(
                "SELECT l.position, l.event_id, l.case_id, l.version, l.event_hash, l.log_hash, "
                "CASE WHEN e.event_id = l.event_id AND e.case_id = l.case_id "
                "AND e.version = l.version THEN e.hash END, l.logged_at "
                f"FROM {self.log_table} l LEFT JOIN {self.events_table_name} e "
                f"ON e.row_id = l.row_id {log_where} ORDER BY l.position",
                params,
            )
            log = [
                LogRow(
                    r[0],
                    r[1],
                    UUID(r[2]),
                    r[3],
                    bytes(r[4]),
                    bytes(r[5]),
                    r[6],
                    datetime.fromisoformat(r[7]) if r[7] else None,
                )
                for r in c.fetchall()
            ]
            span = None
            if case_id is not None and log:
                c.execute(
                    f"SELECT count(*), max(position) FROM {self.log_table} WHERE position >= ?",
                    (log[0].position,),
                )
                count, head = c.fetchone()
                span = LogSpan(case_id, log[0].position, head, count)
            c.execute(
                f"SELECT {', '.join('e.' + name for name in STORED_COLUMNS)}, l.position "
                f"FROM {self.events_table_name} e LEFT JOIN {self.log_table} l "
                f"ON l.row_id = e.row_id {where} ORDER BY e.case_id, e.version",
                params,
            )
            tree = None
            if case_id is None:
                # the stored tree in the order a tree built leaf by leaf completes it, on a
                # cursor of its own in the same read transaction
                tree_cursor = _connection(c).cursor()
                tree_cursor.execute(
                    f"SELECT level, idx, hash FROM {self.tree_table} "
                    "ORDER BY ((idx + 1) << level) - 1, level"
                )
                stored = ((r[0], r[1], bytes(r[2])) for r in iter(tree_cursor.fetchone, None))
                tree = TreeCheck(stored, tree_sizes)
            rows = (_stored_row(r) for r in iter(c.fetchone, None))
            report = verify(
                rows, log, whole_log=case_id is None, progress=progress, span=span, tree=tree
            )
            if case_id is None:
                c.execute(
                    f"SELECT {self.access_select}, i.indexed FROM {self.access_table} a "
                    "LEFT JOIN (SELECT position, group_concat(case_id) AS indexed "
                    f"FROM {self.access_cases_table} GROUP BY position) i "
                    "ON i.position = a.position ORDER BY a.position"
                )
                verify_access(
                    (
                        access_row(_access_columns(r[:-1]), r[-1].split(",") if r[-1] else ())
                        for r in iter(c.fetchone, None)
                    ),
                    report,
                )
            return report

    @contextmanager
    def _scan_cursor(self, whole_store: bool) -> Iterator[Any]:
        """A pooled connection for one case; for the whole store, a connection of its own in
        one read transaction (an in-memory database has only the pool's)."""
        pool = self.datastore.pool
        if not whole_store or pool.is_sqlite_memory_mode:
            with self.datastore.transaction(commit=False) as c:
                yield c
            return
        conn = sqlite3.connect(pool.db_name, uri=True, isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN")  # one snapshot for the log and the events
            yield conn.cursor()
            conn.execute("COMMIT")
        finally:
            conn.close()

    # --- the access log ---

    def record_access(self, entries: Sequence[AccessEntry]) -> list[AccessRecord]:
        """Append the entries to the access log, chained from its last entry, in one write
        transaction (all or none; SQLite's write lock makes appenders take turns)."""
        if not entries:
            return []
        stored = [as_stored(e) for e in entries]
        with self._write() as c:
            c.execute(
                f"SELECT position, hash FROM {self.access_table} ORDER BY position DESC LIMIT 1"
            )
            head, previous = c.fetchone() or (0, ACCESS_GENESIS)
            records = chained(stored, head, bytes(previous))
            c.executemany(
                f"INSERT INTO {self.access_table} ({', '.join(ACCESS_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(ACCESS_COLUMNS))})",
                [_access_values(r) for r in records],
            )
            c.executemany(
                f"INSERT INTO {self.access_cases_table} (case_id, position) VALUES (?, ?)",
                [(str(case_id), position) for case_id, position in case_index(records)],
            )
        return records

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
        a case's through the case index."""
        params: list[Any] = []
        order = "i.position" if case_id is not None else "a.position"  # the index's order
        if case_id is not None:
            statement = (
                f"SELECT {self.access_select} FROM {self.access_cases_table} i "
                f"JOIN {self.access_table} a ON a.position = i.position "
                "WHERE i.case_id = ? AND i.position > ?"
            )
            params += [str(case_id), after]
        else:
            statement = (
                f"SELECT {self.access_select} FROM {self.access_table} a WHERE a.position > ?"
            )
            params.append(after)
        if actor_id is not None:
            statement += " AND a.actor_id = ?"
            params.append(actor_id)
        if since is not None:
            statement += " AND a.at >= ?"
            params.append(utc_text(since))
        if until is not None:
            statement += " AND a.at <= ?"
            params.append(utc_text(until))
        if kinds:
            statement += f" AND a.kind IN ({','.join('?' * len(kinds))})"
            params.extend(kinds)
        statement += f" ORDER BY {order} LIMIT ?"
        params.append(limit)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [access_record(_access_columns(row)) for row in c.fetchall()]

    # --- the rest of the store interface (domain.store.Store) ---

    # --- the persons' data keys ---

    def _insert_key(self, c: sqlite3.Cursor, key: WrappedKey) -> None:
        c.execute(
            f"INSERT INTO {self.keys_table} (case_id, kek_id, wrapped, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING",
            (str(key.case_id), key.kek_id, key.wrapped, utc_text(datetime.now(UTC))),
        )

    def data_key(self, case_id: UUID) -> WrappedKey | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT case_id, kek_id, wrapped FROM {self.keys_table} WHERE case_id = ?",
                (str(case_id),),
            )
            row = c.fetchone()
        return wrapped_key(row) if row else None

    def add_data_key(self, key: WrappedKey) -> WrappedKey:
        with self._write() as c:
            self._insert_key(c, key)
        stored = self.data_key(key.case_id)
        assert stored is not None
        return stored

    def erase_data_key(self, case_id: UUID) -> bool:
        """Empty the wrapped key with ``secure_delete`` on (its bytes are overwritten in the
        file, not just unlinked), then checkpoint the write-ahead log, so that the old page
        leaves the WAL file too when no reader holds it."""
        with self._write() as c:
            c.execute("PRAGMA secure_delete = ON")
            c.execute(
                f"UPDATE {self.keys_table} SET wrapped = NULL, erased_at = ? "
                "WHERE case_id = ? AND wrapped IS NOT NULL",
                (utc_text(datetime.now(UTC)), str(case_id)),
            )
            erased = c.rowcount > 0
        with self.datastore.get_connection(commit=True) as conn:
            conn._sqlite_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return erased

    def data_keys(self, after: UUID | None, limit: int) -> list[WrappedKey]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT case_id, kek_id, wrapped FROM {self.keys_table} "
                "WHERE wrapped IS NOT NULL AND case_id > ? ORDER BY case_id LIMIT ?",
                (str(after) if after else "", limit),
            )
            return [wrapped_key(row) for row in c.fetchall()]

    def rewrap(self, keys: Sequence[WrappedKey]) -> int:
        with self._write() as c:
            done = 0
            for key in keys:
                c.execute(
                    f"UPDATE {self.keys_table} SET kek_id = ?, wrapped = ? "
                    "WHERE case_id = ? AND wrapped IS NOT NULL",
                    (key.kek_id, key.wrapped, str(key.case_id)),
                )
                done += c.rowcount
            return done

    def kek_samples(self) -> list[WrappedKey]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT min(case_id), kek_id, NULL FROM {self.keys_table} "
                "WHERE wrapped IS NOT NULL GROUP BY kek_id"
            )
            cases = [as_uuid(row[0]) for row in c.fetchall()]
        return [k for k in map(self.data_key, cases) if k is not None]

    def head(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return self._max_notification_id(c)

    def log_after(self, position: int, limit: int, types: Sequence[str] = ()) -> list[LogRecord]:
        found = self.select_notifications(position, limit, topics=types, inclusive_of_start=False)
        return cast(list[LogRecord], found)

    def grant_writer(self, role: str, password: str | None = None) -> None:
        raise ProgrammingError("database roles exist only on PostgreSQL")

    def grant_runner(self, role: str, password: str | None = None) -> None:
        raise ProgrammingError("database roles exist only on PostgreSQL")

    def analyze(self) -> None:
        """Nothing to do: SQLite plans these reads well without statistics."""

    @property
    def log_channel(self) -> str | None:
        return None  # no LISTEN: readers poll

    # --- the log's tree and checkpoints ---

    def tree_nodes(self, nodes: Iterable[Node]) -> dict[Node, bytes]:
        with self.datastore.transaction(commit=False) as c:
            return self._nodes(c, nodes)

    def log_entries(self, case_id: UUID, upto: int) -> list[LogEntry]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT {LOG_ENTRY} FROM {self.log_table} WHERE case_id = ? AND position <= ? "
                "ORDER BY version",
                (str(case_id), upto),
            )
            return [_log_entry(row) for row in c.fetchall()]

    def stored_rows(self, case_id: UUID) -> list[StoredRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT {', '.join('e.' + name for name in STORED_COLUMNS)}, l.position "
                f"FROM {self.events_table_name} e LEFT JOIN {self.log_table} l "
                "ON l.row_id = e.row_id WHERE e.case_id = ? ORDER BY e.version",
                (str(case_id),),
            )
            return [_stored_row(r) for r in c.fetchall()]

    def case_heads(self, upto: int) -> list[tuple[UUID, int, bytes]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT l.case_id, l.version, l.event_hash FROM {self.log_table} l JOIN ("
                f"SELECT case_id, max(version) AS last FROM {self.log_table} WHERE position <= ? "
                "GROUP BY case_id) h ON l.case_id = h.case_id AND l.version = h.last "
                "ORDER BY l.case_id",
                (upto,),
            )
            return [(UUID(r[0]), r[1], bytes(r[2])) for r in c.fetchall()]

    def add_checkpoint(self, size: int, note: str) -> None:
        with self._write() as c:
            c.execute(
                f"INSERT INTO {self.checkpoint_tables[0]} (size, issued_at, note) "
                "VALUES (?, ?, ?) ON CONFLICT (size) DO NOTHING",
                (size, utc_text(datetime.now(UTC)), note),
            )

    def add_cosignatures(self, size: int, lines: Mapping[str, str]) -> None:
        with self._write() as c:
            c.executemany(
                f"INSERT INTO {self.checkpoint_tables[1]} (size, witness, line, received_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (size, witness) DO NOTHING",
                [(size, w, line, utc_text(datetime.now(UTC))) for w, line in lines.items()],
            )

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        checkpoints, cosignatures = self.checkpoint_tables
        with self.datastore.transaction(commit=False) as c:
            if size is None:
                c.execute(
                    f"SELECT size, issued_at, note FROM {checkpoints} ORDER BY size DESC LIMIT 1"
                )
            else:
                c.execute(
                    f"SELECT size, issued_at, note FROM {checkpoints} WHERE size = ?", (size,)
                )
            row = c.fetchone()
            if row is None:
                return None
            c.execute(f"SELECT line FROM {cosignatures} WHERE size = ? ORDER BY witness", (row[0],))
            lines = tuple(r[0] for r in c.fetchall())
        return StoredCheckpoint(row[0], datetime.fromisoformat(row[1]), row[2], lines)


LOG_ENTRY = "position, case_id, version, event_hash, logged_at, event_id"
"""What the tree's leaf reads of a log row (``_log_entry``)."""


def _log_entry(row: Sequence[Any]) -> LogEntry:
    position, case_id, version, event_hash, logged_at, event_id = row
    logged = datetime.fromisoformat(logged_at) if logged_at else EPOCH
    return LogEntry(position, UUID(case_id), version, bytes(event_hash), logged, event_id)


def _connection(c: Any) -> sqlite3.Connection:
    """The connection of a cursor, the library's wrapper or sqlite3's."""
    cursor = c.sqlite_cursor if isinstance(c, SQLiteCursor) else c
    return cast(sqlite3.Connection, cursor.connection)
