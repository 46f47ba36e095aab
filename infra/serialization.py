"""orjson serialization for stored events (plugged in by TRANSCODER_TOPIC / MAPPER_TOPIC).

Case events hold only JSON types besides the library's ``timestamp``: the transcoder writes
compact, key-sorted JSON (stable bytes, ready to be hashed) and the mapper turns ``timestamp``
back into a datetime on the way out. On the way in, the mapper lifts the envelope (event id,
schema version, occurred_at, recorded_at, actor) out of the event into the columns the store
keeps beside the payload (``CaseStoredEvent``), timestamps as the stored UTC text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from domain.integrity import EventColumns, utc_text
from infra.recorders import CaseStoredEvent
from infra.recorders.common import as_uuid


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


class CaseEventMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """The stored event with its columns: each timestamp turned into its stored text once,
        here, for the hash and the store alike."""
        stored = super().to_stored_event(domain_event)
        envelope = domain_event.envelope
        return CaseStoredEvent.of(
            EventColumns(
                event_id=envelope["event_id"],
                case_id=as_uuid(stored.originator_id),
                version=stored.originator_version,
                type=stored.topic,
                schema_version=envelope["schema_version"],
                occurred_at=utc_text(datetime.fromisoformat(envelope["occurred_at"])),
                recorded_at=utc_text(domain_event.timestamp),
                actor=orjson.dumps(envelope["actor"], option=orjson.OPT_SORT_KEYS).decode(),
                payload=stored.state,
            )
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        state = event.__dict__
        if isinstance(state.get("timestamp"), str):
            state["timestamp"] = datetime.fromisoformat(state["timestamp"])
        return event
