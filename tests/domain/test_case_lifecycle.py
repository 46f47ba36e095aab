"""Case lifecycle: opening, the person, assignment, transfer, notes, closure and reopening."""

from __future__ import annotations

from builders import COMMUNE, OTHER_COMMUNE, PERSON, day, open_case, payload, record


def test_a_new_case_is_at_intake_with_its_person_and_managing_unit():
    case = open_case()

    assert case.state.stage == "intake"
    assert case.state.person == PERSON
    assert case.state.managing_unit == COMMUNE
    assert case.state.assignee is None
    assert case.state.closed is False


def test_updating_person_details_changes_only_the_fields_named():
    case = open_case()

    record(case, "PersonDetailsUpdated", {"address": "7 Hàng Đào", "reason": "moved house"})

    assert case.state.person == {**PERSON, "address": "7 Hàng Đào"}


def test_assigning_a_case_names_its_assignee():
    case = open_case()

    record(case, "CaseAssigned", {"assignee_id": "sw-9", "assignee_role": "social_worker"})

    assert case.state.assignee == {"id": "sw-9", "role": "social_worker"}


def test_a_later_assignment_replaces_the_earlier_one():
    case = open_case()
    record(case, "CaseAssigned", {"assignee_id": "sw-9", "assignee_role": "social_worker"})

    record(case, "CaseAssigned", {"assignee_id": "vol-2", "assignee_role": "volunteer"})

    assert case.state.assignee == {"id": "vol-2", "role": "volunteer"}


def test_a_transferred_case_is_managed_by_the_receiving_unit():
    case = open_case()

    record(
        case,
        "CaseTransferred",
        {"from_unit": COMMUNE, "to_unit": OTHER_COMMUNE, "reason": "moved to another ward"},
    )

    assert case.state.managing_unit == OTHER_COMMUNE


def test_a_note_changes_nothing_a_supervisor_tracks():
    case = open_case()
    before = case.state

    record(case, "NoteAdded", {"text": "Restricted detail", "sensitivity": "restricted"})

    after = case.state
    assert (after.stage, after.person, after.managing_unit) == (
        before.stage,
        before.person,
        before.managing_unit,
    )
    assert case.entries[-1].data == {"text": "Restricted detail", "sensitivity": "restricted"}


def test_a_note_is_normal_unless_marked_restricted():
    case = open_case()

    entry = record(case, "NoteAdded", {"text": "Called the family."})

    assert entry.data["sensitivity"] == "normal"


def test_a_closed_case_shows_stage_closed_and_why():
    case = open_case()

    closing = record(case, "CaseClosed", payload("CaseClosed", reason="moved_away"))

    assert case.state.closed is True
    assert case.state.stage == "closed"
    assert case.state.closure == {"reason": "moved_away", "event_id": closing.event_id}


def test_a_reopened_case_returns_to_the_stage_it_had_before_closure():
    case = open_case()
    record(case, "UserManagementDecided", occurred_at=day(1))
    record(case, "CaseClosed", occurred_at=day(2))

    record(case, "CaseReopened", occurred_at=day(3))

    assert case.state.closed is False
    assert case.state.closure is None
    assert case.state.stage == "user_management"


def test_a_case_can_be_closed_again_after_reopening():
    case = open_case()
    record(case, "CaseClosed", occurred_at=day(1))
    record(case, "CaseReopened", occurred_at=day(2))

    record(case, "CaseClosed", payload("CaseClosed", reason="deceased"), occurred_at=day(3))

    assert case.state.stage == "closed"
    assert case.state.closure["reason"] == "deceased"
