"""1b. Addiction determination (22+): Law 73 Art 27, ND109/2021, TT18/2021."""

from __future__ import annotations

from domain.compliance.context import Context
from domain.compliance.rules._common import instant
from domain.compliance.spec import LAW73, Check, Deadline, Rule, When, data_is, days, on, wd
from domain.state import Entry


def _conclusion_follows_criteria(entry: Entry, ctx: Context) -> str | None:
    criteria = set(entry.data.get("criteria_met") or ())
    n = len(criteria)
    if n >= 3:
        expected = "addicted"
    elif n == 2 and 6 not in criteria:
        expected = "observation"
    else:
        expected = "not_addicted"
    if entry.data["conclusion"] != expected:
        return f"{n} criteria {sorted(criteria)} mean {expected}, not {entry.data['conclusion']}"
    return None


RULES = (
    Rule(
        "D5",
        "Determination result within 5 days of receiving the person",
        "TT18/2021 Art 5(2); Law 73 Art 27(4)",
        LAW73,
        Deadline(
            on("AddictionDeterminationRequested"),
            on("AddictionDetermined"),
            days(5),
            "Addiction determined",
            start=lambda e: instant(e.data.get("handed_over_at")),
        ),
    ),
    Rule(
        "D6",
        "Conclusion follows the diagnostic criteria (≥3 of 6: addicted)",
        "TT18 Art 3(4), 4",
        LAW73,
        Check(on("AddictionDetermined"), _conclusion_follows_criteria),
        severity="high",
    ),
    Rule(
        "D7",
        "Registration for voluntary rehab or OST within 5 wd of an addiction finding",
        "Law 73 Art 27(5)(c); ND116 Art 28(1)",
        LAW73,
        Deadline(
            on("AddictionDetermined", where=data_is("conclusion", "addicted")),
            on("VoluntaryTreatmentRegistered"),
            wd(5),
            "Voluntary treatment registered",
            unless=on("DossierOpened", "AdmittedToFacility"),
            or_else=on("ViolationRecorded"),
        ),
        when=When(min_age=12),
    ),
)
