"""Break-the-glass: read access to one case outside one's jurisdiction, for a limited time, and
its review by a supervisor of the case's unit.

A grant and a review are entries of the access log (``emergency_grant``, ``emergency_review``):
append-only, chained, verified with the rest. Every read under a grant is recorded with the
outcome ``emergency``. A grant lasts ``settings.emergency_minutes`` (60 by default), counted by
the server; one left unreviewed longer than ``settings.emergency_review_days`` shows in
``/ready``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from api.auth import Access, Guard
from api.deps import BIGINT, LedgerDep, known_query_only
from api.openapi import problems
from api.schemas import (
    EmergencyGrantPublic,
    EmergencyGrantsPublic,
    EmergencyRequest,
    EmergencyReview,
)
from domain.access import AccessRecord
from domain.application import CaseLedger
from domain.errors import CaseNotFound, Conflict
from domain.policy import lies_in, reach_of

router = APIRouter(
    prefix="/v1/access/emergency", tags=["audit"], dependencies=[Depends(known_query_only)]
)


@router.post(
    "",
    status_code=201,
    response_model=EmergencyGrantPublic,
    responses=problems(400, 401, 404, 409, 413, 422),
)
def grant(
    body: EmergencyRequest,
    ledger: LedgerDep,
    access: Annotated[Access, Depends(Guard("emergency"))],
) -> EmergencyGrantPublic:
    """Give the caller read access to one case outside their jurisdiction, now, for a limited
    time; the grant waits for review by a supervisor of the case's unit."""
    reach = reach_of(ledger.get_case(body.case_id).entries)
    if reach.readable_by(access.principal.unit):
        raise Conflict(
            "the case is in your jurisdiction: no emergency access is needed", field="case_id"
        )
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=access.emergency_minutes)
    position = access.record(
        "emergency_grant",
        case_ids=[body.case_id],
        outcome="emergency",
        detail={
            "reason": body.reason,
            "expires_at": expires.isoformat(),
            "case_unit": reach.managing[0],
        },
    )
    [record] = ledger.access_entries(after=position - 1, limit=1)
    return _public(record, None)


@router.get("", response_model=EmergencyGrantsPublic, responses=problems(401, 422))
def list_grants(
    ledger: LedgerDep,
    access: Annotated[Access, Depends(Guard("emergency_review"))],
    status: Annotated[Literal["unreviewed", "reviewed", "all"], Query()] = "unreviewed",
    after: Annotated[int, Query(ge=0, le=BIGINT)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EmergencyGrantsPublic:
    """Emergency grants on cases of the caller's subtree, oldest first: the review queue."""
    grants = [
        g
        for g in ledger.access_entries(kinds=["emergency_grant"], after=after, limit=100_000)
        if lies_in((str(g.entry.detail["case_unit"]), None), access.principal.unit)
    ]
    reviews = _reviews(ledger)
    wanted = [
        g for g in grants if status == "all" or (status == "reviewed") == (g.position in reviews)
    ][:limit]
    access.read([c for g in wanted for c in g.entry.case_ids])
    return EmergencyGrantsPublic(grants=[_public(g, reviews.get(g.position)) for g in wanted])


@router.post(
    "/{grant_id}/review",
    response_model=EmergencyGrantPublic,
    responses=problems(400, 401, 404, 409, 413, 422),
)
def review(
    grant_id: Annotated[int, Path(ge=1, le=BIGINT)],
    body: EmergencyReview,
    ledger: LedgerDep,
    access: Annotated[Access, Depends(Guard("emergency_review"))],
) -> EmergencyGrantPublic:
    """Record a supervisor's verdict on a grant of a case in their subtree: once."""
    found = ledger.access_entries(kinds=["emergency_grant"], after=grant_id - 1, limit=1)
    if not found or found[0].position != grant_id:
        raise CaseNotFound(f"no emergency grant {grant_id}", field="grant_id")
    grant_record = found[0]
    access.unit(str(grant_record.entry.detail["case_unit"]), field="grant_id")
    if grant_id in _reviews(ledger):
        raise Conflict(f"grant {grant_id} has been reviewed already", field="grant_id")
    access.record(
        "emergency_review",
        case_ids=grant_record.entry.case_ids,
        detail={"grant": grant_id, "verdict": body.verdict, "note": body.note},
    )
    return _public(grant_record, _reviews(ledger).get(grant_id))


def unreviewed_older_than(ledger: CaseLedger, days: int) -> int:
    """How many grants have waited for review longer than ``days``."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    reviews = _reviews(ledger)
    return sum(
        1
        for g in ledger.access_entries(kinds=["emergency_grant"], until=cutoff, limit=100_000)
        if g.position not in reviews
    )


def _reviews(ledger: CaseLedger) -> dict[int, AccessRecord]:
    return {
        int(str(r.entry.detail["grant"])): r
        for r in ledger.access_entries(kinds=["emergency_review"], limit=100_000)
    }


def _public(record: AccessRecord, review: AccessRecord | None) -> EmergencyGrantPublic:
    e = record.entry
    return EmergencyGrantPublic(
        grant=record.position,
        case_id=e.case_ids[0],
        actor_id=e.actor_id,
        role=e.role,
        unit=e.unit,
        reason=str(e.detail["reason"]),
        granted_at=e.at,
        expires_at=datetime.fromisoformat(str(e.detail["expires_at"])),
        case_unit=str(e.detail["case_unit"]),
        review=(
            {
                "verdict": review.entry.detail["verdict"],
                "note": review.entry.detail["note"],
                "reviewer": review.entry.actor_id,
                "at": review.entry.at.isoformat(),
            }
            if review
            else None
        ),
    )
