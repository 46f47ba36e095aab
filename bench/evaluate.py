"""Compliance benchmark: ``evaluate(entries, as_of, config)`` over every case of the demo data.

The demo data set (``infra.demo.generate(app, people=N, seed=1)``) is recorded into a fresh
SQLite store in a temporary directory; every case is then read back
(``app.repository.get(case_id).entries``). Neither step is timed. What is timed is judging all
cases, one after the other, in this one process pinned to one CPU. A first pass (untimed as a
whole) measures each case and counts the findings; then ``--repeat`` passes call nothing but
``evaluate``, and the figure is the median of those passes.

    .venv/bin/python bench/evaluate.py [--people 2000] [--as-of 2026-12-01T00:00+07:00] [--repeat 5]

Output is ``key=value`` lines: the data set, the timings, the findings by rule (``findings_<id>``,
from one pass); the last line is always ``cases_per_s=<float>`` (tooling parses it).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import cast
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.case import Case
from domain.compliance import ComplianceConfig, evaluate
from domain.state import Entry
from infra.demo import generate
from infra.settings import Settings
from infra.store import build_application

DEFAULT_AS_OF = "2026-12-01T00:00:00+07:00"  # after the demo's last recording (30/11/2026)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--people", type=int, default=2000, metavar="N", help="demo people (2000)")
    p.add_argument("--seed", type=int, default=1, help="demo seed (1)")
    p.add_argument(
        "--as-of", default=DEFAULT_AS_OF, help=f"instant to judge as of ({DEFAULT_AS_OF})"
    )
    p.add_argument("--repeat", type=int, default=5, help="timed passes over all cases (5)")
    args = p.parse_args(argv)
    if args.people < 1 or args.repeat < 1:
        p.error("--people and --repeat must be at least 1")
    args.as_of = datetime.fromisoformat(args.as_of)
    if args.as_of.tzinfo is None:
        p.error("--as-of must carry a timezone offset")
    return args


def pin_to_one_cpu() -> str:
    """Run on a single core (Linux); say which."""
    if not hasattr(os, "sched_setaffinity"):
        return "unpinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return str(cpu)


def load_cases(people: int, seed: int) -> tuple[list[list[Entry]], float, float]:
    """The demo data set, recorded into a fresh SQLite store and read back case by case."""
    tmp = tempfile.mkdtemp(prefix="caseledger-bench-")
    try:
        settings = Settings(database_url=f"sqlite:///{tmp}/ledger.sqlite3")
        app = build_application(settings)
        try:
            t0 = time.perf_counter()
            generate(app, people=people, seed=seed)
            t1 = time.perf_counter()
            case_ids = list(dict.fromkeys(UUID(n.entry.case_id) for n in app.log_after(0, 10**7)))
            cases = [list(cast(Case, app.repository.get(i)).entries) for i in case_ids]
            t2 = time.perf_counter()
        finally:
            app.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cases, t1 - t0, t2 - t1


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"cpu={pin_to_one_cpu()}")
    cases, generate_s, read_s = load_cases(args.people, args.seed)
    print(f"people={args.people} seed={args.seed} as_of={args.as_of.isoformat()}")
    print(f"cases={len(cases)}")
    print(f"events={sum(len(c) for c in cases)}")
    print(f"generate_s={generate_s:.3f}")
    print(f"read_s={read_s:.3f}")

    config = ComplianceConfig()
    clock = time.perf_counter
    per_case: list[float] = []
    by_rule: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for entries in cases:  # census pass (also the warm-up): latency per case, findings
        t = clock()
        evaluation = evaluate(entries, args.as_of, config)
        per_case.append(clock() - t)
        by_rule.update(f.rule_id for f in evaluation.findings)
        statuses.update(f.status for f in evaluation.findings)
    passes: list[float] = []
    for _ in range(args.repeat):  # timed passes: nothing but evaluate
        started = clock()
        for entries in cases:
            evaluate(entries, args.as_of, config)
        passes.append(clock() - started)

    per_case.sort()
    print(f"eval_pass_s={','.join(f'{p:.3f}' for p in passes)}")
    print(f"eval_case_median_ms={percentile(per_case, 50) * 1000:.3f}")
    print(f"eval_case_p99_ms={percentile(per_case, 99) * 1000:.3f}")
    print(f"eval_case_max_ms={per_case[-1] * 1000:.3f}")
    print(f"findings={sum(by_rule.values())}")
    print(f"findings_open={statuses['open']} findings_resolved={statuses['resolved']}")
    for rule_id, count in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"findings_{rule_id}={count}")
    print(f"cases_per_s={len(cases) / statistics.median(passes):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
