"""Judging a case: a pure function of its entries and an "as of" instant.

``evaluate(entries, as_of, config)`` sees the record as it stood at ``as_of``: only entries
recorded by then (``recorded_at <= as_of``), with the corrections and voids recorded by then
applied. It returns

- the procedural timeline: each event with its occurred/recorded dates, acting body and the
  deadline rules judged on it (due date; met, or late by how much), plus the expected steps that
  have not happened (pending, or missing once their due date has passed);
- the findings: rule, legal basis, severity, evidence event ids, due date, open or resolved.

Each rule is judged only for anchors dated within its regime, so a case that straddles 2022,
February 2023, March or July 2025 or July 2026 is judged step by step by the rule in force for
each step. Rules of confidence R are off unless enabled in ``ComplianceConfig``; their findings
are marked unverified. A rule whose basis may have been superseded (``Rule.superseded_from``)
says so in the findings on anchors from that day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from domain.compliance.calendar import WorkingCalendar
from domain.compliance.context import Context
from domain.compliance.spec import (
    ALWAYS,
    VN,
    Check,
    Deadline,
    Match,
    Requires,
    Rule,
    local_day,
)
from domain.state import CaseState, Entry, derive, effective_entries

LATE_RECORDING = Rule(
    id="REC1",
    title="Event recorded long after it happened",
    source="caseledger recording policy (configurable)",
    regime=ALWAYS,
    check=Check(Match(()), lambda entry, ctx: None),  # judged by _late_recordings
    confidence="system",
    severity="low",
)


@dataclass(frozen=True)
class ComplianceConfig:
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    rules: tuple[Rule, ...] | None = None
    """The rulebook to judge by; default: every rule of ``domain.compliance.rules``."""
    enabled_unverified: frozenset[str] = frozenset()
    """Ids of confidence-R rules to judge (their findings say "unverified legal basis")."""
    late_recording_days: int = 30


@dataclass(frozen=True)
class Judgement:
    rule_id: str
    title: str
    anchor_event_id: str
    due: date | datetime
    unit: str
    status: Literal["met", "late", "pending", "missing"]
    late_by: int = 0


@dataclass
class Step:
    step: str
    event_id: str | None
    occurred_at: datetime | None
    recorded_at: datetime | None
    acting_body: dict[str, Any] | None
    status: Literal["done", "pending", "missing"]
    first_recorded_occurred_at: datetime | None = None
    """The occurred_at first recorded, when a correction changed it."""
    judgements: list[Judgement] = field(default_factory=list)

    version: int = 0
    """Recording order of the event (0 for an expected step not yet recorded)."""

    @property
    def sort_key(self) -> tuple[datetime, int, str]:
        if self.occurred_at is not None:
            return (self.occurred_at, self.version, "")
        due = self.judgements[0].due
        when = due if isinstance(due, datetime) else datetime.combine(due, datetime.max.time())
        return (when.replace(tzinfo=when.tzinfo or VN), 1 << 30, self.step)


@dataclass(frozen=True)
class Finding:
    rule_id: str
    title: str
    legal_basis: str
    severity: str
    confidence: str
    regime: str
    evidence_event_ids: tuple[str, ...]
    status: Literal["open", "resolved"]
    detected_on: date
    detail: str
    due: date | datetime | None = None
    resolved_on: date | None = None

    @property
    def unverified(self) -> bool:
        return self.confidence == "R"


@dataclass
class Evaluation:
    as_of: datetime
    timeline: list[Step]
    findings: list[Finding]
    state: CaseState | None = None
    """The state the judged entries give (those recorded by ``as_of``)."""
    judged: int = 0
    """How many entries were judged (recorded by ``as_of``)."""

    @property
    def next_due(self) -> Judgement | None:
        """The earliest deadline still pending, if any."""
        pending = [j for s in self.timeline for j in s.judgements if j.status == "pending"]
        return min(pending, key=lambda j: _as_day(j.due), default=None)


def evaluate(
    entries: Sequence[Entry], as_of: datetime, config: ComplianceConfig | None = None
) -> Evaluation:
    """Judge a case's entries as the record stood at ``as_of`` (pure; never raises on order)."""
    config = config or ComplianceConfig()
    visible = [e for e in entries if e.recorded_at <= as_of]
    live = sorted(effective_entries(visible), key=lambda e: (e.occurred_at, e.version))
    first_occurred = {e.event_id: e.occurred_at for e in visible}
    state = derive(visible)
    ctx = Context(live, state, config.calendar, as_of)
    steps = {
        e.event_id: Step(
            e.type,
            e.event_id,
            e.occurred_at,
            e.recorded_at,
            e.acting_body,
            "done",
            first_recorded_occurred_at=(
                first_occurred[e.event_id] if first_occurred[e.event_id] != e.occurred_at else None
            ),
            version=e.version,
        )
        for e in live
    }
    expected: list[Step] = []
    findings: list[Finding] = []
    for rule in _rules(config):
        if isinstance(rule.check, Deadline):
            _judge_deadline(rule, rule.check, ctx, steps, expected, findings)
        elif isinstance(rule.check, Requires):
            _judge_requires(rule, rule.check, ctx, findings)
        else:
            _judge_check(rule, rule.check, ctx, findings)
    findings.extend(_late_recordings(live, config))
    timeline = sorted([*steps.values(), *expected], key=lambda s: s.sort_key)
    return Evaluation(as_of, timeline, findings, state, len(visible))


# --- the three kinds of check ----------------------------------------------------------------


def _judge_deadline(
    rule: Rule,
    check: Deadline,
    ctx: Context,
    steps: dict[str, Step],
    expected: list[Step],
    findings: list[Finding],
) -> None:
    cal, limit = ctx.calendar, check.within
    for anchor in ctx.find(check.anchor):
        if not _applies(rule, anchor, ctx):
            continue
        start = check.start(anchor) if check.start else anchor.occurred_at
        if start is None:
            continue
        if isinstance(start, datetime) and limit.unit != "h":
            start = local_day(start)
        due = cal.due(start, limit.amount, limit.unit)
        if check.lapses_on is not None and _as_day(due) >= check.lapses_on:
            continue  # the step ceased to exist before it fell due
        later = [e for e in ctx.find(check.expect, anchor, check.same) if _after(e, anchor)]
        if check.unless is not None:
            stop = [
                e
                for e in ctx.find(check.unless, anchor, check.same)
                if _after(e, anchor) and not _is_after(_moment(e, limit.unit), due)
            ]
            if stop and (not later or stop[0].occurred_at < later[0].occurred_at):
                continue
        done = later[0] if later else None
        if done is not None:
            done_at: date | datetime = (
                done.occurred_at if limit.unit == "h" else local_day(done.occurred_at)
            )
            late_by = cal.lateness(due, done_at, limit.unit) if _is_after(done_at, due) else 0
            status: Literal["met", "late", "pending", "missing"] = "late" if late_by else "met"
            if _is_after(done_at, due) and not late_by:
                late_by, status = 1, "late"  # e.g. a day off after the due day
            steps[done.event_id].judgements.append(
                Judgement(rule.id, rule.title, anchor.event_id, due, limit.unit, status, late_by)
            )
            if status == "late":
                findings.append(
                    _finding(
                        rule,
                        (anchor.event_id, done.event_id),
                        "resolved",
                        _day_after(due),
                        f"{check.step} {late_by} {limit.unit} late (due {_show(due)}, "
                        f"done {_show(done_at)})",
                        due=due,
                        resolved_on=local_day(done.occurred_at),
                        anchor=anchor,
                    )
                )
            continue
        overdue = _is_after(ctx.as_of if limit.unit == "h" else local_day(ctx.as_of), due)
        status = "missing" if overdue else "pending"
        expected.append(
            Step(
                check.step,
                None,
                None,
                None,
                None,
                status,
                judgements=[
                    Judgement(rule.id, rule.title, anchor.event_id, due, limit.unit, status)
                ],
            )
        )
        if overdue:
            answered = (
                [e for e in ctx.find(check.or_else) if _after(e, anchor)] if check.or_else else []
            )
            findings.append(
                _finding(
                    rule,
                    (anchor.event_id, *(e.event_id for e in answered[:1])),
                    "resolved" if answered else "open",
                    _day_after(due),
                    f"{check.step} missing: due {_show(due)} ({limit} after "
                    f"{anchor.type} of {_show(local_day(anchor.occurred_at))})"
                    + (f"; {answered[0].type} recorded instead" if answered else ""),
                    due=due,
                    resolved_on=local_day(answered[0].occurred_at) if answered else None,
                    anchor=anchor,
                )
            )


def _judge_requires(rule: Rule, check: Requires, ctx: Context, findings: list[Finding]) -> None:
    for event in ctx.find(check.event):
        if not _applies(rule, event, ctx):
            continue
        prior = [
            e
            for e in ctx.find(check.prior, event, check.same)
            if e.event_id != event.event_id and e.occurred_at <= event.occurred_at
        ]
        if not prior:
            findings.append(
                _finding(
                    rule,
                    (event.event_id,),
                    "open",
                    local_day(event.occurred_at),
                    f"{event.type} without an earlier {' or '.join(check.prior.types)}",
                    anchor=event,
                )
            )


def _judge_check(rule: Rule, check: Check, ctx: Context, findings: list[Finding]) -> None:
    for event in ctx.find(check.event):
        if not _applies(rule, event, ctx):
            continue
        problem = check.test(event, ctx)
        if problem:
            findings.append(
                _finding(
                    rule,
                    (event.event_id,),
                    "open",
                    local_day(event.occurred_at),
                    problem,
                    anchor=event,
                )
            )


def _late_recordings(live: list[Entry], config: ComplianceConfig) -> list[Finding]:
    limit = timedelta(days=config.late_recording_days)
    return [
        _finding(
            LATE_RECORDING,
            (e.event_id,),
            "resolved",
            local_day(e.recorded_at),
            f"{e.type} recorded {(e.recorded_at - e.occurred_at).days} days after it happened "
            f"(limit {config.late_recording_days})",
            resolved_on=local_day(e.recorded_at),
        )
        for e in live
        if e.recorded_at - e.occurred_at > limit
    ]


# --- helpers ---------------------------------------------------------------------------------


def _rules(config: ComplianceConfig) -> tuple[Rule, ...]:
    if config.rules is None:
        from domain.compliance.rules import RULEBOOK

        rules = RULEBOOK
    else:
        rules = config.rules
    return tuple(r for r in rules if not r.unverified or r.id in config.enabled_unverified)


def _applies(rule: Rule, anchor: Entry, ctx: Context) -> bool:
    if rule.regime_by == "court_acceptance":
        day = ctx.accepted_on(anchor.data.get("dossier_id", ""))
        if day is None:
            return False
    else:
        day = local_day(anchor.occurred_at)
    if not rule.regime.covers(day):
        return False
    when = rule.when
    if when.route is not None and ctx.route_of(anchor) != when.route:
        return False
    if when.min_age is not None or when.below_age is not None:
        age = ctx.age_at(anchor)
        if age is None:
            return False
        if when.min_age is not None and age < when.min_age:
            return False
        if when.below_age is not None and age >= when.below_age:
            return False
    if when.residence is not None and ctx.residence_at(anchor) != when.residence:
        return False
    if when.remote_area is not None and ctx.remote_at(anchor) != when.remote_area:
        return False
    if when.after is not None and not any(
        e.occurred_at <= anchor.occurred_at for e in ctx.find(when.after)
    ):
        return False
    return when.setting is None or anchor.data.get("setting") in when.setting


def _moment(entry: Entry, unit: str) -> date | datetime:
    return entry.occurred_at if unit == "h" else local_day(entry.occurred_at)


def _after(entry: Entry, anchor: Entry) -> bool:
    return entry.event_id != anchor.event_id and entry.occurred_at >= anchor.occurred_at


def _is_after(a: date | datetime, b: date | datetime) -> bool:
    return _as_day(a) > _as_day(b) if type(a) is not type(b) else a > b


def _as_day(value: date | datetime) -> date:
    return local_day(value) if isinstance(value, datetime) else value


def _day_after(due: date | datetime) -> date:
    return _as_day(due) + timedelta(days=1)


def _show(value: date | datetime) -> str:
    return value.isoformat(timespec="minutes") if isinstance(value, datetime) else value.isoformat()


def _finding(
    rule: Rule,
    evidence: tuple[str, ...],
    status: Literal["open", "resolved"],
    detected_on: date,
    detail: str,
    due: date | datetime | None = None,
    resolved_on: date | None = None,
    anchor: Entry | None = None,
) -> Finding:
    if (
        rule.superseded_from is not None
        and anchor is not None
        and local_day(anchor.occurred_at) >= rule.superseded_from
    ):
        detail = f"{detail} [basis possibly superseded]"
    if rule.unverified:
        detail = f"{detail} [unverified legal basis]"
    return Finding(
        rule.id,
        rule.title,
        rule.source,
        rule.severity,
        rule.confidence,
        rule.regime.tag,
        evidence,
        status,
        detected_on,
        detail,
        due,
        resolved_on,
    )
