"""Contract tests of the read models, on SQLite and PostgreSQL: what supervisors and inspectors
read after the runner has applied the log."""

from __future__ import annotations

from datetime import date

from domain.application import CaseLedger
from projections import caseload, inspections, timeline
from projections.db import ViewDatabase
from projections.generations import active_generations
from projections.runner import Runner
from tests.compliance.scenario import COMMUNE, COMMUNE_POLICE, Scenario
from tests.projections.conftest import Clock

OTHER_COMMUNE = "01.004.00133"


def detected(when: str = "2023-03-06 21:30", residence: str = COMMUNE) -> Scenario:
    case = Scenario(residence_unit=residence)
    case.at(when).record("DrugUseDetected", body=COMMUNE_POLICE, name="detected")
    return case


def counselled(case: Scenario, when: str) -> Scenario:
    data = {"mode": "individual", "duration_minutes": 45, "counsellor": "Lê Thị Hoa"}
    return case.at(when).record("CounsellingSessionHeld", data, name="counselled")


def verified(case: Scenario, when: str) -> Scenario:
    return case.at(when).record("ResidenceVerified", body=COMMUNE_POLICE, name="verified")


def save(ledger: CaseLedger, *cases: Scenario) -> None:
    ledger.save(*(c.case for c in cases))


def case_id(case: Scenario) -> str:
    return str(case.case.id)


# --- caseload ----------------------------------------------------------------------------------


def test_caseload_lists_a_case_under_every_unit_above_it_with_assignee_and_last_contact(
    ledger: CaseLedger, runner: Runner, views: ViewDatabase
):
    case = detected()
    case.at("2023-03-07 08:00").record(
        "CaseAssigned", {"assignee_id": "cs-viethung-2", "assignee_role": "counsellor"}
    )
    counselled(case, "2023-03-07 14:00")
    save(ledger, case)

    runner.catch_up()

    for unit in ("01", "01.004", COMMUNE):
        rows, total = caseload.query(views, unit)
        assert (total, rows[0]["case_id"]) == (1, case_id(case))
    row = rows[0]
    assert (row["managing_unit"], row["stage"], row["active"]) == (COMMUNE, "intake", True)
    assert (row["assignee_id"], row["assignee_role"]) == ("cs-viethung-2", "counsellor")
    assert row["last_contact_type"] == "CounsellingSessionHeld"
    assert row["last_contact_at"].startswith("2023-03-07T07:00:00")  # 14:00 in Việt Nam
    assert caseload.query(views, "01.005") == ([], 0)
    assert caseload.query(views, "01.004.0012") == ([], 0)  # not a prefix of a code segment
    assert caseload.query(views, "01", assignee="someone-else") == ([], 0)


def test_caseload_shows_the_next_deadline_and_a_passed_one_without_any_new_event(
    ledger: CaseLedger, runner: Runner, views: ViewDatabase, clock: Clock
):
    case = detected("2023-03-06 21:30")  # Monday night: residence due by Thursday 09/03
    save(ledger, case)
    clock.set("2023-03-08 12:00")

    runner.catch_up()

    [row], _ = caseload.query(views, COMMUNE)
    assert (row["next_due_rule"], row["next_due_on"], row["overdue"]) == ("U3", "2023-03-09", False)
    assert row["next_due_step"]
    assert inspections.findings(views, COMMUNE, rule="U3") == ([], 0)
    position = active_generations(views)[0].position

    # Check: the deadline passes; nothing is recorded; the scheduler re-judges the case
    clock.set("2023-03-10 08:00")
    runner.run_once()

    [row], _ = caseload.query(views, COMMUNE, overdue=True)
    assert (row["overdue"], row["next_due_rule"]) == (True, None)
    [finding], _ = inspections.findings(views, COMMUNE, rule="U3")
    assert (finding["status"], finding["due_on"], finding["detected_on"]) == (
        "open",
        "2023-03-09",
        "2023-03-10",
    )
    steps = {s["step"]: s for s in timeline.of_case(views, case_id(case))}
    assert any(s["status"] == "missing" for s in steps.values())
    assert all(s.position == position for s in active_generations(views))  # no event was applied


def test_a_closed_case_leaves_the_active_caseload(
    ledger: CaseLedger, runner: Runner, views: ViewDatabase
):
    kept, closed = detected(), detected(residence=OTHER_COMMUNE)
    closed.at("2023-03-07 10:00").record("CaseClosed", {"reason": "moved_away"})
    save(ledger, kept, closed)

    runner.catch_up()

    rows, total = caseload.query(views, "01.004")
    assert total == 1
    assert [r["case_id"] for r in rows] == [case_id(kept)]


def test_caseload_pages_most_urgent_first(
    ledger: CaseLedger, runner: Runner, views: ViewDatabase, clock: Clock
):
    later, sooner = detected("2023-03-07 09:00"), detected("2023-03-06 09:00")
    save(ledger, later, sooner)

    runner.catch_up()

    first, total = caseload.query(views, "01.004", limit=1)
    second, _ = caseload.query(views, "01.004", limit=1, offset=1)
    assert total == 2
    assert [first[0]["case_id"], second[0]["case_id"]] == [case_id(sooner), case_id(later)]


# --- timeline -------------------------------------------------------------------------------


def test_timeline_shows_each_step_with_the_deadline_that_applied_and_whether_it_was_met(
    ledger: CaseLedger, runner: Runner, views: ViewDatabase, clock: Clock
):
    case = detected("2023-03-06 21:30")
    verified(case, "2023-03-10 10:00")  # the 4th working day: one day late
    save(ledger, case)
    clock.set("2023-03-31 12:00")

    runner.catch_up()

    steps = timeline.of_case(views, case_id(case))
    assert [s["seq"] for s in steps] == list(range(1, len(steps) + 1))
    step = next(s for s in steps if s["event_id"] == case.id("verified"))
    assert (step["step"], step["status"]) == ("ResidenceVerified", "done")
    assert step["acting_body"] == COMMUNE_POLICE
    [deadline] = [d for d in step["deadlines"] if d["rule_id"] == "U3"]
    assert (deadline["due"], deadline["status"], deadline["late_by"]) == ("2023-03-09", "late", 1)
    assert deadline["anchor_event_id"] == case.id("detected")
    [finding] = [f for f in inspections.of_case(views, case_id(case)) if f["rule_id"] == "U3"]
    assert (finding["status"], finding["resolved_on"]) == ("resolved", "2023-03-10")


def test_a_correction_shows_in_the_timeline_beside_the_date_first_recorded(
    ledger: CaseLedger, runner: Runner, views: ViewDatabase, clock: Clock
):
    case = detected("2023-03-06 21:30")
    verified(case, "2023-03-10 10:00")
    case.at("2023-03-10 11:00").record(
        "EntryCorrected",
        {
            "corrects_event_id": case.id("verified"),
            "changes": {"occurred_at": "2023-03-09T10:00:00+07:00"},
            "reason": "typed the wrong day",
        },
    )
    save(ledger, case)
    clock.set("2023-03-31 12:00")

    runner.catch_up()

    step = next(
        s for s in timeline.of_case(views, case_id(case)) if s["event_id"] == case.id("verified")
    )
    assert step["occurred_at"].startswith("2023-03-09T03:00:00")
    assert step["first_recorded_occurred_at"].startswith("2023-03-10T03:00:00")
    assert [d["status"] for d in step["deadlines"] if d["rule_id"] == "U3"] == ["met"]


# --- inspections ------------------------------------------------------------------------------


def test_findings_carry_unit_commune_rule_evidence_and_dates(
    ledger: CaseLedger, runner: Runner, views: ViewDatabase, clock: Clock
):
    late = detected("2023-03-06 21:30")
    verified(late, "2023-03-10 10:00")
    never = detected("2023-03-13 09:00", residence=OTHER_COMMUNE)
    on_time = detected("2023-03-06 21:30")
    verified(on_time, "2023-03-08 10:00")
    save(ledger, late, never, on_time)
    clock.set("2023-03-31 12:00")

    runner.catch_up()

    rows, total = inspections.findings(views, "01.004", rule="U3")
    assert total == 2
    by_case = {r["case_id"]: r for r in rows}
    assert set(by_case) == {case_id(late), case_id(never)}
    assert by_case[case_id(late)]["status"] == "resolved"
    assert by_case[case_id(late)]["evidence_event_ids"] == [
        late.id("detected"),
        late.id("verified"),
    ]
    assert by_case[case_id(never)]["status"] == "open"
    assert by_case[case_id(never)]["commune"] == OTHER_COMMUNE
    assert by_case[case_id(never)]["managing_unit"] == COMMUNE
    assert (by_case[case_id(never)]["due_on"], by_case[case_id(never)]["detected_on"]) == (
        "2023-03-16",
        "2023-03-17",
    )
    # Check the filters: status, period, unit
    assert inspections.findings(views, "01.004", rule="U3", status="open")[1] == 1
    assert inspections.findings(views, "01.004", rule="U3", start=date(2023, 3, 12))[1] == 1
    assert inspections.findings(views, "01.004", rule="U3", end=date(2023, 3, 10))[1] == 1
    assert inspections.findings(views, "02", rule="U3")[1] == 0


def test_the_report_counts_by_rule_and_commune_and_names_the_worst_cases(
    ledger: CaseLedger, runner: Runner, views: ViewDatabase, clock: Clock
):
    late = detected("2023-03-06 21:30")
    verified(late, "2023-03-10 10:00")
    never = detected("2023-03-13 09:00", residence=OTHER_COMMUNE)
    save(ledger, late, never)
    clock.set("2023-03-31 12:00")

    runner.catch_up()
    report = inspections.report(views, "01.004", date(2023, 3, 1), date(2023, 3, 31))

    u3 = next(r for r in report["by_rule"] if r["rule_id"] == "U3")
    assert (u3["findings"], u3["open"]) == (2, 1)
    communes = {r["commune"]: (r["findings"], r["open"]) for r in report["by_commune"]}
    assert communes == {COMMUNE: (1, 0), OTHER_COMMUNE: (1, 1)}  # resolved late; still open
    assert report["worst_cases"][0]["case_id"] == case_id(never)
    assert report["findings"] == sum(r["findings"] for r in report["by_rule"])
    assert inspections.report(views, "01.004", date(2023, 4, 1), date(2023, 4, 30))["findings"] == 0
