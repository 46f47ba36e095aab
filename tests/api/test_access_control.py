"""Who may see and do what, tried as an attacker would: forged and stale tokens, other
jurisdictions, roles recording what is not theirs; personal fields kept from roles not entitled
to them; every read and refusal in the access log (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.policy import packaged_policy
from infra.tokens import EMBEDDED_ISSUER, key_id, signing_key
from tests.api.test_cases_api import OPEN
from tests.domain.builders import VALID_PAYLOADS
from tests.tokens import KEY_FILE, bearer

HANOI = "01.004.00127"
HCMC = "79.760.26734"
POLICE = bearer("commune_police", HANOI, "u-17")


def open_case(client: TestClient, unit: str = HANOI, **person: Any) -> str:
    body = {**OPEN, "managing_unit": unit, "person": {**OPEN["person"], **person}}
    headers = bearer("commune_police", unit, f"police-{unit}")
    response = client.post("/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["case_id"])


def head(client: TestClient) -> int:
    return int(client.app.state.ledger.head())  # type: ignore[attr-defined]


def access_log(client: TestClient, **filters: Any) -> list[Any]:
    return list(client.app.state.ledger.access_entries(limit=10_000, **filters))  # type: ignore[attr-defined]


# --- tokens ------------------------------------------------------------------------------------


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": EMBEDDED_ISSUER,
        "aud": "caseledger",
        "sub": "u-17",
        "role": "commune_police",
        "unit": HANOI,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **overrides,
    }


def signed(payload: dict[str, Any], key: Ed25519PrivateKey | None = None, **header: Any) -> str:
    key = key or signing_key(KEY_FILE)
    return jwt.encode(
        payload, key, algorithm="EdDSA", headers={"kid": key_id(key.public_key()), **header}
    )


def unsigned(payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def hmac_with_public_key(payload: dict[str, Any]) -> str:
    """The classic confusion attack: HS256 keyed with the server's public key."""
    public = signing_key(KEY_FILE).public_key()
    secret = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": key_id(public)}

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


BAD_TOKENS = {
    "missing": None,
    "not-a-jwt": "not.a.token",
    "expired": lambda: signed(claims(exp=int(time.time()) - 120)),
    "not-yet-valid": lambda: signed(claims(nbf=int(time.time()) + 300)),
    "forged": lambda: forged(claims()),
    "unknown-key": lambda: signed(claims(), Ed25519PrivateKey.generate()),
    "wrong-audience": lambda: signed(claims(aud="another-service")),
    "wrong-issuer": lambda: signed(claims(iss="https://idp.example.org/realms/x")),
    "alg-none": lambda: unsigned(claims()),
    "hmac-with-the-public-key": lambda: hmac_with_public_key(claims()),
    "no-expiry": lambda: signed({k: v for k, v in claims().items() if k != "exp"}),
    "unit-not-a-code": lambda: signed(claims(unit="Bo De")),
}


def forged(payload: dict[str, Any]) -> str:
    """Signed by another key, but naming the server's key id."""
    public = signing_key(KEY_FILE).public_key()
    return signed(payload, Ed25519PrivateKey.generate(), kid=key_id(public))


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_a_bad_token_is_401_with_a_bearer_challenge_and_records_nothing(
    client: TestClient, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make = BAD_TOKENS[name]
    token = make() if callable(make) else make
    headers = {"Authorization": f"Bearer {token}"} if token else {"Authorization": ""}
    before = head(client)

    write = client.post("/v1/cases", json=OPEN, headers=headers)
    read = client.get("/v1/caseloads", params={"unit": HANOI}, headers=headers)

    for response in (write, read):
        assert response.status_code == 401, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer error=")
        assert response.json()["errors"][0]["field"] == "Authorization"
    assert head(client) == before
    assert access_log(client) == []
    if token:
        assert token not in capsys.readouterr().err  # logged without the token


def test_a_token_a_little_past_expiry_is_accepted_within_the_clock_skew(
    client: TestClient,
) -> None:
    token = signed(claims(exp=int(time.time()) - 30))

    response = client.get(
        "/v1/caseloads", params={"unit": HANOI}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200, response.text


def test_a_role_the_policy_does_not_know_is_refused(client: TestClient) -> None:
    response = client.get(
        "/v1/caseloads", params={"unit": "01"}, headers=bearer("god_mode", "01", "x")
    )

    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "role"


def test_the_token_issue_command_prints_one_token_the_server_accepts(
    client: TestClient,
) -> None:
    from typer.testing import CliRunner

    from infra.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "token",
            "issue",
            "--sub",
            "u-9",
            "--role",
            "inspector",
            "--unit",
            "01",
            "--ttl",
            "60",
            "--scope",
            "a",
            "--scope",
            "b",
            "--name",
            "Lê Thị C",
        ],
    )

    assert result.exit_code == 0, result.output
    [token] = result.stdout.splitlines()
    decoded = jwt.decode(token, options={"verify_signature": False})
    assert decoded["scope"] == "a b" and decoded["name"] == "Lê Thị C"
    assert decoded["exp"] - decoded["iat"] == 60
    response = client.get(
        "/v1/inspections/findings",
        params={"unit": "01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


# --- jurisdiction and roles ---------------------------------------------------------------------


def test_a_commune_user_elsewhere_cannot_read_or_write_a_hanoi_case(client: TestClient) -> None:
    case_id = open_case(client)
    stranger = bearer("commune_police", HCMC, "hcm-1")
    before = head(client)

    caseload = client.get("/v1/caseloads", params={"unit": "01"}, headers=stranger)
    state = client.get(f"/v1/cases/{case_id}", headers=stranger)
    history = client.get(f"/v1/cases/{case_id}/history", headers=stranger)
    note = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "NoteAdded",
            "occurred_at": "2021-03-03T09:00:00+07:00",
            "data": {"text": "seen"},
        },
        headers=stranger,
    )

    for response in (caseload, state, history, note):
        assert response.status_code == 403, response.text
        assert "Nguyễn" not in response.text and "001095001234" not in response.text
    assert head(client) == before
    refusals = access_log(client, kinds=["refused"])
    assert len(refusals) == 4
    assert {r.entry.actor_id for r in refusals} == {"hcm-1"}


def test_reading_a_case_needs_a_token(client: TestClient) -> None:
    case_id = open_case(client)

    for path in (f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/history"):
        response = client.get(path, headers={"Authorization": ""})
        assert response.status_code == 401
        assert "Nguyễn" not in response.text


def test_a_volunteer_may_record_counselling_but_not_correct_a_drug_test(
    client: TestClient,
) -> None:
    case_id = open_case(client)
    test = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "DrugTestRecorded",
            "occurred_at": "2021-03-03T09:00:00+07:00",
            "data": {
                "sample": "urine",
                "substances": ["heroin"],
                "result": "positive",
                "tester_unit": HANOI,
            },
        },
        headers=POLICE,
    )
    assert test.status_code == 201, test.text
    volunteer = bearer("volunteer", HANOI, "vol-1")

    correction = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "EntryCorrected",
            "occurred_at": "2021-03-04T09:00:00+07:00",
            "data": {
                "corrects_event_id": test.json()["event_id"],
                "changes": {"result": "negative"},
                "reason": "lab error",
            },
        },
        headers=volunteer,
    )
    a_test = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "DrugTestRecorded",
            "occurred_at": "2021-03-03T10:00:00+07:00",
            "data": {
                "sample": "urine",
                "substances": ["heroin"],
                "result": "negative",
                "tester_unit": HANOI,
            },
        },
        headers=volunteer,
    )
    visit = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "HomeVisitMade",
            "occurred_at": "2021-03-05T10:00:00+07:00",
            "data": {"visitor": "vol-1", "outcome": "met the person at home"},
        },
        headers=volunteer,
    )

    assert correction.status_code == 403 and correction.json()["errors"][0]["field"] == "type"
    assert a_test.status_code == 403
    assert visit.status_code in (201, 422), visit.text  # allowed: judged on its data
    assert visit.status_code != 403


def test_the_recorded_actor_is_the_verified_caller(client: TestClient) -> None:
    case_id = open_case(client)

    response = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "NoteAdded",
            "occurred_at": "2021-03-03T09:00:00+07:00",
            "data": {"text": "seen"},
        },
        headers=bearer("counsellor", HANOI, "c-3"),
    )
    history = client.get(f"/v1/cases/{case_id}/history").json()["events"]

    assert response.status_code == 201
    assert history[-1]["actor"] == {"id": "c-3", "role": "counsellor", "unit": HANOI}


def test_a_province_supervisor_reads_its_communes_cases(client: TestClient) -> None:
    case_id = open_case(client)
    supervisor = bearer("supervisor", "01", "sup-1")

    state = client.get(f"/v1/cases/{case_id}", headers=supervisor)
    caseload = client.get("/v1/caseloads", params={"unit": "01"}, headers=supervisor)

    assert state.status_code == 200 and state.json()["person"]["full_name"] == "Nguyễn Văn A"
    assert caseload.status_code == 200


def test_an_inspector_sees_no_personal_fields(client: TestClient) -> None:
    case_id = open_case(client)
    client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "NoteAdded",
            "occurred_at": "2021-03-03T09:00:00+07:00",
            "data": {"text": "HIV positive, on ARV", "sensitivity": "restricted"},
        },
    )
    inspector = bearer("inspector", "01", "insp-1")

    state = client.get(f"/v1/cases/{case_id}", headers=inspector)
    history = client.get(f"/v1/cases/{case_id}/history", headers=inspector)

    assert state.status_code == 200 and history.status_code == 200
    for response in (state, history):
        for secret in ("Nguyễn Văn A", "001095001234", "1995-04-12", "Bồ Đề", "HIV"):
            assert secret not in response.text
    assert state.json()["person"]["full_name"] == "[restricted]"
    assert state.json()["person"]["sex"] == "male"  # not personal: kept


def test_a_case_sent_to_a_court_is_read_and_recorded_by_that_courts_clerk(
    client: TestClient,
) -> None:
    case_id = open_case(client)
    clerk = bearer("court_clerk", "01.005", "clerk-3")
    other_clerk = bearer("court_clerk", "01.006", "clerk-9")
    before = client.get(f"/v1/cases/{case_id}", headers=clerk)
    ledger = client.app.state.ledger  # type: ignore[attr-defined]
    from domain.case import NewEvent
    from domain.events import Actor

    ledger.append(
        uuid.UUID(case_id),
        [
            NewEvent.parse(
                "DossierOpened", datetime(2021, 4, 1, tzinfo=UTC), VALID_PAYLOADS["DossierOpened"]
            ),
            NewEvent.parse(
                "DossierSentToCourt",
                datetime(2021, 4, 2, tzinfo=UTC),
                {
                    **VALID_PAYLOADS["DossierSentToCourt"],
                    "court_unit": "01.005",
                },  # another district's
            ),
        ],
        Actor(id="u-17", role="commune_police", unit=HANOI),
    )

    after = client.get(f"/v1/cases/{case_id}", headers=clerk)
    elsewhere = client.get(f"/v1/cases/{case_id}", headers=other_clerk)

    assert before.status_code == 403
    assert after.status_code == 200
    assert elsewhere.status_code == 403


def test_naming_a_court_of_another_territory_as_acting_body_is_refused(
    client: TestClient,
) -> None:
    case_id = open_case(client)

    response = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "NoteAdded",
            "occurred_at": "2021-03-03T09:00:00+07:00",
            "data": {"text": "seen"},
            "acting_body": {"kind": "procuracy", "unit": "79"},
        },
    )

    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "acting_body"


# --- the log for downstream systems ------------------------------------------------------------


def test_a_subscriber_reads_only_its_subtree_without_personal_fields(
    client: TestClient,
) -> None:
    hanoi = open_case(client)
    saigon = open_case(client, unit=HCMC, full_name="Trần Thị B")
    subscriber = bearer("subscriber", "79", "feed-79")

    own = client.get("/v1/events", headers=subscriber)
    narrowed = client.get("/v1/events", params={"unit": HCMC}, headers=subscriber)
    elsewhere = client.get("/v1/events", params={"unit": "01"}, headers=subscriber)

    assert own.status_code == 200
    assert {e["case_id"] for e in own.json()["events"]} == {saigon}
    assert hanoi not in own.text
    assert "Trần Thị B" not in own.text and "[restricted]" in own.text
    assert {e["case_id"] for e in narrowed.json()["events"]} == {saigon}
    assert elsewhere.status_code == 403
    [read] = access_log(client, actor_id="feed-79", kinds=["read"])[:1]
    assert read.entry.case_ids == (uuid.UUID(saigon),)
    assert read.entry.first_position == read.entry.last_position == 2


def test_a_subscriber_not_granted_the_stream_scope_reads_nothing(client: TestClient) -> None:
    open_case(client, unit=HCMC, full_name="Trần Thị B")
    unscoped = bearer("subscriber", "79", "feed-unscoped", scopes=("profile", "email"))

    response = client.get("/v1/events", headers=unscoped)

    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "scope"
    assert "events:read" in response.json()["detail"]
    assert "Trần Thị B" not in response.text
    [refusal] = access_log(client, actor_id="feed-unscoped", kinds=["refused"])
    assert "events:read" in refusal.entry.detail["reason"]


# --- the access log ------------------------------------------------------------------------------


def test_each_read_is_recorded_before_the_answer_with_purpose_and_request_id(
    client: TestClient,
) -> None:
    case_id = open_case(client)

    client.get(f"/v1/cases/{case_id}", headers={**POLICE, "X-Request-ID": "req-1"})
    client.get(
        f"/v1/cases/{case_id}/history",
        headers={
            **bearer("supervisor", "01", "sup-1"),
            "X-Request-ID": "req-2",
            "X-Purpose-Of-Use": "inspection",
        },
    )

    entries = [r.entry for r in access_log(client, case_id=uuid.UUID(case_id))]
    assert [(e.request_id, e.actor_id, e.role, e.purpose, e.route, e.outcome) for e in entries] == [
        (
            "req-1",
            "u-17",
            "commune_police",
            "case_management",
            "GET /v1/cases/{case_id}",
            "allowed",
        ),
        (
            "req-2",
            "sup-1",
            "supervisor",
            "inspection",
            "GET /v1/cases/{case_id}/history",
            "allowed",
        ),
    ]


def test_a_read_that_cannot_be_recorded_is_not_served(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = open_case(client)
    ledger = client.app.state.ledger  # type: ignore[attr-defined]

    def broken(*entries: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ledger, "record_access", broken)
    response = client.get(f"/v1/cases/{case_id}")

    assert response.status_code == 503
    assert "Nguyễn" not in response.text
    assert response.headers["Retry-After"]


def test_a_purpose_the_role_may_not_state_is_refused(client: TestClient) -> None:
    response = client.get(
        "/v1/caseloads",
        params={"unit": HANOI},
        headers={**POLICE, "X-Purpose-Of-Use": "statistics"},
    )
    unknown = client.get(
        "/v1/caseloads", params={"unit": HANOI}, headers={**POLICE, "X-Purpose-Of-Use": "curiosity"}
    )

    assert response.status_code == 403
    assert unknown.status_code == 403
    assert unknown.json()["errors"][0]["field"] == "X-Purpose-Of-Use"


def test_supervisors_read_who_read_a_case_and_that_reading_is_recorded(
    client: TestClient,
) -> None:
    case_id = open_case(client)
    client.get(f"/v1/cases/{case_id}")
    supervisor = bearer("supervisor", "01", "sup-1")

    response = client.get("/v1/audit/access", params={"case_id": case_id}, headers=supervisor)
    counsellor = client.get(
        "/v1/audit/access", params={"case_id": case_id}, headers=bearer("counsellor", HANOI, "c")
    )
    outsider = client.get(
        "/v1/audit/access", params={"case_id": case_id}, headers=bearer("supervisor", "79", "s79")
    )

    assert response.status_code == 200
    [entry] = response.json()["entries"]
    assert entry["actor_id"] == "u-17" and entry["route"] == "GET /v1/cases/{case_id}"
    assert counsellor.status_code == 403 and outsider.status_code == 403
    last = access_log(client)[-3:]
    assert [(r.entry.actor_id, r.entry.kind) for r in last] == [
        ("sup-1", "read"),
        ("c", "refused"),
        ("s79", "refused"),
    ]


# --- break-the-glass -----------------------------------------------------------------------------


def test_an_emergency_grant_opens_one_case_for_a_while_and_waits_for_review(
    client: TestClient,
) -> None:
    case_id = open_case(client)
    other_case = open_case(client)
    doctor = bearer("health_worker", HCMC, "dr-5")
    reason = "unconscious patient admitted, needs treatment history"

    short = client.post(
        "/v1/access/emergency", json={"case_id": case_id, "reason": "urgent"}, headers=doctor
    )
    granted = client.post(
        "/v1/access/emergency", json={"case_id": case_id, "reason": reason}, headers=doctor
    )
    state = client.get(f"/v1/cases/{case_id}", headers=doctor)
    other = client.get(f"/v1/cases/{other_case}", headers=doctor)
    supervisor = bearer("supervisor", "01", "sup-1")
    queue = client.get("/v1/access/emergency", params={"status": "unreviewed"}, headers=supervisor)
    elsewhere_queue = client.get("/v1/access/emergency", headers=bearer("supervisor", "48", "s"))
    grant = granted.json()["grant"]
    verdict = client.post(
        f"/v1/access/emergency/{grant}/review",
        json={"verdict": "justified", "note": "checked with the hospital"},
        headers=supervisor,
    )
    again = client.post(
        f"/v1/access/emergency/{grant}/review",
        json={"verdict": "unjustified", "note": "second thoughts"},
        headers=supervisor,
    )
    reviewed = client.get("/v1/access/emergency", params={"status": "reviewed"}, headers=supervisor)

    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "reason"
    assert granted.status_code == 201, granted.text
    expires = datetime.fromisoformat(granted.json()["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(minutes=60)
    assert state.status_code == 200
    assert other.status_code == 403
    [read] = [r.entry for r in access_log(client, actor_id="dr-5", kinds=["read"])]
    assert read.outcome == "emergency" and read.purpose == "emergency"
    assert [g["grant"] for g in queue.json()["grants"]] == [grant]
    assert elsewhere_queue.json()["grants"] == []
    assert verdict.status_code == 200 and verdict.json()["review"]["verdict"] == "justified"
    assert again.status_code == 409
    assert [g["grant"] for g in reviewed.json()["grants"]] == [grant]


def test_an_expired_emergency_grant_opens_nothing(client: TestClient) -> None:
    from domain.access import AccessEntry

    case_id = open_case(client)
    ledger = client.app.state.ledger  # type: ignore[attr-defined]
    past = datetime.now(UTC) - timedelta(hours=2)
    ledger.record_access(
        AccessEntry(
            kind="emergency_grant",
            at=past,
            actor_id="dr-5",
            role="health_worker",
            unit=HCMC,
            purpose="emergency",
            route="POST /v1/access/emergency",
            case_ids=(uuid.UUID(case_id),),
            outcome="emergency",
            detail={
                "reason": "x" * 20,
                "expires_at": (past + timedelta(hours=1)).isoformat(),
                "case_unit": HANOI,
            },
        )
    )

    response = client.get(f"/v1/cases/{case_id}", headers=bearer("health_worker", HCMC, "dr-5"))
    ready = client.get("/ready").json()

    assert response.status_code == 403
    assert ready["emergency_grants_unreviewed_overdue"] == 0  # 2 h old: not overdue yet


# --- completeness -------------------------------------------------------------------------------

READS = {
    "state": lambda case: (f"/v1/cases/{case}", {}),
    "history": lambda case: (f"/v1/cases/{case}/history", {}),
    "timeline": lambda case: (f"/v1/cases/{case}/timeline", {}),
    "caseloads": lambda case: ("/v1/caseloads", {"unit": HANOI}),
    "findings": lambda case: ("/v1/inspections/findings", {"unit": HANOI}),
    "log": lambda case: ("/v1/events", {"unit": HANOI}),
    "verify": lambda case: ("/v1/audit/verify", {"case_id": case}),
    "access": lambda case: ("/v1/audit/access", {"case_id": case}),
}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    reads=st.lists(
        st.tuples(
            st.sampled_from(sorted(packaged_policy().roles)),
            st.sampled_from(["01", "79"]),
            st.sampled_from(sorted(READS)),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_the_access_log_holds_exactly_the_reads_and_refusals_made(
    client: TestClient, reads: list[tuple[str, str, str]]
) -> None:
    case_id = getattr(client, "_matrix_case", None) or open_case(client)
    client._matrix_case = case_id  # type: ignore[attr-defined]
    start = access_log(client)[-1].position if access_log(client) else 0
    made = []
    for i, (role, unit, name) in enumerate(reads):
        path, params = READS[name](case_id)
        request_id = f"prop-{uuid.uuid4()}-{i}"
        response = client.get(
            path,
            params=params,
            headers={**bearer(role, unit, f"{role}@{unit}"), "X-Request-ID": request_id},
        )
        assert response.status_code in (200, 403), (role, unit, name, response.text)
        kind = "read" if response.status_code == 200 else "refused"
        made.append((request_id, f"{role}@{unit}", kind))

    logged = [
        (r.entry.request_id, r.entry.actor_id, r.entry.kind)
        for r in access_log(client, after=start)
    ]
    assert logged == made
