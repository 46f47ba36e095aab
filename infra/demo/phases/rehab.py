"""The phases that lead into each other in a loop -- registration for voluntary rehab or OST,
treatment, violations, the compulsory route (commune education, dossier, court, execution), the
facility, post-rehab management, relapse, closure and reopening -- in one module because a court
may send the person back to voluntary rehab and a relapse back to registration: split, these
modules would import each other."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from domain.compliance.calendar import add_months
from domain.events import Actor
from infra.demo.course import Course, Phase
from infra.demo.phases.detection import detection, determination, drug_test, pick_substances
from infra.demo.phases.proceedings import (
    court_basis,
    interim,
    legality_check,
    ordinance,
    returned_for_supplement,
)
from infra.demo.phases.support import accompany, note
from infra.demo.world import (
    COMPULSORY_FACILITIES,
    MINORS_FACILITY,
    OPIOIDS,
    PL01_START,
    POLICE_TAKEOVER,
    PROVINCE,
    REGIME_22,
    VOLUNTARY_FACILITIES,
    add_working_days,
    full_name,
)

# --- phase: voluntary treatment and OST -------------------------------------------------------


def register(c: Course) -> Phase | None:
    """After an addiction finding: register for voluntary rehab or OST (22+: within 5 wd)."""
    c.rounds += 1
    if c.rounds > 6:
        return closing("other", "Chuyển theo dõi tại cộng đồng")
    if c.pre22:
        if not c.stable and not c.minor:
            c.violation = "not_registered"
            return dossier
        route = c.choose("pre22_route", ("voluntary", "education"), (70, 30))
        if route == "education" and not c.had_commune_education and not c.minor:
            return commune_education
        c.wait_wd(1, 10)
    else:
        how = c.choose("registration", ("on_time", "late", "none"), (66, 10, 24))
        if how == "none":
            c.until(add_working_days(c.t.date(), c.rng.randint(6, 9)))
            return violation(c, "not_registered")
        c.wait_wd(1, 5) if how == "on_time" else c.wait_wd(7, 15)
    opioid = bool(OPIOIDS & set(c.substances))
    if opioid and c.chance("ost_if_opioid", 0.7):
        setting = "ost"
    else:
        setting = c.choose("setting", ("family", "community", "facility"), (35, 40, 25))
    c.setting = setting
    provider = treatment_provider(c, setting)
    c.planned_months = 24 if setting == "ost" else c.rng.choice((6, 6, 9, 12))
    old = ("ND94/2010", None) if setting != "ost" else ("ND90/2016", None)
    c.record(
        "VoluntaryTreatmentRegistered",
        {"setting": setting, "registered_at_unit": c.commune.code},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/ĐK-UBND", "Mẫu số 22" if not c.pre22 else None),
        basis=("ND116/2021", "Art 28") if not c.pre22 else old,
    )
    c.wait_wd(5, 8) if c.chance("voluntary_decision_late", 0.07) else c.wait_wd(1, 3)
    c.record(
        "VoluntaryTreatmentDecided",
        {"setting": setting, "provider": provider, "planned_months": c.planned_months},
        c.actor("commune_officer"),
        body=c.body("rehab_facility", PROVINCE)
        if setting == "facility"
        else c.body("commune_committee"),
        doc=c.doc(
            "{n}/QĐ-UBND" if setting != "facility" else "{n}/HĐ-CSCN",
            ("Mẫu số 24" if setting != "facility" else "Mẫu số 28") if not c.pre22 else None,
        ),
        basis=("ND116/2021", "Art 30" if setting != "facility" else "Art 36")
        if not c.pre22
        else old,
    )
    return voluntary


def treatment_provider(c: Course, setting: str) -> str:
    if setting == "ost":
        return f"Cơ sở điều trị Methadone {c.area_label}"
    if setting == "facility":
        c.facility = c.rng.choice(VOLUNTARY_FACILITIES)
        return c.facility.name
    if setting == "community":
        return f"Tổ công tác cai nghiện {c.commune.label}"
    return f"Gia đình, dưới sự hỗ trợ của Tổ công tác cai nghiện {c.commune.label}"


def voluntary(c: Course) -> Phase | None:
    if c.setting == "ost":
        return ost(c)
    if c.setting == "facility":
        return voluntary_at_facility(c)
    provider = treatment_provider(c, c.setting)
    by = c.actor("commune_officer")
    basis = ("ND116/2021", "Art 31") if not c.pre22 else ("ND94/2010", None)
    if c.chance("not_performed", 0.05):
        c.wait_wd(6, 9)
        c.record(
            "TreatmentQuit",
            {"kind": "not_performed"},
            by,
            body=c.body("commune_committee"),
            basis=basis,
        )
        return violation(c, "not_performed")
    c.wait_wd(1, 4)
    c.record(
        "TreatmentStarted",
        {"setting": c.setting, "provider": provider},
        by,
        body=c.body("commune_committee"),
        basis=basis,
    )
    end = c.office(add_months(c.t.date(), c.planned_months))
    outcome = c.choose("treatment_outcome", ("completed", "quit", "used"), (68, 16, 16))
    if outcome == "completed":
        accompany(c, end, "community")
        c.record(
            "TreatmentCompleted",
            {"setting": c.setting, "certificate_no": f"{c.rng.randint(1, 300)}/GCN-UBND"},
            c.actor("commune_officer"),
            body=c.body("commune_committee"),
            doc=c.doc("{n}/GCN-UBND", "Mẫu số 26a" if not c.pre22 else None),
            basis=("ND116/2021", "Art 32") if not c.pre22 else ("ND94/2010", None),
        )
        c.completed = "voluntary"
        return post_rehab
    accompany(c, c.t + (end - c.t) * c.rng.uniform(0.2, 0.8), "community")
    if outcome == "quit":
        c.record(
            "TreatmentQuit",
            {"kind": "quit", "last_attended_on": c.t.date() - timedelta(days=c.rng.randint(5, 12))},
            c.actor("commune_officer"),
            body=c.body("commune_committee"),
            basis=basis,
        )
        return violation(c, "quit")
    drug_test(c, c.t, True, c.actor("commune_police"), c.commune.code)
    return violation(c, "used_during_treatment")


def voluntary_at_facility(c: Course) -> Phase | None:
    facility = c.facility
    staff = c.facility_staff(facility)
    c.wait_wd(1, 5)
    c.record(
        "AdmittedToFacility",
        {"facility": facility.name, "admission_kind": "voluntary"},
        staff,
        body=c.body("rehab_facility", PROVINCE),
    )
    c.record(
        "TreatmentStarted",
        {"setting": "facility", "provider": facility.name},
        staff,
        at=c.wait(hours=2),
        body=c.body("rehab_facility", PROVINCE),
    )
    end = c.office(add_months(c.t.date(), c.planned_months))
    if c.chance("facility_quit", 0.15):
        accompany(c, c.t + (end - c.t) * c.rng.uniform(0.1, 0.6), "facility")
        kind = c.rng.choice(("quit", "expelled"))
        c.record(
            "TreatmentQuit",
            {"kind": kind, "last_attended_on": c.t.date()},
            staff,
            body=c.body("rehab_facility", PROVINCE),
        )
        c.record(
            "ReleasedFromFacility",
            {"facility": facility.name},
            staff,
            at=c.wait(hours=1),
            body=c.body("rehab_facility", PROVINCE),
        )
        return violation(c, "quit")
    accompany(c, end, "facility")
    certificate = f"{c.rng.randint(1, 500)}/GCN-CSCN"
    c.record(
        "ReleasedFromFacility",
        {"facility": facility.name, "certificate_no": certificate},
        staff,
        body=c.body("rehab_facility", PROVINCE),
        basis=("ND116/2021", "Art 38") if not c.pre22 else None,
    )
    c.record(
        "TreatmentCompleted",
        {"setting": "facility", "certificate_no": certificate},
        staff,
        at=c.wait(minutes=30),
        body=c.body("rehab_facility", PROVINCE),
        doc=c.doc(certificate, "Mẫu số 26b" if not c.pre22 else None),
    )
    c.completed = "voluntary"
    return post_rehab


def ost(c: Course) -> Phase | None:
    clinic = f"Cơ sở điều trị Methadone {c.area_label}"
    staff = c.actor("ost_staff")
    c.wait_wd(1, 5)
    c.record(
        "TreatmentStarted",
        {"setting": "ost", "provider": clinic},
        staff,
        body=c.body("ost_clinic"),
        basis=("ND116/2021", "Art 28") if not c.pre22 else None,
    )
    outcome = c.choose("ost_outcome", ("ongoing", "quit", "completed"), (55, 30, 15))
    if outcome == "ongoing":
        accompany(c, c.horizon + timedelta(days=1), "ost")
        return None
    if outcome == "quit":
        accompany(c, c.t + timedelta(days=c.rng.randint(60, 700)), "ost")
        c.record(
            "TreatmentQuit",
            {"kind": "quit", "last_attended_on": c.t.date() - timedelta(days=c.rng.randint(5, 15))},
            staff,
            body=c.body("ost_clinic"),
        )
        return violation(c, "ost_quit")
    accompany(c, c.t + timedelta(days=c.rng.randint(540, 1000)), "ost")
    c.record(
        "TreatmentCompleted",
        {"setting": "ost", "certificate_no": f"{c.rng.randint(1, 200)}/XN-MMT"},
        staff,
        body=c.body("ost_clinic"),
    )
    c.completed = "voluntary"
    return post_rehab


def violation(c: Course, kind: str) -> Phase | None:
    """A violation record (22+ Form 27), the basis for a compulsory dossier."""
    record_violation(c, kind)
    if c.pre22:
        if c.stable and not c.had_commune_education and not c.minor:
            return commune_education
        return dossier if not c.minor else register
    if not c.minor or c.t >= PL01_START:
        return dossier
    return register  # a minor before PL 01/2022: no court route yet, try again at home


def record_violation(c: Course, kind: str) -> None:
    """The commune police record the violation, within a few days."""
    c.violation = kind
    c.wait_days(0, 3)
    c.record(
        "ViolationRecorded",
        {"violation": kind},
        c.actor("commune_police"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/BB-VPHC", "Mẫu số 27" if not c.pre22 else None),
        basis=("ND116/2021", "Art 33") if not c.pre22 else None,
    )


# --- phase: compulsory rehab (commune education, dossier, court, execution) --------------------


def commune_education(c: Course) -> Phase | None:
    """Before 2022: the commune education measure comes before compulsory rehab (O2)."""
    c.had_commune_education = True
    c.wait_wd(3, 10)
    if not c.pre22:  # the measure no longer precedes compulsory rehab from 2022
        return dossier
    months = c.rng.choice((3, 3, 4, 6))
    c.record(
        "CommuneEducationDecided",
        {"months": months},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND"),
        basis=("LXLVPHC2012", "Art 90"),
    )
    end = c.office(add_months(c.t.date(), months))
    if c.choose("education_outcome", ("still_using", "completed"), (65, 35)) == "completed":
        accompany(c, end, "community")
        return closing("management_completed", "Chấp hành xong biện pháp giáo dục tại xã, phường")
    accompany(c, c.t + (end - c.t) * c.rng.uniform(0.3, 1.0), "community")
    detection(c, at=c.t, again=True)
    c.violation = "used_during_treatment"
    return dossier


DOSSIER_GROUNDS = {
    "not_registered": "Law73 Art 32(1)",
    "not_performed": "Law73 Art 32(1)",
    "quit": "Law73 Art 32(1)",
    "used_during_treatment": "Law73 Art 32(2)",
    "ost_quit": "Law73 Art 32(3)",
    "relapse_in_post_rehab": "Law73 Art 32(4)",
}


def dossier(c: Course) -> Phase | None:
    """Compile the compulsory-rehab dossier and take it to the court: through the Labour office
    until 28 Feb 2025; from 1 Mar 2025 the commune police compile it and send it directly."""
    did, minor, police = open_dossier(c)
    by_police = c.compiler_kind == "commune_police"
    if not c.pre22:
        interim(c, did, minor)
    if not c.chance("dossier_not_served", 0.05):
        serve_dossier(c, did, minor, police)
    reading_ends = add_working_days(c.t.date(), 3)
    check_on = add_working_days(reading_ends, c.rng.randint(1, 3))
    if check_on < REGIME_22.date():  # from 2022 the dossier is finished under the new law
        legality_check(c, did, check_on)
    if by_police:
        return send_to_court(c, did, minor, reading_ends)
    if c.chance("late_to_labour_office", 0.12):
        c.until(add_working_days(max(reading_ends, c.t.date()), c.rng.randint(5, 8)))
    else:
        c.until(add_working_days(max(reading_ends, c.t.date()), 1))
    c.record(
        "DossierSentToLabourOffice",
        {"dossier_id": did, "pages": c.rng.randint(18, 90)},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        basis=("ND116/2021", "Art 42") if not c.pre22 else ("LXLVPHC2012", "Art 104"),
    )
    if c.chance("labour_office_returns", 0.08):
        returned_for_supplement(c, did, "labour_office")
    labour = c.actor("labour_officer")
    c.wait_wd(3, 6) if c.chance("labour_office_late", 0.1) else c.wait_wd(1, 2)
    to_court = court_referral(c, did, minor)
    c.record(
        "DossierSentToCourt",
        to_court,
        labour,
        body=c.body("labour_office"),
        doc=c.doc(
            "{n}/CV-LĐTBXH", ("Mẫu số 39" if minor else "Mẫu số 34") if not c.pre22 else None
        ),
        basis=("ND116/2021", "Art 53" if minor else "Art 43")
        if not c.pre22
        else ("LXLVPHC2012", "Art 104"),
    )
    if c.chance("court_returns", 0.05):
        returned_for_supplement(c, did, "court")
        c.wait_wd(1, 2)
        c.record("DossierSentToCourt", to_court, labour, body=c.body("labour_office"))
    return court


def open_dossier(c: Course) -> tuple[str, bool, Actor]:
    """The dossier is opened a few working days after the violation; returns its id, whether
    it follows the minors' route, and the commune police officer who compiles it."""
    c.rounds += 1
    c.dossiers += 1
    c.wait_wd(7, 12) if c.chance("dossier_late", 0.08) else c.wait_wd(1, 5)
    minor = c.minor_route = c.minor
    did = f"HS-{c.commune.code[-5:]}-{c.t.year}-{c.dossiers:02d}"
    c.dossier_id = did
    police = c.actor("commune_police")
    by_police = c.compiler_kind == "commune_police"
    basis: tuple[str, str | None]
    if c.pre22:
        ground, basis = "LXLVPHC2012 Art 96", ("ND221/2013", None)
    else:
        ground = "Law73 Art 33" if minor else DOSSIER_GROUNDS.get(c.violation, "Law73 Art 32(1)")
        basis = ("ND116/2021", "Art 50" if minor else "Art 40")
    c.record(
        "DossierOpened",
        {
            "dossier_id": did,
            "compiler_unit": c.commune.code,
            "ground": ground,
            "route": "minor" if minor else "adult",
            "residence_status": "stable" if c.stable else "not_stable",
        },
        police,
        body=c.body(c.compiler_kind),
        doc=c.doc("{n}/CV-CA", None)
        if by_police
        else c.doc("{n}/CV-UBND", "Mẫu số 29" if not c.pre22 else None),
        basis=JC03 if by_police else basis,
    )
    return did, minor, police


def serve_dossier(c: Course, did: str, minor: bool, police: Actor) -> None:
    """The person (a minor's parent) is notified of the dossier and may read it for 3 wd."""
    by_police = c.compiler_kind == "commune_police"
    c.wait_wd(1, 3)
    served_on = "parent" if minor else c.rng.choices(("person", "legal_representative"), (92, 8))[0]
    c.record(
        "DossierServed",
        {"dossier_id": did, "served_on": served_on},
        police,
        body=c.body(c.compiler_kind),
        doc=c.doc("{n}/TB-CA", None)
        if by_police
        else c.doc("{n}/TB-UBND", "Mẫu số 32" if not c.pre22 else None),
        basis=("ND116/2021", "Art 42") if not c.pre22 else None,
    )


JC03 = ("TTLT03/2025", None)
"""Joint Circular 03/2025 (the commune police compile and send the dossier); articles unread."""


def court_referral(c: Course, did: str, minor: bool) -> dict[str, Any]:
    """What goes to the court with the dossier: the court, and the facility proposed."""
    facility = MINORS_FACILITY if minor else c.rng.choice(COMPULSORY_FACILITIES)
    c.facility = facility
    to_court = {
        "dossier_id": did,
        "court_unit": c.court_body()["unit"],
        "proposed_facility": facility.name,
    }
    if minor:
        to_court["child_rights_note"] = (
            "Đề nghị bảo đảm quyền được học tập của người chưa thành niên; "
            "gia đình có ý kiến đồng ý tại Mẫu số 38"
        )
    return to_court


def send_to_court(c: Course, did: str, minor: bool, reading_ends: date) -> Phase:
    """From 1 Mar 2025 the commune police send the dossier straight to the court (Joint
    Circular 03/2025: no Labour-office check). The demo keeps the day after the reading
    period that the Labour office had: the deadline that replaces it is unverified."""
    if c.chance("late_to_court", 0.12):
        c.until(add_working_days(max(reading_ends, c.t.date()), c.rng.randint(5, 8)))
    else:
        c.until(add_working_days(max(reading_ends, c.t.date()), 1))
    to_court = court_referral(c, did, minor)
    police = c.actor("commune_police")
    c.record(
        "DossierSentToCourt",
        to_court,
        police,
        body=c.body("commune_police"),
        doc=c.doc("{n}/CV-CA"),
        basis=JC03,
    )
    if c.chance("court_returns", 0.05):
        returned_for_supplement(c, did, "court")
        c.wait_wd(1, 2)
        to_court["court_unit"] = c.court_body()["unit"]
        c.record("DossierSentToCourt", to_court, police, body=c.body("commune_police"))
    return court


def court(c: Course) -> Phase | None:
    """The district court accepts, holds a session, decides; appeals; the decision takes effect."""
    did = c.dossier_id
    minor = c.minor_route
    clerk = c.actor("court_clerk")
    c.wait_wd(1, 3)
    court_body = c.court_body()
    if clerk.unit != court_body["unit"]:  # sent to a district court, accepted by a regional one
        clerk = c.actor("court_clerk")
    code, instrument = ordinance(c, minor)
    judge = c.staff("judge").name
    case_no = f"{c.rng.randint(1, 400)}/{c.t.year}/TLST-BPXLHC"
    wrong_no = c.chance("correct_court_case_no", 0.02)
    accepted = c.record(
        "CourtAccepted",
        {
            "dossier_id": did,
            "court_case_no": case_no.replace("/", "-", 1) if wrong_no else case_no,
            "judge": judge,
            "ordinance": code,
        },
        clerk,
        body=court_body,
        doc=c.doc(case_no),
        basis=court_basis(instrument, "Art 9"),
        pin=wrong_no,
    )
    if wrong_no:
        c.later(
            (1, 20),
            lambda: c.correct(accepted, {"court_case_no": case_no}, "Sửa số thụ lý theo sổ thụ lý"),
            allowed_when_closed=True,
        )
    opened_on = add_working_days(c.t.date(), c.rng.randint(1, 5))
    session_on = add_working_days(opened_on, c.rng.randint(2, 7))
    mode = "online" if c.t.year >= 2021 and c.rng.random() < 0.25 else "in_person"
    c.until(opened_on)
    c.record(
        "CourtSessionScheduled",
        {"dossier_id": did, "session_on": session_on, "mode": mode, "opened_on": opened_on},
        clerk,
        body=court_body,
        doc=c.doc("{n}/{y}/QĐ-MPH"),
        basis=court_basis(instrument, "Art 17"),
    )
    if c.chance("session_postponed", 0.07):
        c.until(session_on)
        session_on = add_working_days(session_on, c.rng.randint(3, 8))
        c.record(
            "CourtSessionPostponed",
            {
                "dossier_id": did,
                "new_session_on": session_on,
                "reason": c.rng.choice(
                    (
                        "Kiểm sát viên vắng mặt",
                        "Người bị đề nghị ốm, có giấy xác nhận",
                        "Đại diện cơ quan đề nghị vắng mặt",
                    )
                ),
            },
            clerk,
            body=court_body,
            basis=court_basis(instrument, "Art 20"),
        )
    c.until(session_on)
    court_body = c.court_body()  # a district court's case goes on at the regional court
    if clerk.unit != court_body["unit"]:
        clerk = c.actor("court_clerk")
    procurator = c.staff("procurator").name
    proposer = (
        f"Đại diện Phòng LĐTBXH {c.area_label}"
        if c.t < POLICE_TAKEOVER
        else f"Đại diện Công an {c.commune.label}"
    )
    attendees = [f"Thẩm phán {judge}", f"Kiểm sát viên {procurator}", proposer, "Người bị đề nghị"]
    if minor:
        attendees.append("Cha/mẹ của người bị đề nghị")
    c.record(
        "CourtSessionHeld",
        {"dossier_id": did, "procurator_present": c.rng.random() < 0.98, "attendees": attendees},
        clerk,
        body=court_body,
        basis=court_basis(instrument, "Art 21"),
    )
    c.wait(hours=c.rng.uniform(0.5, 3))
    outcome = c.choose("court_outcome", ("apply", "not_apply"), (93, 7))
    term = c.rng.choice((6, 9, 12, 12)) if minor else c.rng.choices((12, 18, 24), (25, 25, 50))[0]
    decision: dict[str, Any] = {"dossier_id": did, "outcome": outcome, "announced_on": c.t.date()}
    if outcome == "apply":
        decision.update(term_months=term, facility=c.facility.name)
    c.record(
        "CourtDecisionIssued",
        decision,
        clerk,
        body=court_body,
        doc=c.doc("{n}/{y}/QĐ-TA"),
        basis=court_basis(instrument, "Art 21"),
    )
    if outcome != "apply":
        note(
            c,
            "normal",
            "Tòa án quyết định không áp dụng biện pháp; tiếp tục vận động cai nghiện tự nguyện.",
        )
        return register
    c.term_months = term
    announced = c.t.date()
    if c.chance("appeal", 0.07):
        kind = c.choose("appeal_kind", ("complaint", "protest", "petition"), (80, 15, 5))
        filed_by = {
            "complaint": "Người bị đề nghị",
            "protest": f"Viện kiểm sát nhân dân {c.area_label}",
            "petition": proposer.removeprefix("Đại diện "),
        }[kind]
        c.until(add_working_days(announced, c.rng.randint(1, 5)))
        c.record(
            "CourtDecisionAppealed",
            {"dossier_id": did, "kind": kind, "filed_by": filed_by, "filed_on": c.t.date()},
            clerk,
            body=court_body,
            basis=court_basis(instrument, "Art 32"),
        )
        c.wait_days(10, 25)
        appeal_outcome = c.choose("appeal_outcome", ("upheld", "modified"), (80, 20))
        appeal: dict[str, Any] = {"dossier_id": did, "outcome": appeal_outcome}
        if appeal_outcome == "modified":
            c.term_months = max(6 if minor else 12, term - 6)
            appeal["term_months"] = c.term_months
        c.record(
            "AppealDecided",
            appeal,
            c.actor("court_clerk", PROVINCE),
            body=c.body("provincial_court", PROVINCE),
            doc=c.doc("{n}/{y}/QĐ-PT"),
            basis=court_basis(instrument, "Art 37"),
        )
        effective = c.t.date()
    else:
        effective = add_working_days(announced, 5) + timedelta(days=1)
        c.until(effective)
    c.record(
        "CourtDecisionTookEffect",
        {"dossier_id": did, "effective_on": effective},
        clerk,
        body=court_body,
        basis=court_basis(instrument, "Art 24"),
    )
    return execution


def execution(c: Course) -> Phase | None:
    """Deferral, absconding before admission, escort and admission (E1-E8)."""
    did = c.dossier_id
    received = add_working_days(c.t.date(), c.rng.randint(1, 3))
    if c.chance("execution_deferred", 0.05):
        kind = c.choose("deferral_kind", ("postponed", "exempted"), (85, 15))
        c.wait_wd(2, 6)
        until = add_months(c.t.date(), c.rng.randint(1, 4)) if kind == "postponed" else None
        reason = (
            c.rng.choice(
                (
                    "Đang ốm nặng, có giấy xác nhận của bệnh viện cấp huyện",
                    "Gia đình có hoàn cảnh đặc biệt khó khăn",
                )
            )
            if kind == "postponed"
            else "Mắc bệnh hiểm nghèo"
        )
        deferral: dict[str, Any] = {"dossier_id": did, "kind": kind, "reason": reason}
        if until:
            deferral["until"] = until
        c.record(
            "ExecutionDeferred",
            deferral,
            c.actor("court_clerk"),
            body=c.court_body(),
            doc=c.doc("{n}/{y}/QĐ-TA", "Mẫu số 42a" if kind == "postponed" else "Mẫu số 42b"),
            basis=("ND116/2021", "Art 57") if not c.pre22 else ("LXLVPHC2012", "Art 111"),
        )
        if until is None:
            return closing(
                "other", "Được miễn chấp hành quyết định đưa vào cơ sở cai nghiện bắt buộc"
            )
        accompany(c, c.office(until), "community")
        received = c.t.date()
    police, police_body = c.escort_police()
    if c.chance("abscond_before_admission", 0.04):
        c.until(received)
        c.wait_days(1, 3)
        c.record("Absconded", {"phase": "before_admission"}, police, body=police_body)
        c.wait_days(0, 2)
        c.record(
            "SearchDecided",
            {},
            police,
            body=police_body,
            doc=c.doc(
                "{n}/QĐ-CAH" if police_body["kind"] == "district_police" else "{n}/QĐ-CA",
                "Mẫu số 41" if not c.pre22 else None,
            ),
            basis=("ND116/2021", "Art 56") if not c.pre22 else ("LXLVPHC2012", "Art 132"),
        )
        c.wait_days(5, 60)
        c.record(
            "Returned",
            {"how": "apprehended" if c.rng.random() < 0.8 else "voluntary"},
            police,
            body=police_body,
        )
        received = c.t.date()
    c.until(received)
    c.wait_days(8, 25) if c.chance("escort_late", 0.08) else c.wait_days(0, 5)
    custody = c.t - timedelta(hours=c.rng.uniform(1, 6))
    c.custody_start = custody
    c.record(
        "EscortedToFacility",
        {
            "dossier_id": did,
            "facility": c.facility.name,
            "custody_started_at": custody,
            "decision_received_on": received,
        },
        police,
        body=police_body,
        basis=("ND116/2021", "Art 54") if not c.pre22 else ("LXLVPHC2012", "Art 110"),
    )
    c.wait(hours=c.rng.uniform(1, 4))
    c.record(
        "AdmittedToFacility",
        {"facility": c.facility.name, "admission_kind": "compulsory"},
        c.facility_staff(c.facility),
        body=c.body("rehab_facility", PROVINCE),
        doc=c.doc("{n}/BB-TN", "Mẫu số 40" if not c.pre22 else None),
        basis=("ND116/2021", "Art 55") if not c.pre22 else None,
    )
    return facility_stay


# --- phase: in the facility and release -------------------------------------------------------


def facility_stay(c: Course) -> Phase | None:
    facility = c.facility
    staff = c.facility_staff(facility)
    body = c.body("rehab_facility", PROVINCE)
    minor = c.minor_route
    start = c.custody_start
    ends = c.office(add_months(start.date(), c.term_months))
    if c.chance("abscond_from_facility", 0.06):
        accompany(c, start + (ends - start) * c.rng.uniform(0.1, 0.4), "facility")
        c.record("Absconded", {"phase": "in_facility"}, staff, body=body)
        c.wait_days(0, 2)
        c.record(
            "SearchDecided",
            {},
            staff,
            body=body,
            doc=c.doc("{n}/QĐ-CSCN", "Mẫu số 41" if not c.pre22 else None),
            basis=("ND116/2021", "Art 56") if not c.pre22 else ("ND221/2013", None),
        )
        away = c.t
        c.wait_days(4, 80)
        c.record(
            "Returned",
            {"how": "apprehended" if c.rng.random() < 0.7 else "voluntary"},
            staff,
            body=body,
        )
        ends += c.t - away  # time absent does not count toward the term
    if c.chance("term_adjusted", 0.15):
        accompany(c, start + (ends - start) * c.rng.uniform(0.5, 0.75), "facility")
        kind = c.choose(
            "term_adjustment",
            ("reduction", "suspension", "temporary_removal", "exemption"),
            (75, 8, 10, 7),
        )
        months = c.rng.randint(1, 3) if kind == "reduction" else None
        adjustment: dict[str, Any] = {"kind": kind}
        if months:
            adjustment["months"] = months
        c.record(
            "TermAdjusted",
            adjustment,
            staff,
            body=c.court_body(facility),
            doc=c.doc("{n}/{y}/QĐ-TA", "Mẫu số 45" if kind == "temporary_removal" else None),
            basis=("ND116/2021", "Art 59" if kind == "temporary_removal" else "Art 58")
            if not c.pre22
            else ("LXLVPHC2012", "Art 112"),
        )
        if kind == "reduction" and months:
            ends = c.office(add_months(ends.date(), -months))
        elif kind == "exemption":
            ends = c.t + timedelta(days=c.rng.randint(1, 5))
    if ends > c.t + timedelta(days=30) and not c.chance("no_pre_release_notice", 0.05):
        days_before = (
            c.rng.randint(5, 12) if c.chance("pre_release_late", 0.1) else c.rng.randint(15, 25)
        )
        accompany(c, ends - timedelta(days=days_before), "facility")
        family = "cha mẹ" if minor else c.rng.choice(("vợ", "mẹ", "bố", "anh trai"))
        c.record(
            "PreReleaseNoticeSent",
            {
                "term_ends_on": ends.date(),
                "recipients": [
                    c.court_name(),
                    f"UBND {c.commune.label}",
                    f"Gia đình ({family})",
                ],
            },
            staff,
            body=body,
            doc=c.doc("{n}/TB-CSCN"),
            basis=("ND116/2021", "Art 62") if not c.pre22 else None,
        )
    accompany(c, ends, "facility")
    c.record(
        "ReleasedFromFacility",
        {"facility": facility.name, "certificate_no": f"{c.rng.randint(1, 900)}/GCN-CSCN"},
        staff,
        body=body,
        doc=c.doc("{n}/GCN-CSCN", "Mẫu số 46" if not c.pre22 else None),
        basis=("ND116/2021", "Art 62") if not c.pre22 else ("ND221/2013", None),
    )
    c.completed = "compulsory_minor" if minor else "compulsory_adult"
    if not c.chance("no_return_report", 0.05):
        c.wait_wd(6, 12) if c.chance("return_report_late", 0.1) else c.wait_wd(1, 5)
        c.record(
            "ReturnReported",
            {"reported_to": c.rng.choice(("commune_police", "commune_committee"))},
            c.actor("commune_police"),
            body=c.body("commune_police"),
            basis=("ND116/2021", "Art 62") if not c.pre22 else None,
        )
    return post_rehab


# --- phase: post-rehab management and relapse -------------------------------------------------


def post_rehab(c: Course) -> Phase | None:
    """Management at the place of residence: 2 years after an adult's compulsory rehab, else 1."""
    end = decide_post_rehab(c)
    if c.chance("relapse_in_post_rehab", 0.12):
        accompany(c, c.t + (end - c.t) * c.rng.uniform(0.1, 0.8), "post_rehab")
        return relapse_in_post_rehab
    return post_rehab_ends(c, end)


def decide_post_rehab(c: Course) -> datetime:
    """The commune chairman's decision (Form 51), a few working days from now; returns when
    the management ends."""
    years = 2 if c.completed == "compulsory_adult" else 1
    if c.pre22:
        years = c.rng.choice((1, 2))
    c.wait_wd(7, 12) if c.chance("post_rehab_decision_late", 0.08) else c.wait_wd(2, 5)
    starts = c.t.date()
    ends = add_months(starts, 12 * years) - timedelta(days=1)
    c.record(
        "PostRehabManagementDecided",
        {
            "starts_on": starts,
            "ends_on": ends,
            "mentor": full_name(c.rng, c.rng.choice(("male", "female"))),
        },
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/QĐ-UBND", "Mẫu số 51" if not c.pre22 else None),
        basis=("ND116/2021", "Art 78") if not c.pre22 else ("ND94/2009", None),
    )
    return c.office(ends)


def post_rehab_ends(c: Course, end: datetime) -> Phase | None:
    """The management runs its course to ``end`` and is completed; the case closes."""
    accompany(c, end, "post_rehab")
    c.wait_wd(0, 5)
    c.record(
        "PostRehabManagementCompleted",
        {"certificate_no": f"{c.rng.randint(1, 200)}/GCN-UBND"},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
        doc=c.doc("{n}/GCN-UBND", "Mẫu số 54" if not c.pre22 else None),
        basis=("ND116/2021", "Art 81") if not c.pre22 else None,
    )
    return closing("management_completed", "Hoàn thành quản lý sau cai nghiện")


def relapse_in_post_rehab(c: Course) -> Phase | None:
    """A surprise test during post-rehab is positive and a doctor finds the person addicted (P6)."""
    police = c.staff("commune_police")
    c.record(
        "PostRehabCheckIn",
        {"kind": "drug_test", "by": police.name},
        police.actor,
        body=c.body("commune_police"),
    )
    c.substances = pick_substances(c)
    test = drug_test(c, c.wait(minutes=30), True, police.actor, c.commune.code, pin=True)
    _, determined = determination(c, ground="d" if not c.pre22 else None, force_addicted=True)
    c.wait(hours=c.rng.uniform(1, 48))
    c.record(
        "RelapseRecorded",
        {"evidence_event_ids": [test, determined], "substances": c.substances},
        police.actor,
        body=c.body("commune_police"),
        basis=("ND116/2021", "Art 3") if not c.pre22 else None,
    )
    if c.pre22 or c.minor:
        return register
    return violation(c, "relapse_in_post_rehab")


def relapse_after_closure(c: Course) -> Phase | None:
    """Months after the case closed the person is caught using again: reopen, determine, relapse."""
    c.wait_days(60, 540)
    detected_at = c.t
    c.wait(hours=c.rng.uniform(1, 20))
    c.record(
        "CaseReopened",
        {"reason": "Phát hiện sử dụng ma túy trở lại sau khi kết thúc quản lý"},
        c.actor("commune_officer"),
        body=c.body("commune_committee"),
    )
    test = detection(c, at=detected_at, again=True)
    _, determined = determination(c, ground="a" if not c.pre22 else None, force_addicted=True)
    c.wait(hours=c.rng.uniform(1, 48))
    c.record(
        "RelapseRecorded",
        {"evidence_event_ids": [test, determined], "substances": c.substances},
        c.actor("commune_police"),
        body=c.body("commune_police"),
        basis=("ND116/2021", "Art 3") if not c.pre22 else None,
    )
    return register


# --- phase: closure ---------------------------------------------------------------------------


def closing(reason: str, note_text: str | None, reopen: bool = True) -> Phase:
    def close(c: Course) -> Phase | None:
        c.wait_wd(0, 4)
        data: dict[str, Any] = {"reason": reason}
        if note_text:
            data["note"] = note_text
        c.record("CaseClosed", data, c.actor("commune_officer"), body=c.body("commune_committee"))
        if c.chance("note_after_closure", 0.05):
            c.wait_days(5, 90)
            note(c, "normal", "Gia đình đến hỏi về việc cấp giấy xác nhận đã hoàn thành quản lý.")
        if (
            reopen
            and reason == "management_completed"
            and c.rounds < 6
            and c.chance("relapse_after_closure", 0.1)
        ):
            return relapse_after_closure
        return None

    return close
