"""2. The 2014-2021 regime, and the transition of Law 73 Art 55.

O4 is the limitation before 2022; from 2022 the same limitation is X25-10 (``reform2025``),
which retired C9, its unverified placeholder."""

from __future__ import annotations

from datetime import timedelta

from domain.compliance.calendar import add_months
from domain.compliance.context import Context
from domain.compliance.rules._common import DETECTED_USE, day, iso
from domain.compliance.spec import ALWAYS, LAW73, PRE22, Check, Requires, Rule, When, data_is, on
from domain.state import Entry


def _adult_term(entry: Entry, ctx: Context) -> str | None:
    months = entry.data.get("term_months")
    if months is not None and not 12 <= months <= 24:
        return f"adult compulsory rehab of {months} months, not 12-24"
    return None


def _minor_term(entry: Entry, ctx: Context) -> str | None:
    months = entry.data.get("term_months")
    if months is not None and not 6 <= months <= 12:
        return f"minor's compulsory rehab of {months} months, not 6-12"
    return None


def _within_limitation(entry: Entry, ctx: Context) -> str | None:
    uses = [e for e in ctx.find(DETECTED_USE) if e.occurred_at <= entry.occurred_at]
    if not uses:
        return None
    limit = add_months(day(uses[-1]), 3)
    if day(entry) > limit:
        last = day(uses[-1])
        return f"decided on {day(entry)}, more than 3 months after the last detected use ({last})"
    return None


def _old_post_rehab_term(entry: Entry, ctx: Context) -> str | None:
    """Law 2000 Art 33(1) (2008): "từ một năm đến hai năm", any term from 1 to 2 years."""
    starts, ends = iso(entry.data["starts_on"]), iso(entry.data["ends_on"])
    if starts is None or ends is None:
        return None
    shortest = add_months(starts, 12) - timedelta(days=1)  # the end day may be inclusive
    if not shortest <= ends <= add_months(starts, 24):
        return f"post-rehab term {starts} to {ends} is not between 1 and 2 years"
    return None


def _no_justice_check_after_2022(entry: Entry, ctx: Context) -> str | None:
    return "legality check by the Justice office, a step of the repealed regime"


_APPLIED = on("CourtDecisionIssued", where=data_is("outcome", "apply"))

RULES = (
    Rule(
        "O1",
        "Adult compulsory rehab lasts 12 to 24 months",
        "LXLVPHC Art 95; Law 73 Art 32",
        ALWAYS,
        Check(_APPLIED, _adult_term),
        when=When(route="adult"),
        confidence="S",
    ),
    Rule(
        "J2",
        "A minor's compulsory rehab lasts 6 to 12 months",
        "Law 73 Art 33(3)",
        LAW73,
        Check(_APPLIED, _minor_term),
        when=When(route="minor"),
    ),
    Rule(
        "O2",
        "Before 2022, an adult with a stable residence first had the commune education measure",
        "LXLVPHC 2012 Art 89-90; Decree 221/2013 Art 3",
        PRE22,
        Requires(on("DossierOpened"), on("CommuneEducationDecided")),
        when=When(route="adult", residence="stable"),
        confidence="S",
    ),
    Rule(
        "O4",
        "Decision within 3 months of the last detected use",
        "Decree 221/2013 Art 4",
        PRE22,
        Check(_APPLIED, _within_limitation),
        confidence="S",
    ),
    Rule(
        "O7",
        "Post-rehab management of 1 to 2 years",
        "Law 2000 Art 33 (2008); TT 05/2011",
        PRE22,
        Check(on("PostRehabManagementDecided"), _old_post_rehab_term),
        confidence="S",
        severity="low",
    ),
    Rule(
        "T55",
        "A dossier still open in 2022 is finished under Law 73 (no Justice-office check)",
        "Law 73 Art 55(1)(d); TT 19/2015 (repealed regime)",
        LAW73,
        Check(on("DossierLegalityChecked"), _no_justice_check_after_2022),
    ),
)
