"""Read-audit benchmark: the cost of recording every read in the access log.

The API is served by uvicorn in this process on PostgreSQL (a fresh schema ``bench_<random>``,
dropped at the end) with C cases; K client threads in a child process (so that they do not
share this process's interpreter lock) read random case states (``GET /v1/cases/{id}``) for S
seconds each run, with a supervisor's token minted here. Runs alternate: audited (as the
product always is) and unaudited (``CaseLedger.record_access`` patched out, in this process
only: no setting of the product turns read audit off).

    .venv/bin/python bench/read_audit.py [--clients 8] [--cases 200] [--seconds 10] [--rounds 3]

Output is ``key=value`` lines; the last is ``ratio=<audited/unaudited throughput>`` (the goal:
>= 0.5).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psycopg
import uvicorn

from api.app import create_app
from domain.access import AccessRecord
from domain.application import CaseLedger
from infra.settings import Settings
from infra.tokens import issue
from tests.integration.stories import ACTOR, opening

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=3, help="pairs of runs (audited, unaudited)")
    p.add_argument("--database-url", default=DEFAULT_PG)
    return p.parse_args()


def clients(
    base: str, token: str, case_ids: list[str], threads: int, seconds: float, out: Any
) -> None:
    """K threads reading random cases for ``seconds``; puts (reads, errors) on ``out``."""
    counts = [0] * threads
    errors = [0] * threads
    deadline = time.monotonic() + seconds

    def run(i: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            while time.monotonic() < deadline:
                response = http.get(f"/v1/cases/{random.choice(case_ids)}")
                if response.status_code == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((sum(counts), sum(errors)))


def main() -> None:
    args = parse_args()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    key = Path(tempfile.mkdtemp()) / "key.pem"
    settings = Settings(
        database_url=args.database_url,
        database_schema=schema,
        token_key_file=key,
        run_projections=False,
        log_level="WARNING",
        pool_size=20,
    )
    try:
        run(args, settings)
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(args: argparse.Namespace, settings: Settings) -> None:
    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    ledger: CaseLedger = app.state.ledger
    case_ids = [str(ledger.open_case(opening(), ACTOR).case_id) for _ in range(args.cases)]
    token = issue(settings, sub="bench-supervisor", role="supervisor", unit="01", ttl=3600)
    audited_record = ledger.record_access

    def unaudited(*entries: Any) -> list[AccessRecord]:
        return [AccessRecord(0, e, b"") for e in entries]

    figures: dict[str, list[float]] = {"audited": [], "unaudited": []}
    context = multiprocessing.get_context("spawn")
    base = f"http://127.0.0.1:{port}"
    for _ in range(args.rounds):
        for mode in ("audited", "unaudited"):
            ledger.record_access = audited_record if mode == "audited" else unaudited  # type: ignore[method-assign]
            out = context.Queue()
            child = context.Process(
                target=clients, args=(base, token, case_ids, args.clients, args.seconds, out)
            )
            child.start()
            reads, errors = out.get()
            child.join()
            rate = reads / args.seconds
            figures[mode].append(rate)
            print(f"run={mode} reads_per_s={rate:.0f} errors={errors}", flush=True)
    ledger.record_access = audited_record  # type: ignore[method-assign]
    server.should_exit = True
    thread.join(timeout=10)
    audited, plain = max(figures["audited"]), max(figures["unaudited"])
    ratios = [a / u for a, u in zip(figures["audited"], figures["unaudited"], strict=True)]
    print(f"audited_reads_per_s={audited:.0f}")
    print(f"unaudited_reads_per_s={plain:.0f}")
    print(f"ratio_range={min(ratios):.2f}-{max(ratios):.2f}")
    print(f"ratio={statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
