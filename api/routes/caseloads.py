"""Caseloads: active cases under an org unit, with what is due (the caseload read model)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.auth import Access, Guard
from api.deps import BIGINT, ReadAfter, ViewsDep, known_query_only
from api.openapi import problems
from api.schemas import CaseloadEntryPublic, CaseloadPagePublic, Stage
from domain.events import UNIT_CODE_PATTERN
from projections import caseload

router = APIRouter(
    prefix="/v1/caseloads", tags=["read models"], dependencies=[Depends(known_query_only)]
)

UNIT_DESCRIPTION = "org unit code (its whole subtree), in the caller's subtree"
UnitQuery = Annotated[str, Query(pattern=UNIT_CODE_PATTERN, description=UNIT_DESCRIPTION)]


@router.get("", response_model=CaseloadPagePublic, responses=problems(401, 422, 503))
def list_caseload(
    views: ViewsDep,
    access: Annotated[Access, Depends(Guard("read_models"))],
    position: Annotated[int, Depends(ReadAfter("caseload"))],
    unit: UnitQuery,
    assignee: Annotated[str | None, Query(max_length=128)] = None,
    stage: Stage | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=BIGINT)] = 0,
) -> CaseloadPagePublic:
    """Active cases under a unit (in the caller's subtree): stage, last contact, next due
    action; overdue first."""
    access.unit(unit)
    rows, total = caseload.query(views, unit, assignee, stage, overdue, limit, offset)
    access.read(UUID(str(r["case_id"])) for r in rows)
    return CaseloadPagePublic(
        position=position,
        cases=[CaseloadEntryPublic(**r, pseudonym=access.pseudonym(r["case_id"])) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
