"""The scripted plans of the first people, which between them reach every branch, so that every
event type of the catalogue is recorded whatever the seed."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from infra.demo.course import Plan
from infra.demo.people import birth_for, random_plan
from infra.demo.world import VN, World

# Scripted plans for the first people: between them every branch, so every event type, is reached
# whatever the seed. Each fixes the start, age, entry and the decisions that matter.
SHOWCASE: tuple[dict[str, Any], ...] = (
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


def showcase_plan(rng: random.Random, world: World, script: Mapping[str, Any]) -> Plan:
    plan = random_plan(rng, world)
    start = datetime.fromisoformat(script["start"]).replace(tzinfo=VN)
    fixed = {"moved_away": False, "died": False, **script.get("fixed", {})}
    if "substance" in script:
        fixed["substance"] = script["substance"]
    plan.start, plan.source, plan.fixed, plan.duplicate = start, script["source"], fixed, False
    plan.birth = birth_for(rng, start.date(), script["age"])
    plan.sex = "male"
    return plan
