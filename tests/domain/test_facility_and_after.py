"""The facility, absconding, release, post-rehabilitation management and relapse."""

from __future__ import annotations

import pytest
from builders import DOSSIER_ID, day, open_case, payload, record, walk

DECIDED = [
    "DossierOpened",
    "DossierServed",
    "DossierSentToCourt",
    "CourtAccepted",
    "CourtSessionHeld",
    "CourtDecisionIssued",
    "CourtDecisionTookEffect",
]


def case_awaiting_execution():
    return walk(open_case(), *DECIDED)


def case_in_facility():
    return walk(case_awaiting_execution(), "EscortedToFacility", "AdmittedToFacility", start=10)


def released_case():
    return walk(case_in_facility(), "PreReleaseNoticeSent", "ReleasedFromFacility", start=20)


def test_escorting_to_the_facility_puts_the_case_in_facility_and_executes_the_dossier():
    case = case_awaiting_execution()

    walk(case, "EscortedToFacility", start=10)

    assert case.state.stage == "in_facility"
    assert case.state.open_dossier is None
    assert case.state.dossiers[DOSSIER_ID].status == "executed"


@pytest.mark.parametrize("kind", ["compulsory", "interim", "social_protection"])
def test_admission_other_than_voluntary_puts_the_case_in_facility(kind):
    case = open_case()

    walk(case, ("AdmittedToFacility", {"admission_kind": kind}))

    assert case.state.stage == "in_facility"


def test_an_absconded_person_is_shown_as_absconded_while_searched_for():
    case = case_in_facility()

    walk(case, "Absconded", "SearchDecided", start=20)

    assert case.state.stage == "absconded"


def test_a_returned_person_is_back_in_facility():
    case = walk(case_in_facility(), "Absconded", "SearchDecided", start=20)

    walk(case, "Returned", start=25)

    assert case.state.stage == "in_facility"


def test_a_person_who_absconded_during_user_management_returns_to_it():
    case = walk(open_case(), "UserManagementDecided")

    walk(case, ("Absconded", {"phase": "interim"}), ("Returned", {"how": "voluntary"}), start=2)

    assert case.state.stage == "user_management"


def test_absconding_twice_before_return_still_returns_to_the_stage_before():
    case = case_in_facility()

    walk(case, "Absconded", "Absconded", "Returned", start=20)

    assert case.state.stage == "in_facility"


def test_a_return_without_absconding_changes_nothing():
    case = case_in_facility()

    walk(case, "Returned", start=20)

    assert case.state.stage == "in_facility"


def test_a_reduced_term_keeps_the_person_in_facility():
    case = case_in_facility()

    walk(case, "TermAdjusted", start=20)

    assert case.state.stage == "in_facility"


def test_an_exemption_from_the_rest_of_the_term_leaves_no_active_measure():
    case = case_in_facility()

    walk(case, ("TermAdjusted", {"kind": "exemption", "months": None}), start=20)

    assert case.state.stage == "no_active_measure"


def test_a_pre_release_notice_keeps_the_person_in_facility():
    case = case_in_facility()

    walk(case, "PreReleaseNoticeSent", start=20)

    assert case.state.stage == "in_facility"


def test_release_leaves_no_active_measure_until_post_rehab_management_is_decided():
    case = case_in_facility()

    walk(case, "ReleasedFromFacility", "ReturnReported", start=20)

    assert case.state.stage == "no_active_measure"


def test_post_rehab_management_is_its_own_stage():
    case = released_case()

    walk(
        case,
        "ReturnReported",
        "PostRehabManagementDecided",
        "PostRehabCheckIn",
        "PostRehabAbsenceReported",
        start=30,
    )

    assert case.state.stage == "post_rehab"


def test_completed_post_rehab_management_leaves_no_active_measure():
    case = walk(released_case(), "PostRehabManagementDecided", start=30)

    walk(case, "PostRehabManagementCompleted", start=40)

    assert case.state.stage == "no_active_measure"


def test_a_relapse_citing_a_positive_test_shows_the_case_as_relapsed():
    case = walk(released_case(), "PostRehabManagementDecided", start=30)
    test = record(case, "DrugTestRecorded", occurred_at=day(50))

    record(
        case,
        "RelapseRecorded",
        payload("RelapseRecorded", evidence_event_ids=[test.event_id]),
        occurred_at=day(51),
    )

    assert case.state.stage == "relapsed"
    assert case.entries[-1].data["evidence_event_ids"] == [test.event_id]


def test_a_relapse_without_evidence_cited_is_recorded():
    case = open_case()

    record(case, "RelapseRecorded", {"substances": ["heroin"]})

    assert case.state.stage == "relapsed"
    assert case.entries[-1].data == {"evidence_event_ids": [], "substances": ["heroin"]}
