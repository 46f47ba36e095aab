"""Rulebook §1h-1j: execution of the decision, life in the facility, release and post-rehab
management (22+).

The running case: Trần Văn Tuấn's dossier reaches the district court on 19/03/2024; the court
applies 18 months on Thu 28/03/2024 and the decision takes effect on Fri 05/04/2024.
"""

from __future__ import annotations

from datetime import date

from domain.compliance import Finding
from tests.compliance.scenario import (
    COMMUNE_COMMITTEE,
    COMMUNE_POLICE,
    DISTRICT_COURT,
    DISTRICT_POLICE,
    HEALTH_FACILITY,
    Scenario,
    dossier_to_court,
    findings,
    judge,
    steps,
)

DOSSIER = "HS-01-004-001"
REF = {"dossier_id": DOSSIER}
FACILITY = "Cơ sở cai nghiện ma túy số 2 Hà Nội"
REHAB_FACILITY = {"kind": "rehab_facility", "unit": "01"}


def only(found: list[Finding]) -> Finding:
    assert len(found) == 1, found
    return found[0]


def adult() -> Scenario:
    return Scenario(born="1992-08-15", full_name="Trần Văn Tuấn")


def in_effect(effective_on: str = "2024-04-05") -> Scenario:
    """Decided Thu 28/03/2024 (18 months); the 5-wd complaint period ends Thu 04/04."""
    case = adult()
    dossier_to_court(case, "2024-03-04")
    case.at("2024-03-20 08:00").record(
        "CourtAccepted",
        {
            **REF,
            "court_case_no": "21/2024/TLST-BPXLHC",
            "judge": "Thẩm phán Đỗ Thị Hạnh",
            "ordinance": "PL03_2022",
        },
        body=DISTRICT_COURT,
    )
    case.at("2024-03-25 16:00").record(
        "CourtSessionScheduled",
        {**REF, "opened_on": "2024-03-25", "session_on": "2024-03-28", "mode": "in_person"},
        body=DISTRICT_COURT,
    )
    case.at("2024-03-28 08:30").record(
        "CourtSessionHeld", {**REF, "procurator_present": True}, body=DISTRICT_COURT
    )
    case.at("2024-03-28 11:00").record(
        "CourtDecisionIssued",
        {
            **REF,
            "outcome": "apply",
            "term_months": 18,
            "facility": FACILITY,
            "announced_on": "2024-03-28",
        },
        body=DISTRICT_COURT,
    )
    case.at(f"{effective_on} 08:00").record(
        "CourtDecisionTookEffect",
        {**REF, "effective_on": effective_on},
        body=DISTRICT_COURT,
        name="effect",
    )
    return case


def escort(
    case: Scenario,
    at: str,
    *,
    custody_started_at: str | None = None,
    decision_received_on: str | None = None,
) -> Scenario:
    data = {
        **REF,
        "facility": FACILITY,
        "custody_started_at": custody_started_at or f"{at.replace(' ', 'T')}:00+07:00",
    }
    if decision_received_on:
        data["decision_received_on"] = decision_received_on
    case.at(at).record("EscortedToFacility", data, body=DISTRICT_POLICE, name="escort")
    return case


def admit(case: Scenario, at: str) -> Scenario:
    case.at(at).record(
        "AdmittedToFacility",
        {"facility": FACILITY, "admission_kind": "compulsory"},
        body=REHAB_FACILITY,
        name="admitted",
    )
    return case


def in_facility() -> Scenario:
    """In custody from Mon 15/04/2024 07:30, admitted the same afternoon."""
    return admit(escort(in_effect(), "2024-04-15 07:30"), "2024-04-15 15:00")


def release(case: Scenario, on: str, certificate_no: str | None = "GCN-46/2025") -> Scenario:
    case.at(f"{on} 08:00").record(
        "ReleasedFromFacility",
        {"facility": FACILITY, "certificate_no": certificate_no},
        body=REHAB_FACILITY,
        name="released",
    )
    return case


def pre_release_notice(case: Scenario, on: str, term_ends_on: str = "2025-10-15") -> Scenario:
    case.at(f"{on} 09:00").record(
        "PreReleaseNoticeSent",
        {
            "term_ends_on": term_ends_on,
            "recipients": ["TAND quận Long Biên", "UBND phường Việt Hưng", "Gia đình"],
        },
        body=REHAB_FACILITY,
        name="notice",
    )
    return case


def released() -> Scenario:
    """The full 18 months served: notice on 25/09/2025, released Wed 15/10/2025."""
    return release(pre_release_notice(in_facility(), "2025-09-25"), "2025-10-15")


def report_return(case: Scenario, on: str) -> Scenario:
    case.at(f"{on} 09:00").record(
        "ReturnReported", {"reported_to": "commune_police"}, body=COMMUNE_POLICE, name="reported"
    )
    return case


def post_rehab(case: Scenario, on: str, starts_on: str, ends_on: str) -> Scenario:
    case.at(f"{on} 10:00").record(
        "PostRehabManagementDecided",
        {"starts_on": starts_on, "ends_on": ends_on},
        body=COMMUNE_COMMITTEE,
        name="post_rehab",
    )
    return case


def completed_voluntary_rehab(on: str = "2024-09-16") -> Scenario:
    """Six months of community rehab, completed on ``on``."""
    case = adult()
    case.at("2024-03-11 09:00").record("VoluntaryTreatmentRegistered", body=COMMUNE_COMMITTEE)
    case.at("2024-03-13 09:00").record("VoluntaryTreatmentDecided", body=COMMUNE_COMMITTEE)
    case.at("2024-03-16 09:00").record("TreatmentStarted")
    case.at(f"{on} 09:00").record(
        "TreatmentCompleted",
        {"setting": "community", "certificate_no": "GCN-26a/2024"},
        body=COMMUNE_COMMITTEE,
        name="completed",
    )
    return case


# --- E1: escort within 5 days of receiving the decision ---------------------------------------


def test_escort_nine_days_after_the_decision_took_effect_is_late() -> None:
    # Effect Fri 05/04/2024: 3 days to send + 5 to escort end Sat 13/04, moved to Mon 15/04.
    case = escort(in_effect(), "2024-04-16 07:30")

    evaluation = judge(case.entries, "2024-05-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "E1"])
    assert (finding.status, finding.due) == ("resolved", date(2024, 4, 15))
    assert finding.evidence_event_ids == (case.id("effect"), case.id("escort"))
    [(step, judgement)] = steps(evaluation, "E1")
    assert step.event_id == case.id("escort")
    assert (judgement.status, judgement.late_by, judgement.unit) == ("late", 1, "d")


def test_escort_on_the_monday_after_a_deadline_ending_on_saturday_is_in_time() -> None:
    case = escort(in_effect(), "2024-04-15 07:30")

    evaluation = judge(case.entries, "2024-05-01")

    assert [f for f in evaluation.findings if f.rule_id == "E1"] == []
    assert [j.status for _, j in steps(evaluation, "E1")] == ["met"]


def test_decision_in_effect_with_no_escort_is_a_missing_step() -> None:
    case = in_effect()

    evaluation = judge(case.entries, "2024-04-16")

    finding = only([f for f in evaluation.findings if f.rule_id == "E1"])
    assert (finding.status, finding.due) == ("open", date(2024, 4, 15))
    assert finding.evidence_event_ids == (case.id("effect"),)
    assert [(s.step, s.status) for s, _ in steps(evaluation, "E1")] == [
        ("Escorted to the facility", "missing")
    ]


def test_postponed_execution_stops_the_escort_deadline() -> None:
    case = in_effect()
    case.at("2024-04-10 14:00").record(
        "ExecutionDeferred",
        {
            **REF,
            "kind": "postponed",
            "reason": "Đang điều trị nội trú lao phổi tại Bệnh viện Phổi Hà Nội",
            "until": "2024-07-10",
        },
        body=DISTRICT_COURT,
    )

    evaluation = judge(case.entries, "2024-05-01")

    assert [f for f in evaluation.findings if f.rule_id == "E1"] == []
    assert steps(evaluation, "E1") == []


def test_absconding_before_the_escort_stops_the_escort_deadline() -> None:
    case = in_effect()
    case.at("2024-04-09 22:00").record(
        "Absconded", {"phase": "before_admission"}, body=COMMUNE_POLICE
    )

    evaluation = judge(case.entries, "2024-05-01")

    assert [f for f in evaluation.findings if f.rule_id == "E1"] == []
    assert steps(evaluation, "E1") == []


def test_absconding_a_month_after_the_escort_fell_due_does_not_excuse_the_missed_escort() -> None:
    # ENGINE BUG (engine._judge_deadline): an ``unless`` event stops a deadline whenever it
    # happens, even after the step fell due, so a breach already committed disappears.
    case = in_effect()
    case.at("2024-05-20 22:00").record(
        "Absconded", {"phase": "before_admission"}, body=COMMUNE_POLICE
    )

    before = judge(case.entries, "2024-05-19")
    after = judge(case.entries, "2024-05-21")

    for evaluation in (before, after):
        finding = only([f for f in evaluation.findings if f.rule_id == "E1"])
        assert (finding.status, finding.due) == ("open", date(2024, 4, 15))
        assert finding.evidence_event_ids[0] == case.id("effect")


def test_custody_taken_the_night_after_the_fifth_day_in_vietnam_is_a_late_escort() -> None:
    # Received Fri 05/04: due Wed 10/04. 18:00 UTC on 10/04 is 01:00 on Thu 11/04 in Hà Nội.
    case = escort(
        in_effect(),
        "2024-04-11 06:00",
        custody_started_at="2024-04-10T18:00:00+00:00",
        decision_received_on="2024-04-05",
    )

    evaluation = judge(case.entries, "2024-05-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "E1"])
    assert (finding.status, finding.due) == ("open", None)
    assert finding.evidence_event_ids == (case.id("escort"),)
    assert "escorted on 2024-04-11, after 2024-04-10" in finding.detail
    assert [j.status for _, j in steps(evaluation, "E1")] == ["met"]  # within 8 days of effect


def test_custody_taken_on_the_fifth_day_after_receiving_the_decision_is_in_time() -> None:
    case = escort(
        in_effect(),
        "2024-04-10 07:30",
        custody_started_at="2024-04-10T07:30:00+07:00",
        decision_received_on="2024-04-05",
    )

    assert findings(case.entries, "2024-05-01", "E1") == []


# --- E2: compulsory admission rests on a decision in effect -----------------------------------


def test_compulsory_admission_without_a_decision_in_effect_is_a_finding() -> None:
    case = adult()
    case.at("2024-03-04 09:00").record("ViolationRecorded", {"violation": "quit"})
    admit(case, "2024-03-05 15:00")

    finding = only(findings(case.entries, "2024-04-01", "E2"))

    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("admitted"),)


def test_compulsory_admission_after_the_escort_is_lawful() -> None:
    case = in_facility()

    assert findings(case.entries, "2024-05-01", "E2") == []


# --- E8: a search decision after absconding ---------------------------------------------------


def abscond(case: Scenario, on: str, search_on: str | None, returned_on: str) -> Scenario:
    case.at(f"{on} 21:00").record("Absconded", {"phase": "in_facility"}, body=REHAB_FACILITY)
    if search_on:
        case.at(f"{search_on} 09:00").record("SearchDecided", body=REHAB_FACILITY)
    case.at(f"{returned_on} 17:00").record(
        "Returned", {"how": "apprehended"}, body=DISTRICT_POLICE, name=f"returned {returned_on}"
    )
    return case


def test_return_from_absconding_without_a_search_decision_is_a_finding() -> None:
    case = abscond(in_facility(), "2024-08-01", None, "2024-08-05")

    finding = only(findings(case.entries, "2024-09-01", "E8"))

    assert finding.status == "open"
    assert finding.evidence_event_ids == (case.id("returned 2024-08-05"),)
    assert "absconding on 2024-08-01" in finding.detail


def test_return_after_a_search_decision_is_lawful() -> None:
    case = abscond(in_facility(), "2024-08-01", "2024-08-02", "2024-08-05")

    assert findings(case.entries, "2024-09-01", "E8") == []


def test_a_search_decision_for_an_earlier_absconding_does_not_cover_the_next() -> None:
    case = abscond(in_facility(), "2024-08-01", "2024-08-02", "2024-08-05")
    abscond(case, "2024-10-14", None, "2024-10-20")

    finding = only(findings(case.entries, "2024-11-01", "E8"))

    assert finding.evidence_event_ids == (case.id("returned 2024-10-20"),)


# --- F1: reduction only after half the term, by at most 6 months ------------------------------


def reduce(case: Scenario, on: str, months: int) -> Scenario:
    case.at(f"{on} 10:00").record(
        "TermAdjusted", {"kind": "reduction", "months": months}, body=DISTRICT_COURT, name="cut"
    )
    return case


def test_reduction_before_half_the_term_is_served_is_a_finding() -> None:
    # 18 months from 15/04/2024 end 15/10/2025; half is served on 14/01/2025.
    case = reduce(in_facility(), "2025-01-10", months=3)

    finding = only(findings(case.entries, "2025-02-01", "F1"))

    assert finding.status == "open"
    assert finding.evidence_event_ids == (case.id("cut"),)
    assert "before half the 18-month term was served (2025-01-14)" in finding.detail


def test_reduction_of_eight_months_is_a_finding() -> None:
    case = reduce(in_facility(), "2025-02-10", months=8)

    finding = only(findings(case.entries, "2025-03-01", "F1"))

    assert "reduction of 8 months" in finding.detail


def test_three_month_reduction_after_half_the_term_is_lawful() -> None:
    case = reduce(in_facility(), "2025-01-20", months=3)

    assert findings(case.entries, "2025-02-01", "F1") == []


# --- F7, F8: notice at least 15 days ahead; release with notice and certificate ----------------


def test_pre_release_notice_ten_days_before_the_term_ends_is_a_finding() -> None:
    case = pre_release_notice(in_facility(), "2025-10-05")

    finding = only(findings(case.entries, "2025-10-20", "F7"))

    assert finding.status == "open"
    assert finding.evidence_event_ids == (case.id("notice"),)
    assert "less than 15 days before 2025-10-15" in finding.detail


def test_pre_release_notice_fifteen_days_before_the_term_ends_is_in_time() -> None:
    case = pre_release_notice(in_facility(), "2025-09-30")

    assert findings(case.entries, "2025-10-20", "F7") == []


def test_release_without_notice_or_completion_certificate_is_a_finding() -> None:
    case = release(in_facility(), "2025-10-15", certificate_no=None)

    finding = only(findings(case.entries, "2025-10-20", "F8"))

    assert finding.status == "open"
    assert finding.evidence_event_ids == (case.id("released"),)
    assert "no pre-release notice and no completion certificate (Form 46)" in finding.detail


def test_release_with_notice_and_certificate_is_lawful() -> None:
    case = released()

    assert findings(case.entries, "2025-10-20", "F8") == []


# --- F9: return reported within 5 wd ----------------------------------------------------------


def test_return_reported_six_working_days_after_release_is_late() -> None:
    case = report_return(released(), "2025-10-23")

    evaluation = judge(case.entries, "2025-11-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "F9"])
    assert (finding.status, finding.due, finding.severity) == (
        "resolved",
        date(2025, 10, 22),
        "low",
    )
    assert finding.evidence_event_ids == (case.id("released"), case.id("reported"))
    [(step, judgement)] = steps(evaluation, "F9")
    assert (step.event_id, judgement.status, judgement.late_by) == (case.id("reported"), "late", 1)


def test_return_reported_on_the_fifth_working_day_is_in_time() -> None:
    case = report_return(released(), "2025-10-22")

    evaluation = judge(case.entries, "2025-11-01")

    assert [f for f in evaluation.findings if f.rule_id == "F9"] == []
    assert [j.status for _, j in steps(evaluation, "F9")] == ["met"]


def test_return_never_reported_is_missing() -> None:
    case = released()

    evaluation = judge(case.entries, "2025-10-23")

    finding = only([f for f in evaluation.findings if f.rule_id == "F9"])
    assert (finding.status, finding.due) == ("open", date(2025, 10, 22))
    assert finding.evidence_event_ids == (case.id("released"),)
    assert [(s.step, s.status) for s, _ in steps(evaluation, "F9")] == [
        ("Return reported", "missing")
    ]


# --- P1: post-rehab term ----------------------------------------------------------------------


def test_one_year_of_post_rehab_after_an_adults_compulsory_rehab_is_a_finding() -> None:
    case = report_return(released(), "2025-10-16")
    post_rehab(case, "2025-10-20", starts_on="2025-10-15", ends_on="2026-10-15")

    finding = only(findings(case.entries, "2025-11-01", "P1"))

    assert finding.status == "open"
    assert finding.evidence_event_ids == (case.id("post_rehab"),)
    assert "2 year(s) after an adult's compulsory rehab" in finding.detail


def test_two_years_of_post_rehab_after_an_adults_compulsory_rehab_is_lawful() -> None:
    case = report_return(released(), "2025-10-16")
    post_rehab(case, "2025-10-20", starts_on="2025-10-15", ends_on="2027-10-15")

    assert findings(case.entries, "2025-11-01", "P1") == []


def test_two_years_of_post_rehab_after_voluntary_rehab_is_a_finding() -> None:
    case = post_rehab(
        completed_voluntary_rehab(), "2024-09-18", starts_on="2024-09-16", ends_on="2026-09-16"
    )

    finding = only(findings(case.entries, "2024-10-01", "P1"))

    assert "1 year(s) after voluntary rehab" in finding.detail


def test_one_year_of_post_rehab_after_voluntary_rehab_is_lawful() -> None:
    case = post_rehab(
        completed_voluntary_rehab(), "2024-09-18", starts_on="2024-09-16", ends_on="2025-09-16"
    )

    assert findings(case.entries, "2024-10-01", "P1") == []


# --- P3: the post-rehab decision within 5 wd --------------------------------------------------


def test_post_rehab_decision_six_working_days_after_the_return_report_is_late() -> None:
    case = report_return(released(), "2025-10-16")
    post_rehab(case, "2025-10-24", starts_on="2025-10-15", ends_on="2027-10-15")

    evaluation = judge(case.entries, "2025-11-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "P3"])
    assert (finding.status, finding.due) == ("resolved", date(2025, 10, 23))
    assert finding.evidence_event_ids == (case.id("reported"), case.id("post_rehab"))
    [(step, judgement)] = steps(evaluation, "P3")
    assert (step.event_id, judgement.status, judgement.late_by) == (
        case.id("post_rehab"),
        "late",
        1,
    )


def test_post_rehab_decision_five_working_days_after_the_return_report_is_in_time() -> None:
    case = report_return(released(), "2025-10-16")
    post_rehab(case, "2025-10-23", starts_on="2025-10-15", ends_on="2027-10-15")

    evaluation = judge(case.entries, "2025-11-01")

    assert [f for f in evaluation.findings if f.rule_id == "P3"] == []
    assert [j.status for _, j in steps(evaluation, "P3")] == ["met"]


def test_no_post_rehab_decision_after_voluntary_rehab_is_missing_after_national_day() -> None:
    # Completed Fri 29/08/2025; 01-02/09 are National Day: due Tue 09/09.
    case = completed_voluntary_rehab("2025-08-29")

    on_due_day = judge(case.entries, "2025-09-09")
    after = judge(case.entries, "2025-09-10")

    assert [f for f in on_due_day.findings if f.rule_id == "P3"] == []
    finding = only([f for f in after.findings if f.rule_id == "P3"])
    assert (finding.status, finding.due) == ("open", date(2025, 9, 9))
    assert finding.evidence_event_ids == (case.id("completed"),)
    assert [(s.step, s.status) for s, _ in steps(after, "P3")] == [
        ("Post-rehab management decided", "missing")
    ]


# --- P5: completion at the end of the term ----------------------------------------------------


def complete_post_rehab(on: str) -> Scenario:
    case = post_rehab(
        completed_voluntary_rehab(), "2024-09-18", starts_on="2024-09-16", ends_on="2025-09-16"
    )
    case.at(f"{on} 10:00").record(
        "PostRehabManagementCompleted",
        {"certificate_no": "GCN-54/2025"},
        body=COMMUNE_COMMITTEE,
        name="done",
    )
    return case


def test_post_rehab_completed_before_the_end_of_its_term_is_a_finding() -> None:
    case = complete_post_rehab("2025-09-10")

    finding = only(findings(case.entries, "2025-10-01", "P5"))

    assert (finding.status, finding.severity) == ("open", "low")
    assert finding.evidence_event_ids == (case.id("done"),)
    assert "before its end on 2025-09-16" in finding.detail


def test_post_rehab_completed_at_the_end_of_its_term_is_lawful() -> None:
    case = complete_post_rehab("2025-09-16")

    assert findings(case.entries, "2025-10-01", "P5") == []


# --- P6: a relapse rests on a determination of addiction --------------------------------------


def relapse_after_positive_test(determined: str | None) -> Scenario:
    case = post_rehab(
        completed_voluntary_rehab(), "2024-09-18", starts_on="2024-09-16", ends_on="2025-09-16"
    )
    case.at("2025-02-10 20:00").record(
        "DrugTestRecorded", {"substances": ["heroin"]}, body=COMMUNE_POLICE, name="test"
    )
    evidence = [case.id("test")]
    if determined:
        case.at("2025-02-14 10:00").record(
            "AddictionDetermined",
            {"criteria_met": [1, 3, 5, 6], "conclusion": determined, "substances": ["heroin"]},
            body=HEALTH_FACILITY,
            name="determined",
        )
        evidence.append(case.id("determined"))
    case.at("2025-02-17 09:00").record(
        "RelapseRecorded",
        {"evidence_event_ids": evidence, "substances": ["heroin"]},
        body=COMMUNE_POLICE,
        name="relapse",
    )
    return case


def test_relapse_recorded_on_a_positive_test_alone_is_a_finding() -> None:
    case = relapse_after_positive_test(determined=None)

    finding = only(findings(case.entries, "2025-03-01", "P6"))

    assert finding.status == "open"
    assert finding.evidence_event_ids == (case.id("relapse"),)


def test_relapse_recorded_on_a_determination_that_found_no_addiction_is_a_finding() -> None:
    case = relapse_after_positive_test(determined="not_addicted")

    assert len(findings(case.entries, "2025-03-01", "P6")) == 1


def test_relapse_recorded_on_a_determination_of_addiction_is_lawful() -> None:
    case = relapse_after_positive_test(determined="addicted")

    assert findings(case.entries, "2025-03-01", "P6") == []
