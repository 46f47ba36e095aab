"""Integers past what the stores hold are the client's error (422 naming the parameter), on
every route that takes one, on SQLite and PostgreSQL; the largest they hold is served."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.test_cases_api import open_case
from tests.tokens import bearer

SUPERVISOR = bearer("supervisor", "01", "sup-1")  # reads every route these try

TOO_BIG = 2**63
LARGEST = 2**63 - 1
YEAR = {"from": "2021-01-01", "to": "2021-12-31"}

ROUTES = [
    ("/v1/caseloads", {"unit": "01"}, "offset"),
    ("/v1/caseloads", {"unit": "01"}, "min_position"),
    ("/v1/inspections/findings", {"unit": "01"}, "offset"),
    ("/v1/inspections/findings", {"unit": "01"}, "min_position"),
    (
        "/v1/inspections/report",
        {"unit": "01", "from": "2021-01-01", "to": "2021-12-31"},
        "min_position",
    ),
    ("/v1/events", {}, "after"),
]


@pytest.mark.parametrize(("path", "params", "name"), ROUTES)
def test_an_integer_past_the_stores_range_is_a_422_naming_it(
    client: TestClient, path: str, params: dict[str, str], name: str
) -> None:
    response = client.get(path, params={**params, name: TOO_BIG}, headers=SUPERVISOR)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == name


@pytest.mark.parametrize(
    ("path", "params", "name"), [r for r in ROUTES if r[2] in ("offset", "after")]
)
def test_the_largest_integer_the_stores_hold_gives_an_empty_page(
    client: TestClient, path: str, params: dict[str, str], name: str
) -> None:
    open_case(client)

    response = client.get(path, params={**params, name: LARGEST}, headers=SUPERVISOR)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("cases", body.get("findings", body.get("events"))) == []
