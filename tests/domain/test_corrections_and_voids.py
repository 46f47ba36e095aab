"""Corrections change what the record shows while the history keeps what was entered; voids make
an entry count for nothing, and voiding a void restores it."""

from __future__ import annotations

import pytest
from builders import (
    DOCUMENT,
    DOSSIER_ID,
    PERSON,
    REFERRAL_ID,
    case_ready_for,
    day,
    open_case,
    payload,
    record,
    refused,
    walk,
)

from domain.errors import RepeatedOnceOnlyEvent, UnresolvedReference
from domain.state import effective_entries


def correct(case, entry, changes, reason="entered wrongly", **kwargs):
    data = {"corrects_event_id": entry.event_id, "changes": changes, "reason": reason}
    return record(case, "EntryCorrected", data, **kwargs)


def void(case, entry, reason="entered in error"):
    return record(case, "EntryVoided", {"voids_event_id": entry.event_id, "reason": reason})


# --- corrections ------------------------------------------------------------------------------


def test_correcting_the_address_changes_the_person_but_not_the_opening_entry():
    case = open_case()
    opening = case.entries[0]

    correct(case, opening, {"person.address": "14 Hàng Bạc, Hoàn Kiếm"})

    assert case.state.person == {**PERSON, "address": "14 Hàng Bạc, Hoàn Kiếm"}
    assert case.entries[0] is opening
    assert case.entries[0].data["person"]["address"] == PERSON["address"]


def test_a_correction_is_listed_among_the_corrections_applied():
    case = open_case()
    opening = case.entries[0]

    correction = correct(
        case, opening, {"person.address": "14 Hàng Bạc", "person.full_name": "Nguyễn Văn Ân"}
    )

    assert case.state.corrections == [
        {
            "event_id": correction.event_id,
            "corrects_event_id": opening.event_id,
            "fields": ["person.address", "person.full_name"],
        }
    ]


def test_the_corrected_entry_reads_as_corrected_and_names_its_correction():
    case = open_case()
    closing = record(case, "CaseClosed", occurred_at=day(3))

    correction = correct(case, closing, {"reason": "moved_away", "document": DOCUMENT})

    [as_corrected] = [e for e in effective_entries(case.entries) if e.event_id == closing.event_id]
    assert as_corrected.data["reason"] == "moved_away"
    assert as_corrected.document == DOCUMENT
    assert as_corrected.corrected_by == (correction.event_id,)
    assert case.state.closure["reason"] == "moved_away"


def test_corrected_values_are_stored_normalised():
    case = open_case()

    correction = correct(case, case.entries[0], {"person.full_name": "  Nguyễn Văn Ân  "})

    assert correction.data["changes"] == {"person.full_name": "Nguyễn Văn Ân"}


def test_the_latest_correction_of_a_field_wins():
    case = open_case()
    correct(case, case.entries[0], {"person.residence_unit": "01.004.00130"})

    correct(case, case.entries[0], {"person.residence_unit": "01.004.00133"})

    assert case.state.person["residence_unit"] == "01.004.00133"


def test_correcting_when_something_happened_reorders_the_stage_walk():
    case = open_case()
    record(case, "UserManagementDecided", occurred_at=day(10))
    dossier = record(case, "DossierOpened", occurred_at=day(5))
    assert case.state.stage == "user_management"

    correct(case, dossier, {"occurred_at": day(20).isoformat()})

    assert case.state.stage == "compulsory_dossier"
    assert case.state.open_dossier.opened_at == day(20)
    assert dossier.occurred_at == day(5)


def test_correcting_a_dossier_route_is_shown_on_the_dossier():
    case = walk(open_case(), "DossierOpened")

    correct(case, case.entries[-1], {"route": "minor"})

    assert case.state.open_dossier.route == "minor"


@pytest.mark.parametrize("correctable", ["EntryVoided", "EntryCorrected"])
def test_the_reason_given_for_a_void_or_correction_can_itself_be_corrected(correctable):
    case = case_ready_for(correctable)
    earlier = record(case, correctable)

    correct(case, earlier, {"reason": "duplicate of the 3 March visit"})

    assert case.entries[-1].type == "EntryCorrected"
    assert case.state.corrections[-1]["corrects_event_id"] == earlier.event_id


# --- voids ------------------------------------------------------------------------------------


def test_a_voided_referral_is_no_longer_open():
    case = open_case()
    referral = record(case, "ReferralMade")

    void(case, referral)

    assert case.state.open_referrals == []
    assert REFERRAL_ID not in case.state.referrals
    assert referral.event_id in case.state.voided


def test_voiding_the_void_restores_the_referral():
    case = open_case()
    referral = record(case, "ReferralMade")
    first_void = void(case, referral)

    void(case, first_void, reason="the referral was real")

    assert [r.referral_id for r in case.state.open_referrals] == [REFERRAL_ID]
    assert referral.event_id not in case.state.voided


def test_voiding_the_void_of_a_void_voids_the_referral_again():
    case = open_case()
    referral = record(case, "ReferralMade")
    first_void = void(case, referral)
    second_void = void(case, first_void)

    void(case, second_void)

    assert case.state.open_referrals == []


def test_a_voided_entry_stays_in_the_history():
    case = open_case()
    referral = record(case, "ReferralMade")

    void(case, referral)

    assert [e.type for e in case.entries] == ["CaseOpened", "ReferralMade", "EntryVoided"]


def test_a_voided_referral_cannot_be_acted_on():
    case = open_case()
    void(case, record(case, "ReferralMade"))

    with refused(case, UnresolvedReference):
        record(case, "ReferralAccepted")


def test_a_voided_referral_id_can_be_used_for_a_new_referral():
    case = open_case()
    void(case, record(case, "ReferralMade"))

    record(case, "ReferralMade", payload("ReferralMade", service="detox"))

    assert case.state.referrals[REFERRAL_ID].service == "detox"


def test_voiding_a_decline_reopens_the_referral():
    case = walk(open_case(), "ReferralMade", "ReferralDeclined")

    void(case, case.entries[-1])

    assert case.state.referrals[REFERRAL_ID].status == "made"
    record(case, "ReferralAccepted")


def test_a_voided_dossier_is_gone_and_its_events_no_longer_resolve():
    case = open_case()
    void(case, record(case, "DossierOpened"))

    with refused(case, UnresolvedReference):
        record(case, "DossierServed")

    assert case.state.open_dossier is None
    assert case.state.stage == "intake"


def test_a_voided_one_time_event_can_be_recorded_again():
    case = walk(open_case(), "DossierOpened", "DossierSentToCourt", "CourtAccepted")
    void(case, case.entries[-1])

    record(case, "CourtAccepted", payload("CourtAccepted", court_case_no="46/2024/TLST"))

    assert case.state.dossiers[DOSSIER_ID].court_case_no == "46/2024/TLST"


def test_a_one_time_event_is_refused_again_once_its_void_is_voided():
    case = walk(open_case(), "DossierOpened", "CourtAccepted")
    first_void = void(case, case.entries[-1])
    void(case, first_void)

    with refused(case, RepeatedOnceOnlyEvent):
        record(case, "CourtAccepted")


def test_voiding_a_correction_undoes_it():
    case = open_case()
    correction = correct(case, case.entries[0], {"person.address": "14 Hàng Bạc"})

    void(case, correction)

    assert case.state.person == PERSON
    assert case.state.corrections == []


def test_voiding_the_closure_reopens_the_case():
    case = open_case()
    closing = record(case, "CaseClosed")

    void(case, closing)

    assert case.state.closed is False
    assert case.state.stage == "intake"


def test_a_voided_stage_change_no_longer_counts():
    case = walk(open_case(), "UserManagementDecided", "DossierOpened")

    void(case, case.entries[-1])

    assert case.state.stage == "user_management"
