"""PostgreSQL roles, the projection runner's: ``caseledger migrate --runner-role`` gives it the
store to read and the read models as its own, so that it follows the log, rebuilds and reports
without owning the event tables, whose append-only triggers it therefore cannot disable."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from typer.testing import CliRunner

from domain.application import CaseLedger
from infra.cli import cli
from infra.settings import Settings
from infra.store import build_application, build_runner
from projections.generations import active_generations, ensure
from tests.conftest import pg_url, require_postgres
from tests.integration.stories import ACTOR, note, opening

VIEWS = ("caseledger_caseload", "caseledger_timeline", "caseledger_findings")
OWNER = urlsplit(pg_url()).username or "postgres"
"""The test server's role the tests connect as: a superuser."""


def as_role(role: str) -> str:
    """The test server's URL as ``role`` (the server trusts local connections)."""
    url = urlsplit(pg_url())
    netloc = f"{role}@{url.hostname}" + (f":{url.port}" if url.port else "")
    return urlunsplit(url._replace(netloc=netloc))


def drop_roles(*roles: str) -> None:
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        for role in roles:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f'DROP OWNED BY "{role}"')
                conn.execute(f'DROP ROLE "{role}"')


@dataclass(frozen=True)
class Roles:
    schema: str
    owner_url: str
    app: str
    runner: str

    def settings(self, role: str | None = None, **changes: object) -> Settings:
        return Settings(
            environment="test",
            database_url=as_role(role) if role else self.owner_url,
            database_schema=self.schema,
            create_tables=role is None,
            **changes,  # type: ignore[arg-type]
        )


def migrate(roles: Roles, monkeypatch: pytest.MonkeyPatch, *args: str, exit_code: int = 0) -> str:
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", roles.owner_url)
    monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", roles.schema)
    monkeypatch.setenv("CASELEDGER_LOG_JSON", "true")
    result = CliRunner().invoke(
        cli, ["migrate", "--grant-to", roles.app, "--runner-role", roles.runner, *args]
    )
    assert result.exit_code == exit_code, result.output
    return result.output


@pytest.fixture
def roles(pg_schema: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Roles]:
    """The store migrated by the superuser of the test server, with both roles."""
    suffix = uuid.uuid4().hex[:8]
    found = Roles(pg_schema, pg_url(), f"cl_app_{suffix}", f"cl_runner_{suffix}")
    yield found
    drop_roles(found.runner, found.app)


@pytest.fixture
def migrated(roles: Roles, monkeypatch: pytest.MonkeyPatch) -> Roles:
    output = migrate(roles, monkeypatch)
    assert f"role {roles.app} may INSERT and SELECT only" in output
    assert f"role {roles.runner} reads the store and owns the read models" in output
    return roles


def record(ledger: CaseLedger, cases: int) -> int:
    """Open ``cases`` cases with a note each; the last position."""
    position = 0
    for i in range(cases):
        opened = ledger.open_case(opening(full_name=f"Nguyễn Văn {i}"), ACTOR)
        [noted] = ledger.append(opened.case_id, [note()], ACTOR)
        position = noted.position or position
    return position


def owners(roles: Roles) -> dict[str, str]:
    with psycopg.connect(pg_url()) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'v')",
            (roles.schema,),
        ).fetchall()
    return dict(rows)


def read_as(role: str, roles: Roles) -> dict[str, int]:
    """How many rows ``role`` reads through each view."""
    with psycopg.connect(as_role(role)) as conn:
        return {
            view: conn.execute(f'SELECT count(*) FROM "{roles.schema}".{view}').fetchone()[0]
            for view in VIEWS
        }


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_migrate_gives_the_runner_the_read_models_and_the_store_to_read_only(
    migrated: Roles,
) -> None:
    found = owners(migrated)
    store = {
        "caseledger_events",
        "caseledger_log",
        "caseledger_log_state",
        "caseledger_access_log",
        "caseledger_access_cases",
        "caseledger_person_keys",
        "caseledger_log_tree",
        "caseledger_log_checkpoints",
        "caseledger_log_cosignatures",
    }
    assert {found[t] for t in store} == {OWNER}
    read_models = {name for name in found if name not in store}
    assert read_models >= {"caseledger_projections", "caseledger_projection_failures"}
    assert read_models >= {*VIEWS, *(f"{v}_g1" for v in VIEWS)}
    assert {found[name] for name in read_models} == {migrated.runner}
    with psycopg.connect(pg_url()) as conn:
        privileges = {
            table: conn.execute(
                "SELECT array_agg(p ORDER BY p) FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', "
                "'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p "
                "WHERE has_table_privilege(%s, %s, p)",
                (migrated.runner, f'"{migrated.schema}".{table}'),
            ).fetchone()[0]
            for table in sorted(store)
        }
        schema = conn.execute(
            "SELECT has_schema_privilege(%(r)s, %(s)s, 'USAGE'), "
            "has_schema_privilege(%(r)s, %(s)s, 'CREATE')",
            {"r": migrated.runner, "s": migrated.schema},
        ).fetchone()
    access = {"caseledger_access_log", "caseledger_access_cases"}  # not the runner's business
    signed = {"caseledger_log_checkpoints", "caseledger_log_cosignatures"}  # it signs them
    assert privileges == {
        table: None if table in access else ["INSERT", "SELECT"] if table in signed else ["SELECT"]
        for table in store
    }
    assert schema == (True, True)


def test_the_runner_follows_the_log_rebuilds_and_reports_as_its_own_role(
    migrated: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = build_application(migrated.settings(migrated.app))
    ledger = build_application(migrated.settings(migrated.runner))
    runner = build_runner(migrated.settings(migrated.runner), ledger)
    try:
        head = record(writer, 3)
        ensure(runner.db, runner.models)  # what ``caseledger projections run`` does first
        thread = runner.start()
        try:
            wait_for(lambda: {g.position for g in active_generations(runner.db)} == {head})
            monkeypatch.setenv("CASELEDGER_DATABASE_URL", as_role(migrated.runner))
            monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", migrated.schema)
            monkeypatch.setenv("CASELEDGER_CREATE_TABLES", "false")
            monkeypatch.setenv("CASELEDGER_LOG_JSON", "true")
            status = CliRunner().invoke(cli, ["projections", "status"])
            rebuilt = CliRunner().invoke(cli, ["projections", "rebuild", "--workers", "2"])
            head = record(writer, 1)
            wait_for(lambda: {g.position for g in active_generations(runner.db)} == {head})
        finally:
            runner.stop()
            thread.join(10)
    finally:
        runner.db.close()
        ledger.close()
        writer.close()

    assert status.exit_code == 0, status.output
    assert "runner: running" in status.output
    assert "caseload: generation 1, position 6 of 6 (lag 0 events)" in status.output
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "caseload (generation 2)" in rebuilt.output
    found = owners(migrated)
    assert f"{VIEWS[0]}_g1" not in found
    assert {found[name] for name in (*VIEWS, *(f"{v}_g2" for v in VIEWS))} == {migrated.runner}
    # the application reads what the runner rebuilt, through the views
    assert read_as(migrated.app, migrated)["caseledger_caseload"] == 4


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {schema}.caseledger_events SET actor = '{{}}'",
        "DELETE FROM {schema}.caseledger_events",
        "INSERT INTO {schema}.caseledger_events (event_id, case_id, version, type, "
        "schema_version, occurred_at, recorded_at, actor, payload, hash) SELECT 'forged', "
        "case_id, version + 1, type, schema_version, occurred_at, recorded_at, actor, payload, "
        "hash FROM {schema}.caseledger_events",
        "TRUNCATE {schema}.caseledger_events",
        "UPDATE {schema}.caseledger_log SET log_hash = event_hash",
        "DELETE FROM {schema}.caseledger_log",
        "INSERT INTO {schema}.caseledger_log SELECT * FROM {schema}.caseledger_log",
        "TRUNCATE {schema}.caseledger_log",
        "UPDATE {schema}.caseledger_log_state SET tx_offset = 0",
        "ALTER TABLE {schema}.caseledger_events DISABLE TRIGGER ALL",
        "ALTER TABLE {schema}.caseledger_events DISABLE TRIGGER refuse_change",
        "ALTER TABLE {schema}.caseledger_log DISABLE TRIGGER ALL",
        "ALTER TABLE {schema}.caseledger_events OWNER TO CURRENT_USER",
        "DROP TABLE {schema}.caseledger_log",
        "DROP TRIGGER refuse_change ON {schema}.caseledger_events",
        "CREATE OR REPLACE FUNCTION {schema}.caseledger_log_refuse_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
        "CREATE TRIGGER sneak BEFORE INSERT ON {schema}.caseledger_events "
        "FOR EACH ROW EXECUTE FUNCTION {schema}.caseledger_log_refuse_change()",
    ],
)
def test_the_runner_role_may_not_change_remove_or_unprotect_the_record(
    migrated: Roles, statement: str
) -> None:
    writer = build_application(migrated.settings(migrated.app))
    try:
        record(writer, 1)
    finally:
        writer.close()
    with (
        psycopg.connect(as_role(migrated.runner)) as conn,
        pytest.raises(
            psycopg.errors.InsufficientPrivilege, match=r"permission denied|must be owner"
        ),
    ):
        conn.execute(statement.format(schema=f'"{migrated.schema}"'))


def test_the_runner_role_cannot_plant_a_function_the_application_then_calls(
    migrated: Roles,
) -> None:
    with psycopg.connect(as_role(migrated.runner), autocommit=True) as conn:
        for version in ("smallint", "integer"):
            conn.execute(
                f'CREATE FUNCTION "{migrated.schema}".caseledger_events_hash('
                f"uuid, {version}, bytea, bytea) RETURNS bytea LANGUAGE sql "
                "AS $$ SELECT '\\xdeadbeef'::bytea $$"
            )
    writer = build_application(migrated.settings(migrated.app))
    try:
        opened = writer.open_case(opening(), ACTOR)
        writer.append(opened.case_id, [note(), note("again")], ACTOR)  # one INSERT each
        report = writer.verify()
    finally:
        writer.close()

    assert report.ok, report.summary()


def test_the_api_reads_as_the_application_role_what_the_runner_rebuilt_in_a_new_layout(
    migrated: Roles,
) -> None:
    from dataclasses import replace
    from typing import ClassVar

    from fastapi.testclient import TestClient

    from api.app import create_app
    from projections.caseload import CASELOAD, Caseload
    from projections.model import col
    from projections.rebuild import rebuild
    from tests.api.test_cases_api import ACTOR as HEADERS
    from tests.api.test_cases_api import OPEN

    class WiderCaseload(Caseload):  # a later layout: the view is dropped and made again
        tables: ClassVar = (
            replace(
                CASELOAD,
                columns=tuple(
                    col("open_findings", "bigint") if c.name == "open_findings" else c
                    for c in CASELOAD.columns
                ),
            ),
        )

    api = migrated.settings(migrated.app, run_projections=False)
    as_runner = migrated.settings(migrated.runner)
    with TestClient(create_app(api)) as client:
        opened = client.post("/v1/cases", headers=HEADERS, json=OPEN).json()
        ledger = build_application(as_runner)
        runner = build_runner(as_runner, ledger)
        try:
            rebuild(runner, [WiderCaseload()])
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
        finally:
            runner.db.close()
            ledger.close()

    assert response.status_code == 200, response.text
    assert [c["case_id"] for c in response.json()["cases"]] == [opened["case_id"]]
    assert ready.status_code == 200, ready.text
    assert ready.json()["projections_running"] is True
    with psycopg.connect(as_role(migrated.app)) as conn:
        row = conn.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'caseledger_caseload' AND column_name = 'open_findings'",
            (migrated.schema,),
        ).fetchone()
    assert row == ("bigint",)
    assert owners(migrated)["caseledger_caseload"] == migrated.runner


def test_migrate_again_after_a_rebuild_keeps_the_runner_owner_and_its_password(
    roles: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projections.rebuild import rebuild

    monkeypatch.setenv("CASELEDGER_RUNNER_PASSWORD", "first secret")
    migrate(roles, monkeypatch)
    ledger = build_application(roles.settings(roles.runner))
    runner = build_runner(roles.settings(roles.runner), ledger)
    try:
        rebuild(runner, runner.models)
    finally:
        runner.db.close()
        ledger.close()
    with psycopg.connect(pg_url()) as conn:
        query = "SELECT rolpassword FROM pg_authid WHERE rolname = %s"
        password = conn.execute(query, (roles.runner,)).fetchone()
    monkeypatch.delenv("CASELEDGER_RUNNER_PASSWORD")

    migrate(roles, monkeypatch)

    with psycopg.connect(pg_url()) as conn:
        assert conn.execute(query, (roles.runner,)).fetchone() == password
    assert password is not None and password[0]
    found = owners(roles)
    assert {found[name] for name in (*VIEWS, *(f"{v}_g2" for v in VIEWS))} == {roles.runner}
    assert read_as(roles.app, roles) == dict.fromkeys(VIEWS, 0)


@pytest.fixture
def owner_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[Roles]:
    """A schema owned by a role that is not a superuser, only CREATEROLE (as in production)."""
    require_postgres()
    suffix = uuid.uuid4().hex[:8]
    owner, schema = f"cl_owner_{suffix}", f"t_{suffix}"
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN CREATEROLE')
        conn.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{owner}"')
    found = Roles(schema, as_role(owner), f"cl_app_{suffix}", f"cl_runner_{suffix}")
    yield found
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    drop_roles(found.runner, found.app, owner)


def test_an_owner_with_createrole_only_migrates_hands_over_and_migrates_again(
    owner_schema: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projections.rebuild import rebuild

    roles = owner_schema
    migrate(roles, monkeypatch)
    writer = build_application(roles.settings(roles.app))
    ledger = build_application(roles.settings(roles.runner))
    runner = build_runner(roles.settings(roles.runner), ledger)
    try:
        record(writer, 2)
        runner.catch_up()
        rebuild(runner, runner.models)
    finally:
        runner.db.close()
        ledger.close()
        writer.close()

    migrate(roles, monkeypatch)  # the owner works on the runner's tables through membership

    owner = urlsplit(roles.owner_url).username
    with psycopg.connect(pg_url()) as conn:
        member = conn.execute(
            "SELECT pg_has_role(%s, %s, 'USAGE'), pg_has_role(%s, %s, 'MEMBER')",
            (owner, roles.runner, roles.runner, owner),
        ).fetchone()
    assert member == (True, False)  # the owner inherits the runner's, never the reverse
    found = owners(roles)
    assert {found[t] for t in ("caseledger_events", "caseledger_log")} == {owner}
    assert {found[name] for name in (*VIEWS, *(f"{v}_g2" for v in VIEWS))} == {roles.runner}
    assert read_as(roles.app, roles)["caseledger_caseload"] == 2


def test_migrate_refuses_a_runner_role_that_could_do_what_the_owner_can(
    roles: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", roles.owner_url)
    monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", roles.schema)
    monkeypatch.setenv("CASELEDGER_LOG_JSON", "true")
    creator, member = f"{roles.runner}_creator", f"{roles.runner}_member"
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{creator}" LOGIN CREATEROLE')
        conn.execute(f'CREATE ROLE "{member}" LOGIN IN ROLE "{OWNER}"')
    try:
        results = {
            role: CliRunner().invoke(cli, ["migrate", "--runner-role", role])
            for role in (OWNER, creator, member)
        }
        same = CliRunner().invoke(
            cli, ["migrate", "--grant-to", roles.app, "--runner-role", roles.app]
        )
    finally:
        drop_roles(creator, member)

    for role, result in results.items():
        assert result.exit_code == 1, (role, result.output)
        assert "the runner needs a role of its own" in result.output
    assert "is a superuser or may create roles" in results[OWNER].output
    assert "is a superuser or may create roles" in results[creator].output
    assert "is a member of their owner" in results[member].output
    assert same.exit_code == 2, same.output
    assert "the runner needs a role of its own" in same.output


def test_migrate_refuses_a_runner_role_on_sqlite(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", f"sqlite:///{tmp_path}/ledger.sqlite3")
    monkeypatch.setenv("CASELEDGER_LOG_JSON", "true")

    result = CliRunner().invoke(cli, ["migrate", "--runner-role", "someone"])

    assert result.exit_code == 2
    assert "roles exist only on PostgreSQL" in result.output
