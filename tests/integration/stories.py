"""The small cast the integration tests share: a commune, an officer, an opening and a note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.case import NewEvent
from domain.events import Actor

COMMUNE = "01.004.00127"
ACTOR = Actor(id="officer-17", role="commune_police", unit=COMMUNE)
START = datetime(2021, 3, 2, 9, 30, tzinfo=UTC)


def opening(event_id: str | None = None, full_name: str = "Nguyễn Văn A") -> NewEvent:
    return NewEvent.parse(
        "CaseOpened",
        START,
        {
            "person": {
                "full_name": full_name,
                "date_of_birth": "1995-04-12",
                "sex": "male",
                "national_id": "001095001234",
                "residence_unit": COMMUNE,
                "address": "12 ngõ 5, Bồ Đề",
            },
            "source": "detection",
            "managing_unit": COMMUNE,
        },
        event_id=event_id,
        acting_body={"kind": "commune_police", "unit": COMMUNE},
    )


def note(text: str = "visited the family", event_id: str | None = None) -> NewEvent:
    return NewEvent.parse("NoteAdded", START + timedelta(days=1), {"text": text}, event_id=event_id)
