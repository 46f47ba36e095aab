"""1h-1j. Execution, the facility, release and post-rehab management (22+)."""

from __future__ import annotations

from datetime import timedelta

from domain.compliance.calendar import add_months
from domain.compliance.context import Context
from domain.compliance.rules._common import (
    compulsory_stay_before,
    day,
    instant,
    iso,
    term_is,
)
from domain.compliance.spec import (
    LAW73,
    Check,
    Deadline,
    Requires,
    Rule,
    When,
    data_is,
    days,
    local_day,
    on,
    wd,
)
from domain.state import Entry

SAME = ("dossier_id",)


def _escort_within_5_days_of_receipt(entry: Entry, ctx: Context) -> str | None:
    received = iso(entry.data.get("decision_received_on"))
    custody = instant(entry.data["custody_started_at"])
    if received is None or custody is None:
        return None
    due = ctx.calendar.add_days(received, 5)
    if local_day(custody) > due:
        return f"escorted on {local_day(custody)}, after {due} (5 days from receiving the decision)"
    return None


def _term_of(ctx: Context, escort: Entry) -> int | None:
    dossier = ctx.state.dossiers.get(escort.data["dossier_id"])
    return dossier.term_months if dossier else None


def _reduction_allowed(entry: Entry, ctx: Context) -> str | None:
    months = entry.data.get("months")
    if months is not None and months > 6:
        return f"reduction of {months} months (at most 3, or 6 for a meritorious act)"
    escort = compulsory_stay_before(ctx, entry)
    term = _term_of(ctx, escort) if escort else None
    custody = instant(escort.data["custody_started_at"]) if escort else None
    if custody is None or not term:
        return None
    start = local_day(custody)
    half = start + (add_months(start, term) - start) / 2
    if day(entry) < half:
        return f"reduction on {day(entry)}, before half the {term}-month term was served ({half})"
    return None


def _search_decided_after_absconding(entry: Entry, ctx: Context) -> str | None:
    absconded = [e for e in ctx.find(on("Absconded")) if e.occurred_at <= entry.occurred_at]
    if not absconded:
        return None
    searches = [
        e
        for e in ctx.find(on("SearchDecided"))
        if absconded[-1].occurred_at <= e.occurred_at <= entry.occurred_at
    ]
    if not searches:
        return f"returned without a search decision after absconding on {day(absconded[-1])}"
    return None


def _notice_15_days_before(entry: Entry, ctx: Context) -> str | None:
    ends = iso(entry.data["term_ends_on"])
    if ends is not None and day(entry) > ends - timedelta(days=15):
        return f"pre-release notice on {day(entry)}, less than 15 days before {ends}"
    return None


def _release_prepared(entry: Entry, ctx: Context) -> str | None:
    escort = compulsory_stay_before(ctx, entry)
    if escort is None:
        return None
    problems = []
    notices = [
        e
        for e in ctx.find(on("PreReleaseNoticeSent"))
        if escort.occurred_at <= e.occurred_at <= entry.occurred_at
    ]
    if not notices:
        problems.append("no pre-release notice")
    if not entry.data.get("certificate_no"):
        problems.append("no completion certificate (Form 46)")
    return "released with " + " and ".join(problems) if problems else None


def _post_rehab_term(entry: Entry, ctx: Context) -> str | None:
    starts, ends = iso(entry.data["starts_on"]), iso(entry.data["ends_on"])
    before = [
        e
        for e in ctx.find(on("EscortedToFacility", "TreatmentCompleted"))
        if e.occurred_at <= entry.occurred_at
    ]
    if starts is None or ends is None or not before:
        return None  # what preceded it is not in this record: cannot judge
    adult_compulsory = (
        before[-1].type == "EscortedToFacility" and ctx.route_of(before[-1]) == "adult"
    )
    years = 2 if adult_compulsory else 1
    if not term_is(starts, ends, 12 * years):
        after = (
            "an adult's compulsory rehab"
            if adult_compulsory
            else "voluntary rehab, OST or a minor's rehab"
        )
        return f"post-rehab term {starts} to {ends}; it is {years} year(s) after {after}"
    return None


def _completed_at_term_end(entry: Entry, ctx: Context) -> str | None:
    decisions = [
        e for e in ctx.find(on("PostRehabManagementDecided")) if e.occurred_at <= entry.occurred_at
    ]
    ends = iso(decisions[-1].data["ends_on"]) if decisions else None
    if ends is not None and day(entry) < ends:
        return f"post-rehab management completed on {day(entry)}, before its end on {ends}"
    return None


def _relapse_has_determination(entry: Entry, ctx: Context) -> str | None:
    cited = {
        e.event_id
        for e in ctx.find(on("AddictionDetermined", where=data_is("conclusion", "addicted")))
    }
    if not cited & set(entry.data.get("evidence_event_ids", ())):
        return "relapse recorded without citing an addiction determination that found addiction"
    return None


RULES = (
    Rule(
        "E1",
        "Escort within 5 days of receiving the decision (sent ≤3 days after effect)",
        "LXLVPHC Art 107, 110(1); ND116 Art 54",
        LAW73,
        # No ``same`` dossier: ``same`` applies to the ``unless`` events too, and an Absconded
        # carries no dossier_id; a case has one decision awaiting execution at a time.
        Deadline(
            on("CourtDecisionTookEffect"),
            on("EscortedToFacility"),
            days(8),
            "Escorted to the facility",
            start=lambda e: iso(e.data["effective_on"]),
            unless=on("ExecutionDeferred", "Absconded"),
        ),
    ),
    Rule(
        "E1",
        "Escort within 5 days of receiving the decision",
        "ND116 Art 54; LXLVPHC Art 110(1)",
        LAW73,
        Check(on("EscortedToFacility"), _escort_within_5_days_of_receipt),
    ),
    Rule(
        "E2",
        "Compulsory admission rests on a decision in effect",
        "ND116 Art 55",
        LAW73,
        Requires(
            on("AdmittedToFacility", where=data_is("admission_kind", "compulsory")),
            on("CourtDecisionTookEffect", "EscortedToFacility"),
        ),
        severity="high",
    ),
    Rule(
        "E8",
        "A search decision follows absconding",
        "ND116 Art 56; LXLVPHC Art 132(1)",
        LAW73,
        Check(on("Returned"), _search_decided_after_absconding),
    ),
    Rule(
        "F1",
        "Term reduced only after half the term, by at most 3 (or 6) months",
        "ND116 Art 58(1); LXLVPHC Art 112",
        LAW73,
        Check(on("TermAdjusted", where=data_is("kind", "reduction")), _reduction_allowed),
    ),
    Rule(
        "F7",
        "Pre-release notice at least 15 days before the term ends",
        "ND116 Art 62(1)",
        LAW73,
        Check(on("PreReleaseNoticeSent"), _notice_15_days_before),
    ),
    Rule(
        "F8",
        "Release from compulsory rehab with a notice and a completion certificate",
        "ND116 Art 62(1)-(2)",
        LAW73,
        Check(on("ReleasedFromFacility"), _release_prepared),
    ),
    Rule(
        "F9",
        "Return home reported within 5 wd",
        "ND116 Art 62(5)",
        LAW73,
        Deadline(
            on("ReleasedFromFacility"),
            on("ReturnReported"),
            wd(5),
            "Return reported",
            unless=on("CaseClosed", "CaseTransferred"),
        ),
        severity="low",
    ),
    Rule(
        "P1",
        "Post-rehab management lasts 2 years after an adult's compulsory rehab, else 1",
        "Law 73 Art 40(1)-(2)",
        LAW73,
        Check(on("PostRehabManagementDecided"), _post_rehab_term),
    ),
    Rule(
        "P3",
        "Post-rehab decision within 5 wd of the return report (dossier 3 wd + decision 2 wd)",
        "ND116 Art 77-78",
        LAW73,
        Deadline(
            on("ReturnReported"),
            on("PostRehabManagementDecided"),
            wd(5),
            "Post-rehab management decided",
            unless=on("CaseClosed", "CaseTransferred"),
        ),
    ),
    Rule(
        "P3",
        "Post-rehab decision within 5 wd of completing voluntary rehab or OST",
        "ND116 Art 77-78; Law 73 Art 40(1)",
        LAW73,
        Deadline(
            on("TreatmentCompleted"),
            on("PostRehabManagementDecided"),
            wd(5),
            "Post-rehab management decided",
            unless=on("CaseClosed", "CaseTransferred"),
        ),
    ),
    Rule(
        "P5",
        "Post-rehab management completed at the end of its term",
        "ND116 Art 81",
        LAW73,
        Check(on("PostRehabManagementCompleted"), _completed_at_term_end),
        severity="low",
    ),
    Rule(
        "P6",
        "A relapse rests on a determination of addiction",
        "ND116 Art 3(6); Law 73 Art 32(4)",
        LAW73,
        Check(on("RelapseRecorded"), _relapse_has_determination),
        when=When(),
        severity="medium",
    ),
)
