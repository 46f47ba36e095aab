"""The map as it stood on each event's date, through the API (issue 18), on both stores.

Districts were abolished and communes merged on 1 Jul 2025. Cases keep the codes they were
recorded with; jurisdiction, caseloads and reports read them on today's map, and a report can
also be asked on the old map ("quận Ba Đình, 2024").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infra.settings import Settings
from tests.api.test_cases_api import OPEN
from tests.tokens import bearer

HANOI = bearer("commune_police", "01", "province-officer")
VIET_HUNG_2024 = "01.004.00127"  # split on 1 Jul 2025: parts went to 01.00127 and 01.00136
TRUC_BACH_2024 = "01.001.00004"  # quận Ba Đình; went wholly into Phường Ba Đình, 01.00004
BA_DINH_2026 = "01.00004"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    live = settings.model_copy(update={"projection_poll_seconds": 0.02})
    with TestClient(create_app(live)) as client:
        yield client


def open_case(client: TestClient, unit: str, on: str, headers: dict[str, str] = HANOI) -> str:
    """A case managed by ``unit`` and a drug use detected there on ``on`` (nothing follows, so
    the detection's deadlines pass and draw findings)."""
    person = {**OPEN["person"], "residence_unit": unit}
    body = {**OPEN, "occurred_at": f"{on}T09:00:00+07:00", "person": person, "managing_unit": unit}
    opened = client.post("/v1/cases", json=body, headers=headers)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    detected = {
        "type": "DrugUseDetected",
        "occurred_at": f"{on}T10:00:00+07:00",
        "data": {
            "ground": "a",
            "place": "ngõ 12",
            "detecting_unit": unit,
            "administratively_detained": False,
        },
        "acting_body": {"kind": "commune_police", "unit": unit},
    }
    response = client.post(f"/v1/cases/{case_id}/events", json=detected, headers=headers)
    assert response.status_code == 201, response.text
    WRITTEN[id(client)] = response.json()["position"]
    return case_id


WRITTEN: dict[int, int] = {}
"""The position of a client's last write: its reads ask for it (read-your-writes)."""


def read(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    params["min_position"] = WRITTEN.get(id(client), 0)
    return client.get(path, params=params, headers=headers)


def test_a_2026_event_under_a_pre_reform_code_is_refused_naming_the_field_and_the_date(
    client: TestClient,
) -> None:
    case_id = open_case(client, VIET_HUNG_2024, "2024-05-06")
    transfer = {
        "type": "CaseTransferred",
        "occurred_at": "2026-03-02T09:00:00+07:00",
        "data": {"from_unit": "01.00127", "to_unit": "01.004.00133", "reason": "moved"},
    }

    response = client.post(f"/v1/cases/{case_id}/events", json=transfer, headers=HANOI)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == "data.to_unit"
    assert "2026-03-02" in error["message"] and "01.00118" in error["message"]
    history = client.get(f"/v1/cases/{case_id}/history", headers=HANOI).json()
    assert [e["type"] for e in history["events"]] == ["CaseOpened", "DrugUseDetected"]


@pytest.mark.parametrize(
    ("unit", "status"),
    [("01.00127", 200), ("01.00136", 200), ("01.00118", 403), ("01", 200), ("79", 403)],
)
def test_todays_communes_reach_the_cases_recorded_under_the_old_communes_that_went_into_them(
    client: TestClient, unit: str, status: int
) -> None:
    case_id = open_case(client, VIET_HUNG_2024, "2024-05-06")

    response = client.get(f"/v1/cases/{case_id}", headers=bearer("commune_police", unit, "x"))

    assert response.status_code == status, response.text


def test_a_merged_provinces_cases_belong_to_the_province_it_went_into(client: TestClient) -> None:
    vo_cuong = "27.256.09190"  # Phường Võ Cường, Bắc Ninh (27) until 30 Jun 2025; now in 24
    case_id = open_case(client, vo_cuong, "2024-05-06", bearer("commune_police", "27", "bn"))

    today = client.get(f"/v1/cases/{case_id}", headers=bearer("police_supervisor", "24", "p"))

    assert today.status_code == 200, today.text


def test_a_caseload_of_a_new_commune_lists_the_cases_recorded_under_its_old_codes(
    client: TestClient,
) -> None:
    case_id = open_case(client, VIET_HUNG_2024, "2024-05-06")
    officer = bearer("commune_police", "01.00127", "vh")

    listed = read(client, "/v1/caseloads", officer, unit="01.00127")
    other = read(
        client, "/v1/caseloads", bearer("commune_police", "01.00118", "bd"), unit="01.00118"
    )

    assert listed.status_code == 200, listed.text
    assert [c["case_id"] for c in listed.json()["cases"]] == [case_id]
    assert other.json()["cases"] == []


def test_a_new_commune_may_not_list_an_old_commune_it_received_only_part_of(
    client: TestClient,
) -> None:
    officer = bearer("commune_police", "01.00127", "vh")

    response = read(client, "/v1/caseloads", officer, unit=VIET_HUNG_2024)

    assert response.status_code == 403


def report(client: TestClient, unit: str, start: str, end: str) -> dict[str, Any]:
    response = read(client, "/v1/inspections/report", HANOI, unit=unit, to=end, **{"from": start})
    assert response.status_code == 200, response.text
    return response.json()


def cases_in(found: dict[str, Any]) -> set[str]:
    return {w["case_id"] for w in found["worst_cases"]}


def test_a_report_for_quan_ba_dinh_2024_and_one_for_phuong_ba_dinh_2026_both_work(
    client: TestClient,
) -> None:
    old = open_case(client, TRUC_BACH_2024, "2024-03-04")
    new = open_case(client, BA_DINH_2026, "2026-09-01")

    quan = report(client, "01.001", "2024-01-01", "2024-12-31")
    phuong = report(client, BA_DINH_2026, "2026-01-01", "2026-12-04")

    assert cases_in(quan) == {old} and quan["findings"] > 0
    assert quan["units"]["map"] == "before_reform" and quan["units"]["name"] == "Quận Ba Đình"
    assert cases_in(phuong) == {new} and phuong["findings"] > 0
    assert phuong["units"]["map"] == "current" and phuong["units"]["name"] == "Phường Ba Đình"


def test_a_report_across_1_july_2025_counts_both_maps_and_says_how(client: TestClient) -> None:
    old = open_case(client, TRUC_BACH_2024, "2024-03-04")
    new = open_case(client, BA_DINH_2026, "2026-09-01")
    elsewhere = open_case(client, VIET_HUNG_2024, "2024-03-04")

    found = report(client, BA_DINH_2026, "2024-01-01", "2026-12-04")

    assert cases_in(found) == {old, new}
    assert elsewhere not in cases_in(found)
    units = found["units"]
    assert units["reforms_in_period"] == ["2025-07-01"]
    counted = {u["code"]: u["share"] for u in units["also_counted"]}
    assert counted[TRUC_BACH_2024] == "whole"
    assert counted["01.001.00016"] == "part"  # Ngọc Hà: split between two new wards


# -- the registry, by date -------------------------------------------------------------------


def test_a_code_read_on_a_day_before_the_reform_names_its_commune_and_what_it_became(
    client: TestClient,
) -> None:
    response = client.get(f"/v1/units/{VIET_HUNG_2024}", params={"on": "2024-05-06"}, headers=HANOI)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unit"]["name"] == "Phường Việt Hưng"
    assert [a["name"] for a in body["ancestors"]] == ["Quận Long Biên", "Thành phố Hà Nội"]
    assert {(s["unit"]["code"], s["share"]) for s in body["successors"]} == {
        ("01.00127", "part"),
        ("01.00136", "part"),
    }
    assert body["today"] == ["01.00127", "01.00136"]


def test_a_code_read_after_it_ended_names_nothing_that_day_but_keeps_its_history(
    client: TestClient,
) -> None:
    body = client.get(
        f"/v1/units/{VIET_HUNG_2024}", params={"on": "2026-01-01"}, headers=HANOI
    ).json()

    assert body["unit"] is None and body["ancestors"] == []
    assert [(v["valid_from"], v["valid_to"]) for v in body["versions"]] == [(None, "2025-06-30")]


def test_todays_ward_names_the_old_communes_that_went_into_it(client: TestClient) -> None:
    body = client.get(f"/v1/units/{BA_DINH_2026}", headers=HANOI).json()

    assert body["unit"]["name"] == "Phường Ba Đình" and body["unit"]["valid_to"] is None
    assert ("01.001.00004", "whole") in {
        (p["unit"]["code"], p["share"]) for p in body["predecessors"]
    }


def test_a_code_no_list_holds_is_not_found_naming_the_field(client: TestClient) -> None:
    response = client.get("/v1/units/01.004.00999", headers=HANOI)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "code"


def test_the_registry_is_read_with_a_verified_identity_only(client: TestClient) -> None:
    assert client.get(f"/v1/units/{BA_DINH_2026}").status_code == 401
