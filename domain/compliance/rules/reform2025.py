"""The 2025 reorganisation (delta X25-*): who acts from 1 Mar 2025 and from 1 Jul 2025, and the
limitation for compulsory rehab.

- 1 Mar 2025 (regimes 25A, and on): the Ministry of Public Security runs rehab (Decree
  02/2025); the commune police chief compiles the compulsory-rehab dossier and sends it to
  court (JC 03/2025); district police and the Labour offices are gone.
- 1 Jul 2025 (25B, and on): two-tier local government, no districts (Res. 202/2025/QH15);
  regional people's courts and procuracies (Res. 81/2025/UBTVQH15, Ordinance 08/2025).

One event, one finding about its actor: X25-06 says an abolished body acted; the rules that
name the competent body (K1, X25-01, X25-02, X25-03, X25-04, X25-05, X25-09) stay silent about
an abolished one (``abolished_body``), so a district court acting in August 2025 draws X25-06
only, and a provincial court doing the regional court's work draws X25-04 only.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.compliance.calendar import add_months
from domain.compliance.context import Context
from domain.compliance.rules._common import (
    ABOLISHED,
    DETECTED_USE,
    abolished_body,
    body_kind,
    day,
)
from domain.compliance.rules.court import SAME, _procurator_present
from domain.compliance.rules.dossier import reading_period_respected
from domain.compliance.spec import (
    ALWAYS,
    FROM_25A,
    FROM_25B,
    LAW73,
    MPS_TAKEOVER,
    TWO_TIER,
    Check,
    Deadline,
    Requires,
    Rule,
    When,
    data_is,
    on,
    wd,
)
from domain.events import CATALOGUE, unit_codes
from domain.state import Entry
from domain.units import registry

EVERY_EVENT = on(*(t for t in CATALOGUE if t not in ("EntryCorrected", "EntryVoided")))

COMPILING_POLICE = ("commune_police", "provincial_police")
"""JC 03/2025: the commune police chief of the residence (or of the place of the violation).
A provincial police unit for a case it found is "actor unclear" in the delta: not a finding."""

COURT_ACTS = on(
    "CourtAccepted",
    "CourtSessionScheduled",
    "CourtSessionPostponed",
    "CourtSessionHeld",
    "CourtDecisionIssued",
    "DossierReturnedForSupplement",
    where=lambda e: e.type != "DossierReturnedForSupplement" or e.data["returned_by"] == "court",
)
"""The first-instance court's acts on a dossier, from its acceptance to its decision."""

ESCORTING_POLICE = ("commune_police", "provincial_police", "rehab_facility")
"""X25-09 (R): the commune or provincial police escort and search; the facilities became
provincial police units on 1 Mar 2025, so a facility's own search decision is theirs too."""

_APPLIED = on("CourtDecisionIssued", where=data_is("outcome", "apply"))


def _by_the_commune_police(entry: Entry, ctx: Context) -> str | None:
    kind = body_kind(entry)
    if kind is None or kind in COMPILING_POLICE or abolished_body(entry):
        return None
    what = "compiled" if entry.type == "DossierOpened" else "sent to court"
    return (
        f"dossier {what} by a {kind} on {day(entry)}; from 1 Mar 2025 the commune police chief "
        "compiles it and sends it to court"
    )


def _no_labour_office_step(entry: Entry, ctx: Context) -> str | None:
    if abolished_body(entry):
        return None  # X25-06: the Labour office itself acted
    return (
        f"{entry.type} on {day(entry)}: the Labour office's check was abolished on "
        f"{MPS_TAKEOVER}; the commune police send the dossier to court"
    )


def _regional_court(entry: Entry, ctx: Context) -> str | None:
    kind = body_kind(entry)
    if kind is None or kind == "regional_court" or abolished_body(entry):
        return None
    return (
        f"{entry.type} by a {kind} on {day(entry)}; from {TWO_TIER} the regional people's court "
        "(TAND khu vực) hears the dossier"
    )


def _provincial_court_on_appeal(entry: Entry, ctx: Context) -> str | None:
    kind = body_kind(entry)
    if kind is None or kind == "provincial_court" or abolished_body(entry):
        return None
    return f"appeal decided by a {kind} on {day(entry)}; the provincial court hears appeals"


def _protest_by_a_procuracy(entry: Entry, ctx: Context) -> str | None:
    kind = body_kind(entry)
    if kind is None or kind in ("regional_procuracy", "procuracy") or abolished_body(entry):
        return None
    return f"protest lodged by a {kind} on {day(entry)}; a protest is a procuracy's act"


def _abolished_on(*kinds: str) -> Callable[[Entry, Context], str | None]:
    def test(entry: Entry, ctx: Context) -> str | None:
        kind = abolished_body(entry)
        if kind not in kinds:
            return None
        return f"{entry.type} by a {kind} on {day(entry)}: actor abolished on {ABOLISHED[kind]}"

    return test


def _escorted_by_the_police(entry: Entry, ctx: Context) -> str | None:
    kind = body_kind(entry)
    if kind is None or kind in ESCORTING_POLICE or abolished_body(entry):
        return None
    act = "escort" if entry.type == "EscortedToFacility" else "search decision"
    return f"{act} by a {kind} on {day(entry)}; from 1 Mar 2025 the commune or provincial police"


def _within_limitation(entry: Entry, ctx: Context) -> str | None:
    """3 months from the last violation to the decision; an evasion (absconding) between them
    restarts the count from its end, and one still running when the court decided leaves
    nothing to judge."""
    uses = [e for e in ctx.find(DETECTED_USE) if e.occurred_at <= entry.occurred_at]
    if not uses:
        return None
    last = day(uses[-1])
    start = last
    returns = ctx.find(on("Returned"))
    for absconded in ctx.find(on("Absconded")):
        if not uses[-1].occurred_at <= absconded.occurred_at <= entry.occurred_at:
            continue
        back = [r for r in returns if absconded.occurred_at <= r.occurred_at <= entry.occurred_at]
        if not back:
            return None
        start = max(start, day(back[0]))
    limit = add_months(start, 3)
    if day(entry) <= limit:
        return None
    since = (
        f"the last violation ({last})"
        if start == last
        else f"the end of the evasion ({start}; last violation {last})"
    )
    return f"decided on {day(entry)}, more than 3 months after {since}"


def _units_on_its_date(entry: Entry, ctx: Context) -> str | None:
    """X25-12: each org-unit code names a unit on the event's own day. Write-time validation
    refuses any other, except a pre-reform code no list holds (a commune merged before the
    2025 baseline, in an old record) and a historical import declaring an older code list:
    both are recorded, and reported here so that an inspector sees the unit was not mapped."""
    units = registry()
    on_day = day(entry)
    problems = []
    for path, code in unit_codes(entry.type, entry.data, entry.acting_body):
        if units.unit(code, on_day) is not None:
            continue
        if not units.known(code):
            problems.append(f"{path} {code}: unknown unit (no list of its date holds it)")
        else:
            listed = f" (recorded under the code list of {entry.unit_codes_as_of})"
            problems.append(
                f"{path} {code} names no unit on {on_day}"
                + (listed if entry.unit_codes_as_of else "")
            )
    return "; ".join(problems) or None


JC03 = "JC 03/2025/TTLT-BCA-VKSNDTC-TANDTC"

RULES = (
    Rule(
        "X25-12",
        "Org-unit codes name units on the event's date",
        "QĐ 19/2025/QĐ-TTg Arts 1-3; CV 1027/CTK-CSCL",
        ALWAYS,
        Check(on(*(t for t in CATALOGUE if t != "EntryVoided")), _units_on_its_date),
        confidence="S",
        severity="low",
    ),
    Rule(
        "X25-01",
        "Adult's dossier compiled and sent to court by the commune police chief (from 1 Mar 2025)",
        f"{JC03}; Decree 02/2025",
        FROM_25A,
        Check(on("DossierOpened", "DossierSentToCourt"), _by_the_commune_police),
        confidence="S",
        when=When(route="adult"),
    ),
    Rule(
        "X25-01-deadline",
        "Dossier opened within 5 wd of detecting an eligible adult (assumed unchanged)",
        f"ND116 Art 40(1), not shown amended by {JC03} (unverified)",
        FROM_25A,
        Deadline(on("ViolationRecorded"), on("DossierOpened"), wd(5), "Dossier opened"),
        confidence="R",
        when=When(min_age=18),
    ),
    Rule(
        "X25-02",
        "Minor's dossier compiled and sent to court by the commune police chief (from 1 Mar 2025)",
        f"{JC03}; Law 73 Art 34",
        FROM_25A,
        Check(on("DossierOpened", "DossierSentToCourt"), _by_the_commune_police),
        confidence="S",
        when=When(route="minor"),
    ),
    Rule(
        "X25-03",
        "No Labour-office step from 1 Mar 2025",
        f"{JC03}; Decree 184/2025 Art 17",
        FROM_25A,
        Check(
            on(
                "DossierSentToLabourOffice",
                "DossierReturnedForSupplement",
                where=lambda e: e.data.get("returned_by") in (None, "labour_office"),
            ),
            _no_labour_office_step,
        ),
        confidence="S",
    ),
    Rule(
        "X25-03-replacement",
        "Dossier sent to court ≤1 wd after the 3-wd reading period (replaces C6/C7)",
        "ND116 Art 42 as rewritten by Decree 184/2025 Art 17 (not read): a guess",
        FROM_25A,
        Deadline(
            on("DossierServed"), on("DossierSentToCourt"), wd(4), "Dossier sent to court", SAME
        ),
        confidence="R",
    ),
    Rule(
        "X25-03-replacement",
        "Notice served on the person before the dossier goes to court (replaces C4)",
        "LXLVPHC Art 104; ND116 Art 42 as rewritten by Decree 184/2025 (not read)",
        FROM_25A,
        Requires(on("DossierSentToCourt"), on("DossierServed"), SAME),
        confidence="R",
    ),
    Rule(
        "X25-03-replacement",
        "The 3-wd reading period is respected before the dossier goes to court (replaces C5)",
        "LXLVPHC Art 104; ND116 Art 42 as rewritten by Decree 184/2025 (not read)",
        FROM_25A,
        Check(on("DossierSentToCourt"), reading_period_respected),
        confidence="R",
    ),
    Rule(
        "X25-04",
        "From 1 Jul 2025 a regional people's court hears the dossier",
        "Res. 81/2025/UBTVQH15; Ordinance 08/2025/UBTVQH15; PL03 Art 3 and PL01 Art 3 as amended",
        # The act's own date, not the acceptance date: a district court accepting a dossier in
        # June 2025 could not decide it in July, for it no longer existed.
        FROM_25B,
        Check(COURT_ACTS, _regional_court),
        confidence="S",
    ),
    Rule(
        "X25-04",
        "From 1 Jul 2025 the provincial court decides appeals",
        "Res. 81/2025/UBTVQH15; Ordinance 08/2025/UBTVQH15",
        FROM_25B,
        Check(on("AppealDecided"), _provincial_court_on_appeal),
        confidence="S",
    ),
    Rule(
        "X25-05",
        "The procurator (regional procuracy) takes part in the session",
        "PL03 Art 4, 20(1); Res. 81/2025/UBTVQH15 (regional procuracies); practice",
        FROM_25B,
        Check(on("CourtSessionHeld"), _procurator_present),
        confidence="S",
        regime_by="court_acceptance",  # K7 judges the dossiers accepted before
        when=When(route="adult"),
        severity="high",
    ),
    Rule(
        "X25-05",
        "A protest comes from a procuracy (the regional one, or a higher one)",
        "PL03 Art 32; Res. 81/2025/UBTVQH15; practice",
        FROM_25B,
        Check(
            on("CourtDecisionAppealed", where=data_is("kind", "protest")), _protest_by_a_procuracy
        ),
        confidence="S",
    ),
    Rule(
        "X25-06",
        "Actor abolished: district police and Labour offices act no more from 1 Mar 2025",
        f"Decree 02/2025; {JC03}",
        FROM_25A,
        Check(EVERY_EVENT, _abolished_on("district_police", "labour_office")),
        confidence="S",
    ),
    Rule(
        "X25-06",
        "Actor abolished: district committees and district courts act no more from 1 Jul 2025",
        "Res. 202/2025/QH15; Res. 81/2025/UBTVQH15",
        FROM_25B,
        Check(EVERY_EVENT, _abolished_on("district_committee", "district_court")),
        confidence="S",
    ),
    Rule(
        "X25-09",
        "From 1 Mar 2025 the commune or provincial police escort and search",
        f"{JC03} (detail unread)",
        FROM_25A,
        Check(on("EscortedToFacility", "SearchDecided"), _escorted_by_the_police),
        confidence="R",
    ),
    Rule(
        "X25-10",
        "Decision within 3 months of the last violation (evading restarts the count)",
        "LXLVPHC Art 6(1)(d)-(đ) as amended by Law 67/2020; Art 96(1)",
        # Before 2022 the same limitation is O4 (Decree 221/2013 Art 4). X25-10 retires C9, the
        # R-graded placeholder it replaces: same count, now sourced (S), plus the restart.
        LAW73,
        Check(_APPLIED, _within_limitation),
        confidence="S",
        severity="high",
    ),
)
