"""Read models: caseloads, legal-process timelines and inspection findings.

- ``model.py``: what a read model is (tables; the rows one judged case gives them) and why the
  rounds dispatch by case rather than by event type;
- ``caseload.py``, ``timeline.py``, ``inspections.py``: one module per read model, with the queries
  the API serves from it;
- ``feed.py``: the log after a position, decoded once for every read model, and the cases at hand;
- ``projector.py``: a round (exactly-once: rows and positions in one transaction) and the
  scheduler for deadlines that pass with no event;
- ``runner.py``: follows the log (woken by ``notices.py``, the process's one LISTEN feed);
- ``rebuild.py``: a new generation filled beside the live one, then an atomic switch;
- ``generations.py``: the bookkeeping table, each generation's tables and views;
- ``freshness.py``: read-your-writes waits and lag; ``presence.py``: is a runner running?
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
