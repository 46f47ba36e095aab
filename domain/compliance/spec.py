"""The vocabulary of the rulebook: a rule is a small declarative spec judged by one engine.

Three kinds of check cover the rulebook:

- ``Deadline``: after an anchor event, an expected event within a limit (wd / d / h);
- ``Requires``: an event needs an earlier one (a step before it in the procedure);
- ``Check``: a condition an event must meet (an age for a route, a term within bounds, a
  competent body), given the case's context.

A ``Rule`` adds the id, title, legal source, regime (validity by date), severity, confidence and
applicability conditions (``When``: route, age, residence status, remote area, setting). Adding
a rule is adding a spec to a module of ``domain/compliance/rules/`` and a scenario test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from domain.compliance.calendar import Unit
from domain.state import Entry
from domain.units import VIETNAM
from domain.units import local_day as local_day  # the one Vietnam day; rules import it here

if TYPE_CHECKING:
    from domain.compliance.context import Context

VN = VIETNAM

Confidence = Literal["F", "S", "R", "system"]
Severity = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class Regime:
    """Rules in force for anchors dated in [starts, ends)."""

    tag: str
    starts: date | None = None
    ends: date | None = None

    def covers(self, day: date) -> bool:
        return (self.starts is None or day >= self.starts) and (
            self.ends is None or day < self.ends
        )


LAW73_FROM = date(2022, 1, 1)
MPS_TAKEOVER = date(2025, 3, 1)
"""Decree 02/2025, JC 03/2025: the police run rehab; district police and Labour offices go."""
TWO_TIER = date(2025, 7, 1)
"""Resolution 202/2025/QH15, Res. 81/2025/UBTVQH15: no districts; regional courts."""
LAW120_FROM = date(2026, 7, 1)
"""Law 120/2025/QH15 amending the drug law."""

PRE22 = Regime("PRE22", ends=LAW73_FROM)
LAW73 = Regime("22+", starts=LAW73_FROM)
ALWAYS = Regime("both")
CT_PL09 = Regime("CT-PL09", ends=date(2023, 2, 1))
CT_PL03 = Regime("CT-PL03", starts=date(2023, 2, 1))
CT_PL01 = Regime("CT-PL01", starts=date(2022, 3, 24))

LAW73_TO_25A = Regime("22+", starts=LAW73_FROM, ends=MPS_TAKEOVER)
"""A Law 73 rule the 2025 reorganisation ended (its actor or step no longer exists)."""
LAW73_TO_26 = Regime("22+", starts=LAW73_FROM, ends=LAW120_FROM)
"""A Law 73 rule that Law 120/2025 replaced."""
R25A = Regime("25A", starts=MPS_TAKEOVER, ends=TWO_TIER)
R25B = Regime("25B", starts=TWO_TIER, ends=LAW120_FROM)
R26 = Regime("26", starts=LAW120_FROM)
FROM_25A = Regime("25A+", starts=MPS_TAKEOVER)
"""In force from 1 Mar 2025 on (25A, 25B and 26)."""
FROM_25B = Regime("25B+", starts=TWO_TIER)
"""In force from 1 Jul 2025 on (25B and 26)."""

PERIODS: tuple[Regime, ...] = (
    PRE22,
    LAW73_TO_25A,
    R25A,
    R25B,
    R26,
)
"""The five periods the rulebook is described by (``domain/compliance/README.md``): each rule
is judged in the periods its regime overlaps."""


@dataclass(frozen=True)
class Match:
    """Entries of some types, optionally narrowed by a predicate on the entry."""

    types: tuple[str, ...]
    where: Callable[[Entry], bool] | None = None

    def __call__(self, entry: Entry) -> bool:
        return entry.type in self.types and (self.where is None or self.where(entry))


def on(*types: str, where: Callable[[Entry], bool] | None = None) -> Match:
    return Match(types, where)


def data_is(key: str, *values: object) -> Callable[[Entry], bool]:
    """Predicate: ``entry.data[key]`` is one of ``values``."""
    return lambda entry: entry.data.get(key) in values


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: Unit

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


def wd(n: int) -> Limit:
    return Limit(n, "wd")


def days(n: int) -> Limit:
    return Limit(n, "d")


def hours(n: int) -> Limit:
    return Limit(n, "h")


@dataclass(frozen=True)
class Deadline:
    """After ``anchor``, an ``expect`` event within ``within`` (sharing the ``same`` data keys)."""

    anchor: Match
    expect: Match
    within: Limit
    step: str
    same: tuple[str, ...] = ()
    start: Callable[[Entry], date | datetime | None] | None = None
    """Where the count starts; default: the anchor's occurred_at (its day for wd / d)."""
    unless: Match | None = None
    """An event after the anchor and by the due date (same keys) that makes the expected step
    no longer due (a deferral, a postponement, a closure). After the due date it excuses
    nothing: the breach was already committed."""
    or_else: Match | None = None
    """The consequence the law attaches to a missed step (e.g. a violation record): once it is
    recorded, the missed step's finding is resolved rather than open."""
    lapses_on: date | None = None
    """The day the expected step ceased to exist in law (its actor was abolished): an anchor
    whose due date falls on or after it is not judged, for the step could no longer be taken
    (e.g. a dossier served before 1 Mar 2025 whose Labour-office step fell due after it)."""


@dataclass(frozen=True)
class Requires:
    """Each ``event`` needs an earlier ``prior`` (sharing the ``same`` data keys)."""

    event: Match
    prior: Match
    same: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """Each ``event`` must pass ``test``, which returns what is wrong, or None."""

    event: Match
    test: Callable[[Entry, Context], str | None]


@dataclass(frozen=True)
class When:
    """Applicability of a rule to an anchor event, judged in the case's context at its date."""

    route: Literal["adult", "minor"] | None = None
    min_age: int | None = None
    below_age: int | None = None
    residence: Literal["stable", "not_stable"] | None = None
    remote_area: bool | None = None
    setting: tuple[str, ...] | None = None
    after: Match | None = None
    """Only when an event of this kind happened before the anchor (e.g. a positive test)."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str
    regime: Regime
    check: Deadline | Requires | Check
    confidence: Confidence = "F"
    severity: Severity = "medium"
    when: When = field(default_factory=When)
    regime_by: Literal["anchor", "court_acceptance"] = "anchor"
    """Court-stage rules follow the ordinance in force on the dossier's acceptance date."""
    superseded_from: date | None = None
    """From this day its basis may have been superseded (L26-13: a decree deadline after
    Law 120/2025, whose implementing decree was not read): findings on anchors dated on or
    after it say "[basis possibly superseded]"."""

    @property
    def unverified(self) -> bool:
        return self.confidence == "R"
