"""Voluntary treatment (family, community, facility) and opioid substitution (OST)."""

from __future__ import annotations

import pytest
from builders import open_case, walk


@pytest.mark.parametrize("setting", ["family", "community", "facility"])
def test_registering_for_voluntary_treatment_starts_voluntary_treatment(setting):
    case = open_case()

    walk(case, ("VoluntaryTreatmentRegistered", {"setting": setting}))

    assert case.state.stage == "voluntary_treatment"


def test_registering_for_ost_puts_the_case_in_ost():
    case = open_case()

    walk(case, ("VoluntaryTreatmentRegistered", {"setting": "ost"}))

    assert case.state.stage == "ost"


def test_a_decided_and_started_treatment_is_voluntary_treatment():
    case = open_case()

    walk(case, "VoluntaryTreatmentRegistered", "VoluntaryTreatmentDecided", "TreatmentStarted")

    assert case.state.stage == "voluntary_treatment"


def test_starting_ost_after_community_treatment_puts_the_case_in_ost():
    case = open_case()
    walk(case, "VoluntaryTreatmentRegistered")

    walk(case, ("TreatmentStarted", {"setting": "ost", "provider": "MMT clinic"}), start=2)

    assert case.state.stage == "ost"


def test_a_violation_during_treatment_does_not_end_it():
    case = open_case()
    walk(case, "VoluntaryTreatmentRegistered", "TreatmentStarted")

    walk(case, "ViolationRecorded", start=3)

    assert case.state.stage == "voluntary_treatment"


@pytest.mark.parametrize("kind", ["not_performed", "quit", "expelled"])
def test_quitting_treatment_leaves_no_active_measure(kind):
    case = open_case()
    walk(case, ("TreatmentStarted", {"setting": "ost", "provider": "MMT clinic"}))

    walk(case, ("TreatmentQuit", {"kind": kind}), start=2)

    assert case.state.stage == "no_active_measure"


def test_completed_treatment_leaves_no_active_measure():
    case = open_case()
    walk(case, "VoluntaryTreatmentRegistered", "TreatmentStarted")

    walk(case, "TreatmentCompleted", start=3)

    assert case.state.stage == "no_active_measure"


def test_voluntary_admission_to_a_facility_is_voluntary_treatment():
    case = open_case()

    walk(case, ("AdmittedToFacility", {"admission_kind": "voluntary"}))

    assert case.state.stage == "voluntary_treatment"
