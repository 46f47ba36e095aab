"""The compulsory-rehabilitation dossier, from compilation to a decision in effect."""

from __future__ import annotations

import pytest
from builders import DOSSIER_ID, day, open_case, payload, record, walk

TO_COURT = [
    "DossierOpened",
    "InterimManagementDecided",
    "DossierServed",
    "DossierSentToLabourOffice",
    "DossierSentToCourt",
    "CourtAccepted",
    "CourtSessionScheduled",
    "CourtSessionHeld",
]


def case_heard_by_court():
    return walk(open_case(), *TO_COURT)


def test_commune_education_is_its_own_stage():
    case = open_case()

    walk(case, "CommuneEducationDecided")

    assert case.state.stage == "commune_education"


def test_an_opened_dossier_puts_the_case_in_compulsory_dossier_stage():
    case = open_case()

    walk(case, "DossierOpened")

    assert case.state.stage == "compulsory_dossier"
    dossier = case.state.open_dossier
    assert (dossier.dossier_id, dossier.status, dossier.route) == (DOSSIER_ID, "compiling", "adult")
    assert dossier.opened_at == day(1)


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        (["InterimManagementDecided"], "compiling"),
        (["DossierServed"], "served"),
        (["DossierServed", "DossierLegalityChecked"], "legality_checked"),
        (["DossierServed", "DossierSentToLabourOffice"], "at_labour_office"),
        (["DossierSentToLabourOffice", "DossierReturnedForSupplement"], "returned_for_supplement"),
        (["DossierReturnedForSupplement", "DossierSupplemented"], "supplemented"),
    ],
)
def test_compiling_a_dossier_keeps_the_case_in_compulsory_dossier_stage(steps, status):
    case = walk(open_case(), "DossierOpened")

    walk(case, *steps, start=2)

    assert case.state.stage == "compulsory_dossier"
    assert case.state.open_dossier.status == status


def test_interim_management_is_shown_on_the_dossier():
    case = walk(open_case(), "DossierOpened")

    walk(case, ("InterimManagementDecided", {"form": "social_reception_centre"}), start=2)

    assert case.state.open_dossier.interim_form == "social_reception_centre"


def test_a_dossier_sent_to_court_puts_the_case_at_court():
    case = walk(open_case(), "DossierOpened", "DossierServed")

    walk(case, "DossierSentToCourt", start=3)

    assert case.state.stage == "at_court"
    assert case.state.open_dossier.status == "sent_to_court"


def test_a_dossier_returned_by_the_court_is_back_in_compilation():
    case = walk(open_case(), "DossierOpened", "DossierServed", "DossierSentToCourt")

    walk(case, "DossierReturnedForSupplement", start=4)

    assert case.state.stage == "compulsory_dossier"
    assert case.state.open_dossier.status == "returned_for_supplement"


def test_court_acceptance_gives_the_dossier_its_court_case_number():
    case = walk(open_case(), "DossierOpened", "DossierServed", "DossierSentToCourt")

    walk(case, "CourtAccepted", start=4)

    dossier = case.state.open_dossier
    assert case.state.stage == "at_court"
    assert (dossier.status, dossier.court_case_no, dossier.ordinance) == (
        "accepted_by_court",
        "45/2024/TLST-BPXLHC",
        "PL03_2022",
    )


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        (["CourtSessionScheduled"], "session_scheduled"),
        (["CourtSessionScheduled", "CourtSessionPostponed"], "session_postponed"),
        (["CourtSessionScheduled", "CourtSessionPostponed", "CourtSessionHeld"], "session_held"),
    ],
)
def test_court_sessions_keep_the_case_at_court(steps, status):
    case = walk(open_case(), "DossierOpened", "DossierSentToCourt", "CourtAccepted")

    walk(case, *steps, start=4)

    assert case.state.stage == "at_court"
    assert case.state.open_dossier.status == status


def test_a_decision_to_apply_the_measure_awaits_execution():
    case = case_heard_by_court()

    walk(case, "CourtDecisionIssued", start=20)

    dossier = case.state.open_dossier
    assert case.state.stage == "awaiting_execution"
    assert (dossier.status, dossier.decision, dossier.term_months) == ("decided", "apply", 18)


@pytest.mark.parametrize("outcome", ["not_apply", "dismiss"])
def test_a_decision_not_to_apply_the_measure_closes_the_dossier(outcome):
    case = case_heard_by_court()

    walk(case, ("CourtDecisionIssued", {"outcome": outcome, "term_months": None}), start=20)

    assert case.state.stage == "no_active_measure"
    assert case.state.open_dossier is None
    assert case.state.dossiers[DOSSIER_ID].decision == outcome


def test_a_suspended_case_stays_at_court():
    case = case_heard_by_court()

    walk(case, ("CourtDecisionIssued", {"outcome": "suspend", "term_months": None}), start=20)

    assert case.state.stage == "at_court"
    assert case.state.open_dossier.decision == "suspend"


def test_an_appealed_decision_is_shown_on_the_dossier_and_still_awaits_execution():
    case = walk(case_heard_by_court(), "CourtDecisionIssued", start=20)

    walk(case, "CourtDecisionAppealed", start=21)

    assert case.state.stage == "awaiting_execution"
    assert case.state.open_dossier.status == "appealed"


def test_an_upheld_decision_still_awaits_execution():
    case = walk(case_heard_by_court(), "CourtDecisionIssued", "CourtDecisionAppealed", start=20)

    walk(case, "AppealDecided", start=30)

    assert case.state.stage == "awaiting_execution"
    assert case.state.open_dossier.status == "appeal_decided"


def test_a_modified_decision_changes_the_term():
    case = walk(case_heard_by_court(), "CourtDecisionIssued", "CourtDecisionAppealed", start=20)

    walk(case, ("AppealDecided", {"outcome": "modified", "term_months": 12}), start=30)

    assert case.state.open_dossier.term_months == 12
    assert case.state.stage == "awaiting_execution"


def test_an_annulled_decision_leaves_no_active_measure():
    case = walk(case_heard_by_court(), "CourtDecisionIssued", "CourtDecisionAppealed", start=20)

    walk(case, ("AppealDecided", {"outcome": "annulled"}), start=30)

    assert case.state.stage == "no_active_measure"
    assert case.state.open_dossier is None
    assert case.state.dossiers[DOSSIER_ID].decision == "annulled"


def test_a_decision_in_effect_still_awaits_execution():
    case = walk(case_heard_by_court(), "CourtDecisionIssued", start=20)

    walk(case, "CourtDecisionTookEffect", start=30)

    assert case.state.stage == "awaiting_execution"
    assert case.state.open_dossier.status == "in_effect"


def test_postponed_execution_defers_it():
    case = walk(case_heard_by_court(), "CourtDecisionIssued", "CourtDecisionTookEffect", start=20)

    walk(case, "ExecutionDeferred", start=30)

    assert case.state.stage == "execution_deferred"
    assert case.state.open_dossier.status == "execution_deferred"


def test_exemption_from_execution_leaves_no_active_measure_and_closes_the_dossier():
    case = walk(case_heard_by_court(), "CourtDecisionIssued", "CourtDecisionTookEffect", start=20)

    walk(case, ("ExecutionDeferred", {"kind": "exempted"}), start=30)

    assert case.state.stage == "no_active_measure"
    assert case.state.open_dossier is None


def test_the_open_dossier_is_the_most_recently_opened_one_not_closed():
    case = walk(case_heard_by_court(), ("CourtDecisionIssued", {"outcome": "dismiss"}), start=20)

    record(case, "DossierOpened", payload("DossierOpened", dossier_id="HS-2"), occurred_at=day(40))

    assert case.state.open_dossier.dossier_id == "HS-2"
    assert case.state.stage == "compulsory_dossier"
