"""Attacks on jurisdiction through the 1 Jul 2025 reform mapping (SQLite and PostgreSQL).

Since the reform, a recorded code is read "on today's map": a case's codes stand for the units
of today's list their territory went into, and so does the caller's token unit. These tests try,
as an outsider with a valid token of some unit or an insider with recording rights, to read,
list or record on cases outside their territory by exploiting that mapping: abolished districts
(whose code stands for every commune that received any part of them), split communes (which
stand for every commune that received a part), merged and renumbered provinces, codes no list
holds, codes of the other era declared with ``unit_codes_as_of``, acting bodies and courts.

A test named as the behaviour that should hold and failing now marks a weakness (its comment
says the attack); a passing one marks an attack that is refused.

Units used (``domain/unit_data``):

- ``01.004.00127`` Phường Việt Hưng (quận Long Biên), split on 1 Jul 2025 between
  ``01.00127`` Phường Việt Hưng and ``01.00136`` Phường Phúc Lợi.
- ``01.005`` quận Cầu Giấy (abolished): its communes went, wholly or in part, into nine communes
  of today, among them ``01.00592`` Phường Từ Liêm, which received only a part of one of them
  (``01.005.00163``) and is otherwise made of quận Nam Từ Liêm's communes.
- ``01.018`` huyện Gia Lâm (abolished): a part of one of its communes (``01.018.00553``) went
  into ``01.00136`` Phúc Lợi; the rest into ``01.00541``, ``01.00562``... .
- ``01.001`` quận Ba Đình: its Phúc Xá (``01.001.00001``) went into ``01.00097`` Phường Hồng
  Hà, which is otherwise made of communes of quận Hoàn Kiếm, Tây Hồ, Long Biên, Bắc Từ Liêm.
- ``24``: Bắc Giang until 30 Jun 2025, Bắc Ninh since (old Bắc Ninh was ``27``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.case import NewEvent
from domain.events import Actor
from infra.settings import Settings
from tests.api.test_cases_api import OPEN
from tests.domain.builders import VALID_PAYLOADS
from tests.tokens import bearer

HANOI = bearer("commune_police", "01", "province-officer")

VIET_HUNG_2024 = "01.004.00127"  # split: parts went to 01.00127 and 01.00136
VIET_HUNG = "01.00127"
PHUC_LOI = "01.00136"
BO_DE = "01.00118"  # today's Bồ Đề: nothing of Việt Hưng 2024 went into it
CAU_GIAY_DISTRICT = "01.005"
TU_LIEM = "01.00592"  # received only a part of 01.005.00163 (Cầu Giấy)
GIA_LAM_DISTRICT = "01.018"
BA_DINH_DISTRICT = "01.001"
HONG_HA = "01.00097"  # got Phúc Xá (Ba Đình) wholly; the rest from four other districts
HOAN_KIEM_2024 = "01.002.00037"  # Phường Phúc Tân (Hoàn Kiếm): went wholly into Hồng Hà

OLD_LIST = "2025-06-30"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    live = settings.model_copy(update={"projection_poll_seconds": 0.02})
    with TestClient(create_app(live)) as client:
        yield client


WRITTEN: dict[int, int] = {}
"""The position of a client's last write: its reads ask for it (read-your-writes)."""


def _wrote(client: TestClient, response: Any) -> None:
    position = response.json().get("position")
    if position is not None:
        WRITTEN[id(client)] = max(WRITTEN.get(id(client), 0), int(position))


def open_case(
    client: TestClient,
    unit: str,
    on: str,
    headers: dict[str, str] = HANOI,
    *,
    as_of: str | None = None,
    expect: int = 201,
) -> Any:
    """Open a case managed (and resided) in ``unit`` on ``on``; the response if ``expect`` is
    not 201, else the case id."""
    person: dict[str, Any] = {**OPEN["person"], "residence_unit": unit}  # type: ignore[dict-item]
    body: dict[str, Any] = {
        **OPEN,
        "occurred_at": f"{on}T09:00:00+07:00",
        "person": person,
        "managing_unit": unit,
    }
    if as_of is not None:
        body["unit_codes_as_of"] = as_of
    response = client.post("/v1/cases", json=body, headers=headers)
    if expect != 201:
        return response
    assert response.status_code == 201, response.text
    _wrote(client, response)
    return response.json()["case_id"]


def note(
    client: TestClient,
    case_id: str,
    headers: dict[str, str],
    on: str = "2026-01-12",
    **envelope: Any,
) -> Any:
    body = {
        "type": "NoteAdded",
        "occurred_at": f"{on}T10:00:00+07:00",
        "data": {"text": "Mother asked for a home visit."},
        **envelope,
    }
    response = client.post(f"/v1/cases/{case_id}/events", json=body, headers=headers)
    if response.status_code == 201:
        _wrote(client, response)
    return response


def read(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    params["min_position"] = WRITTEN.get(id(client), 0)
    return client.get(path, params=params, headers=headers)


def listed(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {c["case_id"] for c in response.json()["cases"]}


def ledger_append(client: TestClient, case_id: str, *events: NewEvent) -> None:
    """Record events as a Hà Nội officer, past the API (how the project's own access tests
    put a dossier before a court): the attack is the read that follows, not this write."""
    ledger = client.app.state.ledger  # type: ignore[attr-defined]
    recorded = ledger.append(
        uuid.UUID(case_id), list(events), Actor(id="u-1", role="commune_police", unit="01")
    )
    WRITTEN[id(client)] = max(WRITTEN.get(id(client), 0), recorded[-1].position)


def send_to_court(client: TestClient, case_id: str, court_unit: str) -> None:
    """A dossier opened in April 2021 and sent to the court of ``court_unit``."""
    ledger_append(
        client,
        case_id,
        NewEvent.parse(
            "DossierOpened", datetime(2021, 4, 1, 3, tzinfo=UTC), VALID_PAYLOADS["DossierOpened"]
        ),
        NewEvent.parse(
            "DossierSentToCourt",
            datetime(2021, 4, 2, 3, tzinfo=UTC),
            {**VALID_PAYLOADS["DossierSentToCourt"], "court_unit": court_unit},
        ),
    )


# =============================================================================================
# Weaknesses (these fail now)
# =============================================================================================

# --- W1: an abolished district's code, recorded on a case, reaches DOWN to every commune ------


def test_a_case_sent_to_an_old_district_court_is_not_reachable_from_a_commune_that_got_a_sliver(
    client: TestClient,
) -> None:
    """A 2021 case of Việt Hưng (Long Biên) whose dossier went to the district court of Cầu
    Giấy (``court_unit`` ``01.005``). Before the reform that made the case reachable from
    ``01.005`` (the court and the procuracy beside it) and the province: a commune never
    reached a district-level code above it. Now ``01.005`` "stands for" the nine communes its
    territory went into, and ``Registry.lies_in`` says yes as soon as ANY of them lies in the
    caller's unit. So a commune police officer (or a volunteer) of Phường Từ Liêm - which got a
    sliver of one Cầu Giấy commune, and has nothing to do with Long Biên - reads the whole case
    (name, national id, address, history) and may record on it."""
    case_id = open_case(client, VIET_HUNG_2024, "2021-03-02")
    send_to_court(client, case_id, CAU_GIAY_DISTRICT)
    police = bearer("commune_police", TU_LIEM, "tl-police")
    volunteer = bearer("volunteer", TU_LIEM, "tl-volunteer")

    state = client.get(f"/v1/cases/{case_id}", headers=police)
    history = client.get(f"/v1/cases/{case_id}/history", headers=volunteer)
    recorded = note(client, case_id, police, on="2026-01-12")

    assert (state.status_code, history.status_code, recorded.status_code) == (403, 403, 403), (
        f"a Từ Liêm commune read ({state.status_code}), a volunteer read the history "
        f"({history.status_code}) and recorded ({recorded.status_code}) on a Long Biên case "
        "sent to the old Cầu Giấy district court"
    )


def test_a_case_managed_by_an_old_district_is_not_reachable_from_a_commune_that_got_a_sliver(
    client: TestClient,
) -> None:
    """A 2024 case managed at district level (quận Cầu Giấy, ``01.005``; e.g. the district
    police's). Before the reform no commune reached it. Now every commune that received any
    part of Cầu Giấy reads it, records on it, and lists it in its caseload - Phường Từ Liêm
    included (a sliver of one Cầu Giấy commune)."""
    case_id = open_case(client, CAU_GIAY_DISTRICT, "2024-05-06")
    police = bearer("commune_police", TU_LIEM, "tl-police")
    supervisor = bearer("police_supervisor", TU_LIEM, "tl-sup")

    state = client.get(f"/v1/cases/{case_id}", headers=police)
    caseload = read(client, "/v1/caseloads", supervisor, unit=TU_LIEM)

    assert state.status_code == 403, f"Từ Liêm read a Cầu Giấy district case: {state.status_code}"
    assert case_id not in listed(caseload), "Từ Liêm's caseload lists a Cầu Giấy district case"


def test_the_log_for_a_commune_does_not_serve_events_of_an_old_district_courts_cases(
    client: TestClient,
) -> None:
    """``/v1/events?unit=`` with a subscriber of Phường Từ Liêm: the events (redacted, but
    with the case's type sequence, dates, units, court) of the Long Biên case sent to the old
    Cầu Giấy district court are served to it (same cause as above)."""
    case_id = open_case(client, VIET_HUNG_2024, "2021-03-02")
    send_to_court(client, case_id, CAU_GIAY_DISTRICT)
    subscriber = bearer("subscriber", TU_LIEM, "tl-sub")

    response = client.get("/v1/events", params={"after": 0, "limit": 100}, headers=subscriber)

    assert response.status_code == 200, response.text
    assert case_id not in {e["case_id"] for e in response.json()["events"]}


def test_a_communes_access_log_does_not_hold_an_old_district_actors_entries(
    client: TestClient,
) -> None:
    """``/v1/audit/access`` without ``case_id`` serves "the entries of actors of the caller's
    subtree", judged with ``lies_in(actor's unit)``. A court clerk of the old Cầu Giấy district
    court (token ``01.005``, as the project's own tests issue clerks) reads a case sent to
    that court; a supervisor of Phường Từ Liêm then receives that clerk's access entries (case
    ids, routes, queries, refusal reasons): same cause as above, on the actor's unit."""
    case_id = open_case(client, VIET_HUNG_2024, "2021-03-02")
    send_to_court(client, case_id, CAU_GIAY_DISTRICT)
    clerk = bearer("court_clerk", CAU_GIAY_DISTRICT, "cg-clerk")
    assert client.get(f"/v1/cases/{case_id}", headers=clerk).status_code == 200
    supervisor = bearer("supervisor", TU_LIEM, "tl-sup")

    entries = client.get("/v1/audit/access", params={"limit": 1000}, headers=supervisor)

    assert entries.status_code == 200, entries.text
    assert "cg-clerk" not in {e["actor_id"] for e in entries.json()["entries"]}


def test_a_communes_emergency_review_queue_holds_no_grants_on_an_old_districts_cases(
    client: TestClient,
) -> None:
    """The review queue lists grants whose case unit ``lies_in`` the supervisor's: a grant on a
    case managed by quận Cầu Giấy (``01.005``) shows, with the requester's reason (free text,
    often medical), to the supervisor of every commune that received any part of Cầu Giấy -
    Phường Từ Liêm's included (same cause as above)."""
    case_id = open_case(client, CAU_GIAY_DISTRICT, "2024-05-06")
    granted = client.post(
        "/v1/access/emergency",
        json={"case_id": case_id, "reason": "overdose at the emergency room, unconscious"},
        headers=bearer("health_worker", "79.26734", "hcmc-doctor"),
    )
    assert granted.status_code == 201, granted.text
    supervisor = bearer("police_supervisor", TU_LIEM, "tl-sup")

    queue = client.get("/v1/access/emergency", headers=supervisor)

    assert queue.status_code == 200, queue.text
    assert granted.json()["grant"] not in {g["grant"] for g in queue.json()["grants"]}


# --- W2: a commune opens a case for an old unit it covers only in part ----------------------


def test_a_commune_may_not_open_a_case_for_an_old_split_commune_it_received_only_part_of(
    client: TestClient,
) -> None:
    """Phúc Lợi (``01.00136``) police open a case today with ``managing_unit`` the old Việt
    Hưng (``01.004.00127``) and ``unit_codes_as_of`` 2025-06-30 (any caller may declare it).
    ``authorize_recording`` checks only that the managing unit OVERLAPS the caller's
    (``lies_in``), not that it lies wholly in it, so the case is accepted - and lands in the
    jurisdiction and the caseload of the other part, today's Việt Hưng (``01.00127``), which
    reads and records on it. The README: "the managing unit must lie in the caller's
    subtree"; a caseload may be asked only for a unit wholly in the caller's."""
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")

    response = open_case(client, VIET_HUNG_2024, "2026-01-10", phuc_loi, as_of=OLD_LIST, expect=0)

    assert response.status_code == 403, (
        f"Phúc Lợi opened a case for the whole of old Việt Hưng: {response.status_code}"
    )


def test_a_case_a_commune_opens_is_not_handed_to_the_other_part_of_a_split_commune(
    client: TestClient,
) -> None:
    """The consequence of the above: the case Phúc Lợi opened under the old split code is read
    and listed by today's Việt Hưng, a unit Phúc Lợi's staff are not in."""
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")
    response = open_case(client, VIET_HUNG_2024, "2026-01-10", phuc_loi, as_of=OLD_LIST, expect=0)
    if response.status_code != 201:
        return  # refused at the door: nothing handed over
    _wrote(client, response)
    case_id = response.json()["case_id"]

    other = client.get(f"/v1/cases/{case_id}", headers=bearer("commune_police", VIET_HUNG, "vh"))
    caseload = read(
        client, "/v1/caseloads", bearer("police_supervisor", VIET_HUNG, "vh-sup"), unit=VIET_HUNG
    )

    assert other.status_code == 403
    assert case_id not in listed(caseload)


@pytest.mark.parametrize(
    ("district", "on", "as_of"),
    [
        (GIA_LAM_DISTRICT, "2026-01-10", OLD_LIST),  # today, declaring the old list
        ("01.004", "2024-01-10", None),  # quận Long Biên, split among seven: an old date
    ],
)
def test_a_commune_may_not_open_a_case_for_an_old_district_it_received_a_part_of(
    client: TestClient, district: str, on: str, as_of: str | None
) -> None:
    """Phúc Lợi received a part of one Gia Lâm commune (``01.018.00553``) and parts of four
    Long Biên communes. With the old list declared (or an event dated before 1 Jul 2025) it
    opens a case managed by huyện Gia Lâm or quận Long Biên as a whole: accepted, and the five
    or six other communes of today that received parts of the district now read it, record on
    it and list it."""
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")

    response = open_case(client, district, on, phuc_loi, as_of=as_of, expect=0)

    assert response.status_code == 403, (
        f"Phúc Lợi opened a case for the whole of district {district}: {response.status_code}"
    )


# --- W3: acting bodies of handling kinds naming an old unit ---------------------------------


def test_naming_an_old_split_commune_as_acting_body_does_not_hand_the_case_to_its_other_part(
    client: TestClient,
) -> None:
    """README: "Only someone inside that body's territory may name such a body as acting body,
    so a user cannot hand a case to another territory by naming it". Phúc Lợi police, on a
    Phúc Lợi case of 2026, record a note whose acting body is a ``rehab_facility`` of the old
    Việt Hưng (``01.004.00127``, old list declared). ``authorize_recording`` asks
    ``contains(body, caller)``: on today's map old Việt Hưng stands for {Việt Hưng, Phúc Lợi},
    which contains Phúc Lợi, so it passes; ``reach_of`` then adds the body as a handling unit,
    and today's Việt Hưng - another territory - reads and records on the case."""
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")
    case_id = open_case(client, PHUC_LOI, "2026-01-10", phuc_loi)
    viet_hung = bearer("commune_police", VIET_HUNG, "vh-police")
    assert client.get(f"/v1/cases/{case_id}", headers=viet_hung).status_code == 403

    named = note(
        client,
        case_id,
        phuc_loi,
        acting_body={"kind": "rehab_facility", "unit": VIET_HUNG_2024},
        unit_codes_as_of=OLD_LIST,
    )
    after = client.get(f"/v1/cases/{case_id}", headers=viet_hung)

    assert named.status_code == 403 or after.status_code == 403, (
        "naming the old split commune as acting body handed the Phúc Lợi case to Việt Hưng"
    )


def test_naming_an_old_district_court_as_acting_body_does_not_hand_the_case_to_its_communes(
    client: TestClient,
) -> None:
    """Same, with a ``district_court`` of huyện Gia Lâm (``01.018``): every commune that
    received part of Gia Lâm (``01.00541``, ``01.00562``, ...) then reaches the Phúc Lợi
    case, read and record."""
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")
    case_id = open_case(client, PHUC_LOI, "2026-01-10", phuc_loi)
    gia_lam_commune = bearer("commune_police", "01.00541", "gl-police")

    named = note(
        client,
        case_id,
        phuc_loi,
        acting_body={"kind": "district_court", "unit": GIA_LAM_DISTRICT},
        unit_codes_as_of=OLD_LIST,
    )
    after = client.get(f"/v1/cases/{case_id}", headers=gia_lam_commune)

    assert named.status_code == 403 or after.status_code == 403, (
        "naming the old Gia Lâm district court handed the Phúc Lợi case to Gia Lâm's communes"
    )


# --- W4: a token naming an abolished (split) commune or district ------------------------------


def test_a_token_of_an_abolished_split_commune_does_not_reach_todays_cases_of_both_parts(
    client: TestClient,
) -> None:
    """A token still naming the old Việt Hưng (``01.004.00127``; identity providers are not
    updated the day of a reform) stands for BOTH communes that received a part of it. It reads
    a 2026 case of Phúc Lợi and lists Phúc Lợi's caseload - and also today's Việt Hưng's. No
    officer of today's map has that reach: the officer of the old Việt Hưng now works in one of
    them, not both. Same for a district token below."""
    stale = bearer("commune_police", VIET_HUNG_2024, "stale")
    stale_sup = bearer("police_supervisor", VIET_HUNG_2024, "stale-sup")
    phuc_loi = open_case(client, PHUC_LOI, "2026-01-10", bearer("commune_police", PHUC_LOI, "p"))
    viet_hung = open_case(client, VIET_HUNG, "2026-01-10", bearer("commune_police", VIET_HUNG, "v"))

    a = client.get(f"/v1/cases/{phuc_loi}", headers=stale).status_code
    b = client.get(f"/v1/cases/{viet_hung}", headers=stale).status_code
    lists_a = read(client, "/v1/caseloads", stale_sup, unit=PHUC_LOI).status_code
    lists_b = read(client, "/v1/caseloads", stale_sup, unit=VIET_HUNG).status_code

    assert not (a == b == 200), "a stale split-commune token reads today's cases of both parts"
    assert not (lists_a == lists_b == 200), "...and lists both parts' caseloads"


def test_a_token_of_an_abolished_district_does_not_reach_cases_of_other_districts_communes(
    client: TestClient,
) -> None:
    """A quận Ba Đình token (``01.001``) stands for the eight communes of today that received
    any part of Ba Đình - Hồng Hà among them, which got only Phúc Xá and is otherwise made of
    Hoàn Kiếm, Tây Hồ, Long Biên and Bắc Từ Liêm. So it reads a 2024 case of Phúc Tân
    (Hoàn Kiếm, ``01.002.00037``), a commune that was never Ba Đình's, and lists Hồng Hà."""
    case_id = open_case(client, HOAN_KIEM_2024, "2024-05-06")
    stale = bearer("commune_police", BA_DINH_DISTRICT, "ba-dinh-district")

    response = client.get(f"/v1/cases/{case_id}", headers=stale)

    assert response.status_code == 403, (
        f"a quận Ba Đình token read a Hoàn Kiếm case of 2024: {response.status_code}"
    )


# --- W5: a correction moves a case into another unit's read models -------------------------


def test_a_correction_may_not_move_a_case_into_another_units_caseload(
    client: TestClient,
) -> None:
    """An ``EntryCorrected`` of the CaseOpened with ``changes: {managing_unit: ...}`` is
    accepted (the role records CaseOpened; the new code is only checked to exist). The
    jurisdiction (``reach_of``) reads the raw entries and ignores it, but the state and the read
    models read the corrected record: the case leaves Phúc Lợi's caseload and appears in
    Bồ Đề's (and its findings, its report's worst cases), with its pseudonym and stage -
    without a transfer and without anyone of Bồ Đề having jurisdiction. It also takes
    the case off its own unit's caseload while Phúc Lợi keeps full access."""
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")
    case_id = open_case(client, PHUC_LOI, "2026-01-10", phuc_loi)
    history = client.get(f"/v1/cases/{case_id}/history", headers=phuc_loi).json()
    opened = history["events"][0]["event_id"]

    corrected = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "EntryCorrected",
            "occurred_at": "2026-01-11T10:00:00+07:00",
            "data": {
                "corrects_event_id": opened,
                "changes": {"managing_unit": BO_DE},
                "reason": "typo",
            },
        },
        headers=phuc_loi,
    )
    if corrected.status_code == 201:
        _wrote(client, corrected)
    caseload = read(client, "/v1/caseloads", bearer("police_supervisor", BO_DE, "bd"), unit=BO_DE)

    assert corrected.status_code == 403 or case_id not in listed(caseload), (
        "a correction slipped a Phúc Lợi case into Bồ Đề's caseload"
    )


# --- W6: the registry's area cache grows with every code a caller asks for -----------------


def test_asking_read_models_for_codes_no_list_holds_does_not_grow_server_memory(
    client: TestClient,
) -> None:
    """A province-level caller may ask a caseload, findings or a report for ANY code of its
    province's shape, known or not (``Registry.contains`` reads a code no list holds as its
    province). ``Registry.area`` then scans every code of every list (~40 ms) and keeps the
    answer in ``Registry._areas``, a dict without a bound, keyed by the caller's string: 10^8
    possible commune codes per province. One token can so grow the process's memory for ever
    and burn CPU per request."""
    from domain.units import registry

    supervisor = bearer("police_supervisor", "01", "hn-sup")
    before = len(registry()._areas)  # the cache is what is attacked
    run = uuid.uuid4().int % 100_000  # codes nobody asked for before, in this process
    for i in range(25):
        response = read(client, "/v1/caseloads", supervisor, unit=f"01.9{i:02d}.{run:05d}")
        assert response.status_code == 200, response.text
    grown = len(registry()._areas) - before

    assert grown < 25, f"{grown} areas cached for codes no list holds"


# =============================================================================================
# Attacks that are refused (these pass)
# =============================================================================================


def test_a_token_naming_a_code_no_list_holds_reaches_nothing_of_the_province(
    client: TestClient,
) -> None:
    case_id = open_case(client, VIET_HUNG, "2026-01-10", bearer("commune_police", VIET_HUNG, "v"))
    ghost = bearer("commune_police", "01.004.00999", "ghost")
    ghost_sup = bearer("police_supervisor", "01.004.00999", "ghost-sup")

    assert client.get(f"/v1/cases/{case_id}", headers=ghost).status_code == 403
    assert read(client, "/v1/caseloads", ghost_sup, unit="01").status_code == 403
    assert read(client, "/v1/caseloads", ghost_sup, unit=VIET_HUNG).status_code == 403


def test_a_token_of_a_province_that_never_existed_reaches_nothing(client: TestClient) -> None:
    case_id = open_case(client, VIET_HUNG, "2026-01-10", bearer("commune_police", VIET_HUNG, "v"))
    nowhere = bearer("police_supervisor", "99", "nowhere")

    assert client.get(f"/v1/cases/{case_id}", headers=nowhere).status_code == 403
    assert read(client, "/v1/caseloads", nowhere, unit="99").status_code == 403
    assert read(client, "/v1/caseloads", nowhere, unit="01").status_code == 403
    response = read(client, "/v1/inspections/findings", nowhere, unit="99.001")
    assert response.status_code == 403


def test_a_bad_unit_claim_in_a_token_is_401(client: TestClient) -> None:
    for unit in ("01.00004.00001", "1", "01.0004", "", "01.004.00127 "):
        response = client.get("/v1/units/01", headers=bearer("commune_police", unit, "x"))
        assert response.status_code == 401, (unit, response.text)


def test_a_new_commune_may_not_list_a_larger_unit_of_either_map(client: TestClient) -> None:
    sup = bearer("police_supervisor", VIET_HUNG, "vh-sup")
    for unit in (VIET_HUNG_2024, "01.004", "01", PHUC_LOI, "01.004.00999", "01.00127"):
        for path in ("/v1/caseloads", "/v1/inspections/findings"):
            response = read(client, path, sup, unit=unit)
            expected = 200 if unit == VIET_HUNG else 403
            assert response.status_code == expected, (path, unit, response.text)
    report = read(
        client,
        "/v1/inspections/report",
        sup,
        unit="01.004",
        **{"from": "2024-01-01"},
        to="2026-01-01",
    )
    assert report.status_code == 403


def test_a_province_code_that_names_another_province_today_gives_no_reach_elsewhere(
    client: TestClient,
) -> None:
    """``24`` was Bắc Giang and is Bắc Ninh; ``27`` was Bắc Ninh. Neither reaches Hà Nội, and
    a commune of today's 24 may not list the old 27 (it covers only itself)."""
    case_id = open_case(client, VIET_HUNG_2024, "2024-05-06")
    for unit in ("24", "27", "06"):
        response = client.get(
            f"/v1/cases/{case_id}", headers=bearer("police_supervisor", unit, f"p{unit}")
        )
        assert response.status_code == 403, unit
    commune_24 = bearer("police_supervisor", "24.07210", "bn-commune")
    assert read(client, "/v1/caseloads", commune_24, unit="27").status_code == 403
    assert read(client, "/v1/caseloads", commune_24, unit="24").status_code == 403


def test_a_commune_may_not_open_a_case_for_an_old_province_or_another_commune(
    client: TestClient,
) -> None:
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")
    for unit, on, as_of in (
        ("01", "2026-01-10", None),
        ("01", "2024-01-10", None),
        (BO_DE, "2026-01-10", None),
        ("01.004.00133", "2024-01-10", None),  # Ngọc Lâm, went wholly into Bồ Đề
        ("01.004.00133", "2026-01-10", OLD_LIST),
        ("79.760.26734", "2024-01-10", None),
        ("01.004.00999", "2024-01-10", None),  # a code no list holds, under Long Biên
    ):
        response = open_case(client, unit, on, phuc_loi, as_of=as_of, expect=0)
        assert response.status_code == 403, (unit, on, as_of, response.text)


def test_a_court_of_another_territory_or_era_may_not_be_named_as_acting_body(
    client: TestClient,
) -> None:
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")
    case_id = open_case(client, PHUC_LOI, "2026-01-10", phuc_loi)
    for unit, as_of in (
        ("79", None),
        ("01.00118", None),
        ("01.004.00133", OLD_LIST),  # Ngọc Lâm: Bồ Đề's predecessor, none of Phúc Lợi
        ("01.007", OLD_LIST),  # quận Hai Bà Trưng
        ("27", OLD_LIST),
    ):
        envelope: dict[str, Any] = {"acting_body": {"kind": "procuracy", "unit": unit}}
        if as_of:
            envelope["unit_codes_as_of"] = as_of
        response = note(client, case_id, phuc_loi, **envelope)
        assert response.status_code == 403, (unit, response.text)
        assert response.json()["errors"][0]["field"] == "acting_body"


def test_a_transfer_to_a_code_of_the_other_era_is_refused_without_a_declared_list(
    client: TestClient,
) -> None:
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")
    case_id = open_case(client, PHUC_LOI, "2026-01-10", phuc_loi)
    for to_unit in (VIET_HUNG_2024, "01.004", "01.004.00999", "01.99999"):
        response = client.post(
            f"/v1/cases/{case_id}/events",
            json={
                "type": "CaseTransferred",
                "occurred_at": "2026-01-11T10:00:00+07:00",
                "data": {"from_unit": PHUC_LOI, "to_unit": to_unit, "reason": "moved"},
            },
            headers=phuc_loi,
        )
        assert response.status_code == 422, (to_unit, response.text)


def test_a_transfer_away_leaves_the_sender_read_only_even_under_an_old_code(
    client: TestClient,
) -> None:
    """Phúc Lợi transfers its case to Ngọc Lâm's old code (Bồ Đề's predecessor, old list
    declared): the case is Bồ Đề's now; Phúc Lợi may read it but not record."""
    phuc_loi = bearer("commune_police", PHUC_LOI, "pl-police")
    case_id = open_case(client, PHUC_LOI, "2026-01-10", phuc_loi)
    transferred = client.post(
        f"/v1/cases/{case_id}/events",
        json={
            "type": "CaseTransferred",
            "occurred_at": "2026-01-11T10:00:00+07:00",
            "data": {"from_unit": VIET_HUNG_2024, "to_unit": "01.004.00133", "reason": "moved"},
            "unit_codes_as_of": OLD_LIST,
        },
        headers=phuc_loi,
    )
    assert transferred.status_code == 201, transferred.text

    assert client.get(f"/v1/cases/{case_id}", headers=phuc_loi).status_code == 200
    assert note(client, case_id, phuc_loi).status_code == 403
    bo_de = bearer("commune_police", BO_DE, "bd")
    assert client.get(f"/v1/cases/{case_id}", headers=bo_de).status_code == 200
    viet_hung = bearer("commune_police", VIET_HUNG, "vh")
    assert client.get(f"/v1/cases/{case_id}", headers=viet_hung).status_code == 403


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        ("1899-12-31", 422),  # before the window
        ("0001-01-01", 422),
        ("2100-12-31", 422),  # after the event
        ("2026-01-11", 422),  # the day after the event
        ("2025-02-29", 422),  # no such day
        ("99999-01-01", 422),
        ("2025-06-30T00:00:00", 422),
        ("1900-01-01", 201),  # the pre-reform list held since before the records
    ],
)
def test_unit_codes_as_of_out_of_the_calendar_or_after_the_event_is_refused(
    client: TestClient, as_of: str, status: int
) -> None:
    body = {
        **OPEN,
        "occurred_at": "2026-01-10T09:00:00+07:00",
        "managing_unit": VIET_HUNG_2024,
        "unit_codes_as_of": as_of,
    }
    response = client.post("/v1/cases", json=body, headers=HANOI)
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    ("code", "params", "status"),
    [
        ("01", {"on": "0001-01-01"}, 422),
        ("01", {"on": "9999-12-31"}, 422),
        ("01", {"on": "2025-02-30"}, 422),
        ("01", {"on": "1" * 400}, 422),
        ("01", {"on": "-2025-01-01"}, 422),
        ("01", {"on": "2025-06-30T23:59:59+07:00"}, 422),
        ("01", {"on": "1900-01-01"}, 200),
        ("01", {"on": "2100-12-31"}, 200),
        ("01", {"on": "2025-07-01", "extra": "1"}, 422),
        ("01.004.00127.1", {}, 422),
        ("01.004.99999", {}, 404),
        ("99", {}, 404),
        ("0" * 5000, {}, 422),
        ("01%00", {}, 422),
        ("01.004", {"on": "2026-01-01"}, 200),
    ],
)
def test_the_units_route_answers_hostile_input_without_a_5xx(
    client: TestClient, code: str, params: dict[str, str], status: int
) -> None:
    response = client.get(f"/v1/units/{code}", params=params, headers=HANOI)
    assert response.status_code == status, response.text


def test_the_units_route_takes_a_token(client: TestClient) -> None:
    assert client.get("/v1/units/01").status_code == 401


def test_the_log_of_a_new_commune_serves_nothing_of_the_other_parts_cases(
    client: TestClient,
) -> None:
    """A subscriber of Bồ Đề asks the log for Bồ Đề, for Long Biên (old), for the province: only
    the first is its to ask, and it carries no Việt Hưng case."""
    case_id = open_case(client, VIET_HUNG_2024, "2024-05-06")
    sub = bearer("subscriber", BO_DE, "bd-sub")

    mine = client.get("/v1/events", params={"unit": BO_DE}, headers=sub)
    assert mine.status_code == 200
    assert case_id not in {e["case_id"] for e in mine.json()["events"]}
    for unit in ("01.004", "01", VIET_HUNG_2024, VIET_HUNG):
        assert client.get("/v1/events", params={"unit": unit}, headers=sub).status_code == 403


def test_an_emergency_grant_is_queued_and_reviewed_only_within_the_cases_units(
    client: TestClient,
) -> None:
    """A grant on an old Việt Hưng case: Bồ Đề's supervisor neither sees it nor reviews it."""
    case_id = open_case(client, VIET_HUNG_2024, "2024-05-06")
    health = bearer("health_worker", "79.26734", "hcmc-doctor")
    granted = client.post(
        "/v1/access/emergency",
        json={"case_id": case_id, "reason": "overdose at the emergency room, unconscious"},
        headers=health,
    )
    assert granted.status_code == 201, granted.text
    grant = granted.json()["grant"]
    bo_de_sup = bearer("police_supervisor", BO_DE, "bd-sup")

    queue = client.get("/v1/access/emergency", headers=bo_de_sup)
    review = client.post(
        f"/v1/access/emergency/{grant}/review",
        json={"verdict": "justified", "note": "ok"},
        headers=bo_de_sup,
    )

    assert queue.status_code == 200
    assert grant not in {g["grant"] for g in queue.json()["grants"]}
    assert review.status_code == 403


def test_the_access_log_of_a_new_commune_holds_no_entries_of_another_communes_actors(
    client: TestClient,
) -> None:
    viet_hung = bearer("commune_police", VIET_HUNG, "vh-actor")
    case_id = open_case(client, VIET_HUNG, "2026-01-10", viet_hung)
    assert client.get(f"/v1/cases/{case_id}", headers=viet_hung).status_code == 200
    bo_de_sup = bearer("supervisor", BO_DE, "bd-sup")

    entries = client.get("/v1/audit/access", params={"limit": 1000}, headers=bo_de_sup)
    by_case = client.get("/v1/audit/access", params={"case_id": case_id}, headers=bo_de_sup)
    by_actor = client.get(
        "/v1/audit/access", params={"actor": "vh-actor", "limit": 1000}, headers=bo_de_sup
    )

    assert entries.status_code == 200
    assert "vh-actor" not in {e["actor_id"] for e in entries.json()["entries"]}
    assert by_case.status_code == 403
    assert by_actor.json()["entries"] == []


def test_a_case_sent_to_a_provincial_court_is_not_reachable_from_the_provinces_communes(
    client: TestClient,
) -> None:
    """The contrast to W1: a province code does not reach down to its communes (a province
    stands for itself on today's map), so a court of ``01`` gives no commune the case."""
    case_id = open_case(client, VIET_HUNG_2024, "2021-03-02")
    send_to_court(client, case_id, "01")

    police = bearer("commune_police", TU_LIEM, "tl-police")
    assert client.get(f"/v1/cases/{case_id}", headers=police).status_code == 403
    clerk = bearer("court_clerk", "01", "hn-clerk")
    assert client.get(f"/v1/cases/{case_id}", headers=clerk).status_code == 200
