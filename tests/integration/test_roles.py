"""PostgreSQL roles: migrations run as the owner; the application records as a role that may
only INSERT and SELECT, so that even a bug or a stolen application password cannot rewrite
the record."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from eventsourcing.persistence import ProgrammingError
from typer.testing import CliRunner

from domain.case import NewEvent
from domain.events import Actor
from infra.cli import cli
from infra.settings import Settings
from infra.store import build_application
from tests.conftest import pg_url

ACTOR = Actor(id="officer-17", role="commune_police", unit="01.004.00127")


def as_role(role: str) -> str:
    url = urlsplit(pg_url())
    netloc = f"{role}@{url.hostname}" + (f":{url.port}" if url.port else "")
    return urlunsplit(url._replace(netloc=netloc))


@pytest.fixture
def app_role(pg_schema: str) -> Iterator[str]:
    role = f"cl_app_{uuid.uuid4().hex[:8]}"
    yield role
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def migrated(pg_schema: str, app_role: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", pg_url())
    monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", pg_schema)
    monkeypatch.setenv("CASELEDGER_LOG_JSON", "true")
    result = CliRunner().invoke(cli, ["migrate", "--grant-to", app_role])
    assert result.exit_code == 0, result.output
    assert f"role {app_role} may INSERT and SELECT only" in result.output
    return pg_schema


def test_the_application_records_and_verifies_as_a_role_that_can_only_insert_and_select(
    migrated: str, app_role: str
) -> None:
    settings = Settings(
        environment="test",
        database_url=as_role(app_role),
        database_schema=migrated,
        create_tables=False,
    )
    ledger = build_application(settings)
    try:
        opened = ledger.open_case(
            NewEvent.parse(
                "CaseOpened",
                datetime(2021, 3, 2, tzinfo=UTC),
                {
                    "person": {
                        "full_name": "Nguyễn Văn A",
                        "date_of_birth": "1995-04-12",
                        "sex": "male",
                        "residence_unit": "01.004.00127",
                        "address": "12 ngõ 5",
                    },
                    "source": "detection",
                    "managing_unit": "01.004.00127",
                },
            ),
            ACTOR,
        )
        [noted] = ledger.append(
            opened.case_id,
            [NewEvent.parse("NoteAdded", datetime(2021, 3, 3, tzinfo=UTC), {"text": "visit"})],
            ACTOR,
        )

        assert (opened.position, noted.position) == (1, 2)
        assert ledger.verify().summary().startswith("verified 2 events in 1 cases")
    finally:
        ledger.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {schema}.caseledger_events SET actor = '{{}}'",
        "DELETE FROM {schema}.caseledger_events",
        "TRUNCATE {schema}.caseledger_events",
        "DELETE FROM {schema}.caseledger_log",
        "ALTER TABLE {schema}.caseledger_events DISABLE TRIGGER refuse_change",
        "DROP TABLE {schema}.caseledger_log",
        # the log is written only by the sequencer function, which runs as the owner
        "INSERT INTO {schema}.caseledger_log SELECT * FROM {schema}.caseledger_log",
        # the writing transaction's id is the column default, not the writer's choice
        "INSERT INTO {schema}.caseledger_events (tx_id) VALUES (999999999999)",
        "UPDATE {schema}.caseledger_log_state SET tx_offset = 0",
        # the read models are the runner's (test_runner_role.py): the application only reads them
        "DELETE FROM {schema}.caseledger_caseload_g1",
        "INSERT INTO {schema}.caseledger_findings_g1 (case_id) VALUES (gen_random_uuid())",
        "UPDATE {schema}.caseledger_projections SET position = 0",
    ],
)
def test_the_application_role_may_not_change_remove_or_unprotect_the_record(
    migrated: str, app_role: str, statement: str
) -> None:
    with (
        psycopg.connect(as_role(app_role)) as conn,
        pytest.raises(
            psycopg.errors.InsufficientPrivilege, match=r"permission denied|must be owner"
        ),
    ):
        conn.execute(statement.format(schema=f'"{migrated}"'))


def test_migrate_refuses_a_role_on_sqlite(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.sqlite3")
    monkeypatch.setenv("CASELEDGER_LOG_JSON", "true")

    result = CliRunner().invoke(cli, ["migrate", "--grant-to", "someone"])

    assert result.exit_code == 2
    assert "roles exist only on PostgreSQL" in result.output


def test_the_application_refuses_to_start_unless_transactions_are_read_committed(
    migrated: str, app_role: str
) -> None:
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(
            f"ALTER ROLE \"{app_role}\" SET default_transaction_isolation = 'repeatable read'"
        )
    settings = Settings(
        environment="test",
        database_url=as_role(app_role),
        database_schema=migrated,
        create_tables=False,
    )

    with pytest.raises(
        ProgrammingError, match="needs default_transaction_isolation = 'read committed'"
    ):
        build_application(settings)


def test_the_api_serves_read_models_as_the_application_role_while_the_owner_keeps_them(
    migrated: str, app_role: str
) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from infra.store import build_runner
    from tests.api.test_cases_api import ACTOR as HEADERS
    from tests.api.test_cases_api import OPEN

    owner = Settings(environment="test", database_url=pg_url(), database_schema=migrated)
    app_settings = owner.model_copy(
        update={"database_url": as_role(app_role), "create_tables": False, "run_projections": False}
    )
    with TestClient(create_app(app_settings)) as client:
        opened = client.post("/v1/cases", headers=HEADERS, json=OPEN).json()
        ledger = build_application(owner)
        runner = build_runner(owner, ledger)  # the projections service, as the owner
        thread = runner.start()
        try:
            response = client.get(
                "/v1/caseloads",
                params={"unit": "01.004.00127", "min_position": opened["position"]},
                headers=HEADERS,
            )
            ready = client.get("/ready")
        finally:
            runner.stop()
            thread.join(10)
            runner.db.close()
            ledger.close()

    assert response.status_code == 200, response.text
    assert [c["case_id"] for c in response.json()["cases"]] == [opened["case_id"]]
    assert ready.status_code == 200, ready.text  # the application role sees the runner
    assert ready.json()["projections_running"] is True


def test_a_rebuild_that_changes_a_read_models_columns_keeps_the_readers_grant(
    migrated: str, app_role: str
) -> None:
    from dataclasses import replace
    from typing import ClassVar

    from infra.store import build_runner
    from projections.caseload import CASELOAD, Caseload
    from projections.model import col
    from projections.rebuild import rebuild

    class WiderCaseload(Caseload):  # a later layout: a column of another type
        tables: ClassVar = (
            replace(
                CASELOAD,
                columns=tuple(
                    col("open_findings", "bigint") if c.name == "open_findings" else c
                    for c in CASELOAD.columns
                ),
            ),
        )

    owner = Settings(environment="test", database_url=pg_url(), database_schema=migrated)
    ledger = build_application(owner)
    runner = build_runner(owner, ledger)
    try:
        rebuild(runner, [WiderCaseload()])
    finally:
        runner.db.close()
        ledger.close()

    with psycopg.connect(as_role(app_role)) as conn:
        row = conn.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'caseledger_caseload' AND column_name = 'open_findings'",
            (migrated,),
        ).fetchone()
        conn.execute(f'SELECT count(*) FROM "{migrated}".caseledger_caseload')
    assert row == ("bigint",)
