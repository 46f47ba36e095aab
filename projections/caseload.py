"""Caseload: each case with its managing unit, assignee, stage, last contact and what is due.

One row per case (closed cases stay, with ``active`` false, so a reopened case comes back).
"Last contact" is the latest counselling session, home visit or post-rehab check-in in force;
"next due" is the earliest deadline the compliance engine still has pending; ``overdue`` says a
deadline has passed with nothing recorded (an open finding with a due date).
"""

from __future__ import annotations

from typing import Any, ClassVar

from projections.db import ViewDatabase
from projections.model import (
    CaseView,
    ReadModel,
    Row,
    Table,
    col,
    day,
    exact,
    in_area,
    passes_at,
)

CONTACTS = frozenset({"CounsellingSessionHeld", "HomeVisitMade", "PostRehabCheckIn"})

CASELOAD = Table(
    "caseledger_caseload",
    (
        col("case_id", "uuid"),
        col("managing_unit", "code"),
        col("residence_unit", "code"),
        col("assignee_id", "text"),
        col("assignee_role", "text"),
        col("stage", "text"),
        col("active", "bool"),
        col("opened_on", "date"),
        col("last_contact_at", "instant"),
        col("last_contact_type", "text"),
        col("next_due_rule", "text"),
        col("next_due_step", "text"),
        col("next_due", "text"),
        col("next_due_on", "date"),
        col("next_due_passes_at", "instant"),
        col("overdue", "bool"),
        col("open_findings", "int"),
        col("version", "int"),
        col("position", "bigint"),
    ),
    key=("case_id",),
    indexes=(("managing_unit", "next_due_on"), ("assignee_id",), ("stage",)),
)


class Caseload(ReadModel):
    name = "caseload"
    tables: ClassVar = (CASELOAD,)

    def rows(self, case: CaseView) -> dict[str, list[Row]]:
        state, evaluation = case.state, case.evaluation
        contacts = [e for e in case.live if e.type in CONTACTS]
        last = max(contacts, key=lambda e: (e.occurred_at, e.version), default=None)
        opened = next((e for e in case.live if e.type == "CaseOpened"), None)
        step, due = case.pending[0] if case.pending else (None, None)
        open_findings = [f for f in evaluation.findings if f.status == "open"]
        row = (
            case.case_id,
            state.managing_unit,
            state.person.get("residence_unit"),
            (state.assignee or {}).get("id"),
            (state.assignee or {}).get("role"),
            state.stage,
            not state.closed,
            day(opened.occurred_at) if opened else None,
            last.occurred_at if last else None,
            last.type if last else None,
            due.rule_id if due else None,
            step,
            exact(due.due) if due else None,
            day(due.due) if due else None,
            passes_at(due.due) if due else None,
            any(f.due is not None for f in open_findings),
            len(open_findings),
            case.version,
            case.position,
        )
        return {CASELOAD.name: [row]}


def query(
    db: ViewDatabase,
    unit: str,
    assignee: str | None = None,
    stage: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Active cases under ``unit`` (its subtree), most urgent first; and how many in all."""
    where, params = in_area("managing_unit", unit)
    clauses, values = [where, "active"], list(params)
    if assignee is not None:
        clauses.append("assignee_id = ?")
        values.append(assignee)
    if stage is not None:
        clauses.append("stage = ?")
        values.append(stage)
    if overdue is not None:
        clauses.append("overdue" if overdue else "NOT overdue")
    condition = " AND ".join(clauses)
    total = db.read(f"SELECT count(*) AS n FROM {CASELOAD.name} WHERE {condition}", values)
    rows = db.read(
        f"SELECT * FROM {CASELOAD.name} WHERE {condition} "
        "ORDER BY overdue DESC, next_due_passes_at IS NULL, next_due_passes_at, case_id "
        "LIMIT ? OFFSET ?",
        [*values, limit, offset],
    )
    return [_public(r) for r in rows], int(total[0]["n"])


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "active": bool(row["active"]), "overdue": bool(row["overdue"])}
