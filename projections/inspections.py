"""Inspection findings: every finding of the compliance engine, with where and when.

One row per finding of each case: rule, title, legal basis, severity, confidence and regime; the
case's managing unit and the person's residence commune (no personal data); evidence event ids;
detected, due and resolved dates; open or resolved. Findings that come from time alone (a
deadline passing with nothing recorded) appear when the scheduler re-judges the case.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from domain.units import registry
from projections.db import ViewDatabase, as_json
from projections.model import CaseView, ReadModel, Row, Table, col, day, exact, in_area

FINDINGS = Table(
    "caseledger_findings",
    (
        col("case_id", "uuid"),
        col("seq", "int"),
        col("rule_id", "text"),
        col("title", "text"),
        col("legal_basis", "text"),
        col("severity", "text"),
        col("confidence", "text"),
        col("regime", "text"),
        col("status", "text"),
        col("managing_unit", "code"),
        col("commune", "code"),
        col("detected_on", "date"),
        col("due", "text"),
        col("due_on", "date"),
        col("resolved_on", "date"),
        col("detail", "text"),
        col("evidence_event_ids", "json"),
    ),
    key=("case_id", "seq"),
    indexes=(("managing_unit", "detected_on"), ("rule_id", "detected_on"), ("commune",)),
)

SEVERITY_WEIGHT = {"high": 3, "medium": 2, "low": 1}


class Inspections(ReadModel):
    name = "inspections"
    tables: ClassVar = (FINDINGS,)

    def rows(self, case: CaseView) -> dict[str, list[Row]]:
        state = case.state
        commune = state.person.get("residence_unit") or state.managing_unit
        rows = [
            (
                case.case_id,
                seq,
                f.rule_id,
                f.title,
                f.legal_basis,
                f.severity,
                f.confidence,
                f.regime,
                f.status,
                state.managing_unit,
                commune,
                day(f.detected_on),
                exact(f.due),
                day(f.due),
                day(f.resolved_on),
                f.detail,
                list(f.evidence_event_ids),
            )
            for seq, f in enumerate(
                sorted(case.evaluation.findings, key=lambda f: (f.detected_on, f.rule_id)),
                start=1,
            )
        ]
        return {FINDINGS.name: rows}


def _where(
    unit: str,
    start: date | None,
    end: date | None,
    rule: str | None = None,
    status: str | None = None,
    case_id: str | None = None,
) -> tuple[str, list[Any]]:
    where, params = in_area("managing_unit", unit)
    clauses, values = [where], list[Any](params)
    for clause, value in (
        ("detected_on >= ?", start and start.isoformat()),
        ("detected_on <= ?", end and end.isoformat()),
        ("rule_id = ?", rule),
        ("status = ?", status),
        ("case_id = ?", case_id),
    ):
        if value is not None:
            clauses.append(clause)
            values.append(value)
    return " AND ".join(clauses), values


def findings(
    db: ViewDatabase,
    unit: str,
    start: date | None = None,
    end: date | None = None,
    rule: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Findings of cases managed under ``unit``, detected in [start, end]; and how many in all."""
    condition, values = _where(unit, start, end, rule, status)
    total = db.read(f"SELECT count(*) AS n FROM {FINDINGS.name} WHERE {condition}", values)
    rows = db.read(
        f"SELECT * FROM {FINDINGS.name} WHERE {condition} "
        "ORDER BY detected_on, case_id, seq LIMIT ? OFFSET ?",
        [*values, limit, offset],
    )
    return [_public(r) for r in rows], int(total[0]["n"])


def of_case(db: ViewDatabase, case_id: str) -> list[dict[str, Any]]:
    rows = db.read(f"SELECT * FROM {FINDINGS.name} WHERE case_id = ? ORDER BY seq", (case_id,))
    return [_public(r) for r in rows]


def report(db: ViewDatabase, unit: str, start: date, end: date, worst: int = 10) -> dict[str, Any]:
    """Counts by rule and by commune, and the cases with the most (and gravest) open findings."""
    condition, values = _where(unit, start, end)
    open_ = "sum(CASE WHEN status = 'open' THEN 1 ELSE 0 END)"
    by_rule = db.read(
        f"SELECT rule_id, min(title) AS title, min(severity) AS severity, count(*) AS findings, "
        f"{open_} AS open FROM {FINDINGS.name} WHERE {condition} "
        "GROUP BY rule_id ORDER BY count(*) DESC, rule_id",
        values,
    )
    by_commune = db.read(
        f"SELECT commune, count(*) AS findings, {open_} AS open FROM {FINDINGS.name} "
        f"WHERE {condition} GROUP BY commune ORDER BY count(*) DESC, commune",
        values,
    )
    weight = " ".join(f"WHEN '{s}' THEN {w}" for s, w in SEVERITY_WEIGHT.items())
    worst_cases = db.read(
        f"SELECT case_id, min(managing_unit) AS managing_unit, count(*) AS findings, "
        f"{open_} AS open, sum(CASE WHEN status = 'open' THEN CASE severity {weight} ELSE 0 END "
        f"ELSE 0 END) AS open_weight FROM {FINDINGS.name} WHERE {condition} "
        "GROUP BY case_id ORDER BY open_weight DESC, open DESC, findings DESC, case_id LIMIT ?",
        [*values, worst],
    )
    return {
        "findings": sum(int(r["findings"]) for r in by_rule),
        "open": sum(int(r["open"]) for r in by_rule),
        "by_rule": by_rule,
        "by_commune": by_commune,
        "worst_cases": worst_cases,
        "units": units_counted(unit, start, end),
    }


def units_counted(unit: str, start: date, end: date) -> dict[str, Any]:
    """How the report mapped units: the unit on the map that holds it (today's, or the older
    one), the reforms its period spans, and the codes of the other map it counted, each
    ``whole`` or ``part`` (a split commune's findings are counted wholly in each unit that
    received a part of it: the record does not say on which side of the new boundary the
    person lived)."""
    units = registry()
    area = units.area(unit)
    named = units.unit(unit, units.newest) if area.current else units.latest(unit)
    spans = [r.isoformat() for r in units.reforms if start < r <= end]
    return {
        "unit": unit,
        "name": named.name if named else None,
        "map": "current" if area.current else "before_reform",
        "reforms_in_period": spans,
        "also_counted": [
            {"code": code, "name": n.name if (n := units.latest(code)) else None, "share": share}
            for code, share in area.mapped.items()
        ],
    }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "evidence_event_ids": as_json(row["evidence_event_ids"])}
