"""Scripted ways into the showcase's courses across the 2025-2026 reforms: each records one
person's story on fixed dates, through the same pieces as every course, and hands over to a
phase of the loop where the story joins it.

What changes on the way: from 1 Mar 2025 the commune police compile the compulsory-rehab
dossier and send it to the court themselves; from 1 Jul 2025 there are no districts (the
communes of the new list, regional courts); from 1 Jul 2026 Law 120/2025 (a move reported
within 24 hours, electronic monitoring, a prison term suspending post-rehab management). Every
unit code is the one in force on its event's day: ``Course.commune`` follows the map, and the
bodies above the commune follow the dates (``Course.court_body``, ``compiler_kind``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import time as clock_time

from domain.compliance.calendar import add_months
from infra.demo.course import Course, Phase
from infra.demo.phases.detection import detection, determination, residence
from infra.demo.phases.opening import (
    decide_user_management,
    management_ends,
    record_opening,
    report_return,
)
from infra.demo.phases.proceedings import interim, search_decided
from infra.demo.phases.rehab import (
    decide_post_rehab,
    open_dossier,
    post_rehab_ends,
    record_violation,
    send_to_court,
    serve_dossier,
)
from infra.demo.phases.support import accompany, assign, note, transfer
from infra.demo.world import (
    INTERIM_FACILITY,
    PROVINCE,
    TWO_TIERS,
    VN,
    Commune,
    add_working_days,
    address,
    commune_of_2025,
    readdress,
)

LAW_120_BASIS = ("Law120/2025", None)
"""Law 120/2025/QH15; its articles on moves were not read (Art 12: electronic monitoring)."""

# Where the movers go: communes of the 2025 list (not among the demo's), with a few of their
# streets or villages.
PHUC_LOI = ("01.00136", ("phố Phúc Lợi", "phố Hội Xá"))
GIA_LAM = ("01.00565", ("Dương Xá", "Kiêu Kỵ"))


def moment(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.combine(day, clock_time(hour, minute), VN)


def detected_and_managed(c: Course) -> date:
    """The police detect use at the plan's start and the case is opened; the residence is
    verified and the commune puts the person under user management: returns its last day."""
    first_contact = c.t
    record_opening(c)
    detection(c, at=first_contact)
    residence(c)
    return decide_user_management(c, renewal=False)


def to_the_new_map(c: Course) -> None:
    """After 1 Jul 2025 the commune police bring the person's record to the new map: the same
    home, in the commune (and under the code) its territory went into."""
    old, new = c.plan.commune, c.commune
    c.person["residence_unit"] = new.code
    c.person["address"] = readdress(c.person["address"], old, new)
    c.record(
        "PersonDetailsUpdated",
        {
            "residence_unit": new.code,
            "address": c.person["address"],
            "reason": f"Sắp xếp đơn vị hành chính từ 01/7/2025: {old.label} nay thuộc {new.label}",
        },
        c.actor("commune_police"),
        body=c.body("commune_police"),
    )


# --- 1. a case of 2024 carried onto the new map and transferred across it ----------------------


def transferred_across_the_merger(c: Course) -> Phase | None:
    """Opened in October 2024 in phường Ngọc Lâm (01.004.00133), which went whole into phường
    Bồ Đề (01.00118) on 1 Jul 2025: a year of user management, carried on under the new code;
    in September 2025 the person moves to phường Ba Đình (01.00004, into which the old phường
    Trúc Bạch went), and the case is transferred between the two communes of the new list."""
    ends = detected_and_managed(c)
    accompany(c, moment(date(2025, 7, 7), "08:30"), "user")
    to_the_new_map(c)
    accompany(c, moment(date(2025, 9, 15), "08:30"), "user")
    ba_dinh = c.world.after_reform(c.world.commune("01.001.00004"))
    transfer(c, "user", to=ba_dinh)
    return lambda c: management_ends(c, ends)


# --- 3. a dossier of May 2025 that the regional court hears ------------------------------------


def dossier_across_the_reform(c: Course) -> Phase | None:
    """No stable residence in phường Cống Vị (01.001.00007): detected in April 2025, found
    addicted, does not register for rehab. The commune police open the dossier in May 2025
    (the district court still exists); he absconds from interim management at the facility
    and is brought back on 26 Jun; the dossier is served. On 1 Jul Cống Vị is divided (his
    home goes to phường Giảng Võ, 01.00025: the plan's pick) and district courts are gone: the
    police of Giảng Võ send the dossier to the regional court, which hears it in July."""
    first_contact = c.t
    record_opening(c)
    detection(c, at=first_contact)
    residence(c)
    determination(c, ground="b", force_addicted=True)
    c.until(add_working_days(c.t.date(), 6))  # the 5 wd to register pass unused
    record_violation(c, "not_registered")
    did, minor, police = open_dossier(c)
    interim(c, did, minor)
    c.wait_days(5, 8)
    staff = c.facility_staff(INTERIM_FACILITY)
    c.record("Absconded", {"phase": "interim"}, staff, body=c.body("rehab_facility", PROVINCE))
    c.wait_days(0, 1)
    search_decided(c)
    c.until(date(2025, 6, 26))
    c.record(
        "Returned", {"how": "apprehended"}, c.actor("commune_police"), body=c.body("commune_police")
    )
    serve_dossier(c, did, minor, police)
    reading_ends = add_working_days(c.t.date(), 3)
    c.until(max(c.t.date(), TWO_TIERS.date()))
    old = c.plan.commune.district
    note(
        c,
        "normal",
        f"Từ 01/7/2025 nơi ở của đối tượng thuộc {c.commune.label}; Công an {c.commune.label} "
        "tiếp tục hồ sơ, gửi Tòa án nhân dân khu vực"
        + (f" (thay Tòa án nhân dân {old.label})." if old else "."),
    )
    return send_to_court(c, did, minor, reading_ends)


# --- 4. moves after 1 Jul 2026: reported within 24 hours, and late ----------------------------


def arrival(c: Course, destination: Commune, at: datetime) -> None:
    """The person reports to the commune police of the new residence (L26-01)."""
    c.advance(at)
    c.record(
        "ArrivalReported",
        {"from_unit": c.commune.code},
        c.actor("commune_police", destination.code),
        body=c.body("commune_police", destination.code),
        basis=LAW_120_BASIS,
    )


def hand_over(c: Course, destination: Commune, at: datetime) -> None:
    """The departure commune police hand the case over to the destination's (L26-02); the
    destination's police enter the new address a day or two later and assign someone."""
    c.advance(at)
    c.record(
        "CaseTransferred",
        {
            "from_unit": c.commune.code,
            "to_unit": destination.code,
            "reason": f"Chuyển nơi cư trú đến {destination.label}; "
            "bàn giao hồ sơ quản lý người sử dụng trái phép chất ma túy",
        },
        c.actor("commune_police"),
        body=c.body("commune_police"),
        doc=c.doc("{n}/CV-CA"),
        basis=LAW_120_BASIS,
    )
    c.commune = destination
    c.wait_days(1, 2)
    c.person["residence_unit"] = destination.code
    c.person["address"] = address(c.rng, destination)
    c.record(
        "PersonDetailsUpdated",
        {
            "residence_unit": destination.code,
            "address": c.person["address"],
            "reason": "Chuyển nơi cư trú",
        },
        c.actor("commune_police"),
        body=c.body("commune_police"),
    )
    assign(c)


def moved_and_reported_in_time(c: Course) -> Phase | None:
    """Under user management in phường Việt Hưng (01.00127) from March 2026. On the morning of
    14 Aug 2026 he moves to phường Phúc Lợi (01.00136), having told the police: he reports to
    the police of Phúc Lợi that afternoon, and the police of Việt Hưng hand the case over an
    hour and a half later -- both within the 24 hours Law 120/2025 gives from his leaving."""
    ends = detected_and_managed(c)
    accompany(c, moment(date(2026, 8, 13), "17:00"), "user")
    destination = commune_of_2025(*PHUC_LOI)
    left = moment(date(2026, 8, 14), "08:30")
    c.advance(left)
    c.record(
        "ResidenceLeft",
        {"to_unit": destination.code, "notified_by_person": True},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=LAW_120_BASIS,
    )
    arrival(c, destination, left + timedelta(hours=7, minutes=40))
    hand_over(c, destination, left + timedelta(hours=9, minutes=5))
    return lambda c: management_ends(c, ends)


def moved_and_reported_late(c: Course) -> Phase | None:
    """Under user management in phường Từ Liêm (01.00592, the old phường Cầu Diễn) from
    April 2026. On the evening of 18 Sep 2026 he leaves for xã Gia Lâm (01.00565) without a
    word; the police of Từ Liêm learn it at a home visit three days later. He reports to the
    police of Gia Lâm on the morning of 22 Sep, 86 hours after leaving, and the case is handed
    over that afternoon: both past the 24 hours."""
    ends = detected_and_managed(c)
    accompany(c, moment(date(2026, 9, 18), "17:00"), "user")
    destination = commune_of_2025(*GIA_LAM)
    left = moment(date(2026, 9, 18), "19:30")
    c.advance(moment(date(2026, 9, 21), "09:40"))
    visitor = c.staff("commune_police")
    c.record(
        "HomeVisitMade",
        {
            "visitor": visitor.name,
            "outcome": "Đối tượng không có mặt; gia đình cho biết đã chuyển đến "
            f"{destination.label} từ tối 18/9/2026, không báo Công an phường.",
        },
        visitor.actor,
    )
    c.wait(minutes=c.rng.randint(30, 90))
    c.record(
        "ResidenceLeft",
        {"to_unit": destination.code, "notified_by_person": False},
        visitor.actor,
        at=left,
        learned=c.t,
        body=c.body("commune_police"),
        basis=LAW_120_BASIS,
    )
    arrival(c, destination, moment(date(2026, 9, 22), "09:30"))
    hand_over(c, destination, moment(date(2026, 9, 22), "15:30"))
    note(
        c,
        "normal",
        "Đối tượng trình báo với Công an xã nơi đến sau hơn 24 giờ kể từ khi rời nơi cư trú; "
        "đã nhắc nhở nghĩa vụ trình báo theo Luật số 120/2025/QH15.",
    )
    return lambda c: management_ends(c, ends)


# --- 5. electronic monitoring under post-rehab management -------------------------------------


def monitored_after_rehab(c: Course) -> Phase | None:
    """Back in phường Xuân Phương (01.00622; it was 01.019.00622 before the reform) in January
    2026 after compulsory rehab in another province: two years of post-rehab management. The
    commune police decide electronic monitoring for three months from 16 Jul 2026; on 5 Sep the
    strap breaks and she reports it within half an hour, and the device is replaced; the
    monitoring ends on 16 Oct, the management goes on."""
    record_opening(c)
    report_return(c)
    end = decide_post_rehab(c)
    accompany(c, moment(date(2026, 7, 15), "09:00"), "post_rehab")
    police = c.actor("commune_police")
    c.wait(minutes=c.rng.randint(30, 120))
    starts, ends = date(2026, 7, 16), date(2026, 10, 15)
    c.record(
        "ElectronicMonitoringDecided",
        {
            "basis": "post_rehab_management",
            "device_id": f"GSĐT-{c.commune.code[-5:]}-{c.rng.randint(1, 999):04d}",
            "starts_on": starts,
            "ends_on": ends,
        },
        police,
        body=c.body("commune_police"),
        doc=c.doc("{n}/QĐ-CA"),
        basis=("Law120/2025", "Art 12"),
    )
    accompany(c, moment(date(2026, 9, 5), "06:40"), "post_rehab")
    happened = c.t
    c.advance(happened + timedelta(minutes=25))
    c.record(
        "DeviceIncidentReported",
        {"kind": "damage", "reported_by": "person", "happened_at": happened},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("Law120/2025", "Art 12"),
    )
    c.wait(hours=c.rng.uniform(2, 5))
    note(c, "normal", "Dây đeo thiết bị giám sát bị đứt khi làm việc; đã thay thiết bị mới.")
    accompany(c, moment(ends + timedelta(days=1), "08:30"), "post_rehab")
    c.record(
        "ElectronicMonitoringEnded",
        {"reason": "Hết thời hạn giám sát điện tử theo quyết định (16/7/2026 - 15/10/2026)"},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("Law120/2025", "Art 12"),
    )
    return lambda c: post_rehab_ends(c, end)


# --- 6. a prison term during post-rehab management --------------------------------------------


def imprisoned_during_post_rehab(c: Course) -> Phase | None:
    """Back in phường Thạch Bàn (01.004.00148) in May 2025 after compulsory rehab elsewhere:
    two years of post-rehab management. On 1 Jul 2025 Thạch Bàn is divided; his home goes to
    phường Long Biên (01.00145: the plan's pick). Held for theft from 10 Mar 2026, he is
    sentenced by the regional court to 8 months; serving it from 20 Jul 2026 suspends his
    post-rehab management (Law 120/2025); released on 10 Nov 2026 (the custody counted), he
    serves the rest of the management."""
    record_opening(c)
    report_return(c)
    end = decide_post_rehab(c)
    accompany(c, moment(date(2026, 3, 10), "15:00"), "post_rehab")
    held = c.t.date()
    note(
        c,
        "restricted",
        "Đối tượng bị Cơ quan Cảnh sát điều tra Công an thành phố Hà Nội bắt tạm giam ngày "
        f"{held:%d/%m/%Y} về hành vi trộm cắp tài sản.",
    )
    c.until(date(2026, 7, 20))
    c.record(
        "ImprisonmentStarted",
        {
            "judgment": f"Bản án số {c.rng.randint(40, 260)}/2026/HS-ST ngày 03/7/2026 "
            f"của {c.court_name()}",
            "sentence_months": 8,
        },
        c.actor("court_clerk"),
        body=c.court_body(),
        basis=LAW_120_BASIS,
    )
    note(
        c,
        "normal",
        "Tạm dừng quản lý sau cai nghiện trong thời gian chấp hành án phạt tù "
        f"(tính từ ngày bị tạm giam {held:%d/%m/%Y}).",
    )
    released = add_months(held, 8)
    c.until(released)
    c.record(
        "ImprisonmentEnded",
        {"released_on": released},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=LAW_120_BASIS,
    )
    resumed_end = end + (released - held)
    note(
        c,
        "normal",
        f"Tiếp tục quản lý sau cai nghiện phần thời gian còn lại, đến ngày {resumed_end:%d/%m/%Y}.",
    )
    return lambda c: post_rehab_ends(c, resumed_end)
