"""1a. Drug-user management (22+): ND105/2021, Law 73 Arts 22-26."""

from __future__ import annotations

from domain.compliance.context import Context
from domain.compliance.rules._common import iso, term_is
from domain.compliance.spec import (
    LAW73,
    Check,
    Deadline,
    Rule,
    When,
    data_is,
    on,
    wd,
)
from domain.state import Entry

_ADDICTION_ROUTE = on(
    "AddictionDetermined",
    "DossierOpened",
    "VoluntaryTreatmentRegistered",
    where=lambda e: e.type != "AddictionDetermined" or e.data["conclusion"] == "addicted",
)


def _one_year_term(entry: Entry, ctx: Context) -> str | None:
    starts, ends = iso(entry.data["starts_on"]), iso(entry.data["ends_on"])
    if starts and ends and not term_is(starts, ends, 12):
        return f"management term {starts} to {ends} is not 1 year"
    return None


def _minor_consent(entry: Entry, ctx: Context) -> str | None:
    age = ctx.age_at(entry)
    if age is not None and age < 18 and entry.data.get("guardian_consent") is not True:
        return f"{entry.data['sample']} sample from a person aged {age} without guardian consent"
    return None


RULES = (
    Rule(
        "U3",
        "Residence verified within 3 working days of detection",
        "ND105 Art 41(1)",
        LAW73,
        Deadline(on("DrugUseDetected"), on("ResidenceVerified"), wd(3), "Residence verified"),
        when=When(remote_area=False),
    ),
    Rule(
        "U3",
        "Residence verified within 10 working days of detection (remote area)",
        "ND105 Art 41(1)",
        LAW73,
        Deadline(on("DrugUseDetected"), on("ResidenceVerified"), wd(10), "Residence verified"),
        when=When(remote_area=True),
    ),
    Rule(
        "U6",
        "User-management decision within 3 wd of the notice (sent ≤3 wd after verification)",
        "ND105 Art 41(5)-(6), 42; Law 73 Art 23(4)",
        LAW73,
        Deadline(
            on("ResidenceVerified"),
            on("UserManagementDecided"),
            wd(6),
            "User management decided",
            unless=_ADDICTION_ROUTE,
        ),
        when=When(after=on("DrugTestRecorded", where=data_is("result", "positive"))),
    ),
    Rule(
        "U7",
        "User management lasts 1 year",
        "Law 73 Art 23(2); ND105 Art 43",
        LAW73,
        Check(on("UserManagementDecided"), _one_year_term),
        severity="low",
    ),
    Rule(
        "U11",
        "End (or stop) of user management decided within 3 wd of the term's end",
        "ND105 Art 48(2)-(3)",
        LAW73,
        Deadline(
            on("UserManagementDecided"),
            on("UserManagementEnded", "UserManagementStopped"),
            wd(3),
            "User management ended",
            start=lambda e: iso(e.data["ends_on"]),
            # a renewal (new use detected) starts a new 1-year term in place of this one (U7)
            unless=on("CaseClosed", "UserManagementDecided"),
        ),
        severity="low",
    ),
    Rule(
        "U12",
        "A minor is tested (other than urine) only with guardian consent",
        "ND105 Art 46(4)",
        LAW73,
        Check(on("DrugTestRecorded", where=lambda e: e.data["sample"] != "urine"), _minor_consent),
        severity="high",
    ),
)
