"""Concurrent access entries share transactions, and each caller gets its own records back."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from domain.access import AccessEntry, AccessRecord, GroupCommit


def entry(actor: str) -> AccessEntry:
    return AccessEntry(
        kind="read",
        at=datetime.now(UTC),
        actor_id=actor,
        role="supervisor",
        unit="01",
        purpose="supervision",
        route="GET /v1/cases/{case_id}",
    )


def test_concurrent_callers_share_batches_and_each_gets_its_own_records() -> None:
    batches: list[int] = []
    written: list[AccessEntry] = []

    def write(entries: Sequence[AccessEntry]) -> list[AccessRecord]:
        time.sleep(0.01)  # a disk flush
        batches.append(len(entries))
        start = len(written)
        written.extend(entries)
        return [AccessRecord(start + i + 1, e, b"") for i, e in enumerate(entries)]

    commit = GroupCommit(write)
    got: dict[str, list[AccessRecord]] = {}

    def call(i: int) -> None:
        got[f"a{i}"] = commit.append([entry(f"a{i}")])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert sum(batches) == 40 and len(batches) < 40
    assert all(records[0].entry.actor_id == actor for actor, records in got.items())
    assert sorted(r[0].position for r in got.values()) == list(range(1, 41))


def test_a_failed_batch_fails_its_callers_and_the_next_ones_go_on() -> None:
    calls = []

    def write(entries: Sequence[AccessEntry]) -> list[AccessRecord]:
        calls.append(len(entries))
        if len(calls) == 1:
            raise RuntimeError("disk full")
        return [AccessRecord(i + 1, e, b"") for i, e in enumerate(entries)]

    commit = GroupCommit(write)

    with pytest.raises(RuntimeError):
        commit.append([entry("first")])
    [record] = commit.append([entry("second")])

    assert record.entry.actor_id == "second"
