"""Every type of the catalogue can be recorded, with its full envelope, and nothing more."""

from __future__ import annotations

import pytest
from builders import (
    ACTING_BODY,
    ACTING_BODY_OF,
    ACTOR,
    CLERK,
    DOCUMENT,
    LEGAL_BASIS,
    NOW,
    VALID_PAYLOADS,
    case_ready_for,
    day,
    new_event,
    open_case,
)

from domain.case import NewEvent
from domain.errors import InvalidEvent
from domain.events import CATALOGUE

RECORDABLE_TYPES = sorted(name for name in CATALOGUE if name != "CaseOpened")


def test_valid_payloads_cover_every_catalogue_type():
    assert set(VALID_PAYLOADS) == set(CATALOGUE)


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_the_valid_payload_of_each_type_passes_validation(event_type):
    new = NewEvent.parse(
        event_type, day(1), VALID_PAYLOADS[event_type], acting_body=ACTING_BODY_OF.get(event_type)
    )

    assert new.type == event_type


def test_opening_a_case_records_the_opening_entry_with_its_envelope():
    case = open_case(
        occurred_at=day(0),
        acting_body={"kind": "commune_police", "unit": "01.004.00127"},
        document=DOCUMENT,
        legal_basis=LEGAL_BASIS,
        event_id="5f0c9a52-1d9e-4a57-b1a3-4c1f3d7e9b20",
    )

    [entry] = case.entries
    assert entry.event_id == "5f0c9a52-1d9e-4a57-b1a3-4c1f3d7e9b20"
    assert (entry.version, entry.type, entry.schema_version) == (1, "CaseOpened", 1)
    assert entry.case_id == str(case.id)
    assert entry.occurred_at == day(0)
    assert entry.recorded_at == NOW
    assert entry.actor == ACTOR.model_dump(mode="json")
    assert entry.acting_body == {"kind": "commune_police", "unit": "01.004.00127"}
    assert entry.document == DOCUMENT
    assert entry.legal_basis == LEGAL_BASIS
    assert case.version == 1
    assert len(case.pending_events) == 1


@pytest.mark.parametrize("event_type", RECORDABLE_TYPES)
def test_each_catalogue_type_is_recorded_with_its_envelope(event_type):
    case = case_ready_for(event_type)
    version_before = case.version
    recorded_at = NOW.replace(minute=30)
    new = new_event(
        event_type,
        occurred_at=day(30),
        acting_body=ACTING_BODY_OF.get(event_type, ACTING_BODY),
        document=DOCUMENT,
        legal_basis=LEGAL_BASIS,
    )

    case.record(new, CLERK, recorded_at, correlation_id="req-1", causation_id="cmd-1")

    entry = case.entries[-1]
    assert entry.event_id == new.event_id
    assert entry.type == event_type
    assert entry.version == version_before + 1 == case.version
    assert entry.schema_version == CATALOGUE[event_type].schema_version
    assert entry.occurred_at == day(30)
    assert entry.recorded_at == recorded_at
    assert entry.actor == {"id": "clerk-3", "role": "court_clerk", "unit": "01.004"}
    assert entry.acting_body == ACTING_BODY_OF.get(event_type, ACTING_BODY)
    assert entry.document == DOCUMENT
    assert entry.legal_basis == LEGAL_BASIS
    assert (entry.correlation_id, entry.causation_id) == ("req-1", "cmd-1")
    assert entry.data == new.data
    assert len(case.pending_events) == case.version


@pytest.mark.parametrize("event_type", [t for t in RECORDABLE_TYPES if t not in ACTING_BODY_OF])
def test_an_entry_without_acting_body_document_or_legal_basis_leaves_them_empty(event_type):
    case = case_ready_for(event_type)

    case.record(new_event(event_type), ACTOR, NOW)

    entry = case.entries[-1]
    assert (entry.acting_body, entry.document, entry.legal_basis) == (None, None, None)


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_a_payload_with_an_unknown_field_is_refused(event_type):
    data = {**VALID_PAYLOADS[event_type], "recorded_by_hand": True}

    with pytest.raises(InvalidEvent) as refusal:
        NewEvent.parse(event_type, day(1), data, acting_body=ACTING_BODY_OF.get(event_type))

    assert refusal.value.errors[0].loc == ("data", "recorded_by_hand")
