"""Integrity and audit."""

from __future__ import annotations

import threading
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.deps import ActorDep, Busy, LedgerDep, known_query_only
from api.openapi import problems
from api.schemas import IntegrityProblemPublic, VerificationPublic
from domain.integrity import Problem

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[Depends(known_query_only)])

WHOLE_STORE = threading.Lock()
"""Held by the whole-store verification running in this process."""


@router.get("/verify", response_model=VerificationPublic, responses=problems(401, 404, 422, 503))
def verify(
    ledger: LedgerDep,
    actor: ActorDep,
    case_id: Annotated[UUID | None, Query(description="one case; default: the whole store")] = None,
) -> VerificationPublic:
    """Recompute every stored hash and check each chain and the global log; the first break.

    A whole-store verification reads every event: one runs at a time per process, and another
    asked meanwhile is answered 503 with ``Retry-After`` rather than queued (so that
    verifications never take the connections writes need). One case is always served."""
    if case_id is not None:
        report = ledger.verify(case_id)
    elif not WHOLE_STORE.acquire(blocking=False):
        raise Busy("a whole-store verification is running; retry later", field="case_id")
    else:
        try:
            report = ledger.verify(None)
        finally:
            WHOLE_STORE.release()
    return VerificationPublic(
        ok=report.ok,
        summary=report.summary(),
        events=report.events,
        cases=report.cases,
        head_position=report.head_position,
        head_hash=report.head_hash,
        problem_count=report.problem_count,
        first_broken=_public(report.first_broken) if report.first_broken else None,
        problems=[_public(p) for p in report.problems],
    )


def _public(problem: Problem) -> IntegrityProblemPublic:
    return IntegrityProblemPublic(
        kind=problem.kind,  # type: ignore[arg-type]
        detail=problem.detail,
        case_id=problem.case_id,
        version=problem.version,
        event_id=problem.event_id,
        position=problem.position,
    )
