"""The access matrix, generated from the policy (``domain/policy.toml``): every role × every
route × inside / outside the case's jurisdiction, and every role × every event type it may or
may not record. On SQLite and PostgreSQL.

Inside: a caller of unit ``01`` (the province of the case's commune); outside: of unit ``79``.
A route the role may use answers 2xx inside and 403 outside, except the two that carry no
single case's data and so have no jurisdiction (whole-store verification; the emergency review
queue, which lists only the caller's own subtree); a route it may not use answers 403 both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.policy import packaged_policy
from tests.api.test_access_control import HANOI, open_case
from tests.domain.builders import ACTING_BODY_OF, VALID_PAYLOADS
from tests.tokens import bearer

POLICY = packaged_policy()
INSIDE, OUTSIDE = "01", "79"
REASON = "a patient brought in unconscious at night"

Call = Callable[[TestClient, str, dict[str, str]], Any]

ROUTES: dict[str, tuple[str, Call, bool]] = {
    # name: (capability, the request, whether jurisdiction applies)
    "case state": ("case", lambda c, case, h: c.get(f"/v1/cases/{case}", headers=h), True),
    "case history": (
        "case",
        lambda c, case, h: c.get(f"/v1/cases/{case}/history", headers=h),
        True,
    ),
    "case timeline": (
        "case",
        lambda c, case, h: c.get(f"/v1/cases/{case}/timeline", headers=h),
        True,
    ),
    "caseloads": (
        "read_models",
        lambda c, case, h: c.get("/v1/caseloads", params={"unit": HANOI}, headers=h),
        True,
    ),
    "findings": (
        "read_models",
        lambda c, case, h: c.get("/v1/inspections/findings", params={"unit": HANOI}, headers=h),
        True,
    ),
    "report": (
        "read_models",
        lambda c, case, h: c.get(
            "/v1/inspections/report",
            params={"unit": HANOI, "from": "2021-01-01", "to": "2021-12-31"},
            headers=h,
        ),
        True,
    ),
    "verify one case": (
        "verify",
        lambda c, case, h: c.get("/v1/audit/verify", params={"case_id": case}, headers=h),
        True,
    ),
    "verify the store": ("verify", lambda c, case, h: c.get("/v1/audit/verify", headers=h), False),
    "global log": (
        "log",
        lambda c, case, h: c.get("/v1/events", params={"unit": HANOI}, headers=h),
        True,
    ),
    "access log": (
        "access_log",
        lambda c, case, h: c.get("/v1/audit/access", params={"case_id": case}, headers=h),
        True,
    ),
    "emergency review queue": (
        "emergency_review",
        lambda c, case, h: c.get("/v1/access/emergency", headers=h),
        False,
    ),
}


def expected(role: str, route: str, inside: bool) -> set[int]:
    capability, _, jurisdiction = ROUTES[route]
    if not POLICY.may(POLICY.roles[role], capability):  # type: ignore[arg-type]
        return {403}
    if inside or not jurisdiction:
        return {200}
    return {403}


@pytest.mark.parametrize("role", sorted(POLICY.roles))
def test_every_route_answers_each_role_as_the_policy_says(client: TestClient, role: str) -> None:
    case_id = open_case(client)
    wrong = []
    for route, (_, call, _) in ROUTES.items():
        for inside in (True, False):
            unit = INSIDE if inside else OUTSIDE
            response = call(client, case_id, bearer(role, unit, f"{role}-{unit}"))
            if response.status_code not in expected(role, route, inside):
                wrong.append((route, "inside" if inside else "outside", response.status_code))
            if response.status_code == 403:
                assert "Nguyễn" not in response.text
    assert wrong == [], wrong


@pytest.mark.parametrize("role", sorted(POLICY.roles))
def test_breaking_the_glass_is_for_the_roles_the_policy_names(
    client: TestClient, role: str
) -> None:
    case_id = open_case(client)
    body = {"case_id": case_id, "reason": REASON}

    inside = client.post("/v1/access/emergency", json=body, headers=bearer(role, INSIDE, "in"))
    outside = client.post("/v1/access/emergency", json=body, headers=bearer(role, OUTSIDE, "out"))

    if POLICY.may(POLICY.roles[role], "emergency"):
        assert (inside.status_code, outside.status_code) == (409, 201)
    else:
        assert (inside.status_code, outside.status_code) == (403, 403)


@pytest.mark.parametrize("role", sorted(POLICY.roles))
def test_each_role_records_exactly_the_types_the_policy_gives_it(
    client: TestClient, role: str
) -> None:
    case_id = open_case(client)
    inside, outside = bearer(role, INSIDE, "in"), bearer(role, OUTSIDE, "out")
    wrong = []
    for type_, data in VALID_PAYLOADS.items():
        if type_ == "CaseOpened":
            continue
        body = {"type": type_, "occurred_at": "2024-06-03T09:00:00+07:00", "data": data}
        if type_ in ACTING_BODY_OF:
            body["acting_body"] = {"kind": ACTING_BODY_OF[type_]["kind"], "unit": INSIDE}
        far = client.post(f"/v1/cases/{case_id}/events", json=body, headers=outside)
        near = client.post(f"/v1/cases/{case_id}/events", json=body, headers=inside)
        allowed = type_ in POLICY.roles[role].records
        if far.status_code != 403 or (near.status_code == 403) == allowed:
            wrong.append((type_, near.status_code, far.status_code))
    assert wrong == [], wrong


@pytest.mark.parametrize("role", sorted(POLICY.roles))
def test_opening_a_case_is_for_the_roles_that_record_it_within_their_unit(
    client: TestClient, role: str
) -> None:
    from tests.api.test_cases_api import OPEN

    body = {**OPEN, "managing_unit": HANOI}
    near = client.post("/v1/cases", json=body, headers=bearer(role, INSIDE, "in"))
    far = client.post("/v1/cases", json=body, headers=bearer(role, OUTSIDE, "out"))

    assert far.status_code == 403
    assert (near.status_code == 201) == ("CaseOpened" in POLICY.roles[role].records)
