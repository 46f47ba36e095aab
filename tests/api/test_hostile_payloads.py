"""Input that could not be judged or stored is refused at the door: 422 naming the field, and
nothing recorded (on SQLite and PostgreSQL). Once recorded, such an event would stop the read
models (a date in 9999 overflows the calendar's arithmetic; PostgreSQL refuses a NUL in text)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_cases_api import ACTOR, OPEN, open_case
from tests.tokens import bearer


def event(type_: str, data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {"type": type_, "occurred_at": "2023-05-02T09:00:00+07:00", "data": data, **envelope}


HOSTILE = [
    pytest.param(
        event(
            "PostRehabManagementDecided",
            {"starts_on": "9999-12-01", "ends_on": "9999-12-31", "mentor": "Trần Văn B"},
        ),
        "data.starts_on",
        id="dates-in-9999",
    ),
    pytest.param(
        event(
            "PostRehabManagementDecided",
            {"starts_on": "2023-05-01", "ends_on": "1899-12-31", "mentor": "Trần Văn B"},
        ),
        "data.ends_on",
        id="a-date-before-1900",
    ),
    pytest.param(
        event("CaseAssigned", {"assignee_id": "cs-1\x00", "assignee_role": "counsellor"}),
        "data.assignee_id",
        id="nul-in-an-id",
    ),
    pytest.param(
        event("NoteAdded", {"text": "bad \x1b[31m escape"}),
        "data.text",
        id="escape-in-free-text",
    ),
    pytest.param(  # raw JSON: the escape makes a str no encoder can write
        '{"type": "NoteAdded", "occurred_at": "2023-05-02T09:00:00+07:00",'
        ' "data": {"text": "lone \\ud800 surrogate"}}',
        "data.text",
        id="lone-surrogate",
    ),
    pytest.param(
        {**event("NoteAdded", {"text": "fine"}), "occurred_at": "1683000000"},
        "occurred_at",
        id="occurred-at-as-seconds-in-text",
    ),
    pytest.param(
        event(
            "PostRehabManagementDecided",
            {"starts_on": "0.0", "ends_on": "2024-05-01", "mentor": "Trần Văn B"},
        ),
        "data.starts_on",
        id="a-date-as-seconds-in-text",
    ),
    pytest.param(
        {**event("NoteAdded", {"text": "fine"}), "occurred_at": 1683000000},
        "occurred_at",
        id="occurred-at-as-a-number",
    ),
    pytest.param(
        event(
            "PostRehabManagementDecided",
            {"starts_on": 1683000000, "ends_on": "2024-05-01", "mentor": "Trần Văn B"},
        ),
        "data.starts_on",
        id="a-date-as-a-number",
    ),
    pytest.param(
        event("NoteAdded", {"text": "fine"}, document={"number": "12/QĐ\x00"}),
        "document.number",
        id="nul-in-the-envelope",
    ),
]


@pytest.mark.parametrize(("body", "field"), HOSTILE)
def test_input_that_cannot_be_judged_or_stored_is_refused_naming_the_field(
    client: TestClient, body: dict[str, Any] | str, field: str
) -> None:
    case_id = open_case(client)

    if isinstance(body, str):
        headers = {**ACTOR, "Content-Type": "application/json"}
        response = client.post(f"/v1/cases/{case_id}/events", content=body, headers=headers)
    else:
        response = client.post(f"/v1/cases/{case_id}/events", json=body, headers=ACTOR)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    history = client.get(f"/v1/cases/{case_id}/history", headers=ACTOR).json()
    assert [e["type"] for e in history["events"]] == ["CaseOpened"]


def test_a_case_opened_with_a_birth_date_in_9999_is_refused(client: TestClient) -> None:
    person = {**OPEN["person"], "date_of_birth": "9999-01-01"}  # type: ignore[dict-item]

    response = client.post("/v1/cases", json={**OPEN, "person": person}, headers=ACTOR)

    assert response.status_code == 422, response.text
    assert "person.date_of_birth" in [e["field"] for e in response.json()["errors"]]


def test_free_text_keeps_its_newlines_and_tabs(client: TestClient) -> None:
    case_id = open_case(client)
    note = event("NoteAdded", {"text": "line one\n\tline two"})

    response = client.post(f"/v1/cases/{case_id}/events", json=note, headers=ACTOR)

    assert response.status_code == 201, response.text


def test_a_query_parameter_the_route_does_not_take_is_refused_naming_it(client: TestClient) -> None:
    response = client.get("/v1/events", params={"afer": 5}, headers=ACTOR)  # misspelt "after"

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "afer"


def test_a_query_parameter_given_twice_is_refused_naming_it(client: TestClient) -> None:
    response = client.get(
        "/v1/caseloads?unit=01&assignee=u-1&assignee=u-2", headers=ACTOR
    )  # which one? not silently the last

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "assignee"


@pytest.mark.parametrize(
    ("route", "parameter"),
    [
        ("/v1/inspections/findings?unit=01&from=0.0", "from"),
        ("/v1/inspections/report?unit=01&from=2024-01-01&to=1700000000", "to"),
        ("/v1/cases/6f1c0000-0000-4000-8000-000000000000?as_of=0", "as_of"),
    ],
)
def test_a_date_given_as_a_number_of_seconds_is_refused_naming_it(
    client: TestClient, route: str, parameter: str
) -> None:
    response = client.get(route, headers=ACTOR)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == parameter


def test_an_empty_event_type_in_the_log_filter_is_refused(client: TestClient) -> None:
    for types in ("", "CaseOpened,", "CaseOpened, NoteAdded"):
        response = client.get(
            "/v1/events", params={"types": types}, headers=bearer("subscriber", "01", "feed")
        )

        assert response.status_code == 422, types
        assert response.json()["errors"][0]["field"] == "types"


def test_a_reference_that_does_not_resolve_in_the_case_is_a_409_naming_it(
    client: TestClient,
) -> None:
    case_id = open_case(client)
    void = event("EntryVoided", {"voids_event_id": "no-such-event", "reason": "wrong case"})

    response = client.post(f"/v1/cases/{case_id}/events", json=void, headers=ACTOR)

    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "data.voids_event_id"
