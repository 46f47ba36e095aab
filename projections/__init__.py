"""Read models: caseloads, legal-process timelines and inspection findings.

- ``model.py``: what a read model is (tables; the rows one judged case gives them) and why the
  runtime dispatches by case rather than by event type;
- ``caseload.py``, ``timeline.py``, ``inspections.py``: one module per read model, with the queries
  the API serves from it;
- ``runtime.py``: the runner (exactly-once batches, LISTEN/polling, the scheduler for deadlines
  that pass with no event, rebuild with an atomic switch, read-your-writes);
- ``db.py``: the SQL both stores understand.
"""

from __future__ import annotations

from projections.caseload import Caseload
from projections.inspections import Inspections
from projections.model import ReadModel
from projections.timeline import Timeline


def read_models(names: list[str] | None = None) -> list[ReadModel]:
    """The read models, all or by name (``ValueError`` naming an unknown one)."""
    every: list[ReadModel] = [Caseload(), Timeline(), Inspections()]
    if not names:
        return every
    by_name = {m.name: m for m in every}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown read model {unknown[0]!r}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]


__all__ = ["ReadModel", "read_models"]
