"""Append latency in a process with thousands of cases cached, with and without the API's pacing
of Python's cycle collector (``infra.collector``).

    .venv/bin/python bench/collector.py --schema bench_clean --mode default
    .venv/bin/python bench/collector.py --schema bench_clean --mode paced

Needs a PostgreSQL store with many cases, such as the one ``bench/projections.py`` loads
(``--schema bench_clean``). ``--writers`` threads append one note each to ``--cases`` cases
picked at random (each append loads its case, so the process's case cache fills and churns, as
an API's does), and it prints the latency percentiles of an append and the number of full
collections. It appends real notes to those cases.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import random
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from psycopg.sql import SQL, Identifier

from domain.case import NewEvent
from domain.events import Actor
from infra.collector import frozen_after_full_collections
from infra.settings import Settings
from infra.store import build_application

ACTOR = Actor(id="bench-counsellor", role="counsellor", unit="01.004.00127")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--schema", default="bench_clean")
    p.add_argument("--mode", choices=["default", "paced"], required=True)
    p.add_argument("--cases", type=int, default=12_000)
    p.add_argument("--writers", type=int, default=8)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    settings = Settings(
        database_url=args.database_url, database_schema=args.schema, log_level="WARNING"
    )
    app = build_application(settings)
    with psycopg.connect(settings.database_url) as conn:
        query = SQL("SELECT DISTINCT case_id FROM {}.caseledger_log").format(
            Identifier(args.schema)
        )
        case_ids = [row[0] for row in conn.execute(query)]
    random.Random(args.seed).shuffle(case_ids)
    case_ids = case_ids[: args.cases]
    latencies: list[float] = []

    def write(worker: int) -> None:
        for i in range(worker, len(case_ids), args.writers):
            note = NewEvent.parse("NoteAdded", datetime.now(UTC), {"text": "collector bench"})
            started = time.perf_counter()
            app.append(case_ids[i], [note], ACTOR)
            latencies.append(time.perf_counter() - started)

    pacing = frozen_after_full_collections() if args.mode == "paced" else contextlib.nullcontext()
    full_before = gc.get_stats()[2]["collections"]
    with pacing:
        threads = [threading.Thread(target=write, args=(w,)) for w in range(args.writers)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    app.close()
    latencies.sort()

    def ms(q: float) -> str:
        return f"{latencies[min(int(len(latencies) * q), len(latencies) - 1)] * 1000:.1f}"

    print(f"mode={args.mode}")
    print(f"appends={len(latencies)}")
    print(f"full_collections={gc.get_stats()[2]['collections'] - full_before}")
    print(f"append_latency_p50_ms={ms(0.5)}")
    print(f"append_latency_p99_ms={ms(0.99)}")
    print(f"append_latency_p999_ms={ms(0.999)}")
    print(f"append_latency_max_ms={latencies[-1] * 1000:.1f}")
    print(f"events_per_s={len(latencies) / elapsed:.1f}", flush=True)


if __name__ == "__main__":
    main()
