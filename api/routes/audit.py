"""Integrity and audit: verification, and the access log."""

from __future__ import annotations

import threading
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.auth import Access, Guard
from api.deps import BIGINT, Busy, InvalidQuery, LedgerDep, known_query_only
from api.openapi import problems
from api.schemas import (
    AccessEntryPublic,
    AccessPagePublic,
    IntegrityProblemPublic,
    VerificationPublic,
)
from domain.events import Instant
from domain.integrity import Problem
from domain.policy import lies_in, reach_of

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[Depends(known_query_only)])

WHOLE_STORE = threading.Lock()
"""Held by the whole-store verification running in this process."""


@router.get("/verify", response_model=VerificationPublic, responses=problems(401, 404, 422, 503))
def verify(
    ledger: LedgerDep,
    access: Annotated[Access, Depends(Guard("verify"))],
    case_id: Annotated[UUID | None, Query(description="one case; default: the whole store")] = None,
) -> VerificationPublic:
    """Recompute every stored hash and check each chain and the global log; the first break.

    One case: in the caller's jurisdiction. A whole-store verification reads every event (on a
    connection of its own): one runs at a time per process, and another asked meanwhile is
    answered 503 with ``Retry-After`` rather than queued. One case is always served."""
    if case_id is not None:
        outcome = access.case(case_id, reach_of(ledger.get_case(case_id).entries))
        report = ledger.verify(case_id)
        access.read([case_id], outcome=outcome)
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


@router.get("/access", response_model=AccessPagePublic, responses=problems(401, 404, 422))
def read_access_log(
    ledger: LedgerDep,
    access: Annotated[Access, Depends(Guard("access_log"))],
    case_id: Annotated[UUID | None, Query(description="entries naming this case")] = None,
    actor: Annotated[str | None, Query(max_length=128, description="entries of this actor")] = None,
    start: Annotated[Instant | None, Query(alias="from", description="at or after")] = None,
    to: Annotated[Instant | None, Query(description="at or before")] = None,
    after: Annotated[int, Query(ge=0, le=BIGINT, description="the last position read")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AccessPagePublic:
    """Who read or was refused which case data, when, for what purpose, in order.

    With ``case_id``: that case's entries, if the case is in the caller's jurisdiction.
    Without: the entries of actors of units in the caller's subtree. Reading this is itself
    recorded."""
    if start and to and start > to:
        raise InvalidQuery(f"from ({start}) is after to ({to})", field="from")
    if case_id is not None:
        outcome = access.case(case_id, reach_of(ledger.get_case(case_id).entries))
    records = ledger.access_entries(
        case_id=case_id, actor_id=actor, since=start, until=to, after=after, limit=limit
    )
    next_after = records[-1].position if records else after
    if case_id is None:
        records = [r for r in records if lies_in((r.entry.unit, None), access.principal.unit)]
        outcome = "allowed"
    entries = [AccessEntryPublic.of(r) for r in records]
    access.read([case_id] if case_id else [], outcome=outcome)
    return AccessPagePublic(entries=entries, next_after=next_after)
