"""Store fixtures: tests that ask for ``settings`` or ``ledger`` run on SQLite and PostgreSQL.

PostgreSQL comes from ``CASELEDGER_TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); each test gets a schema of its own, dropped after.
When ``CI=true`` an unreachable server fails the test; elsewhere it is skipped, with the reason in
the summary (pytest ``-ra``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache

import psycopg
import pytest

from domain.application import CaseLedger
from infra.settings import Settings
from infra.store import build_application
from tests.tokens import KEY_FILE

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

# every Settings built by the tests, the app's included, trusts the tests' token key and keeps
# its key-encryption keys and pseudonym key beside it (generated at the first start)
os.environ["CASELEDGER_TOKEN_KEY_FILE"] = str(KEY_FILE)
os.environ["CASELEDGER_KEK_FILE"] = str(KEY_FILE.with_name("kek.json"))
os.environ["CASELEDGER_PSEUDONYM_KEY_FILE"] = str(KEY_FILE.with_name("pseudonym.key"))


def pg_url() -> str:
    return os.environ.get("CASELEDGER_TEST_DATABASE_URL", DEFAULT_PG)


@cache
def pg_unreachable() -> str | None:
    try:
        psycopg.connect(pg_url(), connect_timeout=3).close()
    except psycopg.Error as e:
        return f"PostgreSQL at {pg_url()} unreachable: {str(e).strip().splitlines()[0]}"
    return None


def require_postgres() -> None:
    reason = pg_unreachable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
    pytest.skip(reason)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(store: str, tmp_path, request: pytest.FixtureRequest) -> Settings:
    if store == "sqlite":
        return Settings(environment="test", database_url=f"sqlite:///{tmp_path}/ledger.sqlite3")
    schema = request.getfixturevalue("pg_schema")
    return Settings(environment="test", database_url=pg_url(), database_schema=schema, pool_size=20)


@pytest.fixture
def ledger(settings: Settings) -> Iterator[CaseLedger]:
    app = build_application(settings)
    yield app
    app.close()
