"""The service layer: one method per use case on the eventsourcing ``Application``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, cast
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import RecordConflictError
from eventsourcing.utils import Environment, EnvType

from domain.case import Case, NewEvent
from domain.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    Contention,
    EventIdReused,
    FieldError,
    InvalidEvent,
    VersionConflict,
)
from domain.events import Actor
from domain.state import CaseState, Entry, derive

# Case ids derived from a client's opening event id, so that retrying an open is idempotent.
CASE_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:caseledger:case")
MAX_ATTEMPTS = 20


class PositionIndex(Protocol):
    """Implemented by the store's recorders: global positions of a case's events."""

    def positions(self, case_id: UUID) -> dict[int, int]: ...


@dataclass(frozen=True)
class Recorded:
    case_id: UUID
    version: int
    event_id: str
    position: int | None
    created: bool


@dataclass(frozen=True)
class CaseRecord:
    """A case as its record stood at some moment: the entries recorded by then and their state."""

    case_id: UUID
    version: int
    entries: list[Entry]
    state: CaseState


def utcnow() -> datetime:
    return datetime.now(UTC)


class CaseLedger(Application):
    name = "CaseLedger"

    def __init__(self, env: EnvType | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        super().__init__(env)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Configuration comes only from ``env`` (built from Settings), never from os.environ."""
        return Environment(name, dict(env or {}))

    # --- recording -------------------------------------------------------------------------

    def open_case(
        self,
        new: NewEvent,
        actor: Actor,
        case_id: UUID | None = None,
        client_event_id: bool = False,
        correlation_id: str | None = None,
    ) -> Recorded:
        """Open a case; a retry with the same event id and content returns the original."""
        if case_id is None:
            case_id = uuid5(CASE_ID_NAMESPACE, new.event_id) if client_event_id else uuid4()
        for _ in range(MAX_ATTEMPTS):
            try:
                existing = self._load(case_id)
            except CaseNotFound:
                case = Case.open(case_id, new, actor, self.clock(), correlation_id)
                try:
                    recording = self.save(case)[0]
                except RecordConflictError:
                    continue  # someone opened it meanwhile: look again (it exists now)
                return Recorded(case_id, 1, new.event_id, recording.notification.id, True)
            first = existing.entries[0]
            if first.event_id == new.event_id and new.same_content_as(first):
                return self._repeat(case_id, [first])[0]
            if first.event_id == new.event_id:
                raise EventIdReused(
                    "event_id already names an event with different content", field="event_id"
                )
            raise CaseAlreadyExists(f"case {case_id} already exists", field="case_id")
        raise Contention("too many concurrent writers on this case; retry")

    def append(
        self,
        case_id: UUID,
        events: Sequence[NewEvent],
        actor: Actor,
        expected_version: int | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> list[Recorded]:
        """Append events to one case atomically (all or none).

        Without ``expected_version`` a lost race is retried on the fresh case, so concurrent
        writers never lose an event; with it, a stale version is a conflict. A repeat of events
        already recorded (same ids, same content) returns the originals and writes nothing.
        """
        if not events:
            raise InvalidEvent("no events to append", [FieldError(("events",), "empty")])
        for attempt in range(MAX_ATTEMPTS):
            case = self._load(case_id)
            repeated = self._repeated(case, events)
            if repeated:
                return self._repeat(case_id, repeated)
            if expected_version is not None and case.version != expected_version:
                raise VersionConflict(
                    f"case is at version {case.version}, not {expected_version}",
                    field="expected_version",
                )
            now = self.clock()
            for new in events:
                case.record(new, actor, now, correlation_id, causation_id)
            try:
                recordings = self.save(case)
            except RecordConflictError:
                _back_off(attempt)
                continue
            return [
                Recorded(
                    case_id, r.domain_event.originator_version, e.event_id, r.notification.id, True
                )
                for r, e in zip(recordings, events, strict=True)
            ]
        raise Contention("too many concurrent writers on this case; retry")

    # --- reading ---------------------------------------------------------------------------

    def get_case(self, case_id: UUID, as_of: datetime | None = None) -> CaseRecord:
        """The case now, or as its record stood at ``as_of`` (events recorded up to then)."""
        case = self._load(case_id)
        if as_of is None:
            return CaseRecord(case_id, case.version, case.entries, case.state)
        entries = [e for e in case.entries if e.recorded_at <= as_of]
        if not entries:
            raise CaseNotFound(f"case {case_id} had no record at {as_of.isoformat()}")
        return CaseRecord(case_id, entries[-1].version, entries, derive(entries))

    def history(self, case_id: UUID) -> list[tuple[Entry, int | None]]:
        """Every event of the case in order, with its global position."""
        case = self._load(case_id)
        positions = self.positions(case_id)
        return [(e, positions.get(e.version)) for e in case.entries]

    # --- helpers ---------------------------------------------------------------------------

    def _load(self, case_id: UUID) -> Case:
        try:
            return cast(Case, self.repository.get(case_id))
        except AggregateNotFoundError:
            raise CaseNotFound(f"no case {case_id}") from None

    def positions(self, case_id: UUID) -> dict[int, int]:
        """Version -> global position of each event of the case."""
        return cast(PositionIndex, self.recorder).positions(case_id)

    def _repeat(self, case_id: UUID, entries: list[Entry]) -> list[Recorded]:
        positions = self.positions(case_id)
        return [
            Recorded(case_id, e.version, e.event_id, positions.get(e.version), False)
            for e in entries
        ]

    @staticmethod
    def _repeated(case: Case, events: Sequence[NewEvent]) -> list[Entry]:
        """Entries already recorded under these event ids; a partial or altered repeat is 409."""
        found = [(new, case.entry_by_id(new.event_id)) for new in events]
        if all(entry is None for _, entry in found):
            return []
        for i, (new, entry) in enumerate(found):
            if entry is None or not new.same_content_as(entry):
                loc = "event_id" if len(events) == 1 else f"events.{i}.event_id"
                raise EventIdReused(
                    "event_id already names an event with different content"
                    if entry
                    else "part of this batch was already recorded, part was not",
                    field=loc,
                )
        return [entry for _, entry in found if entry is not None]


def _back_off(attempt: int) -> None:
    """Jittered exponential pause after a lost race, so hot cases do not livelock."""
    time.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 7)))
