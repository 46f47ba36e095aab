"""An event recorded before the door refused such input (a store written by an earlier
version) cannot stop the read models: the case it is on is set aside, listed with the event
and the error, and every other case goes on; voiding the event brings the case back.

``NewEvent(...)`` built directly skips the validation ``NewEvent.parse`` does, as the earlier
versions' door did for these inputs."""

from __future__ import annotations

import time
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain.application import CaseLedger
from domain.case import NewEvent
from infra.settings import Settings
from projections.db import ViewDatabase
from projections.generations import active_generations, failing_cases
from projections.runner import Runner
from tests.integration.stories import ACTOR, START, note, opening
from tests.projections.conftest import Clock
from tests.tokens import bearer

POISON = {
    # the engine's calendar overflows adding a term to a day in 9999
    "dates in 9999": NewEvent(
        "PostRehabManagementDecided",
        START + timedelta(days=2),
        {"starts_on": "9999-12-01", "ends_on": "9999-12-31", "mentor": "Trần Văn B"},
    ),
    # PostgreSQL refuses a NUL in text; SQLite keeps it
    "a NUL in an id": NewEvent(
        "CaseAssigned",
        START + timedelta(days=2),
        {"assignee_id": "cs-1\x00", "assignee_role": "counsellor"},
    ),
}


def void(event_id: str) -> NewEvent:
    return NewEvent.parse(
        "EntryVoided",
        START + timedelta(days=3),
        {"voids_event_id": event_id, "reason": "entered in error"},
    )


@pytest.mark.parametrize("poison", list(POISON))
def test_a_poison_event_sets_its_case_aside_and_voiding_it_brings_the_case_back(
    ledger: CaseLedger,
    runner: Runner,
    views: ViewDatabase,
    clock: Clock,
    poison: str,
    store: str,
) -> None:
    clock.set("2021-03-10 12:00")
    healthy, sick = uuid4(), uuid4()
    for case_id in (healthy, sick):
        ledger.open_case(opening(), ACTOR, case_id=case_id)
    bad = POISON[poison]
    ledger.append(sick, [bad], ACTOR)
    ledger.append(healthy, [note("after the poison")], ACTOR)

    runner.catch_up()  # nothing stops

    head = ledger.head()
    found = {g.name: g for g in active_generations(views)}
    assert all((g.position, g.error) == (head, None) for g in found.values())
    failing = {name: failing_cases(views, g) for name, g in found.items() if g.failing}
    if poison == "a NUL in an id" and store == "sqlite":
        assert not failing  # SQLite keeps it: nothing to set aside
    else:
        assert failing, "the poison event failed nowhere: the test no longer reproduces it"
    for failures in failing.values():
        assert [(f["case_id"], f["event_id"]) for f in failures] == [(str(sick), bad.event_id)]
    assert caseload_version(views, healthy) == 2  # the other case went on
    # Check: voiding the event brings the case back, without a code change
    [voided] = ledger.append(sick, [void(bad.event_id)], ACTOR)

    runner.catch_up()

    assert all(g.failing == 0 for g in active_generations(views))
    assert caseload_version(views, sick) == voided.version


def caseload_version(views: ViewDatabase, case_id: UUID) -> int | None:
    rows = views.read(
        "SELECT version FROM caseledger_caseload_cases WHERE case_id = ?", (str(case_id),)
    )
    return int(rows[0]["version"]) if rows else None


def test_ready_and_projections_status_show_the_case_set_aside(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from api.app import create_app
    from infra.cli import cli

    monkeypatch.setenv("CASELEDGER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASELEDGER_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CASELEDGER_LOG_LEVEL", "WARNING")
    with TestClient(create_app(settings)) as client:
        ledger: CaseLedger = client.app.state.ledger  # type: ignore[attr-defined]
        sick = uuid4()
        ledger.open_case(opening(), ACTOR, case_id=sick)
        bad = POISON["dates in 9999"]
        [recorded] = ledger.append(sick, [bad], ACTOR)
        deadline = time.monotonic() + 20
        while True:
            ready = client.get("/ready", headers=bearer("admin", "01", "ops")).json()  # details
            if all(p["position"] >= recorded.position for p in ready["projections"].values()):
                break
            assert time.monotonic() < deadline, ready
            time.sleep(0.05)

        anonymous = client.get("/ready").json()
        status = CliRunner().invoke(cli, ["projections", "status"])

    assert ready["status"] == "ready"  # every other case is served
    timeline = ready["projections"]["timeline"]
    assert timeline["failing_cases"] == 1
    [failure] = timeline["failures"]
    assert (failure["case_id"], failure["event_id"]) == (str(sick), bad.event_id)
    assert "year" in failure["error"]
    assert anonymous["projections"]["timeline"]["failing_cases"] == 1  # counted for everyone,
    assert anonymous["projections"]["timeline"]["failures"] == []  # the errors for operators only
    assert f"case {sick} version 2 (event {bad.event_id})" in status.output
