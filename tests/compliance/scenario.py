"""Real-looking cases for the compliance-rule tests: a tiny fluent builder and the judge.

    case = Scenario(born="1995-04-12")
    case.at("2023-03-06 09:00").record("DrugUseDetected", {...}, body=COMMUNE_POLICE)
    case.at("2023-03-09 15:00").record("ResidenceVerified", {"status": "stable"}, name="verified")

    findings(case.entries, "2023-04-01", "U3")        # -> [Finding, ...]
    steps(judge(case.entries, "2023-04-01"), "U3")    # -> [(Step, Judgement), ...]

A case opens (``CaseOpened``) at the time of its first event. Each event is recorded when it
happens (``recorded_at`` = ``occurred_at``) unless ``recorded=`` says later, so an ``as_of``
before an event does not see it. ``data`` is merged over a typical payload of the type
(``TYPICAL``), so a test writes only the fields its rule reads.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from uuid import uuid4

from domain.case import Case, NewEvent
from domain.compliance import ComplianceConfig, Evaluation, Finding, Step, evaluate
from domain.compliance.engine import Judgement
from domain.events import CATALOGUE, Actor, unit_paths
from domain.state import Entry
from domain.units import local_day, registry

VN = timezone(timedelta(hours=7))

COMMUNE = "01.004.00127"
"""Phường Việt Hưng, Quận Long Biên, Hà Nội."""
DISTRICT = "01.004"
REMOTE_COMMUNE = "02.026.00715"
"""A highland commune of Đồng Văn district, Hà Giang (a remote area for ND105 Art 41(1))."""

COMMUNE_POLICE = {"kind": "commune_police", "unit": COMMUNE}
COMMUNE_COMMITTEE = {"kind": "commune_committee", "unit": COMMUNE}
DISTRICT_POLICE = {"kind": "district_police", "unit": DISTRICT}
JUSTICE_OFFICE = {"kind": "justice_office", "unit": DISTRICT}
LABOUR_OFFICE = {"kind": "labour_office", "unit": DISTRICT}
DISTRICT_COURT = {"kind": "district_court", "unit": DISTRICT}
HEALTH_FACILITY = {"kind": "health_facility", "unit": DISTRICT}
OST_CLINIC = {"kind": "ost_clinic", "unit": DISTRICT}

OFFICER = Actor(id="cb-viethung-03", role="commune_officer", unit=COMMUNE)

TYPICAL: dict[str, dict[str, Any]] = {
    "DrugUseDetected": {
        "ground": "a",
        "place": "Bãi đất trống ngõ 12 Ngô Gia Tự",
        "detecting_unit": COMMUNE,
        "administratively_detained": False,
    },
    "DrugTestRecorded": {
        "sample": "urine",
        "substances": ["methamphetamine"],
        "result": "positive",
        "tester_unit": COMMUNE,
    },
    "ResidenceVerified": {"status": "stable", "criterion": "thường trú tại địa chỉ đăng ký"},
    "UserManagementDecided": {
        "team": [
            {"name": "Đại úy Trần Văn Hải", "role": "tổ trưởng (công an xã)"},
            {"name": "Nguyễn Thị Lan", "role": "tổ phó (tổ dân phố số 7)"},
        ]
    },
    "AddictionDeterminationRequested": {"ground": "a", "requester_unit": COMMUNE},
    "AddictionDetermined": {
        "facility": "Bệnh viện Đa khoa Đức Giang",
        "physician": "BS. Phạm Minh Tuấn",
        "substances": ["methamphetamine"],
    },
    "VoluntaryTreatmentRegistered": {"setting": "community", "registered_at_unit": COMMUNE},
    "VoluntaryTreatmentDecided": {
        "setting": "community",
        "provider": "Trạm Y tế phường Việt Hưng",
        "planned_months": 6,
    },
    "TreatmentStarted": {"setting": "community", "provider": "Trạm Y tế phường Việt Hưng"},
    "DossierOpened": {
        "dossier_id": "HS-01-004-001",
        "compiler_unit": COMMUNE,
        "ground": "Art 32(1)",
        "route": "adult",
        "residence_status": "stable",
    },
    "CourtDecisionIssued": {
        "dossier_id": "HS-01-004-001",
        "outcome": "apply",
        "facility": "Cơ sở cai nghiện ma túy số 2 Hà Nội",
    },
    "PostRehabManagementDecided": {"mentor": "Nguyễn Văn Bình (tổ dân phố số 7)"},
}


def instant(when: str | datetime) -> datetime:
    """``"2023-03-06 09:00"`` (or a bare day, 09:00) as an instant in Vietnam."""
    if isinstance(when, datetime):
        return when
    if len(when) == 10:
        return datetime.combine(date.fromisoformat(when), time(9, 0), VN)
    return datetime.fromisoformat(when).replace(tzinfo=VN)


def as_of(when: str | datetime) -> datetime:
    """An ``as_of``: a bare day means the end of that day in Vietnam."""
    if isinstance(when, str) and len(when) == 10:
        return datetime.combine(date.fromisoformat(when), time(23, 59), VN)
    return instant(when)


def unit_on(code: str, when: datetime) -> str:
    """``code``, or on and after 1 Jul 2025 (when the pre-reform codes ended) the first unit
    of today's list its territory went into: so the scenarios' Long Biên codes stay valid on
    every date without each test spelling the reform out."""
    units = registry()
    day = local_day(when)
    if units.unit(code, day) is not None or not units.known(code):
        return code
    return min(units.current(code, day))


def on_the_map(type_: str, data: dict[str, Any], when: datetime) -> dict[str, Any]:
    """``data`` with each org-unit code (``unit_paths``) put on the map of ``when``."""
    data = copy.deepcopy(data)
    for path in unit_paths(CATALOGUE[type_].model):
        *head, last = path.split(".")
        holder: Any = data
        for key in head:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and isinstance(holder.get(last), str):
            holder[last] = unit_on(holder[last], when)
    return data


class Scenario:
    """One person's case, grown event by event in the order things were recorded."""

    def __init__(
        self,
        born: str = "1990-04-12",
        *,
        full_name: str = "Nguyễn Văn Hùng",
        sex: str = "male",
        residence_unit: str = COMMUNE,
        address: str = "Số 15 ngõ 12 Ngô Gia Tự, Việt Hưng, Long Biên",
    ) -> None:
        self.person = {
            "full_name": full_name,
            "date_of_birth": born,
            "sex": sex,
            "residence_unit": residence_unit,
            "address": address,
        }
        self.case: Case | None = None
        self.clock: datetime | None = None
        self.ids: dict[str, str] = {}

    def at(self, when: str | datetime) -> Scenario:
        """Set when the next events happen."""
        self.clock = instant(when)
        return self

    def record(
        self,
        type_: str,
        data: dict[str, Any] | None = None,
        *,
        body: dict[str, Any] | None = None,
        name: str | None = None,
        recorded: str | datetime | None = None,
    ) -> Scenario:
        """Record ``type_`` happening at the clock; ``name`` it to find its id with ``id()``."""
        assert self.clock is not None, "call .at(...) first"
        now = instant(recorded) if recorded is not None else self.clock
        payload = on_the_map(type_, {**TYPICAL.get(type_, {}), **(data or {})}, self.clock)
        if body is not None:
            body = {**body, "unit": unit_on(body["unit"], self.clock)}
        new = NewEvent.parse(type_, self.clock, payload, acting_body=body)
        if self.case is None:
            opening = {"person": self.person, "source": "detection", "managing_unit": COMMUNE}
            opening = on_the_map("CaseOpened", opening, self.clock)
            self.case = Case.open(
                uuid4(), NewEvent.parse("CaseOpened", self.clock, opening), OFFICER, now
            )
        self.case.record(new, OFFICER, now)
        if name is not None:
            self.ids[name] = new.event_id
        return self

    def id(self, name: str) -> str:
        return self.ids[name]

    @property
    def entries(self) -> list[Entry]:
        return list(self.case.entries) if self.case else []

    @property
    def last(self) -> Entry:
        return self.entries[-1]


def judge(
    entries: list[Entry], when: str | datetime, config: ComplianceConfig | None = None
) -> Evaluation:
    """The evaluation of ``entries`` as the record stood at ``when``."""
    return evaluate(entries, as_of(when), config)


def findings(
    entries: list[Entry],
    when: str | datetime,
    rule_id: str,
    config: ComplianceConfig | None = None,
) -> list[Finding]:
    """The findings of one rule."""
    return [f for f in judge(entries, when, config).findings if f.rule_id == rule_id]


def steps(evaluation: Evaluation, rule_id: str) -> list[tuple[Step, Judgement]]:
    """The timeline steps one rule judged (done or expected), with its judgement of each."""
    return [(s, j) for s in evaluation.timeline for j in s.judgements if j.rule_id == rule_id]


def dossier_to_court(
    case: Scenario,
    violation_on: str,
    *,
    route: str = "adult",
    dossier_id: str = "HS-01-004-001",
    ground: str = "Art 32(1)",
    residence_status: str = "stable",
) -> date:
    """Record a compulsory-rehab dossier compiled and forwarded in time; return the court's day.

    From a violation record (the person quit voluntary rehab) on ``violation_on``: the commune
    chairman opens the dossier 3 wd later and serves it 2 wd after that; it goes to the Labour
    office on the 4th wd after service (C6), which forwards it to the district court 2 wd later
    (C7). Each step at 09:00-10:00 Vietnam time.
    """
    from domain.compliance.calendar import WorkingCalendar

    calendar = WorkingCalendar()
    violation = date.fromisoformat(violation_on)
    opened = calendar.add_working_days(violation, 3)
    served = calendar.add_working_days(opened, 2)
    to_labour_office = calendar.add_working_days(served, 4)
    to_court = calendar.add_working_days(to_labour_office, 2)
    dossier = {"dossier_id": dossier_id}
    case.at(f"{violation} 09:00").record(
        "ViolationRecorded", {"violation": "quit"}, body=COMMUNE_COMMITTEE
    )
    case.at(f"{opened} 09:30").record(
        "DossierOpened",
        {
            "dossier_id": dossier_id,
            "compiler_unit": COMMUNE,
            "ground": ground,
            "route": route,
            "residence_status": residence_status,
        },
        body=COMMUNE_COMMITTEE,
    )
    case.at(f"{served} 10:00").record(
        "DossierServed",
        {**dossier, "served_on": "person" if route == "adult" else "parent"},
        body=COMMUNE_COMMITTEE,
    )
    case.at(f"{to_labour_office} 09:00").record(
        "DossierSentToLabourOffice", {**dossier, "pages": 27}, body=COMMUNE_COMMITTEE
    )
    case.at(f"{to_court} 10:00").record(
        "DossierSentToCourt",
        {
            **dossier,
            "court_unit": DISTRICT,
            "proposed_facility": "Cơ sở cai nghiện ma túy số 2 Hà Nội",
        },
        body=LABOUR_OFFICE,
    )
    return to_court
