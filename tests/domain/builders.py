"""Shared builders for the pure domain tests: a clock, an actor, a valid payload for every type.

Nothing here touches a store: a case is built with ``Case.open`` and grown with ``Case.record``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from domain.case import Case, NewEvent
from domain.errors import CaseLedgerError
from domain.events import ACTING_BODIES, Actor
from domain.state import Entry

VIETNAM = timezone(timedelta(hours=7))

NOW = datetime(2024, 6, 3, 9, 0, tzinfo=VIETNAM)
"""The server clock passed to ``Case.open``/``Case.record``; it becomes ``recorded_at``."""

START = datetime(2024, 1, 8, 8, 0, tzinfo=VIETNAM)
"""When a case's story begins: every ``day(n)`` is well before ``NOW``."""

COMMUNE = "01.004.00127"
DISTRICT = "01.004"
OTHER_COMMUNE = "01.004.00130"

ACTOR = Actor(id="officer-17", role="commune_officer", unit=COMMUNE)
CLERK = Actor(id="clerk-3", role="court_clerk", unit=DISTRICT)

REFERRAL_ID = "REF-1"
DOSSIER_ID = "HS-2024-001"
PRIOR_EVENT_ID = "0b7e3c1a-7d52-4c3e-9d0f-2f9a7f1c0a11"
"""A NoteAdded recorded by ``case_ready_for``: what corrections, voids and evidence cite."""

ACTING_BODY = {"kind": "district_court", "unit": DISTRICT}
COMMUNE_POLICE = {"kind": "commune_police", "unit": COMMUNE}
ACTING_BODY_OF = {
    name: COMMUNE_POLICE if "commune_police" in kinds else ACTING_BODY
    for name, kinds in ACTING_BODIES.items()
}
"""A valid acting body for each type that names the bodies it allows."""
DOCUMENT = {"number": "12/2024/QĐ-TA", "date": "2024-05-20", "form_no": "Mẫu số 02"}
LEGAL_BASIS = {"instrument": "Law 73/2021/QH14", "article": "Art 32"}

PERSON = {
    "full_name": "Nguyễn Văn An",
    "date_of_birth": "1990-04-12",
    "sex": "male",
    "national_id": "001090012345",
    "residence_unit": COMMUNE,
    "address": "12 Hàng Bạc, Hoàn Kiếm",
}

VALID_PAYLOADS: dict[str, dict[str, Any]] = {
    # case lifecycle
    "CaseOpened": {"person": PERSON, "source": "detection", "managing_unit": COMMUNE},
    "PersonDetailsUpdated": {"address": "7 Hàng Đào, Hoàn Kiếm", "reason": "moved house"},
    "CaseAssigned": {"assignee_id": "volunteer-5", "assignee_role": "volunteer"},
    "CaseTransferred": {"from_unit": COMMUNE, "to_unit": OTHER_COMMUNE, "reason": "moved"},
    "CaseClosed": {"reason": "management_completed"},
    "CaseReopened": {"reason": "relapse reported by family"},
    "NoteAdded": {"text": "Family asked for a home visit."},
    "EntryCorrected": {
        "corrects_event_id": PRIOR_EVENT_ID,
        "changes": {"text": "Mother asked for a home visit."},
        "reason": "wrong family member",
    },
    "EntryVoided": {"voids_event_id": PRIOR_EVENT_ID, "reason": "entered on the wrong case"},
    # detection, user management, addiction determination
    "DrugUseDetected": {
        "ground": "a",
        "place": "Bờ sông Hồng",
        "detecting_unit": COMMUNE,
        "administratively_detained": False,
    },
    "DrugTestRecorded": {
        "sample": "urine",
        "substances": ["methamphetamine"],
        "result": "positive",
        "tester_unit": COMMUNE,
    },
    "ResidenceVerified": {"status": "stable"},
    "UserManagementDecided": {"starts_on": "2024-02-01", "ends_on": "2025-02-01"},
    "UserManagementStopped": {"reason": "addicted"},
    "UserManagementEnded": {},
    "AddictionDeterminationRequested": {
        "ground": "a",
        "requester_unit": COMMUNE,
        "handed_over_at": "2024-02-10T08:00:00+07:00",
    },
    "AddictionDetermined": {
        "facility": "Trung tâm Y tế Hoàn Kiếm",
        "physician": "BS. Trần Thị Bình",
        "criteria_met": [1, 2, 3],
        "conclusion": "addicted",
    },
    # counselling, consent, referral
    "CounsellingSessionHeld": {"mode": "individual", "duration_minutes": 45, "counsellor": "Lê C"},
    "SelfHelpGroupAttended": {"group_id": "GROUP-3", "session_on": "2024-03-01"},
    "HomeVisitMade": {"visitor": "Phạm D", "outcome": "Family supportive."},
    "ConsentRecorded": {"scope": "treatment", "given_by": "person"},
    "ConsentWithdrawn": {"scope": "data_sharing"},
    "ReferralMade": {
        "referral_id": REFERRAL_ID,
        "service": "ost",
        "provider": "Methadone clinic Hoàn Kiếm",
        "reason": "opioid use",
    },
    "ReferralAccepted": {"referral_id": REFERRAL_ID},
    "ReferralDeclined": {"referral_id": REFERRAL_ID, "declined_by": "person", "reason": "refused"},
    "ReferralCompleted": {"referral_id": REFERRAL_ID, "outcome": "enrolled"},
    # voluntary treatment and OST
    "VoluntaryTreatmentRegistered": {"setting": "community", "registered_at_unit": COMMUNE},
    "VoluntaryTreatmentDecided": {
        "setting": "community",
        "provider": "Trạm Y tế Hàng Bạc",
        "planned_months": 6,
    },
    "TreatmentStarted": {"setting": "community", "provider": "Trạm Y tế Hàng Bạc"},
    "TreatmentQuit": {"kind": "quit"},
    "TreatmentCompleted": {"setting": "community", "certificate_no": "GCN-88"},
    "ViolationRecorded": {"violation": "used_during_treatment"},
    # compulsory-rehab dossier and court
    "CommuneEducationDecided": {"months": 6},
    "DossierOpened": {
        "dossier_id": DOSSIER_ID,
        "compiler_unit": COMMUNE,
        "ground": "Art 32(1)",
        "route": "adult",
        "residence_status": "stable",
    },
    "InterimManagementDecided": {
        "dossier_id": DOSSIER_ID,
        "form": "family",
        "family_consent": True,
    },
    "DossierServed": {"dossier_id": DOSSIER_ID, "served_on": "person"},
    "DossierLegalityChecked": {"dossier_id": DOSSIER_ID, "result": "valid"},
    "DossierSentToLabourOffice": {"dossier_id": DOSSIER_ID, "pages": 24},
    "DossierReturnedForSupplement": {
        "dossier_id": DOSSIER_ID,
        "returned_by": "court",
        "reasons": ["missing test result"],
    },
    "DossierSupplemented": {"dossier_id": DOSSIER_ID},
    "DossierSentToCourt": {
        "dossier_id": DOSSIER_ID,
        "court_unit": DISTRICT,
        "proposed_facility": "CS Số 1",
    },
    "CourtAccepted": {
        "dossier_id": DOSSIER_ID,
        "court_case_no": "45/2024/TLST-BPXLHC",
        "judge": "Hoàng E",
        "ordinance": "PL03_2022",
    },
    "CourtSessionScheduled": {
        "dossier_id": DOSSIER_ID,
        "session_on": "2024-04-15",
        "mode": "in_person",
    },
    "CourtSessionPostponed": {
        "dossier_id": DOSSIER_ID,
        "reason": "person ill",
        "new_session_on": "2024-04-22",
    },
    "CourtSessionHeld": {"dossier_id": DOSSIER_ID, "procurator_present": True},
    "CourtDecisionIssued": {
        "dossier_id": DOSSIER_ID,
        "outcome": "apply",
        "term_months": 18,
        "facility": "CS Số 1",
        "announced_on": "2024-04-22",
    },
    "CourtDecisionAppealed": {
        "dossier_id": DOSSIER_ID,
        "kind": "complaint",
        "filed_by": "the person",
        "filed_on": "2024-04-25",
    },
    "AppealDecided": {"dossier_id": DOSSIER_ID, "outcome": "upheld"},
    "CourtDecisionTookEffect": {"dossier_id": DOSSIER_ID, "effective_on": "2024-05-03"},
    "ExecutionDeferred": {"dossier_id": DOSSIER_ID, "kind": "postponed", "reason": "pregnant"},
    # facility, release, post-rehab, relapse
    "EscortedToFacility": {
        "dossier_id": DOSSIER_ID,
        "facility": "CS Số 1",
        "custody_started_at": "2024-05-06T07:30:00+07:00",
    },
    "AdmittedToFacility": {"facility": "CS Số 1", "admission_kind": "compulsory"},
    "Absconded": {"phase": "in_facility"},
    "SearchDecided": {},
    "Returned": {"how": "apprehended"},
    "TermAdjusted": {"kind": "reduction", "months": 3},
    "PreReleaseNoticeSent": {"term_ends_on": "2025-08-06", "recipients": ["UBND Hàng Bạc"]},
    "ReleasedFromFacility": {"facility": "CS Số 1", "certificate_no": "GCN-120"},
    "ReturnReported": {"reported_to": "commune_police"},
    "PostRehabManagementDecided": {
        "starts_on": "2025-08-10",
        "ends_on": "2026-08-10",
        "mentor": "Võ F",
    },
    "PostRehabCheckIn": {"kind": "visit", "by": "Võ F"},
    "PostRehabAbsenceReported": {
        "from_on": "2025-09-01",
        "to_on": "2025-09-05",
        "reported_in_advance": True,
    },
    "PostRehabManagementCompleted": {"certificate_no": "GCN-200"},
    "RelapseRecorded": {"evidence_event_ids": [PRIOR_EVENT_ID], "substances": ["heroin"]},
    "ResidenceLeft": {"to_unit": OTHER_COMMUNE, "notified_by_person": True},
    "ArrivalReported": {"from_unit": COMMUNE},
    "ElectronicMonitoringDecided": {
        "basis": "post_rehab_management",
        "device_id": "VT-0042",
        "starts_on": "2024-02-01",
    },
    "ElectronicMonitoringEnded": {"reason": "term ended"},
    "DeviceIncidentReported": {
        "kind": "damage",
        "reported_by": "person",
        "happened_at": "2024-02-09T18:00:00+07:00",
    },
    "ImprisonmentStarted": {"judgment": "45/2024/HS-ST", "sentence_months": 18},
    "ImprisonmentEnded": {"released_on": "2024-03-01"},
    "PersonalDataErased": {"request_reference": "DPO-2026-001", "basis": "Law 91/2025 Art. 16"},
    "PersonalDataRestricted": {
        "request_reference": "DPO-2026-001",
        "basis": "Law 91/2025 Art. 16",
        "holds": ["case_open"],
    },
}
"""Type name -> a minimal valid payload (references point at ``REFERRAL_ID``, ``DOSSIER_ID``,
``PRIOR_EVENT_ID``, which ``case_ready_for`` puts in place)."""


def day(n: int, hour: int = 9) -> datetime:
    """The ``n``-th day of a case's story (occurred_at); day 0 is ``START``."""
    return START + timedelta(days=n, hours=hour - START.hour)


def payload(event_type: str, **overrides: Any) -> dict[str, Any]:
    """A valid payload of ``event_type`` with some fields replaced."""
    return {**VALID_PAYLOADS[event_type], **overrides}


def new_event(
    event_type: str,
    data: dict[str, Any] | None = None,
    *,
    occurred_at: datetime | None = None,
    **envelope: Any,
) -> NewEvent:
    if event_type in ACTING_BODY_OF:
        envelope.setdefault("acting_body", ACTING_BODY_OF[event_type])
    return NewEvent.parse(
        event_type,
        occurred_at or day(1),
        VALID_PAYLOADS[event_type] if data is None else data,
        **envelope,
    )


def open_case(
    data: dict[str, Any] | None = None,
    *,
    occurred_at: datetime | None = None,
    actor: Actor = ACTOR,
    now: datetime = NOW,
    **envelope: Any,
) -> Case:
    """A freshly opened case (one pending event, version 1)."""
    return Case.open(
        uuid4(),
        new_event("CaseOpened", data, occurred_at=occurred_at or day(0), **envelope),
        actor,
        now,
    )


def record(
    case: Case,
    event_type: str,
    data: dict[str, Any] | None = None,
    *,
    occurred_at: datetime | None = None,
    actor: Actor = ACTOR,
    now: datetime = NOW,
    **envelope: Any,
) -> Entry:
    """Record one event (``VALID_PAYLOADS[event_type]`` unless ``data``) and return its entry."""
    case.record(new_event(event_type, data, occurred_at=occurred_at, **envelope), actor, now)
    return case.entries[-1]


def walk(case: Case, *steps: str | tuple[str, dict[str, Any]], start: int = 1) -> Case:
    """Record ``steps`` one day apart from ``day(start)``: a type name or (type, overrides)."""
    for i, step in enumerate(steps):
        event_type, overrides = (step, {}) if isinstance(step, str) else step
        record(case, event_type, payload(event_type, **overrides), occurred_at=day(start + i))
    return case


def case_ready_for(event_type: str) -> Case:
    """A case in which a valid ``event_type`` with ``VALID_PAYLOADS`` can be recorded.

    It holds a NoteAdded with id ``PRIOR_EVENT_ID`` (to correct, void or cite as evidence), an
    open referral ``REFERRAL_ID`` and an open dossier ``DOSSIER_ID`` (unless ``event_type`` is the
    one that creates them), and is closed when ``event_type`` is CaseReopened.
    """
    case = open_case()
    record(case, "NoteAdded", event_id=PRIOR_EVENT_ID)
    if event_type != "ReferralMade":
        record(case, "ReferralMade")
    if event_type != "DossierOpened":
        record(case, "DossierOpened")
    if event_type == "CaseReopened":
        record(case, "CaseClosed")
    return case


def footprint(case: Case) -> tuple[int, int, int]:
    """What a refusal must leave untouched: version, pending events, entries."""
    return case.version, len(case.pending_events), len(case.entries)


@contextmanager
def refused(case: Case, error: type[CaseLedgerError]) -> Iterator[pytest.ExceptionInfo[Any]]:
    """Expect ``error`` and check that nothing was recorded on ``case``."""
    before = footprint(case)

    with pytest.raises(error) as info:
        yield info

    assert footprint(case) == before
