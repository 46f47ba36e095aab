"""Recorders: the library's, plus the global position of each event of a case."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


class SQLiteCaseRecorder(SQLiteApplicationRecorder):
    def positions(self, case_id: UUID) -> dict[int, int]:
        """Version -> global position (rowid) of each stored event of a case."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_version, rowid FROM {self.events_table_name} "
                "WHERE originator_id=?",
                (case_id.hex,),
            )
            return {row[0]: row[1] for row in c.fetchall()}


class PostgresCaseRecorder(PostgresApplicationRecorder):
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
