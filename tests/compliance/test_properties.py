"""Properties of ``evaluate`` over arbitrary records, generated with hypothesis.

Entries are built directly (``Entry`` is a plain frozen dataclass), so the generated records go
beyond what the aggregate lets through in one respect only: the order. Payloads are valid (each
variant passes ``NewEvent.parse``), references point at dossiers and referrals of the same
small pool, corrections and voids target other entries of the record; but ``occurred_at`` and
``recorded_at`` are drawn independently of the version order, from 2018 to 2027 (so every
regime is met: PRE22, 22+, 25A, 25B and 26), in Vietnam time or UTC. The acting bodies include
those abolished in 2025 and the regional courts that replaced the district courts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.case import NewEvent
from domain.compliance import ComplianceConfig, evaluate
from domain.state import Entry
from tests.domain.builders import ACTING_BODY_OF, ACTOR, PERSON, VALID_PAYLOADS

VN = timezone(timedelta(hours=7))
DOSSIERS = ("HS-1", "HS-2")
REFERRALS = ("REF-1", "REF-2")

VARIANTS: dict[str, list[dict[str, Any]]] = {
    "CaseOpened": [
        {"person": {**PERSON, "date_of_birth": born}}
        for born in ("1990-04-12", "2006-05-01", "2009-06-01", "2015-01-01")
    ],
    "DrugTestRecorded": [
        {"result": "negative"},
        {"sample": "hair", "guardian_consent": False},
    ],
    "ResidenceVerified": [{"status": "not_stable"}, {"remote_area": True}],
    "UserManagementDecided": [{"starts_on": "2022-03-01", "ends_on": "2023-02-01"}],
    "AddictionDeterminationRequested": [{"handed_over_at": "2022-06-01T08:00:00+07:00"}],
    "AddictionDetermined": [
        {"criteria_met": [1, 6], "conclusion": "observation"},
        {"criteria_met": [], "conclusion": "not_addicted"},
        {"criteria_met": [1, 2], "conclusion": "addicted"},
    ],
    "VoluntaryTreatmentRegistered": [{"setting": "ost"}],
    "DossierOpened": [
        {"route": "minor", "ground": "Art 33"},
        {"route": "adult", "residence_status": "not_stable"},
        {"route": "minor", "ground": "Art 32(4) relapse"},
    ],
    "InterimManagementDecided": [{"form": "facility"}, {"family_consent": False}],
    "DossierReturnedForSupplement": [{"returned_by": "labour_office"}],
    "CourtAccepted": [{"ordinance": "PL09_2014"}, {"ordinance": "PL01_2022"}],
    "CourtSessionScheduled": [{"opened_on": "2023-03-01"}],
    "CourtSessionHeld": [{"procurator_present": False}],
    "CourtDecisionIssued": [
        {"outcome": "not_apply", "term_months": None},
        {"outcome": "apply", "term_months": 30},
        {"outcome": "suspend", "term_months": None},
    ],
    "CourtDecisionAppealed": [{"kind": "protest", "filed_on": "2021-01-05"}],
    "AppealDecided": [{"outcome": "annulled"}, {"outcome": "modified", "term_months": 12}],
    "CourtDecisionTookEffect": [{"effective_on": "2019-12-31"}],
    "ExecutionDeferred": [{"kind": "exempted"}],
    "TermAdjusted": [{"kind": "exemption", "months": None}, {"months": 9}],
    "PostRehabManagementDecided": [
        {"starts_on": "2020-01-01", "ends_on": "2020-07-01"},
        {"starts_on": "2026-07-10", "ends_on": "2027-07-10"},
    ],
    "VoluntaryTreatmentDecided": [{"planned_months": 24}, {"planned_months": 36, "setting": "ost"}],
    "AdmittedToFacility": [
        {"facility_kind": "private"},
        {"facility_kind": "reform_school", "admission_kind": "voluntary"},
        {"facility_kind": "public", "admission_kind": "interim"},
    ],
    "ResidenceLeft": [{"to_unit": None, "notified_by_person": False}],
    "ElectronicMonitoringDecided": [
        {"basis": "ost"},
        {"basis": "voluntary_rehab_home_or_community"},
    ],
    "DeviceIncidentReported": [
        {"kind": "tampering", "reported_by": "monitoring_system"},
        {"kind": "loss", "happened_at": "2026-08-01T08:00:00+07:00"},
    ],
    "ImprisonmentEnded": [{"released_on": "2026-12-01"}],
    "Absconded": [{"phase": "interim"}],
}
"""Besides ``VALID_PAYLOADS``, payloads that reach other branches of the rules."""


def _normalised(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    at = datetime(2024, 1, 1, tzinfo=VN)
    return NewEvent.parse(event_type, at, data, acting_body=ACTING_BODY_OF.get(event_type)).data


PAYLOADS: dict[str, list[dict[str, Any]]] = {
    event_type: [
        _normalised(event_type, {**payload, **variant})
        for variant in ({}, *VARIANTS.get(event_type, ()))
    ]
    for event_type, payload in VALID_PAYLOADS.items()
}
TYPES = sorted(t for t in PAYLOADS if t not in ("CaseOpened", "EntryCorrected", "EntryVoided"))

instants = st.datetimes(
    min_value=datetime(2018, 6, 1), max_value=datetime(2027, 12, 31), timezones=st.just(VN)
) | st.datetimes(
    min_value=datetime(2018, 6, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.just(UTC),
)
ACTING_BODIES = [
    None,
    {"kind": "commune_police", "unit": "01.004.00127"},
    {"kind": "commune_committee", "unit": "01.004.00127"},
    {"kind": "district_police", "unit": "01.004"},
    {"kind": "labour_office", "unit": "01.004"},
    {"kind": "district_court", "unit": "01.004"},
    {"kind": "regional_court", "unit": "01"},
    {"kind": "provincial_court", "unit": "01"},
    {"kind": "regional_procuracy", "unit": "01"},
]


def story_days(start: datetime) -> st.SearchStrategy[datetime]:
    """Within a few months of the story's start, so that deadlines are met as well as missed."""
    return st.integers(0, 60 * 24 * 90).map(lambda m: start + timedelta(minutes=m))


@st.composite
def recording_delays(draw: st.DrawFn) -> timedelta:
    """Mostly the recording follows the event (minutes to months); sometimes it precedes it."""
    return draw(
        st.one_of(
            st.integers(-5, 60 * 24 * 400).map(lambda m: timedelta(minutes=m)),
            st.integers(-3 * 365, 3 * 365).map(lambda d: timedelta(days=d)),
        )
    )


@st.composite
def entry_data(draw: st.DrawFn, event_type: str, earlier: list[Entry]) -> dict[str, Any]:
    if event_type == "EntryCorrected":
        target = draw(st.sampled_from(earlier))
        changes: dict[str, Any] = draw(
            st.sampled_from(
                [
                    {"occurred_at": draw(instants).isoformat()},
                    {"acting_body": {"kind": "district_court", "unit": "01.004"}},
                    {"acting_body": None},
                ]
            )
        )
        if target.type == "NoteAdded" and draw(st.booleans()):
            changes = {"text": "corrected text"}
        return {"corrects_event_id": target.event_id, "changes": changes, "reason": "typo"}
    if event_type == "EntryVoided":
        target = draw(st.sampled_from(earlier))
        return {"voids_event_id": target.event_id, "reason": "wrong case"}
    data = dict(draw(st.sampled_from(PAYLOADS[event_type])))
    if "dossier_id" in data:
        data["dossier_id"] = draw(st.sampled_from(DOSSIERS))
    if "referral_id" in data:
        data["referral_id"] = draw(st.sampled_from(REFERRALS))
    return data


@st.composite
def records(draw: st.DrawFn, max_events: int = 40) -> list[Entry]:
    """A case's entries in version order, their two clocks in any order."""
    entries: list[Entry] = []
    start = draw(instants)
    n = draw(st.integers(0, max_events))
    for version in range(1, n + 2):
        if version == 1:
            event_type = "CaseOpened"
        elif draw(st.integers(0, 9)) == 0:
            event_type = draw(st.sampled_from(["EntryCorrected", "EntryVoided"]))
        else:
            event_type = draw(st.sampled_from(TYPES))
        occurred = draw(st.one_of(story_days(start), story_days(start), instants))
        acting_body = draw(st.sampled_from(ACTING_BODIES))
        entries.append(
            Entry(
                event_id=f"e{version}",
                case_id="case-1",
                version=version,
                type=event_type,
                schema_version=1,
                occurred_at=occurred,
                recorded_at=occurred + draw(recording_delays()),
                actor=ACTOR.model_dump(mode="json"),
                data=draw(entry_data(event_type, entries)),
                acting_body=acting_body,
            )
        )
    return entries


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(entries=records(), as_of=instants, late_days=st.integers(0, 60))
def test_evaluation_never_fails_whatever_the_order_of_events(
    entries: list[Entry], as_of: datetime, late_days: int
) -> None:
    config = ComplianceConfig(late_recording_days=late_days)

    evaluation = evaluate(entries, as_of, config)

    visible = {e.event_id for e in entries if e.recorded_at <= as_of}
    assert all(s.event_id in visible for s in evaluation.timeline if s.event_id is not None)
    assert all(set(f.evidence_event_ids) <= visible for f in evaluation.findings)
    evaluation.next_due  # noqa: B018 -- must not fail either


@SETTINGS
@given(entries=records(), as_of=instants)
def test_findings_as_of_t_never_depend_on_events_recorded_after_t(
    entries: list[Entry], as_of: datetime
) -> None:
    recorded_by_then = [e for e in entries if e.recorded_at <= as_of]

    everything = evaluate(entries, as_of)
    known_then = evaluate(recorded_by_then, as_of)

    assert everything.findings == known_then.findings
    assert everything.timeline == known_then.timeline


@SETTINGS
@given(entries=records(), data=st.data())
def test_a_voided_entry_counts_as_if_it_had_never_been_recorded(
    entries: list[Entry], data: st.DataObject
) -> None:
    target = data.draw(st.sampled_from(entries[1:]) if len(entries) > 1 else st.nothing())
    as_of = target.recorded_at + timedelta(minutes=data.draw(st.integers(0, 60 * 24 * 800)))
    void = Entry(
        event_id="void",
        case_id="case-1",
        version=len(entries) + 1,
        type="EntryVoided",
        schema_version=1,
        occurred_at=as_of,
        recorded_at=as_of,
        actor=ACTOR.model_dump(mode="json"),
        data={"voids_event_id": target.event_id, "reason": "wrong case"},
    )

    voided = evaluate([*entries, void], as_of)
    never_recorded = evaluate([e for e in entries if e is not target], as_of)

    assert voided.findings == never_recorded.findings
    assert voided.timeline == never_recorded.timeline
