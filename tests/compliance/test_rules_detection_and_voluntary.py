"""Detection, user management, addiction determination and voluntary treatment (rulebook 1a-1c).

Each rule is shown broken and kept by a real-looking case. Dates are counted in Vietnamese
working days: Tết 2023 closes 20-26/01, and 29/04-03/05/2023 are days off (Hùng Kings moved to
02/05, Reunification and Labour Day observed on 03/05).
"""

from __future__ import annotations

from datetime import date

import pytest
from scenario import (
    COMMUNE,
    COMMUNE_COMMITTEE,
    COMMUNE_POLICE,
    HEALTH_FACILITY,
    OST_CLINIC,
    REMOTE_COMMUNE,
    Scenario,
    findings,
    judge,
    steps,
)

from domain.compliance import Finding, Step
from domain.compliance.engine import Judgement


def only_finding(case: Scenario, as_of: str, rule_id: str) -> Finding:
    found = findings(case.entries, as_of, rule_id)
    assert len(found) == 1, found
    return found[0]


def only_step(case: Scenario, as_of: str, rule_id: str) -> tuple[Step, Judgement]:
    judged = steps(judge(case.entries, as_of), rule_id)
    assert len(judged) == 1, judged
    return judged[0]


def detected(on: str, born: str = "1995-04-12", unit: str = COMMUNE) -> Scenario:
    """A young man caught using methamphetamine by the ward police."""
    case = Scenario(born=born)
    case.at(on).record(
        "DrugUseDetected", {"detecting_unit": unit}, body=COMMUNE_POLICE, name="detected"
    )
    case.record("DrugTestRecorded", {"tester_unit": unit}, body=COMMUNE_POLICE, name="tested")
    return case


def verified(case: Scenario, on: str, remote_area: bool = False) -> Scenario:
    return case.at(on).record(
        "ResidenceVerified",
        {"status": "stable", "remote_area": remote_area},
        body=COMMUNE_POLICE,
        name="verified",
    )


# --- U3: residence verified within 3 wd of detection (10 wd in a remote area) -----------------


def test_residence_verified_four_working_days_after_detection_is_late():
    case = detected("2023-03-06 21:30")  # Monday night

    verified(case, "2023-03-10 10:00")  # Friday: the 4th working day

    finding = only_finding(case, "2023-03-31", "U3")
    assert finding.status == "resolved"
    assert finding.due == date(2023, 3, 9)
    assert finding.resolved_on == date(2023, 3, 10)
    assert finding.evidence_event_ids == (case.id("detected"), case.id("verified"))
    step, judgement = only_step(case, "2023-03-31", "U3")
    assert step.event_id == case.id("verified")
    assert (judgement.status, judgement.late_by) == ("late", 1)


def test_residence_verified_within_three_working_days_complies():
    case = detected("2023-03-06 21:30")

    verified(case, "2023-03-09 16:00")

    assert findings(case.entries, "2023-03-31", "U3") == []
    step, judgement = only_step(case, "2023-03-31", "U3")
    assert step.event_id == case.id("verified")
    assert (judgement.status, judgement.due) == ("met", date(2023, 3, 9))


def test_verification_done_on_time_but_entered_late_is_missing_until_it_is_recorded():
    case = detected("2023-03-06 21:30")

    case.at("2023-03-08 10:00").record(
        "ResidenceVerified", body=COMMUNE_POLICE, name="verified", recorded="2023-03-20 16:00"
    )

    # Check the record as it stood on 15/03: the verification was not in it yet
    step, judgement = only_step(case, "2023-03-15", "U3")
    assert (step.status, judgement.status) == ("missing", "missing")
    assert only_finding(case, "2023-03-15", "U3").status == "open"
    # Check it once entered: the step was done in time, and the finding is gone
    step, judgement = only_step(case, "2023-03-31", "U3")
    assert (step.event_id, judgement.status) == (case.id("verified"), "met")
    assert findings(case.entries, "2023-03-31", "U3") == []


def test_verification_deadline_skips_tet_2023():
    case = detected("2023-01-18 14:00")  # Wednesday before Tết Quý Mão

    verified(case, "2023-01-30 09:00")  # 19/01, then 27/01 and 30/01 after the Tết days off

    assert findings(case.entries, "2023-02-28", "U3") == []
    _, judgement = only_step(case, "2023-02-28", "U3")
    assert (judgement.status, judgement.due) == ("met", date(2023, 1, 30))


def test_verification_the_day_after_the_tet_deadline_is_late():
    case = detected("2023-01-18 14:00")

    verified(case, "2023-01-31 09:00")

    finding = only_finding(case, "2023-02-28", "U3")
    assert (finding.status, finding.due) == ("resolved", date(2023, 1, 30))
    assert finding.evidence_event_ids == (case.id("detected"), case.id("verified"))
    _, judgement = only_step(case, "2023-02-28", "U3")
    assert (judgement.status, judgement.late_by) == ("late", 1)


def test_verification_due_across_reunification_and_labour_day_is_pending_then_missing():
    case = detected("2023-04-27 20:00")  # Thursday before the 29/04-03/05 days off

    before_due = only_step(case, "2023-05-05", "U3")
    after_due = only_step(case, "2023-05-06", "U3")

    step, judgement = before_due
    assert (step.status, judgement.status) == ("pending", "pending")
    assert judgement.due == date(2023, 5, 5)
    assert findings(case.entries, "2023-05-05", "U3") == []
    # Check the day after the due date: the step is missing and the finding open
    step, judgement = after_due
    assert (step.status, judgement.status) == ("missing", "missing")
    finding = only_finding(case, "2023-05-06", "U3")
    assert finding.status == "open"
    assert finding.due == date(2023, 5, 5)
    assert finding.detected_on == date(2023, 5, 6)
    assert finding.evidence_event_ids == (case.id("detected"),)


def test_verification_on_the_third_working_day_after_the_april_holidays_complies():
    case = detected("2023-04-27 20:00")

    verified(case, "2023-05-05 11:00")

    assert findings(case.entries, "2023-05-31", "U3") == []
    _, judgement = only_step(case, "2023-05-31", "U3")
    assert (judgement.status, judgement.due) == ("met", date(2023, 5, 5))


def test_remote_area_verification_seven_working_days_after_detection_complies():
    case = detected("2023-03-06 08:00", unit=REMOTE_COMMUNE)  # a highland commune, Hà Giang

    verified(case, "2023-03-15 10:00", remote_area=True)

    assert findings(case.entries, "2023-03-31", "U3") == []
    _, judgement = only_step(case, "2023-03-31", "U3")
    assert (judgement.status, judgement.due) == ("met", date(2023, 3, 20))
    assert "remote area" in judgement.title


def test_remote_area_verification_eleven_working_days_after_detection_is_late():
    case = detected("2023-03-06 08:00", unit=REMOTE_COMMUNE)

    verified(case, "2023-03-21 10:00", remote_area=True)

    finding = only_finding(case, "2023-03-31", "U3")
    assert (finding.status, finding.due) == ("resolved", date(2023, 3, 20))
    assert "remote area" in finding.title
    assert finding.evidence_event_ids == (case.id("detected"), case.id("verified"))


def test_second_detection_after_a_move_to_a_remote_area_gets_ten_working_days():
    case = detected("2022-06-06 21:00")
    verified(case, "2022-06-08 10:00", remote_area=False)
    # He moved to his family's village in Đồng Văn and was caught again there
    case.at("2023-03-06 08:00").record(
        "DrugUseDetected", {"detecting_unit": REMOTE_COMMUNE}, body=COMMUNE_POLICE
    )

    case.at("2023-03-15 10:00").record(
        "ResidenceVerified", {"status": "stable", "remote_area": True}, body=COMMUNE_POLICE
    )

    assert findings(case.entries, "2023-03-31", "U3") == []


# --- U6: management decision within 3 + 3 wd of the verification -----------------------------


def decide_management(case: Scenario, on: str, starts: str, ends: str, **extra) -> Scenario:
    return case.at(on).record(
        "UserManagementDecided",
        {"starts_on": starts, "ends_on": ends, **extra},
        body=COMMUNE_COMMITTEE,
        name="decided",
    )


def test_management_decided_seven_working_days_after_verification_is_late():
    case = verified(detected("2023-03-06 21:30"), "2023-03-09 10:00")

    decide_management(case, "2023-03-20 14:00", "2023-03-20", "2024-03-20")

    finding = only_finding(case, "2023-03-31", "U6")
    assert finding.status == "resolved"
    assert finding.due == date(2023, 3, 17)
    assert finding.evidence_event_ids == (case.id("verified"), case.id("decided"))
    _, judgement = only_step(case, "2023-03-31", "U6")
    assert (judgement.status, judgement.late_by) == ("late", 1)


def test_management_decided_within_six_working_days_of_verification_complies():
    case = verified(detected("2023-03-06 21:30"), "2023-03-09 10:00")

    decide_management(case, "2023-03-15 14:00", "2023-03-15", "2024-03-15")

    assert findings(case.entries, "2023-03-31", "U6") == []
    _, judgement = only_step(case, "2023-03-31", "U6")
    assert (judgement.status, judgement.due) == ("met", date(2023, 3, 17))


def test_no_management_decision_is_expected_once_the_person_is_found_addicted():
    case = verified(detected("2023-03-06 21:30"), "2023-03-09 10:00")

    case.at("2023-03-13 09:00").record(
        "AddictionDetermined",
        {"criteria_met": [1, 2, 4, 5], "conclusion": "addicted"},
        body=HEALTH_FACILITY,
    )

    assert findings(case.entries, "2023-04-30", "U6") == []
    assert steps(judge(case.entries, "2023-04-30"), "U6") == []


def test_no_management_decision_is_expected_after_a_negative_test():
    case = Scenario(born="1995-04-12")
    case.at("2023-03-06 21:30").record(
        "DrugUseDetected", {"detecting_unit": COMMUNE}, body=COMMUNE_POLICE
    )
    case.record("DrugTestRecorded", {"tester_unit": COMMUNE, "result": "negative"})
    verified(case, "2023-03-09 10:00")

    assert findings(case.entries, "2023-04-30", "U6") == []
    assert steps(judge(case.entries, "2023-04-30"), "U6") == []


# --- U7: management lasts 1 year ---------------------------------------------------------------


def test_management_decided_for_six_months_is_a_finding():
    case = verified(detected("2023-03-06 21:30"), "2023-03-09 10:00")

    decide_management(case, "2023-03-15 14:00", "2023-03-15", "2023-09-15")

    finding = only_finding(case, "2023-03-31", "U7")
    assert finding.status == "open"
    assert finding.due is None
    assert finding.detected_on == date(2023, 3, 15)
    assert finding.evidence_event_ids == (case.id("decided"),)
    assert "not 1 year" in finding.detail


@pytest.mark.parametrize("ends", ["2024-03-15", "2024-03-14"])
def test_management_decided_for_one_year_complies(ends):
    case = verified(detected("2023-03-06 21:30"), "2023-03-09 10:00")

    decide_management(case, "2023-03-15 14:00", "2023-03-15", ends)

    assert findings(case.entries, "2023-03-31", "U7") == []


# --- U11: end of management decided within 3 wd of the term's end -----------------------------


def managed_until(ends: str) -> Scenario:
    case = verified(detected("2023-03-06 21:30"), "2023-03-09 10:00")
    return decide_management(case, "2023-03-15 14:00", "2023-03-15", ends)


def test_management_not_ended_three_working_days_after_the_term_is_pending_then_missing():
    case = managed_until("2024-03-15")  # a Friday

    pending = only_step(case, "2024-03-20", "U11")
    missing = only_step(case, "2024-03-21", "U11")

    assert pending[0].status == "pending"
    assert (pending[1].status, pending[1].due) == ("pending", date(2024, 3, 20))
    assert (missing[0].status, missing[1].status) == ("missing", "missing")
    finding = only_finding(case, "2024-04-01", "U11")
    assert (finding.status, finding.due) == ("open", date(2024, 3, 20))
    assert finding.evidence_event_ids == (case.id("decided"),)


def test_management_ended_two_working_days_after_the_term_complies():
    case = managed_until("2024-03-15")

    case.at("2024-03-19 10:00").record("UserManagementEnded", body=COMMUNE_COMMITTEE, name="end")

    assert findings(case.entries, "2024-04-01", "U11") == []
    step, judgement = only_step(case, "2024-04-01", "U11")
    assert step.event_id == case.id("end")
    assert (judgement.status, judgement.due) == ("met", date(2024, 3, 20))


def test_management_ended_a_week_after_the_term_is_late():
    case = managed_until("2024-03-15")

    case.at("2024-03-22 10:00").record("UserManagementEnded", body=COMMUNE_COMMITTEE, name="end")

    finding = only_finding(case, "2024-04-01", "U11")
    assert (finding.status, finding.due) == ("resolved", date(2024, 3, 20))
    assert finding.evidence_event_ids == (case.id("decided"), case.id("end"))
    _, judgement = only_step(case, "2024-04-01", "U11")
    assert (judgement.status, judgement.late_by) == ("late", 2)


def test_management_stopped_for_addiction_mid_term_complies():
    case = managed_until("2024-03-15")

    case.at("2023-08-10 10:00").record(
        "UserManagementStopped", {"reason": "addicted"}, body=COMMUNE_COMMITTEE
    )

    assert findings(case.entries, "2024-04-01", "U11") == []
    _, judgement = only_step(case, "2024-04-01", "U11")
    assert judgement.status == "met"


def test_renewed_management_is_ended_at_the_renewed_term_not_the_first():
    case = managed_until("2024-03-15")
    # Caught using again in September: a new decision and a new 1-year term (Law 73 Art 23(2))
    case.at("2023-09-18 22:00").record("DrugUseDetected", body=COMMUNE_POLICE)
    decide_management(case, "2023-09-20 10:00", "2023-09-20", "2024-09-20", renewal=True)

    case.at("2024-09-23 10:00").record("UserManagementEnded", body=COMMUNE_COMMITTEE, name="end")

    assert findings(case.entries, "2024-10-31", "U11") == []
    step, judgement = only_step(case, "2024-10-31", "U11")
    assert step.event_id == case.id("end")
    assert (judgement.status, judgement.due) == ("met", date(2024, 9, 25))


# --- U12: a minor is tested (other than urine) only with a guardian's consent -----------------


def test_blood_test_of_a_fifteen_year_old_without_guardian_consent_is_a_finding():
    case = detected("2023-03-06 21:30", born="2007-11-02")

    case.at("2023-03-07 09:00").record(
        "DrugTestRecorded",
        {"sample": "blood", "substances": ["MDMA"], "guardian_consent": False},
        body=HEALTH_FACILITY,
        name="blood",
    )

    finding = only_finding(case, "2023-03-31", "U12")
    assert (finding.status, finding.due, finding.severity) == ("open", None, "high")
    assert finding.evidence_event_ids == (case.id("blood"),)
    assert "aged 15" in finding.detail


def test_blood_test_of_a_minor_with_his_mothers_consent_complies():
    case = detected("2023-03-06 21:30", born="2007-11-02")

    case.at("2023-03-07 09:00").record(
        "DrugTestRecorded",
        {"sample": "blood", "substances": ["MDMA"], "guardian_consent": True},
        body=HEALTH_FACILITY,
    )

    assert findings(case.entries, "2023-03-31", "U12") == []


def test_urine_test_of_a_minor_needs_no_consent():
    case = detected("2023-03-06 21:30", born="2007-11-02")  # its urine test has no consent

    assert findings(case.entries, "2023-03-31", "U12") == []


def test_blood_test_on_the_eighteenth_birthday_needs_no_consent():
    case = detected("2025-11-02 21:30", born="2007-11-02")

    case.at("2025-11-02 23:00").record(
        "DrugTestRecorded", {"sample": "blood", "guardian_consent": False}, body=HEALTH_FACILITY
    )

    assert findings(case.entries, "2025-11-30", "U12") == []


# --- D5: determination result within 5 days of receiving the person ---------------------------


def requested(handed_over_at: str) -> Scenario:
    case = detected("2023-03-06 21:30")
    return case.at("2023-03-06 23:00").record(
        "AddictionDeterminationRequested",
        {"ground": "b", "handed_over_at": handed_over_at},
        body=COMMUNE_POLICE,
        name="requested",
    )


def determined(case: Scenario, on: str, criteria: list[int], conclusion: str) -> Scenario:
    return case.at(on).record(
        "AddictionDetermined",
        {"criteria_met": criteria, "conclusion": conclusion},
        body=HEALTH_FACILITY,
        name="determined",
    )


def test_determination_six_days_after_hand_over_is_late():
    case = requested("2023-03-07T08:30:00+07:00")  # 12/03 is a Sunday: due Monday 13/03

    determined(case, "2023-03-14 15:00", [1, 2, 4], "addicted")

    finding = only_finding(case, "2023-03-31", "D5")
    assert (finding.status, finding.due) == ("resolved", date(2023, 3, 13))
    assert finding.evidence_event_ids == (case.id("requested"), case.id("determined"))
    _, judgement = only_step(case, "2023-03-31", "D5")
    assert (judgement.status, judgement.late_by, judgement.unit) == ("late", 1, "d")


def test_determination_due_on_a_sunday_may_be_returned_on_monday():
    case = requested("2023-03-07T08:30:00+07:00")

    determined(case, "2023-03-13 15:00", [1, 2, 4], "addicted")

    assert findings(case.entries, "2023-03-31", "D5") == []
    _, judgement = only_step(case, "2023-03-31", "D5")
    assert (judgement.status, judgement.due) == ("met", date(2023, 3, 13))


def test_determination_is_counted_from_the_hand_over_not_the_request():
    case = requested("2023-03-09T14:00:00+07:00")  # the person reached the hospital on Thursday

    determined(case, "2023-03-14 10:00", [1, 2, 4], "addicted")

    assert findings(case.entries, "2023-03-31", "D5") == []
    _, judgement = only_step(case, "2023-03-31", "D5")
    assert (judgement.status, judgement.due) == ("met", date(2023, 3, 14))


# --- D6: the conclusion follows the diagnostic criteria ---------------------------------------


@pytest.mark.parametrize(
    ("criteria", "conclusion"),
    [
        ([1, 2, 3], "addicted"),
        ([2, 4, 5, 6], "addicted"),
        ([2, 5], "observation"),
        ([4], "not_addicted"),
        ([3, 6], "not_addicted"),
        ([], "not_addicted"),
    ],
    ids=["3-addicted", "4-with-6-addicted", "2-without-6-observe", "1-not", "2-with-6-not", "0"],
)
def test_conclusion_that_follows_the_criteria_table_complies(criteria, conclusion):
    case = requested("2023-03-07T08:30:00+07:00")

    determined(case, "2023-03-10 10:00", criteria, conclusion)

    assert findings(case.entries, "2023-03-31", "D6") == []


@pytest.mark.parametrize(
    ("criteria", "conclusion", "expected"),
    [
        ([1, 2, 3], "not_addicted", "addicted"),
        ([2, 5], "addicted", "observation"),
        ([3, 6], "observation", "not_addicted"),
        ([4], "addicted", "not_addicted"),
    ],
    ids=["3-called-not", "2-without-6-called-addicted", "2-with-6-observed", "1-called-addicted"],
)
def test_conclusion_against_the_criteria_table_is_a_finding(criteria, conclusion, expected):
    case = requested("2023-03-07T08:30:00+07:00")

    determined(case, "2023-03-10 10:00", criteria, conclusion)

    finding = only_finding(case, "2023-03-31", "D6")
    assert (finding.status, finding.due, finding.severity) == ("open", None, "high")
    assert finding.evidence_event_ids == (case.id("determined"),)
    assert f"mean {expected}, not {conclusion}" in finding.detail


# --- D7: registration for voluntary rehab or OST within 5 wd of an addiction finding ----------


def found_addicted(on: str, caught: str) -> Scenario:
    return determined(detected(caught), on, [1, 2, 4, 5], "addicted")


def register(case: Scenario, on: str, setting: str = "community") -> Scenario:
    return case.at(on).record(
        "VoluntaryTreatmentRegistered",
        {"setting": setting},
        body=COMMUNE_COMMITTEE,
        name="registered",
    )


def test_no_registration_five_working_days_after_addiction_finding_is_pending_then_missing():
    # 5 wd: 28/04, then 04, 05, 08 and 09/05
    case = found_addicted("2023-04-27 10:00", caught="2023-04-20 21:30")

    pending = only_step(case, "2023-05-09", "D7")
    missing = only_step(case, "2023-05-10", "D7")

    assert (pending[0].status, pending[1].due) == ("pending", date(2023, 5, 9))
    assert findings(case.entries, "2023-05-09", "D7") == []
    assert (missing[0].status, missing[1].status) == ("missing", "missing")
    finding = only_finding(case, "2023-05-10", "D7")
    assert (finding.status, finding.due) == ("open", date(2023, 5, 9))
    assert finding.evidence_event_ids == (case.id("determined"),)


def test_registration_six_working_days_after_addiction_finding_is_late():
    case = found_addicted("2023-04-27 10:00", caught="2023-04-20 21:30")

    register(case, "2023-05-10 08:00")

    finding = only_finding(case, "2023-05-31", "D7")
    assert (finding.status, finding.due) == ("resolved", date(2023, 5, 9))
    assert finding.evidence_event_ids == (case.id("determined"), case.id("registered"))
    _, judgement = only_step(case, "2023-05-31", "D7")
    assert (judgement.status, judgement.late_by) == ("late", 1)


def test_registration_on_the_fifth_working_day_complies():
    case = found_addicted("2023-04-27 10:00", caught="2023-04-20 21:30")

    register(case, "2023-05-09 16:00", setting="ost")

    assert findings(case.entries, "2023-05-31", "D7") == []
    step, judgement = only_step(case, "2023-05-31", "D7")
    assert step.event_id == case.id("registered")
    assert judgement.status == "met"


def test_not_registering_is_resolved_not_open_once_the_violation_is_recorded():
    case = found_addicted("2023-04-27 10:00", caught="2023-04-20 21:30")

    case.at("2023-05-12 09:00").record(
        "ViolationRecorded", {"violation": "not_registered"}, body=COMMUNE_COMMITTEE
    )

    [finding] = findings(case.entries, "2023-05-31", "D7")
    assert (finding.status, finding.resolved_on) == ("resolved", date(2023, 5, 12))


def test_no_registration_is_expected_after_a_not_addicted_conclusion():
    case = determined(detected("2023-04-20 21:30"), "2023-04-27 10:00", [3], "not_addicted")

    assert findings(case.entries, "2023-05-31", "D7") == []
    assert steps(judge(case.entries, "2023-05-31"), "D7") == []


# --- V2: decision on family/community rehab or OST within 3 wd of registration ----------------


def registered(on: str, setting: str = "community") -> Scenario:
    return register(found_addicted("2023-02-27 10:00", caught="2023-02-20 21:30"), on, setting)


def decide_voluntary(case: Scenario, on: str, setting: str = "community", months: int = 6):
    providers = {
        "community": "Trạm Y tế phường Việt Hưng",
        "family": "Gia đình (tổ dân phố số 7)",
        "facility": "Cơ sở cai nghiện ma túy số 1 Hà Nội",
        "ost": "Cơ sở điều trị Methadone Long Biên",
    }
    return case.at(on).record(
        "VoluntaryTreatmentDecided",
        {"setting": setting, "provider": providers[setting], "planned_months": months},
        body=COMMUNE_COMMITTEE,
        name="decided",
    )


def test_community_rehab_decided_four_working_days_after_registration_is_late():
    case = registered("2023-03-06 09:00")

    decide_voluntary(case, "2023-03-10 15:00")

    finding = only_finding(case, "2023-03-31", "V2")
    assert (finding.status, finding.due) == ("resolved", date(2023, 3, 9))
    assert finding.evidence_event_ids == (case.id("registered"), case.id("decided"))
    _, judgement = only_step(case, "2023-03-31", "V2")
    assert (judgement.status, judgement.late_by) == ("late", 1)


def test_ost_decided_three_working_days_after_registration_complies():
    case = registered("2023-03-06 09:00", setting="ost")

    decide_voluntary(case, "2023-03-09 15:00", setting="ost")

    assert findings(case.entries, "2023-03-31", "V2") == []
    _, judgement = only_step(case, "2023-03-31", "V2")
    assert (judgement.status, judgement.due) == ("met", date(2023, 3, 9))


def test_undecided_family_rehab_registration_is_missing_after_three_working_days():
    case = registered("2023-03-06 09:00", setting="family")

    missing = only_step(case, "2023-03-10", "V2")

    assert (missing[0].status, missing[1].due) == ("missing", date(2023, 3, 9))
    finding = only_finding(case, "2023-03-10", "V2")
    assert finding.status == "open"
    assert finding.evidence_event_ids == (case.id("registered"),)


def test_facility_registration_is_not_judged_by_the_three_day_decision_rule():
    case = registered("2023-03-06 09:00", setting="facility")

    assert findings(case.entries, "2023-04-30", "V2") == []


# --- V3: voluntary rehab lasts 6 to 12 months -------------------------------------------------


def test_family_rehab_planned_for_three_months_is_a_finding():
    case = registered("2023-03-06 09:00", setting="family")

    decide_voluntary(case, "2023-03-08 15:00", setting="family", months=3)

    finding = only_finding(case, "2023-03-31", "V3")
    assert (finding.status, finding.due, finding.severity) == ("open", None, "low")
    assert finding.evidence_event_ids == (case.id("decided"),)
    assert "3 months, not 6-12" in finding.detail


@pytest.mark.parametrize(("setting", "months"), [("community", 6), ("facility", 12)])
def test_voluntary_rehab_of_six_to_twelve_months_complies(setting, months):
    case = registered("2023-03-06 09:00", setting=setting)

    decide_voluntary(case, "2023-03-08 15:00", setting=setting, months=months)

    assert findings(case.entries, "2023-03-31", "V3") == []


def test_ost_has_no_six_to_twelve_month_term():
    case = registered("2023-03-06 09:00", setting="ost")

    decide_voluntary(case, "2023-03-08 15:00", setting="ost", months=24)

    assert findings(case.entries, "2023-03-31", "V3") == []


# --- V6: treatment started within 5 wd of the decision ----------------------------------------


def test_treatment_started_six_working_days_after_the_decision_is_late():
    case = decide_voluntary(registered("2023-03-06 09:00"), "2023-03-09 15:00")

    case.at("2023-03-17 08:00").record("TreatmentStarted", body=COMMUNE_COMMITTEE, name="started")

    finding = only_finding(case, "2023-03-31", "V6")
    assert (finding.status, finding.due) == ("resolved", date(2023, 3, 16))
    assert finding.evidence_event_ids == (case.id("decided"), case.id("started"))
    _, judgement = only_step(case, "2023-03-31", "V6")
    assert (judgement.status, judgement.late_by) == ("late", 1)


def test_methadone_started_within_five_working_days_complies():
    case = decide_voluntary(registered("2023-03-06 09:00", "ost"), "2023-03-09 15:00", "ost")

    case.at("2023-03-13 07:00").record(
        "TreatmentStarted",
        {"setting": "ost", "provider": "Cơ sở điều trị Methadone Long Biên"},
        body=OST_CLINIC,
        name="started",
    )

    assert findings(case.entries, "2023-03-31", "V6") == []
    step, judgement = only_step(case, "2023-03-31", "V6")
    assert step.event_id == case.id("started")
    assert (judgement.status, judgement.due) == ("met", date(2023, 3, 16))


def test_treatment_not_started_is_missing_after_five_working_days():
    case = decide_voluntary(registered("2023-03-06 09:00"), "2023-03-09 15:00")

    pending = only_step(case, "2023-03-16", "V6")
    missing = only_step(case, "2023-03-17", "V6")

    assert pending[1].status == "pending"
    assert missing[1].status == "missing"
    finding = only_finding(case, "2023-03-17", "V6")
    assert (finding.status, finding.due) == ("open", date(2023, 3, 16))
    assert finding.evidence_event_ids == (case.id("decided"),)


def test_not_performing_is_resolved_not_open_once_recorded_as_a_violation():
    case = decide_voluntary(registered("2023-03-06 09:00"), "2023-03-09 15:00")

    case.at("2023-03-20 09:00").record(
        "ViolationRecorded", {"violation": "not_performed"}, body=COMMUNE_COMMITTEE
    )

    [finding] = findings(case.entries, "2023-03-31", "V6")
    assert (finding.status, finding.resolved_on) == ("resolved", date(2023, 3, 20))
