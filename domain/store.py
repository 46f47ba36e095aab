"""The event store as the application reaches it: the ``Store`` protocol.

``CaseLedger`` (``domain/application.py``) is the one door to the store for everything else
(the API, the projection runtime, the CLI, the benchmarks): it reaches the store through this
protocol, which both recorders implement (``infra/recorders``), and hands out decoded entries
(``Logged``), never stored bytes. The library's recorder API (``insert_events``,
``select_events``) stays what ``Application`` itself uses to save and load cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from domain.access import AccessEntry, AccessRecord
from domain.integrity import Progress, VerificationReport
from domain.personal import KeyStore
from domain.state import Entry


@dataclass(frozen=True)
class Seal:
    """Where a stored event stands in the global log (once assigned), and its integrity hash."""

    position: int | None
    hash: str


@dataclass(frozen=True)
class LogRecord(Notification):
    """A global log entry as stored: the event's stored form, its position (``id``), its event
    id and its hash."""

    event_id: str
    hash: bytes


@dataclass(frozen=True, slots=True)
class Logged:
    """A recorded event at its place in the global log: its position, the entry, its hash."""

    position: int
    entry: Entry
    hash: bytes


class Store(KeyStore, Protocol):
    """What our recorders offer beyond the library's: the global log, the case index,
    verification, the persons' data keys and the database role of the application."""

    def head(self) -> int:
        """The last position of the global log (0 when empty)."""

    def log_after(
        self, position: int, limit: int, types: Sequence[str] = ()
    ) -> Sequence[LogRecord]:
        """The global log after ``position``, in order, at most ``limit`` entries, of these
        event types only if any are given. Gap-safe: no entry ever appears later before the
        last one returned."""

    def case_ids_upto(self, position: int) -> list[UUID]:
        """Every case with an event at a position up to ``position``, in id order."""

    def cases_upto(self, case_ids: Sequence[UUID], position: int) -> Sequence[LogRecord]:
        """The log entries of these cases up to ``position``, by case then version."""

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """One case's stored events (the library's recorder method)."""

    def seals(self, case_id: UUID) -> dict[int, Seal]:
        """Version -> global position and hash of each stored event of a case."""

    def locate(self, event_ids: Sequence[str]) -> dict[str, tuple[UUID, int]]:
        """Where event ids are already recorded, store-wide: id -> (case id, version)."""

    def verify(
        self, case_id: UUID | None = None, progress: Progress | None = None
    ) -> VerificationReport:
        """Recompute every stored hash; check each case's chain and the global log. The whole
        store is read on a connection of its own, never one of the pool that writes need."""

    def record_access(self, entries: Sequence[AccessEntry]) -> list[AccessRecord]:
        """Append entries to the access log, chained, in one transaction (all or none)."""

    def access_entries(
        self,
        *,
        case_id: UUID | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] = (),
        after: int = 0,
        limit: int = 100,
    ) -> list[AccessRecord]:
        """Access log entries after position ``after``, in order, at most ``limit``, matching
        every filter given (``case_id``: entries naming that case; ``since``/``until``:
        ``at`` within, inclusive)."""

    def grant_writer(self, role: str, password: str | None = None) -> None:
        """Let a database role record and read, and nothing more (created if missing)."""

    def grant_runner(self, role: str, password: str | None = None) -> None:
        """Let a database role read the store, and nothing more of it (created if missing): the
        projection runner's, which owns the read models."""

    def analyze(self) -> None:
        """Refresh the database's planner statistics before a long scan (a rebuild)."""

    @property
    def log_channel(self) -> str | None:
        """The ``LISTEN`` channel notified when the log grows, if the store has one."""
