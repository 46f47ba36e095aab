"""What both recorders share: the stored event with its envelope, the log entry, names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import PersistenceError, StoredEvent

from domain.integrity import EventColumns
from domain.store import LogRecord

log = structlog.get_logger("caseledger.store")

EVENTS_TABLE = "caseledger_events"


@dataclass(frozen=True)
class CaseStoredEvent(StoredEvent):
    """A stored event with the columns the store keeps of it (``domain.integrity.EventColumns``:
    the envelope beside the payload, timestamps already as stored), built once per event by
    ``CaseEventMapper``; both recorders write ``columns`` and hash ``columns.canonical()``."""

    columns: EventColumns

    @classmethod
    def of(cls, columns: EventColumns) -> CaseStoredEvent:
        """The stored event of these columns (the library's fields are taken from them)."""
        return cls(columns.case_id, columns.version, columns.type, columns.payload, columns)

    @property
    def event_id(self) -> str:
        return self.columns.event_id


LOG_COLUMNS = "l.position, e.case_id, e.version, e.type, e.payload, e.event_id, e.hash"
"""What both recorders select of a log entry (``l``) and its event (``e``), as ``sealed``
reads it."""


def sealed(row: Sequence[Any]) -> LogRecord:
    """A log row selected as ``LOG_COLUMNS`` as a notification."""
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
