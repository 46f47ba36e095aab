"""The scripted plans of the first people, which between them reach every branch, so that every
event type of the catalogue is recorded whatever the seed: people whose courses run in 2019-2024,
then named people whose stories cross the reforms of 2025 and 2026 and run to November 2026."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from infra.demo.course import Plan
from infra.demo.people import birth_for, random_plan
from infra.demo.phases import reforms
from infra.demo.phases.support import EXTRAS
from infra.demo.world import HORIZON, REFORMS_HORIZON, TWO_TIERS, VN, World

# Scripted plans for the first people: between them every branch, so every event type, is reached
# whatever the seed. Each fixes the start, age, entry and the decisions that matter.
UP_TO_2024: tuple[dict[str, Any], ...] = (
    # before 2022: community rehab quit, commune education, Justice-office check found invalid,
    # PL 09/2014 court with a postponed session and an appeal, absconding from the facility,
    # a term reduction, post-rehab with an absence, a corrected detection date
    dict(
        start="2019-02-18T21:10",
        age=27,
        source="detection",
        fixed=dict(
            stable_residence=True,
            conclusion="addicted",
            pre22_route="voluntary",
            ost_if_opioid=False,
            setting="community",
            not_performed=False,
            treatment_outcome="quit",
            education_outcome="still_using",
            legality_invalid=True,
            session_postponed=True,
            court_outcome="apply",
            appeal=True,
            appeal_kind="complaint",
            appeal_outcome="modified",
            execution_deferred=False,
            abscond_before_admission=False,
            abscond_from_facility=True,
            term_adjusted=True,
            term_adjustment="reduction",
            relapse_in_post_rehab=False,
            absence=True,
            correct_occurred_at=True,
            update_details=True,
            moved_away=False,
            died=False,
        ),
    ),
    # 2022+: user management that ends after a year; a transfer, a voided entry, a consent
    # withdrawn, a corrected document number
    dict(
        start="2022-03-07T20:30",
        age=23,
        source="detection",
        fixed=dict(
            stable_residence=True,
            um_outcome="ended",
            transfer=True,
            void=True,
            withdraw_consent=True,
            correct_document=True,
            correct_duration=True,
            refer=True,
            referral_answer="declined_provider",
            void_referral=True,
        ),
    ),
    # 2022+: user management, caught again, addicted, methadone, quits, compulsory with interim
    # management at a facility, both returns for supplement, PL 03/2022, deferral, absconding
    # before admission, then release and a relapse during post-rehab
    dict(
        start="2022-01-10T22:00",
        age=34,
        source="detection",
        substance="heroin",
        fixed=dict(
            stable_residence=True,
            um_outcome="addicted",
            conclusion="addicted",
            registration="on_time",
            ost_if_opioid=True,
            ost_outcome="quit",
            interim_form="facility",
            abscond_interim=True,
            labour_office_returns=True,
            court_returns=True,
            court_outcome="apply",
            appeal=False,
            execution_deferred=True,
            deferral_kind="postponed",
            abscond_before_admission=True,
            abscond_from_facility=False,
            term_adjusted=False,
            relapse_in_post_rehab=True,
            moved_away=False,
            died=False,
            dossier_late=False,
            late_to_labour_office=False,
        ),
    ),
    # a minor (PL 01/2022) who did not register
    dict(
        start="2022-05-16T16:00",
        age=15,
        source="detection",
        fixed=dict(
            stable_residence=True,
            um_outcome="addicted",
            conclusion="addicted",
            registration="none",
            interim_form="family",
            court_outcome="apply",
            appeal=False,
            execution_deferred=False,
            abscond_before_admission=False,
            abscond_from_facility=False,
            term_adjusted=True,
            term_adjustment="temporary_removal",
            relapse_in_post_rehab=False,
            moved_away=False,
            died=False,
        ),
    ),
    # before 2022: voluntary at a facility, post-rehab, closed, reopened after a relapse
    dict(
        start="2019-04-02T09:30",
        age=31,
        source="self_registration",
        fixed=dict(
            conclusion="addicted",
            pre22_route="voluntary",
            ost_if_opioid=False,
            setting="facility",
            facility_quit=False,
            relapse_in_post_rehab=False,
            relapse_after_closure=True,
            registration="on_time",
            moved_away=False,
            died=False,
            absence=False,
        ),
    ),
    # user management stopped (imprisoned)
    dict(
        start="2023-03-01T23:15",
        age=29,
        source="detection",
        fixed=dict(stable_residence=True, um_outcome="stopped", um_stop_reason="imprisoned"),
    ),
    # a dossier that straddles 2022: opened late 2021, finished under the new law
    dict(
        start="2021-06-14T20:00",
        age=38,
        source="detection",
        fixed=dict(
            stable_residence=False,
            conclusion="addicted",
            court_outcome="apply",
            dossier_late=False,
            appeal=False,
            execution_deferred=False,
            abscond_before_admission=False,
            moved_away=False,
            died=False,
        ),
    ),
    # 2022+: a volunteer at family rehab who completes it, post-rehab, completion
    dict(
        start="2022-09-05T10:00",
        age=26,
        source="self_registration",
        fixed=dict(
            conclusion="addicted",
            registration="on_time",
            ost_if_opioid=False,
            setting="family",
            not_performed=False,
            treatment_outcome="completed",
            relapse_in_post_rehab=False,
            absence=True,
            moved_away=False,
            died=False,
        ),
    ),
    # a court that does not apply the measure; a protest that is upheld
    dict(
        start="2022-02-21T21:40",
        age=41,
        source="detection",
        fixed=dict(
            stable_residence=False,
            conclusion="addicted",
            registration="none",
            court_outcome="not_apply",
            setting="community",
            treatment_outcome="completed",
            moved_away=False,
            died=False,
        ),
    ),
    dict(
        start="2023-04-03T20:10",
        age=22,
        source="detection",
        fixed=dict(
            stable_residence=False,
            conclusion="addicted",
            registration="none",
            interim_form="social_reception_centre",
            court_outcome="apply",
            appeal=True,
            appeal_kind="protest",
            appeal_outcome="upheld",
            execution_deferred=True,
            deferral_kind="exempted",
            moved_away=False,
            died=False,
        ),
    ),
    # released from a facility elsewhere; transfer in; observation first
    dict(
        start="2020-08-10T09:00",
        age=33,
        source="facility_release",
        fixed=dict(relapse_in_post_rehab=False, absence=True),
    ),
    dict(
        start="2022-06-01T09:00",
        age=36,
        source="transfer_in",
        fixed=dict(
            um_outcome="addicted",
            conclusion="observation",
            registration="on_time",
            setting="community",
            treatment_outcome="used",
            interim_form="family",
            court_outcome="apply",
            term_adjusted=True,
            term_adjustment="suspension",
        ),
    ),
)


# Nothing happens to them by chance that would blur their story: no extras, no corrections.
QUIET: dict[str, Any] = {
    **{name: False for name, _ in EXTRAS},
    "correct_address": False,
    "correct_occurred_at": False,
    "correct_test_substances": False,
    "correct_document": False,
    "correct_court_case_no": False,
    "residence_unchecked": False,
    "residence_late": False,
    "determination_late": False,
    "um_decision_late": False,
    "post_rehab_decision_late": False,
    "relapse_in_post_rehab": False,
    "note_after_closure": False,
    "relapse_after_closure": False,
}

# Named people whose courses cross the reforms of 2025 and 2026 (``infra.demo.phases.reforms``
# tells each story): ``commune`` is a commune of the demo's old list, ``commune_after_reform``
# the part of a divided one that the person's home went into on 1 Jul 2025 (the demo's pick:
# the registry only says "part"). Their names are fixed so that a user can look them up, with
# given names the generator never draws: no one else in the demo bears them.
ACROSS_THE_REFORMS: tuple[dict[str, Any], ...] = (
    # 2024 -> 2025: phường Ngọc Lâm went whole into phường Bồ Đề; transferred to phường Ba Đình
    dict(
        horizon=REFORMS_HORIZON,
        name="Lê Văn Quý",
        start="2024-10-14T22:10",
        age=28,
        source="detection",
        commune="01.004.00133",
        course=reforms.transferred_across_the_merger,
        fixed=dict(QUIET, stable_residence=True),
    ),
    # 2026: the commune police compile the dossier and send it straight to the regional court,
    # on time at every step
    dict(
        horizon=REFORMS_HORIZON,
        name="Phạm Đức Thuận",
        start="2026-03-09T21:30",
        age=32,
        source="detection",
        commune="01.001.00001",  # phường Phúc Xá, now (whole) phường Hồng Hà
        fixed=dict(
            QUIET,
            stable_residence=False,
            conclusion="addicted",
            registration="none",
            dossier_late=False,
            interim_form="facility",
            abscond_interim=False,
            dossier_not_served=False,
            late_to_court=False,
            court_returns=False,
            session_postponed=False,
            court_outcome="apply",
            appeal=False,
            execution_deferred=False,
            abscond_before_admission=False,
            escort_late=False,
            abscond_from_facility=False,
            term_adjusted=False,
        ),
    ),
    # a dossier opened in May 2025 by the commune police, heard by the regional court in July
    dict(
        horizon=REFORMS_HORIZON,
        name="Nguyễn Minh Trí",
        start="2025-04-21T22:40",
        age=35,
        source="detection",
        commune="01.001.00007",  # phường Cống Vị, divided: the demo puts him in Giảng Võ
        commune_after_reform="01.00025",
        course=reforms.dossier_across_the_reform,
        fixed=dict(
            QUIET,
            stable_residence=False,
            interim_form="facility",
            abscond_interim=False,
            late_to_court=False,
            court_returns=False,
            session_postponed=False,
            court_outcome="apply",
            appeal=False,
            execution_deferred=False,
            abscond_before_admission=False,
            escort_late=False,
            abscond_from_facility=False,
            term_adjusted=False,
            no_pre_release_notice=False,
            no_return_report=False,
        ),
    ),
    # 2026 moves under Law 120/2025: reported within 24 hours ...
    dict(
        horizon=REFORMS_HORIZON,
        name="Hoàng Văn Lực",
        start="2026-03-02T21:40",
        age=25,
        source="detection",
        commune="01.004.00127",  # phường Việt Hưng, divided: the demo keeps him in Việt Hưng
        commune_after_reform="01.00127",
        course=reforms.moved_and_reported_in_time,
        fixed=dict(QUIET, stable_residence=True),
    ),
    # ... and beyond 24 hours
    dict(
        horizon=REFORMS_HORIZON,
        name="Đỗ Quang Vượng",
        start="2026-04-06T20:50",
        age=37,
        source="detection",
        commune="01.019.00592",  # phường Cầu Diễn, now (whole) phường Từ Liêm
        course=reforms.moved_and_reported_late,
        fixed=dict(QUIET, stable_residence=True),
    ),
    # electronic monitoring under post-rehab management, with a device incident
    dict(
        horizon=REFORMS_HORIZON,
        name="Bùi Thị Hạnh",
        sex="female",
        start="2026-01-12T09:00",
        age=30,
        source="facility_release",
        commune="01.019.00622",  # phường Xuân Phương, now (whole) phường Xuân Phương
        course=reforms.monitored_after_rehab,
        fixed=dict(QUIET),
    ),
    # a prison term suspends post-rehab management
    dict(
        horizon=REFORMS_HORIZON,
        name="Ngô Văn Khải",
        start="2025-05-12T09:00",
        age=33,
        source="facility_release",
        commune="01.004.00148",  # phường Thạch Bàn, divided: the demo puts him in Long Biên
        commune_after_reform="01.00145",
        course=reforms.imprisoned_during_post_rehab,
        fixed=dict(QUIET),
    ),
)
SHOWCASE: tuple[dict[str, Any], ...] = (*UP_TO_2024, *ACROSS_THE_REFORMS)


def showcase_plan(rng: random.Random, world: World, script: Mapping[str, Any]) -> Plan:
    plan = random_plan(rng, world)
    start = datetime.fromisoformat(script["start"]).replace(tzinfo=VN)
    fixed = {"moved_away": False, "died": False, **script.get("fixed", {})}
    if "substance" in script:
        fixed["substance"] = script["substance"]
    plan.start, plan.source, plan.fixed, plan.duplicate = start, script["source"], fixed, False
    plan.birth = birth_for(rng, start.date(), script["age"])
    plan.sex = script.get("sex", "male")
    plan.name = script.get("name")
    plan.horizon = script.get("horizon", HORIZON)
    plan.opening = script.get("course")
    if "commune" in script:
        plan.commune = world.commune(script["commune"])
        plan.commune_after_reform = script.get("commune_after_reform")
        if start >= TWO_TIERS:  # opened on the new map
            plan.commune = world.after_reform(plan.commune, plan.commune_after_reform)
    return plan
