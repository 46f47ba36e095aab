"""Support around the phases -- assignment, consents, counselling, self-help groups, home visits,
negative tests, check-ins, notes, referrals -- ``accompany`` (the routine follow-up of a stretch
of time) and the extras that happen once in some courses; these never choose the next phase,
so every phase module can use them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from infra.demo.course import Closing, Course
from infra.demo.phases.detection import drug_test
from infra.demo.world import (
    ABSENCE_REASONS,
    COUNSELLING_TOPICS,
    JOB_CENTRE,
    LEGAL_AID,
    MENTAL_HOSPITAL,
    NOTES,
    PROVINCE,
    VISIT_OUTCOMES,
    VOLUNTARY_FACILITIES,
    Commune,
    address,
    national_id,
)

# --- phase: support (counselling, self-help, visits, referrals, notes) ------------------------


def assign(c: Course) -> None:
    role = c.choose(
        "assignee_role",
        ("counsellor", "police_officer", "volunteer", "social_worker", "health_worker"),
        (40, 30, 15, 10, 5),
    )
    roster_role = {
        "police_officer": "commune_police",
        "social_worker": "commune_officer",
        "health_worker": "counsellor",
    }.get(role, role)
    c.record(
        "CaseAssigned",
        {"assignee_id": c.actor(roster_role).id, "assignee_role": role},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND"),
    )


def consent(c: Course, scope: str) -> None:
    c.consents.add(scope)
    c.record(
        "ConsentRecorded",
        {"scope": scope, "given_by": "guardian" if c.minor else "person"},
        c.actor("counsellor"),
        body=c.body("counselling_point"),
    )


def counselling(c: Course, phase: str, pin: bool = False) -> str:
    counsellor = c.staff("counsellor")
    in_facility = phase == "facility"
    mode = c.rng.choices(("individual", "family", "group", "thematic_talk"), (55, 20, 15, 10))[0]
    return c.record(
        "CounsellingSessionHeld",
        {
            "mode": mode,
            "topics": c.rng.sample(COUNSELLING_TOPICS, c.rng.randint(1, 3)),
            "duration_minutes": c.rng.choice((30, 45, 60, 60, 90)),
            "counsellor": counsellor.name
            if not in_facility
            else f"Cán bộ tư vấn {c.facility.name}",
            "counselling_point": f"Điểm tư vấn {c.commune.label}"
            if not in_facility
            else c.facility.name,
        },
        counsellor.actor if not in_facility else c.facility_staff(c.facility),
        body=c.body("counselling_point") if not in_facility else c.body("rehab_facility", PROVINCE),
        pin=pin,
    )


def self_help(c: Course, phase: str) -> None:
    group = f"NTL-{c.commune.code[-5:]}" if c.rng.random() < 0.7 else f"CLB-B93-{c.area_code[-3:]}"
    c.record(
        "SelfHelpGroupAttended",
        {"group_id": group, "session_on": c.t.date()},
        c.actor(c.rng.choice(("counsellor", "volunteer"))),
        body=c.body("counselling_point"),
    )


def home_visit(c: Course, phase: str) -> None:
    visitor = c.staff(c.rng.choice(("volunteer", "commune_police", "counsellor")))
    c.record(
        "HomeVisitMade",
        {"visitor": visitor.name, "outcome": c.rng.choice(VISIT_OUTCOMES)},
        visitor.actor,
    )


def negative_test(c: Course, phase: str) -> None:
    if phase == "ost":
        drug_test(c, c.t, False, c.actor("ost_staff"), c.area_code)
    elif phase == "facility":
        drug_test(c, c.t, False, c.facility_staff(c.facility), PROVINCE)
    else:
        drug_test(c, c.t, False, c.actor("commune_police"), c.commune.code)


def check_in(c: Course, phase: str) -> None:
    kind = c.rng.choices(("visit", "contact", "report", "drug_test"), (35, 25, 25, 15))[0]
    by = c.staff(c.rng.choice(("commune_police", "volunteer")))
    c.record(
        "PostRehabCheckIn", {"kind": kind, "by": by.name}, by.actor, body=c.body("commune_police")
    )
    if kind == "drug_test" and c.rng.random() < 0.5:
        drug_test(c, c.wait(minutes=20), False, c.actor("commune_police"), c.commune.code)


def note(c: Course, sensitivity: str | None = None, text: str | None = None) -> None:
    if text is None:
        sensitivity, text = c.rng.choice(NOTES)
    c.record(
        "NoteAdded",
        {"text": text, "sensitivity": sensitivity or "normal"},
        c.actor(c.rng.choice(("commune_officer", "counsellor", "commune_police"))),
    )


REFERRAL_SERVICES = {
    "user": (
        ("hiv_care", 3),
        ("mental_health", 2),
        ("general_health", 3),
        ("legal_aid", 2),
        ("social_assistance", 2),
        ("detox", 1),
        ("ost", 2),
    ),
    "community": (
        ("hiv_care", 3),
        ("mental_health", 2),
        ("general_health", 2),
        ("legal_aid", 1),
        ("vocational_training", 3),
        ("social_assistance", 2),
        ("ost", 1),
    ),
    "ost": (
        ("hiv_care", 4),
        ("mental_health", 2),
        ("general_health", 3),
        ("job_placement", 2),
        ("social_assistance", 2),
    ),
    "facility": (
        ("vocational_training", 5),
        ("hiv_care", 2),
        ("general_health", 2),
        ("legal_aid", 1),
    ),
    "post_rehab": (
        ("job_placement", 4),
        ("loan", 3),
        ("vocational_training", 3),
        ("social_assistance", 2),
        ("legal_aid", 1),
        ("other", 1),
    ),
}


def provider_for(c: Course, service: str, phase: str) -> str:
    d = c.area_label
    # the district Labour office's social work went to the commune with the districts
    welfare = f"Phòng Lao động - Thương binh và Xã hội {d}"
    if c.commune.district is None:
        welfare = f"Phòng Văn hóa - Xã hội, UBND {c.commune.label}"
    if phase == "facility" and service in ("vocational_training", "general_health"):
        return (
            f"Tổ dạy nghề, {c.facility.name}"
            if service == "vocational_training"
            else "Bệnh viện Đa khoa Đức Giang"
        )
    return {
        "ost": f"Cơ sở điều trị Methadone {d}",
        "detox": VOLUNTARY_FACILITIES[0].name,
        "hiv_care": f"Phòng khám ngoại trú HIV/AIDS - Trung tâm Y tế {d}",
        "mental_health": MENTAL_HOSPITAL,
        "general_health": f"Trạm Y tế {c.commune.label}",
        "vocational_training": f"Trung tâm Giáo dục nghề nghiệp - Giáo dục thường xuyên {d}",
        "job_placement": JOB_CENTRE,
        "loan": f"Ngân hàng Chính sách xã hội {d}",
        "legal_aid": LEGAL_AID,
        "social_assistance": welfare,
        "education": f"Trường THCS {c.commune.name}",
        "other": f"Hội Liên hiệp Phụ nữ {c.commune.label}",
    }[service]


def referral(c: Course, phase: str, service: str | None = None) -> None:
    """A referral and, as the answers come in, its acceptance, completion or refusal."""
    if service is None:
        options = REFERRAL_SERVICES[phase]
        service = c.rng.choices([s for s, _ in options], [w for _, w in options])[0]
        if c.minor and c.rng.random() < 0.5:
            service = "education"
    if "referral" not in c.consents:
        consent(c, "referral")
        c.wait(minutes=c.rng.randint(5, 30))
    by = c.actor("counsellor") if phase != "facility" else c.facility_staff(c.facility)
    body = (
        c.body("counselling_point") if phase != "facility" else c.body("rehab_facility", PROVINCE)
    )
    c.referrals += 1
    referral_id = f"CG-{c.t.year}-{c.referrals:03d}"
    reason = {
        "education": "Hỗ trợ quay lại trường học",
        "loan": "Vay vốn tự tạo việc làm",
        "job_placement": "Giới thiệu việc làm sau cai nghiện",
    }.get(service, "Theo nhu cầu và đánh giá của cán bộ tư vấn")
    wrong = c.chance("void_referral", 0.01)
    if wrong:  # entered with the wrong provider: voided, then entered again
        made = c.record(
            "ReferralMade",
            {
                "referral_id": referral_id,
                "service": service,
                "provider": f"Trạm Y tế {c.commune.label}",
                "reason": reason,
            },
            by,
            body=body,
        )
        c.wait(hours=c.rng.uniform(2, 48))
        c.record(
            "EntryVoided",
            {"voids_event_id": made, "reason": "Nhập nhầm nơi tiếp nhận chuyển gửi"},
            c.actor("commune_officer"),
        )
        c.referrals += 1
        referral_id = f"CG-{c.t.year}-{c.referrals:03d}"
    c.record(
        "ReferralMade",
        {
            "referral_id": referral_id,
            "service": service,
            "provider": provider_for(c, service, phase),
            "reason": reason,
        },
        by,
        body=body,
    )
    answer = c.choose(
        "referral_answer",
        ("completed", "accepted", "declined_provider", "declined_person", "none"),
        (62, 14, 9, 10, 5),
    )
    if answer == "none":
        return
    if answer.startswith("declined"):
        declined_by = answer.removeprefix("declined_")
        why = (
            "Không đủ điều kiện tiếp nhận"
            if declined_by == "provider"
            else "Đối tượng không có nhu cầu"
        )
        c.later(
            (2, 20),
            lambda: c.record(
                "ReferralDeclined",
                {"referral_id": referral_id, "declined_by": declined_by, "reason": why},
                by,
            ),
        )
        return
    c.later((1, 10), lambda: c.record("ReferralAccepted", {"referral_id": referral_id}, by))
    if answer == "completed":
        outcome = {
            "vocational_training": "Hoàn thành khóa học nghề 3 tháng",
            "job_placement": "Đã có việc làm ổn định",
            "loan": "Được vay 50 triệu đồng",
        }.get(service, "Đã được cung cấp dịch vụ")
        c.later(
            (25, 150),
            lambda: c.record(
                "ReferralCompleted", {"referral_id": referral_id, "outcome": outcome}, by
            ),
        )


ACTIVITIES: dict[str, tuple[tuple[Callable[[Course, str], Any], int], ...]] = {
    "user": ((counselling, 18), (home_visit, 26), (negative_test, 30), (note, 8), (referral, 7)),
    "community": (
        (counselling, 28),
        (home_visit, 20),
        (self_help, 25),
        (referral, 10),
        (note, 5),
        (negative_test, 12),
    ),
    "ost": (
        (counselling, 25),
        (negative_test, 30),
        (home_visit, 15),
        (self_help, 12),
        (referral, 8),
        (note, 5),
    ),
    "facility": ((counselling, 45), (referral, 15), (note, 10), (negative_test, 10)),
    "post_rehab": (
        (check_in, 45),
        (self_help, 18),
        (counselling, 12),
        (referral, 10),
        (home_visit, 8),
        (note, 5),
    ),
}
MEAN_GAP_DAYS = {"user": 30, "community": 28, "ost": 60, "facility": 75, "post_rehab": 32}


def accompany(c: Course, until: datetime, phase: str) -> None:
    """Routine follow-up until ``until``; also where the course's planned extras happen."""
    table = ACTIVITIES[phase]
    gap = MEAN_GAP_DAYS[phase]
    while True:
        nxt = c.t + timedelta(days=gap * c.rng.uniform(0.3, 1.7))
        if nxt >= until:
            break
        c.advance(c.office(nxt.date()))
        extra = next((e for e in c.extras if phase in EXTRA_PHASES[e]), None)
        if extra is not None and (extra in c.fixed or c.rng.random() < 0.3):
            c.extras.remove(extra)
            EXTRA_ACTIONS[extra](c, phase)
            continue
        activity = c.rng.choices([a for a, _ in table], [w for _, w in table])[0]
        activity(c, phase)
    # extras a plan insists on happen before the phase ends
    for extra in [e for e in c.extras if phase in EXTRA_PHASES[e] and e in c.fixed]:
        c.extras.remove(extra)
        c.advance(c.t + (until - c.t) / 3)
        EXTRA_ACTIONS[extra](c, phase)
    c.advance(until)


# --- extras: things that happen once in some courses ---


def update_details(c: Course, phase: str) -> None:
    if c.person.get("national_id") is None or len(c.person["national_id"]) == 9:
        c.person["national_id"] = national_id(c.rng, c.plan.birth, c.plan.sex)
        change = {
            "national_id": c.person["national_id"],
            "reason": "Được cấp thẻ Căn cước công dân",
        }
    else:
        c.person["address"] = address(c.rng, c.commune)
        change = {"address": c.person["address"], "reason": "Chuyển chỗ ở trong cùng xã/phường"}
    c.record(
        "PersonDetailsUpdated", change, c.actor("commune_police"), body=c.body("commune_police")
    )


def transfer(c: Course, phase: str, to: Commune | None = None) -> None:
    """The person moves to another commune of the province (``to``, else one at random, on
    the map of the day); the case follows (U9, P4)."""
    old = c.commune
    new = to or c.rng.choice([x for x in c.world.communes_on(c.t) if x.code != old.code])
    c.person["residence_unit"], c.person["address"] = new.code, address(c.rng, new)
    c.record(
        "PersonDetailsUpdated",
        {"residence_unit": new.code, "address": c.person["address"], "reason": "Chuyển nơi cư trú"},
        c.actor("commune_police"),
        body=c.body("commune_police"),
    )
    c.wait_wd(1, 5)
    c.record(
        "CaseTransferred",
        {
            "from_unit": old.code,
            "to_unit": new.code,
            "reason": f"Chuyển nơi cư trú về {new.label}"
            + (f", {new.district.label}" if new.district else ""),
        },
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/CV-CA", "Mẫu số 08" if phase == "user" else "Mẫu số 53"),
        basis=("ND105/2021", "Art 47") if phase == "user" and not c.pre22 else None,
    )
    c.commune = new
    c.wait_wd(1, 4)
    assign(c)


def void_entry(c: Course, phase: str) -> None:
    """An entry made in error is voided; a wrong test result is entered again correctly."""
    if c.rng.random() < 0.5:
        counselling(c, phase, pin=True)
        duplicate = counselling(c, phase, pin=True)  # a colleague enters the same session again
        c.later(
            (1, 10),
            lambda: c.record(
                "EntryVoided",
                {"voids_event_id": duplicate, "reason": "Nhập trùng buổi tư vấn"},
                c.actor("commune_officer"),
            ),
            allowed_when_closed=True,
        )
        return
    police = c.actor("commune_police")
    substances, c.substances = c.substances, ["methamphetamine"]
    wrong = drug_test(c, c.t, True, police, c.commune.code, pin=True)
    c.substances = substances
    at = c.t

    def void_and_reenter() -> None:
        c.record(
            "EntryVoided",
            {"voids_event_id": wrong, "reason": "Nhập nhầm kết quả xét nghiệm của người khác"},
            c.actor("commune_officer"),
        )
        drug_test(c, at, False, police, c.commune.code)

    c.later((1, 6), void_and_reenter)


def withdraw_consent(c: Course, phase: str) -> None:
    scope = "data_sharing" if "data_sharing" in c.consents else "referral"
    if scope not in c.consents:
        consent(c, scope)
        c.wait_days(10, 60)
    c.consents.discard(scope)
    c.record(
        "ConsentWithdrawn",
        {"scope": scope},
        c.actor("counsellor"),
        body=c.body("counselling_point"),
    )


def correct_duration(c: Course, phase: str) -> None:
    session = counselling(c, phase, pin=True)
    c.later(
        (1, 15),
        lambda: c.correct(session, {"duration_minutes": 45}, "Ghi sai thời lượng buổi tư vấn"),
        allowed_when_closed=True,
    )


def absence(c: Course, phase: str) -> None:
    in_advance = c.rng.random() < 0.6
    start = c.t.date() + timedelta(
        days=c.rng.randint(2, 10) if in_advance else -c.rng.randint(20, 40)
    )
    end = start + timedelta(days=c.rng.randint(7, 30))
    if not in_advance:
        c.until(max(end, c.t.date()) + timedelta(days=1))
    c.record(
        "PostRehabAbsenceReported",
        {"from_on": start, "to_on": end, "reported_in_advance": in_advance},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("ND116/2021", "Art 79") if not c.pre22 else None,
    )
    note(c, "normal", f"Vắng mặt tại nơi cư trú: {c.rng.choice(ABSENCE_REASONS)}.")


def moved_away(c: Course, phase: str) -> None:
    raise Closing("moved_away", "Chuyển đi tỉnh Bắc Ninh; đã gửi thông báo cho Công an xã nơi đến")


def died(c: Course, phase: str) -> None:
    note(c, "restricted", "Gia đình báo tin đối tượng đã chết do bệnh.")
    raise Closing("deceased", "Có giấy báo tử của UBND xã")


EXTRAS = (
    ("update_details", 0.12),
    ("transfer", 0.06),
    ("void", 0.04),
    ("withdraw_consent", 0.04),
    ("correct_duration", 0.02),
    ("absence", 0.15),
    ("moved_away", 0.015),
    ("died", 0.008),
    ("refer", 0.0),
)
EXTRA_ACTIONS: dict[str, Callable[[Course, str], None]] = {
    "update_details": update_details,
    "transfer": transfer,
    "void": void_entry,
    "withdraw_consent": withdraw_consent,
    "correct_duration": correct_duration,
    "absence": absence,
    "moved_away": moved_away,
    "died": died,
    "refer": referral,
}
_AT_HOME = frozenset({"user", "community", "ost", "post_rehab"})
EXTRA_PHASES: dict[str, frozenset[str]] = {
    "update_details": _AT_HOME,
    "transfer": _AT_HOME,
    "void": _AT_HOME,
    "withdraw_consent": _AT_HOME,
    "correct_duration": _AT_HOME,
    "absence": frozenset({"post_rehab"}),
    "moved_away": _AT_HOME,
    "died": _AT_HOME,
    "refer": _AT_HOME,
}
