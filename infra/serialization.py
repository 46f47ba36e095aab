"""orjson serialization for stored events (plugged in by TRANSCODER_TOPIC / MAPPER_TOPIC).

Case events hold only JSON types besides the library's ``timestamp``: the transcoder writes
compact, key-sorted JSON (stable bytes, ready to be hashed) and the mapper turns ``timestamp``
back into a datetime on the way out. On the way in, the mapper lifts the envelope (event id,
schema version, occurred_at, recorded_at, actor) out of the event into the columns the store
keeps beside the payload (``CaseStoredEvent``), timestamps as the stored UTC text, and
encrypts the payload's personal fields with the person's data key (``domain/personal.py``):
the stored payload, which the hash covers, holds only their ciphertext. On the way out it
decrypts them (``[erased]`` once the key is destroyed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from domain.integrity import EventColumns, utc_text
from domain.personal import PII_PATHS, KeyUnavailable, PersonalData
from infra.recorders import CaseStoredEvent
from infra.recorders.common import as_uuid


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


class CaseEventMapper(Mapper[UUID]):
    personal: PersonalData | None = None
    """Set by ``CaseLedger`` once its store exists; without it no personal field is written
    or read (``KeyUnavailable``), never stored in plain."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """The stored event with its columns: personal fields sealed, each timestamp turned
        into its stored text once, here, for the hash and the store alike. The event itself is
        left as it is (its entry shares its payload)."""
        state = dict(vars(domain_event))
        case_id = as_uuid(state.pop("originator_id"))
        version = state.pop("originator_version")
        topic = get_topic(type(domain_event))
        envelope = domain_event.envelope
        state["data"], data_key = self._vault().seal(
            case_id, envelope["event_id"], topic, state["data"], first=version == 1
        )
        return CaseStoredEvent.of(
            EventColumns(
                event_id=envelope["event_id"],
                case_id=case_id,
                version=version,
                type=topic,
                schema_version=envelope["schema_version"],
                occurred_at=utc_text(datetime.fromisoformat(envelope["occurred_at"])),
                recorded_at=utc_text(domain_event.timestamp),
                actor=orjson.dumps(envelope["actor"], option=orjson.OPT_SORT_KEYS).decode(),
                payload=self.transcoder.encode(state),
            ),
            data_key,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        state = event.__dict__
        if isinstance(state.get("timestamp"), str):
            state["timestamp"] = datetime.fromisoformat(state["timestamp"])
        topic = stored_event.topic
        if PII_PATHS.get(topic) or topic in ("EntryCorrected", "PersonalDataErased"):
            state["data"] = self._vault().open(
                as_uuid(stored_event.originator_id),
                state["envelope"]["event_id"],
                topic,
                state["data"],
            )
        return event

    def _vault(self) -> PersonalData:
        if self.personal is None:
            raise KeyUnavailable(
                "no key-encryption key is configured: personal fields can be neither written "
                "nor read"
            )
        return self.personal
