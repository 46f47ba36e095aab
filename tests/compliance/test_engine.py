"""The engine's own behaviour, whatever the rule: "as of" on both clocks, late recording,
unverified rules, voids and corrections, the timeline and the next deadline, rules as specs.

Cases are built through the aggregate (``Case.open`` / ``Case.record``): the ``now`` passed to
it becomes ``recorded_at``, so an event can be recorded long after it happened. Most stories use
rule C2 (dossier opened within 5 wd of detecting an adult, ND116 Art 40(1)): a ViolationRecorded
on Monday 04/03/2024 makes a DossierOpened due on Monday 11/03/2024.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

from domain.case import Case, NewEvent
from domain.compliance import ComplianceConfig, Evaluation, WorkingCalendar, evaluate
from domain.compliance.spec import ALWAYS, Deadline, Rule, days, on, wd
from domain.state import Entry
from tests.domain.builders import ACTOR, COMMUNE, VALID_PAYLOADS

VN = timezone(timedelta(hours=7))


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant of 2024 in Vietnam."""
    return datetime(2024, month, day, hour, minute, tzinfo=VN)


DETECTED = at(3, 4)  # Monday
C2_DUE = date(2024, 3, 11)  # 5 working days later


OPENED = at(3, 1)


def opened_case(on_: datetime = OPENED) -> Case:
    return Case.open(
        uuid4(), NewEvent.parse("CaseOpened", on_, VALID_PAYLOADS["CaseOpened"]), ACTOR, on_
    )


def record(
    case: Case,
    event_type: str,
    occurred_at: datetime,
    recorded_at: datetime | None = None,
    data: dict[str, Any] | None = None,
    **envelope: Any,
) -> Entry:
    """Record ``event_type`` (its valid payload unless ``data``); recorded an hour later unless
    ``recorded_at``."""
    new = NewEvent.parse(
        event_type,
        occurred_at,
        VALID_PAYLOADS[event_type] if data is None else data,
        **envelope,
    )
    case.record(new, ACTOR, recorded_at or occurred_at + timedelta(hours=1))
    return case.entries[-1]


def rule_ids(evaluation: Evaluation) -> list[str]:
    return [f.rule_id for f in evaluation.findings]


def findings_of(evaluation: Evaluation, rule_id: str) -> list[Any]:
    return [f for f in evaluation.findings if f.rule_id == rule_id]


def steps_named(evaluation: Evaluation, step: str) -> list[Any]:
    return [s for s in evaluation.timeline if s.step == step]


# --- "as of" on both clocks ------------------------------------------------------------------


def test_an_event_recorded_after_the_as_of_instant_is_invisible_even_if_it_happened_before() -> (
    None
):
    case = opened_case()
    record(case, "ViolationRecorded", DETECTED)
    dossier = record(case, "DossierOpened", at(3, 8), recorded_at=at(3, 20))

    as_of_15 = evaluate(case.entries, at(3, 15, 17))
    as_of_21 = evaluate(case.entries, at(3, 21))

    # Check as of 15/03: the dossier, opened on 08/03 but recorded on 20/03, is not on record.
    assert dossier.event_id not in [s.event_id for s in as_of_15.timeline]
    [expected] = steps_named(as_of_15, "Dossier opened")
    assert expected.status == "missing"
    [finding] = findings_of(as_of_15, "C2")
    assert finding.status == "open"
    assert finding.due == C2_DUE
    # Check as of 21/03: the same step shows as done on time.
    assert "C2" not in rule_ids(as_of_21)
    [done] = steps_named(as_of_21, "DossierOpened")
    assert done.event_id == dossier.event_id
    assert [(j.rule_id, j.status) for j in done.judgements] == [("C2", "met")]


def test_an_event_recorded_at_the_as_of_instant_is_on_record() -> None:
    case = opened_case()
    record(case, "ViolationRecorded", DETECTED)
    dossier = record(case, "DossierOpened", at(3, 8), recorded_at=at(3, 20))

    evaluation = evaluate(case.entries, at(3, 20))

    assert dossier.event_id in [s.event_id for s in evaluation.timeline]
    assert "C2" not in rule_ids(evaluation)


def test_a_step_not_yet_due_is_pending_and_raises_no_finding() -> None:
    case = opened_case()
    record(case, "ViolationRecorded", DETECTED)

    on_due_day = evaluate(case.entries, at(3, 11, 23, 59))
    day_after = evaluate(case.entries, at(3, 12, 0, 1))

    assert [s.status for s in steps_named(on_due_day, "Dossier opened")] == ["pending"]
    assert "C2" not in rule_ids(on_due_day)
    assert [s.status for s in steps_named(day_after, "Dossier opened")] == ["missing"]
    assert [f.detected_on for f in findings_of(day_after, "C2")] == [date(2024, 3, 12)]


def test_a_correction_recorded_after_the_as_of_instant_is_not_applied_yet() -> None:
    case = opened_case()
    violation = record(case, "ViolationRecorded", DETECTED)
    record(case, "DossierOpened", at(3, 13))
    correction = {
        "corrects_event_id": violation.event_id,
        "changes": {"occurred_at": at(3, 7).isoformat()},
        "reason": "wrong date on the violation record",
    }
    record(case, "EntryCorrected", at(4, 2), data=correction)

    before = evaluate(case.entries, at(4, 1))

    [step] = [s for s in before.timeline if s.event_id == violation.event_id]
    assert step.occurred_at == DETECTED
    assert step.first_recorded_occurred_at is None
    assert [f.status for f in findings_of(before, "C2")] == ["resolved"]


# --- late recording --------------------------------------------------------------------------


def test_an_event_recorded_more_than_the_allowed_days_late_is_a_finding() -> None:
    case = opened_case()
    note = record(case, "NoteAdded", DETECTED, recorded_at=DETECTED + timedelta(days=10, hours=1))
    config = ComplianceConfig(late_recording_days=10)

    evaluation = evaluate(case.entries, at(4, 1), config)

    [finding] = findings_of(evaluation, "REC1")
    assert finding.evidence_event_ids == (note.event_id,)
    assert finding.status == "resolved"
    assert finding.detected_on == date(2024, 3, 14)
    assert finding.confidence == "system"
    assert "10 days" in finding.detail


def test_an_event_recorded_within_the_allowed_days_is_not_a_finding() -> None:
    case = opened_case()
    record(case, "NoteAdded", DETECTED, recorded_at=DETECTED + timedelta(days=9, hours=23))
    record(case, "NoteAdded", DETECTED, recorded_at=DETECTED + timedelta(days=10))
    config = ComplianceConfig(late_recording_days=10)

    evaluation = evaluate(case.entries, at(4, 1), config)

    assert "REC1" not in rule_ids(evaluation)


def test_the_late_recording_limit_is_thirty_days_by_default() -> None:
    case = opened_case()
    record(case, "NoteAdded", DETECTED, recorded_at=DETECTED + timedelta(days=20))
    late = record(case, "NoteAdded", DETECTED, recorded_at=DETECTED + timedelta(days=31))

    evaluation = evaluate(case.entries, at(5, 1))

    assert [f.evidence_event_ids for f in findings_of(evaluation, "REC1")] == [(late.event_id,)]


def test_a_late_recorded_event_is_a_finding_only_once_it_is_recorded() -> None:
    case = opened_case()
    record(case, "NoteAdded", DETECTED, recorded_at=DETECTED + timedelta(days=40))

    assert "REC1" not in rule_ids(evaluate(case.entries, DETECTED + timedelta(days=39)))
    assert "REC1" in rule_ids(evaluate(case.entries, DETECTED + timedelta(days=41)))


# --- unverified (R) rules --------------------------------------------------------------------

VISIT_AFTER_COUNSELLING_R = Rule(
    "X-R1",
    "Home visit within 3 days of a counselling session (recalled, unverified)",
    "recalled practice, not found in the legal text",
    ALWAYS,
    Deadline(on("CounsellingSessionHeld"), on("HomeVisitMade"), days(3), "Home visit made"),
    confidence="R",
)


def test_an_unverified_rule_is_off_by_default() -> None:
    case = opened_case()
    record(case, "CounsellingSessionHeld", DETECTED)
    config = ComplianceConfig(rules=(VISIT_AFTER_COUNSELLING_R,))

    evaluation = evaluate(case.entries, at(4, 1), config)

    assert evaluation.findings == []
    assert steps_named(evaluation, "Home visit made") == []


def test_an_enabled_unverified_rule_says_its_legal_basis_is_unverified() -> None:
    case = opened_case()
    session = record(case, "CounsellingSessionHeld", DETECTED)
    config = ComplianceConfig(
        rules=(VISIT_AFTER_COUNSELLING_R,), enabled_unverified=frozenset({"X-R1"})
    )

    evaluation = evaluate(case.entries, at(4, 1), config)

    [finding] = evaluation.findings
    assert finding.rule_id == "X-R1"
    assert finding.evidence_event_ids == (session.event_id,)
    assert finding.unverified
    assert finding.confidence == "R"
    assert "unverified legal basis" in finding.detail


def test_the_rulebook_judges_no_unverified_rule_by_default() -> None:
    from domain.compliance.rules import RULEBOOK

    unverified = {r.id for r in RULEBOOK if r.unverified}
    case = opened_case()
    record(case, "ViolationRecorded", DETECTED)

    evaluation = evaluate(case.entries, at(4, 1))

    assert not any(f.unverified for f in evaluation.findings)
    assert not {f.rule_id for f in evaluation.findings} & unverified


# --- voids -----------------------------------------------------------------------------------


def test_a_voided_anchor_raises_no_finding() -> None:
    case = opened_case()
    violation = record(case, "ViolationRecorded", DETECTED)
    void = {"voids_event_id": violation.event_id, "reason": "entered on the wrong case"}
    record(case, "EntryVoided", at(3, 20), data=void)

    before_void = evaluate(case.entries, at(3, 15))
    after_void = evaluate(case.entries, at(3, 21))

    assert "C2" in rule_ids(before_void)
    assert "C2" not in rule_ids(after_void)
    assert violation.event_id not in [s.event_id for s in after_void.timeline]
    assert steps_named(after_void, "Dossier opened") == []


def test_a_voided_step_does_not_meet_its_deadline() -> None:
    case = opened_case()
    record(case, "ViolationRecorded", DETECTED)
    dossier = record(case, "DossierOpened", at(3, 6))
    void = {"voids_event_id": dossier.event_id, "reason": "entered on the wrong case"}
    record(case, "EntryVoided", at(3, 20), data=void)

    evaluation = evaluate(case.entries, at(3, 21))

    assert [f.status for f in findings_of(evaluation, "C2")] == ["open"]
    assert [s.status for s in steps_named(evaluation, "Dossier opened")] == ["missing"]


# --- corrections -----------------------------------------------------------------------------


def test_a_corrected_occurred_at_moves_the_deadline_and_the_timeline_shows_both_dates() -> None:
    case = opened_case()
    violation = record(case, "ViolationRecorded", DETECTED)
    record(case, "DossierOpened", at(3, 13))  # Wednesday: 2 wd after 11/03
    correction = {
        "corrects_event_id": violation.event_id,
        "changes": {"occurred_at": at(3, 7).isoformat()},  # Thursday: due 14/03
        "reason": "wrong date on the violation record",
    }
    record(case, "EntryCorrected", at(4, 2), data=correction)

    before = evaluate(case.entries, at(4, 1))
    after = evaluate(case.entries, at(4, 3))

    # Check before the correction: late by 2 working days.
    [late] = findings_of(before, "C2")
    assert (late.due, late.status) == (C2_DUE, "resolved")
    assert "2 wd late" in late.detail
    # Check after: the deadline counts from the corrected date and is met.
    assert "C2" not in rule_ids(after)
    [step] = [s for s in after.timeline if s.event_id == violation.event_id]
    assert step.occurred_at == at(3, 7)
    assert step.first_recorded_occurred_at == DETECTED
    [dossier] = steps_named(after, "DossierOpened")
    assert [(j.due, j.status) for j in dossier.judgements] == [(date(2024, 3, 14), "met")]


# --- the timeline ----------------------------------------------------------------------------


def test_the_timeline_lists_each_event_with_its_dates_and_acting_body() -> None:
    police = {"kind": "commune_police", "unit": COMMUNE}
    case = opened_case()
    violation = record(
        case, "ViolationRecorded", DETECTED, recorded_at=at(3, 5, 14), acting_body=police
    )
    note = record(case, "NoteAdded", at(3, 6))

    evaluation = evaluate(case.entries, at(3, 7))

    events = [s for s in evaluation.timeline if s.event_id is not None]
    assert [s.step for s in events] == ["CaseOpened", "ViolationRecorded", "NoteAdded"]
    assert all(s.status == "done" for s in events)
    [step] = [s for s in events if s.event_id == violation.event_id]
    assert (step.occurred_at, step.recorded_at) == (DETECTED, at(3, 5, 14))
    assert step.acting_body == police
    assert [s.acting_body for s in events if s.event_id == note.event_id] == [None]


def test_the_timeline_shows_expected_steps_after_the_events_with_their_due_dates() -> None:
    case = opened_case()
    violation = record(case, "ViolationRecorded", DETECTED)

    evaluation = evaluate(case.entries, at(3, 7))

    last = evaluation.timeline[-1]
    assert (last.step, last.event_id, last.status) == ("Dossier opened", None, "pending")
    [judgement] = last.judgements
    assert (judgement.rule_id, judgement.anchor_event_id) == ("C2", violation.event_id)
    assert (judgement.due, judgement.unit) == (C2_DUE, "wd")


def test_a_late_step_carries_its_judgement_in_the_timeline() -> None:
    case = opened_case()
    record(case, "ViolationRecorded", DETECTED)
    record(case, "DossierOpened", at(3, 13))

    evaluation = evaluate(case.entries, at(3, 14))

    [dossier] = steps_named(evaluation, "DossierOpened")
    [judgement] = dossier.judgements
    assert (judgement.status, judgement.late_by, judgement.due) == ("late", 2, C2_DUE)
    [finding] = findings_of(evaluation, "C2")
    assert finding.resolved_on == date(2024, 3, 13)


def test_next_due_is_the_earliest_pending_deadline() -> None:
    case = opened_case()
    record(case, "ViolationRecorded", at(3, 1))  # C2: dossier due Friday 08/03
    addicted = {**VALID_PAYLOADS["AddictionDetermined"], "conclusion": "addicted"}
    record(case, "AddictionDetermined", DETECTED, data=addicted)  # D7: registration due 11/03

    evaluation = evaluate(case.entries, at(3, 6))

    pending = {j.rule_id: j.due for s in evaluation.timeline for j in s.judgements}
    assert pending == {"C2": date(2024, 3, 8), "D7": C2_DUE}
    assert evaluation.next_due is not None
    assert (evaluation.next_due.rule_id, evaluation.next_due.due) == ("C2", date(2024, 3, 8))


def test_next_due_skips_missing_and_met_steps() -> None:
    case = opened_case()
    record(case, "ViolationRecorded", at(3, 1))
    record(case, "DossierOpened", at(3, 5))

    assert evaluate(case.entries, at(3, 6)).next_due is None
    assert evaluate(opened_case().entries, at(3, 6)).next_due is None


# --- the calendar and the rulebook are configuration -----------------------------------------


def test_an_operator_holiday_shifts_a_due_date_in_the_evaluation() -> None:
    case = opened_case()
    record(case, "ViolationRecorded", DETECTED)
    record(case, "DossierOpened", at(3, 12))
    with_bridge_day = ComplianceConfig(calendar=WorkingCalendar(extra_holidays=[date(2024, 3, 6)]))

    plain = evaluate(case.entries, at(3, 20))
    shifted = evaluate(case.entries, at(3, 20), with_bridge_day)

    assert [f.due for f in findings_of(plain, "C2")] == [C2_DUE]
    assert "C2" not in rule_ids(shifted)
    [dossier] = steps_named(shifted, "DossierOpened")
    assert [j.due for j in dossier.judgements] == [date(2024, 3, 12)]


def test_adding_a_rule_is_adding_a_spec() -> None:
    visit_after_counselling = Rule(
        "T1",
        "Home visit within 2 working days of a family counselling session",
        "test rulebook Art 1",
        ALWAYS,
        Deadline(
            on("CounsellingSessionHeld", where=lambda e: e.data["mode"] == "family"),
            on("HomeVisitMade"),
            wd(2),
            "Home visit made",
        ),
        severity="low",
    )
    case = opened_case()
    family = {**VALID_PAYLOADS["CounsellingSessionHeld"], "mode": "family"}
    session = record(case, "CounsellingSessionHeld", at(3, 8), data=family)  # Friday
    record(case, "CounsellingSessionHeld", at(3, 8))  # individual: not an anchor

    evaluation = evaluate(
        case.entries, at(3, 20), ComplianceConfig(rules=(visit_after_counselling,))
    )

    [finding] = [f for f in evaluation.findings if f.rule_id != "REC1"]
    assert finding.rule_id == "T1"
    assert finding.legal_basis == "test rulebook Art 1"
    assert (finding.severity, finding.status) == ("low", "open")
    assert finding.evidence_event_ids == (session.event_id,)
    assert finding.due == date(2024, 3, 12)
    assert "Home visit made missing" in finding.detail
    assert [s.status for s in steps_named(evaluation, "Home visit made")] == ["missing"]
