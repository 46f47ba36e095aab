"""Recorders: the library's, plus a store-wide unique index of event ids and global positions.

Each append also writes ``(event_id, case id, version)`` into an ``*_event_ids`` table in the
same transaction; its primary key makes a client-chosen event id usable once in the whole store,
so a retry can never write an event twice, even from two processes. The application passes the
ids down as the ``event_ids`` keyword of ``save()`` (see ``CaseLedger._record``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier


def _ids_table(events_table_name: str) -> str:
    return events_table_name.removesuffix("events") + "event_ids"


class SQLiteCaseRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.ids_table = _ids_table(events_table_name)
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.ids_table} (event_id TEXT PRIMARY KEY, "
            "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        event_ids = kwargs.get("event_ids") or []
        c.executemany(
            f"INSERT INTO {self.ids_table} VALUES (?,?,?)",
            [
                (event_id, s.originator_id.hex, s.originator_version)  # type: ignore[union-attr]
                for event_id, s in zip(event_ids, stored_events, strict=True)
            ],
        )
        return positions

    def positions(self, case_id: UUID) -> dict[int, int]:
        """Version -> global position (rowid) of each stored event of a case."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_version, rowid FROM {self.events_table_name} "
                "WHERE originator_id=?",
                (case_id.hex,),
            )
            return {row[0]: row[1] for row in c.fetchall()}

    def locate(self, event_ids: Sequence[str]) -> dict[str, tuple[UUID, int]]:
        """Where each of these event ids is already recorded: id -> (case id, version)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT event_id, originator_id, originator_version FROM {self.ids_table} "
                f"WHERE event_id IN ({','.join('?' * len(event_ids))})",
                list(event_ids),
            )
            return {row[0]: (UUID(row[1]), row[2]) for row in c.fetchall()}


class PostgresCaseRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.ids_table = _ids_table(events_table_name)
        self.check_identifier_length(self.ids_table)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} (event_id text PRIMARY KEY, "
                "originator_id uuid NOT NULL, originator_version bigint NOT NULL)"
            ).format(schema=Identifier(datastore.schema), table=Identifier(self.ids_table))
        )

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)
        event_ids = kwargs.get("event_ids") or []
        if event_ids:  # on its own cursor: the caller fetches RETURNING rows from ``curs``
            with curs.connection.cursor() as ids_curs:
                ids_curs.executemany(
                    SQL("INSERT INTO {schema}.{table} VALUES (%s, %s, %s)").format(
                        schema=Identifier(self.datastore.schema),
                        table=Identifier(self.ids_table),
                    ),
                    [
                        (event_id, s.originator_id, s.originator_version)
                        for event_id, s in zip(event_ids, stored_events, strict=True)
                    ],
                )

    def positions(self, case_id: UUID) -> dict[int, int]:
        """Version -> global position (notification_id) of each stored event of a case."""
        statement = SQL(
            "SELECT originator_version, notification_id FROM {schema}.{table} "
            "WHERE originator_id = %s"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (case_id,))
            return {row["originator_version"]: row["notification_id"] for row in curs.fetchall()}

    def locate(self, event_ids: Sequence[str]) -> dict[str, tuple[UUID, int]]:
        """Where each of these event ids is already recorded: id -> (case id, version)."""
        statement = SQL(
            "SELECT event_id, originator_id, originator_version FROM {schema}.{table} "
            "WHERE event_id = ANY(%s)"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.ids_table))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (list(event_ids),))
            return {
                row["event_id"]: (row["originator_id"], row["originator_version"])
                for row in curs.fetchall()
            }
