"""The people of the demo: a random plan for each person, their identity, and the case(s) built
for them in memory (the main course and, now and then, a duplicate opened by another commune),
ready for ``generate`` to save."""

from __future__ import annotations

import contextlib
import random
import uuid
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from infra.demo.course import Course, EndOfTime, Plan
from infra.demo.phases import live
from infra.demo.phases.support import note
from infra.demo.world import FIRST_START, LAST_START, VN, World, address, full_name, national_id

# --- people and plans -------------------------------------------------------------------------


def random_plan(rng: random.Random, world: World) -> Plan:
    day = FIRST_START + timedelta(days=rng.randint(0, (LAST_START - FIRST_START).days))
    hour = rng.choices((9, 14, 19, 21, 23, 1), (15, 15, 20, 25, 15, 10))[0]
    start = datetime.combine(day, clock_time(hour, rng.randint(0, 59)), VN)
    group = rng.choices(("minor", "young", "adult", "older"), (6, 50, 36, 8))[0]
    age = {"minor": (12, 17), "young": (18, 30), "adult": (31, 45), "older": (46, 60)}[group]
    source = rng.choices(
        ("detection", "family", "self_registration", "facility_release", "transfer_in", "other"),
        (68, 8, 13, 4, 4, 3),
    )[0]
    return Plan(
        start=start,
        birth=birth_for(rng, day, rng.randint(*age)),
        sex="male" if rng.random() < 0.95 else "female",
        commune=rng.choices(world.communes, world.weights)[0],
        source=source,
        duplicate=rng.random() < 0.01,
    )


def birth_for(rng: random.Random, on: date, age: int) -> date:
    return on - timedelta(days=365 * age + rng.randint(10, 355) + age // 4)


# --- one person ---------------------------------------------------------------------------------


def person_of(rng: random.Random, plan: Plan) -> dict[str, Any]:
    nid: str | None = national_id(rng, plan.birth, plan.sex)
    if plan.start.year - plan.birth.year < 16 or rng.random() < 0.08:
        nid = None
    elif plan.start.year < 2021 and rng.random() < 0.3:
        nid = f"01{rng.randint(0, 9999999):07d}"  # the old 9-digit identity card
    person: dict[str, Any] = {
        "full_name": full_name(rng, plan.sex),
        "date_of_birth": plan.birth,
        "sex": plan.sex,
        "residence_unit": plan.commune.code,
        "address": address(rng, plan.commune),
    }
    if nid:
        person["national_id"] = nid
    if plan.name:
        person["full_name"] = plan.name
    return person


def live_person(world: World, rng: random.Random, plan: Plan) -> list[Course]:
    """Build the person's case(s) in memory, through the aggregate; return them unsaved."""
    main = Course(world, rng, plan, uuid.UUID(int=rng.getrandbits(128), version=4))
    main.person = person_of(rng, plan)
    main.stable = main.chance("stable_residence", 0.9)
    courses = [main]
    with contextlib.suppress(EndOfTime):
        live(main)
    main.finish()
    if plan.duplicate:
        courses.append(duplicate_case(world, rng, plan, main))
    return courses


def duplicate_case(world: World, rng: random.Random, plan: Plan, main: Course) -> Course:
    """Another commune opened a case for the same person; it is closed as a duplicate."""
    other = rng.choice([x for x in world.communes if x.code != plan.commune.code])
    dup_plan = Plan(
        start=plan.start + timedelta(days=rng.randint(2, 40)),
        birth=plan.birth,
        sex=plan.sex,
        commune=other,
        source="detection",
        fixed={"correct_address": False},
    )
    dup = Course(world, rng, dup_plan, uuid.UUID(int=rng.getrandbits(128), version=4))
    dup.person = dict(main.person, residence_unit=plan.commune.code)
    try:
        dup.record(
            "CaseOpened",
            {"person": dup.person, "source": "detection", "managing_unit": other.code},
            dup.actor("commune_police"),
            body=dup.body("commune_police"),
        )
        dup.wait_days(3, 30)
        note(dup, "normal", "Đối chiếu dữ liệu dân cư: đối tượng đã có hồ sơ tại nơi cư trú.")
        dup.wait_wd(1, 5)
        dup.record(
            "CaseClosed",
            {"reason": "duplicate", "note": f"Trùng với hồ sơ {main.case_id}"},
            dup.actor("commune_officer"),
            body=dup.body("commune_committee"),
        )
    except EndOfTime:
        pass
    dup.finish()
    return dup
