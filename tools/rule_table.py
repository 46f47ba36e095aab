"""Print the rule table of ``domain/compliance/README.md`` (markdown) from the rulebook itself.

    python tools/rule_table.py

One row per rule of ``domain.compliance.rules.RULEBOOK`` (an id may name several rules: the
steps of one row of the legal rulebook, or a rule and its unverified continuation), then the
engine's own REC1. "Judged in" lists the periods of ``spec.PERIODS`` (PRE22, 22+, 25A, 25B, 26)
that the rule's regime overlaps, with the day it starts or ends when that falls inside one.
Paste the output between the README's ``rule-table`` markers; a test in
``tests/compliance/test_rules_2025_2026.py`` checks that the two agree.
"""

from __future__ import annotations

from datetime import date, timedelta

from domain.compliance.engine import LATE_RECORDING
from domain.compliance.rules import RULEBOOK
from domain.compliance.spec import PERIODS, Regime, Rule

HEADER = (
    "| id | title | judged in | dated by | route | confidence | default | note |\n"
    "|---|---|---|---|---|---|---|---|\n"
)


def judged_in(regime: Regime) -> str:
    """The periods ``regime`` overlaps, e.g. ``22+ (from 2023-02-01), 25A``."""
    found = []
    for period in PERIODS:
        starts = max(regime.starts or date.min, period.starts or date.min)
        ends = min(regime.ends or date.max, period.ends or date.max)
        if starts >= ends:
            continue
        bounds = []
        if starts > (period.starts or date.min):
            bounds.append(f"from {starts}")
        if ends < (period.ends or date.max):
            bounds.append(f"to {ends - timedelta(days=1)}")
        found.append(period.tag + (f" ({', '.join(bounds)})" if bounds else ""))
    return ", ".join(found)


def row(rule: Rule) -> str:
    dated_by = "court acceptance" if rule.regime_by == "court_acceptance" else "event"
    default = "off" if rule.unverified else "on"
    note = (
        f"basis possibly superseded from {rule.superseded_from} (L26-13)"
        if rule.superseded_from
        else ""
    )
    cells = (
        rule.id,
        rule.title,
        judged_in(rule.regime),
        dated_by,
        rule.when.route or "",
        rule.confidence,
        default,
        note,
    )
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |\n"


def table() -> str:
    return HEADER + "".join(row(rule) for rule in (*RULEBOOK, LATE_RECORDING))


if __name__ == "__main__":
    print(table(), end="")
