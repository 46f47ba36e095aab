"""Rulebook §1g: the court stage. PL 09/2014 for adults accepted up to 31/01/2023, PL 03/2022 from
01/02/2023, PL 01/2022 for minors from 24/03/2022.

Court rules follow the ordinance in force on the day the court accepted the dossier (PL03 Art
44), never the date of the step they judge.
"""

from __future__ import annotations

from datetime import date

from domain.compliance import ComplianceConfig, Finding, evaluate
from tests.compliance.scenario import (
    DISTRICT,
    DISTRICT_COURT,
    Scenario,
    dossier_to_court,
    findings,
    judge,
    steps,
)

DOSSIER = "HS-01-004-001"
REF = {"dossier_id": DOSSIER}
PROVINCIAL_COURT = {"kind": "provincial_court", "unit": "01"}
FACILITY = "Cơ sở cai nghiện ma túy số 2 Hà Nội"
COURT_RULES = ("K1", "K2", "K5", "K6", "K7", "K10", "K13", "K15")


def only(found: list[Finding]) -> Finding:
    assert len(found) == 1, found
    return found[0]


def rule_ids(case: Scenario, when: str, config: ComplianceConfig | None = None) -> set[str]:
    return {f.rule_id for f in judge(case.entries, when, config).findings}


def adult() -> Scenario:
    return Scenario(born="1992-08-15", full_name="Trần Văn Tuấn")


def minor() -> Scenario:
    return Scenario(born="2006-05-10", full_name="Lê Minh Khang")


def accept(
    case: Scenario,
    on: str,
    ordinance: str,
    *,
    body: dict[str, str] = DISTRICT_COURT,
    case_no: str = "12/2023/TLST-BPXLHC",
) -> Scenario:
    case.at(f"{on} 08:00").record(
        "CourtAccepted",
        {**REF, "court_case_no": case_no, "judge": "Thẩm phán Đỗ Thị Hạnh", "ordinance": ordinance},
        body=body,
        name="accepted",
    )
    return case


def schedule(case: Scenario, opened_on: str, session_on: str) -> Scenario:
    case.at(f"{opened_on} 16:00").record(
        "CourtSessionScheduled",
        {**REF, "opened_on": opened_on, "session_on": session_on, "mode": "in_person"},
        body=DISTRICT_COURT,
        name="scheduled",
    )
    return case


def hold(case: Scenario, on: str, procurator: bool = True) -> Scenario:
    attendees = ["Kiểm sát viên Vũ Văn Nam"] if procurator else []
    case.at(f"{on} 08:30").record(
        "CourtSessionHeld",
        {
            **REF,
            "procurator_present": procurator,
            "attendees": [*attendees, "Trưởng phòng LĐTBXH", "Trần Văn Tuấn"],
        },
        body=DISTRICT_COURT,
        name="held",
    )
    return case


def decide(
    case: Scenario,
    on: str,
    outcome: str = "apply",
    term: int | None = 18,
    complex_case: bool = False,
) -> Scenario:
    case.at(f"{on} 11:00").record(
        "CourtDecisionIssued",
        {
            **REF,
            "outcome": outcome,
            "term_months": term if outcome == "apply" else None,
            "facility": FACILITY if outcome == "apply" else None,
            "announced_on": on,
            "complex_case": complex_case,
        },
        body=DISTRICT_COURT,
        name="decided",
    )
    return case


def took_effect(case: Scenario, on: str) -> Scenario:
    case.at(f"{on} 16:00").record(
        "CourtDecisionTookEffect", {**REF, "effective_on": on}, body=DISTRICT_COURT, name="effect"
    )
    return case


def complain(case: Scenario, on: str) -> Scenario:
    case.at(f"{on} 10:00").record(
        "CourtDecisionAppealed",
        {**REF, "kind": "complaint", "filed_by": "Trần Văn Tuấn", "filed_on": on},
        name="complaint",
    )
    return case


def adult_before_the_court(violation_on: str = "2023-02-06") -> Scenario:
    """An adult's dossier, compiled in time; at the district court on Tue 21/02/2023."""
    case = adult()
    dossier_to_court(case, violation_on)
    return case


def adult_accepted(on: str = "2023-03-01") -> Scenario:
    return accept(adult_before_the_court(), on, "PL03_2022")


# --- K1: the district court --------------------------------------------------------------------


def test_dossier_accepted_by_the_provincial_court_is_a_finding() -> None:
    case = accept(adult_before_the_court(), "2023-03-01", "PL03_2022", body=PROVINCIAL_COURT)

    finding = only(findings(case.entries, "2023-04-01", "K1"))

    assert (finding.status, finding.confidence) == ("open", "S")
    assert finding.evidence_event_ids == (case.id("accepted"),)
    assert finding.detected_on == date(2023, 3, 1)
    assert "provincial_court" in finding.detail


def test_dossier_accepted_by_the_district_court_is_lawful() -> None:
    case = adult_accepted("2023-03-01")

    assert findings(case.entries, "2023-04-01", "K1") == []


# --- K15 and the switch from PL 09/2014 to PL 03/2022 on 01/02/2023 ----------------------------


def test_adult_dossier_accepted_on_31_january_2023_under_pl03_is_a_finding() -> None:
    case = accept(adult_before_the_court("2023-01-03"), "2023-01-31", "PL03_2022")

    finding = only(findings(case.entries, "2023-03-01", "K15"))

    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("accepted"),)
    assert "PL09_2014 was in force" in finding.detail


def test_adult_dossier_accepted_on_1_february_2023_under_pl09_is_a_finding() -> None:
    case = accept(adult_before_the_court("2023-01-03"), "2023-02-01", "PL09_2014")

    finding = only(findings(case.entries, "2023-03-01", "K15"))

    assert "PL03_2022 was in force" in finding.detail


def late_session_without_procurator_and_late_decision(case: Scenario) -> Scenario:
    """Open the session on Mon 06/02/2023, hold it on 20/02 without the procurator, decide 10/03."""
    schedule(case, opened_on="2023-02-06", session_on="2023-02-10")
    hold(case, "2023-02-20", procurator=False)
    return decide(case, "2023-03-10")


def test_adult_dossier_accepted_on_31_january_2023_stays_under_pl09_for_steps_after_it() -> None:
    # The session and decision fall after 01/02/2023, but the court accepted the dossier under
    # PL 09/2014, whose deadlines were not verified (K16): no PL 03 court rule judges them.
    case = accept(adult_before_the_court("2023-01-03"), "2023-01-31", "PL09_2014")
    late_session_without_procurator_and_late_decision(case)

    evaluation = judge(case.entries, "2023-04-01")

    assert {f.rule_id for f in evaluation.findings}.isdisjoint(COURT_RULES)
    assert steps(evaluation, "K5") == []
    assert steps(evaluation, "K6") == []


def test_adult_dossier_accepted_on_1_february_2023_is_judged_under_pl03() -> None:
    case = accept(adult_before_the_court("2023-01-03"), "2023-02-01", "PL03_2022")
    late_session_without_procurator_and_late_decision(case)

    evaluation = judge(case.entries, "2023-04-01")

    by_rule: dict[str, list[Finding]] = {}
    for f in evaluation.findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    assert set(by_rule) & set(COURT_RULES) == {"K5", "K6", "K7"}
    k6 = only(by_rule["K6"])
    assert (k6.status, k6.due) == ("resolved", date(2023, 2, 15))
    assert k6.evidence_event_ids == (case.id("scheduled"), case.id("held"))
    k7 = only(by_rule["K7"])
    assert (k7.status, k7.evidence_event_ids) == ("open", (case.id("held"),))
    within_30 = only([f for f in by_rule["K5"] if f.due is not None])
    assert (within_30.status, within_30.due) == ("resolved", date(2023, 3, 3))
    assert within_30.evidence_event_ids == (case.id("accepted"), case.id("decided"))
    within_15 = only([f for f in by_rule["K5"] if f.due is None])
    assert within_15.status == "open"
    assert "after 2023-02-16" in within_15.detail
    assert within_30.regime == within_15.regime == "CT-PL03"


# --- K15 and K5 for minors: PL 01/2022 from 24/03/2022 ----------------------------------------


def minor_before_the_court() -> Scenario:
    """A 15-year-old's dossier (Art 33(1)), at the district court on Tue 08/03/2022."""
    case = minor()
    dossier_to_court(case, "2022-02-21", route="minor", ground="Art 33(1)")
    return case


def test_minors_dossier_accepted_before_pl01_came_into_force_is_an_unverified_finding() -> None:
    case = accept(minor_before_the_court(), "2022-03-20", "PL01_2022", case_no="03/2022/TLST-VTN")
    decide(case, "2022-05-10", term=9)

    by_default = judge(case.entries, "2022-06-01")
    enabled = evaluate(
        case.entries,
        by_default.as_of,
        ComplianceConfig(enabled_unverified=frozenset({"J6"})),
    )

    assert [f for f in by_default.findings if f.rule_id in ("J6", "K15")] == []
    finding = only([f for f in enabled.findings if f.rule_id == "J6"])
    assert (finding.status, finding.evidence_event_ids) == ("open", (case.id("accepted"),))
    assert "no ordinance for minors was in force on 2022-03-20" in finding.detail
    assert "unverified legal basis" in finding.detail
    assert [f for f in enabled.findings if f.rule_id == "K5"] == []  # no PL01 deadline yet


def test_minors_dossier_accepted_under_pl01_is_held_to_its_deadline_on_a_secondary_source() -> None:
    # Accepted Fri 01/04/2022: 15 days end Sat 16/04 (-> Mon 18/04); 30 days end Sun 01/05,
    # in the 30/4-1/5 holidays observed to Tue 03/05 (-> Wed 04/05).
    case = accept(minor_before_the_court(), "2022-04-01", "PL01_2022", case_no="05/2022/TLST-VTN")
    decide(case, "2022-05-10", term=9)

    evaluation = judge(case.entries, "2022-06-01")

    assert [f for f in evaluation.findings if f.rule_id == "K15"] == []
    k5 = [f for f in evaluation.findings if f.rule_id == "K5"]
    assert {f.confidence for f in k5} == {"S"}
    within_30 = only([f for f in k5 if f.due is not None])
    assert (within_30.status, within_30.due) == ("resolved", date(2022, 5, 4))
    assert within_30.evidence_event_ids == (case.id("accepted"), case.id("decided"))
    assert within_30.regime == "CT-PL01"
    within_15 = only([f for f in k5 if f.due is None])
    assert "after 2022-04-18" in within_15.detail
    [(step, judgement)] = steps(evaluation, "K5")
    assert (step.event_id, judgement.status, judgement.late_by) == (case.id("decided"), "late", 6)


def test_minors_dossier_accepted_under_pl01_and_decided_in_two_weeks_is_in_time() -> None:
    case = accept(minor_before_the_court(), "2022-04-01", "PL01_2022", case_no="05/2022/TLST-VTN")
    decide(case, "2022-04-15", term=9)

    evaluation = judge(case.entries, "2022-06-01")

    assert [f for f in evaluation.findings if f.rule_id in ("K5", "K15")] == []
    assert [j.status for _, j in steps(evaluation, "K5")] == ["met"]


# --- K2: an incomplete dossier goes back within 2 wd; no session before acceptance -------------


def court_returns(case: Scenario, on: str) -> Scenario:
    case.at(f"{on} 15:00").record(
        "DossierReturnedForSupplement",
        {**REF, "returned_by": "court", "reasons": ["Thiếu kết quả xác định tình trạng nghiện"]},
        body=DISTRICT_COURT,
        name="returned",
    )
    case.at("2023-02-27 09:00").record("DossierSupplemented", REF)
    case.at("2023-02-27 15:00").record(
        "DossierSentToCourt",
        {**REF, "court_unit": DISTRICT, "proposed_facility": FACILITY},
    )
    return accept(case, "2023-03-01", "PL03_2022")


def test_court_returning_an_incomplete_dossier_three_working_days_after_receipt_is_a_finding() -> (
    None
):
    case = court_returns(adult_before_the_court(), "2023-02-24")

    finding = only(
        [f for f in findings(case.entries, "2023-04-01", "K2") if "returned" in f.detail]
    )

    assert finding.status == "open"
    assert finding.evidence_event_ids == (case.id("returned"),)
    assert "after 2023-02-23" in finding.detail


def test_court_returning_an_incomplete_dossier_within_two_working_days_is_lawful() -> None:
    case = court_returns(adult_before_the_court(), "2023-02-23")

    assert findings(case.entries, "2023-04-01", "K2") == []


def test_session_held_on_a_dossier_the_court_never_accepted_is_a_finding() -> None:
    case = adult_before_the_court()
    hold(case, "2023-03-02")

    finding = only(findings(case.entries, "2023-04-01", "K2"))

    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("held"),)
    assert "CourtAccepted" in finding.detail


# --- K6: the session within 7 wd of the decision to open it -----------------------------------


def test_session_held_within_seven_working_days_of_opening_is_in_time() -> None:
    case = schedule(adult_accepted("2023-03-01"), opened_on="2023-03-06", session_on="2023-03-10")
    hold(case, "2023-03-15")

    evaluation = judge(case.entries, "2023-04-01")

    assert [f for f in evaluation.findings if f.rule_id in ("K6", "K7")] == []
    [(step, judgement)] = steps(evaluation, "K6")
    assert (step.event_id, judgement.status, judgement.due) == (
        case.id("held"),
        "met",
        date(2023, 3, 15),
    )


def test_session_never_held_is_missing_once_the_seven_working_days_have_passed() -> None:
    case = schedule(adult_accepted("2023-03-01"), opened_on="2023-03-06", session_on="2023-03-10")

    evaluation = judge(case.entries, "2023-03-16")

    finding = only([f for f in evaluation.findings if f.rule_id == "K6"])
    assert (finding.status, finding.due) == ("open", date(2023, 3, 15))
    assert finding.evidence_event_ids == (case.id("scheduled"),)
    assert [(s.step, s.status) for s, _ in steps(evaluation, "K6")] == [
        ("Court session held", "missing")
    ]


def test_postponed_session_is_not_held_to_the_first_opening_decision() -> None:
    case = schedule(adult_accepted("2023-03-01"), opened_on="2023-03-06", session_on="2023-03-10")
    case.at("2023-03-10 08:00").record(
        "CourtSessionPostponed",
        {**REF, "reason": "Người bị đề nghị ốm, có giấy của TTYT", "new_session_on": "2023-03-24"},
        body=DISTRICT_COURT,
    )
    hold(case, "2023-03-24")

    evaluation = judge(case.entries, "2023-04-01")

    assert [f for f in evaluation.findings if f.rule_id == "K6"] == []


def test_postponing_a_session_that_is_already_overdue_does_not_excuse_the_delay() -> None:
    # ENGINE BUG (engine._judge_deadline): an ``unless`` event stops a deadline whenever it
    # happens, even after the step fell due, so the overdue session disappears from the record.
    case = schedule(adult_accepted("2023-03-01"), opened_on="2023-03-06", session_on="2023-03-10")
    case.at("2023-03-24 08:00").record(
        "CourtSessionPostponed",
        {**REF, "reason": "Vắng Kiểm sát viên", "new_session_on": "2023-03-31"},
        body=DISTRICT_COURT,
    )

    finding = only(findings(case.entries, "2023-03-30", "K6"))

    assert (finding.status, finding.due) == ("open", date(2023, 3, 15))
    assert finding.evidence_event_ids[0] == case.id("scheduled")


def test_minors_session_window_is_an_unverified_rule_off_unless_enabled() -> None:
    case = accept(minor_before_the_court(), "2022-04-01", "PL01_2022", case_no="05/2022/TLST-VTN")
    schedule(case, opened_on="2022-04-05", session_on="2022-04-08")
    hold(case, "2022-04-20")

    by_default = judge(case.entries, "2022-06-01")
    enabled = judge(
        case.entries, "2022-06-01", ComplianceConfig(enabled_unverified=frozenset({"K6"}))
    )

    assert [f for f in by_default.findings if f.rule_id == "K6"] == []
    finding = only([f for f in enabled.findings if f.rule_id == "K6"])
    assert (finding.status, finding.confidence, finding.unverified) == ("resolved", "R", True)
    assert finding.due == date(2022, 4, 15)  # 7 wd from Tue 05/04, over Hùng Kings (11/04)
    assert "[unverified legal basis]" in finding.detail


# --- K7: the procurator takes part ------------------------------------------------------------


def test_session_held_with_the_procurator_is_lawful() -> None:
    case = schedule(adult_accepted("2023-03-01"), opened_on="2023-03-06", session_on="2023-03-10")
    hold(case, "2023-03-10", procurator=True)

    assert findings(case.entries, "2023-04-01", "K7") == []


def test_session_held_without_the_procurator_is_a_finding() -> None:
    case = schedule(adult_accepted("2023-03-01"), opened_on="2023-03-06", session_on="2023-03-10")
    hold(case, "2023-03-10", procurator=False)

    finding = only(findings(case.entries, "2023-04-01", "K7"))

    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("held"),)
    assert finding.detected_on == date(2023, 3, 10)


# --- K5: the decision within 15 days (30 for complex cases) -----------------------------------


def test_decision_sixteen_days_after_acceptance_of_a_simple_case_is_a_finding() -> None:
    case = decide(adult_accepted("2023-03-01"), "2023-03-17")

    evaluation = judge(case.entries, "2023-04-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "K5"])
    assert (finding.status, finding.due) == ("open", None)
    assert finding.evidence_event_ids == (case.id("decided"),)
    assert "after 2023-03-16" in finding.detail
    assert [j.status for _, j in steps(evaluation, "K5")] == ["met"]  # within 30 days


def test_decision_of_a_complex_case_within_thirty_days_is_in_time() -> None:
    case = decide(adult_accepted("2023-03-01"), "2023-03-24", complex_case=True)

    assert findings(case.entries, "2023-04-01", "K5") == []


def test_no_decision_thirty_days_after_acceptance_is_missing() -> None:
    case = adult_accepted("2023-03-01")

    evaluation = judge(case.entries, "2023-04-03")

    finding = only([f for f in evaluation.findings if f.rule_id == "K5"])
    assert (finding.status, finding.due) == ("open", date(2023, 3, 31))
    assert finding.evidence_event_ids == (case.id("accepted"),)
    assert [(s.step, s.status) for s, _ in steps(evaluation, "K5")] == [
        ("Court decision issued", "missing")
    ]


# --- K10: a complaint within 5 wd of the announcement -----------------------------------------


def test_complaint_filed_six_working_days_after_the_announcement_is_a_finding() -> None:
    case = complain(decide(adult_accepted("2023-03-01"), "2023-03-10"), "2023-03-20")

    finding = only(findings(case.entries, "2023-04-01", "K10"))

    assert (finding.status, finding.confidence) == ("open", "F")
    assert finding.evidence_event_ids == (case.id("complaint"),)
    assert "ended on 2023-03-17" in finding.detail


def test_complaint_filed_on_the_fifth_working_day_is_in_time() -> None:
    case = complain(decide(adult_accepted("2023-03-01"), "2023-03-10"), "2023-03-17")

    assert findings(case.entries, "2023-04-01", "K10") == []


def test_minors_late_complaint_is_judged_on_a_secondary_source() -> None:
    case = accept(minor_before_the_court(), "2022-04-01", "PL01_2022", case_no="05/2022/TLST-VTN")
    decide(case, "2022-04-15", term=9)
    complain(case, "2022-04-25")

    finding = only(findings(case.entries, "2022-06-01", "K10"))

    assert (finding.confidence, finding.regime) == ("S", "CT-PL01")


# --- K13: legal effect -------------------------------------------------------------------------


def test_decision_in_effect_on_the_last_day_of_the_complaint_period_is_a_finding() -> None:
    case = took_effect(decide(adult_accepted("2023-03-01"), "2023-03-10"), "2023-03-17")

    finding = only(findings(case.entries, "2023-04-01", "K13"))

    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("effect"),)
    assert "before the complaint period ended (2023-03-17)" in finding.detail


def test_decision_in_effect_after_the_complaint_period_is_lawful() -> None:
    case = took_effect(decide(adult_accepted("2023-03-01"), "2023-03-10"), "2023-03-20")

    assert findings(case.entries, "2023-04-01", "K13") == []


def test_decision_in_effect_while_a_complaint_is_pending_is_a_finding() -> None:
    case = complain(decide(adult_accepted("2023-03-01"), "2023-03-10"), "2023-03-14")
    took_effect(case, "2023-03-20")

    finding = only(findings(case.entries, "2023-04-01", "K13"))

    assert "appeal was pending" in finding.detail


def test_decision_in_effect_once_the_provincial_court_upheld_it_is_lawful() -> None:
    case = complain(decide(adult_accepted("2023-03-01"), "2023-03-10"), "2023-03-14")
    case.at("2023-03-27 10:00").record(
        "AppealDecided", {**REF, "outcome": "upheld"}, body=PROVINCIAL_COURT
    )
    took_effect(case, "2023-03-27")

    assert findings(case.entries, "2023-04-01", "K13") == []


def test_a_decision_not_to_apply_the_measure_taking_effect_for_execution_is_a_finding() -> None:
    case = took_effect(
        decide(adult_accepted("2023-03-01"), "2023-03-10", outcome="not_apply"), "2023-03-20"
    )

    finding = only(findings(case.entries, "2023-04-01", "K13"))

    assert finding.evidence_event_ids == (case.id("effect"),)
    assert "CourtDecisionIssued" in finding.detail
