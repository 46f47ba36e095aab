"""What a request cannot do: send a body above the configured limit (413 before it is parsed,
nothing changes), learn the database's errors from ``/ready``, or queue whole-store
verifications that take the connections writes need (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infra.settings import Settings
from tests.api.test_cases_api import ACTOR, open_case
from tests.tokens import bearer

INSPECTOR = bearer("inspector", "01", "insp-1")

LIMIT = 64 * 1024


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    limited = settings.model_copy(update={"max_body_bytes": LIMIT})
    with TestClient(create_app(limited)) as client:
        yield client


def note_body(size: int) -> bytes:
    text = "x" * size
    return (
        b'{"type": "NoteAdded", "occurred_at": "2023-05-02T09:00:00+07:00", "data": {"text": "'
        + text.encode()
        + b'"}}'
    )


def test_a_body_declared_larger_than_the_limit_is_refused_with_413(client: TestClient) -> None:
    case_id = open_case(client)

    response = client.post(
        f"/v1/cases/{case_id}/events",
        content=note_body(LIMIT + 1),
        headers={**ACTOR, "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body"
    assert len(client.get(f"/v1/cases/{case_id}/history", headers=ACTOR).json()["events"]) == 1


def test_a_chunked_body_past_the_limit_is_refused_with_413(client: TestClient) -> None:
    case_id = open_case(client)
    body = note_body(LIMIT * 2)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = client.post(
        f"/v1/cases/{case_id}/events",
        content=chunks(),
        headers={**ACTOR, "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"
    assert len(client.get(f"/v1/cases/{case_id}/history", headers=ACTOR).json()["events"]) == 1


def test_a_body_within_the_limit_is_read_as_usual(client: TestClient) -> None:
    case_id = open_case(client)

    response = client.post(
        f"/v1/cases/{case_id}/events",
        content=note_body(1000),
        headers={**ACTOR, "Content-Type": "application/json"},
    )

    assert response.status_code == 201, response.text


def test_ready_names_no_database_detail_when_the_store_is_down(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:

        def down() -> int:
            raise OSError("connection to 10.0.0.5 failed: no password for role owner_secret")

        app.state.ledger.head = down
        response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "10.0.0.5" not in response.text and "owner_secret" not in response.text


def test_a_second_whole_store_verification_is_told_to_retry_while_writes_go_on(
    client: TestClient,
) -> None:
    import threading

    case_id = open_case(client)
    ledger = client.app.state.ledger  # type: ignore[attr-defined]
    verify, started, release = ledger.verify, threading.Event(), threading.Event()

    def slow_verify(case: object = None) -> object:
        if case is None:
            started.set()
            release.wait(20)
        return verify(case)

    ledger.verify = slow_verify
    first: list[int] = []
    running = threading.Thread(
        target=lambda: first.append(client.get("/v1/audit/verify", headers=INSPECTOR).status_code)
    )
    running.start()
    try:
        assert started.wait(20)
        second = client.get("/v1/audit/verify", headers=INSPECTOR)
        one_case = client.get("/v1/audit/verify", params={"case_id": case_id}, headers=INSPECTOR)
        note = {
            "type": "NoteAdded",
            "occurred_at": "2023-05-02T09:00:00+07:00",
            "data": {"text": "x"},
        }
        write = client.post(f"/v1/cases/{case_id}/events", json=note, headers=ACTOR)
    finally:
        release.set()
        running.join(20)

    assert second.status_code == 503
    assert second.headers["Retry-After"] == "30"
    assert second.headers["content-type"] == "application/problem+json"
    assert one_case.status_code == 200
    assert write.status_code == 201
    assert first == [200]
