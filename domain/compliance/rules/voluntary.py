"""1c. Voluntary rehab and OST (22+): Law 73 Arts 28-31, ND116/2021."""

from __future__ import annotations

from domain.compliance.context import Context
from domain.compliance.spec import LAW73, LAW73_TO_26, Check, Deadline, Rule, When, data_is, on, wd
from domain.state import Entry


def _six_to_twelve_months(entry: Entry, ctx: Context) -> str | None:
    months = entry.data["planned_months"]
    if not 6 <= months <= 12:
        return f"{entry.data['setting']} rehab planned for {months} months, not 6-12"
    return None


RULES = (
    Rule(
        "V2",
        "Decision on family/community rehab or OST within 3 wd of registration",
        "ND116 Art 30",
        LAW73,
        Deadline(
            on("VoluntaryTreatmentRegistered"),
            on("VoluntaryTreatmentDecided"),
            wd(3),
            "Voluntary treatment decided",
        ),
        when=When(setting=("family", "community", "ost")),
    ),
    Rule(
        "V3",
        "Voluntary rehab lasts 6 to 12 months",
        "Law 73 Art 30(2), 31(1)",
        LAW73_TO_26,  # from 1 Jul 2026: L26-08 (24 or 36 months)
        Check(
            on(
                "VoluntaryTreatmentDecided",
                where=data_is("setting", "family", "community", "facility"),
            ),
            _six_to_twelve_months,
        ),
        severity="low",
    ),
    Rule(
        "V6",
        "Treatment started within 5 wd of the decision (else 'not performing')",
        "ND116 Art 3(4)",
        LAW73,
        Deadline(
            on("VoluntaryTreatmentDecided"),
            on("TreatmentStarted", "AdmittedToFacility"),
            wd(5),
            "Treatment started",
            or_else=on("TreatmentQuit", "ViolationRecorded"),
        ),
    ),
)
