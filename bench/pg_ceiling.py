"""What PostgreSQL alone can append on this machine: our append and the stock recorder's, no Python.

``bench/append.py`` measures appends through the application (parse, load, record, save).
This script takes the application away: ``pgbench`` sends the very SQL each recorder sends for a
single-event append, from C client connections, and prints the transactions per second. It is
the ceiling the application's figure can approach, for ours and for the stock recorder, on this
machine and this server:

- **ours**: one ``CALL caseledger_events_append(...)`` (insert with the hash chained in SQL,
  commit, a sequencer pass unless one is running: ``infra/recorders/postgres.py``);
- **stock**: what the library's ``PostgresApplicationRecorder`` sends: ``BEGIN``, ``SET LOCAL
  lock_timeout``, ``LOCK TABLE … IN EXCLUSIVE MODE``, ``NOTIFY``, ``INSERT … RETURNING
  notification_id``, ``COMMIT``.

Each transaction first reads the case's next version (``max(version) + 1``), as a load would.
Each client writes to 50 cases of its own, so clients never collide on a case. The tables are
made by the applications themselves (``build_application`` and the stock recorder, as in
``append.py``), each in a new schema ``bench_<random>`` dropped at the end.

    .venv/bin/python bench/pg_ceiling.py [--clients 1 8 32] [--seconds 8] \\
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

Needs ``pgbench`` (PostgreSQL's client tools) on the PATH. Output: one line per recorder and
client count, ``<recorder>_c<C>_tps=<float>``, then ``ratio_c<C>=<ours / stock>``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from append import build, fresh_store

OURS = """\\set c :client_id * 1000 + random(1, 50)
SELECT coalesce(max(version), 0) + 1 AS v FROM {schema}.caseledger_events
 WHERE case_id = md5(:c::text)::uuid \\gset
CALL {schema}.caseledger_events_append(gen_random_uuid()::text, md5(:c::text)::uuid, :v,
 'CounsellingSessionHeld', 1, now(), now(), '{{"id":"bench"}}', '\\x{payload}'::bytea,
 '\\x00'::bytea, '\\x{payload}'::bytea, 5000, 'caseledger_events', NULL, NULL);
"""

STOCK = """\\set c :client_id * 1000 + random(1, 50)
SELECT coalesce(max(originator_version), 0) + 1 AS v FROM {schema}.caseledger_events
 WHERE originator_id = md5(:c::text)::uuid \\gset
BEGIN;
SET LOCAL lock_timeout = '0s';
LOCK TABLE {schema}.caseledger_events IN EXCLUSIVE MODE;
NOTIFY caseledger_events;
INSERT INTO {schema}.caseledger_events (originator_id, originator_version, topic, state)
 VALUES (md5(:c::text)::uuid, :v, 'CounsellingSessionHeld', '\\x{payload}'::bytea)
 RETURNING notification_id;
COMMIT;
"""

# about the size of a stored CounsellingSessionHeld (bench/append.py's events)
PAYLOAD = ('{"data":{"topic":"relapse prevention"},"envelope":{},"timestamp":"x"}' * 4).encode()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], metavar="C")
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--database-url", default=None)
    args = p.parse_args(argv)
    args.store, args.writers = "postgres", max(args.clients)
    return args


def pgbench(url: str, script: str, clients: int, seconds: int) -> float:
    parts = urlsplit(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(script)
        f.flush()
        command = [
            "pgbench", "-n", "-M", "prepared", "-f", f.name,
            "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
            "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
            "-U", parts.username or "postgres", parts.path.lstrip("/") or "postgres",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
    found = re.search(r"^tps = ([\d.]+)", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    return float(found.group(1))


def main(argv: list[str] | None = None) -> int:
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench is not on the PATH (PostgreSQL's client tools)")
    args = parse_args(argv)
    payload = PAYLOAD.hex()
    figures: dict[tuple[str, int], float] = {}
    for recorder, template in (("caseledger", OURS), ("stock", STOCK)):
        with fresh_store(args) as (settings, _):
            build(settings, recorder).close()  # the recorder makes its tables
            script = template.format(schema=f'"{settings.database_schema}"', payload=payload)
            for clients in args.clients:
                tps = pgbench(settings.database_url, script, clients, args.seconds)
                name = "ours" if recorder == "caseledger" else "stock"
                figures[name, clients] = tps
                print(f"{name}_c{clients}_tps={tps:.1f}", flush=True)
    for clients in args.clients:
        print(f"ratio_c{clients}={figures['ours', clients] / figures['stock', clients]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
