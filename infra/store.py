"""Store wiring: Settings -> the eventsourcing environment -> the CaseLedger application."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from domain.application import CaseLedger, utcnow
from infra.settings import Settings
from projections import read_models
from projections.db import ViewDatabase
from projections.notices import Notices
from projections.runner import Runner

COMMON = {
    "TRANSCODER_TOPIC": "infra.serialization:OrjsonTranscoder",
    "MAPPER_TOPIC": "infra.serialization:CaseEventMapper",
}


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The one place where settings become eventsourcing configuration."""
    url = urlsplit(settings.database_url)
    common = {
        **COMMON,
        "CREATE_TABLE": "y" if settings.create_tables else "n",
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache),
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }
    if not settings.aggregate_cache:
        del common["AGGREGATE_CACHE_MAXSIZE"]
    if settings.store == "sqlite":
        path = settings.database_url.removeprefix("sqlite:///")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": "infra.recorders:SQLiteCaseRecorder",
            "SQLITE_DBNAME": path if path != ":memory:" else "file::memory:?cache=shared",
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    return {
        **common,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "infra.recorders:PostgresCaseRecorder",
        "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": settings.database_schema,
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "5",
    }


def build_application(settings: Settings, clock: Callable[[], datetime] = utcnow) -> CaseLedger:
    env = eventsourcing_env(settings)
    if settings.store == "sqlite" and env["SQLITE_DBNAME"] != "file::memory:?cache=shared":
        _use_wal(env["SQLITE_DBNAME"])
    return CaseLedger(env=env, clock=clock)


def build_runner(
    settings: Settings,
    ledger: CaseLedger,
    names: list[str] | None = None,
    notices: Notices | None = None,
) -> Runner:
    """The projection runner for ``settings``: its own connections, the clock or a fixed as-of;
    ``notices``: the process's LISTEN feed (the runner listens on its own without one)."""
    as_of = settings.evaluate_as_of
    return Runner(
        ledger,
        ViewDatabase(settings, pool_size=2),
        read_models(names),
        clock=(lambda: as_of) if as_of is not None else utcnow,
        poll_seconds=settings.projection_poll_seconds,
        recheck_seconds=settings.recheck_seconds,
        batch=settings.projection_batch,
        cases=settings.projection_cases,
        notices=notices,
    )


def _use_wal(path: str, patience: float = 10.0) -> None:
    """Put a SQLite file in WAL mode before the library connects: its own switch fails at once,
    without waiting, when several processes open a new file together."""
    deadline = time.monotonic() + patience
    while True:
        try:
            with closing(sqlite3.connect(path, timeout=patience)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
