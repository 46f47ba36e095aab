"""Inspections: compliance findings across a unit, and the report for a period."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.auth import Access, Guard
from api.deps import BIGINT, InvalidQuery, ReadAfter, ViewsDep, known_query_only
from api.openapi import problems
from api.routes.caseloads import UnitQuery
from api.schemas import FindingPublic, FindingsPagePublic, InspectionReportPublic
from domain.events import Date
from projections import inspections

router = APIRouter(
    prefix="/v1/inspections", tags=["read models"], dependencies=[Depends(known_query_only)]
)

From = Annotated[Date | None, Query(alias="from", description="detected on or after")]
To = Annotated[Date | None, Query(description="detected on or before")]


ReadModels = Annotated[Access, Depends(Guard("read_models"))]


def _check_period(start: date | None, end: date | None) -> None:
    if start and end and start > end:
        raise InvalidQuery(f"from ({start}) is after to ({end})", field="from")


@router.get("/findings", response_model=FindingsPagePublic, responses=problems(401, 422, 503))
def list_findings(
    views: ViewsDep,
    access: ReadModels,
    position: Annotated[int, Depends(ReadAfter("inspections"))],
    unit: UnitQuery,
    start: From = None,
    to: To = None,
    rule: Annotated[str | None, Query(max_length=32, description="rule id, e.g. C7")] = None,
    status: Literal["open", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=BIGINT)] = 0,
) -> FindingsPagePublic:
    """Findings of cases managed under a unit, detected in a period, oldest first."""
    _check_period(start, to)
    access.unit(unit)
    rows, total = inspections.findings(views, unit, start, to, rule, status, limit, offset)
    access.read(UUID(str(r["case_id"])) for r in rows)
    return FindingsPagePublic(
        position=position,
        findings=[FindingPublic(**r, pseudonym=access.pseudonym(r["case_id"])) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/report", response_model=InspectionReportPublic, responses=problems(401, 422, 503))
def report(
    views: ViewsDep,
    access: ReadModels,
    position: Annotated[int, Depends(ReadAfter("inspections"))],
    unit: UnitQuery,
    start: Annotated[Date, Query(alias="from", description="first day of the period")],
    to: Annotated[Date, Query(description="last day of the period")],
    worst: Annotated[int, Query(ge=1, le=100, description="how many worst cases")] = 10,
) -> InspectionReportPublic:
    """Findings detected in a period under a unit: counts by rule and commune, worst cases."""
    _check_period(start, to)
    access.unit(unit)
    found = inspections.report(views, unit, start, to, worst)
    access.read(UUID(str(w["case_id"])) for w in found["worst_cases"])
    for worst_case in found["worst_cases"]:
        worst_case["pseudonym"] = access.pseudonym(worst_case["case_id"])
    return InspectionReportPublic.model_validate(
        {"position": position, "unit": unit, "from": start, "to": to, **found}
    )
