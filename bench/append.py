"""Append benchmark: W writer threads appending single-event commands to C cases.

Each append is done the way an API request does it: validate the payload with
``NewEvent.parse`` and call ``CaseLedger.append(case_id, [event], actor)``, which loads the
case, records the event and saves it (retrying on a lost race). The latency of each such
call is measured; throughput is N appends over the wall time from the start of the first
append to the end of the last.

    .venv/bin/python bench/append.py --store sqlite --writers 8 --events 2000
    .venv/bin/python bench/append.py --store postgres --writers 8 --events 2000 \\
        [--database-url postgresql://postgres@127.0.0.1:5432/test]
    .venv/bin/python bench/append.py --store postgres --writers 1 --events 2000 \\
        --event note --encryption compare --rounds 3

``--event``: what is appended: ``session`` (``CounsellingSessionHeld``, no personal field, the
default), ``note`` (``NoteAdded``, whose ``text`` is personal and so encrypted) or ``mix``
(the two in turn).

``--encryption``: ``on`` (the product: personal fields sealed with the person's data key),
``off`` or ``compare``. Off exists in this process only, never as a product setting: the
ledger's vault (``ledger.personal``, the very object its mapper seals and opens with) gets
pass-through ``seal`` and ``open`` on that one instance, before any case is opened, so no
data key is made or stored and every payload is stored in plain. ``compare`` runs ``--rounds``
pairs, on and off, each run on a fresh store, the order swapped every other round; it prints
each run's figure and, per round, ``encryption_throughput_ratio`` (events/s on / off) and
``encryption_cost_ratio`` (time per append on / off, the inverse), as a range over the
rounds and their median, before the final line (then the median of the runs with encryption
on).

``--recorder stock`` and ``--compare-stock`` run the library's stock recorder, which has no
table for data keys: the ledger there gets keys (so that ``CaseOpened``, whose person is
personal, can be recorded at all) and the pass-through vault, so its runs are always
encryption off; ``--compare-stock`` therefore runs ours with encryption off too (the default
with it), so that both sides do the same work.

Every run uses a fresh store (a temporary SQLite file, or a new PostgreSQL schema
``bench_<random>`` dropped at the end) and fresh keys in a temporary directory (never those
under ``var/``). Output is ``key=value`` lines; the last line is always
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
from domain.personal import PersonalData
from infra.keys import load_keys
from infra.settings import Settings
from infra.store import build_application, eventsourcing_env
from projections.notices import Notices

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
        "--recorder",
        dest="store_recorder",
        choices=["caseledger", "stock"],
        default="caseledger",
        help="stock: the library's PostgresApplicationRecorder under the same application",
    )
    p.add_argument(
        "--compare-stock",
        action="store_true",
        help="then run the same work on the stock recorder (fresh schema) and print its figure",
    )
    p.add_argument(
        "--event",
        choices=["session", "note", "mix"],
        default="session",
        help="CounsellingSessionHeld (no personal field), NoteAdded (personal text) or both",
    )
    p.add_argument(
        "--encryption",
        choices=["on", "off", "compare"],
        default=None,
        help="personal fields sealed (on, the default), passed through in this process only "
        "(off; the default with the stock recorder), or alternate runs of both (compare)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        metavar="R",
        help="with --encryption compare: pairs of runs (on, off)",
    )
    p.add_argument(
        "--no-reader",
        action="store_true",
        help="do not tail the global log while writing",
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
    if (args.store_recorder == "stock" or args.compare_stock) and args.store != "postgres":
        p.error("--recorder stock and --compare-stock are for --store postgres")
    stock = args.store_recorder == "stock" or args.compare_stock
    if args.encryption is None:
        args.encryption = "off" if stock else "on"
    if stock and args.encryption != "off":
        p.error(
            "the stock recorder cannot store data keys: --recorder stock and --compare-stock "
            "run with --encryption off (on both sides)"
        )
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


@contextmanager
def fresh_store(args: argparse.Namespace) -> Iterator[tuple[Settings, str]]:
    """Settings for a store nobody else uses, with keys of its own (generated in a temporary
    directory), all removed afterwards; and a description of the store."""
    tmp = tempfile.mkdtemp(prefix="caseledger-bench-")
    keys = {
        "kek_file": Path(tmp, "kek.json"),
        "pseudonym_key_file": Path(tmp, "pseudonym.key"),
    }
    try:
        if args.store == "sqlite":
            path = os.path.join(tmp, "ledger.sqlite3")
            yield Settings(environment="test", database_url=f"sqlite:///{path}", **keys), path
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
                    **keys,
                ),
                f"{url} schema {schema}",
            )
        finally:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


def note_data(i: int) -> dict[str, object]:
    return {"text": f"Bench note {i}: visited the family, talked about {TOPICS[i % len(TOPICS)]}"}


def new_event(kind: str, i: int, occurred: datetime) -> NewEvent:
    """Append number ``i`` of ``--event kind``."""
    if kind == "note" or (kind == "mix" and i % 2 == 0):
        return NewEvent.parse("NoteAdded", occurred, note_data(i))
    return NewEvent.parse("CounsellingSessionHeld", occurred, session_data(i))


def encryption_off(ledger: CaseLedger) -> None:
    """Personal fields passed through in plain by this ledger, in this process only: its
    vault is the object its mapper seals and opens with, so pass-through ``seal`` and ``open``
    on that instance turn encryption off for everything the ledger writes and reads (no data
    key is made for a case's first event, so none is stored). Never a product setting."""
    vault = ledger.personal
    if vault is None:
        raise SystemExit("the ledger has no keys: nothing to turn off")
    vault.seal = _seal_plain  # type: ignore[method-assign]
    vault.open = _open_plain  # type: ignore[method-assign]


def _seal_plain(
    case_id: object, event_id: str, type_: str, data: dict[str, object], first: bool
) -> tuple[dict[str, object], None]:
    return data, None


def _open_plain(case_id: object, event_id: str, type_: str, data: object) -> object:
    return data


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


class StockLedger(CaseLedger):
    """The ledger on the stock recorder, which keeps no data keys (no such table): there is
    nothing of the store's to check the keys against; its vault is then made pass-through."""

    def check_keys(self) -> None:
        pass


def build(settings: Settings, recorder: str, encrypted: bool) -> CaseLedger:
    """Our application, on our recorder or on the library's stock PostgreSQL recorder; with
    encryption off (in this process only) unless ``encrypted``."""
    if recorder == "caseledger":
        app = build_application(settings)
    else:
        assert not encrypted, "the stock recorder cannot store data keys"
        env = eventsourcing_env(settings)
        del env["APPLICATION_RECORDER_TOPIC"]
        keys, _ = load_keys(settings)
        app = StockLedger(env=env, keys=keys)
    assert isinstance(app.personal, PersonalData)
    if not encrypted:
        encryption_off(app)
    return app


def run(args: argparse.Namespace) -> int:
    if args.encryption == "compare":
        return compare_encryption(args)
    encrypted = args.encryption == "on"
    status, figure, _ = run_once(args, args.store_recorder, encrypted)
    if args.compare_stock:
        print("--- stock eventsourcing PostgresApplicationRecorder, same work ---")
        stock_status, stock, _ = run_once(args, "stock", encrypted=False, reader=False)
        print(f"stock_events_per_s={stock:.1f}")
        print(f"ratio_to_stock={figure / stock:.2f}")
        status = status or stock_status
    print(f"events_per_s={figure:.1f}")
    return status


def compare_encryption(args: argparse.Namespace) -> int:
    """``--rounds`` pairs of runs, encryption on and off, each on a fresh store; the order is
    swapped every other round so that neither mode always runs first."""
    status = 0
    figures: dict[str, list[float]] = {"on": [], "off": []}
    medians: dict[str, list[float]] = {"on": [], "off": []}
    for r in range(args.rounds):
        for mode in ("on", "off") if r % 2 == 0 else ("off", "on"):
            print(f"--- round {r + 1}, encryption {mode} ---", flush=True)
            run_status, figure, median = run_once(args, args.store_recorder, encrypted=mode == "on")
            figures[mode].append(figure)
            medians[mode].append(median)
            print(f"encryption_{mode}_events_per_s={figure:.1f}", flush=True)
            status = status or run_status
    on, off = figures["on"], figures["off"]
    throughput = [a / b for a, b in zip(on, off, strict=True)]
    cost = [b / a for a, b in zip(on, off, strict=True)]
    print("--- encryption on against off, per round ---")
    print("events_per_s_on=" + ",".join(f"{x:.1f}" for x in on))
    print("events_per_s_off=" + ",".join(f"{x:.1f}" for x in off))
    print(f"encryption_throughput_ratio_range={min(throughput):.3f}-{max(throughput):.3f}")
    print(f"encryption_throughput_ratio={statistics.median(throughput):.3f}")
    print(f"encryption_cost_ratio_range={min(cost):.3f}-{max(cost):.3f}")
    print(f"encryption_cost_ratio={statistics.median(cost):.3f}")
    latency = [a / b for a, b in zip(medians["on"], medians["off"], strict=True)]
    print(f"encryption_median_latency_ratio_range={min(latency):.3f}-{max(latency):.3f}")
    print(f"encryption_median_latency_ratio={statistics.median(latency):.3f}")
    print(f"events_per_s={statistics.median(on):.1f}")
    return status


def run_once(
    args: argparse.Namespace, recorder: str, encrypted: bool, reader: bool = True
) -> tuple[int, float, float]:
    """Exit status, events/s and the median latency of an append (ms) of one run."""
    with fresh_store(args) as (settings, where):
        app = build(settings, recorder, encrypted)
        try:
            # the tail reads the log through CaseLedger, which only our recorder serves
            tail = reader and not args.no_reader and recorder == "caseledger"
            where = f"{where}, recorder {recorder}, encryption {'on' if encrypted else 'off'}"
            return measure(app, settings, args, where, tail)
        finally:
            app.close()


def measure(
    app: CaseLedger, settings: Settings, args: argparse.Namespace, where: str, tail: bool
) -> tuple[int, float, float]:
    w, n, c = args.writers, args.events, args.cases
    print(f"store={args.store} ({where})")
    print(f"writers={w} events={n} cases={c} event={args.event}")

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
                new = new_event(args.event, i, occurred)
                [recorded] = app.append(case_id, [new], ACTOR)
            except Exception as e:  # a benchmark reports failures, then goes on
                errors.append(e)
                continue
            done_at = time.perf_counter()
            mine.append(done_at - t)
            if reader and recorded.position is not None:
                reader.appended_at[recorded.position] = done_at

    threads = [threading.Thread(target=writer, args=(k,), name=f"writer-{k}") for k in range(w)]
    reader = Tail(app, settings, after=app.head(), expected=n) if tail else None
    for th in threads:
        th.start()
    start.wait()
    t_start = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t_start
    if reader:
        reader.finish(timeout=30)

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
    if reader:
        reader.report(t_start + wall)
    print(f"run_events_per_s={len(done) / wall:.1f}")
    failed = bool(errors) or (reader is not None and not reader.complete)
    median = statistics.median(done) if done else math.nan
    return (1 if failed else 0), len(done) / wall, median


class Tail:
    """A reader following the global log while the writers write (what a projection does).

    It reads the log after its last position (``CaseLedger.log_after``) until it is caught up,
    then waits: on PostgreSQL for a ``NOTIFY`` from a sequencer pass (``Notices``, at most
    50 ms), on SQLite for 2 ms. It checks that positions come one after another with no gap
    and no repeat, and measures each event's lag: from the moment its append returned to the
    moment the reader read it (0 when the reader was first).
    """

    def __init__(self, app: CaseLedger, settings: Settings, after: int, expected: int) -> None:
        self.app, self.last, self.expected = app, after, expected
        self.appended_at: dict[int, float] = {}  # position -> when its append returned
        self.seen: list[tuple[int, float]] = []
        self.problems: list[str] = []
        self.stop = threading.Event()
        self.deadline = math.inf
        postgres = settings.store == "postgres"
        self.notices = Notices(settings.database_url if postgres else None, [app.log_channel])
        self.thread = threading.Thread(target=self.follow, name="tail")
        self.thread.start()

    def follow(self) -> None:
        channel = self.app.log_channel
        try:
            while not (self.stop.is_set() and len(self.seen) >= self.expected):
                mark = self.notices.mark(channel)
                page = self.app.log_after(self.last, 1000)
                now = time.perf_counter()
                for n in page:
                    if n.position != self.last + 1:
                        self.problems.append(f"position {n.position} after {self.last}")
                    self.last = n.position
                    self.seen.append((n.position, now))
                if not page:
                    if self.stop.is_set() and time.perf_counter() > self.deadline:
                        return
                    self.notices.wait(channel, mark, 0.05, 0.002)
        finally:
            self.notices.close()

    def finish(self, timeout: float) -> None:
        self.deadline = time.perf_counter() + timeout
        self.stop.set()
        self.thread.join()

    @property
    def complete(self) -> bool:
        return len(self.seen) == self.expected and not self.problems

    def report(self, writers_done: float) -> None:
        lags = sorted(
            max(0.0, (seen - self.appended_at[p]) * 1000)
            for p, seen in self.seen
            if p in self.appended_at
        )
        caught_up = (self.seen[-1][1] - writers_done) * 1000 if self.seen else math.nan
        print(f"reader_events={len(self.seen)} reader_gaps_or_repeats={len(self.problems)}")
        if lags:
            print(f"reader_lag_median_ms={statistics.median(lags):.1f}")
            print(f"reader_lag_p99_ms={percentile(lags, 99):.1f}")
        print(f"reader_caught_up_after_last_append_ms={max(caught_up, 0.0):.1f}")


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
