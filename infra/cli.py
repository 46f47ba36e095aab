"""The ``caseledger`` console script."""

from __future__ import annotations

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


def main() -> None:
    cli()
