"""The 2025-2026 delta (``procedure-rules-2025.md``): the police takeover of 1 Mar 2025, the
two-tier map and regional courts of 1 Jul 2025, and Law 120/2025 from 1 Jul 2026.

Each rule has a case that breaks it and one that complies, and each boundary is tried on the
day before and on the day itself: 28 Feb / 1 Mar 2025, 30 Jun / 1 Jul 2025, 30 Jun / 1 Jul
2026. Findings of rules graded R appear only when enabled.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from domain.compliance import ComplianceConfig, Finding
from domain.compliance.rules import RULEBOOK
from tests.compliance.scenario import (
    COMMUNE,
    COMMUNE_COMMITTEE,
    COMMUNE_POLICE,
    DISTRICT_COURT,
    DISTRICT_POLICE,
    LABOUR_OFFICE,
    VN,
    Scenario,
    findings,
    judge,
    steps,
)

ROOT = Path(__file__).resolve().parents[2]
DOSSIER = "HS-01-00127-2025-01"
REF = {"dossier_id": DOSSIER}
FACILITY = "Cơ sở cai nghiện ma túy số 2 (Công an Hà Nội)"
REGIONAL_COURT = {"kind": "regional_court", "unit": "01"}
PROVINCIAL_COURT = {"kind": "provincial_court", "unit": "01"}
REGIONAL_PROCURACY = {"kind": "regional_procuracy", "unit": "01"}
PROVINCIAL_POLICE = {"kind": "provincial_police", "unit": "01"}
DISTRICT_COMMITTEE = {"kind": "district_committee", "unit": "01.004"}
NEW_COMMUNE = "79.25747"
"""Phường Thủ Dầu Một, Thành phố Hồ Chí Minh (the 2025 list): where the person moves to."""
NEW_COMMUNE_POLICE = {"kind": "commune_police", "unit": NEW_COMMUNE}


def only(found: list[Finding]) -> Finding:
    assert len(found) == 1, found
    return found[0]


def enabled(*rule_ids: str) -> ComplianceConfig:
    return ComplianceConfig(enabled_unverified=frozenset(rule_ids))


def at(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=VN)


def adult() -> Scenario:
    return Scenario(born="1991-10-20", full_name="Phạm Quốc Bảo")


def minor() -> Scenario:
    return Scenario(born="2009-05-14", full_name="Đỗ Gia Huy")


def violation(case: Scenario, on: str, body: dict[str, str] = COMMUNE_POLICE) -> Scenario:
    """The person quit voluntary rehab: the commune police record the violation (Form 27)."""
    case.at(f"{on} 09:00").record("ViolationRecorded", {"violation": "quit"}, body=body, name="v")
    return case


def open_dossier(
    case: Scenario, on: str, body: dict[str, str] = COMMUNE_POLICE, route: str = "adult"
) -> Scenario:
    case.at(f"{on} 10:00").record(
        "DossierOpened",
        {
            **REF,
            "route": route,
            "ground": "Art 32(1)" if route == "adult" else "Art 33(1)",
            "residence_status": "stable",
        },
        body=body,
        name="opened",
    )
    return case


def serve(case: Scenario, on: str, body: dict[str, str] = COMMUNE_POLICE) -> Scenario:
    case.at(f"{on} 14:00").record(
        "DossierServed", {**REF, "served_on": "person"}, body=body, name="served"
    )
    return case


def send_to_court(case: Scenario, on: str, body: dict[str, str] = COMMUNE_POLICE) -> Scenario:
    case.at(f"{on} 15:00").record(
        "DossierSentToCourt",
        {**REF, "court_unit": "01", "proposed_facility": FACILITY},
        body=body,
        name="to_court",
    )
    return case


def accept(case: Scenario, on: str, body: dict[str, str] = REGIONAL_COURT) -> Scenario:
    case.at(f"{on} 08:00").record(
        "CourtAccepted",
        {
            **REF,
            "court_case_no": "31/2025/TLST-BPXLHC",
            "judge": "Thẩm phán Ngô Thị Thu",
            "ordinance": "PL03_2022",
        },
        body=body,
        name="accepted",
    )
    return case


def decide(
    case: Scenario, on: str, body: dict[str, str] = REGIONAL_COURT, months: int = 18
) -> Scenario:
    case.at(f"{on} 15:00").record(
        "CourtDecisionIssued",
        {**REF, "outcome": "apply", "term_months": months, "announced_on": on},
        body=body,
        name="decision",
    )
    return case


def hold_session(
    case: Scenario, on: str, procurator: bool, body: dict[str, str] = REGIONAL_COURT
) -> Scenario:
    case.at(f"{on} 08:30").record(
        "CourtSessionHeld",
        {**REF, "procurator_present": procurator, "attendees": ["Kiểm sát viên Hồ Văn Tâm"]},
        body=body,
        name="held",
    )
    return case


def dossier_before_the_court(accepted_on: str, body: dict[str, str] = REGIONAL_COURT) -> Scenario:
    """A dossier compiled in June 2025 and accepted by ``body`` on ``accepted_on``."""
    case = open_dossier(violation(adult(), "2025-06-09"), "2025-06-11")
    serve(case, "2025-06-12")
    send_to_court(case, "2025-06-18")
    return accept(case, accepted_on, body)


# --- X25-03: a compliant 2026 dossier draws nothing from the Labour-office rules ------------------


def test_a_compliant_2026_dossier_through_the_commune_police_and_a_regional_court_is_clean() -> (
    None
):
    # Violation Mon 03/08/2026; opened Wed 05/08; served Fri 07/08; the person reads on 10, 11
    # and 12/08; sent to the regional court Thu 13/08; accepted Mon 17/08; decided 24/08.
    case = open_dossier(violation(adult(), "2026-08-03"), "2026-08-05")
    serve(case, "2026-08-07")
    send_to_court(case, "2026-08-13")
    accept(case, "2026-08-17")
    case.at("2026-08-18 16:00").record(
        "CourtSessionScheduled",
        {**REF, "opened_on": "2026-08-18", "session_on": "2026-08-21", "mode": "in_person"},
        body=REGIONAL_COURT,
    )
    hold_session(case, "2026-08-21", procurator=True)
    decide(case, "2026-08-24")

    evaluation = judge(case.entries, "2026-09-30")

    assert evaluation.findings == []
    labour_office_rules = {"C4", "C5", "C6", "C7", "C7-body", "C8", "J4"}
    assert all(steps(evaluation, rule) == [] for rule in labour_office_rules)


def test_the_same_dossier_with_every_unverified_rule_enabled_is_clean_too() -> None:
    case = open_dossier(violation(adult(), "2026-08-03"), "2026-08-05")
    serve(case, "2026-08-07")
    send_to_court(case, "2026-08-13")
    accept(case, "2026-08-17")
    hold_session(case, "2026-08-21", procurator=True)
    decide(case, "2026-08-24", months=24)
    every_r_rule = enabled(*{r.id for r in RULEBOOK if r.unverified})

    evaluation = judge(case.entries, "2026-09-30", every_r_rule)

    assert evaluation.findings == []


# --- X25-06: actors abolished in 2025 -------------------------------------------------------------


def test_district_police_detecting_use_on_28_february_2025_is_no_finding() -> None:
    case = Scenario()
    case.at("2025-02-28 21:00").record("DrugUseDetected", body=DISTRICT_POLICE)

    assert findings(case.entries, "2025-03-31", "X25-06") == []


def test_district_police_detecting_use_on_1_march_2025_is_an_abolished_actor() -> None:
    case = Scenario()
    case.at("2025-03-01 21:00").record("DrugUseDetected", body=DISTRICT_POLICE, name="detected")

    evaluation = judge(case.entries, "2025-03-31")

    finding = only([f for f in evaluation.findings if f.rule_id == "X25-06"])
    assert (finding.status, finding.confidence, finding.regime) == ("open", "S", "25A+")
    assert finding.evidence_event_ids == (case.id("detected"),)
    assert finding.detected_on == date(2025, 3, 1)
    assert "district_police" in finding.detail
    assert "actor abolished on 2025-03-01" in finding.detail
    # a finding, never a refusal: the event is on record
    assert case.id("detected") in {s.event_id for s in evaluation.timeline}


def test_labour_office_forwarding_a_dossier_in_march_2025_draws_only_the_abolished_actor() -> None:
    case = open_dossier(violation(adult(), "2025-03-03"), "2025-03-05")
    serve(case, "2025-03-06")

    send_to_court(case, "2025-03-12", body=LABOUR_OFFICE)

    evaluation = judge(case.entries, "2025-03-31")
    finding = only([f for f in evaluation.findings if f.rule_id == "X25-06"])
    assert finding.evidence_event_ids == (case.id("to_court"),)
    assert "labour_office" in finding.detail
    assert not {f.rule_id for f in evaluation.findings} & {"X25-01", "C7-body", "C7"}


def test_district_committee_acting_on_30_june_2025_is_no_finding() -> None:
    case = Scenario()
    case.at("2025-06-30 10:00").record("ResidenceVerified", body=DISTRICT_COMMITTEE)

    assert findings(case.entries, "2025-07-31", "X25-06") == []


def test_district_committee_acting_on_1_july_2025_is_an_abolished_actor() -> None:
    case = Scenario()
    case.at("2025-07-01 10:00").record("ResidenceVerified", body=DISTRICT_COMMITTEE, name="v")

    finding = only(findings(case.entries, "2025-07-31", "X25-06"))

    assert finding.regime == "25B+"
    assert finding.evidence_event_ids == (case.id("v"),)
    assert "district_committee" in finding.detail and "2025-07-01" in finding.detail


def test_commune_police_acting_after_both_reforms_is_no_finding() -> None:
    case = Scenario()
    case.at("2025-03-01 21:00").record("DrugUseDetected", body=COMMUNE_POLICE)
    case.at("2025-07-01 10:00").record("ResidenceVerified", body=COMMUNE_POLICE)

    assert findings(case.entries, "2025-07-31", "X25-06") == []


# --- X25-01, X25-02: the commune police chief compiles the dossier --------------------------------


def test_adult_dossier_compiled_by_the_commune_chairman_on_28_february_2025_is_lawful() -> None:
    case = open_dossier(violation(adult(), "2025-02-24"), "2025-02-28", body=COMMUNE_COMMITTEE)

    evaluation = judge(case.entries, "2025-03-31")

    assert not {f.rule_id for f in evaluation.findings} & {"X25-01", "C2-body"}


def test_adult_dossier_compiled_by_the_commune_chairman_from_march_2025_is_a_finding() -> None:
    case = open_dossier(violation(adult(), "2025-03-03"), "2025-03-05", body=COMMUNE_COMMITTEE)

    evaluation = judge(case.entries, "2025-03-31")

    finding = only([f for f in evaluation.findings if f.rule_id == "X25-01"])
    assert (finding.status, finding.confidence, finding.regime) == ("open", "S", "25A+")
    assert finding.evidence_event_ids == (case.id("opened"),)
    assert "compiled by a commune_committee" in finding.detail
    assert [f for f in evaluation.findings if f.rule_id == "C2-body"] == []


def test_adult_dossier_sent_to_court_by_the_commune_chairman_in_2025_is_a_finding() -> None:
    case = open_dossier(violation(adult(), "2025-03-03"), "2025-03-05")
    serve(case, "2025-03-06")
    send_to_court(case, "2025-03-12", body=COMMUNE_COMMITTEE)

    finding = only(findings(case.entries, "2025-03-31", "X25-01"))

    assert finding.evidence_event_ids == (case.id("to_court"),)
    assert "sent to court by a commune_committee" in finding.detail


def test_adult_dossier_compiled_and_sent_by_the_commune_or_provincial_police_is_lawful() -> None:
    by_commune = open_dossier(violation(adult(), "2025-03-03"), "2025-03-05")
    send_to_court(serve(by_commune, "2025-03-06"), "2025-03-12")
    by_province = open_dossier(
        violation(adult(), "2025-03-03", body=PROVINCIAL_POLICE),
        "2025-03-05",
        body=PROVINCIAL_POLICE,
    )

    assert findings(by_commune.entries, "2025-03-31", "X25-01") == []
    assert findings(by_province.entries, "2025-03-31", "X25-01") == []


def test_minors_dossier_compiled_by_the_commune_chairman_in_2025_is_an_x25_02_finding() -> None:
    case = open_dossier(
        violation(minor(), "2025-03-03"), "2025-03-05", body=COMMUNE_COMMITTEE, route="minor"
    )

    evaluation = judge(case.entries, "2025-03-31")

    finding = only([f for f in evaluation.findings if f.rule_id == "X25-02"])
    assert finding.evidence_event_ids == (case.id("opened"),)
    assert [f for f in evaluation.findings if f.rule_id == "X25-01"] == []


def test_minors_dossier_compiled_by_the_commune_police_in_2025_is_lawful() -> None:
    case = open_dossier(violation(minor(), "2025-03-03"), "2025-03-05", route="minor")

    assert findings(case.entries, "2025-03-31", "X25-02") == []


# --- C2 and X25-01-deadline: the 5 wd to open the dossier -----------------------------------------


def test_violation_of_28_february_2025_is_still_judged_by_c2() -> None:
    # Fri 28/02 + 5 wd = Fri 07/03; opened Mon 10/03.
    case = open_dossier(violation(adult(), "2025-02-28"), "2025-03-10")

    finding = only(findings(case.entries, "2025-03-31", "C2"))

    assert (finding.status, finding.due, finding.regime) == ("resolved", date(2025, 3, 7), "22+")


def test_the_5_wd_after_march_2025_are_an_unverified_rule_off_by_default() -> None:
    # Mon 03/03 + 5 wd = Mon 10/03; opened Wed 12/03.
    case = open_dossier(violation(adult(), "2025-03-03"), "2025-03-12")

    by_default = judge(case.entries, "2025-03-31")
    when_enabled = judge(case.entries, "2025-03-31", enabled("X25-01-deadline"))

    assert not {f.rule_id for f in by_default.findings} & {"C2", "X25-01-deadline"}
    finding = only([f for f in when_enabled.findings if f.rule_id == "X25-01-deadline"])
    assert (finding.status, finding.due, finding.confidence) == ("resolved", date(2025, 3, 10), "R")
    assert finding.detail.endswith("[unverified legal basis]")


# --- X25-03: no Labour-office step from 1 Mar 2025 ------------------------------------------------


def test_dossier_sent_to_the_labour_office_in_march_2025_is_a_finding() -> None:
    case = open_dossier(violation(adult(), "2025-03-03"), "2025-03-05")
    serve(case, "2025-03-06")
    case.at("2025-03-12 08:30").record(
        "DossierSentToLabourOffice", {**REF, "pages": 29}, body=COMMUNE_POLICE, name="sent"
    )

    evaluation = judge(case.entries, "2025-03-31")

    finding = only([f for f in evaluation.findings if f.rule_id == "X25-03"])
    assert (finding.status, finding.confidence) == ("open", "S")
    assert finding.evidence_event_ids == (case.id("sent"),)
    assert "abolished on 2025-03-01" in finding.detail
    assert not {f.rule_id for f in evaluation.findings} & {"C4", "C5", "C6", "C7"}
    assert steps(evaluation, "C7") == []


def test_dossier_sent_to_the_labour_office_on_28_february_2025_is_no_x25_03_finding() -> None:
    # Served Mon 24/02: the person reads on 25, 26 and 27/02; sent on Fri 28/02, in time.
    case = open_dossier(violation(adult(), "2025-02-18"), "2025-02-20")
    serve(case, "2025-02-24")
    case.at("2025-02-28 08:30").record(
        "DossierSentToLabourOffice", {**REF, "pages": 29}, body=COMMUNE_COMMITTEE
    )

    evaluation = judge(case.entries, "2025-03-31")

    assert not {f.rule_id for f in evaluation.findings} & {"X25-03", "C4", "C5", "C6"}
    assert [j.status for _, j in steps(evaluation, "C6")] == ["met"]


def test_labour_office_dispatch_falling_due_after_the_takeover_is_not_judged() -> None:
    # Served Wed 26/02/2025: due at the Labour office on Tue 04/03, after it was abolished.
    case = open_dossier(violation(adult(), "2025-02-20"), "2025-02-24", body=COMMUNE_COMMITTEE)
    serve(case, "2025-02-26", body=COMMUNE_COMMITTEE)

    evaluation = judge(case.entries, "2025-03-31")

    assert [f for f in evaluation.findings if f.rule_id == "C6"] == []
    assert steps(evaluation, "C6") == []


def test_labour_office_dispatch_falling_due_before_the_takeover_is_still_missing() -> None:
    # Served Wed 19/02/2025: due at the Labour office on Tue 25/02, before the takeover.
    case = open_dossier(violation(adult(), "2025-02-13"), "2025-02-17", body=COMMUNE_COMMITTEE)
    serve(case, "2025-02-19", body=COMMUNE_COMMITTEE)

    finding = only(findings(case.entries, "2025-03-31", "C6"))

    assert (finding.status, finding.due, finding.regime) == ("open", date(2025, 2, 25), "22+")


def test_labour_office_check_falling_due_after_the_takeover_is_not_judged() -> None:
    # At the Labour office Thu 27/02/2025: its 2 wd ran to Mon 03/03, when it no longer existed.
    case = open_dossier(violation(adult(), "2025-02-13"), "2025-02-17", body=COMMUNE_COMMITTEE)
    serve(case, "2025-02-20", body=COMMUNE_COMMITTEE)
    case.at("2025-02-27 08:30").record(
        "DossierSentToLabourOffice", {**REF, "pages": 29}, body=COMMUNE_COMMITTEE
    )

    evaluation = judge(case.entries, "2025-03-31")

    assert [f for f in evaluation.findings if f.rule_id == "C7"] == []
    assert steps(evaluation, "C7") == []


def test_the_replacement_routing_is_an_unverified_rule_off_by_default() -> None:
    # Served Mon 02/06/2025: read 3, 4, 5/06; due at court Fri 06/06; sent Tue 10/06.
    case = open_dossier(violation(adult(), "2025-05-26"), "2025-05-28")
    serve(case, "2025-06-02")
    send_to_court(case, "2025-06-10")

    by_default = judge(case.entries, "2025-06-30")
    when_enabled = judge(case.entries, "2025-06-30", enabled("X25-03-replacement"))

    assert [f for f in by_default.findings if f.rule_id == "X25-03-replacement"] == []
    finding = only([f for f in when_enabled.findings if f.rule_id == "X25-03-replacement"])
    assert (finding.status, finding.due, finding.confidence) == ("resolved", date(2025, 6, 6), "R")
    assert finding.evidence_event_ids == (case.id("served"), case.id("to_court"))
    assert "[unverified legal basis]" in finding.detail


def test_the_replacement_routing_when_enabled_wants_the_notice_before_the_court() -> None:
    case = open_dossier(violation(adult(), "2025-05-26"), "2025-05-28")
    send_to_court(case, "2025-06-03")

    found = findings(
        case.entries, "2025-06-30", "X25-03-replacement", enabled("X25-03-replacement")
    )

    finding = only(found)
    assert finding.evidence_event_ids == (case.id("to_court"),)
    assert "without an earlier DossierServed" in finding.detail


# --- X25-04: the regional court from 1 Jul 2025; K1 before ----------------------------------------


def test_regional_court_accepting_on_30_june_2025_is_a_k1_finding() -> None:
    case = dossier_before_the_court("2025-06-30", body=REGIONAL_COURT)

    evaluation = judge(case.entries, "2025-07-31")

    finding = only([f for f in evaluation.findings if f.rule_id == "K1"])
    assert finding.evidence_event_ids == (case.id("accepted"),)
    assert [f for f in evaluation.findings if f.rule_id == "X25-04"] == []


def test_regional_court_accepting_on_1_july_2025_is_lawful() -> None:
    case = dossier_before_the_court("2025-07-01", body=REGIONAL_COURT)

    evaluation = judge(case.entries, "2025-07-31")

    assert not {f.rule_id for f in evaluation.findings} & {"K1", "X25-04", "X25-06"}


def test_provincial_court_accepting_a_first_instance_dossier_on_1_july_2025_is_a_finding() -> None:
    case = dossier_before_the_court("2025-07-01", body=PROVINCIAL_COURT)

    evaluation = judge(case.entries, "2025-07-31")

    finding = only([f for f in evaluation.findings if f.rule_id == "X25-04"])
    assert (finding.status, finding.confidence, finding.regime) == ("open", "S", "25B+")
    assert finding.evidence_event_ids == (case.id("accepted"),)
    assert "regional people's court" in finding.detail
    assert [f for f in evaluation.findings if f.rule_id == "K1"] == []


def test_district_court_deciding_in_july_a_dossier_it_accepted_in_june_draws_one_finding() -> None:
    case = dossier_before_the_court("2025-06-25", body=DISTRICT_COURT)

    decide(case, "2025-07-08", body=DISTRICT_COURT)

    evaluation = judge(case.entries, "2025-07-31")
    finding = only([f for f in evaluation.findings if f.rule_id in ("X25-04", "X25-06", "K1")])
    assert finding.rule_id == "X25-06"
    assert finding.evidence_event_ids == (case.id("decision"),)
    assert "district_court" in finding.detail


def test_appeal_decided_by_a_regional_court_in_2025_is_a_finding() -> None:
    case = dossier_before_the_court("2025-07-01")
    decide(case, "2025-07-10")
    case.at("2025-08-20 10:00").record(
        "AppealDecided", {**REF, "outcome": "upheld"}, body=REGIONAL_COURT, name="appeal"
    )

    finding = only(findings(case.entries, "2025-08-31", "X25-04"))

    assert finding.evidence_event_ids == (case.id("appeal"),)
    assert "provincial court hears appeals" in finding.detail


def test_appeal_decided_by_the_provincial_court_in_2025_is_lawful() -> None:
    case = dossier_before_the_court("2025-07-01")
    decide(case, "2025-07-10")
    case.at("2025-08-20 10:00").record(
        "AppealDecided", {**REF, "outcome": "upheld"}, body=PROVINCIAL_COURT
    )

    assert findings(case.entries, "2025-08-31", "X25-04") == []


# --- the court's deadlines: F before 1 Jul 2025, unverified after ---------------------------------


def test_decision_22_days_after_an_acceptance_of_30_june_2025_is_a_k5_finding() -> None:
    case = dossier_before_the_court("2025-06-30", body=DISTRICT_COURT)

    decide(case, "2025-07-22")

    finding = only([f for f in findings(case.entries, "2025-07-31", "K5") if "15 days" in f.detail])
    assert (finding.confidence, finding.regime) == ("F", "CT-PL03")


def test_court_deadlines_for_a_dossier_accepted_on_1_july_2025_are_unverified() -> None:
    case = dossier_before_the_court("2025-07-01")

    decide(case, "2025-07-23")

    assert findings(case.entries, "2025-07-31", "K5") == []
    finding = only(findings(case.entries, "2025-07-31", "K5", enabled("K5")))
    assert (finding.confidence, finding.regime) == ("R", "CT-25B+")
    assert "PL 08/2025" in finding.legal_basis
    assert finding.detail.endswith("[unverified legal basis]")


# --- X25-05: the procurator of the regional procuracy ---------------------------------------------


def test_session_without_the_procurator_for_a_dossier_accepted_in_july_2025_is_x25_05s() -> None:
    case = dossier_before_the_court("2025-07-01")

    hold_session(case, "2025-07-10", procurator=False)

    evaluation = judge(case.entries, "2025-07-31")
    finding = only([f for f in evaluation.findings if f.rule_id == "X25-05"])
    assert (finding.severity, finding.regime) == ("high", "25B+")
    assert finding.evidence_event_ids == (case.id("held"),)
    assert [f for f in evaluation.findings if f.rule_id == "K7"] == []


def test_session_without_the_procurator_for_a_dossier_accepted_on_30_june_is_k7s() -> None:
    case = dossier_before_the_court("2025-06-30", body=DISTRICT_COURT)

    hold_session(case, "2025-07-10", procurator=False)

    evaluation = judge(case.entries, "2025-07-31")
    assert only([f for f in evaluation.findings if f.rule_id == "K7"]).regime == "CT-PL03"
    assert [f for f in evaluation.findings if f.rule_id == "X25-05"] == []


def test_session_with_the_regional_procurator_complies() -> None:
    case = dossier_before_the_court("2025-07-01")

    hold_session(case, "2025-07-10", procurator=True)

    assert findings(case.entries, "2025-07-31", "X25-05") == []


def test_protest_lodged_by_the_regional_procuracy_complies_and_by_the_police_does_not() -> None:
    by_procuracy = decide(dossier_before_the_court("2025-07-01"), "2025-07-10")
    by_police = decide(dossier_before_the_court("2025-07-01"), "2025-07-10")
    protest = {**REF, "kind": "protest", "filed_by": "VKSND khu vực 3", "filed_on": "2025-07-14"}

    by_procuracy.at("2025-07-14 10:00").record(
        "CourtDecisionAppealed", protest, body=REGIONAL_PROCURACY
    )
    by_police.at("2025-07-14 10:00").record(
        "CourtDecisionAppealed", protest, body=COMMUNE_POLICE, name="protest"
    )

    assert findings(by_procuracy.entries, "2025-07-31", "X25-05") == []
    finding = only(findings(by_police.entries, "2025-07-31", "X25-05"))
    assert finding.evidence_event_ids == (by_police.id("protest"),)


# --- X25-09: escort and search by the police (R) --------------------------------------------------


def escorted(body: dict[str, str]) -> Scenario:
    case = decide(dossier_before_the_court("2025-07-01"), "2025-07-10")
    case.at("2025-07-25 08:00").record(
        "EscortedToFacility",
        {**REF, "facility": FACILITY, "custody_started_at": "2025-07-25T08:00:00+07:00"},
        body=body,
        name="escort",
    )
    return case


def test_escort_by_the_commune_chairman_is_an_unverified_finding_off_by_default() -> None:
    case = escorted(COMMUNE_COMMITTEE)

    assert findings(case.entries, "2025-07-31", "X25-09") == []
    finding = only(findings(case.entries, "2025-07-31", "X25-09", enabled("X25-09")))
    assert finding.evidence_event_ids == (case.id("escort"),)
    assert finding.unverified and finding.detail.endswith("[unverified legal basis]")


def test_escort_by_the_provincial_police_complies_when_enabled() -> None:
    case = escorted(PROVINCIAL_POLICE)

    assert findings(case.entries, "2025-07-31", "X25-09", enabled("X25-09")) == []


# --- X25-10: 3 months from the last violation to the decision -------------------------------------


def test_decision_more_than_3_months_after_the_last_violation_is_a_finding() -> None:
    case = dossier_before_the_court("2025-07-01")  # violation Mon 09/06/2025

    decide(case, "2025-09-10")

    finding = only(findings(case.entries, "2025-09-30", "X25-10"))
    assert (finding.confidence, finding.severity, finding.regime) == ("S", "high", "22+")
    assert finding.evidence_event_ids == (case.id("decision"),)
    assert "(2025-06-09)" in finding.detail
    assert not finding.unverified


def test_decision_on_the_last_day_of_the_3_months_complies() -> None:
    case = dossier_before_the_court("2025-07-01")

    decide(case, "2025-09-09")

    assert findings(case.entries, "2025-09-30", "X25-10") == []


def test_absconding_restarts_the_count_from_the_return() -> None:
    case = dossier_before_the_court("2025-07-01")
    case.at("2025-06-20 22:00").record("Absconded", {"phase": "interim"})
    case.at("2025-07-15 06:00").record("Returned", {"how": "apprehended"})

    decide(case, "2025-09-10")

    assert findings(case.entries, "2025-09-30", "X25-10") == []


def test_an_old_evasion_does_not_save_a_late_decision() -> None:
    case = dossier_before_the_court("2025-07-01")
    case.at("2025-06-20 22:00").record("Absconded", {"phase": "interim"})
    case.at("2025-06-23 06:00").record("Returned", {"how": "voluntary"})

    decide(case, "2025-09-25")

    finding = only(findings(case.entries, "2025-09-30", "X25-10"))
    assert "end of the evasion (2025-06-23; last violation 2025-06-09)" in finding.detail


# --- L26-01, L26-02: a move reported and handed over within 24 h ----------------------------------


def left(on: str, *, notified: bool = True, to_unit: str | None = NEW_COMMUNE) -> Scenario:
    case = Scenario()
    case.at(on).record(
        "ResidenceLeft",
        {"to_unit": to_unit, "notified_by_person": notified},
        body=COMMUNE_POLICE,
        name="left",
    )
    return case


def arrival(case: Scenario, on: str) -> Scenario:
    case.at(on).record(
        "ArrivalReported", {"from_unit": COMMUNE}, body=NEW_COMMUNE_POLICE, name="arrived"
    )
    return case


def transfer(case: Scenario, on: str) -> Scenario:
    case.at(on).record(
        "CaseTransferred",
        {"from_unit": COMMUNE, "to_unit": NEW_COMMUNE, "reason": "chuyển nơi cư trú"},
        body=COMMUNE_POLICE,
        name="transferred",
    )
    return case


def test_arrival_reported_25_hours_after_leaving_in_july_2026_is_late() -> None:
    case = arrival(left("2026-07-01 08:00"), "2026-07-02 09:00")

    evaluation = judge(case.entries, "2026-07-31")

    finding = only([f for f in evaluation.findings if f.rule_id == "L26-01"])
    assert (finding.status, finding.due, finding.regime) == (
        "resolved",
        at("2026-07-02 08:00"),
        "26",
    )
    assert finding.evidence_event_ids == (case.id("left"), case.id("arrived"))
    [(_, judgement)] = steps(evaluation, "L26-01")
    assert (judgement.status, judgement.late_by, judgement.unit) == ("late", 1, "h")


def test_arrival_reported_within_24_hours_complies() -> None:
    case = arrival(left("2026-07-01 08:00"), "2026-07-02 07:30")

    evaluation = judge(case.entries, "2026-07-31")

    assert [f for f in evaluation.findings if f.rule_id == "L26-01"] == []
    assert [j.status for _, j in steps(evaluation, "L26-01")] == ["met"]


def test_no_arrival_report_is_pending_for_24_hours_then_missing() -> None:
    case = left("2026-07-01 08:00")

    before = judge(case.entries, "2026-07-02 07:59")
    after = judge(case.entries, "2026-07-02 08:01")

    assert [f for f in before.findings if f.rule_id == "L26-01"] == []
    assert [s.status for s, _ in steps(before, "L26-01")] == ["pending"]
    finding = only([f for f in after.findings if f.rule_id == "L26-01"])
    assert (finding.status, finding.due) == ("open", at("2026-07-02 08:00"))


def test_leaving_on_30_june_2026_is_not_judged_by_the_24_hour_duties() -> None:
    case = arrival(left("2026-06-30 08:00", notified=False), "2026-07-03 09:00")

    evaluation = judge(case.entries, "2026-07-31")

    assert not {f.rule_id for f in evaluation.findings} & {"L26-01", "L26-02"}
    assert steps(evaluation, "L26-01") == steps(evaluation, "L26-02") == []


def test_leaving_without_telling_the_departure_police_is_a_finding() -> None:
    case = arrival(left("2026-07-01 08:00", notified=False), "2026-07-01 20:00")

    finding = only(findings(case.entries, "2026-07-31", "L26-01"))

    assert (finding.status, finding.due) == ("open", None)
    assert finding.evidence_event_ids == (case.id("left"),)
    assert "without telling its police" in finding.detail


def test_prison_within_24_hours_of_leaving_makes_the_arrival_report_moot() -> None:
    case = left("2026-07-01 08:00")
    case.at("2026-07-01 20:00").record(
        "ImprisonmentStarted", {"judgment": "88/2026/HS-ST"}, body=REGIONAL_COURT
    )

    evaluation = judge(case.entries, "2026-07-31")

    assert not {f.rule_id for f in evaluation.findings} & {"L26-01", "L26-02"}


def test_case_handed_to_the_destination_30_hours_after_the_person_left_is_late() -> None:
    case = transfer(arrival(left("2026-07-01 08:00"), "2026-07-01 18:00"), "2026-07-02 14:00")

    finding = only(findings(case.entries, "2026-07-31", "L26-02"))

    assert (finding.status, finding.due) == ("resolved", at("2026-07-02 08:00"))
    assert finding.evidence_event_ids == (case.id("left"), case.id("transferred"))


def test_case_handed_to_the_destination_within_24_hours_complies() -> None:
    case = transfer(arrival(left("2026-07-01 08:00"), "2026-07-01 18:00"), "2026-07-01 20:00")

    evaluation = judge(case.entries, "2026-07-31")

    assert [f for f in evaluation.findings if f.rule_id == "L26-02"] == []
    assert [j.status for _, j in steps(evaluation, "L26-02")] == ["met"]


def test_departure_to_an_unknown_commune_is_not_judged_by_the_handover_duty() -> None:
    case = left("2026-07-01 08:00", to_unit=None)

    evaluation = judge(case.entries, "2026-07-31")

    assert [f for f in evaluation.findings if f.rule_id == "L26-02"] == []
    assert steps(evaluation, "L26-02") == []


# --- L26-06: electronic monitoring ----------------------------------------------------------------


def monitoring(case: Scenario, on: str, basis: str) -> Scenario:
    case.at(on).record(
        "ElectronicMonitoringDecided",
        {"basis": basis, "device_id": "VT-2026-0117", "starts_on": on[:10]},
        body=COMMUNE_POLICE,
        name="monitoring",
    )
    return case


def in_community_rehab(since: str) -> Scenario:
    case = Scenario()
    case.at(since).record(
        "VoluntaryTreatmentDecided",
        {"setting": "community", "provider": "Trạm Y tế phường Việt Hưng", "planned_months": 24},
        body=COMMUNE_COMMITTEE,
    )
    return case


def test_monitoring_a_person_in_community_rehab_complies() -> None:
    case = monitoring(
        in_community_rehab("2026-07-06 09:00"),
        "2026-07-20 10:00",
        "voluntary_rehab_home_or_community",
    )

    assert findings(case.entries, "2026-07-31", "L26-06") == []


def test_monitoring_a_person_in_no_rehab_ost_or_post_rehab_is_a_finding() -> None:
    case = Scenario()
    case.at("2026-07-06 21:00").record("DrugUseDetected", body=COMMUNE_POLICE)

    monitoring(case, "2026-07-20 10:00", "post_rehab_management")

    finding = only(findings(case.entries, "2026-07-31", "L26-06"))
    assert (finding.severity, finding.evidence_event_ids) == ("high", (case.id("monitoring"),))
    assert "not in voluntary rehab" in finding.detail


def test_monitoring_on_a_basis_the_person_is_not_in_is_a_finding() -> None:
    case = monitoring(in_community_rehab("2026-07-06 09:00"), "2026-07-20 10:00", "ost")

    finding = only(findings(case.entries, "2026-07-31", "L26-06"))

    assert "basis ost" in finding.detail
    assert "voluntary_rehab_home_or_community" in finding.detail


def test_monitoring_after_the_person_quit_rehab_is_a_finding() -> None:
    case = in_community_rehab("2026-07-06 09:00")
    case.at("2026-07-13 09:00").record("TreatmentQuit", {"kind": "quit"}, body=COMMUNE_COMMITTEE)

    monitoring(case, "2026-07-20 10:00", "voluntary_rehab_home_or_community")

    assert len(findings(case.entries, "2026-07-31", "L26-06")) == 1


def test_monitoring_decided_on_30_june_2026_is_not_judged() -> None:
    case = monitoring(Scenario(), "2026-06-30 10:00", "ost")

    assert findings(case.entries, "2026-07-31", "L26-06") == []


def test_monitoring_decided_by_another_body_is_a_finding() -> None:
    # The catalogue lets only the commune police record it; a record imported or corrected
    # around that check is still judged.
    case = monitoring(
        in_community_rehab("2026-07-06 09:00"),
        "2026-07-20 10:00",
        "voluntary_rehab_home_or_community",
    )
    entries = [
        replace(e, acting_body=PROVINCIAL_POLICE) if e.type == "ElectronicMonitoringDecided" else e
        for e in case.entries
    ]

    finding = only(findings(entries, "2026-07-31", "L26-06"))

    assert "not the commune police chief" in finding.detail


# --- L26-07: the monitoring device ----------------------------------------------------------------


def incident(kind: str, happened: str, reported: str, by: str = "person") -> Scenario:
    case = monitoring(
        in_community_rehab("2026-07-06 09:00"),
        "2026-07-08 10:00",
        "voluntary_rehab_home_or_community",
    )
    case.at(reported).record(
        "DeviceIncidentReported",
        {"kind": kind, "reported_by": by, "happened_at": f"{happened.replace(' ', 'T')}:00+07:00"},
        body=COMMUNE_POLICE,
        name="incident",
    )
    return case


def test_removing_the_device_is_a_violation() -> None:
    case = incident("removal", "2026-08-02 23:00", "2026-08-03 07:00", by="monitoring_system")

    finding = only(findings(case.entries, "2026-08-31", "L26-07"))

    assert (finding.severity, finding.evidence_event_ids) == ("high", (case.id("incident"),))
    assert "removal" in finding.detail and "violation" in finding.detail


def test_damage_reported_by_the_person_within_24_hours_complies() -> None:
    case = incident("damage", "2026-08-02 23:00", "2026-08-03 07:00")

    assert findings(case.entries, "2026-08-31", "L26-07") == []


def test_damage_reported_30_hours_later_is_a_finding_reading_immediately_as_24_hours() -> None:
    case = incident("damage", "2026-08-02 01:00", "2026-08-03 07:00")

    finding = only(findings(case.entries, "2026-08-31", "L26-07"))

    assert "reported 30 h after it happened" in finding.detail
    assert "'immediately' read as within 24 h" in finding.detail
    assert "within 24 h" in finding.title


def test_loss_noticed_by_the_monitoring_system_is_a_finding() -> None:
    case = incident("loss", "2026-08-02 23:00", "2026-08-03 07:00", by="monitoring_system")

    finding = only(findings(case.entries, "2026-08-31", "L26-07"))

    assert "not the monitored person" in finding.detail


# --- L26-08: 24 months the first time, 36 after ---------------------------------------------------


def voluntary(case: Scenario, on: str, months: int, setting: str = "community") -> Scenario:
    case.at(on).record(
        "VoluntaryTreatmentDecided",
        {"setting": setting, "provider": "Trạm Y tế phường Việt Hưng", "planned_months": months},
        body=COMMUNE_COMMITTEE,
        name="decided",
    )
    return case


def test_first_voluntary_rehab_planned_for_12_months_in_july_2026_is_a_finding() -> None:
    case = voluntary(Scenario(), "2026-07-01 10:00", 12)

    evaluation = judge(case.entries, "2026-07-31")

    finding = only([f for f in evaluation.findings if f.rule_id == "L26-08"])
    assert finding.evidence_event_ids == (case.id("decided"),)
    assert "12 months; 24 for a first rehab" in finding.detail
    assert [f for f in evaluation.findings if f.rule_id == "V3"] == []


def test_first_voluntary_rehab_planned_for_24_months_complies() -> None:
    case = voluntary(Scenario(), "2026-07-01 10:00", 24)

    evaluation = judge(case.entries, "2026-07-31")

    assert not {f.rule_id for f in evaluation.findings} & {"L26-08", "V3"}


def test_voluntary_rehab_decided_on_30_june_2026_is_still_judged_by_the_6_to_12_months() -> None:
    lawful = voluntary(Scenario(), "2026-06-30 10:00", 12)
    too_long = voluntary(Scenario(), "2026-06-30 10:00", 24)

    assert not {f.rule_id for f in judge(lawful.entries, "2026-07-31").findings} & {
        "L26-08",
        "V3",
    }
    assert only(findings(too_long.entries, "2026-07-31", "V3")).regime == "22+"
    assert findings(too_long.entries, "2026-07-31", "L26-08") == []


@pytest.mark.parametrize(("months", "lawful"), [(24, False), (36, True)])
def test_rehab_after_a_completed_one_is_planned_for_36_months(months: int, lawful: bool) -> None:
    case = voluntary(Scenario(), "2024-01-08 10:00", 12)
    case.at("2025-01-08 10:00").record(
        "TreatmentCompleted",
        {"setting": "community", "certificate_no": "GCN-26a/2025"},
        body=COMMUNE_COMMITTEE,
    )

    voluntary(case, "2026-09-01 10:00", months)

    found = findings(case.entries, "2026-09-30", "L26-08")
    if lawful:
        assert found == []
    else:
        assert "24 months; 36 for a rehab after 1 completed" in only(found).detail


def test_ost_has_no_rehab_term_and_counts_as_no_episode() -> None:
    case = voluntary(Scenario(), "2024-01-08 10:00", 12, setting="ost")
    case.at("2025-01-08 10:00").record(
        "TreatmentCompleted", {"setting": "ost", "certificate_no": "OST-2025-9"}
    )

    voluntary(case, "2026-09-01 10:00", 36, setting="ost")
    voluntary(case, "2026-09-15 10:00", 24)

    assert findings(case.entries, "2026-09-30", "L26-08") == []


def test_compulsory_term_rule_is_unverified_and_off_by_default() -> None:
    case = open_dossier(violation(adult(), "2026-08-03"), "2026-08-05")
    accept(case, "2026-08-17")
    decide(case, "2026-08-24", months=12)

    assert findings(case.entries, "2026-08-31", "L26-08-compulsory") == []
    finding = only(
        findings(case.entries, "2026-08-31", "L26-08-compulsory", enabled("L26-08-compulsory"))
    )
    assert "12 months; 24 for a first rehab" in finding.detail
    assert finding.detail.endswith("[unverified legal basis]")


# --- L26-09: facilities by age --------------------------------------------------------------------


def admitted(born: str, facility_kind: str | None, admission_kind: str = "voluntary") -> Scenario:
    case = Scenario(born=born)
    data = {"facility": FACILITY, "admission_kind": admission_kind}
    if facility_kind is not None:
        data["facility_kind"] = facility_kind
    case.at("2026-07-01 10:00").record("AdmittedToFacility", data, name="admitted")
    return case


@pytest.mark.parametrize(
    ("born", "facility_kind", "admission_kind"),
    [
        ("2010-03-01", "reform_school", "voluntary"),
        ("1990-03-01", "public", "compulsory"),
        ("2012-03-01", "private", "voluntary"),
        ("2010-03-01", "public", "voluntary"),  # a qualified public facility may take a minor
        ("1990-03-01", None, "compulsory"),  # no kind recorded: not judged
    ],
)
def test_admission_to_a_facility_fit_for_the_persons_age_complies(
    born: str, facility_kind: str | None, admission_kind: str
) -> None:
    case = admitted(born, facility_kind, admission_kind)

    assert findings(case.entries, "2026-07-31", "L26-09") == []


@pytest.mark.parametrize(
    ("born", "facility_kind", "admission_kind", "said"),
    [
        ("2000-03-01", "reform_school", "voluntary", "reform school (12 to under 18 only)"),
        ("1990-03-01", "private", "compulsory", "private facility (voluntary rehab only)"),
        ("2015-03-01", "public", "voluntary", "child under 12"),
    ],
)
def test_admission_to_a_facility_unfit_for_the_persons_age_is_a_finding(
    born: str, facility_kind: str, admission_kind: str, said: str
) -> None:
    case = admitted(born, facility_kind, admission_kind)

    finding = only(findings(case.entries, "2026-07-31", "L26-09"))

    assert finding.evidence_event_ids == (case.id("admitted"),)
    assert said in finding.detail


# --- L26-10: prison suspends the term -------------------------------------------------------------


def post_rehab(ends_on: str = "2027-07-10") -> Scenario:
    case = Scenario()
    case.at("2026-07-10 10:00").record(
        "PostRehabManagementDecided",
        {"starts_on": "2026-07-10", "ends_on": ends_on},
        body=COMMUNE_COMMITTEE,
    )
    return case


def imprisoned(case: Scenario, started: str, released: str | None) -> Scenario:
    case.at(f"{started} 10:00").record(
        "ImprisonmentStarted",
        {"judgment": "12/2026/HS-ST", "sentence_months": 3},
        body=REGIONAL_COURT,
    )
    if released is not None:
        case.at(f"{released} 08:00").record(
            "ImprisonmentEnded", {"released_on": released}, body=COMMUNE_POLICE
        )
    return case


def completed(case: Scenario, on: str) -> Scenario:
    case.at(f"{on} 10:00").record(
        "PostRehabManagementCompleted",
        {"certificate_no": "GCN-54/2027"},
        body=COMMUNE_COMMITTEE,
        name="completed",
    )
    return case


def test_post_rehab_completed_while_the_person_is_in_prison_is_a_finding() -> None:
    case = imprisoned(post_rehab("2027-01-10"), "2026-12-01", None)

    completed(case, "2027-01-11")

    finding = only(findings(case.entries, "2027-01-31", "L26-10"))
    assert finding.evidence_event_ids == (case.id("completed"),)
    assert "while the person was in prison" in finding.detail


def test_post_rehab_completed_at_its_end_after_90_days_in_prison_is_a_finding() -> None:
    case = imprisoned(post_rehab(), "2026-09-01", "2026-11-30")

    completed(case, "2027-07-10")

    finding = only(findings(case.entries, "2027-07-31", "L26-10"))
    assert "before 2027-10-08" in finding.detail
    assert "plus 90 days in prison" in finding.detail


def test_post_rehab_completed_at_its_end_plus_the_days_in_prison_complies() -> None:
    case = imprisoned(post_rehab(), "2026-09-01", "2026-11-30")

    completed(case, "2027-10-08")

    assert findings(case.entries, "2027-10-31", "L26-10") == []


def test_only_prison_days_from_july_2026_move_the_end() -> None:
    # In prison 12/06-12/07/2026 under a decision of 10/06/2026: Law 120 suspends the term from
    # 01/07/2026 only, so its end moves by 11 days, from 10/06/2027 to 21/06/2027.
    case = Scenario()
    case.at("2026-06-10 10:00").record(
        "PostRehabManagementDecided",
        {"starts_on": "2026-06-10", "ends_on": "2027-06-10"},
        body=COMMUNE_COMMITTEE,
    )
    imprisoned(case, "2026-06-12", "2026-07-12")
    early, in_time = copy.deepcopy(case), case

    completed(early, "2027-06-20")
    completed(in_time, "2027-06-21")

    finding = only(findings(early.entries, "2027-06-30", "L26-10"))
    assert "before 2027-06-21" in finding.detail and "plus 11 days in prison" in finding.detail
    assert findings(in_time.entries, "2027-06-30", "L26-10") == []


# --- L26-13: decree deadlines on anchors from 1 Jul 2026 ------------------------------------------


@pytest.mark.parametrize(
    ("detected", "marked"), [("2026-06-30 21:00", False), ("2026-07-01 21:00", True)]
)
def test_a_decree_deadline_finding_from_july_2026_says_its_basis_may_be_superseded(
    detected: str, marked: bool
) -> None:
    case = Scenario()
    case.at(detected).record("DrugUseDetected", body=COMMUNE_POLICE)

    finding = only(findings(case.entries, "2026-07-31", "U3"))

    assert ("[basis possibly superseded]" in finding.detail) is marked
    assert finding.confidence == "F"


# --- the README's table ---------------------------------------------------------------------------


def readme_table() -> str:
    text = (ROOT / "domain" / "compliance" / "README.md").read_text()
    start = text.index("<!-- rule-table")
    start = text.index("\n", start) + 1
    return text[start : text.index("<!-- /rule-table -->")]


def test_the_readme_table_is_what_tools_rule_table_prints() -> None:
    printed = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "rule_table.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout

    assert readme_table() == printed, "run: python tools/rule_table.py (and paste into README)"


def test_the_readme_table_names_every_rule_of_the_rulebook() -> None:
    rows = [line.split(" | ")[0].removeprefix("| ") for line in readme_table().splitlines()[2:]]

    assert {rule.id for rule in RULEBOOK} | {"REC1"} == set(rows)
    assert len(rows) == len(RULEBOOK) + 1
