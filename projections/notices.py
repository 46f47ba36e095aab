"""The one ``LISTEN`` feed of a process: wakes whoever waits for the log or the read models.

Two things are announced on PostgreSQL: the sequencer notifies the log's channel when it adds
positions (``CaseLedger.log_channel``), and a runner notifies the read models' channel when a
round commits (``Tx.announce``, ``projections.db.views_channel``). ``Notices`` listens to both
on one connection, in a thread of its own, and counts the notifications per channel; the runner
waits on the log's count, read-your-writes waits on the read models' (``freshness.wait_for``),
and the benchmarks on either.

A waiter takes ``mark(channel)`` *before* it looks at what it waits for, then ``wait(channel,
mark, ...)``, which returns at once if a notification came in between: none is missed. On
SQLite, or while the listening connection is down, nothing is announced and ``wait`` returns
after the waiter's ``poll`` interval: the waiter polls. When the connection comes (back), every
count moves, so that waiters look again at what they may have missed meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable

import psycopg
import structlog
from psycopg.sql import SQL, Identifier

from projections.db import KEEPALIVE

log = structlog.get_logger("caseledger.projections")


class Notices:
    """Counts the notifications of some channels (``conninfo`` None: nothing is listened to)."""

    def __init__(self, conninfo: str | None, channels: Iterable[str | None]) -> None:
        self.channels = sorted({c for c in channels if c})
        self._conninfo = conninfo
        self._changed = threading.Condition()
        self._counts: Counter[str] = Counter()
        self._listening = False
        self._interrupts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if conninfo is not None and self.channels:
            self._thread = threading.Thread(
                target=self._listen, name="caseledger-notices", daemon=True
            )
            self._thread.start()

    @property
    def listening(self) -> bool:
        return self._listening

    def mark(self, channel: str | None) -> int:
        with self._changed:
            return self._counts[channel or ""]

    def wait(
        self,
        channel: str | None,
        mark: int,
        timeout: float,
        poll: float,
        stop: threading.Event | None = None,
    ) -> None:
        """Until ``channel`` is notified after ``mark``, or ``timeout`` seconds while
        listening, or ``poll`` seconds while not; at once if ``stop`` is set (whoever sets it
        then calls ``interrupt``, which wakes a wait already begun)."""
        key = channel or ""
        with self._changed:
            if stop is not None and stop.is_set():
                return
            listened = self._listening and channel in self.channels
            deadline = time.monotonic() + (timeout if listened else min(timeout, poll))
            interrupts = self._interrupts
            # another channel's notification wakes the condition too: wait on for this one
            while self._counts[key] == mark and self._interrupts == interrupts:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)

    def interrupt(self) -> None:
        """Wake every waiter now (one that stops should not sleep out its wait)."""
        with self._changed:
            self._interrupts += 1
            self._changed.notify_all()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _listen(self) -> None:
        assert self._conninfo is not None
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=5, **KEEPALIVE
                ) as conn:
                    for channel in self.channels:
                        conn.execute(SQL("LISTEN {}").format(Identifier(channel)))
                    self._notified(self.channels, listening=True)
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=1.0, stop_after=1):
                            self._notified([notice.channel], listening=True)
            except Exception as e:  # whatever it was, waiters poll meanwhile
                self._notified(self.channels, listening=False)
                log.warning("listen_failed", error=str(e))
                self._stop.wait(1.0)
        self._notified(self.channels, listening=False)

    def _notified(self, channels: Iterable[str], listening: bool) -> None:
        with self._changed:
            self._counts.update(channels)
            self._listening = listening
            self._changed.notify_all()
