"""Small helpers the rule specs share."""

from __future__ import annotations

from datetime import date, datetime

from domain.compliance.calendar import add_months
from domain.compliance.context import Context
from domain.compliance.spec import MPS_TAKEOVER, TWO_TIER, local_day, on
from domain.state import Entry

ABOLISHED: dict[str, date] = {
    "district_police": MPS_TAKEOVER,
    "labour_office": MPS_TAKEOVER,
    "district_committee": TWO_TIER,
    "district_court": TWO_TIER,
}
"""Acting bodies that ceased to exist, and the day they did (X25-06): district police and the
Labour offices on 1 Mar 2025 (Decree 02/2025, JC 03/2025); district committees and district
courts on 1 Jul 2025 (Res. 202/2025/QH15, Res. 81/2025/UBTVQH15)."""

DETECTED_USE = on(
    "DrugUseDetected",
    "DrugTestRecorded",
    "ViolationRecorded",
    where=lambda e: e.type != "DrugTestRecorded" or e.data["result"] == "positive",
)
"""What counts as the last violation for the limitation of compulsory rehab (O4, X25-10)."""


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


def abolished_body(entry: Entry) -> str | None:
    """The kind of the entry's acting body if that body no longer existed on its day (X25-06
    says so: the rules about who acts then stay silent, so one event draws one finding)."""
    kind = body_kind(entry)
    gone = ABOLISHED.get(kind or "")
    return kind if gone is not None and day(entry) >= gone else None


def compulsory_stay_before(ctx: Context, entry: Entry) -> Entry | None:
    """The last escort to a compulsory facility before ``entry``, if any."""
    escorts = [e for e in ctx.find(on("EscortedToFacility")) if e.occurred_at <= entry.occurred_at]
    return escorts[-1] if escorts else None
