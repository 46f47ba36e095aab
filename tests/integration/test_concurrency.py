"""Concurrent writers on a real store: nothing lost, nothing duplicated, one winner per race.

Every test runs on SQLite and on PostgreSQL (the ``ledger`` fixture). Threads share a CaseLedger,
as the API's worker threads do (it queues writers to one case); several CaseLedgers on one store
stand for several processes, whose races only the store can decide. A barrier starts the threads
together so that they race.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import RecordConflictError

from domain.application import CaseLedger, Recorded
from domain.case import NewEvent
from domain.errors import Contention, VersionConflict
from infra.settings import Settings
from infra.store import build_application
from tests.integration.stories import ACTOR, note, opening

CASES = 20
THREADS = 12
APPENDS_PER_THREAD = 25
BATCH_EVERY = 5  # every 5th append of a thread is a batch of two events
THREADS_PER_CASE_AT_ONCE = 3  # at each step, this many threads write to the same case
RACERS = 8
ROUNDS = 5
HOT_CASE_WRITERS = 16
HOT_CASE_APPENDS_PER_WRITER = 10

T = TypeVar("T")


def race(parties: int, act: Callable[[int], T]) -> list[T | Exception]:
    """Run ``act(i)`` in ``parties`` threads released together; each result or exception."""
    barrier = threading.Barrier(parties)

    def run(i: int) -> T | Exception:
        barrier.wait(timeout=30)
        try:
            return act(i)
        except Exception as e:
            return e

    with ThreadPoolExecutor(max_workers=parties) as pool:
        return list(pool.map(run, range(parties)))


def count_lost_races(
    ledger: CaseLedger, monkeypatch: pytest.MonkeyPatch, lost: Counter[str]
) -> Counter[str]:
    """Spy on ``ledger.save``: how many saves lost a race (so the test shows it really raced)."""
    save = ledger.save

    def counting_save(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return save(*args, **kwargs)
        except RecordConflictError:
            with COUNTER_LOCK:
                lost["saves"] += 1
            raise

    monkeypatch.setattr(ledger, "save", counting_save)
    return lost


PROCESSES = 3
COUNTER_LOCK = threading.Lock()


@pytest.fixture
def ledgers(ledger: CaseLedger, settings: Settings) -> Iterator[list[CaseLedger]]:
    """The test's ledger and two more on the same store: three 'processes'."""
    peers = [build_application(settings) for _ in range(PROCESSES - 1)]
    yield [ledger, *peers]
    for peer in peers:
        peer.close()


def contention_report(errors: list[Exception]) -> str:
    contention = [e for e in errors if isinstance(e, Contention)]
    if contention:
        return (
            f"{len(contention)} append(s) gave up with Contention after MAX_ATTEMPTS retries: "
            "the retry budget is too small for this load"
        )
    return f"unexpected errors: {errors[:5]!r}"


def test_concurrent_appends_lose_and_duplicate_nothing(
    ledgers: list[CaseLedger], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = ledgers[0]
    cases = [ledger.open_case(opening(), ACTOR).case_id for _ in range(CASES)]
    lost_races: Counter[str] = Counter()
    for each in ledgers:
        lost_races = count_lost_races(each, monkeypatch, lost_races)

    def write(thread: int) -> list[tuple[UUID, list[NewEvent], list[Recorded]]]:
        done = []
        for step in range(APPENDS_PER_THREAD):
            case_id = cases[(step + thread % (THREADS // THREADS_PER_CASE_AT_ONCE)) % CASES]
            size = 2 if step % BATCH_EVERY == BATCH_EVERY - 1 else 1
            events = [note(f"thread {thread} step {step} part {k}") for k in range(size)]
            writer = ledgers[thread % PROCESSES]
            done.append((case_id, events, writer.append(case_id, events, ACTOR)))
        return done

    outcomes = race(THREADS, write)

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors, contention_report(errors)
    assert lost_races["saves"] > 0, "no save lost a race: the threads did not really race"
    appends = [a for o in outcomes if not isinstance(o, Exception) for a in o]
    submitted = [e.event_id for _, events, _ in appends for e in events]
    histories = {case_id: ledger.history(case_id) for case_id in cases}
    # Check every case: versions 1..n, no gap
    for case_id, history in histories.items():
        assert [e.version for e, _ in history] == list(range(1, len(history) + 1)), case_id
    # Check every submitted event is there exactly once, and nothing else is
    recorded_ids = Counter(
        e.event_id for history in histories.values() for e, _ in history if e.version > 1
    )
    assert [i for i, n in recorded_ids.items() if n > 1] == []
    assert set(recorded_ids) == set(submitted)
    assert (
        sum(recorded_ids.values())
        == len(submitted)
        == THREADS * (APPENDS_PER_THREAD + APPENDS_PER_THREAD // BATCH_EVERY)
    )
    # Check positions: one per event, unique across the store
    positions = [p for history in histories.values() for _, p in history]
    assert None not in positions
    assert len(set(positions)) == len(positions) == CASES + len(submitted)
    # Check each caller was told where its events went, and a batch stayed together
    where = {
        e.event_id: (case_id, e.version, p)
        for case_id, history in histories.items()
        for e, p in history
    }
    for case_id, events, recorded in appends:
        assert {where[e.event_id][0] for e in events} == {case_id}
        assert [(r.case_id, r.version, r.position) for r in recorded] == [
            where[e.event_id] for e in events
        ]
        versions = [r.version for r in recorded]
        assert versions == list(range(versions[0], versions[0] + len(versions)))
        assert all(r.created for r in recorded)


def test_many_writers_on_one_hot_case_all_get_recorded(ledgers: list[CaseLedger]) -> None:
    """Without expected_version an append is retried until it lands: a busy case is no reason to
    refuse one (``Contention`` here means the retry budget is too small for the load)."""
    ledger = ledgers[0]
    case_id = ledger.open_case(opening(), ACTOR).case_id

    def write(writer: int) -> list[Exception]:
        gave_up: list[Exception] = []
        for step in range(HOT_CASE_APPENDS_PER_WRITER):
            try:
                ledgers[writer % PROCESSES].append(
                    case_id, [note(f"writer {writer} step {step}")], ACTOR
                )
            except Contention as e:
                gave_up.append(e)
        return gave_up

    outcomes = race(HOT_CASE_WRITERS, write)

    errors = [e for o in outcomes for e in (o if isinstance(o, list) else [o])]
    assert not errors, (
        f"{len(errors)} of {HOT_CASE_WRITERS * HOT_CASE_APPENDS_PER_WRITER} appends: "
        + contention_report(errors)
    )
    history = ledger.history(case_id)
    assert [e.version for e, _ in history] == list(
        range(1, 2 + HOT_CASE_WRITERS * HOT_CASE_APPENDS_PER_WRITER)
    )


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_racing_appends_with_the_same_expected_version_have_one_winner(
    ledger: CaseLedger, round_: int
) -> None:
    case_id = ledger.open_case(opening(), ACTOR).case_id
    ledger.append(case_id, [note("before the race")], ACTOR)
    notes = [note(f"racer {i}") for i in range(RACERS)]

    outcomes = race(RACERS, lambda i: ledger.append(case_id, [notes[i]], ACTOR, expected_version=2))

    winners = [o for o in outcomes if isinstance(o, list)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1
    assert len(losers) == RACERS - 1
    assert all(isinstance(e, VersionConflict) for e in losers), losers
    history = ledger.history(case_id)
    assert [e.version for e, _ in history] == [1, 2, 3]
    assert history[2][0].event_id == winners[0][0].event_id
    assert history[2][1] == winners[0][0].position


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_same_event_submitted_concurrently_is_written_once(
    ledgers: list[CaseLedger], round_: int
) -> None:
    ledger = ledgers[0]
    case_id = ledger.open_case(opening(), ACTOR).case_id
    same = note("submitted by an impatient client")

    outcomes = race(RACERS, lambda i: ledgers[i % PROCESSES].append(case_id, [same], ACTOR)[0])

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors, contention_report(errors)
    results = [o for o in outcomes if isinstance(o, Recorded)]
    assert {(r.case_id, r.version, r.position, r.event_id) for r in results} == {
        (case_id, 2, results[0].position, same.event_id)
    }
    assert sum(r.created for r in results) == 1
    history = ledger.history(case_id)
    assert [e.event_id for e, _ in history][1:] == [same.event_id]
    assert history[1][1] == results[0].position


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_same_opening_submitted_concurrently_opens_one_case(
    ledgers: list[CaseLedger], round_: int
) -> None:
    ledger = ledgers[0]
    same = opening(event_id=str(uuid4()))

    outcomes = race(
        RACERS,
        lambda i: ledgers[i % PROCESSES].open_case(same, ACTOR, client_event_id=True),
    )

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors, contention_report(errors)
    results = [o for o in outcomes if isinstance(o, Recorded)]
    assert len({(r.case_id, r.version, r.position) for r in results}) == 1
    assert sum(r.created for r in results) == 1
    logged = ledger.log_after(0, 1000)
    assert [(n.entry.case_id, n.entry.version) for n in logged] == [(str(results[0].case_id), 1)]


def closing_event() -> NewEvent:
    return NewEvent.parse("CaseClosed", opening().occurred_at, {"reason": "moved_away"})


def reopening_event() -> NewEvent:
    return NewEvent.parse("CaseReopened", opening().occurred_at, {"reason": "moved back"})


def test_a_process_whose_copy_of_a_case_was_overtaken_appends_after_the_other_processes_events(
    ledgers: list[CaseLedger],
) -> None:
    here, there = ledgers[0], ledgers[1]
    case_id = here.open_case(opening(), ACTOR).case_id
    here.append(case_id, [note("first, here")], ACTOR)  # this process now remembers version 2
    there.append(case_id, [note("then, elsewhere")], ACTOR)

    [recorded] = here.append(case_id, [note("then, here again")], ACTOR)

    assert recorded.version == 4
    texts = [e.data.get("text") for e in here.get_case(case_id).entries]
    assert texts == [None, "first, here", "then, elsewhere", "then, here again"]
    report = here.verify(case_id)
    assert report.ok, report


def test_a_refusal_is_judged_on_the_stored_case_not_on_a_copy_another_process_overtook(
    ledgers: list[CaseLedger],
) -> None:
    here, there = ledgers[0], ledgers[1]
    case_id = here.open_case(opening(), ACTOR).case_id
    here.append(case_id, [note()], ACTOR)  # remembered here: an open case at version 2
    there.append(case_id, [closing_event()], ACTOR)

    # this process's copy says "open", so a reopening would be refused on it
    [reopened] = here.append(case_id, [reopening_event()], ACTOR)
    # and the client who read version 4 elsewhere is not told it is stale
    [noted] = here.append(case_id, [note("after the reopening")], ACTOR, expected_version=4)

    assert (reopened.version, noted.version) == (4, 5)
    assert here.get_case(case_id).state.closed is False
