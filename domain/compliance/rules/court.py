"""1g. Court stage: PL 03/2022 (adults, from 01/02/2023), PL 01/2022 (minors, from 24/03/2022).

Court rules follow the ordinance in force on the dossier's acceptance date (PL03 Art 44), so a
case accepted under PL 09/2014 keeps being judged by it (whose deadlines are unverified: K16).

Ordinance 08/2025 amended both ordinances for the regional courts from 1 Jul 2025, and its text
was not read (delta X25-04: "deadlines unchanged" is R). So the deadline rules (K2, K5, K6,
K10, K13) judge dossiers accepted before 1 Jul 2025 as before, and those accepted from that day
only as unverified rules of the same id, off by default (``_assumed_unchanged``). Who acts from
that day is X25-04 and X25-05 (``reform2025``); K1 (the district court) and K7 end then.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from domain.compliance.context import Context
from domain.compliance.rules._common import (
    abolished_body,
    body_kind,
    day,
    iso,
    same_dossier_before,
)
from domain.compliance.spec import (
    ALWAYS,
    CT_PL01,
    LAW73,
    TWO_TIER,
    Check,
    Deadline,
    Regime,
    Requires,
    Rule,
    When,
    data_is,
    days,
    on,
    wd,
)
from domain.state import Entry

PL03_FROM = date(2023, 2, 1)
PL01_FROM = date(2022, 3, 24)
SAME = ("dossier_id",)

PL03_BEFORE_REGIONAL = Regime("CT-PL03", starts=PL03_FROM, ends=TWO_TIER)
PL01_BEFORE_REGIONAL = Regime("CT-PL01", starts=PL01_FROM, ends=TWO_TIER)
AMENDED_BY_PL08 = Regime("CT-25B+", starts=TWO_TIER)
"""Dossiers accepted from 1 Jul 2025: PL 03/2022 and PL 01/2022 as Ordinance 08/2025 amended
them (not read)."""
BEFORE_REGIONAL_COURTS = Regime("both", ends=TWO_TIER)


def _assumed_unchanged(rule: Rule) -> Rule:
    """The same rule for dossiers accepted from 1 Jul 2025, unverified (X25-04's R part)."""
    return replace(
        rule,
        regime=AMENDED_BY_PL08,
        confidence="R",
        source=f"{rule.source}, assumed unchanged by PL 08/2025/UBTVQH15 (not read)",
    )


def _ordinance_in_force(entry: Entry, ctx: Context) -> str | None:
    accepted, route = day(entry), ctx.route_of(entry)
    if route == "minor":
        if accepted < PL01_FROM:
            return None  # no ordinance for minors yet: an inference, judged by J6 (R)
        expected = "PL01_2022"
    else:
        expected = "PL03_2022" if accepted >= PL03_FROM else "PL09_2014"
    if entry.data["ordinance"] != expected:
        return f"accepted on {accepted} under {entry.data['ordinance']}; {expected} was in force"
    return None


def _no_ordinance_for_minors(entry: Entry, ctx: Context) -> str | None:
    if day(entry) < PL01_FROM:
        return f"no ordinance for minors was in force on {day(entry)} (PL 01/2022 from 24/03/2022)"
    return None


def _district_court(entry: Entry, ctx: Context) -> str | None:
    kind = body_kind(entry)
    if kind is not None and kind != "district_court" and not abolished_body(entry):
        return f"dossier accepted by a {kind}, not the district court"
    return None


def _returned_within_2_wd(entry: Entry, ctx: Context) -> str | None:
    sent = same_dossier_before(ctx, "DossierSentToCourt", entry)
    if not sent:
        return None
    due = ctx.calendar.add_working_days(day(sent[-1]), 2)
    if day(entry) > due:
        return f"incomplete dossier returned on {day(entry)}, after {due}"
    return None


def _decided_within_15_days(entry: Entry, ctx: Context) -> str | None:
    accepted = same_dossier_before(ctx, "CourtAccepted", entry)
    if not accepted or entry.data.get("complex_case"):
        return None
    due = ctx.calendar.add_days(day(accepted[0]), 15)
    if day(entry) > due:
        return f"decided on {day(entry)}, after {due} (15 days; the case is not marked complex)"
    return None


def _procurator_present(entry: Entry, ctx: Context) -> str | None:
    if not entry.data["procurator_present"]:
        return "session held without the procurator: it should have been postponed"
    return None


def _complaint_period_end(entry: Entry, ctx: Context) -> date | None:
    """The last day of the 5-wd complaint period of the dossier's latest decision before entry."""
    decisions = same_dossier_before(ctx, "CourtDecisionIssued", entry)
    if not decisions:
        return None
    announced = iso(decisions[-1].data["announced_on"]) or day(decisions[-1])
    return ctx.calendar.add_working_days(announced, 5)


def _complaint_in_time(entry: Entry, ctx: Context) -> str | None:
    filed, due = iso(entry.data["filed_on"]), _complaint_period_end(entry, ctx)
    if filed is not None and due is not None and filed > due:
        return f"complaint filed on {filed}, after the 5-wd period ended on {due}"
    return None


def _effect_after_complaint_period(entry: Entry, ctx: Context) -> str | None:
    effective, period_ends = iso(entry.data["effective_on"]), _complaint_period_end(entry, ctx)
    if effective is None or period_ends is None:
        return None
    if effective <= period_ends:
        return f"took effect on {effective}, before the complaint period ended ({period_ends})"
    appeals = same_dossier_before(ctx, "CourtDecisionAppealed", entry)
    if appeals and not same_dossier_before(ctx, "AppealDecided", entry):
        return "took effect while an appeal was pending"
    return None


SESSION_WITHIN_7_WD = Deadline(
    on("CourtSessionScheduled"),
    on("CourtSessionHeld"),
    wd(7),
    "Court session held",
    SAME,
    start=lambda e: iso(e.data.get("opened_on")) or day(e),
    unless=on("CourtSessionPostponed"),
)


def _court_rules(regime: object, route: str, confidence: str, source: str) -> tuple[Rule, ...]:
    when = When(route=route)  # type: ignore[arg-type]
    common = {"regime_by": "court_acceptance", "when": when, "confidence": confidence}
    return (
        Rule(
            "K5",
            "Decision within 30 days of acceptance (complex cases)",
            f"{source} Art 8",
            regime,  # type: ignore[arg-type]
            Deadline(
                on("CourtAccepted"),
                on("CourtDecisionIssued"),
                days(30),
                "Court decision issued",
                SAME,
            ),
            **common,  # type: ignore[arg-type]
        ),
        Rule(
            "K5",
            "Decision within 15 days of acceptance",
            f"{source} Art 8",
            regime,  # type: ignore[arg-type]
            Check(on("CourtDecisionIssued"), _decided_within_15_days),
            **common,  # type: ignore[arg-type]
        ),
        Rule(
            "K10",
            "Complaint filed within 5 wd of the announcement",
            f"{source} Art 32(1)",
            regime,  # type: ignore[arg-type]
            Check(
                on("CourtDecisionAppealed", where=data_is("kind", "complaint")), _complaint_in_time
            ),
            **common,  # type: ignore[arg-type]
        ),
    )


_DEADLINES = (
    Rule(
        "K2",
        "An incomplete dossier is returned within 2 wd",
        "PL03 Art 9(1)",
        PL03_BEFORE_REGIONAL,
        Check(
            on("DossierReturnedForSupplement", where=data_is("returned_by", "court")),
            _returned_within_2_wd,
        ),
        regime_by="court_acceptance",
        when=When(route="adult"),
    ),
    Rule(
        "K6",
        "Session held within 7 wd of the decision to open it",
        "PL03 Art 17(1), 21(1)",
        PL03_BEFORE_REGIONAL,
        SESSION_WITHIN_7_WD,
        regime_by="court_acceptance",
        when=When(route="adult"),
    ),
    Rule(
        "K13",
        "The decision takes effect only after the complaint period, or the appeal",
        "PL03 Art 24(1), 37",
        PL03_BEFORE_REGIONAL,
        Check(on("CourtDecisionTookEffect"), _effect_after_complaint_period),
        regime_by="court_acceptance",
        when=When(route="adult"),
        severity="high",
    ),
    *_court_rules(PL03_BEFORE_REGIONAL, "adult", "F", "PL03/2022"),
    *_court_rules(PL01_BEFORE_REGIONAL, "minor", "S", "PL01/2022"),
)
"""The court's deadlines for dossiers accepted before 1 Jul 2025."""

RULES = (
    Rule(
        "J6",
        "A minor's case before the court while no ordinance for minors was in force",
        "inference: Law 73 Art 33 from 01/01/2022, PL 01/2022 from 24/03/2022",
        LAW73,
        Check(on("CourtAccepted", "CourtDecisionIssued"), _no_ordinance_for_minors),
        when=When(route="minor"),
        confidence="R",
    ),
    Rule(
        "K1",
        "The district court receives the dossier",
        "PL03 Art 3; PL01 Art 3",
        BEFORE_REGIONAL_COURTS,  # from 1 Jul 2025: X25-04 (the regional court)
        Check(on("CourtAccepted"), _district_court),
        confidence="S",
    ),
    Rule(
        "K15",
        "The court applies the ordinance in force on the acceptance date",
        "PL03 Art 43-44; PL01/2022",
        ALWAYS,
        Check(on("CourtAccepted"), _ordinance_in_force),
        severity="high",
    ),
    Rule(
        "K2",
        "The court accepts the dossier before holding its session",
        "PL03 Art 9-10",
        ALWAYS,
        Requires(on("CourtSessionHeld", "CourtDecisionIssued"), on("CourtAccepted"), SAME),
        severity="high",
    ),
    Rule(
        "K6",
        "Session held within 7 wd of the decision to open it (minors)",
        "PL01 Art 21(1) (the 7-wd window is recalled, not read)",
        CT_PL01,
        SESSION_WITHIN_7_WD,
        regime_by="court_acceptance",
        when=When(route="minor"),
        confidence="R",
    ),
    Rule(
        "K7",
        "The procurator takes part in the session",
        "PL03 Art 4, 20(1)",
        PL03_BEFORE_REGIONAL,  # from 1 Jul 2025: X25-05 (the regional procuracy)
        Check(on("CourtSessionHeld"), _procurator_present),
        regime_by="court_acceptance",
        when=When(route="adult"),
        severity="high",
    ),
    Rule(
        "K13",
        "Only a decision to apply the measure takes effect for execution",
        "PL03 Art 24(1)",
        ALWAYS,
        Requires(
            on("CourtDecisionTookEffect"),
            on("CourtDecisionIssued", where=data_is("outcome", "apply")),
            SAME,
        ),
    ),
    *_DEADLINES,
    *(_assumed_unchanged(rule) for rule in _DEADLINES),
)
