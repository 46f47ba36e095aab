"""Read models' generations: the bookkeeping table and the tables and views of each generation.

Each read model has a row per generation in ``caseledger_projections``: whether it is the
active one (the one its views point at), the log position its rows reflect, and the error that
stopped it. A generation's tables are named ``<table>_g<generation>``; a rebuild fills the next
generation beside the live one and repoints the views in one transaction (``projections.rebuild``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from projections.db import FAILURES_TABLE, STATE_TABLE, Tx, ViewDatabase
from projections.model import ReadModel

STATE_DDL = {
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
        name TEXT NOT NULL, generation INTEGER NOT NULL, active INTEGER NOT NULL,
        position INTEGER NOT NULL, events INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT, error TEXT, error_position INTEGER,
        PRIMARY KEY (name, generation))""",
    "postgres": f"""CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
        name text NOT NULL, generation integer NOT NULL, active boolean NOT NULL,
        position bigint NOT NULL, events bigint NOT NULL DEFAULT 0,
        updated_at timestamptz, error text, error_position bigint,
        PRIMARY KEY (name, generation))""",
}

FAILURES_DDL = {
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {FAILURES_TABLE} (
        name TEXT NOT NULL, generation INTEGER NOT NULL, case_id TEXT NOT NULL,
        version INTEGER NOT NULL, position INTEGER NOT NULL, event_id TEXT,
        error TEXT NOT NULL, failed_at TEXT NOT NULL,
        PRIMARY KEY (name, generation, case_id))""",
    "postgres": f"""CREATE TABLE IF NOT EXISTS {FAILURES_TABLE} (
        name text NOT NULL, generation integer NOT NULL, case_id uuid NOT NULL,
        version bigint NOT NULL, position bigint NOT NULL, event_id text,
        error text NOT NULL, failed_at timestamptz NOT NULL,
        PRIMARY KEY (name, generation, case_id))""",
}

_SELECT = (
    f"SELECT p.*, (SELECT count(*) FROM {FAILURES_TABLE} f WHERE f.name = p.name "
    f"AND f.generation = p.generation) AS failing FROM {STATE_TABLE} p"
)
"""A generation's row, and how many of its cases are failing."""


@dataclass(frozen=True)
class Generation:
    """A read model's generation: its tables' suffix, whether it is the one served, the log
    position its rows reflect, how many events it applied, and the error that stopped it."""

    name: str
    generation: int
    active: bool
    position: int
    events: int
    updated_at: str | None
    error: str | None
    error_position: int | None
    failing: int = 0
    """How many cases it could not lay out (``caseledger_projection_failures``)."""


def read_generations(db: ViewDatabase, names: Sequence[str]) -> dict[str, Generation]:
    """The active rows of these read models, read without locking them."""
    if not names:
        return {}
    marks = ", ".join("?" for _ in names)
    rows = db.read(f"{_SELECT} WHERE p.active AND p.name IN ({marks})", names)
    return {row["name"]: _generation(row) for row in rows}


def lock_generation(tx: Tx, name: str, generation: int | None = None) -> Generation | None:
    """A read model's generation row, locked for this transaction (the active one unless
    ``generation`` is given); None if there is none."""
    where = (
        "p.name = ? AND p.generation = ?" if generation is not None else "p.name = ? AND p.active"
    )
    params: tuple[Any, ...] = (name, generation) if generation is not None else (name,)
    lock = " FOR UPDATE OF p" if tx.dialect == "postgres" else ""
    rows = tx.rows(f"{_SELECT} WHERE {where}{lock}", params)
    return _generation(rows[0]) if rows else None


def _generation(row: dict[str, Any]) -> Generation:
    return Generation(
        name=row["name"],
        generation=int(row["generation"]),
        active=bool(row["active"]),
        position=int(row["position"]),
        events=int(row["events"]),
        updated_at=row["updated_at"],
        error=row["error"],
        error_position=row["error_position"],
        failing=int(row.get("failing") or 0),
    )


def active_generations(db: ViewDatabase) -> list[Generation]:
    """Every read model's active generation (position, error), by name."""
    if not db.exists(STATE_TABLE):
        return []
    rows = db.read(f"{_SELECT} WHERE p.active ORDER BY p.name")
    return [_generation(row) for row in rows]


def failing_cases(
    db: ViewDatabase, generation: Generation, limit: int = 10
) -> list[dict[str, Any]]:
    """The cases a generation could not lay out, latest first: case, version, position, the
    event the judgement stopped at, the error, when."""
    return db.read(
        f"SELECT case_id, version, position, event_id, error, failed_at FROM {FAILURES_TABLE} "
        "WHERE name = ? AND generation = ? ORDER BY failed_at DESC, case_id LIMIT ?",
        (generation.name, generation.generation, limit),
    )


def ensure(db: ViewDatabase, models: Iterable[ReadModel]) -> None:
    """Create the state table, and generation 1 with its views for read models that have none."""
    with db.transaction() as tx:
        if tx.dialect == "postgres":
            tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (STATE_TABLE,))
        tx.execute(STATE_DDL[tx.dialect])
        tx.execute(FAILURES_DDL[tx.dialect])
        for model in models:
            if lock_generation(tx, model.name) is not None:
                continue
            create_generation(tx, model, 1, active=True)
            point_views(tx, model, 1)


def create_generation(
    tx: Tx, model: ReadModel, generation: int, active: bool, indexed: bool = True
) -> None:
    for table in model.all_tables:
        for statement in table.ddl(tx.dialect, generation, indexed):
            tx.execute(statement)
    tx.execute(
        f"INSERT INTO {STATE_TABLE} (name, generation, active, position, events) "
        "VALUES (?, ?, ?, 0, 0)",
        (model.name, generation, active),
    )


def point_views(tx: Tx, model: ReadModel, generation: int) -> None:
    """Point each view at the generation's table. On PostgreSQL a view keeps its grants when
    replaced; when the new table's columns differ (a read model whose layout changed, rebuilt),
    the view is dropped and made again, and its grants given again, in this transaction."""
    for table in model.all_tables:
        source = table.physical(generation)
        if tx.dialect != "postgres":
            tx.execute(f"DROP VIEW IF EXISTS {table.name}")
            tx.execute(f"CREATE VIEW {table.name} AS SELECT * FROM {source}")
            continue
        tx.execute("SAVEPOINT view")
        try:
            tx.execute(f"CREATE OR REPLACE VIEW {table.name} AS SELECT * FROM {source}")
        except (psycopg.errors.InvalidTableDefinition, psycopg.errors.DatatypeMismatch):
            tx.execute("ROLLBACK TO SAVEPOINT view")
            grants = tx.rows(
                "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
                "WHERE table_schema = current_schema() AND table_name = ? "
                "AND grantee <> current_user",
                (table.name,),
            )
            tx.execute(f"DROP VIEW {table.name}")
            tx.execute(f"CREATE VIEW {table.name} AS SELECT * FROM {source}")
            for grant in grants:
                tx.execute(
                    f'GRANT {grant["privilege_type"]} ON {table.name} TO "{grant["grantee"]}"'
                )
        tx.execute("RELEASE SAVEPOINT view")


def drop_generation(tx: Tx, model: ReadModel, generation: int) -> None:
    for table in model.all_tables:
        tx.execute(f"DROP TABLE IF EXISTS {table.physical(generation)}")
    tx.execute(
        f"DELETE FROM {STATE_TABLE} WHERE name = ? AND generation = ?", (model.name, generation)
    )
    tx.execute(
        f"DELETE FROM {FAILURES_TABLE} WHERE name = ? AND generation = ?", (model.name, generation)
    )
