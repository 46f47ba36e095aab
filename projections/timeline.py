"""Timeline: each case's procedural steps, as the compliance engine lays them out.

One row per step in timeline order (``seq``): a recorded event (``done``) with its occurred and
recorded dates, the occurred date first recorded when a correction changed it, the acting body,
and the deadlines judged on it (rule, due date, met or late by how much); or an expected step
not recorded (``pending`` until its due date, ``missing`` after). The case's findings are in the
inspections read model; ``GET /v1/cases/{id}/timeline`` shows both.

The table has its key ``(case_id, seq)`` and no other index: its one route reads a case's
rows, and every event replaces all of them, so a second index costs a write on every row for
no route (``bench/README.md`` has what the ``event_id`` index it once had cost). To find an
event's step, look its case up by ``event_id`` in ``caseledger_events``. A generation made by
an earlier version keeps that index until the next ``caseledger projections rebuild timeline``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from projections.db import ViewDatabase, as_json
from projections.model import CaseView, ReadModel, Row, Table, col, exact

TIMELINE = Table(
    "caseledger_timeline",
    (
        col("case_id", "uuid"),
        col("seq", "int"),
        col("step", "text"),
        col("status", "text"),
        col("event_id", "text"),
        col("occurred_at", "instant"),
        col("recorded_at", "instant"),
        col("first_recorded_occurred_at", "instant"),
        col("acting_body", "json"),
        col("deadlines", "json"),
    ),
    key=("case_id", "seq"),
)


class Timeline(ReadModel):
    name = "timeline"
    tables: ClassVar = (TIMELINE,)

    def rows(self, case: CaseView) -> dict[str, list[Row]]:
        rows = [
            (
                case.case_id,
                seq,
                step.step,
                step.status,
                step.event_id,
                step.occurred_at,
                step.recorded_at,
                step.first_recorded_occurred_at,
                step.acting_body,
                [
                    {
                        "rule_id": j.rule_id,
                        "title": j.title,
                        "anchor_event_id": j.anchor_event_id,
                        "due": exact(j.due),
                        "status": j.status,
                        "late_by": j.late_by,
                        "unit": j.unit,
                    }
                    for j in step.judgements
                ],
            )
            for seq, step in enumerate(case.evaluation.timeline, start=1)
        ]
        return {TIMELINE.name: rows}


def of_case(db: ViewDatabase, case_id: str) -> list[dict[str, Any]]:
    """A case's steps in timeline order (empty if the read model has not seen the case)."""
    rows = db.read(f"SELECT * FROM {TIMELINE.name} WHERE case_id = ? ORDER BY seq", (case_id,))
    return [
        {**r, "acting_body": as_json(r["acting_body"]), "deadlines": as_json(r["deadlines"])}
        for r in rows
    ]
