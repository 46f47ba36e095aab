"""The runner: follows the global log and keeps a set of read models up to date.

Between rounds (``projections.projector``) it waits for the log to grow: woken by the
sequencer's ``NOTIFY`` on PostgreSQL, polling on SQLite (``projections.notices``). While it runs
it holds a shared lock by which ``/ready`` knows that one follows the log
(``projections.presence``). Read models that start empty on a long log are first filled case
by case (``projections.rebuild``), then followed.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import datetime

import structlog

from domain.application import CaseLedger, utcnow
from domain.compliance import ComplianceConfig
from projections.db import ViewDatabase
from projections.generations import active_generations
from projections.model import ReadModel
from projections.notices import Notices
from projections.presence import Presence
from projections.projector import BATCH, STORE_AWAY, Projector
from projections.rebuild import RebuildRunning, rebuild

log = structlog.get_logger("caseledger.projections")

FULL_GC_SECONDS = 1.0

FILL_FROM = 20_000
"""A runner starting with a read model at position 0 on a log this long fills it case by case."""

LISTENING_SECONDS = 1.0
"""The longest wait for the log while listening: ``stop`` is seen within it."""


class Runner(Projector):
    """Keeps a set of read models up to date with the log (``run`` until ``stop``).

    ``notices``: the process's ``LISTEN`` feed, shared with read-your-writes waits; without
    one, ``run`` listens on a feed of its own.
    """

    def __init__(
        self,
        ledger: CaseLedger,
        db: ViewDatabase,
        models: Sequence[ReadModel],
        clock: Callable[[], datetime] = utcnow,
        config: ComplianceConfig | None = None,
        poll_seconds: float = 0.1,
        recheck_seconds: float = 60.0,
        batch: int = BATCH,
        cases: int = 4000,
        notices: Notices | None = None,
    ) -> None:
        super().__init__(ledger, db, models, clock, config, recheck_seconds, batch, cases)
        self.poll_seconds = poll_seconds
        self.notices = notices
        self.fill_from = FILL_FROM
        self._stop = threading.Event()
        self._waiting_on: Notices | None = None  # what ``stop`` interrupts

    def run(self, own_process: bool = False) -> None:
        """Follow the log until ``stop()``; wakes on NOTIFY (PostgreSQL) or polls (SQLite).

        ``own_process`` (``caseledger projections run``): the process is the runner's alone, so
        the runner also decides when Python's full garbage collection runs: when it is idle,
        every ``FULL_GC_SECONDS``, rather than in the middle of a batch, where its pauses (tens
        to hundreds of milliseconds with thousands of cases in memory) would add to the lag.
        After each one the survivors are frozen (``gc.freeze``), so the next one only looks at
        what came since. The cases in memory hold no reference cycles, so nothing that is
        later dropped from them needs the cycle collector to be freed.
        """
        log.info("projections_started", models=[m.name for m in self.models])
        with ExitStack() as stack:
            presence = Presence(self.db)  # ``/ready`` sees a runner while it holds this
            stack.callback(presence.close)
            notices = self.notices
            if notices is None:  # listening before the first read: no notification is missed
                notices = Notices(self.db.listen_conninfo(), [self.ledger.log_channel])
                stack.callback(notices.close)
            self._waiting_on = notices
            stack.callback(log.info, "projections_stopped")
            self._follow(presence, notices, own_process)

    def _follow(self, presence: Presence, notices: Notices, own_process: bool) -> None:
        self._fill_new_read_models()
        if own_process:
            gc.set_threshold(*gc.get_threshold()[:2], 1_000_000)  # no automatic full collection
        collected = time.monotonic()
        channel = self.ledger.log_channel
        while not self._stop.is_set():
            presence.hold()  # again, should its connection have been lost
            mark = notices.mark(channel)
            try:
                applied = self.run_once()
            except (*STORE_AWAY, OSError) as e:
                log.warning("projections_store_unavailable", error=str(e))
                self._stop.wait(1.0)
                continue
            except Exception:  # a fault of the runtime itself: say so, retry the round
                log.exception("projections_round_failed")
                self._stop.wait(1.0)
                continue
            if not applied:
                if own_process and time.monotonic() - collected > FULL_GC_SECONDS:
                    started = time.perf_counter()
                    gc.collect()
                    gc.freeze()
                    collected = time.monotonic()
                    ms = round((time.perf_counter() - started) * 1000, 1)
                    log.debug("collected", ms=ms)
                    continue  # look at the log again before waiting
                notices.wait(channel, mark, LISTENING_SECONDS, self.poll_seconds, self._stop)

    def _fill_new_read_models(self) -> None:
        """Read models at position 0 on a log of ``fill_from`` events or more are filled case
        by case (``rebuild``): following a long log event by event judges a case again in
        every batch that touches it. If another process is rebuilding, this runner follows
        the log meanwhile; the rebuild's switch takes over its work."""
        try:
            positions = {g.name: g.position for g in active_generations(self.db)}
            fresh = [m for m in self.models if positions.get(m.name, 0) == 0]
            if not fresh or self.feed.head() < self.fill_from:
                return
            log.info("projections_filling_by_case", models=[m.name for m in fresh])
            rebuild(self, fresh)
        except RebuildRunning:
            log.info("projections_rebuild_elsewhere")
        except (*STORE_AWAY, OSError) as e:
            log.warning("projections_store_unavailable", error=str(e))

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="caseledger-projections", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
        if self._waiting_on is not None:
            self._waiting_on.interrupt()
