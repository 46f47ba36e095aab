"""Small helpers the rule specs share."""

from __future__ import annotations

from datetime import date, datetime

from domain.compliance.calendar import add_months
from domain.compliance.context import Context
from domain.compliance.spec import local_day, on
from domain.state import Entry


def day(entry: Entry) -> date:
    return local_day(entry.occurred_at)


def iso(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def instant(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def term_is(starts: date, ends: date, months: int) -> bool:
    """Whether [starts, ends] is a term of ``months`` (the end day inclusive or exclusive)."""
    end = add_months(starts, months)
    return ends in (end, date.fromordinal(end.toordinal() - 1))


def same_dossier_before(ctx: Context, type_: str, entry: Entry) -> list[Entry]:
    """Entries of ``type_`` for the same dossier that happened before ``entry``."""
    return [
        e
        for e in ctx.find(on(type_), entry, ("dossier_id",))
        if e.occurred_at <= entry.occurred_at and e.event_id != entry.event_id
    ]


def body_kind(entry: Entry) -> str | None:
    return (entry.acting_body or {}).get("kind")


def compulsory_stay_before(ctx: Context, entry: Entry) -> Entry | None:
    """The last escort to a compulsory facility before ``entry``, if any."""
    escorts = [e for e in ctx.find(on("EscortedToFacility")) if e.occurred_at <= entry.occurred_at]
    return escorts[-1] if escorts else None
