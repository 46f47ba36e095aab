"""Rulebook §1d-1f: the compulsory-rehab dossier, management meanwhile, and minors' dossiers (22+).

Each rule has a case that breaks it and one that complies. Dates are real working days in
Vietnam: a reading period that meets Tết or 30/4-1/5 runs over the days off.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import uuid4

from domain.case import Case, NewEvent
from domain.compliance import Finding
from tests.compliance.scenario import (
    COMMUNE,
    COMMUNE_COMMITTEE,
    COMMUNE_POLICE,
    DISTRICT,
    DISTRICT_COURT,
    DISTRICT_POLICE,
    LABOUR_OFFICE,
    OFFICER,
    VN,
    Scenario,
    findings,
    judge,
    steps,
)
from tests.domain.builders import VALID_PAYLOADS

DOSSIER = "HS-01-004-001"
REF = {"dossier_id": DOSSIER}
TO_COURT = {
    "dossier_id": DOSSIER,
    "court_unit": DISTRICT,
    "proposed_facility": "Cơ sở cai nghiện ma túy số 2 Hà Nội",
}


def adult() -> Scenario:
    return Scenario(born="1992-08-15", full_name="Trần Văn Tuấn")


def minor() -> Scenario:
    return Scenario(born="2008-01-15", full_name="Lê Minh Khang")


def opened(
    case: Scenario,
    violation: str,
    opened: str,
    *,
    route: str = "adult",
    residence: str = "stable",
    ground: str = "Art 32(1)",
) -> Scenario:
    """The person quit voluntary rehab (violation record); the commune chairman opens a dossier."""
    case.at(f"{violation} 09:00").record(
        "ViolationRecorded", {"violation": "quit"}, body=COMMUNE_COMMITTEE, name="violation"
    )
    case.at(f"{opened} 10:00").record(
        "DossierOpened",
        {"route": route, "residence_status": residence, "ground": ground},
        body=COMMUNE_COMMITTEE,
        name="opened",
    )
    return case


def served(case: Scenario, on: str, served_on: str = "person") -> Scenario:
    case.at(f"{on} 14:00").record(
        "DossierServed", {**REF, "served_on": served_on}, body=COMMUNE_COMMITTEE, name="served"
    )
    return case


def to_labour_office(case: Scenario, on: str) -> Scenario:
    case.at(f"{on} 08:30").record(
        "DossierSentToLabourOffice", {**REF, "pages": 31}, body=COMMUNE_COMMITTEE, name="sent"
    )
    return case


def to_court(case: Scenario, on: str, body: dict[str, str] = LABOUR_OFFICE) -> Scenario:
    case.at(f"{on} 15:00").record("DossierSentToCourt", TO_COURT, body=body, name="to_court")
    return case


def only(found: list[Finding]) -> Finding:
    assert len(found) == 1, found
    return found[0]


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=VN)


# --- C1: the adult route is for persons aged 18 or over --------------------------------------


def test_adult_route_for_a_person_of_seventeen_is_a_finding() -> None:
    case = opened(Scenario(born="2006-06-10"), "2024-03-04", "2024-03-06")

    finding = only(findings(case.entries, "2024-04-01", "C1"))

    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("opened"),)
    assert finding.detected_on == date(2024, 3, 6)
    assert finding.due is None
    assert "aged 17" in finding.detail


def test_adult_route_for_a_person_who_turned_eighteen_the_day_before_is_lawful() -> None:
    case = opened(Scenario(born="2006-03-05"), "2024-03-04", "2024-03-06")

    assert findings(case.entries, "2024-04-01", "C1") == []


# --- C2: the dossier is opened within 5 wd of the violation record ----------------------------


def test_dossier_opened_six_working_days_after_the_violation_record_is_late() -> None:
    case = opened(adult(), "2024-03-04", "2024-03-12")

    evaluation = judge(case.entries, "2024-04-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "C2"])
    assert (finding.status, finding.due) == ("resolved", date(2024, 3, 11))
    assert finding.evidence_event_ids == (case.id("violation"), case.id("opened"))
    assert (finding.detected_on, finding.resolved_on) == (date(2024, 3, 12), date(2024, 3, 12))
    [(step, judgement)] = steps(evaluation, "C2")
    assert step.event_id == case.id("opened")
    assert (judgement.status, judgement.late_by, judgement.unit) == ("late", 1, "wd")


def test_dossier_opened_on_the_fifth_working_day_after_the_violation_record_is_in_time() -> None:
    case = opened(adult(), "2024-03-04", "2024-03-11")

    evaluation = judge(case.entries, "2024-04-01")

    assert [f for f in evaluation.findings if f.rule_id in ("C2", "C3")] == []
    [(step, judgement)] = steps(evaluation, "C2")
    assert (step.event_id, judgement.status, judgement.due) == (
        case.id("opened"),
        "met",
        date(2024, 3, 11),
    )


def test_no_dossier_five_working_days_after_an_adults_violation_record_is_missing() -> None:
    case = adult()
    case.at("2024-03-04 09:00").record(
        "ViolationRecorded", {"violation": "not_registered"}, body=COMMUNE_COMMITTEE, name="v"
    )

    on_due_day = judge(case.entries, "2024-03-11")
    day_after = judge(case.entries, "2024-03-12")

    assert [f for f in on_due_day.findings if f.rule_id == "C2"] == []
    assert [(s.status, j.status) for s, j in steps(on_due_day, "C2")] == [("pending", "pending")]
    finding = only([f for f in day_after.findings if f.rule_id == "C2"])
    assert (finding.status, finding.due) == ("open", date(2024, 3, 11))
    assert finding.evidence_event_ids == (case.id("v"),)
    [(step, judgement)] = steps(day_after, "C2")
    assert (step.step, step.status, step.event_id) == ("Dossier opened", "missing", None)
    assert judgement.status == "missing"


def test_timeline_keeps_the_order_of_recording_for_steps_at_the_same_instant() -> None:
    # ENGINE BUG (engine.Step.sort_key): ties in occurred_at are broken by the random event id,
    # not by the order of recording, so the timeline can show the dossier before its ground.
    instant = at("2024-03-04", "10:00")
    case = Case.open(
        uuid4(),
        NewEvent.parse(
            "CaseOpened",
            instant,
            {"person": adult().person, "source": "detection", "managing_unit": COMMUNE},
            event_id="ffffffff-0000-4000-8000-000000000001",
        ),
        OFFICER,
        instant,
    )
    for event_id, type_, data in (
        ("cccccccc-0000-4000-8000-000000000002", "ViolationRecorded", {"violation": "quit"}),
        ("00000000-0000-4000-8000-000000000003", "DossierOpened", VALID_PAYLOADS["DossierOpened"]),
    ):
        case.record(NewEvent.parse(type_, instant, data, event_id=event_id), OFFICER, instant)

    evaluation = judge(case.entries, "2024-04-01")

    assert [s.step for s in evaluation.timeline] == [
        "CaseOpened",
        "ViolationRecorded",
        "DossierOpened",
    ]


# --- C2-body: who compiles the dossier --------------------------------------------------------


def test_dossier_compiled_by_the_labour_office_is_a_finding() -> None:
    case = adult()
    case.at("2024-03-04 09:00").record("ViolationRecorded", {"violation": "quit"})
    case.at("2024-03-06 10:00").record("DossierOpened", body=LABOUR_OFFICE, name="opened")

    finding = only(findings(case.entries, "2024-04-01", "C2-body"))

    assert (finding.status, finding.due) == ("open", None)
    assert finding.evidence_event_ids == (case.id("opened"),)
    assert "labour_office" in finding.detail


def test_dossier_compiled_by_the_commune_police_before_march_2025_is_a_finding() -> None:
    # ND116 Art 40(1): the commune police help the commune chairman, who compiles the dossier.
    case = adult()
    case.at("2024-03-04 09:00").record("ViolationRecorded", {"violation": "quit"})
    case.at("2024-03-06 10:00").record("DossierOpened", body=COMMUNE_POLICE, name="opened")

    finding = only(findings(case.entries, "2024-04-01", "C2-body"))

    assert finding.evidence_event_ids == (case.id("opened"),)
    assert "commune_police" in finding.detail


def test_dossier_compiled_by_the_commune_chairman_or_the_detecting_district_police_is_lawful() -> (
    None
):
    by_commune = adult()
    by_commune.at("2024-03-04 09:00").record("ViolationRecorded", {"violation": "quit"})
    by_commune.at("2024-03-06 10:00").record("DossierOpened", body=COMMUNE_COMMITTEE)
    by_police = adult()
    by_police.at("2024-03-04 09:00").record("ViolationRecorded", {"violation": "ost_quit"})
    by_police.at("2024-03-06 10:00").record(
        "DossierOpened", {"compiler_unit": DISTRICT}, body=DISTRICT_POLICE
    )

    assert findings(by_commune.entries, "2024-04-01", "C2-body") == []
    assert findings(by_police.entries, "2024-04-01", "C2-body") == []


def test_from_march_2025_the_commune_police_compile_the_dossier() -> None:
    # JC 03/2025/TTLT-BCA-VKSNDTC-TANDTC (rulebook §3): the commune police chief is the compiler.
    case = adult()
    case.at("2025-03-10 09:00").record("ViolationRecorded", {"violation": "quit"})
    case.at("2025-03-12 10:00").record("DossierOpened", body=COMMUNE_POLICE)

    assert findings(case.entries, "2025-04-01", "C2-body") == []


# --- C3: the dossier rests on a violation record ----------------------------------------------


def test_dossier_opened_without_a_violation_record_is_a_finding() -> None:
    case = adult()
    case.at("2024-03-06 10:00").record("DossierOpened", body=COMMUNE_COMMITTEE, name="opened")

    finding = only(findings(case.entries, "2024-04-01", "C3"))

    assert (finding.status, finding.detected_on) == ("open", date(2024, 3, 6))
    assert finding.evidence_event_ids == (case.id("opened"),)
    assert "ViolationRecorded" in finding.detail


def test_dossier_opened_on_a_violation_record_is_lawful() -> None:
    case = opened(adult(), "2024-03-04", "2024-03-06")

    assert findings(case.entries, "2024-04-01", "C3") == []


# --- C4, C5: notice served, then a 3-wd reading period ----------------------------------------


def test_dossier_sent_to_the_labour_office_without_serving_notice_is_a_finding() -> None:
    case = opened(adult(), "2024-03-04", "2024-03-06")
    to_labour_office(case, "2024-03-11")

    evaluation = judge(case.entries, "2024-04-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "C4"])
    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("sent"),)
    assert finding.detected_on == date(2024, 3, 11)
    assert steps(evaluation, "C6") == []  # no notice, so no reading period to count from


def test_dossier_sent_on_the_last_reading_day_cuts_the_reading_period_short() -> None:
    # Served on Monday 04/03/2024: the person reads on Tue, Wed and Thu 07/03.
    case = opened(adult(), "2024-02-29", "2024-03-01")
    served(case, "2024-03-04")
    to_labour_office(case, "2024-03-07")

    evaluation = judge(case.entries, "2024-04-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "C5"])
    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("sent"),)
    assert "ran to 2024-03-07" in finding.detail
    [(_, judgement)] = steps(evaluation, "C6")
    assert judgement.status == "met"  # early is not late: C5 is what it breaks


def test_dossier_sent_the_working_day_after_the_reading_period_respects_notice_and_period() -> None:
    case = opened(adult(), "2024-02-29", "2024-03-01")
    served(case, "2024-03-04")
    to_labour_office(case, "2024-03-08")

    evaluation = judge(case.entries, "2024-04-01")

    assert [f for f in evaluation.findings if f.rule_id in ("C4", "C5", "C6")] == []
    [(step, judgement)] = steps(evaluation, "C6")
    assert (step.event_id, judgement.status, judgement.due) == (
        case.id("sent"),
        "met",
        date(2024, 3, 8),
    )


# --- C6: to the Labour office <=1 wd after the reading period, across days off ----------------


def test_dossier_sent_to_labour_office_two_working_days_after_reading_period_over_tet_is_late() -> (
    None
):
    # Served Mon 05/02/2024; Tết 08-14/02: the person reads 06, 07 and 15/02; due Fri 16/02.
    case = opened(adult(), "2024-01-29", "2024-01-31")
    served(case, "2024-02-05")
    to_labour_office(case, "2024-02-19")

    evaluation = judge(case.entries, "2024-03-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "C6"])
    assert (finding.status, finding.due) == ("resolved", date(2024, 2, 16))
    assert finding.evidence_event_ids == (case.id("served"), case.id("sent"))
    assert finding.resolved_on == date(2024, 2, 19)
    assert finding.regime == "22+"
    [(step, judgement)] = steps(evaluation, "C6")
    assert step.event_id == case.id("sent")
    assert (judgement.status, judgement.late_by) == ("late", 1)


def test_dossier_sent_on_the_first_working_day_after_tet_and_the_reading_period_is_in_time() -> (
    None
):
    case = opened(adult(), "2024-01-29", "2024-01-31")
    served(case, "2024-02-05")
    to_labour_office(case, "2024-02-16")

    evaluation = judge(case.entries, "2024-03-01")

    assert [f for f in evaluation.findings if f.rule_id in ("C5", "C6")] == []
    assert [j.status for _, j in steps(evaluation, "C6")] == ["met"]


def test_dossier_sent_on_the_day_back_from_tet_is_still_inside_the_reading_period() -> None:
    case = opened(adult(), "2024-01-29", "2024-01-31")
    served(case, "2024-02-05")
    to_labour_office(case, "2024-02-15")

    finding = only(findings(case.entries, "2024-03-01", "C5"))

    assert "ran to 2024-02-15" in finding.detail


def test_dossier_never_sent_to_the_labour_office_is_pending_then_missing() -> None:
    case = opened(adult(), "2024-01-29", "2024-01-31")
    served(case, "2024-02-05")

    on_due_day = judge(case.entries, "2024-02-16")
    after = judge(case.entries, "2024-02-19")

    assert [f for f in on_due_day.findings if f.rule_id == "C6"] == []
    assert [s.status for s, _ in steps(on_due_day, "C6")] == ["pending"]
    assert on_due_day.next_due is not None and on_due_day.next_due.rule_id == "C6"
    finding = only([f for f in after.findings if f.rule_id == "C6"])
    assert (finding.status, finding.due) == ("open", date(2024, 2, 16))
    assert finding.evidence_event_ids == (case.id("served"),)
    [(step, judgement)] = steps(after, "C6")
    assert (step.step, step.status, judgement.status) == (
        "Dossier sent to the Labour office",
        "missing",
        "missing",
    )


def test_reading_period_over_30_april_and_1_may_2023_ends_on_5_may() -> None:
    # Served Thu 27/04/2023; off Sat 29/04 to Wed 03/05 (Hùng Kings, 30/4, 1/5, observed days).
    in_time = opened(adult(), "2023-04-20", "2023-04-24")
    served(in_time, "2023-04-27")
    to_labour_office(in_time, "2023-05-08")
    late = opened(adult(), "2023-04-20", "2023-04-24")
    served(late, "2023-04-27")
    to_labour_office(late, "2023-05-09")

    assert findings(in_time.entries, "2023-06-01", "C5") == []
    assert findings(in_time.entries, "2023-06-01", "C6") == []
    finding = only(findings(late.entries, "2023-06-01", "C6"))
    assert (finding.status, finding.due) == ("resolved", date(2023, 5, 8))
    [(_, judgement)] = steps(judge(late.entries, "2023-06-01"), "C6")
    assert (judgement.status, judgement.late_by) == ("late", 1)


def test_reading_period_over_30_april_2024_counts_the_saturday_worked_in_exchange() -> None:
    # Off 27/04-01/05/2024, Monday 29/04 swapped for Saturday 04/05, a working day: served Fri
    # 26/04, the person reads 02, 03 and 04/05, and the dossier is due at the Labour office on
    # Monday 06/05.
    case = opened(adult(), "2024-04-19", "2024-04-23")
    served(case, "2024-04-26")
    to_labour_office(case, "2024-05-07")

    finding = only(findings(case.entries, "2024-06-01", "C6"))

    assert (finding.status, finding.due) == ("resolved", date(2024, 5, 6))


# --- C6 with corrections and voids ------------------------------------------------------------


def test_correcting_the_service_day_moves_the_deadline_and_the_timeline_shows_both_days() -> None:
    case = opened(adult(), "2024-02-26", "2024-02-28")
    served(case, "2024-03-04")
    to_labour_office(case, "2024-03-08")
    # Check: on time as first recorded (due Fri 08/03).
    assert findings(case.entries, "2024-03-15", "C6") == []

    case.at("2024-03-20 10:00").record(
        "EntryCorrected",
        {
            "corrects_event_id": case.id("served"),
            "changes": {"occurred_at": "2024-03-01T14:00:00+07:00"},
            "reason": "Biên bản giao nhận ghi ngày 01/03/2024, nhập nhầm ngày",
        },
    )
    evaluation = judge(case.entries, "2024-03-21")

    finding = only([f for f in evaluation.findings if f.rule_id == "C6"])
    assert (finding.status, finding.due) == ("resolved", date(2024, 3, 7))
    assert finding.evidence_event_ids == (case.id("served"), case.id("sent"))
    [service] = [s for s in evaluation.timeline if s.event_id == case.id("served")]
    assert service.occurred_at == at("2024-03-01", "14:00")
    assert service.first_recorded_occurred_at == at("2024-03-04", "14:00")
    [(_, judgement)] = steps(evaluation, "C6")
    assert (judgement.due, judgement.status, judgement.late_by) == (date(2024, 3, 7), "late", 1)


def test_voiding_a_late_dispatch_turns_the_resolved_finding_into_a_missing_step() -> None:
    case = opened(adult(), "2024-02-26", "2024-02-28")
    served(case, "2024-03-04")
    to_labour_office(case, "2024-03-12")
    before_void = judge(case.entries, "2024-03-13")

    case.at("2024-03-14 16:00").record(
        "EntryVoided",
        {"voids_event_id": case.id("sent"), "reason": "Phiếu chuyển thuộc hồ sơ người khác"},
    )
    after_void = judge(case.entries, "2024-03-15")

    late = only([f for f in before_void.findings if f.rule_id == "C6"])
    assert (late.status, late.due, late.resolved_on) == (
        "resolved",
        date(2024, 3, 8),
        date(2024, 3, 12),
    )
    missing = only([f for f in after_void.findings if f.rule_id == "C6"])
    assert (missing.status, missing.due) == ("open", date(2024, 3, 8))
    assert missing.evidence_event_ids == (case.id("served"),)
    [(step, judgement)] = steps(after_void, "C6")
    assert (step.event_id, step.status, judgement.status) == (None, "missing", "missing")
    assert case.id("sent") not in {s.event_id for s in after_void.timeline}


# --- C7: the Labour office checks within 2 wd -------------------------------------------------


def served_and_sent(case: Scenario) -> Scenario:
    """Served Mon 04/03/2024, at the Labour office Fri 08/03 (in time)."""
    opened(case, "2024-02-26", "2024-02-28")
    served(case, "2024-03-04")
    return to_labour_office(case, "2024-03-08")


def test_labour_office_forwarding_to_court_three_working_days_after_receipt_is_late() -> None:
    case = to_court(served_and_sent(adult()), "2024-03-13")

    evaluation = judge(case.entries, "2024-04-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "C7"])
    assert (finding.status, finding.due) == ("resolved", date(2024, 3, 12))
    assert finding.evidence_event_ids == (case.id("sent"), case.id("to_court"))
    [(step, judgement)] = steps(evaluation, "C7")
    assert (step.event_id, judgement.status, judgement.late_by) == (case.id("to_court"), "late", 1)


def test_labour_office_forwarding_to_court_within_two_working_days_is_in_time() -> None:
    case = to_court(served_and_sent(adult()), "2024-03-12")

    evaluation = judge(case.entries, "2024-04-01")

    assert [f for f in evaluation.findings if f.rule_id in ("C7", "C7-body")] == []
    assert [j.status for _, j in steps(evaluation, "C7")] == ["met"]


def test_labour_office_sitting_on_the_dossier_is_a_missing_transfer() -> None:
    case = served_and_sent(adult())

    evaluation = judge(case.entries, "2024-03-13")

    finding = only([f for f in evaluation.findings if f.rule_id == "C7"])
    assert (finding.status, finding.due) == ("open", date(2024, 3, 12))
    assert finding.evidence_event_ids == (case.id("sent"),)
    assert [(s.step, s.status) for s, _ in steps(evaluation, "C7")] == [
        ("Dossier sent to court", "missing")
    ]


def test_supplement_three_working_days_after_the_labour_office_returned_it_is_late() -> None:
    case = served_and_sent(adult())
    case.at("2024-03-11 16:00").record(
        "DossierReturnedForSupplement",
        {**REF, "returned_by": "labour_office", "reasons": ["Thiếu bản tường trình (Mẫu 31)"]},
        body=LABOUR_OFFICE,
        name="returned",
    )
    case.at("2024-03-14 09:00").record(
        "DossierSupplemented", REF, body=COMMUNE_COMMITTEE, name="supplemented"
    )
    to_court(case, "2024-03-18")

    evaluation = judge(case.entries, "2024-04-01")

    c7 = [f for f in evaluation.findings if f.rule_id == "C7"]
    finding = only(c7)
    assert (finding.status, finding.due) == ("resolved", date(2024, 3, 13))
    assert finding.evidence_event_ids == (case.id("returned"), case.id("supplemented"))
    assert finding.title == "Supplement provided within 2 wd of the return"
    assert sorted((j.due.isoformat(), j.status) for _, j in steps(evaluation, "C7")) == [
        ("2024-03-12", "met"),  # returned on Mon 11/03, within the check
        ("2024-03-13", "late"),  # supplemented Thu 14/03
        ("2024-03-18", "met"),  # forwarded Mon 18/03, 2 wd after the supplement
    ]


# --- C7-body: the dossier reaches the court through the Labour office -------------------------


def test_commune_sending_the_dossier_straight_to_court_is_a_finding() -> None:
    case = to_court(served_and_sent(adult()), "2024-03-12", body=COMMUNE_COMMITTEE)

    finding = only(findings(case.entries, "2024-04-01", "C7-body"))

    assert finding.status == "open"
    assert finding.evidence_event_ids == (case.id("to_court"),)
    assert "commune_committee" in finding.detail


def test_dossier_forwarded_by_the_labour_office_is_lawful() -> None:
    case = to_court(served_and_sent(adult()), "2024-03-12", body=LABOUR_OFFICE)

    assert findings(case.entries, "2024-04-01", "C7-body") == []


# --- C8: the court's request answered within 2 wd ---------------------------------------------


def court_asks(case: Scenario, answered: str) -> Scenario:
    """The court asks on Wed 20/03/2024; the commune answers and the office forwards it back."""
    to_court(served_and_sent(case), "2024-03-12")
    case.at("2024-03-20 15:00").record(
        "DossierReturnedForSupplement",
        {**REF, "returned_by": "court", "reasons": ["Làm rõ nơi cư trú trong 30 ngày gần nhất"]},
        body=DISTRICT_COURT,
        name="asked",
    )
    case.at(f"{answered} 09:00").record(
        "DossierSupplemented", REF, body=LABOUR_OFFICE, name="answered"
    )
    case.at(f"{answered} 15:00").record("DossierSentToCourt", TO_COURT, body=LABOUR_OFFICE)
    return case


def test_answering_the_courts_request_three_working_days_later_is_late() -> None:
    case = court_asks(adult(), answered="2024-03-25")

    evaluation = judge(case.entries, "2024-04-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "C8"])
    assert (finding.status, finding.due) == ("resolved", date(2024, 3, 22))
    assert finding.evidence_event_ids == (case.id("asked"), case.id("answered"))
    [(step, judgement)] = steps(evaluation, "C8")
    assert (step.event_id, judgement.status, judgement.late_by) == (case.id("answered"), "late", 1)


def test_answering_the_courts_request_within_two_working_days_is_in_time() -> None:
    case = court_asks(adult(), answered="2024-03-22")

    evaluation = judge(case.entries, "2024-04-01")

    assert [f for f in evaluation.findings if f.rule_id in ("C7", "C8")] == []
    assert [j.status for _, j in steps(evaluation, "C8")] == ["met"]


# --- M1: management during the dossier period -------------------------------------------------


def interim(case: Scenario, form: str, consent: bool, **extra: str) -> Scenario:
    case.at("2024-03-07 10:00").record(
        "InterimManagementDecided",
        {**REF, "form": form, "family_consent": consent, **extra},
        body=COMMUNE_COMMITTEE,
        name="interim",
    )
    return case


def test_family_management_for_a_person_without_stable_residence_is_a_finding() -> None:
    case = opened(adult(), "2024-03-04", "2024-03-06", residence="not_stable")
    interim(case, "family", consent=True)

    finding = only(findings(case.entries, "2024-04-01", "M1"))

    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("interim"),)
    assert "no stable residence" in finding.detail
    assert "consent" not in finding.detail


def test_family_management_without_the_familys_written_consent_is_a_finding() -> None:
    case = opened(adult(), "2024-03-04", "2024-03-06", residence="stable")
    interim(case, "family", consent=False)

    finding = only(findings(case.entries, "2024-04-01", "M1"))

    assert "no written family consent (Form 35)" in finding.detail


def test_family_management_with_stable_residence_and_consent_is_lawful() -> None:
    at_home = interim(opened(adult(), "2024-03-04", "2024-03-06"), "family", consent=True)
    homeless = opened(adult(), "2024-03-04", "2024-03-06", residence="not_stable")
    interim(homeless, "social_reception_centre", consent=False, facility="Trung tâm BTXH 2")

    assert findings(at_home.entries, "2024-04-01", "M1") == []
    assert findings(homeless.entries, "2024-04-01", "M1") == []


# --- J1, J3, J4: minors ------------------------------------------------------------------------


def test_minor_route_for_a_child_of_eleven_is_a_finding() -> None:
    case = opened(Scenario(born="2012-09-01"), "2024-03-04", "2024-03-06", route="minor")

    finding = only(findings(case.entries, "2024-04-01", "J1"))

    assert (finding.status, finding.severity) == ("open", "high")
    assert finding.evidence_event_ids == (case.id("opened"),)
    assert "aged 11" in finding.detail


def test_minor_route_on_a_post_rehab_relapse_is_a_finding() -> None:
    case = opened(minor(), "2024-03-04", "2024-03-06", route="minor", ground="Art 32(4)")

    finding = only(findings(case.entries, "2024-04-01", "J1"))

    assert "relapse" in finding.detail


def test_minor_route_for_a_sixteen_year_old_who_quit_voluntary_rehab_is_lawful() -> None:
    case = opened(minor(), "2024-03-04", "2024-03-06", route="minor", ground="Art 33(1)")

    assert findings(case.entries, "2024-04-01", "J1") == []


def test_minors_dossier_opened_six_working_days_after_the_violation_is_late() -> None:
    case = opened(minor(), "2024-03-04", "2024-03-12", route="minor", ground="Art 33(1)")

    evaluation = judge(case.entries, "2024-04-01")

    finding = only([f for f in evaluation.findings if f.rule_id == "J3"])
    assert (finding.status, finding.due) == ("resolved", date(2024, 3, 11))
    assert finding.evidence_event_ids == (case.id("violation"), case.id("opened"))
    assert [f for f in evaluation.findings if f.rule_id == "C2"] == []  # not the adult rule
    [(_, judgement)] = steps(evaluation, "J3")
    assert (judgement.status, judgement.late_by) == ("late", 1)


def test_minors_dossier_opened_on_the_fifth_working_day_is_in_time() -> None:
    case = opened(minor(), "2024-03-04", "2024-03-11", route="minor", ground="Art 33(1)")

    evaluation = judge(case.entries, "2024-04-01")

    assert [f for f in evaluation.findings if f.rule_id == "J3"] == []
    assert [j.status for _, j in steps(evaluation, "J3")] == ["met"]


def test_a_minors_relapse_in_post_rehab_calls_for_no_compulsory_dossier() -> None:
    case = minor()
    case.at("2024-03-04 09:00").record(
        "ViolationRecorded", {"violation": "relapse_in_post_rehab"}, body=COMMUNE_COMMITTEE
    )

    evaluation = judge(case.entries, "2024-04-01")

    assert [f for f in evaluation.findings if f.rule_id in ("J3", "C2")] == []
    assert steps(evaluation, "J3") == []


def test_minors_dossier_sent_to_the_labour_office_late_is_a_j4_finding() -> None:
    case = opened(minor(), "2024-02-26", "2024-02-28", route="minor", ground="Art 33(1)")
    served(case, "2024-03-04", served_on="parent")
    to_labour_office(case, "2024-03-11")

    evaluation = judge(case.entries, "2024-04-01")

    finding = only(
        [f for f in evaluation.findings if f.rule_id == "J4" and f.title.startswith("Dossier sent")]
    )
    assert (finding.status, finding.due) == ("resolved", date(2024, 3, 8))
    assert finding.evidence_event_ids == (case.id("served"), case.id("sent"))
    assert [f for f in evaluation.findings if f.rule_id == "C6"] == []  # not the adult rule


def test_minors_dossier_sent_before_the_parents_finished_reading_is_a_j4_finding() -> None:
    case = opened(minor(), "2024-02-26", "2024-02-28", route="minor", ground="Art 33(1)")
    served(case, "2024-03-04", served_on="parent")
    to_labour_office(case, "2024-03-06")

    [reading] = [
        f for f in findings(case.entries, "2024-04-01", "J4") if "reading period" in f.title
    ]

    assert reading.status == "open"
    assert reading.evidence_event_ids == (case.id("sent"),)
    assert "ran to 2024-03-07" in reading.detail


def test_minors_dossier_handled_in_time_through_the_labour_office_has_no_j4_finding() -> None:
    case = opened(minor(), "2024-02-26", "2024-02-28", route="minor", ground="Art 33(1)")
    served(case, "2024-03-04", served_on="parent")
    to_labour_office(case, "2024-03-08")
    to_court(case, "2024-03-12")

    evaluation = judge(case.entries, "2024-04-01")

    assert [f for f in evaluation.findings if f.rule_id == "J4"] == []
    assert sorted(j.status for _, j in steps(evaluation, "J4")) == ["met", "met"]


# --- crossing 01/01/2022 and 01/03/2025 -------------------------------------------------------


def test_dossier_opened_in_2021_is_judged_step_by_step_by_the_22_plus_rules_in_2022() -> None:
    # Law 73 Art 55(1)(d): a dossier still being compiled on 01/01/2022 is finished under the
    # new law. Steps anchored in 2021 (the opening, the service) had no verified deadlines.
    case = adult()
    case.at("2021-12-13 09:00").record(
        "ViolationRecorded", {"violation": "quit"}, body=COMMUNE_COMMITTEE
    )
    case.at("2021-12-27 10:00").record("DossierOpened", body=COMMUNE_COMMITTEE)
    served(case, "2021-12-29")
    to_labour_office(case, "2022-01-10")
    to_court(case, "2022-01-14")

    evaluation = judge(case.entries, "2022-02-15")

    rule_ids = {f.rule_id for f in evaluation.findings}
    assert rule_ids.isdisjoint({"C2", "C3", "C4", "C5", "C6"})
    finding = only([f for f in evaluation.findings if f.rule_id == "C7"])
    assert (finding.status, finding.due, finding.regime) == (
        "resolved",
        date(2022, 1, 12),
        "22+",
    )
    assert finding.evidence_event_ids == (case.id("sent"), case.id("to_court"))
    [dispatch] = [s for s in evaluation.timeline if s.event_id == case.id("sent")]
    assert dispatch.judgements == []  # C6 is anchored on the 2021 service
    [(_, judgement)] = steps(evaluation, "C7")
    assert (judgement.status, judgement.late_by) == ("late", 2)


def test_after_the_2025_reorganisation_no_labour_office_step_is_expected() -> None:
    case = adult()
    case.at("2025-03-10 09:00").record("ViolationRecorded", {"violation": "quit"})
    case.at("2025-03-12 10:00").record("DossierOpened", {"compiler_unit": COMMUNE})
    served(case, "2025-03-14")

    evaluation = judge(case.entries, "2025-04-15")

    assert steps(evaluation, "C6") == []
    assert [f for f in evaluation.findings if f.rule_id in ("C6", "C7")] == []
