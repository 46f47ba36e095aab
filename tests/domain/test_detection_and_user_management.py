"""Detection, management of a drug user, and addiction determination."""

from __future__ import annotations

import pytest
from builders import open_case, walk


def test_detection_testing_and_determination_leave_a_case_at_intake():
    case = open_case()

    walk(
        case,
        "DrugUseDetected",
        "DrugTestRecorded",
        "ResidenceVerified",
        "AddictionDeterminationRequested",
        "AddictionDetermined",
    )

    assert case.state.stage == "intake"
    assert [e.type for e in case.entries[1:]] == [
        "DrugUseDetected",
        "DrugTestRecorded",
        "ResidenceVerified",
        "AddictionDeterminationRequested",
        "AddictionDetermined",
    ]


def test_a_user_management_decision_puts_the_case_under_user_management():
    case = open_case()

    walk(case, "DrugUseDetected", "DrugTestRecorded", "UserManagementDecided")

    assert case.state.stage == "user_management"


def test_a_renewed_user_management_keeps_the_case_under_user_management():
    case = open_case()
    walk(case, "UserManagementDecided")

    walk(case, ("UserManagementDecided", {"renewal": True}), start=2)

    assert case.state.stage == "user_management"


@pytest.mark.parametrize("reason", ["addicted", "education_measure", "missing"])
def test_stopped_user_management_leaves_no_active_measure(reason):
    case = open_case()
    walk(case, "UserManagementDecided")

    walk(case, ("UserManagementStopped", {"reason": reason}), start=2)

    assert case.state.stage == "no_active_measure"


def test_ended_user_management_leaves_no_active_measure():
    case = open_case()
    walk(case, "UserManagementDecided")

    walk(case, "UserManagementEnded", start=2)

    assert case.state.stage == "no_active_measure"


def test_determination_during_user_management_does_not_end_it():
    case = open_case()
    walk(case, "UserManagementDecided")

    walk(case, "AddictionDeterminationRequested", "AddictionDetermined", start=2)

    assert case.state.stage == "user_management"
