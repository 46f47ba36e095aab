"""Late, out-of-order and against-procedure events are recorded, to be judged later, never refused.

An inspector needs to see a late hearing, not have it hidden by a rejected write.
"""

from __future__ import annotations

from datetime import datetime

from builders import DOSSIER_ID, NOW, VIETNAM, day, open_case, record, walk


def test_a_hearing_before_the_court_accepted_the_dossier_is_recorded():
    case = walk(open_case(), "DossierOpened", "DossierSentToCourt")

    entry = record(case, "CourtSessionHeld", occurred_at=day(3))

    assert entry.type == "CourtSessionHeld"
    assert case.state.open_dossier.status == "session_held"


def test_a_dossier_sent_to_court_before_being_served_is_recorded():
    case = walk(open_case(), "DossierOpened")

    record(case, "DossierSentToCourt", occurred_at=day(2))

    assert case.state.stage == "at_court"
    assert "DossierServed" not in case.state.open_dossier.seen


def test_a_decision_with_no_hearing_recorded_is_recorded():
    case = walk(open_case(), "DossierOpened")

    record(case, "CourtDecisionIssued", occurred_at=day(2))

    assert case.state.stage == "awaiting_execution"


def test_an_event_that_happened_years_ago_is_recorded_as_a_late_entry():
    case = open_case()
    long_ago = datetime(2019, 3, 1, 10, 0, tzinfo=VIETNAM)

    entry = record(case, "DrugTestRecorded", occurred_at=long_ago)

    assert entry.occurred_at == long_ago
    assert entry.recorded_at == NOW


def test_an_event_before_the_case_was_opened_is_recorded():
    case = open_case(occurred_at=day(10))

    entry = record(case, "DrugUseDetected", occurred_at=day(2))

    assert entry.version == 2
    assert case.state.stage == "intake"


def test_a_late_entry_about_the_past_does_not_overwrite_the_present_stage():
    case = walk(open_case(), "ReleasedFromFacility", "PostRehabManagementDecided", start=100)

    record(case, "UserManagementDecided", occurred_at=day(5))

    assert case.state.stage == "post_rehab"


def test_events_recorded_out_of_order_give_the_stage_of_what_happened_last():
    case = open_case()
    record(case, "AdmittedToFacility", occurred_at=day(30))

    record(case, "UserManagementDecided", occurred_at=day(3))
    record(case, "UserManagementStopped", occurred_at=day(20))

    assert case.state.stage == "in_facility"
    assert [e.version for e in case.entries] == [1, 2, 3, 4]


def test_release_without_any_admission_recorded_is_recorded():
    case = open_case()

    record(case, "ReleasedFromFacility", occurred_at=day(4))

    assert case.state.stage == "no_active_measure"


def test_a_decision_taking_effect_before_it_was_issued_is_recorded():
    case = walk(open_case(), "DossierOpened")

    record(case, "CourtDecisionTookEffect", occurred_at=day(5))
    record(case, "CourtDecisionIssued", occurred_at=day(6))

    assert case.state.dossiers[DOSSIER_ID].seen >= {
        "CourtDecisionTookEffect",
        "CourtDecisionIssued",
    }


def test_post_rehab_check_in_without_a_post_rehab_decision_is_recorded():
    case = open_case()

    entry = record(case, "PostRehabCheckIn", occurred_at=day(3))

    assert entry.type == "PostRehabCheckIn"
    assert case.state.stage == "intake"
