"""PostgreSQL terminates the API's and its runner's connections (a failover, a restart, an
operator's ``pg_terminate_backend``) while clients write: no request answers 5xx, every
acknowledged event is in the store, and the runner goes on to the log's head."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infra.settings import Settings
from tests.api.test_cases_api import ACTOR, open_case
from tests.conftest import pg_url


def terminate(application_name: str) -> int:
    """Terminate every backend of this application name; how many."""
    with psycopg.connect(pg_url(), autocommit=True, application_name="terminator") as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchone()
    return int(row[0]) if row else 0


def note(i: int) -> dict[str, Any]:
    return {
        "type": "NoteAdded",
        "occurred_at": "2023-05-02T09:00:00+07:00",
        "data": {"text": f"n{i}"},
    }


@pytest.mark.parametrize("store", ["postgres"])
def test_writes_reads_and_the_runner_survive_their_connections_being_terminated(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"caseledger-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)  # every connection this process opens carries it
    statuses: list[int] = []
    acknowledged: list[str] = []
    stop = threading.Event()
    with TestClient(create_app(settings)) as client:
        case_id = open_case(client)

        def write() -> None:
            i = 0
            while not stop.is_set():
                response = client.post(f"/v1/cases/{case_id}/events", json=note(i), headers=ACTOR)
                statuses.append(response.status_code)
                if response.status_code in (200, 201):
                    acknowledged.append(response.json()["event_id"])
                statuses.append(client.get(f"/v1/cases/{case_id}", headers=ACTOR).status_code)
                i += 1

        writer = threading.Thread(target=write)
        writer.start()
        try:
            time.sleep(0.5)
            killed = terminate(name)
            time.sleep(1.0)
            killed += terminate(name)
            time.sleep(1.0)
        finally:
            stop.set()
            writer.join(60)
        history = client.get(f"/v1/cases/{case_id}/history", headers=ACTOR).json()["events"]
        head = max(e["position"] or 0 for e in history)
        deadline = time.monotonic() + 30
        while True:
            ready = client.get("/ready").json()
            positions = [p["position"] for p in ready.get("projections", {}).values()]
            # the runner's lock is taken again within its check interval: ready once more
            if positions and min(positions) >= head and ready["status"] == "ready":
                break
            assert time.monotonic() < deadline, f"the runner did not resume: {ready}"
            time.sleep(0.1)

    assert killed >= 2, "nothing was terminated: the test no longer reproduces a lost connection"
    assert len(acknowledged) > 10
    assert [s for s in statuses if s >= 500] == []
    recorded = {e["event_id"] for e in history}
    assert set(acknowledged) <= recorded  # no acknowledged event was lost
