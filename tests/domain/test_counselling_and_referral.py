"""Counselling, consent and referrals to services."""

from __future__ import annotations

from builders import REFERRAL_ID, day, open_case, payload, record, walk


def test_counselling_visits_and_consent_do_not_move_the_stage():
    case = open_case()
    walk(case, "UserManagementDecided")

    walk(
        case,
        "CounsellingSessionHeld",
        "SelfHelpGroupAttended",
        "HomeVisitMade",
        "ConsentRecorded",
        "ConsentWithdrawn",
        start=2,
    )

    assert case.state.stage == "user_management"
    assert case.version == 7


def test_a_referral_made_is_open_and_awaits_the_provider():
    case = open_case()

    record(case, "ReferralMade", occurred_at=day(2))

    [referral] = case.state.open_referrals
    assert referral.referral_id == REFERRAL_ID
    assert (referral.service, referral.status) == ("ost", "made")
    assert referral.made_at == day(2)


def test_an_accepted_referral_stays_open():
    case = open_case()
    walk(case, "ReferralMade")

    walk(case, "ReferralAccepted", start=2)

    [referral] = case.state.open_referrals
    assert referral.status == "accepted"


def test_a_declined_referral_is_no_longer_open():
    case = open_case()
    walk(case, "ReferralMade")

    walk(case, "ReferralDeclined", start=2)

    assert case.state.open_referrals == []
    assert case.state.referrals[REFERRAL_ID].status == "declined"


def test_a_completed_referral_is_no_longer_open():
    case = open_case()
    walk(case, "ReferralMade", "ReferralAccepted")

    walk(case, "ReferralCompleted", start=3)

    assert case.state.open_referrals == []
    assert case.state.referrals[REFERRAL_ID].status == "completed"


def test_referrals_are_tracked_one_by_one():
    case = open_case()
    record(case, "ReferralMade")
    record(case, "ReferralMade", payload("ReferralMade", referral_id="REF-2", service="loan"))

    record(case, "ReferralDeclined", payload("ReferralDeclined", referral_id="REF-2"))

    assert [r.referral_id for r in case.state.open_referrals] == [REFERRAL_ID]
