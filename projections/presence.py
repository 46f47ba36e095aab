"""Whether a projection runner is following the log of this store (``/ready`` reports it).

A runner holds a *shared* lock for as long as it runs, and ``running`` looks for one:

- PostgreSQL: a session advisory lock, keyed by the schema, on a connection of the runner's
  own; ``running`` finds it in ``pg_locks`` (readable by any role, the API's included).
- SQLite: ``flock`` on a file beside the read models' file; ``running`` tries to take it
  exclusively without waiting, and fails to while any runner holds it.
- In-memory SQLite: the runner is in this process; a count in memory.

Either kind of lock goes with its process or its connection, so a runner that is killed stops
counting at once and leaves nothing to clean up. Should the runner's lock connection be lost
(PostgreSQL restarted), ``hold`` takes the lock again on a new one; meanwhile ``running``
answers false, which is what ``/ready`` should say of a runner that cannot reach its store.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import zlib
from collections import Counter
from contextlib import ExitStack
from typing import IO

import psycopg
import structlog

from projections.db import KEEPALIVE, ViewDatabase, views_path

log = structlog.get_logger("caseledger.projections")

LOCK_CLASS = 0x43_4C_50  # "CLP": caseledger projections, the first half of the advisory key
CHECK_SECONDS = 5.0
"""How often ``hold`` checks that its PostgreSQL connection (and so its lock) is still there;
the runner calls ``hold`` at every pass of its loop, busy or idle."""

_in_memory: Counter[str] = Counter()
_in_memory_lock = threading.Lock()
_probe_lock = threading.Lock()


def lock_key(db: ViewDatabase) -> tuple[int, int]:
    """The runners' advisory lock on PostgreSQL, as its two int4 halves: ours, the schema's."""
    return LOCK_CLASS, zlib.crc32(db.settings.database_schema.encode()) & 0x7FFF_FFFF


class Presence:
    """A runner's lock: taken by ``hold`` (again, if it was lost), let go by ``close``."""

    def __init__(self, db: ViewDatabase) -> None:
        self.db = db
        self._conn: psycopg.Connection | None = None
        self._checked = 0.0
        self._file: IO[str] | None = None
        self._counted = False
        self.hold()

    def hold(self) -> None:
        if self.db.dialect == "postgres":
            self._hold_advisory_lock()
        elif self.db.in_memory:
            if not self._counted:
                with _in_memory_lock:
                    _in_memory[views_path(self.db.settings)] += 1
                self._counted = True
        elif self._file is None:
            lock = views_path(self.db.settings) + ".runner-lock"
            self._file = open(lock, "a")  # noqa: SIM115 (held while the runner runs)
            fcntl.flock(self._file, fcntl.LOCK_SH)

    def _hold_advisory_lock(self) -> None:
        if self._conn is not None:
            if time.monotonic() - self._checked < CHECK_SECONDS:
                return
            try:
                self._conn.execute("SELECT 1")
                self._checked = time.monotonic()
                return
            except psycopg.Error:
                self._conn.close()
                self._conn = None
        try:
            conn = psycopg.connect(
                self.db.conninfo(),
                autocommit=True,
                connect_timeout=5,
                options="-c idle_session_timeout=0",  # the lock's session idles by design
                **KEEPALIVE,
            )
        except psycopg.Error as e:
            log.warning("projections_presence_lost", error=str(e))
            return
        try:
            conn.execute("SELECT pg_advisory_lock_shared(%s, %s)", lock_key(self.db))
        except psycopg.Error as e:
            conn.close()
            log.warning("projections_presence_lost", error=str(e))
            return
        self._conn, self._checked = conn, time.monotonic()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()  # closing the file lets go of its lock
            self._file = None
        if self._counted:
            with _in_memory_lock:
                _in_memory[views_path(self.db.settings)] -= 1
            self._counted = False


def running(db: ViewDatabase) -> bool:
    """Whether any runner (in any process) holds its lock on this store."""
    path = views_path(db.settings)
    if db.dialect == "postgres":
        found = db.read(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 2) AS found",
            lock_key(db),
        )
        return bool(found[0]["found"])
    if db.in_memory:
        with _in_memory_lock:
            return _in_memory[path] > 0
    try:
        fd = os.open(path + ".runner-lock", os.O_RDONLY)  # none yet: no runner ever ran here
    except OSError:
        return False
    # One probe at a time: two probes' exclusive locks would each take the other for a runner.
    # In this process, a mutex; across processes, a lock of their own beside the runners' (a
    # process that may not write there probes without it).
    try:
        with _probe_lock, ExitStack() as stack:
            try:
                probes = stack.enter_context(open(path + ".probe-lock", "a"))
                fcntl.flock(probes, fcntl.LOCK_EX)
            except OSError:
                pass
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
    finally:
        os.close(fd)
