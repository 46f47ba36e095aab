"""What events.md refuses at write time: a named error, and nothing recorded.

Each test checks the error class and, through ``refused``, that the case's version, pending
events and entries are unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from builders import (
    ACTOR,
    DOSSIER_ID,
    NOW,
    PRIOR_EVENT_ID,
    REFERRAL_ID,
    VALID_PAYLOADS,
    case_ready_for,
    day,
    new_event,
    open_case,
    payload,
    record,
    refused,
    walk,
)

from domain.case import Case, NewEvent
from domain.errors import (
    CaseIsClosed,
    CaseIsNotClosed,
    Conflict,
    EntryAlreadyVoided,
    InvalidEvent,
    ReferralAlreadyClosed,
    RepeatedOnceOnlyEvent,
    UnresolvedReference,
)
from domain.events import ALLOWED_ON_CLOSED_CASE, CATALOGUE, ONCE_PER_DOSSIER

REFUSED_ON_CLOSED_CASE = sorted(set(CATALOGUE) - ALLOWED_ON_CLOSED_CASE - {"CaseOpened"})
REFERRAL_EVENTS = ["ReferralAccepted", "ReferralDeclined", "ReferralCompleted"]
DOSSIER_EVENTS = sorted(
    name
    for name, payload_ in VALID_PAYLOADS.items()
    if "dossier_id" in payload_ and name != "DossierOpened"
)


def closed_case() -> Case:
    case = case_ready_for("CaseReopened")
    assert case.state.closed
    return case


# --- the clock ------------------------------------------------------------------------------


def test_an_event_more_than_five_minutes_in_the_future_is_refused():
    case = open_case()

    with refused(case, InvalidEvent) as refusal:
        record(case, "NoteAdded", occurred_at=NOW + timedelta(minutes=5, seconds=1))

    assert refusal.value.errors[0].loc == ("occurred_at",)


def test_an_event_four_minutes_ahead_of_the_server_clock_is_accepted():
    case = open_case()

    entry = record(case, "NoteAdded", occurred_at=NOW + timedelta(minutes=4))

    assert entry.occurred_at == NOW + timedelta(minutes=4)
    assert case.version == 2


def test_a_case_cannot_open_with_an_event_in_the_future():
    opening = new_event("CaseOpened", occurred_at=NOW + timedelta(hours=1))

    with pytest.raises(InvalidEvent) as refusal:
        Case.open(uuid4(), opening, ACTOR, NOW)

    assert refusal.value.errors[0].loc == ("occurred_at",)


# --- a closed case --------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", REFUSED_ON_CLOSED_CASE)
def test_a_closed_case_refuses_events_other_than_reopening_notes_and_corrections(event_type):
    case = closed_case()

    with refused(case, CaseIsClosed):
        record(case, event_type)


def test_a_closed_case_accepts_a_note():
    case = closed_case()

    record(case, "NoteAdded")

    assert case.entries[-1].type == "NoteAdded"
    assert case.state.stage == "closed"


def test_a_closed_case_accepts_a_correction():
    case = closed_case()

    record(case, "EntryCorrected")

    assert case.entries[-1].type == "EntryCorrected"
    assert case.state.closed


def test_a_closed_case_accepts_a_void():
    case = closed_case()

    record(case, "EntryVoided")

    assert case.entries[-1].type == "EntryVoided"
    assert case.state.closed


def test_a_closed_case_accepts_reopening():
    case = closed_case()

    record(case, "CaseReopened")

    assert not case.state.closed


def test_reopening_a_case_that_is_not_closed_is_refused():
    case = open_case()

    with refused(case, CaseIsNotClosed):
        record(case, "CaseReopened")


def test_a_case_cannot_be_opened_twice():
    case = open_case()

    with refused(case, Conflict):
        record(case, "CaseOpened")


# --- references that do not resolve ---------------------------------------------------------


@pytest.mark.parametrize("event_type", REFERRAL_EVENTS)
def test_an_unknown_referral_is_refused(event_type):
    case = open_case()

    with refused(case, UnresolvedReference) as refusal:
        record(case, event_type)

    assert refusal.value.errors[0].loc == ("data", "referral_id")


def test_a_referral_made_in_another_case_does_not_resolve():
    other = walk(open_case(), "ReferralMade")
    case = open_case()

    with refused(case, UnresolvedReference):
        record(case, "ReferralAccepted")

    assert REFERRAL_ID in other.state.referrals


@pytest.mark.parametrize("event_type", DOSSIER_EVENTS)
def test_an_unknown_dossier_is_refused(event_type):
    case = walk(open_case(), ("DossierOpened", {"dossier_id": "HS-OTHER"}))

    with refused(case, UnresolvedReference) as refusal:
        record(case, event_type)

    assert refusal.value.errors[0].loc == ("data", "dossier_id")


@pytest.mark.parametrize(
    ("closing", "then"),
    [
        ("ReferralDeclined", "ReferralAccepted"),
        ("ReferralDeclined", "ReferralCompleted"),
        ("ReferralDeclined", "ReferralDeclined"),
        ("ReferralCompleted", "ReferralAccepted"),
        ("ReferralCompleted", "ReferralCompleted"),
        ("ReferralCompleted", "ReferralDeclined"),
    ],
)
def test_a_closed_referral_cannot_be_acted_on_again(closing, then):
    case = walk(open_case(), "ReferralMade", "ReferralAccepted", closing)

    with refused(case, ReferralAlreadyClosed) as refusal:
        record(case, then)

    assert refusal.value.field == "data.referral_id"


def test_an_accepted_referral_can_still_be_completed():
    case = walk(open_case(), "ReferralMade", "ReferralAccepted")

    record(case, "ReferralCompleted")

    assert case.state.referrals[REFERRAL_ID].status == "completed"


def test_correcting_an_event_that_does_not_exist_is_refused():
    case = open_case()

    with refused(case, UnresolvedReference) as refusal:
        record(case, "EntryCorrected", payload("EntryCorrected", corrects_event_id=str(uuid4())))

    assert refusal.value.errors[0].loc == ("data", "corrects_event_id")


def test_voiding_an_event_that_does_not_exist_is_refused():
    case = open_case()

    with refused(case, UnresolvedReference) as refusal:
        record(case, "EntryVoided", payload("EntryVoided", voids_event_id=str(uuid4())))

    assert refusal.value.errors[0].loc == ("data", "voids_event_id")


def test_correcting_a_voided_event_is_refused():
    case = case_ready_for("EntryCorrected")
    record(case, "EntryVoided")

    with refused(case, EntryAlreadyVoided):
        record(case, "EntryCorrected")


def test_voiding_an_event_twice_is_refused():
    case = case_ready_for("EntryVoided")
    record(case, "EntryVoided")

    with refused(case, EntryAlreadyVoided):
        record(case, "EntryVoided")


def test_a_relapse_citing_evidence_not_in_the_case_is_refused():
    case = case_ready_for("RelapseRecorded")
    evidence = [PRIOR_EVENT_ID, str(uuid4())]

    with refused(case, UnresolvedReference) as refusal:
        record(case, "RelapseRecorded", payload("RelapseRecorded", evidence_event_ids=evidence))

    assert refusal.value.errors[0].loc == ("data", "evidence_event_ids", 1)


def test_a_relapse_citing_evidence_from_another_case_is_refused():
    other = open_case()
    case = open_case()
    evidence = [other.entries[0].event_id]

    with refused(case, UnresolvedReference):
        record(case, "RelapseRecorded", payload("RelapseRecorded", evidence_event_ids=evidence))


# --- one-time events --------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(ONCE_PER_DOSSIER))
def test_a_one_time_event_repeated_for_the_same_dossier_is_refused(event_type):
    case = case_ready_for(event_type)
    record(case, event_type, occurred_at=day(10))

    with refused(case, RepeatedOnceOnlyEvent):
        record(case, event_type, occurred_at=day(11))


@pytest.mark.parametrize("event_type", sorted(ONCE_PER_DOSSIER))
def test_a_one_time_event_is_accepted_once_for_each_dossier(event_type):
    case = case_ready_for(event_type)
    record(case, event_type, occurred_at=day(10))
    record(case, "DossierOpened", payload("DossierOpened", dossier_id="HS-2"), occurred_at=day(20))

    record(case, event_type, payload(event_type, dossier_id="HS-2"), occurred_at=day(21))

    assert case.state.dossiers["HS-2"].seen >= {event_type}
    assert case.state.dossiers[DOSSIER_ID].seen >= {event_type}


def test_a_referral_id_cannot_be_used_twice():
    case = walk(open_case(), "ReferralMade", "ReferralDeclined")

    with refused(case, RepeatedOnceOnlyEvent) as refusal:
        record(case, "ReferralMade", payload("ReferralMade", service="detox"))

    assert refusal.value.field == "data.referral_id"


def test_a_dossier_id_cannot_be_opened_twice():
    case = walk(open_case(), "DossierOpened")

    with refused(case, RepeatedOnceOnlyEvent) as refusal:
        record(case, "DossierOpened", payload("DossierOpened", route="minor"))

    assert refusal.value.field == "data.dossier_id"


# --- voids and corrections: the choices case.py makes -----------------------------------------


def test_the_opening_entry_cannot_be_voided():
    case = open_case()
    opening = case.entries[0].event_id

    with refused(case, Conflict) as refusal:
        record(case, "EntryVoided", payload("EntryVoided", voids_event_id=opening))

    assert refusal.value.field == "data.voids_event_id"


def test_a_reference_field_cannot_be_corrected():
    case = walk(open_case(), "DossierOpened", "DossierServed")
    served = case.entries[-1].event_id
    correction = {"corrects_event_id": served, "changes": {"dossier_id": "HS-9"}, "reason": "typo"}

    with refused(case, InvalidEvent) as refusal:
        record(case, "EntryCorrected", correction)

    assert refusal.value.errors[0].loc == ("data", "changes", "dossier_id")


def test_the_evidence_of_a_relapse_cannot_be_corrected():
    case = case_ready_for("RelapseRecorded")
    relapse = record(case, "RelapseRecorded")
    correction = {
        "corrects_event_id": relapse.event_id,
        "changes": {"evidence_event_ids": []},
        "reason": "wrong evidence",
    }

    with refused(case, InvalidEvent) as refusal:
        record(case, "EntryCorrected", correction)

    assert refusal.value.errors[0].loc == ("data", "changes", "evidence_event_ids")


def test_a_corrected_value_outside_the_allowed_list_is_refused():
    case = walk(open_case(), "CaseClosed")
    closing = case.entries[-1].event_id
    correction = {"corrects_event_id": closing, "changes": {"reason": "retired"}, "reason": "x"}

    with refused(case, InvalidEvent) as refusal:
        record(case, "EntryCorrected", correction)

    assert refusal.value.errors[0].loc == ("data", "changes", "reason")


def test_a_corrected_nested_value_that_is_invalid_is_refused():
    case = open_case()
    correction = {
        "corrects_event_id": case.entries[0].event_id,
        "changes": {"person.residence_unit": "Hàng Bạc"},
        "reason": "ward code",
    }

    with refused(case, InvalidEvent) as refusal:
        record(case, "EntryCorrected", correction)

    assert refusal.value.errors[0].loc[:2] == ("data", "changes")
    assert "residence_unit" in refusal.value.errors[0].loc


def test_correcting_a_field_the_entry_does_not_have_is_refused():
    case = case_ready_for("EntryCorrected")
    correction = payload("EntryCorrected", changes={"colour": "blue"})

    with refused(case, InvalidEvent) as refusal:
        record(case, "EntryCorrected", correction)

    assert refusal.value.errors[0].loc == ("data", "changes", "colour")


def test_correcting_a_subfield_of_a_plain_field_is_refused():
    case = walk(open_case(), "CaseClosed")
    closing = case.entries[-1].event_id
    correction = {"corrects_event_id": closing, "changes": {"reason.code": "x"}, "reason": "x"}

    with refused(case, InvalidEvent) as refusal:
        record(case, "EntryCorrected", correction)

    assert refusal.value.errors[0].loc[:2] == ("data", "changes")


def test_correcting_occurred_at_into_the_future_is_refused():
    case = case_ready_for("EntryCorrected")
    future = (NOW + timedelta(days=1)).isoformat()
    correction = payload("EntryCorrected", changes={"occurred_at": future})

    with refused(case, InvalidEvent) as refusal:
        record(case, "EntryCorrected", correction)

    assert refusal.value.errors[0].loc == ("data", "changes", "occurred_at")


def test_correcting_occurred_at_to_a_time_without_timezone_is_refused():
    case = case_ready_for("EntryCorrected")
    correction = payload("EntryCorrected", changes={"occurred_at": "2024-01-09T10:00:00"})

    with refused(case, InvalidEvent) as refusal:
        record(case, "EntryCorrected", correction)

    assert refusal.value.errors[0].loc == ("data", "changes", "occurred_at")


def test_correcting_the_acting_body_to_an_invalid_one_is_refused():
    case = case_ready_for("EntryCorrected")
    correction = payload(
        "EntryCorrected", changes={"acting_body": {"kind": "the_mayor", "unit": "01"}}
    )

    with refused(case, InvalidEvent) as refusal:
        record(case, "EntryCorrected", correction)

    assert refusal.value.errors[0].loc[:3] == ("data", "changes", "acting_body")


def test_the_court_decides_again_after_suspending_its_decision():
    case = case_ready_for("CourtDecisionIssued")
    record(
        case,
        "CourtDecisionIssued",
        payload("CourtDecisionIssued", outcome="suspend"),
        occurred_at=day(10),
    )

    record(
        case,
        "CourtDecisionIssued",
        payload("CourtDecisionIssued", outcome="apply"),
        occurred_at=day(40),
    )

    assert case.state.dossiers[DOSSIER_ID].decision == "apply"


def test_a_person_returned_after_absconding_before_admission_is_escorted_again():
    case = case_ready_for("EscortedToFacility")
    record(case, "EscortedToFacility", occurred_at=day(10))
    record(case, "Absconded", payload("Absconded", phase="before_admission"), occurred_at=day(11))
    record(case, "Returned", occurred_at=day(30))

    record(case, "EscortedToFacility", occurred_at=day(31))

    assert [e.type for e in case.entries].count("EscortedToFacility") == 2


def test_an_occurred_at_before_1900_is_refused():
    case = open_case()

    with refused(case, InvalidEvent) as error:
        early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
        record(case, "NoteAdded", occurred_at=early)

    assert error.value.errors[0].loc == ("occurred_at",)


@pytest.mark.parametrize(
    "acting_body, field",
    [(None, "acting_body"), ({"kind": "district_court", "unit": "01.004"}, "acting_body.kind")],
)
def test_a_law_120_event_names_the_body_whose_act_it_is(acting_body, field):
    """An electronic-monitoring decision is the commune police chief's (Law 120/2025 Art 12):
    without an acting body, or with a court as one, it is refused, naming the field."""
    with pytest.raises(InvalidEvent) as caught:
        NewEvent.parse(
            "ElectronicMonitoringDecided",
            day(1),
            VALID_PAYLOADS["ElectronicMonitoringDecided"],
            acting_body=acting_body,
        )

    [error] = caught.value.errors
    assert ".".join(error.loc) == field
    assert "commune_police" in error.msg
