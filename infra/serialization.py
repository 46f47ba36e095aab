"""orjson serialization for stored events (plugged in by TRANSCODER_TOPIC / MAPPER_TOPIC).

Case events hold only JSON types besides the library's ``timestamp``: the transcoder writes
compact, key-sorted JSON (stable bytes, ready to be hashed) and the mapper turns ``timestamp``
back into a datetime on the way out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


class CaseEventMapper(Mapper):
    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        state = event.__dict__
        if isinstance(state.get("timestamp"), str):
            state["timestamp"] = datetime.fromisoformat(state["timestamp"])
        return event
