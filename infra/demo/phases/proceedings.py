"""Pieces of the compulsory-rehab procedure that the ``dossier`` and ``court`` phases record
(interim management, the Justice office's legality check before 2022, a dossier returned for
supplement, the ordinance and articles the court cites), kept apart so that ``rehab`` holds the
phases themselves."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.events import Actor
from infra.demo.course import Course
from infra.demo.world import INTERIM_FACILITY, PL03_START, PROVINCE, SOCIAL_RECEPTION_CENTRE


def for_the_compiler(c: Course) -> tuple[Actor, dict[str, str], str]:
    """Who acts for the dossier's compiler now, its body, and the stamp on its papers: a commune
    officer for the commune committee until 28 Feb 2025, then the commune police (management
    while the dossier is pending follows the compiler: X25-13)."""
    if c.compiler_kind == "commune_committee":
        return c.actor("commune_officer"), c.body("commune_committee"), "UBND"
    return c.actor("commune_police"), c.body("commune_police"), "CA"


def interim(c: Course, did: str, minor: bool) -> None:
    """22+: management while the dossier is pending (M1): at home with the family's consent,
    or at a facility; decided by the dossier's compiler."""
    weights = (70, 28, 2) if c.stable else (0, 80, 20)
    form = c.choose("interim_form", ("family", "facility", "social_reception_centre"), weights)
    if form == "family" and not c.stable:
        form = "facility"
    c.wait_wd(0, 1)
    if form == "family":
        by, body, _ = for_the_compiler(c)
        c.record(
            "ConsentRecorded",
            {
                "scope": "family_management",
                "given_by": "guardian" if minor else "legal_representative",
            },
            by,
            body=body,
            doc=c.doc("{n}/ĐN", "Mẫu số 35"),
        )
    facility = (
        None
        if form == "family"
        else (INTERIM_FACILITY.name if form == "facility" else SOCIAL_RECEPTION_CENTRE)
    )
    data: dict[str, Any] = {"dossier_id": did, "form": form, "family_consent": form == "family"}
    if facility:
        data["facility"] = facility
    by, body, stamp = for_the_compiler(c)
    c.record(
        "InterimManagementDecided",
        data,
        by,
        body=body,
        doc=c.doc(f"{{n}}/QĐ-{stamp}", "Mẫu số 36"),
        basis=("ND116/2021", "Art 44"),
    )
    if form == "facility":
        c.wait(hours=c.rng.uniform(2, 24))
        c.record(
            "AdmittedToFacility",
            {"facility": INTERIM_FACILITY.name, "admission_kind": "interim"},
            c.facility_staff(INTERIM_FACILITY),
            body=c.body("rehab_facility", PROVINCE),
            doc=c.doc("{n}/BB-BG", "Mẫu số 37"),
        )
    if c.chance("abscond_interim", 0.03):
        c.wait_days(2, 8)
        by = c.facility_staff(INTERIM_FACILITY) if form == "facility" else c.actor("commune_police")
        c.record("Absconded", {"phase": "interim"}, by, basis=("ND116/2021", "Art 48"))
        c.wait_days(0, 2)
        search_decided(c)
        c.wait_days(3, 20)
        c.record(
            "Returned",
            {"how": c.rng.choice(("voluntary", "apprehended"))},
            c.actor("commune_police"),
            body=c.body("commune_police"),
        )


def search_decided(c: Course) -> None:
    """The compiler decides a search for a person who absconded while the dossier pends."""
    by, body, stamp = for_the_compiler(c)
    c.record("SearchDecided", {}, by, body=body, doc=c.doc(f"{{n}}/QĐ-{stamp}"))


def legality_check(c: Course, did: str, on: date) -> None:
    """Before 2022: the district Justice office checks the dossier's legality (O5)."""
    justice = c.actor("justice_officer")
    c.until(on)
    if c.chance("legality_invalid", 0.08):
        c.record(
            "DossierLegalityChecked",
            {"dossier_id": did, "result": "invalid"},
            justice,
            body=c.body("justice_office"),
            basis=("TT19/2015", None),
        )
        c.wait_wd(2, 5)
        c.record(
            "DossierSupplemented",
            {"dossier_id": did},
            c.actor("commune_police"),
            body=c.body("commune_committee"),
        )
        c.wait_wd(1, 3)
    c.record(
        "DossierLegalityChecked",
        {"dossier_id": did, "result": "valid"},
        justice,
        body=c.body("justice_office"),
        basis=("TT19/2015", None),
    )


def returned_for_supplement(c: Course, did: str, by: str) -> None:
    c.wait_wd(1, 2)
    reasons = c.rng.sample(
        (
            "Thiếu bản sao kết quả xác định tình trạng nghiện",
            "Bản tóm tắt lý lịch chưa có xác nhận",
            "Chưa đánh số bút lục",
            "Thiếu văn bản ý kiến của người bị đề nghị",
        ),
        c.rng.randint(1, 2),
    )
    c.record(
        "DossierReturnedForSupplement",
        {"dossier_id": did, "returned_by": by, "reasons": reasons},
        c.actor("labour_officer" if by == "labour_office" else "court_clerk"),
        body=c.body("labour_office") if by == "labour_office" else c.court_body(),
        doc=c.doc(
            "{n}/CV-LĐTBXH" if by == "labour_office" else "{n}/CV-TA",
            "Mẫu số 33" if by == "labour_office" and not c.pre22 else None,
        ),
    )
    c.wait_wd(1, 2) if c.rng.random() < 0.8 else c.wait_wd(4, 7)
    c.record(
        "DossierSupplemented",
        {"dossier_id": did},
        c.actor("commune_police"),
        body=c.body(c.compiler_kind),
    )


def ordinance(c: Course, minor: bool) -> tuple[str, str]:
    if minor:
        return "PL01_2022", "PL01/2022"
    return ("PL03_2022", "PL03/2022") if c.t >= PL03_START else ("PL09_2014", "PL09/2014")


def court_basis(instrument: str, article: str) -> tuple[str, str | None]:
    """Articles are cited for PL 03/2022 only: those of PL 09/2014 and PL 01/2022 are unverified."""
    return instrument, article if instrument == "PL03/2022" else None
