"""The access log: who read or was refused which case data, when, for what purpose; and the
emergency ("break-the-glass") grants and their reviews.

It is not the case event log: subscribers of ``/v1/events`` never see it. Like the event log it
is append-only (the database refuses updates and deletes) and hash-chained: each entry's hash
covers the previous entry's hash and the entry's canonical bytes, so ``caseledger verify``
finds an entry altered, removed or reordered by someone with the database owner's rights.

Kinds of entry:

- ``read``: a response that carried case data left the server (``outcome`` ``allowed`` or
  ``emergency`` when an emergency grant made it possible);
- ``refused``: a request for case data was refused (out of jurisdiction, role not entitled);
- ``emergency_grant``: a caller gave themselves read access to one case outside their
  jurisdiction, with a reason, until ``expires_at``;
- ``emergency_review``: a supervisor judged a grant ``justified`` or ``unjustified``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

import orjson

AccessKind = Literal["read", "refused", "emergency_grant", "emergency_review"]
Outcome = Literal["allowed", "refused", "emergency"]

ACCESS_GENESIS = bytes(32)
"""The "previous hash" of the first access entry."""


@dataclass(frozen=True, kw_only=True)
class AccessEntry:
    """One access fact, as the API records it (before it has a position and a hash)."""

    kind: AccessKind
    at: datetime  # aware, UTC
    actor_id: str
    role: str
    unit: str
    purpose: str
    route: str  # the route's path template with the method, e.g. "GET /v1/cases/{case_id}"
    query: str = ""  # the query string as received
    case_ids: tuple[UUID, ...] = ()  # the cases whose data the response carried (or was asked)
    first_position: int | None = None  # for the global log: the range of positions returned
    last_position: int | None = None
    outcome: Outcome = "allowed"
    request_id: str = ""
    detail: dict[str, object] = field(default_factory=dict)
    """Kind-specific facts: a grant's ``reason`` and ``expires_at``; a review's ``grant``
    (position of the grant), ``verdict`` and ``note``; a refusal's ``reason``."""

    def canonical(self) -> bytes:
        """The bytes the chain hashes: sorted-key JSON of every field, UTC instants as RFC 3339
        with microseconds, case ids as text."""
        values = asdict(self)
        values["at"] = self.at.isoformat(timespec="microseconds")
        values["case_ids"] = [str(c) for c in self.case_ids]
        return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class AccessRecord:
    """An access entry as stored: its position in the access log and its chained hash."""

    position: int
    entry: AccessEntry
    hash: bytes


def access_hash(previous: bytes, position: int, entry: AccessEntry) -> bytes:
    """SHA-256 over the previous entry's hash, the position (8 bytes, big-endian) and the
    entry's canonical bytes."""
    return hashlib.sha256(previous + position.to_bytes(8, "big") + entry.canonical()).digest()


class GroupCommit:
    """Concurrent appends of access entries share one transaction (and one disk flush).

    The access log is a serial chain: each append holds the chain's lock until it commits, so
    one entry per transaction would cap audited reads at the disk's flushes per second. Here
    the first caller to arrive writes, for itself and everyone who queued meanwhile, in one
    transaction; when it is done, the first caller queued since takes over. A failed batch
    fails each of its callers (nothing of it is recorded): each read it was for is refused.
    """

    def __init__(self, write: Callable[[Sequence[AccessEntry]], list[AccessRecord]]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._writing = False

    def append(self, entries: Sequence[AccessEntry]) -> list[AccessRecord]:
        me = _Waiting(list(entries))
        with self._lock:
            self._queue.append(me)
            lead = not self._writing
            self._writing = True
        if not lead:
            me.done.wait()
            if not me.leads:
                return me.outcome()
        self._write_queued()
        return me.outcome()

    def _write_queued(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            records = self._write([e for w in batch for e in w.entries])
        except Exception as e:
            for w in batch:
                w.error = e
        else:
            at = 0
            for w in batch:
                w.records, at = records[at : at + len(w.entries)], at + len(w.entries)
        with self._lock:
            if self._queue:  # hand over to the first who queued meanwhile
                self._queue[0].leads = True
                self._queue[0].done.set()
            else:
                self._writing = False
        for w in batch:
            w.done.set()


@dataclass(eq=False)
class _Waiting:
    entries: list[AccessEntry]
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    records: list[AccessRecord] = field(default_factory=list)
    error: Exception | None = None

    def outcome(self) -> list[AccessRecord]:
        if self.error is not None:
            raise self.error
        return self.records
