"""An unknown type or an invalid payload or envelope is refused, naming the bad field."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import pytest
from builders import ACTOR, NOW, PERSON, day, payload

from domain.case import Case, NewEvent
from domain.errors import InvalidEvent


def refusal_of(event_type, data, occurred_at=None, **envelope):
    with pytest.raises(InvalidEvent) as refusal:
        NewEvent.parse(event_type, occurred_at or day(1), data, **envelope)
    return refusal.value


def test_an_unknown_type_is_refused():
    error = refusal_of("DrugUseSuspected", {})

    assert error.errors[0].loc == ("type",)


def test_a_missing_required_field_is_refused():
    data = payload("DrugTestRecorded")
    del data["sample"]

    error = refusal_of("DrugTestRecorded", data)

    assert error.errors[0].loc == ("data", "sample")
    assert error.field == "data.sample"


def test_a_value_outside_the_allowed_list_is_refused():
    error = refusal_of("DrugTestRecorded", payload("DrugTestRecorded", sample="saliva"))

    assert error.errors[0].loc == ("data", "sample")


def test_an_invalid_org_unit_code_is_refused():
    error = refusal_of("CaseOpened", payload("CaseOpened", managing_unit="Hoàn Kiếm"))

    assert error.errors[0].loc == ("data", "managing_unit")


def test_an_invalid_org_unit_code_inside_the_person_is_refused():
    person = {**PERSON, "residence_unit": "1.4.127"}

    error = refusal_of("CaseOpened", payload("CaseOpened", person=person))

    assert error.errors[0].loc == ("data", "person", "residence_unit")


def test_an_occurred_at_without_timezone_is_refused():
    error = refusal_of("NoteAdded", payload("NoteAdded"), occurred_at=datetime(2024, 6, 1, 9, 0))

    assert error.errors[0].loc == ("occurred_at",)


def test_a_naive_instant_inside_the_payload_is_refused():
    data = payload("AddictionDeterminationRequested", handed_over_at="2024-02-10T08:00:00")

    error = refusal_of("AddictionDeterminationRequested", data)

    assert error.errors[0].loc == ("data", "handed_over_at")


def test_an_invalid_acting_body_is_refused():
    error = refusal_of(
        "CourtAccepted",
        payload("CourtAccepted"),
        acting_body={"kind": "district_court", "unit": "district 4"},
    )

    assert error.errors[0].loc == ("acting_body", "unit")


def test_a_document_without_a_number_is_refused():
    error = refusal_of("CourtAccepted", payload("CourtAccepted"), document={"form_no": "02"})

    assert error.errors[0].loc == ("document", "number")


def test_a_number_out_of_range_is_refused():
    error = refusal_of(
        "CounsellingSessionHeld", payload("CounsellingSessionHeld", duration_minutes=0)
    )

    assert error.errors[0].loc == ("data", "duration_minutes")


def test_a_person_update_that_changes_nothing_is_refused():
    error = refusal_of("PersonDetailsUpdated", {"reason": "checked"})

    assert error.errors[0].loc[0] == "data"


def test_a_case_cannot_open_with_another_type():
    note = NewEvent.parse("NoteAdded", day(0), payload("NoteAdded"))

    with pytest.raises(InvalidEvent) as refusal:
        Case.open(uuid4(), note, ACTOR, NOW)

    assert refusal.value.errors[0].loc == ("type",)
