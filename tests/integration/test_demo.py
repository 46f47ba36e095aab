"""The demo generator: plausible courses recorded through the domain, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from domain.application import CaseLedger
from domain.events import CATALOGUE, UNIT_CODE_PATTERN
from domain.state import Entry
from infra.demo import SHOWCASE, generate
from infra.settings import Settings
from infra.store import build_application

REGIME_22 = datetime.fromisoformat("2022-01-01T00:00:00+07:00")
PL03_START = datetime.fromisoformat("2023-02-01T00:00:00+07:00")
PL01_START = datetime.fromisoformat("2022-03-24T00:00:00+07:00")
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
    # recorded on the simulated clock of the period, not at the time the demo ran
    assert max(d for es in cases.values() for d in (e.recorded_at for e in es)) < datetime(
        2025, 1, 1, tzinfo=UTC
    )


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
    assert court and all((e.acting_body or {}).get("kind") == "district_court" for e in court)
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
