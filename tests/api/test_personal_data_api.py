"""A data subject's rights through the API, on both stores: erasure by the data protection
officer (and the legal holds that restrict instead), pseudonyms wherever identity is not
needed, the person's report, and personal fields never in the logs."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from infra.settings import Settings
from tests.api.identity import IDENTITY
from tests.api.test_access_control import HANOI, access_log, head, open_case
from tests.tokens import bearer

NAME, NATIONAL_ID, ADDRESS = "Đỗ Thị Thu Hương", "001190077777", "88 Nguyễn Chí Thanh"
NOTE = "HIV positive, hepatitis C, lives with her mother"
SECRETS = (NAME, NATIONAL_ID, ADDRESS, NOTE)
DPO = bearer("data_protection_officer", "01", "dpo-1")
SUPERVISOR = bearer("supervisor", "01", "sup-1")
INSPECTOR = bearer("inspector", "01", "insp-1")
ERASURE = {"request_reference": "DPO-2026-0042", "basis": "Law 91/2025/QH15 Art. 16"}


def person_case(client: TestClient) -> str:
    case_id = open_case(client, full_name=NAME, national_id=NATIONAL_ID, address=ADDRESS)
    noted = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "NoteAdded",
            "occurred_at": "2021-03-03T09:00:00+07:00",
            "data": {"text": NOTE, "sensitivity": "restricted"},
        },
    )
    assert noted.status_code == 201, noted.text
    return case_id


def close(client: TestClient, case_id: str) -> None:
    closed = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "CaseClosed",
            "occurred_at": "2021-06-01T09:00:00+07:00",
            "data": {"reason": "moved_away"},
        },
    )
    assert closed.status_code == 201, closed.text


def test_the_data_protection_officer_erases_a_closed_case_and_every_reader_sees_erased(
    client: TestClient,
) -> None:
    case_id = person_case(client)
    close(client, case_id)
    pseudonym = client.get(f"/v1/cases/{case_id}", headers=INSPECTOR).json()["pseudonym"]

    erased = client.post(f"/v1/persons/{case_id}/erasure", json=ERASURE, headers=DPO)

    assert erased.status_code == 200, erased.text
    assert erased.json()["status"] == "erased"
    assert erased.json()["pseudonym"] == pseudonym
    for headers in (IDENTITY, DPO, SUPERVISOR):
        case = client.get(f"/v1/cases/{case_id}", headers=headers)
        history = client.get(f"/v1/cases/{case_id}/history", headers=headers)
        assert case.json()["personal_data"] == "erased"
        assert case.json()["person"]["full_name"] == "[erased]"
        assert case.json()["pseudonym"] == pseudonym
        for response in (case, history):
            for secret in SECRETS:
                assert secret not in response.text
    log = client.get("/v1/events", params={"unit": "01"}, headers=SUPERVISOR)
    assert all(secret not in log.text for secret in SECRETS)
    assert client.get("/v1/audit/verify", headers=SUPERVISOR).json()["ok"] is True
    # the read models judged the erased case (an age unknown now) and stopped on nothing
    caught_up = {"unit": HANOI, "min_position": head(client)}
    findings = client.get("/v1/inspections/findings", params=caught_up, headers=SUPERVISOR)
    assert findings.status_code == 200
    ready = client.get("/ready", headers=bearer("admin", "01", "ops-1"))
    assert ready.status_code == 200, ready.text
    again = client.post(f"/v1/persons/{case_id}/erasure", json=ERASURE, headers=DPO)
    assert again.status_code == 200 and again.json()["event_id"] == erased.json()["event_id"]
    more = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "NoteAdded",
            "occurred_at": "2021-07-01T09:00:00+07:00",
            "data": {"text": "x"},
        },
    )
    assert more.status_code == 409


def test_an_erasure_under_a_legal_hold_is_409_naming_it_and_restricts_the_case(
    client: TestClient,
) -> None:
    case_id = person_case(client)

    held = client.post(f"/v1/persons/{case_id}/erasure", json=ERASURE, headers=DPO)

    assert held.status_code == 409
    assert held.headers["content-type"] == "application/problem+json"
    assert held.json()["holds"] == ["case_open"]
    assert "case_open" in held.json()["detail"]
    police = client.get(f"/v1/cases/{case_id}")  # the managing commune's own officer
    assert police.json()["personal_data"] == "restricted"
    assert police.json()["person"]["full_name"] == "[restricted]"
    assert all(s not in client.get(f"/v1/cases/{case_id}/history").text for s in SECRETS)
    dpo = client.get(f"/v1/cases/{case_id}", headers=DPO)
    assert dpo.json()["person"]["full_name"] == NAME
    assert dpo.json()["personal_data"] == "shown"
    history = client.get(f"/v1/cases/{case_id}/history", headers=DPO).json()
    assert history["events"][-1]["type"] == "PersonalDataRestricted"
    assert history["events"][-1]["actor"]["id"] == "dpo-1"


def test_only_the_data_protection_officer_may_ask_an_erasure_or_record_one(
    client: TestClient,
) -> None:
    case_id = person_case(client)
    close(client, case_id)

    for headers in (IDENTITY, SUPERVISOR, bearer("admin", "01", "ops-1")):
        refused = client.post(f"/v1/persons/{case_id}/erasure", json=ERASURE, headers=headers)
        assert refused.status_code == 403, refused.text
    forged = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "PersonalDataErased",
            "occurred_at": "2021-07-01T09:00:00+07:00",
            "data": ERASURE,
        },
        headers=DPO,
    )
    assert forged.status_code == 403
    assert client.get(f"/v1/cases/{case_id}", headers=DPO).json()["person"]["full_name"] == NAME
    outside = client.post(
        f"/v1/persons/{case_id}/erasure",
        json=ERASURE,
        headers=bearer("data_protection_officer", "79", "dpo-saigon"),
    )
    assert outside.status_code == 403


def test_an_erasure_request_without_its_reference_names_the_field(client: TestClient) -> None:
    case_id = person_case(client)

    bad = client.post(f"/v1/persons/{case_id}/erasure", json={"basis": "x"}, headers=DPO)

    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["request_reference"]
    assert [e.type for e in client.app.state.ledger.get_case(_id(case_id)).entries][-1] == (  # type: ignore[attr-defined]
        "NoteAdded"
    )


def test_roles_without_personal_fields_see_the_same_pseudonym_on_every_channel(
    client: TestClient,
) -> None:
    case_id = person_case(client)

    case = client.get(f"/v1/cases/{case_id}", headers=INSPECTOR).json()
    history = client.get(f"/v1/cases/{case_id}/history", headers=INSPECTOR).json()
    log = client.get("/v1/events", params={"unit": HANOI}, headers=SUPERVISOR).json()
    caught_up = {"unit": HANOI, "min_position": head(client)}
    caseload = client.get("/v1/caseloads", params=caught_up).json()
    timeline = client.get(f"/v1/cases/{case_id}/timeline", headers=INSPECTOR).json()

    pseudonym = case["pseudonym"]
    assert re.fullmatch(r"P-[A-Z2-7]{16}", pseudonym)
    assert case["person"]["full_name"] == "[restricted]"
    assert history["pseudonym"] == timeline["pseudonym"] == pseudonym
    assert {e["pseudonym"] for e in log["events"] if e["case_id"] == case_id} == {pseudonym}
    assert [c["pseudonym"] for c in caseload["cases"] if c["case_id"] == case_id] == [pseudonym]
    other = open_case(client)
    assert client.get(f"/v1/cases/{other}", headers=INSPECTOR).json()["pseudonym"] != pseudonym


def test_the_persons_report_holds_their_data_and_who_read_it_for_what(
    client: TestClient,
) -> None:
    case_id = person_case(client)
    client.get(f"/v1/cases/{case_id}", headers={**SUPERVISOR, "X-Purpose-Of-Use": "supervision"})

    report = client.get(f"/v1/persons/{case_id}/report", headers=DPO)

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["person"]["full_name"] == NAME
    assert [e["type"] for e in body["entries"]] == ["CaseOpened", "NoteAdded"]
    assert body["entries"][1]["data"]["text"] == NOTE
    reads = [(a["actor_id"], a["purpose"]) for a in body["accesses"] if a["kind"] == "read"]
    assert ("sup-1", "supervision") in reads
    assert access_log(client, actor_id="dpo-1", case_id=_id(case_id))  # the report's own read
    assert client.get(f"/v1/persons/{case_id}/report", headers=SUPERVISOR).status_code == 403


def test_no_route_writes_a_personal_field_to_the_logs(
    settings: Settings, capfd: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(settings), headers=IDENTITY) as client:
        done = drive_every_route(client)
        paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    expected = {(m.upper(), p) for p, methods in paths.items() for m in methods}
    assert expected - done == set(), "a route this test does not drive"
    captured = capfd.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert logged.count("request_id") >= len(done)  # each request was logged: not vacuous
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} reached the logs"


def drive_every_route(client: TestClient) -> set[tuple[str, str]]:
    """Each route once or more, with the recognisable person and hostile variants of it."""
    done: set[tuple[str, str]] = set()

    def call(method: str, template: str, url: str, **kw: Any) -> Any:
        done.add((method, template))
        return client.request(method, url, **kw)

    case_id = person_case(client)
    done |= {("POST", "/v1/cases"), ("POST", "/v1/cases/{case_id}/events")}
    # hostile input carrying the name: invalid fields, a wrong type, an oversized note
    call("POST", "/v1/cases", "/v1/cases", json={"person": {"full_name": NAME * 30}})
    call(
        "POST",
        "/v1/cases/{case_id}/events",
        f"/v1/cases/{case_id}/events",
        json={"type": "NoteAdded", "occurred_at": "yesterday", "data": {"text": NOTE * 100}},
    )
    call(
        "POST",
        "/v1/cases/{case_id}/events:batch",
        f"/v1/cases/{case_id}/events:batch",
        json={
            "events": [
                {
                    "type": "PersonDetailsUpdated",
                    "occurred_at": "2021-03-04T09:00:00+07:00",
                    "data": {"address": ADDRESS + " (new)", "reason": "moved"},
                }
            ]
        },
    )
    for template in ("/v1/cases/{case_id}", "/v1/cases/{case_id}/history"):
        call("GET", template, template.format(case_id=case_id))
        call("GET", template, template.format(case_id=case_id), headers=INSPECTOR)
    call("GET", "/v1/cases/{case_id}/timeline", f"/v1/cases/{case_id}/timeline")
    call("GET", "/v1/events", "/v1/events", params={"unit": "01"}, headers=SUPERVISOR)
    call("GET", "/v1/audit/verify", "/v1/audit/verify", headers=SUPERVISOR)
    call("GET", "/v1/audit/access", "/v1/audit/access", headers=SUPERVISOR)
    call("GET", "/v1/caseloads", "/v1/caseloads", params={"unit": HANOI})
    call("GET", "/v1/inspections/findings", "/v1/inspections/findings", params={"unit": HANOI})
    call(
        "GET",
        "/v1/inspections/report",
        "/v1/inspections/report",
        params={"unit": HANOI, "from": "2021-01-01", "to": "2021-12-31"},
    )
    call("GET", "/v1/units/{code}", f"/v1/units/{HANOI}", params={"on": "2021-03-02"})
    saigon = bearer("commune_police", "79.760.26734", "police-79")
    grant = call(
        "POST",
        "/v1/access/emergency",
        "/v1/access/emergency",
        json={"case_id": case_id, "reason": f"the person {NAME} arrived unconscious at the clinic"},
        headers=saigon,
    )
    call("GET", "/v1/access/emergency", "/v1/access/emergency", headers=SUPERVISOR)
    grant_id = grant.json().get("grant", 1)
    call(
        "POST",
        "/v1/access/emergency/{grant_id}/review",
        f"/v1/access/emergency/{grant_id}/review",
        json={"decision": "justified", "note": "checked with the clinic"},
        headers=bearer("police_supervisor", "01.004", "psup-1"),
    )
    call("GET", "/v1/persons/{case_id}/report", f"/v1/persons/{case_id}/report", headers=DPO)
    call(
        "POST",
        "/v1/persons/{case_id}/erasure",
        f"/v1/persons/{case_id}/erasure",
        json=ERASURE,
        headers=DPO,
    )
    call("GET", "/health", "/health")
    call("GET", "/ready", "/ready", headers=bearer("admin", "01", "ops-1"))
    client.get("/metrics")
    return done


def _id(case_id: str) -> Any:
    from uuid import UUID

    return UUID(case_id)


def test_reading_a_case_whose_ciphertext_was_moved_is_a_500_naming_the_field(
    client: TestClient, settings: Settings
) -> None:
    from tests.integration.test_personal_data import _swap_person_fields

    case_id = person_case(client)
    _swap_person_fields(settings, case_id, "full_name", "national_id")
    with TestClient(create_app(settings), headers=IDENTITY) as fresh:  # nothing cached
        read = fresh.get(f"/v1/cases/{case_id}")
        verified = fresh.get("/v1/audit/verify", headers=SUPERVISOR).json()

    assert read.status_code == 500
    assert read.json()["type"] == "/problems/tampered-field"
    assert "person." in read.json()["detail"]
    assert all(secret not in read.text for secret in SECRETS)
    assert verified["ok"] is False


def test_the_persons_report_as_a_pdf_to_hand_them_in_vietnamese(client: TestClient) -> None:
    import io

    from pypdf import PdfReader

    case_id = person_case(client)

    pdf = client.get(f"/v1/persons/{case_id}/report", params={"format": "pdf"}, headers=DPO)

    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert NAME in text and "Báo cáo dữ liệu cá nhân" in text
    assert case_id not in text  # the pseudonym names the case on paper
    assert access_log(client, actor_id="dpo-1", case_id=_id(case_id))  # its reading recorded
