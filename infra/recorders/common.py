"""What both recorders share: the stored event with its envelope, the log entry, names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import PersistenceError, StoredEvent

from domain.integrity import canonical_bytes
from domain.store import LogRecord

log = structlog.get_logger("caseledger.store")

EVENTS_TABLE = "caseledger_events"


@dataclass(frozen=True)
class CaseStoredEvent(StoredEvent):
    """A stored event with its envelope columns (built by ``CaseEventMapper``)."""

    event_id: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: str

    def canonical(self) -> bytes:
        return canonical_bytes(
            self.event_id,
            as_uuid(self.originator_id),
            self.originator_version,
            self.topic,
            self.schema_version,
            self.occurred_at,
            self.recorded_at,
            self.actor,
            self.state,
        )


def sealed(row: Sequence[Any]) -> LogRecord:
    """A log row ``(position, case_id, version, type, payload, event_id, hash)`` — the columns
    both recorders select for the log — as a notification."""
    position, case_id, version, type_, payload, event_id, hash_ = row
    return LogRecord(
        id=position,
        originator_id=as_uuid(case_id),
        originator_version=version,
        topic=type_,
        state=bytes(payload),
        event_id=event_id,
        hash=bytes(hash_),
    )


def log_table_name(events_table_name: str) -> str:
    return events_table_name.removesuffix("events") + "log"


def as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def case_stored(stored: StoredEvent) -> CaseStoredEvent:
    if not isinstance(stored, CaseStoredEvent):
        raise PersistenceError("caseledger recorders store CaseStoredEvent (CaseEventMapper)")
    return stored
