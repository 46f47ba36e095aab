"""The ways into a course: the case is opened and detection, self-registration, a transfer-in
or a release elsewhere lead to a first decision (from 2022, drug-user management); no later
phase comes back here, so this module sits above the ``rehab`` loop it leads into."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain.compliance.calendar import add_months
from infra.demo.course import Course, Phase
from infra.demo.phases.detection import (
    detection,
    determination,
    drug_test,
    pick_substances,
    residence,
)
from infra.demo.phases.rehab import closing, post_rehab, register
from infra.demo.phases.support import EXTRAS, accompany, assign, consent, note
from infra.demo.world import REGIME_22, full_name

# --- phase: opening ----------------------------------------------------------------------------


def open_case(c: Course) -> Phase | None:
    first_contact = c.t
    record_opening(c)
    source = c.plan.source
    if source in ("detection", "family"):
        return lambda c: detected(c, first_contact)
    if source == "self_registration":
        return volunteered
    if source == "facility_release":
        return released_elsewhere
    if source == "transfer_in":
        return transferred_in
    return found_without_residence


def record_opening(c: Course) -> None:
    """The case is opened: by the commune police a few hours after a detection or a family's
    report, else by the commune; consents, the assignment and the course's extras follow."""
    source = c.plan.source
    by_police = source in ("detection", "family")
    opener = c.actor("commune_police" if by_police else "commune_officer")
    if by_police:
        c.wait(hours=c.rng.uniform(0.5, 5))
    person = dict(c.person)
    typo = c.chance("correct_address", 0.02)
    if typo:
        person["address"] = person["address"].replace("Số ", "Số 1", 1)
    opened = c.record(
        "CaseOpened",
        {"person": person, "source": source, "managing_unit": c.commune.code},
        opener,
        body=c.body("commune_police" if by_police else "commune_committee"),
        pin=typo,
    )
    if typo:
        c.later(
            (3, 40),
            lambda: c.correct(
                opened,
                {"person.address": c.person["address"]},
                "Ghi sai số nhà khi lập hồ sơ; đã đối chiếu với dữ liệu dân cư",
            ),
            allowed_when_closed=True,
        )
    if c.chance("data_sharing_consent", 0.35):
        consent(c, "data_sharing")
    if c.chance("assigned", 0.85):
        c.later((1, 12), lambda: assign(c))
    c.extras = [name for name, p in EXTRAS if c.chance(name, p)]


# --- phase: detection and user management -----------------------------------------------------


def detected(c: Course, first_contact: datetime) -> Phase | None:
    detection(c, at=first_contact)
    residence(c)
    if c.pre22:
        conclusion, _ = determination(c, ground=None)
        return after_determination(c, conclusion)
    if not c.stable:
        conclusion, _ = determination(c, ground="b")
        return after_determination(c, conclusion)
    return user_management


def user_management(c: Course, renewal: bool = False) -> Phase | None:
    """22+: the commune chairman puts a drug user under management for a year."""
    c.rounds += 1
    ends = decide_user_management(c, renewal)
    outcome = c.choose("um_outcome", ("ended", "addicted", "stopped"), (45, 45, 10))
    if c.rounds > 3:
        outcome = "ended"
    if outcome == "ended":
        return management_ends(c, ends)
    if outcome == "stopped":
        accompany(c, c.t + timedelta(days=c.rng.randint(40, 300)), "user")
        reason = c.choose(
            "um_stop_reason",
            ("imprisoned", "deceased", "missing", "education_measure"),
            (45, 15, 25, 15),
        )
        c.record(
            "UserManagementStopped",
            {"reason": reason},
            c.actor("commune_officer"),
            body=c.body("commune_committee"),
            doc=c.doc("{n}/QĐ-UBND", "Mẫu số 09"),
            basis=("ND105/2021", "Art 48"),
        )
        close_reason = {"imprisoned": "imprisoned", "deceased": "deceased"}.get(reason, "other")
        note = {
            "missing": "Đối tượng bỏ đi khỏi nơi cư trú, không xác định được nơi ở",
            "education_measure": "Áp dụng biện pháp giáo dục tại xã, phường, thị trấn",
        }.get(reason)
        return closing(close_reason, note)
    # caught using again: determination, then treatment
    accompany(c, c.t + timedelta(days=c.rng.randint(30, 300)), "user")
    detection(c, at=c.t, again=True)
    conclusion, _ = determination(c, ground="a")
    if conclusion != "addicted":
        return lambda c: user_management(c, renewal=True)
    c.wait_wd(0, 3)
    c.record(
        "UserManagementStopped",
        {"reason": "addicted"},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND", "Mẫu số 09"),
        basis=("ND105/2021", "Art 48"),
    )
    return register


def decide_user_management(c: Course, renewal: bool) -> date:
    """The decision (Form 07), a few working days from now; returns its last day."""
    c.wait_wd(9, 14) if c.chance("um_decision_late", 0.08) else c.wait_wd(2, 6)
    starts = c.t.date()
    ends = add_months(starts, 12) - timedelta(days=1)
    team = [
        {"name": c.staff("commune_police").name, "role": "Tổ trưởng - Công an xã/phường"},
        {"name": full_name(c.rng, "male"), "role": "Tổ phó - đại diện tổ dân phố/thôn"},
        {"name": full_name(c.rng, "female"), "role": "Thành viên - gia đình"},
        {"name": c.staff("commune_officer").name, "role": "Thành viên - công chức LĐTBXH, tư vấn"},
    ]
    wrong_doc = c.chance("correct_document", 0.02)
    document = c.doc("{n}/QĐ-UBND", "Mẫu số 07")
    decided = c.record(
        "UserManagementDecided",
        {"starts_on": starts, "ends_on": ends, "renewal": renewal, "team": team},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=document,
        basis=("ND105/2021", "Art 42"),
        pin=wrong_doc,
    )
    if wrong_doc:
        corrected = {
            **document,
            "number": f"{c.rng.randint(421, 600)}/QĐ-UBND",
            "date": document["date"].isoformat(),
        }
        c.later(
            (5, 30),
            lambda: c.correct(
                decided, {"document": corrected}, "Sai số quyết định; sửa theo bản gốc"
            ),
            allowed_when_closed=True,
        )
    return ends


def management_ends(c: Course, ends: date) -> Phase | None:
    """The year of management runs out without a finding of use: it ends, the case closes."""
    accompany(c, c.office(ends), "user")
    c.wait_wd(0, 3)
    c.record(
        "UserManagementEnded",
        {},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND", "Mẫu số 10"),
        basis=("ND105/2021", "Art 48"),
    )
    return closing("management_completed", "Hết thời hạn quản lý, không phát hiện sử dụng ma túy")


# --- phase: after the addiction determination -------------------------------------------------


def after_determination(c: Course, conclusion: str) -> Phase | None:
    if conclusion == "addicted":
        return register
    if not c.pre22 and c.stable:
        return user_management
    return closing("other", "Kết luận không nghiện ma túy; chuyển Công an xã theo dõi")


def volunteered(c: Course) -> Phase | None:
    """The person (or a minor's parent) comes to the commune to be determined and treated."""
    c.substances = pick_substances(c)
    if c.rng.random() < 0.5:
        drug_test(c, c.wait(hours=2), True, c.actor("health_worker"), c.area_code, pin=True)
    conclusion, _ = determination(c, ground="dd" if c.t >= REGIME_22 else None)
    return after_determination(c, conclusion)


def found_without_residence(c: Course) -> Phase | None:
    c.stable = False
    c.substances = pick_substances(c)
    drug_test(c, c.wait(hours=1), True, c.actor("commune_police"), c.commune.code, pin=True)
    conclusion, _ = determination(c, ground="b" if c.t >= REGIME_22 else None)
    return after_determination(c, conclusion)


def transferred_in(c: Course) -> Phase | None:
    """A file sent from another province: management continues here."""
    c.substances = pick_substances(c)
    note(c, "normal", "Tiếp nhận hồ sơ chuyển đến từ Công an xã nơi cư trú cũ tại tỉnh Bắc Ninh.")
    if c.pre22:
        return register
    return user_management


def released_elsewhere(c: Course) -> Phase | None:
    """Back home after compulsory rehab in a facility of another province."""
    report_return(c)
    return post_rehab


def report_return(c: Course) -> None:
    """The person, released from a facility elsewhere, reports to the commune police."""
    c.substances = pick_substances(c)
    c.completed = "compulsory_minor" if c.minor else "compulsory_adult"
    c.wait_wd(0, 3)
    c.record(
        "ReturnReported",
        {"reported_to": "commune_police"},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("ND116/2021", "Art 62") if not c.pre22 else None,
    )
