"""The process's one LISTEN feed: a waiter wakes for its own channel, not for another's."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg

from projections.notices import Notices
from tests.conftest import pg_url, require_postgres


def notify(channel: str) -> None:
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute("SELECT pg_notify(%s, '')", (channel,))


def listening(channels: list[str]) -> Notices:
    notices = Notices(pg_url(), channels)
    deadline = time.monotonic() + 10
    while not notices.listening:
        assert time.monotonic() < deadline, "never listened"
        time.sleep(0.01)
    return notices


def test_a_waiter_wakes_when_its_channel_is_notified_and_sleeps_through_another() -> None:
    require_postgres()
    mine, other = f"mine_{uuid.uuid4().hex[:8]}", f"other_{uuid.uuid4().hex[:8]}"
    notices = listening([mine, other])
    try:
        mark = notices.mark(mine)
        started = time.monotonic()
        notify(other)
        notices.wait(mine, mark, timeout=0.5, poll=0.01)

        # Check: the other channel's notification did not end the wait
        assert time.monotonic() - started >= 0.45
        assert notices.mark(mine) == mark

        threading.Timer(0.1, notify, (mine,)).start()
        started = time.monotonic()
        notices.wait(mine, mark, timeout=10.0, poll=0.01)

        assert time.monotonic() - started < 5.0
        assert notices.mark(mine) == mark + 1
    finally:
        notices.close()


def test_a_notification_between_the_mark_and_the_wait_is_not_missed() -> None:
    require_postgres()
    channel = f"log_{uuid.uuid4().hex[:8]}"
    notices = listening([channel])
    try:
        mark = notices.mark(channel)
        notify(channel)
        deadline = time.monotonic() + 5
        while notices.mark(channel) == mark and time.monotonic() < deadline:
            time.sleep(0.01)

        started = time.monotonic()
        notices.wait(channel, mark, timeout=10.0, poll=0.01)

        assert time.monotonic() - started < 0.1
    finally:
        notices.close()


def test_without_a_server_a_waiter_polls_and_a_stop_interrupts_it() -> None:
    notices = Notices(None, ["log"])  # SQLite: nothing to listen to
    mark = notices.mark("log")

    started = time.monotonic()
    notices.wait("log", mark, timeout=10.0, poll=0.05)
    polled = time.monotonic() - started
    threading.Timer(0.1, notices.interrupt).start()
    started = time.monotonic()
    notices.wait("log", mark, timeout=10.0, poll=10.0)
    interrupted = time.monotonic() - started
    notices.close()

    assert 0.04 <= polled < 1.0
    assert interrupted < 5.0
