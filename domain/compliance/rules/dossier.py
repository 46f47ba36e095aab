"""1d-1f. Compulsory-rehab dossier, management meanwhile, minors (22+): ND116 Arts 40-53.

The compiler's rules (C2, C2-body) and the Labour office's (C4-C8, J4) end on 1 Mar 2025; the
reorganisation's rules that follow them are in ``reform2025``."""

from __future__ import annotations

from domain.compliance.context import Context
from domain.compliance.rules._common import body_kind, day, same_dossier_before
from domain.compliance.spec import (
    LAW73,
    LAW73_TO_25A,
    MPS_TAKEOVER,
    Check,
    Deadline,
    Requires,
    Rule,
    When,
    data_is,
    on,
    wd,
)
from domain.state import Entry

COMPILERS = ("commune_committee", "district_police", "provincial_police")
"""ND116 Art 40(1): the commune chairman (the commune police only help), or the police that
detected the case. From 1 Mar 2025 the commune police chief compiles (X25-01, X25-02)."""

LABOUR_OFFICE_STEP = LAW73_TO_25A
"""The Labour office's steps (C4-C8, J4) end with the 2025 reorganisation: "the Phòng LĐTBXH
step disappears" (rulebook §3, S; delta X25-03). Anchors dated from 1 Mar 2025 are not judged,
nor is a deadline that fell due from that day (``Deadline.lapses_on``): the step could no longer
be taken. The replacement routing is X25-03-replacement (R, off by default)."""

NOT_A_MINORS_GROUND = on(
    "ViolationRecorded", where=lambda e: e.data["violation"] != "relapse_in_post_rehab"
)
"""Law 73 Art 33(1): a post-rehab relapse is a ground for adults only (J1)."""


def _adult_age(entry: Entry, ctx: Context) -> str | None:
    age = ctx.age_at(entry)
    if age is not None and age < 18:
        return f"adult route for a person aged {age}"
    return None


def _minor_age_and_ground(entry: Entry, ctx: Context) -> str | None:
    age = ctx.age_at(entry)
    if age is not None and not 12 <= age < 18:
        return f"minor route for a person aged {age} (12 to under 18 only)"
    if "32(4)" in entry.data["ground"] or "relapse" in entry.data["ground"].lower():
        return "relapse during post-rehab management is not a ground for a minor"
    return None


def _competent_compiler(entry: Entry, ctx: Context) -> str | None:
    kind = body_kind(entry)
    if kind is not None and kind not in COMPILERS:
        return (
            f"dossier compiled by a {kind}, not the commune chairman or the district or "
            "provincial police"
        )
    return None


def reading_period_respected(entry: Entry, ctx: Context) -> str | None:
    served = same_dossier_before(ctx, "DossierServed", entry)
    if not served:
        return None
    last_reading_day = ctx.calendar.add_working_days(day(served[0]), 3)
    if day(entry) <= last_reading_day:
        return (
            f"sent on {day(entry)}, within the 3-wd reading period "
            f"(it ran to {last_reading_day} inclusive)"
        )
    return None


def _checked_by_labour_office(entry: Entry, ctx: Context) -> str | None:
    kind = body_kind(entry)
    if kind is not None and kind != "labour_office":
        return f"dossier sent to court by a {kind}, not the Labour office"
    return None


def _family_management_allowed(entry: Entry, ctx: Context) -> str | None:
    problems = []
    if ctx.residence_at(entry) != "stable":
        problems.append("no stable residence")
    if not entry.data["family_consent"]:
        problems.append("no written family consent (Form 35)")
    return "family management with " + " and ".join(problems) if problems else None


def _dossier_steps(route: str, ids: dict[str, str], source: str) -> tuple[Rule, ...]:
    """The notice, reading period, Labour office and supplement steps (same for both routes)."""
    when = When(route=route)  # type: ignore[arg-type]
    same = ("dossier_id",)
    return (
        Rule(
            ids["C4"],
            "Notice served on the person before the dossier goes to the Labour office",
            f"ND116 Art 42(1)-(2); {source}",
            LABOUR_OFFICE_STEP,
            Requires(on("DossierSentToLabourOffice"), on("DossierServed"), same),
            when=when,
            severity="high",
        ),
        Rule(
            ids["C5"],
            "The 3-wd reading period is respected",
            f"ND116 Art 42(3); {source}",
            LABOUR_OFFICE_STEP,
            Check(on("DossierSentToLabourOffice"), reading_period_respected),
            when=when,
            severity="high",
        ),
        Rule(
            ids["C6"],
            "Dossier sent to the Labour office ≤1 wd after the 3-wd reading period",
            f"ND116 Art 42(4); LXLVPHC Art 104(1); {source}",
            LABOUR_OFFICE_STEP,
            Deadline(
                on("DossierServed"),
                on("DossierSentToLabourOffice"),
                wd(4),
                "Dossier sent to the Labour office",
                same,
                lapses_on=MPS_TAKEOVER,
            ),
            when=when,
        ),
        Rule(
            ids["C7"],
            "Labour office checks within 2 wd: to court, or back for supplement",
            f"ND116 Art 43(1)-(2); LXLVPHC Art 104; {source}",
            LABOUR_OFFICE_STEP,
            Deadline(
                on("DossierSentToLabourOffice"),
                on("DossierSentToCourt", "DossierReturnedForSupplement"),
                wd(2),
                "Dossier sent to court",
                same,
                lapses_on=MPS_TAKEOVER,
            ),
            when=when,
        ),
        Rule(
            ids["C7"],
            "Supplement provided within 2 wd of the return",
            f"ND116 Art 43(2); {source}",
            LABOUR_OFFICE_STEP,
            Deadline(
                on("DossierReturnedForSupplement", where=data_is("returned_by", "labour_office")),
                on("DossierSupplemented"),
                wd(2),
                "Dossier supplemented",
                same,
                lapses_on=MPS_TAKEOVER,
            ),
            when=when,
        ),
        Rule(
            ids["C7"],
            "Supplemented dossier sent to court within 2 wd",
            f"ND116 Art 43(2); {source}",
            LABOUR_OFFICE_STEP,
            Deadline(
                on("DossierSupplemented"),
                on("DossierSentToCourt"),
                wd(2),
                "Dossier sent to court",
                same,
                lapses_on=MPS_TAKEOVER,
            ),
            when=when,
        ),
        Rule(
            ids["C7-body"],
            "The dossier goes to court through the Labour office",
            f"ND116 Art 43(1); {source}",
            LABOUR_OFFICE_STEP,
            Check(on("DossierSentToCourt"), _checked_by_labour_office),
            when=when,
        ),
    )


RULES = (
    Rule(
        "C1",
        "Adult route only for persons aged 18 or over",
        "Law 73 Art 32; LXLVPHC Art 96(1)",
        LAW73,
        Check(on("DossierOpened", where=data_is("route", "adult")), _adult_age),
        severity="high",
    ),
    Rule(
        "C2",
        "Dossier opened within 5 wd of detecting an eligible adult",
        "ND116 Art 40(1)",
        LAW73_TO_25A,  # from 1 Mar 2025: X25-01-deadline (R)
        Deadline(on("ViolationRecorded"), on("DossierOpened"), wd(5), "Dossier opened"),
        when=When(min_age=18),
    ),
    Rule(
        "C2-body",
        "Dossier compiled by the commune chairman or the police",
        "ND116 Art 40(1); LXLVPHC Art 103",
        LAW73_TO_25A,  # from 1 Mar 2025: X25-01, X25-02
        Check(on("DossierOpened"), _competent_compiler),
    ),
    Rule(
        "C3",
        "Dossier rests on a violation record (Form 27)",
        "ND116 Art 41, 33",
        LAW73,
        Requires(on("DossierOpened"), on("ViolationRecorded")),
    ),
    *_dossier_steps(
        "adult", {"C4": "C4", "C5": "C5", "C6": "C6", "C7": "C7", "C7-body": "C7-body"}, "adults"
    ),
    Rule(
        "C8",
        "Answer to the court's request within 2 wd",
        "ND116 Art 43(3)",
        LABOUR_OFFICE_STEP,
        Deadline(
            on("DossierReturnedForSupplement", where=data_is("returned_by", "court")),
            on("DossierSupplemented"),
            wd(2),
            "Dossier supplemented",
            ("dossier_id",),
            lapses_on=MPS_TAKEOVER,
        ),
    ),
    Rule(
        "M1",
        "Family management only with a stable residence and written family consent",
        "ND116 Art 44-46; LXLVPHC Art 131",
        LAW73,
        Check(
            on("InterimManagementDecided", where=data_is("form", "family")),
            _family_management_allowed,
        ),
        severity="high",
    ),
    Rule(
        "J1",
        "Minor route only for ages 12 to under 18, and not for a post-rehab relapse",
        "Law 73 Art 33(1),(4)",
        LAW73,
        Check(on("DossierOpened", where=data_is("route", "minor")), _minor_age_and_ground),
        severity="high",
    ),
    Rule(
        "J3",
        "Minor's dossier opened within 5 wd of detection",
        "ND116 Art 50-51; Law 73 Art 34(1)",
        LAW73,
        Deadline(NOT_A_MINORS_GROUND, on("DossierOpened"), wd(5), "Dossier opened"),
        when=When(min_age=12, below_age=18),
    ),
    *_dossier_steps(
        "minor",
        {"C4": "J4", "C5": "J4", "C6": "J4", "C7": "J4", "C7-body": "J4"},
        "Law 73 Art 34(2)-(4); ND116 Art 52-53",
    ),
)
