"""The 2014-2021 regime, the terms of compulsory rehab, and cases that straddle 01/01/2022.

Each rule is judged only for anchors dated in its regime: a PRE22 rule says nothing about a 2022
event and a Law 73 rule nothing about a 2021 one (Law 73 Art 55).
"""

from __future__ import annotations

from datetime import date

import pytest
from scenario import (
    COMMUNE,
    COMMUNE_COMMITTEE,
    COMMUNE_POLICE,
    DISTRICT_COURT,
    JUSTICE_OFFICE,
    LABOUR_OFFICE,
    Scenario,
    findings,
    judge,
    steps,
)

from domain.compliance import ComplianceConfig, Finding, evaluate

DOSSIER = "HS-01-004-001"


def only_finding(case: Scenario, as_of: str, rule_id: str) -> Finding:
    found = findings(case.entries, as_of, rule_id)
    assert len(found) == 1, found
    return found[0]


def dossier_opened(
    on: str,
    *,
    born: str = "1988-09-21",
    route: str = "adult",
    residence: str = "stable",
    ground: str = "Art 32(1)",
) -> Scenario:
    """A man caught using heroin again, whose commune opens a compulsory-rehab dossier."""
    case = Scenario(born=born)
    case.at(on).record(
        "DossierOpened",
        {"dossier_id": DOSSIER, "route": route, "residence_status": residence, "ground": ground},
        body=COMMUNE_COMMITTEE,
        name="opened",
    )
    return case


def court_decides(case: Scenario, on: str, months: int, outcome: str = "apply") -> Scenario:
    return case.at(on).record(
        "CourtDecisionIssued",
        {
            "dossier_id": DOSSIER,
            "outcome": outcome,
            "term_months": months,
            "announced_on": on[:10],
        },
        body=DISTRICT_COURT,
        name="decision",
    )


# --- O1: an adult's compulsory rehab lasts 12 to 24 months (both regimes) ---------------------


def test_adult_sent_to_compulsory_rehab_for_nine_months_in_2021_is_a_finding():
    case = dossier_opened("2021-03-15 09:00", residence="not_stable")

    court_decides(case, "2021-05-20 15:00", months=9)

    finding = only_finding(case, "2021-06-30", "O1")
    assert (finding.status, finding.due, finding.confidence) == ("open", None, "S")
    assert finding.evidence_event_ids == (case.id("decision"),)
    assert "9 months, not 12-24" in finding.detail


def test_adult_sent_for_thirty_months_in_2023_is_a_finding_too():
    case = dossier_opened("2023-03-06 09:00", ground="Art 32(4)")

    court_decides(case, "2023-04-10 15:00", months=30)

    finding = only_finding(case, "2023-04-30", "O1")
    assert finding.evidence_event_ids == (case.id("decision"),)


@pytest.mark.parametrize("months", [12, 24])
def test_adult_sent_for_twelve_to_twenty_four_months_complies(months):
    case = dossier_opened("2023-03-06 09:00")

    court_decides(case, "2023-04-10 15:00", months=months)

    assert findings(case.entries, "2023-04-30", "O1") == []


def test_minors_term_is_not_judged_by_the_adult_range():
    case = dossier_opened("2023-03-06 09:00", born="2006-08-15", route="minor", ground="Art 33")

    court_decides(case, "2023-04-10 15:00", months=9)

    assert findings(case.entries, "2023-04-30", "O1") == []


# --- J2: a minor's compulsory rehab lasts 6 to 12 months --------------------------------------


def test_sixteen_year_old_sent_for_eighteen_months_is_a_finding():
    case = dossier_opened("2023-03-06 09:00", born="2006-08-15", route="minor", ground="Art 33")

    court_decides(case, "2023-04-10 15:00", months=18)

    finding = only_finding(case, "2023-04-30", "J2")
    assert (finding.status, finding.due) == ("open", None)
    assert finding.evidence_event_ids == (case.id("decision"),)
    assert "18 months, not 6-12" in finding.detail


@pytest.mark.parametrize("months", [6, 12])
def test_sixteen_year_old_sent_for_six_to_twelve_months_complies(months):
    case = dossier_opened("2023-03-06 09:00", born="2006-08-15", route="minor", ground="Art 33")

    court_decides(case, "2023-04-10 15:00", months=months)

    assert findings(case.entries, "2023-04-30", "J2") == []


def test_court_not_applying_the_measure_has_no_term_to_judge():
    case = dossier_opened("2023-03-06 09:00", born="2006-08-15", route="minor", ground="Art 33")

    court_decides(case, "2023-04-10 15:00", months=18, outcome="not_apply")

    assert findings(case.entries, "2023-04-30", "J2") == []


# --- O2: before 2022, commune education came before compulsory rehab -------------------------


def test_2021_dossier_for_a_settled_adult_without_commune_education_is_a_finding():
    case = dossier_opened("2021-05-10 09:00")

    finding = only_finding(case, "2021-06-30", "O2")

    assert (finding.status, finding.due, finding.regime) == ("open", None, "PRE22")
    assert finding.evidence_event_ids == (case.id("opened"),)
    assert finding.detected_on == date(2021, 5, 10)


def test_2021_dossier_after_commune_education_complies():
    case = Scenario(born="1988-09-21")
    case.at("2020-09-01 09:00").record(
        "CommuneEducationDecided", {"months": 6}, body=COMMUNE_COMMITTEE
    )

    case.at("2021-05-10 09:00").record(
        "DossierOpened",
        {"dossier_id": DOSSIER, "route": "adult", "residence_status": "stable"},
        body=COMMUNE_COMMITTEE,
    )

    assert findings(case.entries, "2021-06-30", "O2") == []


def test_2021_dossier_for_an_adult_with_no_stable_residence_needs_no_commune_education():
    case = dossier_opened("2021-05-10 09:00", residence="not_stable")

    assert findings(case.entries, "2021-06-30", "O2") == []


def test_2022_dossier_is_not_judged_by_the_old_commune_education_rule():
    case = dossier_opened("2022-02-14 09:00")

    assert findings(case.entries, "2022-03-31", "O2") == []


# --- O4: before 2022, the decision within 3 months of the last detected use -------------------


def used_then_dossier(caught: str, opened: str) -> Scenario:
    case = Scenario(born="1988-09-21")
    case.at(caught).record(
        "DrugUseDetected", {"detecting_unit": COMMUNE}, body=COMMUNE_POLICE, name="caught"
    )
    case.at(caught).record(
        "DrugTestRecorded", {"substances": ["heroin"]}, body=COMMUNE_POLICE, name="tested"
    )
    case.at(opened).record(
        "DossierOpened",
        {"dossier_id": DOSSIER, "route": "adult", "residence_status": "not_stable"},
        body=COMMUNE_COMMITTEE,
    )
    return case


def test_2021_decision_three_and_a_half_months_after_the_last_use_is_a_finding():
    case = used_then_dossier("2021-03-01 22:00", "2021-03-08 09:00")

    court_decides(case, "2021-06-15 15:00", months=18)

    finding = only_finding(case, "2021-06-30", "O4")
    assert (finding.status, finding.due, finding.regime) == ("open", None, "PRE22")
    assert finding.evidence_event_ids == (case.id("decision"),)
    assert "(2021-03-01)" in finding.detail


def test_2021_decision_within_three_months_of_the_last_use_complies():
    case = used_then_dossier("2021-03-01 22:00", "2021-03-08 09:00")

    court_decides(case, "2021-06-01 15:00", months=18)

    assert findings(case.entries, "2021-06-30", "O4") == []


def test_negative_test_is_not_a_detected_use():
    case = used_then_dossier("2021-03-01 22:00", "2021-03-08 09:00")
    case.at("2021-04-20 09:00").record(
        "DrugTestRecorded", {"result": "negative", "substances": []}, body=COMMUNE_POLICE
    )

    court_decides(case, "2021-06-15 15:00", months=18)

    assert "(2021-03-01)" in only_finding(case, "2021-06-30", "O4").detail


def test_2022_decision_is_not_judged_by_the_decree_221_limitation_rule():
    case = used_then_dossier("2022-03-01 22:00", "2022-03-08 09:00")

    court_decides(case, "2022-06-15 15:00", months=18)

    assert findings(case.entries, "2022-06-30", "O4") == []


def test_the_limitation_since_2022_is_judged_by_x25_10_not_by_the_retired_c9():
    # C9 (R) was the placeholder of LXLVPHC Art 6's 3 months; X25-10 (S) replaced it.
    case = used_then_dossier("2022-03-01 22:00", "2022-03-08 09:00")
    court_decides(case, "2022-06-15 15:00", months=18)

    evaluation = evaluate(
        case.entries,
        judge(case.entries, "2022-06-30").as_of,
        ComplianceConfig(enabled_unverified=frozenset({"C9"})),
    )

    assert [f for f in evaluation.findings if f.rule_id == "C9"] == []
    [finding] = [f for f in evaluation.findings if f.rule_id == "X25-10"]
    assert (finding.confidence, finding.regime) == ("S", "22+")
    assert not finding.unverified
    assert finding.evidence_event_ids == (case.id("decision"),)
    assert "(2022-03-01)" in finding.detail


# --- O7: before 2022, post-rehab management for 1 to 2 years ----------------------------------


def post_rehab(on: str, starts: str, ends: str) -> Scenario:
    case = Scenario(born="1988-09-21")
    case.at(on).record(
        "PostRehabManagementDecided",
        {"starts_on": starts, "ends_on": ends},
        body=COMMUNE_COMMITTEE,
        name="post_rehab",
    )
    return case


def test_2021_post_rehab_management_for_six_months_is_a_finding():
    case = post_rehab("2021-03-01 09:00", "2021-03-01", "2021-09-01")

    finding = only_finding(case, "2021-03-31", "O7")

    assert (finding.status, finding.due, finding.severity) == ("open", None, "low")
    assert finding.evidence_event_ids == (case.id("post_rehab"),)


def test_2021_post_rehab_management_for_thirty_months_is_a_finding():
    case = post_rehab("2021-03-01 09:00", "2021-03-01", "2023-09-01")

    assert len(findings(case.entries, "2021-03-31", "O7")) == 1


@pytest.mark.parametrize(
    "ends",
    ["2022-03-01", "2022-02-28", "2022-09-01", "2023-03-01"],
    ids=["1-year", "1-year-inclusive", "18-months", "2-years"],
)
def test_2021_post_rehab_management_of_one_to_two_years_complies(ends):
    # Law 2000 Art 33(1) as amended in 2008: "từ một năm đến hai năm"
    case = post_rehab("2021-03-01 09:00", "2021-03-01", ends)

    assert findings(case.entries, "2021-03-31", "O7") == []


def test_2022_post_rehab_management_is_not_judged_by_the_old_range():
    case = post_rehab("2022-03-01 09:00", "2022-03-01", "2022-09-01")

    assert findings(case.entries, "2022-03-31", "O7") == []


# --- T55: a dossier still open in 2022 is finished under Law 73 --------------------------------


def test_justice_office_legality_check_in_2022_on_a_2021_dossier_is_a_finding():
    case = dossier_opened("2021-11-15 09:00", residence="not_stable")

    case.at("2022-01-12 10:00").record(
        "DossierLegalityChecked",
        {"dossier_id": DOSSIER, "result": "valid"},
        body=JUSTICE_OFFICE,
        name="checked",
    )

    finding = only_finding(case, "2022-01-31", "T55")
    assert (finding.status, finding.due, finding.regime) == ("open", None, "22+")
    assert finding.evidence_event_ids == (case.id("checked"),)
    assert finding.detected_on == date(2022, 1, 12)


def test_justice_office_legality_check_in_2021_complies():
    case = dossier_opened("2021-11-15 09:00", residence="not_stable")

    case.at("2021-12-20 10:00").record(
        "DossierLegalityChecked", {"dossier_id": DOSSIER, "result": "valid"}, body=JUSTICE_OFFICE
    )

    assert findings(case.entries, "2022-01-31", "T55") == []


def test_2021_dossier_finished_by_the_labour_office_in_2022_complies():
    case = dossier_opened("2021-11-15 09:00", residence="not_stable")
    case.at("2021-12-27 09:00").record(
        "DossierServed", {"dossier_id": DOSSIER, "served_on": "person"}, body=COMMUNE_COMMITTEE
    )

    case.at("2022-01-05 09:00").record(
        "DossierSentToLabourOffice", {"dossier_id": DOSSIER, "pages": 31}, body=COMMUNE_COMMITTEE
    )
    case.at("2022-01-07 14:00").record(
        "DossierSentToCourt",
        {"dossier_id": DOSSIER, "court_unit": "01.004", "proposed_facility": "CSCN số 2"},
        body=LABOUR_OFFICE,
    )

    assert findings(case.entries, "2022-01-31", "T55") == []


# --- Law 73 rules do not judge 2021 anchors ----------------------------------------------------


def test_voluntary_registration_of_30_december_2021_is_not_judged_by_v2():
    case = Scenario(born="1995-04-12")
    case.at("2021-12-30 09:00").record(
        "VoluntaryTreatmentRegistered", {"setting": "community"}, body=COMMUNE_COMMITTEE
    )

    case.at("2022-01-12 15:00").record(
        "VoluntaryTreatmentDecided",
        {"setting": "community", "provider": "Trạm Y tế phường Việt Hưng", "planned_months": 6},
        body=COMMUNE_COMMITTEE,
    )

    assert findings(case.entries, "2022-01-31", "V2") == []
    assert steps(judge(case.entries, "2022-01-31"), "V2") == []


def test_voluntary_registration_of_4_january_2022_is_judged_by_v2():
    case = Scenario(born="1995-04-12")
    case.at("2022-01-04 09:00").record(
        "VoluntaryTreatmentRegistered", {"setting": "community"}, body=COMMUNE_COMMITTEE
    )

    case.at("2022-01-12 15:00").record(
        "VoluntaryTreatmentDecided",
        {"setting": "community", "provider": "Trạm Y tế phường Việt Hưng", "planned_months": 6},
        body=COMMUNE_COMMITTEE,
    )

    finding = only_finding(case, "2022-01-31", "V2")
    assert (finding.status, finding.due) == ("resolved", date(2022, 1, 7))


def test_detection_of_29_december_2021_is_not_judged_by_the_verification_deadline():
    case = Scenario(born="1995-04-12")
    case.at("2021-12-29 21:00").record("DrugUseDetected", body=COMMUNE_POLICE)

    case.at("2022-01-14 10:00").record("ResidenceVerified", body=COMMUNE_POLICE)

    assert findings(case.entries, "2022-01-31", "U3") == []
    assert steps(judge(case.entries, "2022-01-31"), "U3") == []


def test_detection_of_4_january_2022_is_judged_by_the_verification_deadline():
    case = Scenario(born="1995-04-12")
    case.at("2022-01-04 21:00").record("DrugUseDetected", body=COMMUNE_POLICE)

    case.at("2022-01-14 10:00").record("ResidenceVerified", body=COMMUNE_POLICE)

    finding = only_finding(case, "2022-01-31", "U3")
    assert (finding.status, finding.due) == ("resolved", date(2022, 1, 7))
