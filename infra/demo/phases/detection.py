"""What the police and the health workers record on the way to a decision -- detection, drug
tests, residence checks, the addiction determination; these return event ids and conclusions,
not the next phase, so every phase module can use them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.events import Actor
from infra.demo.course import Course
from infra.demo.world import POLICE_TAKEOVER, REGIME_22, SUBSTANCES

# --- detection, drug tests and residence ------------------------------------------------------


def detection(c: Course, at: datetime, again: bool = False) -> str:
    """Police detect use and test (the district police too, until they are abolished on
    1 Mar 2025); return the test's event id."""
    by_district = c.chance("district_police_detects", 0.15) and at < POLICE_TAKEOVER
    unit = c.area_code if by_district else c.commune.code
    police = c.actor("district_police" if by_district else "commune_police", unit)
    ground = (
        "a"
        if again
        else c.choose("detection_ground", tuple("abcdefghi"), (50, 15, 8, 6, 5, 5, 4, 4, 3))
    )
    detained = c.chance("detained", 0.25)
    data: dict[str, Any] = {
        "ground": ground,
        "place": c.place(),
        "detecting_unit": unit,
        "administratively_detained": detained,
    }
    if detained:
        data["detention_decision_no"] = f"{c.rng.randint(1, 900)}/QĐ-TGHC"
    wrong_day = not again and c.chance("correct_occurred_at", 0.03)
    detected_id = c.record(
        "DrugUseDetected",
        data,
        police,
        at=at - timedelta(days=1) if wrong_day else at,
        body=c.body("district_police" if by_district else "commune_police", unit),
        doc=c.doc("{n}/BB-VPHC", on=at.date()),
        basis=("LXLVPHC2012", "Art 58") if at < REGIME_22 else ("ND105/2021", "Art 38"),
        pin=wrong_day,
    )
    if wrong_day:
        c.later(
            (2, 20),
            lambda: c.correct(
                detected_id,
                {"occurred_at": at.isoformat()},
                "Nhập sai ngày phát hiện; đã đối chiếu biên bản vi phạm",
            ),
            allowed_when_closed=True,
        )
    if not c.substances or again:
        c.substances = pick_substances(c)
    return drug_test(
        c,
        at + timedelta(minutes=c.rng.randint(30, 180)),
        True,
        police,
        unit,
        pin=True,
        confirm=True,
    )


def pick_substances(c: Course) -> list[str]:
    names, weights = [s for s, _ in SUBSTANCES], [w for _, w in SUBSTANCES]
    first = c.choose("substance", names, weights)
    if c.rng.random() < 0.2:
        second = c.rng.choices(names, weights)[0]
        return sorted({first, second})
    return [first]


def drug_test(
    c: Course,
    at: datetime,
    positive: bool,
    by: Actor,
    unit: str,
    pin: bool = False,
    confirm: bool = False,
) -> str:
    sample = c.rng.choices(("urine", "blood", "hair", "other"), (88, 5, 4, 3))[0]
    data: dict[str, Any] = {
        "sample": sample,
        "substances": list(c.substances) if positive else [],
        "result": "positive" if positive else "negative",
        "tester_unit": unit,
    }
    if c.age(at.date()) < 18:
        data["guardian_consent"] = True
    test_id = c.record(
        "DrugTestRecorded",
        data,
        by,
        at=at,
        pin=pin,
        doc=c.doc("{n}/PXN", "Mẫu số 03" if at >= REGIME_22 else None, on=at.date()),
        basis=("Law73/2021", "Art 22") if at >= REGIME_22 else ("TTLT17/2015", None),
    )
    if confirm and c.chance("correct_test_substances", 0.04):
        # the laboratory confirms one more substance than the quick test showed
        extra = "ketamine" if "ketamine" not in c.substances else "MDMA"
        c.substances = sorted({*c.substances, extra})
        fixed = list(c.substances)
        c.later(
            (2, 10),
            lambda: c.correct(
                test_id,
                {"substances": fixed},
                "Bổ sung chất theo kết quả khẳng định của phòng xét nghiệm",
            ),
            allowed_when_closed=True,
        )
    return test_id


def residence(c: Course) -> None:
    if c.chance("residence_unchecked", 0.05 if not c.pre22 else 0.4):
        return  # a missing step
    late = c.chance("residence_late", 0.08)
    c.wait_wd(6, 9) if late else c.wait_wd(1, 3)
    criterion = (
        c.rng.choice(
            (
                "Đang sinh sống tại nơi thường trú",
                "Đang sinh sống tại nơi tạm trú",
                "Sinh sống tại nơi ở hiện tại từ 30 ngày trở lên, được Trưởng Công an xã xác nhận",
            )
        )
        if c.stable
        else c.rng.choice(
            (
                "Không sinh sống tại nơi đăng ký thường trú, không xác định được nơi ở hiện tại",
                "Không có nơi thường trú, tạm trú và ở nơi hiện tại dưới 30 ngày",
            )
        )
    )
    c.record(
        "ResidenceVerified",
        {
            "status": "stable" if c.stable else "not_stable",
            "criterion": criterion,
            "remote_area": False,
        },
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("ND105/2021", "Art 41") if not c.pre22 else None,
    )


# --- phase: addiction determination -----------------------------------------------------------


def determination(c: Course, ground: str | None, force_addicted: bool = False) -> tuple[str, str]:
    """A doctor determines addiction (22+: on a police or volunteer request); return the
    conclusion and the determination's event id."""
    health = c.staff("health_worker")
    if not c.pre22 and ground is not None:
        c.wait(hours=c.rng.uniform(1, 20))
        handed_over = c.t + timedelta(hours=c.rng.uniform(0.5, 4))
        c.record(
            "AddictionDeterminationRequested",
            {"ground": ground, "requester_unit": c.commune.code, "handed_over_at": handed_over},
            c.actor("commune_police" if ground != "dd" else "commune_officer"),
            body=c.body("commune_police" if ground != "dd" else "commune_committee"),
            doc=c.doc("{n}/CV-CA", "Mẫu số 02"),
            basis=("Law73/2021", "Art 27"),
        )
        c.advance(handed_over)
        c.wait_days(6, 9) if c.chance("determination_late", 0.06) else c.wait_days(1, 5)
    else:
        c.wait_days(1, 7)
    if force_addicted:
        conclusion = "addicted"
    else:
        conclusion = c.choose(
            "conclusion", ("addicted", "observation", "not_addicted"), (80, 4, 16)
        )
    if conclusion == "addicted":
        criteria = sorted(c.rng.sample(range(1, 7), c.rng.randint(3, 6)))
    elif conclusion == "observation":
        criteria = sorted(c.rng.sample(range(1, 6), 2))
    else:
        criteria = c.rng.choice(([1], [2], [3, 6], []))
    determined = c.record(
        "AddictionDetermined",
        {
            "facility": f"Trung tâm Y tế {c.area_label}",
            "physician": f"BS. {health.name}",
            "criteria_met": criteria,
            "conclusion": conclusion,
            "substances": list(c.substances) if conclusion != "not_addicted" else [],
            "returned_on": c.t.date(),
        },
        health.actor,
        body=c.body("health_facility"),
        doc=c.doc("{n}/KQ-TTYT", "Mẫu số 05" if not c.pre22 else None),
        basis=("TT18/2021", "Art 4") if not c.pre22 else ("TTLT17/2015", None),
        pin=True,
    )
    if conclusion == "observation":
        c.wait_days(25, 40)
        return determination(c, None, force_addicted=c.rng.random() < 0.6)
    return conclusion, determined
