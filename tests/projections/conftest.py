"""Read-model fixtures: a runner on the test's store (SQLite and PostgreSQL), with a clock the
test moves, and ``snapshot`` to compare every row of every read model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from domain.application import CaseLedger
from infra.settings import Settings
from projections import read_models
from projections.db import ViewDatabase, as_json
from projections.generations import ensure
from projections.runner import Runner
from tests.compliance.scenario import VN


class Clock:
    """The instant the read models are judged at; tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: str) -> None:
        self.now = datetime.fromisoformat(when).replace(tzinfo=VN)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2023, 3, 8, 12, 0, tzinfo=VN))


@pytest.fixture
def views(settings: Settings) -> Iterator[ViewDatabase]:
    db = ViewDatabase(settings, pool_size=4)
    ensure(db, read_models())
    yield db
    db.close()


def make_runner(ledger: CaseLedger, views: ViewDatabase, clock: Clock, **options: Any) -> Runner:
    options.setdefault("recheck_seconds", 0.0)
    return Runner(ledger, views, read_models(), clock=clock, **options)


@pytest.fixture
def runner(ledger: CaseLedger, views: ViewDatabase, clock: Clock) -> Runner:
    return make_runner(ledger, views, clock)


def snapshot(views: ViewDatabase) -> dict[str, list[dict[str, Any]]]:
    """Every row of every read model (through the views), in key order, JSON parsed (SQLite
    gives it as text), so that snapshots of the two stores compare too."""
    rows = {}
    for model in read_models():
        for table in model.all_tables:
            found = views.read(f"SELECT * FROM {table.name} ORDER BY {', '.join(table.key)}")
            json = [table.columns[i].name for i in table.json_columns]
            rows[table.name] = [{**r, **{c: as_json(r[c]) for c in json}} for r in found]
    return rows
