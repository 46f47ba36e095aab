"""What both recorders share: the stored event with its envelope, the log entry, the access
log's columns and chain, names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
import structlog
from eventsourcing.persistence import PersistenceError, StoredEvent

from domain.access import AccessEntry, AccessRecord, access_hash
from domain.integrity import AccessRow, EventColumns
from domain.personal import WrappedKey
from domain.store import LogRecord

log = structlog.get_logger("caseledger.store")

EVENTS_TABLE = "caseledger_events"


@dataclass(frozen=True)
class CaseStoredEvent(StoredEvent):
    """A stored event with the columns the store keeps of it (``domain.integrity.EventColumns``:
    the envelope beside the payload, timestamps already as stored), built once per event by
    ``CaseEventMapper``; both recorders write ``columns`` and hash ``columns.canonical()``."""

    columns: EventColumns
    data_key: WrappedKey | None = None
    """A case's first event brings the person's new data key, stored in the same transaction."""

    @classmethod
    def of(cls, columns: EventColumns, data_key: WrappedKey | None = None) -> CaseStoredEvent:
        """The stored event of these columns (the library's fields are taken from them)."""
        return cls(
            columns.case_id, columns.version, columns.type, columns.payload, columns, data_key
        )

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


def access_table_names(events_table_name: str) -> tuple[str, str]:
    """The access log's table and its case index, named beside the events and the log."""
    prefix = events_table_name.removesuffix("events")
    return prefix + "access_log", prefix + "access_cases"


def person_keys_table_name(events_table_name: str) -> str:
    """The table of the persons' wrapped data keys (``domain/personal.py``)."""
    return events_table_name.removesuffix("events") + "person_keys"


def wrapped_key(row: Sequence[Any]) -> WrappedKey:
    """A key row selected as ``case_id, kek_id, wrapped``."""
    case_id, kek_id, wrapped = row
    return WrappedKey(as_uuid(case_id), kek_id, None if wrapped is None else bytes(wrapped))


def as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def case_stored(stored: StoredEvent) -> CaseStoredEvent:
    if not isinstance(stored, CaseStoredEvent):
        raise PersistenceError("caseledger recorders store CaseStoredEvent (CaseEventMapper)")
    return stored


# --- the access log ---

ACCESS_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AccessEntry))
"""The access log's columns that hold an entry, one per field of ``AccessEntry`` and named
after it; the table holds ``position``, these, then ``hash``."""

ACCESS_COLUMNS: tuple[str, ...] = ("position", *ACCESS_FIELDS, "hash")


def as_stored(entry: AccessEntry) -> AccessEntry:
    """The entry exactly as it will be read back, which its hash is taken over: ``at`` in UTC
    (a naive time is refused), the case ids a tuple of UUIDs, ``detail`` as its JSON reads
    back (a value JSON has no type for, such as a datetime, as its JSON text)."""
    if entry.at.tzinfo is None or entry.at.utcoffset() is None:
        raise ValueError(f"an access entry's time must be aware, not {entry.at!r}")
    return replace(
        entry,
        at=entry.at.astimezone(UTC),
        case_ids=tuple(as_uuid(c) for c in entry.case_ids),
        detail=orjson.loads(orjson.dumps(entry.detail)),
    )


def chained(entries: Iterable[AccessEntry], head: int, previous: bytes) -> list[AccessRecord]:
    """The records of entries (as ``as_stored`` gives them) appended after position ``head``,
    whose hash is ``previous``: each at the next position, chained from the one before."""
    records = []
    for position, entry in enumerate(entries, head + 1):
        previous = access_hash(previous, position, entry)
        records.append(AccessRecord(position, entry, previous))
    return records


def case_index(records: Iterable[AccessRecord]) -> list[tuple[UUID, int]]:
    """The rows of the case index for these records: (case id, position), once per case."""
    return [(case_id, r.position) for r in records for case_id in dict.fromkeys(r.entry.case_ids)]


def access_record(row: Mapping[str, Any]) -> AccessRecord:
    """A record from its stored columns (``ACCESS_COLUMNS`` by name), as either store holds
    them: ``at`` a datetime or RFC 3339 text, ``case_ids`` a list or JSON text, ``detail`` a
    dict or JSON text."""
    values = {name: row[name] for name in ACCESS_FIELDS}
    at, case_ids, detail = values["at"], values["case_ids"], values["detail"]
    values["at"] = (datetime.fromisoformat(at) if isinstance(at, str) else at).astimezone(UTC)
    case_ids = orjson.loads(case_ids) if isinstance(case_ids, str | bytes) else case_ids
    values["case_ids"] = tuple(as_uuid(c) for c in case_ids)
    values["detail"] = orjson.loads(detail) if isinstance(detail, str | bytes) else detail
    return AccessRecord(row["position"], AccessEntry(**values), bytes(row["hash"]))


def access_row(row: Mapping[str, Any], indexed: Iterable[UUID | str] | None) -> AccessRow:
    """What verification reads of a stored entry: the record rebuilt from its columns (or why
    it cannot be), and ``indexed``, the case ids the case index holds for its position."""
    position, digest = row["position"], bytes(row["hash"])
    try:
        record = access_record(row)
        cases = frozenset(as_uuid(c) for c in indexed or ())
    except (ValueError, TypeError) as e:  # altered into something that is not an entry
        return AccessRow(position, digest, None, unreadable=str(e))
    return AccessRow(position, digest, record.entry, cases)
