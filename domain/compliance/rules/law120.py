"""Law 120/2025/QH15 amending the drug law, in force from 1 Jul 2026 (delta L26-*).

Only anchors dated from 1 Jul 2026 are judged: the law's transitional article was not read, so
neither the 24-hour duties nor the 24/36-month terms apply to what happened before (delta,
implementation notes). Its implementing decree was not read either: durations and conditions
"per Government decree" are not judged.
"""

from __future__ import annotations

from datetime import timedelta

from domain.compliance.context import Context
from domain.compliance.rules._common import body_kind, day, instant, iso
from domain.compliance.spec import (
    LAW120_FROM,
    R26,
    Check,
    Deadline,
    Rule,
    When,
    data_is,
    hours,
    local_day,
    on,
)
from domain.state import Entry

LAW120 = "Law 120/2025/QH15"

NO_LONGER_AT_LARGE = on(
    "ImprisonmentStarted",
    "CaseClosed",
    where=lambda e: e.type != "CaseClosed" or e.data["reason"] in ("deceased", "imprisoned"),
)
"""After a move, what makes the 24-hour duties moot: prison, or death."""

MONITORING_BASES = frozenset({"voluntary_rehab_home_or_community", "ost", "post_rehab_management"})
"""Law 120 Art 12: who may be monitored electronically (the names are ``Context.programmes_at``'s
and ``ElectronicMonitoringDecided.basis``'s)."""

ENDINGS = on(
    "ReleasedFromFacility",
    "PostRehabManagementCompleted",
    "TreatmentCompleted",
    where=lambda e: e.type != "ReleasedFromFacility" or bool(e.data.get("certificate_no")),
)
"""A term's end: a completion, or a release with a completion certificate (a release without
one may be the handover to prison itself)."""


def _told_the_departure_police(entry: Entry, ctx: Context) -> str | None:
    if entry.data["notified_by_person"]:
        return None
    return f"left the commune on {day(entry)} without telling its police"


def _decided_by_the_commune_police(entry: Entry, ctx: Context) -> str | None:
    kind = body_kind(entry)
    if kind is not None and kind != "commune_police":
        return f"electronic monitoring decided by a {kind}, not the commune police chief"
    return None


def _may_be_monitored(entry: Entry, ctx: Context) -> str | None:
    if ctx.imprisoned_at(entry.occurred_at):
        return f"electronic monitoring decided on {day(entry)} while the person was in prison"
    now = ctx.programmes_at(entry.occurred_at) & MONITORING_BASES
    if not now:
        return (
            f"electronic monitoring decided on {day(entry)} for a person not in voluntary rehab "
            "at home or in the community, on OST or under post-rehab management"
        )
    basis = entry.data["basis"]
    if basis not in now:
        return (
            f"monitoring decided on the basis {basis}; the person was in {', '.join(sorted(now))}"
        )
    return None


def _tampered(entry: Entry, ctx: Context) -> str | None:
    happened = instant(entry.data.get("happened_at"))
    when = f" on {local_day(happened)}" if happened is not None else ""
    return f"monitoring device: {entry.data['kind']}{when}, a violation by the monitored person"


def _reported_at_once(entry: Entry, ctx: Context) -> str | None:
    problems = []
    if entry.data["reported_by"] != "person":
        problems.append(f"reported by the {entry.data['reported_by']}, not the monitored person")
    happened = instant(entry.data["happened_at"])
    if happened is not None and entry.occurred_at - happened > timedelta(hours=24):
        late = int((entry.occurred_at - happened).total_seconds() // 3600)
        problems.append(f"reported {late} h after it happened ('immediately' read as within 24 h)")
    if not problems:
        return None
    return f"device {entry.data['kind']}: " + "; ".join(problems)


def _rehab_term(entry: Entry, ctx: Context) -> str | None:
    before = ctx.completed_rehab_episodes(entry.occurred_at)
    expected = 24 if before == 0 else 36
    months = entry.data["planned_months"]
    if months == expected:
        return None
    which = "a first rehab" if before == 0 else f"a rehab after {before} completed episode(s)"
    return f"{entry.data['setting']} rehab planned for {months} months; {expected} for {which}"


def _compulsory_term(entry: Entry, ctx: Context) -> str | None:
    months = entry.data.get("term_months")
    if months is None:
        return None
    before = ctx.completed_rehab_episodes(entry.occurred_at)
    expected = 24 if before == 0 else 36
    if months == expected:
        return None
    which = "a first rehab" if before == 0 else f"a rehab after {before} completed episode(s)"
    return f"compulsory rehab of {months} months; {expected} for {which}"


def _facility_for_age(entry: Entry, ctx: Context) -> str | None:
    kind, age = entry.data.get("facility_kind"), ctx.age_at(entry)
    if kind is None or age is None:
        return None
    if age < 12:
        return f"admitted at {age} to a {kind} facility: no rehab facility takes a child under 12"
    if kind == "reform_school" and age >= 18:
        return f"admitted at {age} to a reform school (12 to under 18 only)"
    admission = entry.data["admission_kind"]
    if kind == "private" and admission != "voluntary":
        return f"{admission} admission to a private facility (voluntary rehab only)"
    return None


def _not_in_prison(entry: Entry, ctx: Context) -> str | None:
    if ctx.imprisoned_at(entry.occurred_at):
        return f"{entry.type} on {day(entry)} while the person was in prison: the term is suspended"
    return None


def _resumed_after_prison(entry: Entry, ctx: Context) -> str | None:
    """The post-rehab term's end moves by the days spent in prison (from 1 Jul 2026) between its
    start and its end as moved so far; a stay not over by the completion is ``_not_in_prison``'s."""
    decisions = [
        e for e in ctx.find(on("PostRehabManagementDecided")) if e.occurred_at <= entry.occurred_at
    ]
    if not decisions:
        return None
    starts, ends = iso(decisions[-1].data["starts_on"]), iso(decisions[-1].data["ends_on"])
    completed = day(entry)
    if starts is None or ends is None or completed < ends:
        return None  # completed before the term's own end: P5 says so
    end, in_prison = ends, 0
    for started, released in ctx.imprisonments():
        if released is None or released > completed:
            continue
        first = max(local_day(started), starts, LAW120_FROM)
        if first >= end or released <= first:
            continue
        in_prison += (released - first).days
        end = ends + timedelta(days=in_prison)
    if completed < end:
        return (
            f"post-rehab management completed on {completed}, before {end}: its end ({ends}) "
            f"plus {in_prison} days in prison"
        )
    return None


RULES = (
    Rule(
        "L26-01",
        "The person reports to the new commune police within 24 h of leaving",
        f"{LAW120} (article not read)",
        R26,
        Deadline(
            on("ResidenceLeft"),
            on("ArrivalReported"),
            hours(24),
            "Arrival reported to the new commune police",
            unless=NO_LONGER_AT_LARGE,
        ),
        confidence="S",
    ),
    Rule(
        "L26-01",
        "The person tells the departure commune police before moving",
        f"{LAW120} (article not read)",
        R26,
        Check(on("ResidenceLeft"), _told_the_departure_police),
        confidence="S",
    ),
    Rule(
        "L26-02",
        "The departure commune police hand the case to the destination within 24 h",
        f"{LAW120} (replaces ND105 Art 47's 5 wd; wording S-weak)",
        R26,
        # A destination not known (``to_unit`` empty) leaves nobody to notify: not judged.
        Deadline(
            on("ResidenceLeft", where=lambda e: e.data.get("to_unit") is not None),
            on("CaseTransferred"),
            hours(24),
            "Case transferred to the destination commune police",
            unless=NO_LONGER_AT_LARGE,
        ),
        confidence="S",
    ),
    Rule(
        "L26-06",
        "Electronic monitoring is decided by the commune police chief",
        f"{LAW120} Art 12",
        R26,
        Check(on("ElectronicMonitoringDecided"), _decided_by_the_commune_police),
        confidence="S",
    ),
    Rule(
        "L26-06",
        "Electronic monitoring only in home or community rehab, on OST or in post-rehab",
        f"{LAW120} Art 12",
        R26,
        Check(on("ElectronicMonitoringDecided"), _may_be_monitored),
        confidence="S",
        severity="high",
    ),
    Rule(
        "L26-07",
        "Removing or tampering with the monitoring device is a violation",
        f"{LAW120} Art 12",
        R26,
        Check(
            on("DeviceIncidentReported", where=data_is("kind", "removal", "tampering")), _tampered
        ),
        confidence="S",
        severity="high",
    ),
    Rule(
        "L26-07",
        "Device damage or loss reported by the person immediately (read as within 24 h)",
        f'{LAW120} Art 12 ("báo ngay")',
        R26,
        Check(
            on("DeviceIncidentReported", where=data_is("kind", "damage", "loss")),
            _reported_at_once,
        ),
        confidence="S",
        severity="low",
    ),
    Rule(
        "L26-08",
        "Voluntary rehab lasts 24 months the first time, 36 months after",
        f"{LAW120} (article not read)",
        R26,  # before 1 Jul 2026: V3 (6 to 12 months)
        Check(
            on(
                "VoluntaryTreatmentDecided",
                where=data_is("setting", "family", "community", "facility"),
            ),
            _rehab_term,
        ),
        confidence="S",
        severity="low",
    ),
    Rule(
        "L26-08-compulsory",
        "Compulsory rehab lasts 24 months the first time, 36 months after",
        f"{LAW120} (draft reading; interplay with LXLVPHC Art 95 not read)",
        R26,  # judged by the decision's date; O1 (12-24 months) stays on meanwhile
        Check(on("CourtDecisionIssued", where=data_is("outcome", "apply")), _compulsory_term),
        confidence="R",
        when=When(route="adult"),
    ),
    Rule(
        "L26-09",
        "Facility by age: public ≥18, reform school 12 to <18, private ≥12 and voluntary only",
        f"{LAW120} (article not read)",
        R26,
        Check(on("AdmittedToFacility"), _facility_for_age),
        confidence="S",
        severity="high",
    ),
    Rule(
        "L26-10",
        "No rehab or post-rehab term ends while the person is in prison",
        f"{LAW120} (article not read)",
        R26,
        Check(ENDINGS, _not_in_prison),
        confidence="S",
    ),
    Rule(
        "L26-10",
        "Post-rehab management resumes after prison for the days spent there",
        f"{LAW120} (article not read)",
        R26,
        Check(on("PostRehabManagementCompleted"), _resumed_after_prison),
        confidence="S",
        severity="low",
    ),
)
