"""The ``caseledger`` console script."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from infra.settings import Settings

# a traceback never shows local variables: they may hold keys or personal data
cli = typer.Typer(
    help="caseledger: event-sourced case records.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@cli.command()
def serve(
    host: str | None = typer.Option(None, help="default: CASELEDGER_HOST or 127.0.0.1"),
    port: int | None = typer.Option(None, help="default: PORT / CASELEDGER_PORT or 8000"),
) -> None:
    """Serve the HTTP API (SQLite under ./var/ unless CASELEDGER_DATABASE_URL says otherwise)."""
    import uvicorn

    from api.app import create_app
    from infra.keys import KeyConfigurationError
    from infra.store import build_application

    settings = Settings()
    try:  # a key problem is said in one line, before the server starts
        ledger = build_application(settings)
    except KeyConfigurationError as e:
        typer.echo(f"caseledger serve: {e}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        create_app(settings, ledger),
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
    from infra.demo import DemoAlreadyRecorded, generate
    from infra.logging import configure_logging
    from infra.progress import progress
    from infra.store import build_application

    settings = Settings()
    configure_logging(settings)
    ledger = build_application(settings)
    try:
        with progress("people", people) as done:
            summary = generate(ledger, people=people, seed=seed, progress=done)
    except DemoAlreadyRecorded as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from None
    finally:
        ledger.close()
    typer.echo(
        f"recorded {summary.events} events in {summary.cases} cases for {summary.people} people "
        f"in {summary.elapsed_seconds:.1f} s ({settings.store})"
    )


@cli.command()
def verify(
    case: str | None = typer.Option(None, "--case", help="verify one case (its id)"),
) -> None:
    """Recompute every stored hash, check each case's chain and the global log.

    Prints "verified N events in M cases" (exit 0) or the first broken link (exit 1); a
    progress bar meanwhile when stdout is a terminal.
    """
    from uuid import UUID

    from domain.errors import CaseNotFound
    from infra.progress import progress
    from infra.store import build_application

    try:
        case_id = UUID(case) if case else None
    except ValueError:
        raise typer.BadParameter(f"not a case id: {case}", param_hint="--case") from None
    settings = Settings()
    ledger = build_application(settings)
    try:
        with progress("verifying", None if case_id else ledger.head()) as advance:
            report = ledger.verify(case_id, progress=advance)
    except CaseNotFound as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    finally:
        ledger.close()
    typer.echo(report.summary())
    for problem in report.problems[1:10]:
        typer.echo(f"  also: {problem.kind} at {problem.describe()}")
    raise typer.Exit(0 if report.ok else 1)


@cli.command()
def migrate(
    grant_to: str | None = typer.Option(
        None,
        help="PostgreSQL role the application connects as: created if missing (password from "
        "CASELEDGER_APP_PASSWORD), given INSERT and SELECT on the store and nothing more, and "
        "SELECT on the read models",
    ),
    runner_role: str | None = typer.Option(
        None,
        help="PostgreSQL role the projection runner connects as: created if missing (password "
        "from CASELEDGER_RUNNER_PASSWORD), given SELECT on the store and nothing more of it, "
        "and the read models as its own",
    ),
) -> None:
    """Create or update the store's tables, functions and append-only triggers, and the read
    models' tables, as the owner; with --runner-role, hand the read models over to the runner.

    Run it after restoring a dump into another PostgreSQL cluster too: it offsets new
    transaction ids past the restored ones, without which appends are refused. It counts the
    events recorded before personal fields were encrypted and says that they stay in plain.
    """
    import psycopg
    from eventsourcing.persistence import ProgrammingError

    from infra.store import build_application

    settings = Settings(create_tables=True)
    for role, hint in ((grant_to, "--grant-to"), (runner_role, "--runner-role")):
        if role and settings.store != "postgres":
            raise typer.BadParameter("roles exist only on PostgreSQL", param_hint=hint)
    if grant_to and grant_to == runner_role:
        raise typer.BadParameter(
            "the runner needs a role of its own, not the application's", param_hint="--runner-role"
        )
    ledger = build_application(settings)
    try:
        if grant_to:
            ledger.grant_writer(grant_to, os.environ.get("CASELEDGER_APP_PASSWORD"))
        if runner_role:
            ledger.grant_runner(runner_role, os.environ.get("CASELEDGER_RUNNER_PASSWORD"))
        _ensure_read_models(settings, grant_to, runner_role)
        plain = ledger.plaintext_personal_events()
    except (ProgrammingError, psycopg.ProgrammingError) as e:  # a role refused, a privilege missing
        typer.echo(f"migrate: {e}", err=True)
        raise typer.Exit(1) from None
    finally:
        ledger.close()
    typer.echo(
        f"store ready ({settings.store})"
        + (f"; role {grant_to} may INSERT and SELECT only" if grant_to else "")
        + (f"; role {runner_role} reads the store and owns the read models" if runner_role else "")
    )
    if plain:
        typer.echo(
            f"{plain} event(s) recorded before personal fields were encrypted hold them in "
            "plain; they cannot be encrypted in place without breaking the hash chain, so they "
            "are left as they are: to encrypt them, copy the store (README, 'Personal data')"
        )


def _ensure_read_models(settings: Settings, reader: str | None, runner: str | None = None) -> None:
    """The read models' tables and views; ``reader`` may SELECT them (through the views);
    ``runner`` is made the owner of every one of them (the state and failures tables, each
    generation's tables, the views), so that it writes them, and in a rebuild creates the next
    generation, drops the old one and repoints the views, without owning the store's tables.

    They are created as the owner first (``ensure``), then handed over: ``ALTER ... OWNER TO``,
    which PostgreSQL allows a superuser or a member of ``runner`` (``grant_runner`` makes the
    owner one), once ``runner`` may CREATE in the schema. Grants survive the change of owner.
    Only what the runner does not own yet is altered (each takes a brief exclusive lock)."""
    import re

    from psycopg.sql import SQL, Identifier

    from projections import read_models
    from projections.db import FAILURES_TABLE, STATE_TABLE, ViewDatabase
    from projections.generations import ensure

    db = ViewDatabase(settings, pool_size=1)
    try:
        models = read_models()
        ensure(db, models)
        if not (reader or runner):
            return
        views = [t.name for m in models for t in m.all_tables]
        names = [STATE_TABLE, FAILURES_TABLE, *views]
        with db.transaction() as tx:
            if reader:
                for name in names:
                    tx.conn.execute(
                        SQL("GRANT SELECT ON {} TO {}").format(Identifier(name), Identifier(reader))
                    )
            if runner:
                # no generation is created or dropped meanwhile (ensure and rebuild take it)
                tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (STATE_TABLE,))
                generation = re.compile(
                    "(?:" + "|".join(re.escape(v) for v in views) + r")_g[0-9]+"
                )
                schema = settings.database_schema
                found = tx.rows(
                    "SELECT c.relname AS name, c.relkind AS kind FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = ? AND c.relkind IN ('r', 'p', 'v') "
                    "AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = ?)",
                    (schema, runner),
                )
                for row in found:
                    if row["name"] in names or generation.fullmatch(row["name"]):
                        kind = SQL("VIEW" if row["kind"] == "v" else "TABLE")
                        tx.conn.execute(
                            SQL("ALTER {} {} OWNER TO {}").format(
                                kind, Identifier(schema, row["name"]), Identifier(runner)
                            )
                        )
    finally:
        db.close()


projections_cli = typer.Typer(help="Read models: run, rebuild, status.", no_args_is_help=True)
cli.add_typer(projections_cli, name="projections")


def _models(names: list[str] | None) -> list[str] | None:
    from projections import read_models

    try:
        read_models(names)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="NAME") from None
    return names or None


@projections_cli.command("run")
def projections_run(
    names: Annotated[
        list[str] | None, typer.Argument(help="read models to run (default: all)")
    ] = None,
) -> None:
    """Keep the read models up to date with the log, as a process of its own (until SIGTERM)."""
    import signal

    from infra.logging import configure_logging
    from infra.store import build_application, build_runner
    from projections.generations import ensure

    settings = Settings()
    configure_logging(settings)
    ledger = build_application(settings)
    runner = build_runner(settings, ledger, _models(names))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.stop())
    try:
        ensure(runner.db, runner.models)
        runner.run(own_process=True)
    finally:
        runner.db.close()
        ledger.close()


@projections_cli.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str] | None, typer.Argument(help="read models to rebuild (default: all)")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="processes judging cases (default: one per CPU)")
    ] = os.cpu_count() or 1,
) -> None:
    """Build fresh copies from the start of the log beside the live ones; switch when caught up.

    Reads are served from the live copies until the switch, which is atomic.
    """
    from functools import partial

    from infra.logging import configure_logging
    from infra.progress import progress
    from infra.store import build_application, build_runner
    from projections.rebuild import RebuildRunning, rebuild

    settings = Settings()
    configure_logging(settings)
    ledger = build_application(settings)
    runner = build_runner(settings, ledger, _models(names))
    applied = 0
    try:
        factory = partial(build_application, settings)
        with progress("events", ledger.head()) as done:

            def advance(more: int) -> None:
                nonlocal applied
                applied += more
                done(applied)

            generations = rebuild(runner, runner.models, advance, workers, factory)
    except RebuildRunning as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from None
    finally:
        runner.db.close()
        ledger.close()
    typer.echo(
        "rebuilt and switched: "
        + ", ".join(f"{name} (generation {g})" for name, g in generations.items())
    )


@projections_cli.command("status")
def projections_status() -> None:
    """Whether a runner follows the log; each read model's position, lag and error."""
    from infra.store import build_application
    from projections.db import ViewDatabase
    from projections.generations import active_generations, failing_cases
    from projections.presence import running

    settings = Settings()
    ledger = build_application(settings)
    db = ViewDatabase(settings, pool_size=1)
    try:
        head = ledger.head()
        found = active_generations(db)
        failures = {g.name: failing_cases(db, g, 5) for g in found if g.failing}
        runner = running(db)
    finally:
        db.close()
        ledger.close()
    typer.echo("runner: running" if runner else "runner: NOT RUNNING (the read models fall behind)")
    if not found:
        typer.echo("no read models yet (they are created when a runner or the API starts)")
    for state in found:
        typer.echo(
            f"{state.name}: generation {state.generation}, position {state.position} of {head}"
            f" (lag {head - state.position} events)"
            + (
                f"; STOPPED at position {state.error_position}: {state.error}"
                if state.error
                else ""
            )
        )
        if state.failing:
            typer.echo(f"  {state.failing} case(s) failing, rows from before; latest:")
            for failure in failures[state.name]:
                typer.echo(
                    f"    case {failure['case_id']} version {failure['version']} "
                    f"(event {failure['event_id']}): {failure['error']}"
                )
    raise typer.Exit(1 if any(s.error for s in found) else 0)


token_cli = typer.Typer(help="Bearer tokens of the embedded issuer.", no_args_is_help=True)
cli.add_typer(token_cli, name="token")


@token_cli.command("issue")
def token_issue(
    sub: str = typer.Option(..., "--sub", help="the actor id"),
    role: str = typer.Option(..., "--role", help="a role of the access policy"),
    unit: str = typer.Option(..., "--unit", help="org unit code, e.g. 01 or 01.00004"),
    name: str | None = typer.Option(None, "--name", help="the actor's name"),
    ttl: int = typer.Option(3600, "--ttl", min=1, max=366 * 86400, help="seconds valid"),
    scope: list[str] = typer.Option([], "--scope", help="a scope (repeatable)"),  # noqa: B008
    purpose: str | None = typer.Option(None, "--purpose", help="purpose of use"),
) -> None:
    """Print one token (and nothing else) signed by this store's embedded key (generated
    under var/ at first use), for this server. Any role is signed: the server decides."""
    from domain.policy import packaged_policy
    from infra.tokens import InvalidToken, issue

    settings = Settings()
    if role not in packaged_policy().roles:
        typer.echo(f"warning: {role!r} is not a role of the access policy", err=True)
    try:
        token = issue(
            settings,
            sub=sub,
            role=role,
            unit=unit,
            name=name,
            ttl=ttl,
            scopes=tuple(scope),
            purpose=purpose,
        )
    except InvalidToken as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    typer.echo(token)


keys_cli = typer.Typer(
    help="The key-encryption keys of personal data (settings: kek_file).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
cli.add_typer(keys_cli, name="keys")


def rotate_keys(settings: Settings) -> tuple[str, int]:
    """Add a KEK to the keyring file and make it current (the file first: a stop half-way
    leaves every data key openable), then rewrap every data key under it."""
    from infra.keys import keyring_json, parse_keyring, replace_secret, rotated
    from infra.store import build_application

    path = _keyring_file(settings)
    ring = rotated(parse_keyring(path.read_bytes(), str(path)))
    replace_secret(path, keyring_json(ring))
    ledger = build_application(settings)
    try:
        return ring.current, ledger.rewrap_data_keys()
    finally:
        ledger.close()


def retire_kek(settings: Settings, kek_id: str) -> int:
    """Rewrap what is still wrapped by ``kek_id`` (a process that ran with the old file may
    have wrapped new keys meanwhile), then remove it from the keyring file."""
    from infra.keys import (
        KeyConfigurationError,
        keyring_json,
        parse_keyring,
        replace_secret,
        retired,
    )
    from infra.store import build_application

    path = _keyring_file(settings)
    ring = parse_keyring(path.read_bytes(), str(path))
    remaining = retired(ring, kek_id)  # refuses the current one or an unknown id
    ledger = build_application(settings)
    try:
        rewrapped = ledger.rewrap_data_keys(kek_id)
        if any(k.kek_id == kek_id for k in ledger.kek_samples()):
            raise KeyConfigurationError(f"data keys are still wrapped by {kek_id}: retry")
    finally:
        ledger.close()
    replace_secret(path, keyring_json(remaining))
    return rewrapped


def _keyring_file(settings: Settings) -> Path:
    if settings.kek is not None:
        raise typer.BadParameter(
            "the keys are given inline (CASELEDGER_KEK): rotate them in the secret store, with "
            "a keyring file for the rewrap (CASELEDGER_KEK_FILE), then switch back"
        )
    return settings.kek_file


@keys_cli.command("init")
def keys_init() -> None:
    """Generate the key-encryption keyring and the pseudonym key where settings say, if they
    do not exist (the way to make them for production, which never generates them at start)."""
    from infra.keys import init_keys

    settings = Settings()
    for path, made in init_keys(settings):
        typer.echo(f"{path}: {'generated' if made else 'exists, kept'}")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new KEK current and rewrap every person's data key under it; no event is
    rewritten. Restart the other processes afterwards, then `keys retire` the old KEK."""
    kek_id, count = rotate_keys(Settings())
    typer.echo(f"current KEK {kek_id}; {count} data key(s) rewrapped")


@keys_cli.command("retire")
def keys_retire(kek_id: str = typer.Argument(..., help="the KEK id to remove")) -> None:
    """Remove a KEK from the keyring once no data key is wrapped by it (rewrapping those
    that still are)."""
    from infra.keys import KeyConfigurationError

    try:
        count = retire_kek(Settings(), kek_id)
    except KeyConfigurationError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"KEK {kek_id} retired; {count} data key(s) rewrapped first")


witness_cli = typer.Typer(
    help="A C2SP tlog witness: cosigns the checkpoints of the logs it knows, if consistent.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
cli.add_typer(witness_cli, name="witness")


@witness_cli.command("serve")
def witness_serve(
    key: Annotated[
        Path, typer.Option("--key", help="file holding the witness's PRIVATE+KEY+... (0x04)")
    ],
    log_key: Annotated[
        list[str],
        typer.Option("--log-key", help="a log's vkey; the n-th goes with the n-th --origin"),
    ],
    origin: Annotated[list[str], typer.Option("--origin", help="a log's origin line")],
    state: Annotated[Path, typer.Option("--state", help="its SQLite file")] = Path(
        "var/witness.sqlite"
    ),
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8081,
) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness) for these logs until SIGTERM."""
    from domain.tlog import COSIGNATURE, ED25519, NoteError, Signer, Verifier
    from infra import witness

    if len(log_key) != len(origin):
        raise typer.BadParameter(
            f"{len(log_key)} --log-key for {len(origin)} --origin: give one of each per log",
            param_hint="--log-key",
        )
    try:
        signer = Signer.parse(key.read_text())
    except (OSError, UnicodeDecodeError, NoteError) as e:
        raise typer.BadParameter(f"{key}: {e}", param_hint="--key") from None
    if signer.kind != COSIGNATURE:
        raise typer.BadParameter(
            f"{key} is not a cosigner key (type 0x04): make one with `caseledger witness keygen`",
            param_hint="--key",
        )
    logs: dict[str, Verifier] = {}
    for vkey, name in zip(log_key, origin, strict=True):
        try:
            verifier = Verifier.parse(vkey)
        except NoteError as e:
            raise typer.BadParameter(str(e), param_hint="--log-key") from None
        if verifier.kind != ED25519:
            raise typer.BadParameter(
                f"{verifier.name}: a log key is an Ed25519 note key (type 0x01)",
                param_hint="--log-key",
            )
        if name in logs:
            raise typer.BadParameter(f"{name} given twice", param_hint="--origin")
        logs[name] = verifier
    typer.echo(
        f"witness {signer.verifier.vkey} on http://{host}:{port} for {', '.join(logs)}", err=True
    )
    witness.serve(signer, logs, witness.WitnessState(state), host=host, port=port)


@witness_cli.command("keygen")
def witness_keygen(
    name: Annotated[str, typer.Option("--name", help="the witness's name, e.g. w1.example.org")],
    out: Annotated[Path, typer.Option("--out", help="file to write the private key to")],
) -> None:
    """Write a new cosigner key (owner-only, never over an existing file); print its vkey."""
    from domain.tlog import COSIGNATURE, NoteError, Signer
    from infra.keys import create_secret

    try:
        signer = Signer.generate(name, COSIGNATURE)
    except NoteError as e:
        raise typer.BadParameter(str(e), param_hint="--name") from None
    if not create_secret(out, (signer.text + "\n").encode()):
        typer.echo(f"{out} exists: not overwritten", err=True)
        raise typer.Exit(1)
    typer.echo(signer.verifier.vkey)


def main() -> None:
    from infra.keys import KeyConfigurationError

    try:
        cli()
    except KeyConfigurationError as e:
        typer.echo(f"caseledger: {e}", err=True)
        raise SystemExit(2) from None
