"""Append benchmark: W writer threads appending single-event commands to C cases.

Each append is done the way an API request does it: validate the payload with
``NewEvent.parse`` and call ``CaseLedger.append(case_id, [event], actor)``, which loads the
case, records the event and saves it (retrying on a lost race). The latency of each such
call is measured; throughput is N appends over the wall time from the start of the first
append to the end of the last.

    .venv/bin/python bench/append.py --store sqlite --writers 8 --events 2000
    .venv/bin/python bench/append.py --store postgres --writers 8 --events 2000 \\
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

Every run uses a fresh store (a temporary SQLite file, or a new PostgreSQL schema
``bench_<random>`` dropped at the end). Output is ``key=value`` lines; the last line is always
``events_per_s=<float>`` (tooling parses it). Exit status is 1 if any append failed.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.persistence import RecordConflictError

from domain.application import CaseLedger
from domain.case import NewEvent
from domain.events import Actor
from infra.settings import Settings
from infra.store import build_application

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
ACTOR = Actor(id="bench-counsellor", role="counsellor", unit="01.004.00127")
TOPICS = ["relapse prevention", "family support", "harm reduction"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", choices=["sqlite", "postgres"], required=True)
    p.add_argument("--writers", type=int, required=True, metavar="W", help="writer threads")
    p.add_argument("--events", type=int, required=True, metavar="N", help="appends in total")
    p.add_argument(
        "--cases", type=int, default=None, metavar="C", help="cases to open (default max(4W, 50))"
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL (default $CASELEDGER_TEST_DATABASE_URL or " + DEFAULT_PG + ")",
    )
    args = p.parse_args(argv)
    if args.writers < 1 or args.events < 1:
        p.error("--writers and --events must be at least 1")
    if args.cases is None:
        args.cases = max(args.writers * 4, 50)
    if args.cases < 1:
        p.error("--cases must be at least 1")
    if args.database_url and args.store != "postgres":
        p.error("--database-url is for --store postgres")
    return args


@contextmanager
def fresh_store(args: argparse.Namespace) -> Iterator[tuple[Settings, str]]:
    """Settings for a store nobody else uses, removed afterwards; and a description of it."""
    if args.store == "sqlite":
        tmp = tempfile.mkdtemp(prefix="caseledger-bench-")
        try:
            path = os.path.join(tmp, "ledger.sqlite3")
            yield Settings(environment="test", database_url=f"sqlite:///{path}"), path
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return

    import psycopg

    url = args.database_url or os.environ.get("CASELEDGER_TEST_DATABASE_URL", DEFAULT_PG)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            Settings(
                environment="test",
                database_url=url,
                database_schema=schema,
                pool_size=max(10, args.writers + 2),
            ),
            f"{url} schema {schema}",
        )
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def opening_event(i: int) -> NewEvent:
    return NewEvent.parse(
        "CaseOpened",
        datetime.now(UTC) - timedelta(days=1),
        {
            "person": {
                "full_name": f"Bench Person {i}",
                "date_of_birth": "1990-01-01",
                "sex": "male",
                "residence_unit": "01.004.00127",
                "address": f"{i} Bench Street",
            },
            "source": "detection",
            "managing_unit": "01.004.00127",
        },
    )


def session_data(i: int) -> dict[str, object]:
    return {
        "mode": "individual",
        "topics": [TOPICS[i % len(TOPICS)]],
        "duration_minutes": 30 + i % 60,
        "counsellor": "Bench Counsellor",
    }


def count_conflicts(app: CaseLedger) -> list[int]:
    """Count saves that lost a race (append retries them on the freshly loaded case)."""
    counter = [0]
    lock = threading.Lock()
    save = app.save

    def counting_save(*a, **kw):  # type: ignore[no-untyped-def]
        try:
            return save(*a, **kw)
        except RecordConflictError:
            with lock:
                counter[0] += 1
            raise

    app.save = counting_save  # type: ignore[method-assign]
    return counter


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def run(args: argparse.Namespace) -> int:
    with fresh_store(args) as (settings, where):
        app = build_application(settings)
        try:
            return measure(app, args, where)
        finally:
            app.close()


def measure(app: CaseLedger, args: argparse.Namespace, where: str) -> int:
    w, n, c = args.writers, args.events, args.cases
    print(f"store={args.store} ({where})")
    print(f"writers={w} events={n} cases={c}")

    t0 = time.perf_counter()
    case_ids = [app.open_case(opening_event(i), ACTOR).case_id for i in range(c)]
    print(f"open_cases_s={time.perf_counter() - t0:.3f}")

    conflicts = count_conflicts(app)
    next_index = iter(range(n))  # shared by the writers, under index_lock
    index_lock = threading.Lock()
    latencies: list[list[float]] = [[] for _ in range(w)]
    errors: list[BaseException] = []
    start = threading.Barrier(w + 1)
    occurred = datetime.now(UTC) - timedelta(hours=1)

    def writer(k: int) -> None:
        mine = latencies[k]
        start.wait()
        while True:
            with index_lock:
                i = next(next_index, None)
            if i is None:
                return
            case_id = case_ids[i % c]  # round-robin: every case gets ~N/C appends
            t = time.perf_counter()
            try:
                new = NewEvent.parse("CounsellingSessionHeld", occurred, session_data(i))
                app.append(case_id, [new], ACTOR)
            except Exception as e:  # a benchmark reports failures, then goes on
                errors.append(e)
                continue
            mine.append(time.perf_counter() - t)

    threads = [threading.Thread(target=writer, args=(k,), name=f"writer-{k}") for k in range(w)]
    for th in threads:
        th.start()
    start.wait()
    t_start = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t_start

    done = sorted(x * 1000 for per in latencies for x in per)
    for e in errors[:5]:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
    print(f"appends_ok={len(done)} errors={len(errors)} conflicts_retried={conflicts[0]}")
    print(f"wall_s={wall:.3f}")
    if done:
        print(f"append_latency_mean_ms={statistics.fmean(done):.3f}")
        print(f"append_latency_median_ms={statistics.median(done):.3f}")
        print(f"append_latency_p95_ms={percentile(done, 95):.3f}")
        print(f"append_latency_p99_ms={percentile(done, 99):.3f}")
        print(f"append_latency_max_ms={done[-1]:.3f}")
    print(f"events_per_s={len(done) / wall:.1f}")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
