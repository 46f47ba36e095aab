"""The ``caseledger`` console script."""

from __future__ import annotations

import os

import typer

from infra.settings import Settings

cli = typer.Typer(help="caseledger: event-sourced case records.", no_args_is_help=True)


@cli.command()
def serve(
    host: str | None = typer.Option(None, help="default: CASELEDGER_HOST or 127.0.0.1"),
    port: int | None = typer.Option(None, help="default: PORT / CASELEDGER_PORT or 8000"),
) -> None:
    """Serve the HTTP API (SQLite under ./var/ unless CASELEDGER_DATABASE_URL says otherwise)."""
    import uvicorn

    from api.app import create_app

    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        access_log=False,
        log_config=None,
    )


@cli.command()
def demo(
    people: int = typer.Option(200, min=1, help="how many life courses to record"),
    seed: int = typer.Option(1, help="random seed (same seed, same data)"),
) -> None:
    """Record N plausible life courses in one province, through the domain."""
    from infra.demo import generate
    from infra.logging import configure_logging
    from infra.store import build_application

    settings = Settings()
    configure_logging(settings)
    app = build_application(settings)
    try:
        summary = generate(app, people=people, seed=seed)
    finally:
        app.close()
    typer.echo(
        f"recorded {summary.events} events in {summary.cases} cases for {summary.people} people "
        f"in {summary.elapsed_seconds:.1f} s ({settings.store})"
    )


@cli.command()
def verify(
    case: str | None = typer.Option(None, "--case", help="verify one case (its id)"),
) -> None:
    """Recompute every stored hash, check each case's chain and the global log.

    Prints "verified N events in M cases" (exit 0) or the first broken link (exit 1).
    """
    from uuid import UUID

    from domain.errors import CaseNotFound
    from infra.store import build_application, verify_store

    try:
        case_id = UUID(case) if case else None
    except ValueError:
        raise typer.BadParameter(f"not a case id: {case}", param_hint="--case") from None
    settings = Settings()
    app = build_application(settings)
    try:
        report = verify_store(app, case_id)
    except CaseNotFound as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    finally:
        app.close()
    typer.echo(report.summary())
    for problem in report.problems[1:10]:
        typer.echo(f"  also: {problem.kind} at {problem.describe()}")
    raise typer.Exit(0 if report.ok else 1)


@cli.command()
def migrate(
    grant_to: str | None = typer.Option(
        None,
        help="PostgreSQL role the application connects as: created if missing (password from "
        "CASELEDGER_APP_PASSWORD), given INSERT and SELECT on the store and nothing more",
    ),
) -> None:
    """Create or update the store's tables, functions and append-only triggers, as the owner.

    Run it after restoring a dump into another PostgreSQL cluster too: it offsets new
    transaction ids past the restored ones, without which appends are refused.
    """
    from psycopg.sql import SQL, Identifier

    from infra.store import build_application

    settings = Settings(create_tables=True)
    if grant_to and settings.store != "postgres":
        raise typer.BadParameter("roles exist only on PostgreSQL", param_hint="--grant-to")
    app = build_application(settings)
    try:
        if grant_to:
            recorder = app.recorder
            password = os.environ.get("CASELEDGER_APP_PASSWORD")
            with recorder.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
                curs.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (grant_to,))
                verb = "ALTER" if curs.fetchone() else "CREATE"
                if password:  # an existing role gets the password it is given
                    curs.execute(
                        SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                            Identifier(grant_to), password
                        )
                    )
                elif verb == "CREATE":
                    curs.execute(SQL("CREATE ROLE {} LOGIN").format(Identifier(grant_to)))
            recorder.grant_writer(grant_to)  # type: ignore[attr-defined]
    finally:
        app.close()
    typer.echo(
        f"store ready ({settings.store})"
        + (f"; role {grant_to} may INSERT and SELECT only" if grant_to else "")
    )


def main() -> None:
    cli()
