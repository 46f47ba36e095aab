"""The read-model routes end to end, with the runner inside the API process (as `make run`
does), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infra.settings import Settings
from tests.api.test_cases_api import ACTOR, OPEN
from tests.tokens import bearer

DETECTED = {
    "type": "DrugUseDetected",
    "occurred_at": "2023-03-06T21:30:00+07:00",
    "data": {
        "ground": "a",
        "place": "ngõ 12 Ngô Gia Tự",
        "detecting_unit": "01.004.00127",
        "administratively_detained": False,
    },
    "acting_body": {"kind": "commune_police", "unit": "01.004.00127"},
}
ASSIGNED = {
    "type": "CaseAssigned",
    "occurred_at": "2023-03-07T08:00:00+07:00",
    "data": {"assignee_id": "cs-viethung-2", "assignee_role": "counsellor"},
}

USER_MANAGEMENT = {
    "type": "UserManagementDecided",
    "occurred_at": "2023-03-10T09:00:00+07:00",
    "data": {
        "starts_on": "2023-03-10",
        "ends_on": "2024-03-10",
        "team": [{"name": "Đại úy Trần Văn Hải", "role": "tổ trưởng (công an xã)"}],
    },
    "acting_body": {"kind": "commune_committee", "unit": "01.004.00127"},
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    live = settings.model_copy(update={"projection_poll_seconds": 0.02})
    with TestClient(create_app(live)) as client:
        yield client


def record(client: TestClient, *events: dict) -> tuple[str, int]:
    """Open a case and append ``events``; the case id and the last position."""
    opened = client.post("/v1/cases", json=OPEN, headers=ACTOR).json()
    position = opened["position"]
    for event in events:
        response = client.post(f"/v1/cases/{opened['case_id']}/events", json=event, headers=ACTOR)
        assert response.status_code == 201, response.text
        position = response.json()["position"]
    return opened["case_id"], position


def test_a_client_reads_its_own_write_from_the_caseload_with_min_position(client: TestClient):
    case_id, position = record(client, ASSIGNED)

    response = client.get(
        "/v1/caseloads",
        params={"unit": "01.004", "assignee": "cs-viethung-2", "min_position": position},
        headers=ACTOR,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["position"] >= position
    assert [c["case_id"] for c in body["cases"]] == [case_id]
    assert body["cases"][0]["assignee_role"] == "counsellor"
    assert body["total"] == 1


def test_the_caseload_filters_by_stage_and_overdue_and_pages_through_the_rest(
    client: TestClient,
):
    just_opened, _ = record(client)  # nothing has gone wrong yet
    detected, _ = record(client, DETECTED)  # residence never verified: overdue
    managed, position = record(client, DETECTED, USER_MANAGEMENT)

    def ids(**params: object) -> list[str]:
        query = {"unit": "01", "min_position": position, **params}
        body = client.get("/v1/caseloads", params=query, headers=ACTOR).json()
        return [c["case_id"] for c in body["cases"]]

    def page(offset: int) -> dict:
        query = {"unit": "01", "limit": 2, "offset": offset}
        return client.get("/v1/caseloads", params=query, headers=ACTOR).json()

    assert ids(stage="user_management") == [managed]
    assert sorted(ids(stage="intake")) == sorted([just_opened, detected])
    assert ids(stage="at_court") == []
    assert ids(overdue="false") == [just_opened]
    assert sorted(ids(overdue="true")) == sorted([detected, managed])
    assert ids(stage="intake", overdue="true") == [detected]
    first, second = page(0), page(2)
    assert (first["total"], second["total"]) == (3, 3)
    assert (len(first["cases"]), len(second["cases"])) == (2, 1)
    assert [c["case_id"] for c in first["cases"] + second["cases"]] == ids()  # overdue first
    assert ids()[-1] == just_opened


def test_a_read_model_behind_the_log_answers_503_once_the_wait_is_over(settings: Settings):
    quiet = settings.model_copy(update={"run_projections": False})  # nobody applies the log
    with TestClient(create_app(quiet)) as client:
        _, position = record(client)
        started = time.monotonic()
        response = client.get(
            "/v1/caseloads",
            params={"unit": "01", "min_position": position, "wait": 0.3},
            headers=ACTOR,
        )
        waited = time.monotonic() - started

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["errors"][0]["field"] == "min_position"
    assert f"has not reached position {position} within 0.3 s" in response.json()["detail"]
    assert waited >= 0.3


def test_a_position_beyond_the_log_is_the_clients_error_answered_at_once(client: TestClient):
    response = client.get(
        "/v1/caseloads",
        params={"unit": "01", "min_position": 10**9, "wait": 0.1},
        headers=ACTOR,
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "min_position"
    assert "beyond the log's last position" in response.json()["detail"]


def test_the_timeline_route_shows_steps_deadlines_and_findings(client: TestClient):
    case_id, position = record(client, DETECTED)

    response = client.get(
        f"/v1/cases/{case_id}/timeline", params={"min_position": position}, headers=ACTOR
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [s["step"] for s in body["steps"] if s["status"] == "done"] == [
        "CaseOpened",
        "DrugUseDetected",
    ]
    assert any(s["status"] == "missing" for s in body["steps"])  # residence never verified
    u3 = [f for f in body["findings"] if f["rule_id"] == "U3"]
    assert u3 and u3[0]["status"] == "open" and u3[0]["due_on"] == "2023-03-09"


def test_the_timeline_of_an_unknown_case_is_404(client: TestClient):
    response = client.get(f"/v1/cases/{uuid.uuid4()}/timeline", headers=ACTOR)

    assert response.status_code == 404


def test_findings_and_the_report_cover_a_unit_and_a_period(client: TestClient):
    case_id, position = record(client, DETECTED)
    wait = {"min_position": position}

    findings = client.get(
        "/v1/inspections/findings",
        params={"unit": "01.004", "from": "2023-03-01", "to": "2023-03-31", "rule": "U3", **wait},
        headers=ACTOR,
    ).json()
    report = client.get(
        "/v1/inspections/report",
        params={"unit": "01", "from": "2023-03-01", "to": "2023-03-31"},
        headers=ACTOR,
    ).json()

    assert findings["total"] == 1
    assert findings["findings"][0]["case_id"] == case_id
    assert findings["findings"][0]["evidence_event_ids"]
    assert (report["from"], report["to"], report["unit"]) == ("2023-03-01", "2023-03-31", "01")
    assert {"rule_id": "U3", "findings": 1, "open": 1}.items() <= next(
        r for r in report["by_rule"] if r["rule_id"] == "U3"
    ).items()
    assert report["by_commune"][0]["commune"] == "01.004.00127"
    assert report["worst_cases"][0]["case_id"] == case_id


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/caseloads", {"unit": "1.4"}, "unit"),
        ("/v1/caseloads", {"unit": "01", "stage": "asleep"}, "stage"),
        ("/v1/caseloads", {"unit": "01", "limit": 0}, "limit"),
        ("/v1/inspections/findings", {"unit": "01", "status": "closed"}, "status"),
        (
            "/v1/inspections/findings",
            {"unit": "01", "from": "2023-04-01", "to": "2023-03-01"},
            "from",
        ),
        (
            "/v1/inspections/report",
            {"unit": "01", "from": "2023-13-01", "to": "2023-12-31"},
            "from",
        ),
        ("/v1/inspections/report", {"unit": "01"}, "from"),
    ],
)
def test_a_bad_query_is_a_problem_naming_the_parameter(
    client: TestClient, path: str, params: dict, field: str
):
    response = client.get(path, params=params, headers=ACTOR)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


def test_ready_reports_each_read_model_position_and_lag(client: TestClient):
    _, position = record(client)
    waited = client.get(
        "/v1/caseloads", params={"unit": "01", "min_position": position}, headers=ACTOR
    )

    response = client.get("/ready")

    assert waited.status_code == 200, waited.text
    assert response.status_code == 200
    assert response.json()["projections_running"] is True
    projections = response.json()["projections"]
    assert set(projections) == {"caseload", "timeline", "inspections"}
    assert projections["caseload"]["position"] == position
    assert projections["caseload"]["lag_events"] == 0
    assert projections["caseload"]["error"] is None


def test_ready_is_503_and_names_the_error_when_the_read_models_have_stopped(settings: Settings):
    from infra.store import build_application
    from projections import read_models
    from projections.db import ViewDatabase
    from projections.projector import ProjectionFailed
    from projections.runner import Runner

    quiet = settings.model_copy(update={"run_projections": False})
    with TestClient(create_app(quiet)) as client:
        record(client, DETECTED)
        ledger, views = build_application(quiet), ViewDatabase(quiet, pool_size=1)
        runner = Runner(ledger, views, read_models())
        # an event no case can be judged without: it cannot be read (no upcaster, say)
        runner.feed.after = lambda *_: (_ for _ in ()).throw(ValueError("no upcaster for v3"))
        with pytest.raises(ProjectionFailed):
            runner.catch_up()
        ledger.close()
        views.close()

        response = client.get("/ready", headers=bearer("admin", "01", "ops"))  # details

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "projection_stopped"
    assert "no upcaster for v3" in body["projections"]["timeline"]["error"]
    assert body["projections"]["timeline"]["lag_events"] >= 1
    assert body["projections"]["timeline"]["lag_seconds"] >= 0


def test_ready_is_503_while_no_runner_follows_the_log_and_a_killed_runner_stops_counting(
    settings: Settings,
):
    quiet = settings.model_copy(update={"run_projections": False})
    env = {
        **os.environ,
        "CASELEDGER_DATABASE_URL": settings.database_url,
        "CASELEDGER_DATABASE_SCHEMA": settings.database_schema,
        "CASELEDGER_LOG_LEVEL": "WARNING",
    }
    command = [os.path.join(os.path.dirname(sys.executable), "caseledger"), "projections", "run"]
    with TestClient(create_app(quiet)) as client:
        before = client.get("/ready")
        runner = subprocess.Popen(command, env=env)
        try:
            deadline = time.monotonic() + 30
            while not client.get("/ready").json()["projections_running"]:
                assert time.monotonic() < deadline, "the runner never showed in /ready"
                time.sleep(0.05)
            with_runner = client.get("/ready")
        finally:
            runner.send_signal(signal.SIGKILL)
            runner.wait(10)
        deadline = time.monotonic() + 5  # PostgreSQL ends the dead runner's session promptly
        while client.get("/ready").json()["projections_running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        after_kill = client.get("/ready")

    assert before.status_code == 503
    assert before.json()["status"] == "projections_not_running"
    assert with_runner.status_code == 200
    assert with_runner.json()["status"] == "ready"
    assert after_kill.status_code == 503
    assert after_kill.json()["projections_running"] is False


def test_an_in_memory_store_serves_the_read_models_too():
    memory = Settings(environment="test", database_url="sqlite:///:memory:")

    with TestClient(create_app(memory)) as client:
        _, position = record(client)
        response = client.get(
            "/v1/caseloads", params={"unit": "01", "min_position": position}, headers=ACTOR
        )

    assert response.status_code == 200, response.text
    assert response.json()["total"] == 1


def test_on_an_in_memory_store_reads_never_meet_the_runners_table_locks():
    # its tables are in SQLite's shared cache, where a reader meeting the runner's write lock
    # fails at once instead of waiting: the runner polls every millisecond to make it likely
    memory = Settings(
        environment="test", database_url="sqlite:///:memory:", projection_poll_seconds=0.001
    )
    answers = []
    with TestClient(create_app(memory)) as client:
        for _ in range(100):
            _, position = record(client)
            query = {"unit": "01", "min_position": position}
            answers.append(client.get("/v1/caseloads", params=query, headers=ACTOR).status_code)
            answers.append(client.get("/ready").status_code)

    assert set(answers) == {200}
