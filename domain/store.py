"""The event store as the application reaches it: the ``Store`` protocol.

``CaseLedger`` (``domain/application.py``) is the one door to the store for everything else
(the API, the projection runtime, the CLI, the benchmarks): it reaches the store through this
protocol, which both recorders implement (``infra/recorders``), and hands out decoded entries
(``Logged``), never stored bytes. The library's recorder API (``insert_events``,
``select_events``) stays what ``Application`` itself uses to save and load cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from domain.access import AccessEntry, AccessRecord
from domain.integrity import Progress, StoredRow, VerificationReport
from domain.personal import KeyStore
from domain.state import Entry
from domain.tlog import LogEntry, Node


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


@dataclass(frozen=True)
class StoredCheckpoint:
    """A signed checkpoint of the log's tree as stored: the note the log key signed, and the
    signature lines of the witnesses that cosigned it."""

    size: int
    issued_at: datetime
    note: str
    cosignatures: tuple[str, ...] = ()

    @property
    def cosigned(self) -> str:
        """The note with every cosignature: what ``GET /v1/log/checkpoint`` serves."""
        return self.note + "".join(self.cosignatures)


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
        self,
        case_id: UUID | None = None,
        progress: Progress | None = None,
        tree_sizes: Sequence[int] = (),
    ) -> VerificationReport:
        """Recompute every stored hash; check each case's chain and the global log, and (the
        whole store) rebuild the log's tree, compare it with the stored one and note its heads
        at ``tree_sizes``. The whole store is read on a connection of its own, never one of
        the pool that writes need."""

    def tree_nodes(self, nodes: Iterable[Node]) -> dict[Node, bytes]:
        """Stored subtree hashes of the log's tree (``domain.tlog``), those that exist."""

    def log_entries(self, case_id: UUID, upto: int) -> list[LogEntry]:
        """One case's log entries at positions up to ``upto``, by version."""

    def stored_rows(self, case_id: UUID) -> list[StoredRow]:
        """One case's events exactly as stored (payload ciphertext and all), by version."""

    def case_heads(self, upto: int) -> list[tuple[UUID, int, bytes]]:
        """Each case's last version and its hash among positions up to ``upto``, by case id."""

    def add_checkpoint(self, size: int, note: str) -> None:
        """Store a signed checkpoint (once per size: a second one of that size is ignored)."""

    def add_cosignatures(self, size: int, lines: Mapping[str, str]) -> None:
        """Store witnesses' cosignature lines of the checkpoint of ``size``, by witness name."""

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        """The stored checkpoint of ``size``, or the latest; None if there is none."""

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
