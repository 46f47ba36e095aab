"""The demo generator: plausible courses recorded through the domain, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from domain.application import CaseLedger
from domain.compliance import evaluate
from domain.events import CATALOGUE, UNIT_CODE_PATTERN, unit_paths
from domain.state import Entry
from domain.units import local_day, registry
from infra.demo import SHOWCASE, generate
from infra.demo.showcase import ACROSS_THE_REFORMS
from infra.settings import Settings
from infra.store import build_application

REGIME_22 = datetime.fromisoformat("2022-01-01T00:00:00+07:00")
PL03_START = datetime.fromisoformat("2023-02-01T00:00:00+07:00")
PL01_START = datetime.fromisoformat("2022-03-24T00:00:00+07:00")
POLICE_TAKEOVER = datetime.fromisoformat("2025-03-01T00:00:00+07:00")
TWO_TIERS = datetime.fromisoformat("2025-07-01T00:00:00+07:00")
LAW_120 = datetime.fromisoformat("2026-07-01T00:00:00+07:00")
DEMO_RECORDED_UNTIL = datetime.fromisoformat("2026-11-30T23:30:00+07:00")
SOME_PEOPLE = 60


def stored_cases(app: CaseLedger) -> dict[UUID, list[Entry]]:
    """Every case in the store, read back through the application, in store order."""
    case_ids: dict[UUID, None] = {}
    after = 0
    while True:
        page = app.log_after(after, 1000)
        if not page:
            break
        case_ids.update(dict.fromkeys(UUID(n.entry.case_id) for n in page))
        after = page[-1].position
    return {case_id: app.get_case(case_id).entries for case_id in case_ids}


def sqlite_app(tmp_path: Path, name: str) -> CaseLedger:
    return build_application(
        Settings(environment="test", database_url=f"sqlite:///{tmp_path}/{name}.sqlite3")
    )


def snapshot(cases: dict[UUID, list[Entry]]) -> dict[UUID, list[tuple[object, ...]]]:
    return {
        case_id: [
            (
                e.event_id,
                e.version,
                e.type,
                e.occurred_at,
                e.recorded_at,
                e.actor,
                e.data,
                e.acting_body,
                e.document,
                e.legal_basis,
            )
            for e in entries
        ]
        for case_id, entries in cases.items()
    }


def test_demo_uses_every_event_type_of_the_catalogue(ledger: CaseLedger) -> None:
    summary = generate(ledger, people=200, seed=7)

    cases = stored_cases(ledger)
    stored_types = Counter(e.type for entries in cases.values() for e in entries)
    assert set(stored_types) == set(CATALOGUE)
    assert dict(stored_types) == dict(summary.event_counts)
    assert summary.people == 200
    assert summary.cases == len(cases) >= 200
    assert summary.events == sum(stored_types.values())


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_every_event_type_is_used_from_the_scripted_people_on(tmp_path: Path, seed: int) -> None:
    app = sqlite_app(tmp_path, f"seed{seed}")
    try:
        summary = generate(app, people=len(SHOWCASE), seed=seed)
    finally:
        app.close()
    assert set(summary.event_counts) == set(CATALOGUE)


def test_demo_is_deterministic_for_a_seed(ledger: CaseLedger, tmp_path: Path) -> None:
    generate(ledger, people=SOME_PEOPLE, seed=11)
    again = sqlite_app(tmp_path, "again")
    other = sqlite_app(tmp_path, "other")
    try:
        generate(again, people=SOME_PEOPLE, seed=11)
        generate(other, people=SOME_PEOPLE, seed=12)
        first, second = stored_cases(ledger), stored_cases(again)
        different = stored_cases(other)
    finally:
        again.close()
        other.close()

    assert list(first) == list(second)  # same case ids, saved in the same order
    assert snapshot(first) == snapshot(second)  # same events, ids, data and (simulated) times
    assert not set(first) & set(different)
    assert snapshot(first) != snapshot(different)


def test_demo_courses_span_both_legal_regimes(ledger: CaseLedger) -> None:
    generate(ledger, people=SOME_PEOPLE, seed=3)
    cases = stored_cases(ledger)
    entries = [e for es in cases.values() for e in es]

    assert any(e.occurred_at < REGIME_22 for e in entries)
    assert any(e.occurred_at >= PL03_START for e in entries)
    assert any(
        min(e.occurred_at for e in es) < REGIME_22 <= max(e.occurred_at for e in es)
        for es in cases.values()
    ), "some course straddles 01/01/2022"
    # measures of the old regime before 2022, of the new one after
    for e in entries:
        if e.type in ("CommuneEducationDecided", "DossierLegalityChecked"):
            assert e.occurred_at < REGIME_22, e
        if e.type in (
            "UserManagementDecided",
            "AddictionDeterminationRequested",
            "InterimManagementDecided",
        ):
            assert e.occurred_at >= REGIME_22, e
    # the ordinance in force on the acceptance date
    accepted = [e for e in entries if e.type == "CourtAccepted"]
    assert {e.data["ordinance"] for e in accepted} == {"PL09_2014", "PL03_2022", "PL01_2022"}
    for e in accepted:
        if e.data["ordinance"] == "PL03_2022":
            assert e.occurred_at >= PL03_START
        elif e.data["ordinance"] == "PL09_2014":
            assert e.occurred_at < PL03_START
        else:
            assert e.occurred_at >= PL01_START


def test_demo_records_some_events_late(ledger: CaseLedger) -> None:
    generate(ledger, people=SOME_PEOPLE, seed=5)
    cases = stored_cases(ledger)

    delays = [e.recorded_at - e.occurred_at for es in cases.values() for e in es]
    assert sum(d > timedelta(days=7) for d in delays) >= 10
    assert sorted(delays)[len(delays) // 2] < timedelta(days=1), "most are recorded promptly"
    assert all(d >= -timedelta(minutes=5) for d in delays)
    for entries in cases.values():
        recorded = [e.recorded_at for e in entries]
        assert recorded == sorted(recorded), "the simulated server clock is monotonic per case"
    # recorded on the simulated clock of the period, not at the time the demo ran: the
    # random courses within 2024, the showcase's courses across the reforms to November 2026
    last_recorded = [es[-1].recorded_at for es in cases.values()]
    assert max(last_recorded) <= DEMO_RECORDED_UNTIL
    past_2024 = [r for r in last_recorded if r >= datetime(2025, 1, 1, tzinfo=UTC)]
    assert len(past_2024) == len(ACROSS_THE_REFORMS)


def test_demo_cases_read_back_through_the_application(ledger: CaseLedger) -> None:
    summary = generate(ledger, people=SOME_PEOPLE, seed=9)
    cases = stored_cases(ledger)
    assert len(cases) == summary.cases

    positions: list[int] = []
    for case_id, entries in cases.items():
        record = ledger.get_case(case_id)
        history = ledger.history(case_id)
        assert [e.version for e in entries] == list(range(1, len(entries) + 1))
        assert [e.event_id for e, _ in history] == [e.event_id for e in entries]
        assert all(position is not None for _, position in history)
        positions.extend(p for _, p in history if p is not None)
        assert entries[0].type == "CaseOpened"
        assert record.state.closed == (record.state.closure is not None)
        assert record.state.person["residence_unit"].startswith("01.")
    assert len(set(positions)) == summary.events


def test_relapses_cite_the_new_test_and_determination_of_the_same_case(ledger: CaseLedger) -> None:
    generate(ledger, people=SOME_PEOPLE, seed=4)
    relapses = 0
    for entries in stored_cases(ledger).values():
        earlier: dict[str, Entry] = {}
        for e in entries:
            if e.type == "RelapseRecorded":
                relapses += 1
                cited = [earlier[i] for i in e.data["evidence_event_ids"]]
                assert {c.type for c in cited} == {"DrugTestRecorded", "AddictionDetermined"}
                assert all(c.occurred_at <= e.occurred_at for c in cited)
            earlier[e.event_id] = e
    assert relapses >= 2


def test_demo_people_and_actors_are_plausible(ledger: CaseLedger) -> None:
    generate(ledger, people=SOME_PEOPLE * 2, seed=2)
    cases = stored_cases(ledger)
    openings = [es[0] for es in cases.values() if es[-1].type != "PersonalDataErased"]
    sexes = Counter(e.data["person"]["sex"] for e in openings)
    assert sexes["male"] / len(openings) > 0.85
    ages = [
        (
            e.occurred_at.date() - datetime.fromisoformat(e.data["person"]["date_of_birth"]).date()
        ).days
        // 365
        for e in openings
    ]
    assert all(12 <= a <= 61 for a in ages)
    assert sum(18 <= a <= 45 for a in ages) / len(ages) > 0.7
    assert all(datetime(2019, 1, 1, tzinfo=UTC) < e.occurred_at for e in openings)

    import re

    unit = re.compile(UNIT_CODE_PATTERN)
    entries = [e for es in cases.values() for e in es]
    assert all(unit.match(e.actor["unit"]) and e.actor["unit"].startswith("01") for e in entries)
    court = [e for e in entries if e.type == "CourtDecisionIssued"]
    assert court
    for e in court:  # district courts until 30 Jun 2025, regional courts from 1 Jul 2025
        expected = "district_court" if e.occurred_at < TWO_TIERS else "regional_court"
        assert (e.acting_body or {}).get("kind") == expected, e
    assert sum(e.legal_basis is not None for e in entries) > len(entries) / 3
    corrected = [e for e in entries if e.type == "EntryCorrected"]
    assert {k for e in corrected for k in e.data["changes"]} >= {"occurred_at", "document"}


def test_demo_reports_progress(tmp_path: Path) -> None:
    app = sqlite_app(tmp_path, "progress")
    seen: list[int] = []
    try:
        summary = generate(app, people=15, seed=1, progress=seen.append)
    finally:
        app.close()
    assert seen == list(range(1, 16))
    assert summary.elapsed_seconds > 0


def test_running_the_demo_again_on_its_store_says_so_in_one_line_and_changes_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from infra.cli import cli

    monkeypatch.setenv("CASELEDGER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CASELEDGER_LOG_LEVEL", "WARNING")
    first = CliRunner().invoke(cli, ["demo", "--people", "3", "--seed", "5"])
    ledger = build_application(settings)
    head = ledger.head()

    again = CliRunner().invoke(cli, ["demo", "--people", "3", "--seed", "5"])
    after_again = ledger.head()
    other_seed = CliRunner().invoke(cli, ["demo", "--people", "2", "--seed", "6"])

    assert first.exit_code == 0, first.output
    assert first.output.strip().count("\n") == 0  # no terminal: no progress, one summary line
    assert again.exit_code == 1
    assert again.output.strip().count("\n") == 0
    assert "already holds the demo's people of seed 5" in again.output
    assert after_again == head
    assert other_seed.exit_code == 0, other_seed.output
    assert ledger.head() > head  # another seed adds new people
    ledger.close()


# --- the showcase's courses across the 2025-2026 reforms ---------------------------------------


def story_of(cases: dict[UUID, list[Entry]], name: str) -> list[Entry]:
    """The entries of the one case of the showcase person ``name``."""
    found = [es for es in cases.values() if es[0].data["person"]["full_name"] == name]
    assert len(found) == 1, f"{name}: {len(found)} cases"
    return found[0]


def only(entries: list[Entry], type_: str) -> Entry:
    found = [e for e in entries if e.type == type_]
    assert len(found) == 1, f"{type_}: {len(found)}"
    return found[0]


def in_force(code: str, on: datetime) -> bool:
    return registry().unit(code, local_day(on)) is not None


def unit_codes(entry: Entry) -> list[str]:
    """Every org-unit code an entry carries: its payload's, its acting body's, its actor's."""
    codes = []
    for path in unit_paths(CATALOGUE[entry.type].model):
        value: object = entry.data
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            codes.append(value)
    if entry.acting_body:
        codes.append(entry.acting_body["unit"])
    return [*codes, entry.actor["unit"]]


def test_every_unit_code_is_in_force_on_its_event_date_and_no_abolished_body_acts(
    ledger: CaseLedger,
) -> None:
    generate(ledger, people=SOME_PEOPLE, seed=8)
    entries = [e for es in stored_cases(ledger).values() for e in es]

    assert any(e.occurred_at >= LAW_120 for e in entries), "the check reaches 2026"
    for e in entries:
        for code in unit_codes(e):
            # a code no list holds (the demo's illustrative old communes) only before 2025-07-01
            assert in_force(code, e.occurred_at) or (
                e.occurred_at < TWO_TIERS and not registry().known(code)
            ), (e.type, e.occurred_at, code)
        # no act of a body the reforms abolished
        kind = (e.acting_body or {}).get("kind")
        if e.occurred_at >= POLICE_TAKEOVER:
            assert kind not in ("labour_office", "justice_office", "district_police"), e
            assert e.type != "DossierSentToLabourOffice", e
        if e.occurred_at >= TWO_TIERS:
            assert kind not in ("district_court", "district_committee"), e


def test_a_2024_case_goes_on_under_the_new_commune_code_and_is_transferred_across_the_merger(
    ledger: CaseLedger,
) -> None:
    generate(ledger, people=len(SHOWCASE), seed=5)
    entries = story_of(stored_cases(ledger), "Lê Văn Quý")

    opened = entries[0]
    assert opened.occurred_at.year == 2024
    assert opened.data["managing_unit"] == "01.004.00133"  # phường Ngọc Lâm
    assert [(u.code, kind) for u, kind in registry().successors("01.004.00133")] == [
        ("01.00118", "whole")  # merged into phường Bồ Đề on 1 Jul 2025
    ]
    # Check the case went on after the reform under the new commune's code
    after = [e for e in entries if e.occurred_at >= TWO_TIERS]
    moved = only(entries, "CaseTransferred")
    before_moving = [e for e in after if e.occurred_at < moved.occurred_at and e.acting_body]
    assert before_moving
    assert {e.acting_body["unit"] for e in before_moving if e.acting_body} == {"01.00118"}
    # Check the transfer names two communes of the new list, in force on its date
    assert TWO_TIERS <= moved.occurred_at < datetime(2027, 1, 1, tzinfo=UTC)
    assert (moved.data["from_unit"], moved.data["to_unit"]) == ("01.00118", "01.00004")
    assert in_force(moved.data["from_unit"], moved.occurred_at)
    assert in_force(moved.data["to_unit"], moved.occurred_at)
    assert "01.001.00004" in {u.code for u, _ in registry().predecessors("01.00004")}
    assert ledger.get_case(UUID(opened.case_id)).state.managing_unit == "01.00004"
    assert entries[-1].type == "CaseClosed"


def test_a_2026_dossier_goes_from_the_commune_police_straight_to_the_regional_court(
    ledger: CaseLedger,
) -> None:
    generate(ledger, people=len(SHOWCASE), seed=6)
    entries = story_of(stored_cases(ledger), "Phạm Đức Thuận")

    opened = only(entries, "DossierOpened")
    dossier = [e for e in entries if e.data.get("dossier_id") == opened.data["dossier_id"]]
    types = [e.type for e in sorted(dossier, key=lambda e: e.occurred_at)]
    assert opened.occurred_at.year == 2026
    assert "DossierSentToLabourOffice" not in types
    for step in ("DossierServed", "DossierSentToCourt", "CourtAccepted", "CourtDecisionIssued"):
        assert step in types
    assert types.index("CourtDecisionTookEffect") < types.index("EscortedToFacility")
    assert only(entries, "CourtDecisionIssued").data["outcome"] == "apply"
    assert {e.acting_body["kind"] for e in dossier if e.acting_body} == {
        "commune_police",
        "regional_court",
    }
    sent = only(entries, "DossierSentToCourt")
    assert (sent.acting_body or {}).get("kind") == "commune_police"
    assert in_force(sent.data["court_unit"], sent.occurred_at)
    assert (only(entries, "CourtAccepted").acting_body or {}) == {
        "kind": "regional_court",
        "unit": sent.data["court_unit"],
    }
    # Check the compliant dossier draws no finding of the Labour office's rules
    findings = evaluate(entries, datetime(2026, 12, 1, tzinfo=UTC)).findings
    assert not [f for f in findings if f.rule_id in ("C6", "C7", "C8")]


def test_a_dossier_opened_in_may_2025_is_heard_by_the_regional_court(ledger: CaseLedger) -> None:
    generate(ledger, people=len(SHOWCASE), seed=7)
    entries = story_of(stored_cases(ledger), "Nguyễn Minh Trí")

    opened = only(entries, "DossierOpened")
    assert POLICE_TAKEOVER <= opened.occurred_at < TWO_TIERS
    assert opened.occurred_at.month == 5
    assert opened.acting_body == {"kind": "commune_police", "unit": "01.001.00007"}
    assert not [e for e in entries if e.type == "DossierSentToLabourOffice"]
    sent = only(entries, "DossierSentToCourt")
    assert sent.occurred_at >= TWO_TIERS
    assert sent.data["court_unit"] == "01.00025"  # Cống Vị was divided: the demo's pick
    court = [e for e in entries if e.type.startswith("Court")]
    assert {"CourtAccepted", "CourtDecisionIssued", "CourtDecisionTookEffect"} <= {
        e.type for e in court
    }
    assert all(e.occurred_at >= TWO_TIERS for e in court)
    assert {(e.acting_body or {}).get("kind") for e in court} == {"regional_court"}


def test_moves_after_july_2026_are_reported_within_or_beyond_24_hours(ledger: CaseLedger) -> None:
    generate(ledger, people=len(SHOWCASE), seed=8)
    cases = stored_cases(ledger)
    day = timedelta(hours=24)

    for name, late in (("Hoàng Văn Lực", False), ("Đỗ Quang Vượng", True)):
        entries = story_of(cases, name)
        left = only(entries, "ResidenceLeft")
        arrived = only(entries, "ArrivalReported")
        moved = only(entries, "CaseTransferred")

        assert left.occurred_at >= LAW_120
        assert left.data["notified_by_person"] is not late
        assert (arrived.occurred_at - left.occurred_at > day) is late, name
        assert (moved.occurred_at - left.occurred_at > day) is late, name
        assert left.data["to_unit"] == moved.data["to_unit"] == arrived.acting_body["unit"]
        assert arrived.data["from_unit"] == moved.data["from_unit"] == left.acting_body["unit"]
        for e in (left, arrived, moved):
            assert (e.acting_body or {}).get("kind") == "commune_police"
            assert all(in_force(code, e.occurred_at) for code in unit_codes(e))
        assert ledger.get_case(UUID(left.case_id)).state.managing_unit == moved.data["to_unit"]
        judged = evaluate(entries, datetime(2026, 12, 1, tzinfo=UTC)).findings
        law_120 = sorted(f.rule_id for f in judged if f.rule_id.startswith("L26"))
        # late: the arrival (L26-01), the person's silence (L26-01) and the hand-over (L26-02)
        assert law_120 == (["L26-01", "L26-01", "L26-02"] if late else []), name


def test_a_person_under_post_rehab_management_is_monitored_with_a_device_incident(
    ledger: CaseLedger,
) -> None:
    generate(ledger, people=len(SHOWCASE), seed=9)
    entries = story_of(stored_cases(ledger), "Bùi Thị Hạnh")

    managed = only(entries, "PostRehabManagementDecided")
    decided = only(entries, "ElectronicMonitoringDecided")
    incident = only(entries, "DeviceIncidentReported")
    ended = only(entries, "ElectronicMonitoringEnded")
    assert managed.occurred_at < LAW_120 <= decided.occurred_at
    assert decided.data["basis"] == "post_rehab_management"
    assert decided.acting_body == {"kind": "commune_police", "unit": "01.00622"}
    assert date.fromisoformat(decided.data["ends_on"]) < date.fromisoformat(managed.data["ends_on"])
    assert decided.occurred_at < incident.occurred_at < ended.occurred_at
    happened = datetime.fromisoformat(incident.data["happened_at"])
    assert timedelta(0) <= incident.occurred_at - happened <= timedelta(hours=1)
    assert not [e for e in entries if e.type == "PostRehabManagementCompleted"]
    judged = evaluate(entries, datetime(2026, 12, 1, tzinfo=UTC)).findings
    assert not [f for f in judged if f.rule_id in ("L26-06", "L26-07")]  # lawful, reported


def test_a_prison_term_suspends_post_rehab_management(ledger: CaseLedger) -> None:
    generate(ledger, people=len(SHOWCASE), seed=10)
    entries = story_of(stored_cases(ledger), "Ngô Văn Khải")

    managed = only(entries, "PostRehabManagementDecided")
    started = only(entries, "ImprisonmentStarted")
    ended = only(entries, "ImprisonmentEnded")
    assert managed.occurred_at < TWO_TIERS <= LAW_120 <= started.occurred_at < ended.occurred_at
    assert started.acting_body == {"kind": "regional_court", "unit": "01.00145"}
    assert (ended.acting_body or {}).get("kind") == "commune_police"
    assert date.fromisoformat(ended.data["released_on"]) == ended.occurred_at.date()
    # Check that from 1 Jul 2025 he is managed in the part of Thạch Bàn the demo picked
    after = [e.acting_body for e in entries if e.occurred_at >= TWO_TIERS and e.acting_body]
    assert {body["unit"] for body in after} == {"01.00145"}
