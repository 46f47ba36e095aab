"""The HTTP API end to end through FastAPI's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from domain.events import CATALOGUE
from tests.tokens import bearer

ACTOR = bearer("commune_police", "01", "u-17")  # a province-level officer: reads its caseloads
COUNSELLOR = bearer("counsellor", "01.004.00127", "c-3")
OPEN = {
    "occurred_at": "2021-03-02T09:30:00+07:00",
    "person": {
        "full_name": "Nguyễn Văn A",
        "date_of_birth": "1995-04-12",
        "sex": "male",
        "national_id": "001095001234",
        "residence_unit": "01.004.00127",
        "address": "12 ngõ 5, Bồ Đề",
    },
    "source": "detection",
    "managing_unit": "01.004.00127",
}
REFERRAL = {
    "type": "ReferralMade",
    "occurred_at": "2021-03-09T14:00:00+07:00",
    "data": {
        "referral_id": "9b2e",
        "service": "ost",
        "provider": "Long Biên methadone clinic",
        "reason": "opioid use",
    },
    "acting_body": {"kind": "counselling_point", "unit": "01.004.00127"},
}


def open_case(client: TestClient, **overrides: object) -> str:
    response = client.post("/v1/cases", json={**OPEN, **overrides}, headers=ACTOR)
    assert response.status_code == 201, response.text
    return str(response.json()["case_id"])


def history(client: TestClient, case_id: str) -> list[dict]:
    response = client.get(f"/v1/cases/{case_id}/history")
    assert response.status_code == 200
    return list(response.json()["events"])


def test_opening_a_case_answers_201_with_location_version_and_position(client: TestClient):
    response = client.post("/v1/cases", json=OPEN, headers=ACTOR)

    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1
    assert body["position"] >= 1
    uuid.UUID(body["event_id"])
    assert response.headers["Location"] == f"/v1/cases/{body['case_id']}"
    state = client.get(response.headers["Location"]).json()
    assert state["stage"] == "intake"
    assert state["managing_unit"] == "01.004.00127"
    assert state["person"]["full_name"] == "Nguyễn Văn A"


def test_retrying_an_open_with_the_same_event_id_returns_the_original_case(client: TestClient):
    event_id = str(uuid.uuid4())
    first = client.post("/v1/cases", json={**OPEN, "event_id": event_id}, headers=ACTOR)

    again = client.post("/v1/cases", json={**OPEN, "event_id": event_id}, headers=ACTOR)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()


def test_appending_an_event_returns_its_version_and_position(client: TestClient):
    case_id = open_case(client)

    response = client.post(f"/v1/cases/{case_id}/events", json=REFERRAL, headers=ACTOR)

    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 2
    assert body["case_id"] == case_id
    [referral] = client.get(f"/v1/cases/{case_id}").json()["open_referrals"]
    assert referral["referral_id"] == "9b2e"


def test_a_retry_with_the_same_event_id_returns_the_original_and_writes_nothing(
    client: TestClient,
):
    case_id = open_case(client)
    event = {**REFERRAL, "event_id": str(uuid.uuid4()), "expected_version": 1}
    first = client.post(f"/v1/cases/{case_id}/events", json=event, headers=ACTOR)

    again = client.post(f"/v1/cases/{case_id}/events", json=event, headers=ACTOR)

    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(history(client, case_id)) == 2


def test_reusing_an_event_id_with_different_content_is_a_conflict(client: TestClient):
    case_id = open_case(client)
    event = {**REFERRAL, "event_id": str(uuid.uuid4())}
    client.post(f"/v1/cases/{case_id}/events", json=event, headers=ACTOR)
    altered = {**event, "data": {**REFERRAL["data"], "provider": "another clinic"}}

    response = client.post(f"/v1/cases/{case_id}/events", json=altered, headers=ACTOR)

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "event_id"
    assert len(history(client, case_id)) == 2


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(client: TestClient):
    case_id = open_case(client)
    client.post(f"/v1/cases/{case_id}/events", json=REFERRAL, headers=ACTOR)

    note = {
        "type": "NoteAdded",
        "occurred_at": "2021-03-10T08:00:00+07:00",
        "data": {"text": "called the family"},
        "expected_version": 1,
    }
    response = client.post(f"/v1/cases/{case_id}/events", json=note, headers=ACTOR)

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "expected_version"
    assert len(history(client, case_id)) == 2


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (
            {
                "type": "DrugTestRecorded",
                "data": {"sample": "spit", "result": "positive", "tester_unit": "01.004"},
            },
            "data.sample",
        ),
        (
            {"type": "DrugTestRecorded", "data": {"sample": "urine", "result": "positive"}},
            "data.tester_unit",
        ),
        (
            {
                "type": "CaseTransferred",
                "data": {"from_unit": "01.004.00127", "to_unit": "Bồ Đề", "reason": "moved"},
            },
            "data.to_unit",
        ),
        ({"type": "SomethingHappened", "data": {}}, "type"),
        ({"type": "NoteAdded", "data": {"text": "x", "mood": "good"}}, "data.mood"),
    ],
)
def test_bad_input_is_problem_json_naming_the_field_and_changes_nothing(
    client: TestClient, event: dict, field: str
):
    case_id = open_case(client)

    response = client.post(
        f"/v1/cases/{case_id}/events",
        json={"occurred_at": "2021-03-10T08:00:00+07:00", **event},
        headers=ACTOR,
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]
    assert len(history(client, case_id)) == 1


def test_an_occurred_at_without_offset_is_refused(client: TestClient):
    case_id = open_case(client)

    response = client.post(
        f"/v1/cases/{case_id}/events",
        json={**REFERRAL, "occurred_at": "2021-03-09T14:00:00"},
        headers=ACTOR,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "occurred_at"


def test_an_event_more_than_five_minutes_in_the_future_is_refused(client: TestClient):
    case_id = open_case(client)
    future = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()

    response = client.post(
        f"/v1/cases/{case_id}/events", json={**REFERRAL, "occurred_at": future}, headers=ACTOR
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "occurred_at"
    assert len(history(client, case_id)) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": ""},
        {"Authorization": "Basic dTE3OnB3"},
        {"X-Actor-Id": "u-17", "X-Actor-Role": "commune_police", "X-Actor-Unit": "01"},
    ],
)
def test_writes_without_a_valid_token_are_unauthenticated(client: TestClient, headers: dict):
    client.headers.pop("Authorization", None)
    response = client.post("/v1/cases", json=OPEN, headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "Authorization"


def test_the_actor_comes_from_authentication_not_the_body(client: TestClient):
    case_id = open_case(client)

    response = client.post(
        f"/v1/cases/{case_id}/events",
        json={**REFERRAL, "actor": {"id": "someone-else"}},
        headers=ACTOR,
    )

    assert response.status_code == 422
    assert history(client, case_id)[0]["actor"] == {
        "id": "u-17",
        "role": "commune_police",
        "unit": "01",
    }


def test_only_reopening_notes_and_corrections_are_accepted_on_a_closed_case(client: TestClient):
    case_id = open_case(client)
    close = {
        "type": "CaseClosed",
        "occurred_at": "2021-04-01T08:00:00+07:00",
        "data": {"reason": "moved_away"},
    }
    client.post(f"/v1/cases/{case_id}/events", json=close, headers=ACTOR)

    refused = client.post(f"/v1/cases/{case_id}/events", json=REFERRAL, headers=ACTOR)
    note = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "NoteAdded",
            "occurred_at": "2021-04-02T08:00:00+07:00",
            "data": {"text": "family asked about the file"},
        },
        headers=ACTOR,
    )

    assert refused.status_code == 409
    assert note.status_code == 201
    assert client.get(f"/v1/cases/{case_id}").json()["stage"] == "closed"


def test_a_batch_is_recorded_all_or_nothing(client: TestClient):
    case_id = open_case(client)
    accepted = {
        "type": "ReferralAccepted",
        "occurred_at": "2021-03-10T08:00:00+07:00",
        "data": {"referral_id": "9b2e"},
    }
    unknown = {**accepted, "data": {"referral_id": "no-such-referral"}}

    refused = client.post(
        f"/v1/cases/{case_id}/events:batch",
        json={"events": [REFERRAL, accepted, unknown]},
        headers=COUNSELLOR,
    )
    recorded = client.post(
        f"/v1/cases/{case_id}/events:batch",
        json={"events": [REFERRAL, accepted]},
        headers=COUNSELLOR,
    )

    assert refused.status_code == 409  # a reference that does not resolve in the case
    assert refused.json()["errors"][0]["field"] == "events.2.data.referral_id"
    assert recorded.status_code == 201
    assert [e["version"] for e in recorded.json()["events"]] == [2, 3]
    assert len(history(client, case_id)) == 3


def test_a_batch_error_names_the_event_and_field(client: TestClient):
    case_id = open_case(client)
    bad = {
        "type": "DrugTestRecorded",
        "occurred_at": "2021-03-10T08:00:00+07:00",
        "data": {"sample": "spit", "result": "positive", "tester_unit": "01.004"},
    }

    response = client.post(
        f"/v1/cases/{case_id}/events:batch", json={"events": [REFERRAL, bad]}, headers=ACTOR
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events.1.data.sample"
    assert len(history(client, case_id)) == 1


def test_the_state_as_of_a_past_moment_shows_the_record_as_it_stood(client: TestClient):
    case_id = open_case(client)
    between = datetime.now(UTC).isoformat()
    client.post(f"/v1/cases/{case_id}/events", json=REFERRAL, headers=ACTOR)

    then = client.get(f"/v1/cases/{case_id}", params={"as_of": between}).json()
    now = client.get(f"/v1/cases/{case_id}").json()
    before = client.get(f"/v1/cases/{case_id}", params={"as_of": "2020-01-01T00:00:00+07:00"})

    assert then["version"] == 1
    assert then["open_referrals"] == []
    assert now["version"] == 2
    assert len(now["open_referrals"]) == 1
    assert before.status_code == 404


def test_history_shows_every_envelope_with_the_request_id_as_correlation_id(client: TestClient):
    case_id = open_case(client)
    document = {"number": "12/QĐ-UBND", "date": "2021-03-09", "form_no": "07"}
    legal_basis = {"instrument": "ND105/2021", "article": "Art 42"}

    response = client.post(
        f"/v1/cases/{case_id}/events",
        json={**REFERRAL, "document": document, "legal_basis": legal_basis},
        headers={**ACTOR, "X-Request-ID": "req-abc-123"},
    )
    [opened, referral] = history(client, case_id)

    assert response.headers["X-Request-ID"] == "req-abc-123"
    assert referral["correlation_id"] == "req-abc-123"
    assert referral["type"] == "ReferralMade"
    assert referral["version"] == 2
    assert referral["position"] > opened["position"]
    assert referral["document"] == document
    assert referral["legal_basis"] == legal_basis
    assert referral["acting_body"] == REFERRAL["acting_body"]
    assert referral["occurred_at"].startswith("2021-03-09T14:00:00")
    assert referral["recorded_at"] >= opened["recorded_at"]
    assert referral["data"]["provider"] == "Long Biên methadone clinic"


def test_a_correction_changes_the_state_and_the_corrected_event_stays_in_history(
    client: TestClient,
):
    case_id = open_case(client)
    opened_id = history(client, case_id)[0]["event_id"]

    response = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "EntryCorrected",
            "occurred_at": "2021-03-03T08:00:00+07:00",
            "data": {
                "corrects_event_id": opened_id,
                "changes": {"person.address": "14 ngõ 5, Bồ Đề"},
                "reason": "house number mistyped",
            },
        },
        headers=ACTOR,
    )
    events = history(client, case_id)

    assert response.status_code == 201
    assert client.get(f"/v1/cases/{case_id}").json()["person"]["address"] == "14 ngõ 5, Bồ Đề"
    assert events[0]["data"]["person"]["address"] == "12 ngõ 5, Bồ Đề"
    assert events[0]["corrected_by"] == [events[1]["event_id"]]


def test_an_unknown_case_is_not_found(client: TestClient):
    missing = uuid.uuid4()

    assert client.get(f"/v1/cases/{missing}").status_code == 404
    assert client.get(f"/v1/cases/{missing}/history").status_code == 404
    response = client.post(f"/v1/cases/{missing}/events", json=REFERRAL, headers=ACTOR)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_health_ready_and_openapi_are_served(client: TestClient):
    open_case(client)

    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["store"]["position"] >= 1
    assert "/v1/cases/{case_id}/history" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_malformed_json_is_a_problem_about_the_body(client: TestClient):
    case_id = open_case(client)

    response = client.post(
        f"/v1/cases/{case_id}/events",
        content=b'{"type": "NoteAdded", "occurred_at": ',
        headers={**ACTOR, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
    assert len(history(client, case_id)) == 1


def test_the_openapi_document_lists_the_event_types(client: TestClient):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["EventAppend"]

    assert "DrugTestRecorded" in schema["discriminator"]["mapping"]
    assert len(schema["discriminator"]["mapping"]) == len(CATALOGUE)
