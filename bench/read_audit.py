"""Read-audit benchmark: the cost of recording every read in the access log, or of
decrypting the personal fields of what is read.

The API is served by uvicorn in this process on PostgreSQL (a fresh schema ``bench_<random>``,
dropped at the end, and fresh keys in a temporary directory) with C cases, each opened with a
``CaseOpened`` (whose person is personal data) and followed by ``--notes`` ``NoteAdded`` (whose
text is). K client threads in a child process (so that they do not share this process's
interpreter lock) read random case states (``GET /v1/cases/{id}``) for S seconds each run, with
a supervisor's token minted here. Runs alternate between two modes, the order swapped every
other round:

- ``--compare audit`` (the default): audited (as the product always is) and unaudited
  (``CaseLedger.record_access`` patched out, in this process only: no setting of the product
  turns read audit off). Both with encryption on.
- ``--compare encryption``: encrypted (the product) and plain, both audited. Plain exists in
  this process only, never as a product setting: the ledger's vault (``ledger.personal``, the
  object its mapper seals and opens with) gets pass-through ``seal`` and ``open`` on that
  instance. The store holds two sets of C cases: one opened encrypted, read in the encrypted
  runs, and one opened with the pass-through (stored in plain, no data key), read in the plain
  runs. ``--aggregate-cache 0`` (``Settings.aggregate_cache``) makes every read replay its case
  from the store, and so decrypt every personal field of it; by default (cases kept in memory)
  a read decrypts only what was recorded since the case was last loaded.

    .venv/bin/python bench/read_audit.py [--clients 8] [--cases 200] [--seconds 10] [--rounds 3]
    .venv/bin/python bench/read_audit.py --compare encryption --notes 5 [--aggregate-cache 0]

Output is ``key=value`` lines; the last is ``ratio=<first mode's throughput / second's>``, the
median over the rounds (the goals: audited/unaudited >= 0.5; encrypted/plain >= 0.85, and
``encryption_cost_ratio``, the time per read encrypted / plain, <= 1.15).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psycopg
import uvicorn

from api.app import create_app
from domain.access import AccessRecord
from domain.application import CaseLedger
from domain.case import NewEvent
from domain.personal import PersonalData
from infra.settings import Settings
from infra.tokens import issue
from tests.integration.stories import ACTOR, START, opening

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=3, help="pairs of runs, one of each mode")
    p.add_argument(
        "--compare",
        choices=["audit", "encryption"],
        default="audit",
        help="audited against unaudited reads, or encrypted against plain personal fields",
    )
    p.add_argument("--notes", type=int, default=0, help="NoteAdded per case after its opening")
    p.add_argument(
        "--aggregate-cache",
        type=int,
        default=None,
        help="cases kept in memory (Settings.aggregate_cache; default the setting's): 0 "
        "replays, and decrypts, every case at each read",
    )
    p.add_argument("--database-url", default=DEFAULT_PG)
    args = p.parse_args()
    if args.rounds < 1 or args.cases < 1 or args.notes < 0:
        p.error("--rounds and --cases must be at least 1, --notes at least 0")
    return args


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
    tmp = Path(tempfile.mkdtemp(prefix="caseledger-bench-"))
    cache = {} if args.aggregate_cache is None else {"aggregate_cache": args.aggregate_cache}
    settings = Settings(
        database_url=args.database_url,
        database_schema=schema,
        token_key_file=tmp / "key.pem",
        kek_file=tmp / "kek.json",
        pseudonym_key_file=tmp / "pseudonym.key",
        run_projections=False,
        log_level="WARNING",
        pool_size=20,
        **cache,
    )
    try:
        run(args, settings)
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        shutil.rmtree(tmp, ignore_errors=True)


def set_encryption(vault: PersonalData, on: bool) -> None:
    """Encryption on (the vault's own methods) or off: pass-through ``seal`` and ``open`` on
    this instance, in this process only (no data key is made, payloads are stored in plain)."""
    if on:
        vars(vault).pop("seal", None)
        vars(vault).pop("open", None)
    else:
        vault.seal = _seal_plain  # type: ignore[method-assign]
        vault.open = _open_plain  # type: ignore[method-assign]


def _seal_plain(
    case_id: object, event_id: str, type_: str, data: dict[str, object], first: bool
) -> tuple[dict[str, object], None]:
    return data, None


def _open_plain(case_id: object, event_id: str, type_: str, data: object) -> object:
    return data


def open_cases(ledger: CaseLedger, cases: int, notes: int) -> list[str]:
    """``cases`` cases, each opened and then given ``notes`` notes."""
    case_ids = []
    for i in range(cases):
        case_id = ledger.open_case(opening(), ACTOR).case_id
        for k in range(notes):
            text = f"note {k} of case {i}: visited the family, talked about relapse prevention"
            new = NewEvent.parse("NoteAdded", START + timedelta(days=1 + k), {"text": text})
            ledger.append(case_id, [new], ACTOR)
        case_ids.append(str(case_id))
    return case_ids


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
    vault = ledger.personal
    assert isinstance(vault, PersonalData)
    modes = ("audited", "unaudited") if args.compare == "audit" else ("encrypted", "plain")
    t0 = time.perf_counter()
    case_ids = {mode: open_cases(ledger, args.cases, args.notes) for mode in modes[:1]}
    if args.compare == "encryption":
        set_encryption(vault, on=False)
        case_ids["plain"] = open_cases(ledger, args.cases, args.notes)
        set_encryption(vault, on=True)
    else:
        case_ids["unaudited"] = case_ids["audited"]
    print(f"cases={args.cases} notes={args.notes} compare={args.compare}")
    print(f"aggregate_cache={settings.aggregate_cache} open_s={time.perf_counter() - t0:.1f}")
    token = issue(settings, sub="bench-supervisor", role="supervisor", unit="01", ttl=3600)
    audited_record = ledger.record_access

    def unaudited(*entries: Any) -> list[AccessRecord]:
        return [AccessRecord(0, e, b"") for e in entries]

    def set_mode(mode: str) -> None:
        ledger.record_access = unaudited if mode == "unaudited" else audited_record  # type: ignore[method-assign]
        set_encryption(vault, on=mode != "plain")

    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        for mode in modes:  # each mode reads its cases, personal fields in plain
            set_mode(mode)
            response = http.get(f"/v1/cases/{case_ids[mode][0]}")
            response.raise_for_status()
            name = response.json()["person"]["full_name"]
            if not isinstance(name, str):
                raise SystemExit(f"{mode}: the person's name reads as {name!r}")
            print(f"check_{mode}_full_name={name}")

    figures: dict[str, list[float]] = {mode: [] for mode in modes}
    context = multiprocessing.get_context("spawn")
    for r in range(args.rounds):
        for mode in modes if r % 2 == 0 else modes[::-1]:
            set_mode(mode)
            out = context.Queue()
            child = context.Process(
                target=clients,
                args=(base, token, case_ids[mode], args.clients, args.seconds, out),
            )
            child.start()
            reads, errors = out.get()
            child.join()
            rate = reads / args.seconds
            figures[mode].append(rate)
            print(f"run={mode} reads_per_s={rate:.0f} errors={errors}", flush=True)
    set_mode(modes[0])
    server.should_exit = True
    thread.join(timeout=10)
    first, second = figures[modes[0]], figures[modes[1]]
    ratios = [a / b for a, b in zip(first, second, strict=True)]
    print(f"{modes[0]}_reads_per_s={max(first):.0f}")
    print(f"{modes[1]}_reads_per_s={max(second):.0f}")
    if args.compare == "encryption":
        cost = [1 / x for x in ratios]
        print(f"encryption_cost_ratio_range={min(cost):.3f}-{max(cost):.3f}")
        print(f"encryption_cost_ratio={statistics.median(cost):.3f}")
    print(f"ratio_range={min(ratios):.2f}-{max(ratios):.2f}")
    print(f"ratio={statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
