"""What a read model is: tables, and the rows one case gives them.

Every read model here is a function of one case's record, judged by the compliance engine as of
an instant: a finding can come from an event that is *absent* (a deadline passed), so no handler
can update a row from one event alone. The runtime therefore dispatches each batch of the log by
case: every case the batch touched is re-derived from its entries up to the batch's position
(``CaseView``), and the read model replaces that case's rows (``ReadModel.rows``). That makes a
replay idempotent as well as exactly-once, since the rows and the position commit together.

Each read model also keeps ``<name>_cases``: the version and position each case was judged at and
``recheck_at``, the instant its earliest pending deadline passes, so the scheduler re-judges
exactly the cases for which time alone changed something.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any, ClassVar

from domain.compliance import ComplianceConfig, Evaluation, evaluate
from domain.compliance.engine import Judgement
from domain.compliance.spec import VN
from domain.state import CaseState, Entry, derive, effective_entries
from domain.units import registry
from projections.db import stamp

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Column:
    name: str
    sqlite: str
    postgres: str


def col(name: str, kind: str) -> Column:
    """A column by kind: text, int, bigint, bool, date, instant, json, uuid, code (an org-unit
    code, compared byte by byte so that ``subtree`` ranges hold under any collation).

    Rows carry Python values (``datetime`` for an instant, ``date``, ``dict``/``list`` for
    JSON); ``projections.db`` stores them in each store's own types."""
    sqlite, postgres = {
        "text": ("TEXT", "text"),
        "int": ("INTEGER", "integer"),
        "bigint": ("INTEGER", "bigint"),
        "bool": ("INTEGER", "boolean"),
        "date": ("TEXT", "date"),
        "instant": ("TEXT", "timestamptz"),
        "json": ("TEXT", "jsonb"),
        "uuid": ("TEXT", "uuid"),
        "code": ("TEXT", 'text COLLATE "C"'),  # unit codes: byte order, for subtree ranges
    }[kind]
    return Column(name, sqlite, postgres)


@dataclass(frozen=True)
class Table:
    """A read-model table: the view name SQL users query; generations are ``<name>_g<N>``."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def json_columns(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.columns) if c.postgres == "jsonb")

    def physical(self, generation: int) -> str:
        return f"{self.name}_g{generation}"

    def ddl(self, dialect: str, generation: int, indexed: bool = True) -> list[str]:
        """The generation's table; with its key and indexes unless ``indexed`` is false (a
        PostgreSQL table about to be filled in bulk, indexed after by ``index_ddl``)."""
        table = self.physical(generation)
        columns = ", ".join(
            f"{c.name} {c.sqlite if dialect == 'sqlite' else c.postgres}" for c in self.columns
        )
        if not indexed and dialect == "postgres":
            return [f"CREATE TABLE {table} ({columns})"]
        return [
            f"CREATE TABLE {table} ({columns}, PRIMARY KEY ({', '.join(self.key)}))",
            *self._indexes(generation),
        ]

    def index_ddl(self, generation: int) -> list[str]:
        """Key and indexes for a PostgreSQL table made with ``indexed=False`` (built in one pass
        over the rows, much cheaper than keeping them up to date row by row)."""
        key = f"ALTER TABLE {self.physical(generation)} ADD PRIMARY KEY ({', '.join(self.key)})"
        return [key, *self._indexes(generation)]

    def _indexes(self, generation: int) -> list[str]:
        table = self.physical(generation)
        return [
            f"CREATE INDEX {table}_i{i} ON {table} ({', '.join(index)})"
            for i, index in enumerate(self.indexes)
        ]


def bookkeeping(name: str) -> Table:
    return Table(
        f"caseledger_{name}_cases",
        (
            col("case_id", "uuid"),
            col("version", "int"),
            col("position", "bigint"),
            col("recheck_at", "instant"),
        ),
        key=("case_id",),
        indexes=(("recheck_at",),),
    )


class ReadModel:
    """A read model: its tables and the rows one judged case gives each of them."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]

    def rows(self, case: CaseView) -> dict[str, list[Row]]:
        """Rows for each of ``tables`` (by table name) that this case's record gives."""
        raise NotImplementedError

    @property
    def all_tables(self) -> tuple[Table, ...]:
        return (*self.tables, bookkeeping(self.name))


@dataclass
class CaseView:
    """One case as a read model sees it: its entries up to a version, judged as of an instant."""

    case_id: str
    version: int
    position: int
    as_of: datetime
    entries: Sequence[Entry]
    config: ComplianceConfig

    @cached_property
    def state(self) -> CaseState:
        judged = self.evaluation
        if judged.state is not None and judged.judged == len(self.entries):
            return judged.state  # the engine derived it from these same entries
        return derive(list(self.entries))

    @cached_property
    def live(self) -> list[Entry]:
        """Entries in force (voids removed, corrections applied), in recording order."""
        return effective_entries(list(self.entries))

    @cached_property
    def evaluation(self) -> Evaluation:
        """The engine's judgement as of ``as_of``, or of the case's last recording if that is
        later (a runner's clock may lag the writer's that recorded it: the case is never judged
        without an event the read model has applied)."""
        last = self.entries[-1].recorded_at if self.entries else self.as_of
        return evaluate(self.entries, max(self.as_of, last), self.config)

    @cached_property
    def pending(self) -> list[tuple[str, Judgement]]:
        """Deadlines still pending, earliest first, with their step names."""
        found = [
            (step.step, j)
            for step in self.evaluation.timeline
            for j in step.judgements
            if j.status == "pending"
        ]
        return sorted(found, key=lambda item: (passes_at(item[1].due), item[1].rule_id))

    @property
    def recheck_at(self) -> datetime | None:
        return passes_at(self.pending[0][1].due) if self.pending else None

    def bookkeeping_row(self) -> Row:
        return (self.case_id, self.version, self.position, self.recheck_at)


def passes_at(due: date | datetime) -> datetime:
    """The instant a deadline has passed: the start of the next local day for a day deadline,
    a second after it for a deadline in hours."""
    if isinstance(due, datetime):
        return due + timedelta(seconds=1)
    return datetime.combine(due + timedelta(days=1), time(), tzinfo=VN)


def day(value: date | datetime | None) -> date | None:
    """A date; an instant's local day in Việt Nam."""
    if isinstance(value, datetime):
        return value.astimezone(VN).date()
    return value


def exact(value: date | datetime | None) -> str | None:
    """A due date as text exactly as the engine gives it: a day, or an instant for deadlines in
    hours."""
    if value is None:
        return None
    return stamp(value) if isinstance(value, datetime) else value.isoformat()


def subtree(column: str, unit: str) -> tuple[str, tuple[str, ...]]:
    """SQL for "``column`` is ``unit`` or a unit under it" that an index on ``column`` serves
    (codes under ``01.004`` sort between ``01.004.`` and ``01.004/``)."""
    return f"({column} = ? OR ({column} >= ? AND {column} < ?))", (unit, unit + ".", unit + "/")


def in_area(column: str, unit: str) -> tuple[str, tuple[str, ...]]:
    """SQL for "``column`` holds a code, of any list, that ``unit``'s area counts"
    (``Registry.area``): a caseload or report for today's ``01.00004`` also counts the cases
    recorded under the old communes that went into it, and one for the old district ``01.001``
    the cases recorded since under the communes that received a part of it. The rows keep the
    codes they were recorded with; the mapping is applied here, so a later reform (new data
    files) needs no rebuild."""
    area = registry().area(unit)
    clauses: list[str] = []
    params: list[str] = []
    for prefix in area.prefixes:
        where, values = subtree(column, prefix)
        clauses.append(where)
        params += values
    if area.codes:
        clauses.append(f"{column} IN ({', '.join('?' * len(area.codes))})")
        params += sorted(area.codes)
    return "(" + " OR ".join(clauses) + ")", tuple(params)
